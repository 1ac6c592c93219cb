//! `GET /api/ws`: the same events as SSE, plus ping/pong, subscribe and error replies.

use serde_json::json;

use crate::support::{ClaudeTree, TestServer, is_update};

fn tree() -> ClaudeTree {
    let tree = ClaudeTree::new();
    tree.mkdir("tasks/a").mkdir("tasks/b");
    tree
}

#[tokio::test]
async fn websocket_receives_update_events() {
    let server = TestServer::start(tree()).await;
    let mut ws = server.ws().await;
    server
        .tree
        .task("a", json!({"id":"1","subject":"x","status":"in_progress"}));
    let (event, _) = ws.until(|e| e["type"] == "update").await;
    assert!(is_update(&event, "add", "a", Some("1.json")), "{event}");
    assert_eq!(event["task"]["status"], "in_progress");
    assert_eq!(event["session"]["inProgress"], 1);
}

#[tokio::test]
async fn ping_is_answered_with_pong() {
    let server = TestServer::start(tree()).await;
    let mut ws = server.ws().await;
    ws.send(r#"{"type":"ping"}"#).await;
    assert_eq!(ws.next().await, json!({"type":"pong"}));
}

#[tokio::test]
async fn malformed_messages_get_an_error_and_the_connection_stays() {
    let server = TestServer::start(tree()).await;
    let mut ws = server.ws().await;
    for bad in [
        "not json",
        r#"{"type":"dance"}"#,
        r#"{"type":"subscribe","sessions":"a"}"#,
        "[]",
    ] {
        ws.send(bad).await;
        let reply = ws.next().await;
        assert_eq!(reply["type"], "error", "{bad}: {reply}");
        assert!(
            reply["error"].as_str().unwrap().contains("malformed"),
            "{reply}"
        );
    }
    ws.send(r#"{"type":"ping"}"#).await;
    assert_eq!(ws.next().await, json!({"type":"pong"}));
}

#[tokio::test]
async fn subscribe_narrows_updates_to_the_named_sessions() {
    let server = TestServer::start(tree()).await;
    let mut ws = server.ws().await;
    ws.send(r#"{"type":"subscribe","sessions":["b"]}"#).await;
    // Messages are handled in order: once the pong is back, the filter is in place.
    ws.send(r#"{"type":"ping"}"#).await;
    assert_eq!(ws.next().await, json!({"type":"pong"}));
    server
        .tree
        .task("a", json!({"id":"1","subject":"x","status":"pending"}));
    server
        .tree
        .task("b", json!({"id":"1","subject":"y","status":"pending"}));
    let (event, skipped) = ws.until(|e| e["type"] == "update").await;
    assert!(is_update(&event, "add", "b", Some("1.json")), "{event}");
    assert!(skipped.iter().all(|e| e["sessionId"] != "a"), "{skipped:?}");

    ws.send(r#"{"type":"subscribe","sessions":[]}"#).await;
    ws.send(r#"{"type":"ping"}"#).await;
    let _ = ws.until(|e| e["type"] == "pong").await;
    server
        .tree
        .task("a", json!({"id":"2","subject":"x","status":"pending"}));
    let (event, _) = ws.until(|e| e["type"] == "update").await;
    assert!(
        is_update(&event, "add", "a", Some("2.json")),
        "an empty list means all: {event}"
    );
}
