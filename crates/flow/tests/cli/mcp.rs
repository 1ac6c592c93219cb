//! `flow mcp` over stdio with rmcp's client (not Flow's code) spawning the real binary, as
//! Claude Code's `mcpServers` does: the tools against a running server, the claim race refused
//! with `claimed_by_other`, and a clear tool error when no server runs.

use rmcp::ServiceExt;
use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::service::{RoleClient, RunningService};
use rmcp::transport::TokioChildProcess;
use serde_json::{Value, json};

use crate::support::{Server, flow, free_port, runtime, task};

const UUID: &str = "7c9e6679-7425-40de-944b-e07fc1f90ae7";

type Client = RunningService<RoleClient, ()>;

async fn connect(url: &str) -> Client {
    let mut cmd = flow();
    cmd.args(["mcp", "--url", url])
        .stderr(std::process::Stdio::null());
    let transport =
        TokioChildProcess::new(tokio::process::Command::from(cmd)).expect("spawn flow mcp");
    ().serve(transport).await.expect("MCP initialize")
}

async fn call(client: &Client, tool: &str, args: Value) -> CallToolResult {
    let Value::Object(args) = args else {
        panic!("arguments are an object")
    };
    let params = CallToolRequestParams::new(tool.to_owned()).with_arguments(args);
    client.call_tool(params).await.expect("tools/call")
}

async fn ok(client: &Client, tool: &str, args: Value) -> Value {
    let res = call(client, tool, args).await;
    assert_ne!(res.is_error, Some(true), "{tool}: {res:?}");
    res.structured_content.expect("structured content")
}

#[test]
fn flow_mcp_over_stdio_serves_the_tools_of_a_running_server() {
    let server = Server::start();
    server.write_task(UUID, &task("1", "pending", "Write the docs"));
    runtime().block_on(async {
        let one = connect(&server.url).await;
        let tools = one.list_all_tools().await.unwrap();
        assert_eq!(tools.len(), 11);
        assert!(
            tools
                .iter()
                .all(|t| t.description.as_deref().is_some_and(|d| d.len() > 40))
        );

        let sessions = ok(&one, "list_sessions", json!({"limit": 5})).await;
        assert_eq!(sessions["sessions"][0]["id"], UUID);
        let tasks = ok(&one, "get_tasks", json!({"session_id": UUID})).await;
        assert_eq!(tasks["tasks"][0]["subject"], "Write the docs");

        let created = ok(
            &one,
            "create_features",
            json!({"features": [{"name": "Docs"}]}),
        )
        .await;
        let id = created["features"][0]["id"].as_i64().unwrap();
        let claim = ok(
            &one,
            "claim_feature",
            json!({"agent": "writer", "lease_secs": 120}),
        )
        .await;
        assert_eq!(claim["feature"]["id"], id);
        let token = claim["claimToken"].as_str().unwrap().to_owned();

        let two = connect(&server.url).await;
        let refused = call(&two, "claim_feature", json!({"agent": "rival", "id": id})).await;
        assert_eq!(refused.is_error, Some(true));
        assert_eq!(
            refused.structured_content.unwrap()["code"],
            "claimed_by_other"
        );
        let none = ok(&two, "claim_feature", json!({"agent": "rival"})).await;
        assert_eq!(none["feature"], Value::Null);
        assert_eq!(none["reason"], "all_claimed");

        ok(&one, "heartbeat", json!({"id": id, "claim_token": token})).await;
        let done = ok(
            &one,
            "complete_feature",
            json!({"id": id, "claim_token": token}),
        )
        .await;
        assert_eq!(done["feature"]["status"], "done");
        one.cancel().await.unwrap();
        two.cancel().await.unwrap();
    });
    // Through the API, as every other client sees it.
    let listed = server.run(&["features", "--json"]).expect(0).json();
    assert_eq!(listed["features"][0]["status"], "done");
}

#[test]
fn flow_mcp_without_a_server_answers_with_how_to_start_one() {
    let url = format!("http://127.0.0.1:{}", free_port());
    runtime().block_on(async {
        let client = connect(&url).await;
        let res = call(&client, "ready_features", json!({})).await;
        assert_eq!(res.is_error, Some(true));
        let err = res.structured_content.unwrap();
        assert_eq!(err["code"], "flow_unreachable");
        assert!(err["error"].as_str().unwrap().contains("`flow`"), "{err}");
        client.cancel().await.unwrap();
    });
}
