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

/// Reads an event stream's raw bytes (whatever its framing) until a `data:` line satisfies
/// `pred`; returns that event's `id:` and data.
async fn raw_until(
    stream: &mut tokio::net::TcpStream,
    pred: impl Fn(&serde_json::Value) -> bool,
) -> (String, serde_json::Value) {
    use tokio::io::AsyncReadExt;
    let read = async {
        let (mut buf, mut chunk, mut id) = (Vec::new(), [0u8; 4096], String::new());
        loop {
            while let Some(end) = buf.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = buf.drain(..=end).collect();
                let line = String::from_utf8_lossy(&line).trim_end().to_owned();
                if let Some(seen) = line.strip_prefix("id: ") {
                    id = seen.to_owned();
                } else if let Some(data) = line.strip_prefix("data: ") {
                    let event: serde_json::Value = serde_json::from_str(data).unwrap();
                    if pred(&event) {
                        return (id, event);
                    }
                }
            }
            let n = stream.read(&mut chunk).await.unwrap();
            assert!(n > 0, "the stream ended");
            buf.extend_from_slice(&chunk[..n]);
        }
    };
    tokio::time::timeout(crate::support::EVENT_TIMEOUT, read)
        .await
        .expect("no such event in time")
}

fn get(addr: std::net::SocketAddr, path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n\r\n")
}

/// A raw event stream on a fresh connection, once it has said `connected`.
async fn connected_stream(server: &TestServer) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt;
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(get(server.addr, "/api/events").as_bytes())
        .await
        .unwrap();
    raw_until(&mut stream, |e| e["type"] == "connected").await;
    stream
}

/// A fresh connection's event stream is answered past hyper (to spare its buffers); one asked
/// for on a connection that already served a request goes through hyper. A client must not
/// be able to tell them apart.
#[tokio::test]
async fn an_event_stream_on_a_used_connection_is_the_same_as_on_a_fresh_one() {
    use tokio::io::AsyncWriteExt;
    let server = TestServer::start(ClaudeTree::new()).await;
    server.tree.mkdir("tasks/s1");
    let mut used = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    used.write_all(get(server.addr, "/api/health").as_bytes())
        .await
        .unwrap();
    assert_eq!(crate::security::read_answer(&mut used).await.0, 200);
    let mut fresh = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    for stream in [&mut used, &mut fresh] {
        stream
            .write_all(get(server.addr, "/api/events").as_bytes())
            .await
            .unwrap();
        let (_, connected) = raw_until(stream, |_| true).await;
        assert_eq!(connected["type"], "connected");
    }
    write(&server, 1);
    let added = |e: &serde_json::Value| is_update(e, "add", "s1", Some("1.json"));
    let on_used = raw_until(&mut used, added).await;
    let on_fresh = raw_until(&mut fresh, added).await;
    assert_eq!(on_used, on_fresh);
    assert_eq!(on_fresh.1["task"]["subject"], "t");
}

/// Streams are never cut as idle, so a client that leaves must free its connection at once,
/// not at the next write: with every slot held by streams, a newcomer is refused until then.
#[tokio::test]
async fn a_client_that_leaves_its_event_stream_frees_its_connection_at_once() {
    use tokio::io::AsyncWriteExt;
    let tree = ClaudeTree::new();
    let mut config = flow_server::Config::for_claude_dir(tree.root());
    config.limits.max_connections = Some(2);
    let server = TestServer::start_with(tree, config).await;
    let mut streams = Vec::new();
    for _ in 0..2 {
        streams.push(connected_stream(&server).await);
    }
    let health = async |server: &TestServer| {
        let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
        stream
            .write_all(get(server.addr, "/api/health").as_bytes())
            .await
            .unwrap();
        crate::security::read_answer(&mut stream).await.0
    };
    assert_eq!(health(&server).await, 503, "both slots are held");
    drop(streams.pop());
    // The server sees the close as soon as the kernel delivers it; ask until it has.
    let deadline = tokio::time::Instant::now() + crate::support::EVENT_TIMEOUT;
    while health(&server).await != 200 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the departed client's slot was not freed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Nothing a client sends after asking for a stream can be answered (the stream ends only with
/// the connection): such a client is closed, rather than read from without end.
#[tokio::test]
async fn a_client_that_sends_bytes_on_its_event_stream_is_closed() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = TestServer::start(ClaudeTree::new()).await;
    let mut stream = connected_stream(&server).await;
    stream.write_all(&[b'x'; 4096]).await.unwrap();
    let closed = async {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stream.read(&mut buf).await
            && n > 0
        {}
    };
    tokio::time::timeout(crate::support::EVENT_TIMEOUT, closed)
        .await
        .expect("the server kept the stream open");
}
