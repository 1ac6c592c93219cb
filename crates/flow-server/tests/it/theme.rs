//! `GET/POST /api/theme`: validated, persisted in Flow's data dir, broadcast.

use serde_json::{Value, json};

use crate::support::{ClaudeTree, TestServer};

fn config(tree: &ClaudeTree) -> flow_server::Config {
    let mut config = flow_server::Config::for_claude_dir(tree.path("claude"));
    config.data_dir = Some(tree.path("data/flow"));
    config
}

#[tokio::test]
async fn theme_defaults_to_system_persists_across_restart_and_reaches_sse() {
    let tree = ClaudeTree::new();
    let cfg = config(&tree);
    let server = TestServer::start_with(tree, cfg.clone()).await;
    assert_eq!(
        server.get_json("/api/theme", 200).await,
        json!({"theme":"system"})
    );
    let mut events = server.sse().await;
    let res = server.post_json("/api/theme", r#"{"theme":"dark"}"#).await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({"success":true,"theme":"dark"})
    );
    let (event, _) = events.until(|e| e["type"] == "theme").await;
    assert_eq!(event, json!({"type":"theme","theme":"dark"}));
    assert!(
        !server.tree.path("claude").exists(),
        "nothing is written into the Claude dir"
    );

    let res = server.post_json("/api/theme", r#"{"theme":"neon"}"#).await;
    assert_eq!(res.status(), 422);
    assert!(
        res.json::<Value>().await.unwrap()["error"]
            .as_str()
            .unwrap()
            .contains("neon")
    );

    let tree = server.tree_after_stop().await;
    let again = TestServer::start_with(tree, cfg).await;
    assert_eq!(
        again.get_json("/api/theme", 200).await,
        json!({"theme":"dark"})
    );
}
