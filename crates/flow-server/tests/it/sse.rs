//! `GET /api/events`: ids, replay with `Last-Event-ID`, several clients, shutdown.

use serde_json::json;

use crate::support::{ClaudeTree, TestServer, is_update};

fn write(server: &TestServer, id: u32) {
    server.tree.task(
        "s1",
        json!({"id": id.to_string(), "subject": "t", "status": "pending"}),
    );
}

#[tokio::test]
async fn two_clients_both_receive_every_event() {
    let server = TestServer::start(ClaudeTree::new()).await;
    server.tree.mkdir("tasks");
    let mut a = server.sse().await;
    let mut b = server.sse().await;
    for id in 1..=3 {
        write(&server, id);
        for client in [&mut a, &mut b] {
            let file = format!("{id}.json");
            let _ = client
                .until(|e| is_update(e, "add", "s1", Some(&file)))
                .await;
        }
    }
}

#[tokio::test]
async fn reconnect_with_last_event_id_receives_exactly_the_missed_events() {
    let server = TestServer::start(ClaudeTree::new()).await;
    server.tree.mkdir("tasks/s1");
    let mut first = server.sse().await;
    write(&server, 1);
    let (id, event) = first.next().await;
    assert!(is_update(&event, "add", "s1", Some("1.json")), "{event}");
    drop(first);

    // Missed while disconnected: 2 and 3. A live client shows when they have happened.
    let mut watcher = server.sse().await;
    write(&server, 2);
    let _ = watcher
        .until(|e| is_update(e, "add", "s1", Some("2.json")))
        .await;
    write(&server, 3);
    let _ = watcher
        .until(|e| is_update(e, "add", "s1", Some("3.json")))
        .await;

    let mut again = server.sse_with(Some(&id)).await;
    let (id2, e2) = again.next().await;
    let (id3, e3) = again.next().await;
    assert!(is_update(&e2, "add", "s1", Some("2.json")), "{e2}");
    assert!(is_update(&e3, "add", "s1", Some("3.json")), "{e3}");
    let seq = |s: &str| s.parse::<u64>().unwrap();
    assert_eq!((seq(&id2), seq(&id3)), (seq(&id) + 1, seq(&id) + 2));
    write(&server, 4);
    let (_, e4) = again.next().await;
    assert!(
        is_update(&e4, "add", "s1", Some("4.json")),
        "nothing replayed twice: {e4}"
    );
}

#[tokio::test]
async fn unknown_last_event_id_gets_resync_and_known_ones_replay() {
    let server = TestServer::start(ClaudeTree::new()).await;
    server.tree.mkdir("tasks/s1");
    let mut live = server.sse().await;
    write(&server, 1);
    let (id, event) = live.next().await;
    assert!(is_update(&event, "add", "s1", Some("1.json")), "{event}");
    let before_it = (id.parse::<u64>().unwrap() - 1).to_string();
    let mut known = server.sse_with(Some(&before_it)).await;
    let (_, first) = known.next().await;
    assert!(
        is_update(&first, "add", "s1", Some("1.json")),
        "replayed: {first}"
    );
    drop(known);
    // Ids restart from a per-run base: 0 can only come from an earlier run.
    let mut earlier_run = server.sse_with(Some("0")).await;
    assert_eq!(earlier_run.next().await.1, json!({"type":"resync"}));
    drop(earlier_run);
    // An id this server never issued (the client saw an earlier run): re-fetch.
    let mut future = server.sse_with(Some("999999")).await;
    let (_, first) = future.next().await;
    assert_eq!(first, json!({"type":"resync"}));
    drop(future);
    let mut garbage = server.sse_with(Some("not-a-number")).await;
    write(&server, 2);
    let (_, next) = garbage.next().await;
    assert!(is_update(&next, "add", "s1", Some("2.json")), "{next}");
}

#[tokio::test]
async fn shutdown_ends_sse_and_websocket_streams() {
    let server = TestServer::start(ClaudeTree::new()).await;
    let mut sse = server.sse().await;
    let mut ws = server.ws().await;
    let stopping = tokio::spawn(server.stop());
    assert!(sse.ends().await, "SSE stream must end on shutdown");
    assert!(ws.closed().await, "WebSocket must close on shutdown");
    tokio::time::timeout(std::time::Duration::from_secs(2), stopping)
        .await
        .expect("server exits promptly once streams end")
        .unwrap();
}
