//! `GET /api/tasks/all` (contract §3).

use serde_json::json;

use crate::sessions::{A, B, board};
use crate::support::TestServer;

#[tokio::test]
async fn all_tasks_carry_their_session_newest_session_first() {
    let server = TestServer::start(board()).await;
    let all = server.get_json("/api/tasks/all", 200).await;
    let all = all.as_array().unwrap();
    let keys: Vec<_> = all
        .iter()
        .map(|t| (t["sessionId"].as_str().unwrap(), t["id"].as_str().unwrap()))
        .collect();
    assert_eq!(keys, [(A, "1"), (A, "2"), (A, "10"), (A, "11"), (B, "1")]);
    assert_eq!(all[0]["sessionName"], "Final name");
    assert_eq!(all[0]["project"], "/home/dev/app");
    assert_eq!(all[4]["sessionName"], "quiet-heron");
    assert_eq!(all[4]["project"], "/home/dev/lib");
    assert_eq!(all[2]["zeta"], json!({"kept":[1,2,3]}));
    for task in all {
        assert!(
            task["createdAt"].is_string() && task["updatedAt"].is_string(),
            "{task}"
        );
    }
}

#[tokio::test]
async fn stored_fields_named_like_flows_own_are_replaced_not_duplicated() {
    let tree = crate::support::ClaudeTree::new();
    tree.task(
        "s",
        json!({"id":"1","subject":"x","status":"pending","createdAt":"yesterday","project":"stale","note":"\"createdAt\" in text"}),
    );
    let server = TestServer::start(tree).await;
    let raw = server.get("/api/tasks/all").await.text().await.unwrap();
    assert_eq!(raw.matches("\"createdAt\":").count(), 1, "{raw}");
    assert_eq!(raw.matches("\"project\":").count(), 1, "{raw}");
    let all: serde_json::Value = serde_json::from_str(&raw).unwrap();
    assert_ne!(all[0]["createdAt"], "yesterday");
    assert_eq!(
        all[0]["project"],
        serde_json::Value::Null,
        "the session's project, not the stored one"
    );
    assert_eq!(all[0]["note"], "\"createdAt\" in text");
}
