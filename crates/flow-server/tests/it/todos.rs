//! TodoWrite lists (contract §6): `GET /api/sessions/:id/todos` from `todos/<sid>.json` and
//! `todos/<sid>-agent-<aid>.json`, live as `todos-update` events, 404 for an unknown session.

use serde_json::{Value, json};

use crate::support::{ClaudeTree, TestServer};

const SID: &str = "d0d0d0d0-1111-4000-8000-000000000001";

fn todo(content: &str, status: &str, active: &str) -> Value {
    json!({"content": content, "status": status, "activeForm": active, "id": "1", "priority": "high"})
}

fn lists() -> ClaudeTree {
    let tree = ClaudeTree::new();
    tree.transcript(
        "-work",
        SID,
        &[json!({"type":"user","cwd":"/work","sessionId":SID})],
    );
    tree.write(
        &format!("todos/{SID}-agent-{SID}.json"),
        json!([
            todo("Read the spec", "completed", "Reading the spec"),
            todo("Write the parser", "in_progress", "Writing the parser")
        ])
        .to_string(),
    );
    tree.write(
        &format!("todos/{SID}-agent-a1b2c3.json"),
        json!([
            todo("Map the lexer", "pending", "Mapping the lexer"),
            7,
            "junk"
        ])
        .to_string(),
    );
    tree.write(
        &format!("todos/{SID}.json"),
        json!([todo("Older list item", "pending", "Listing")]).to_string(),
    );
    tree.write("todos/other-session.json", "not json");
    tree
}

#[tokio::test]
async fn todos_are_served_from_both_file_forms() {
    let server = TestServer::start(lists()).await;
    let items = server
        .get_json(&format!("/api/sessions/{SID}/todos"), 200)
        .await;
    let items = items.as_array().unwrap();
    assert_eq!(items.len(), 4, "{items:?}");
    let own: Vec<&Value> = items.iter().filter(|t| t["agentId"].is_null()).collect();
    assert_eq!(
        own.len(),
        3,
        "the session's own lists, `<sid>.json` and `<sid>-agent-<sid>.json`"
    );
    assert!(own.iter().any(|t| *t
        == &json!({
            "content": "Write the parser", "status": "in_progress",
            "activeForm": "Writing the parser", "agentId": null,
        })));
    let agent = items.last().unwrap();
    assert_eq!(
        agent,
        &json!({"content":"Map the lexer","status":"pending","activeForm":"Mapping the lexer","agentId":"a1b2c3"})
    );

    let unknown = server.get_json("/api/sessions/nobody/todos", 404).await;
    assert_eq!(unknown["error"], "Session not found");
    assert_eq!(server.raw("GET", "/api/sessions/..%2Fx/todos").await.0, 400);
    // A session known only by an unreadable todo file still answers (with nothing).
    assert_eq!(
        server
            .get_json("/api/sessions/other-session/todos", 200)
            .await,
        json!([])
    );
}

#[tokio::test]
async fn a_todo_write_is_a_todos_update() {
    let server = TestServer::start(lists()).await;
    let mut sse = server.sse().await;
    server.tree.write(
        &format!("todos/{SID}-agent-{SID}.json"),
        json!([
            todo("Read the spec", "completed", "Reading the spec"),
            todo("Write the parser", "completed", "Writing the parser")
        ])
        .to_string(),
    );
    sse.until(|e| e["type"] == "todos-update" && e["sessionId"] == SID)
        .await;
    let items = server
        .get_json(&format!("/api/sessions/{SID}/todos"), 200)
        .await;
    assert!(
        items
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["content"] == "Write the parser" && t["status"] == "completed"),
        "{items}"
    );
}
