//! `GET /api/sessions/:id/plan` (extension): the task board's dependency view.

use serde_json::json;

use crate::support::{ClaudeTree, TestServer};

#[tokio::test]
async fn plan_orders_blockers_first_and_explains_what_blocks() {
    let tree = ClaudeTree::new();
    let t = |id: &str, status: &str, blocked_by: &[&str], blocks: &[&str]| json!({"id":id,"subject":id,"status":status,"blockedBy":blocked_by,"blocks":blocks});
    tree.task("s", t("1", "completed", &[], &["2"]))
        .task("s", t("2", "in_progress", &[], &[]))
        .task("s", t("9", "pending", &["2", "1"], &[]))
        .task("s", t("10", "pending", &["77"], &[]))
        .task("s", t("11", "pending", &[], &[]))
        .task("s", t("20", "pending", &["21"], &[]))
        .task("s", t("21", "pending", &["20"], &[]));
    let server = TestServer::start(tree).await;
    let plan = server.get_json("/api/sessions/s/plan", 200).await;
    assert_eq!(
        plan,
        json!({
            "order": ["1", "2", "9", "10", "11", "20", "21"],
            "ready": ["11"],
            "blocked": {"9": ["2"], "10": ["77"], "20": ["21"], "21": ["20"]},
            "cycles": [["20", "21"]],
            "missing": {"10": ["77"]}
        })
    );
    assert_eq!(
        server.get_json("/api/sessions/nope/plan", 404).await,
        json!({"error":"Session not found"})
    );
}
