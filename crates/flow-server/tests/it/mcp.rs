//! `/mcp` with an MCP client Flow did not write (rmcp's): the tools of contract §8 over the
//! Streamable HTTP transport, a claim race refused with the API's code, and the guard in front.

use rmcp::ServiceExt;
use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::service::{RoleClient, RunningService};
use rmcp::transport::StreamableHttpClientTransport;
use serde_json::{Value, json};

use crate::support::{ClaudeTree, TestServer};

const SID: &str = "0d9a7c1e-4b5f-4a3e-9c1d-2f6e8b7a9c10";

async fn start() -> TestServer {
    let tree = ClaudeTree::new();
    tree.task(
        SID,
        json!({"id": "1", "subject": "Write the parser", "description": "", "status": "in_progress",
               "blocks": [], "blockedBy": []}),
    );
    let mut config = flow_server::Config::for_claude_dir(tree.root());
    config.db = Some(flow_core::config::Database::Sqlite(
        tree.path("data/flow.db"),
    ));
    TestServer::start_with(tree, config).await
}

type Client = RunningService<RoleClient, ()>;

async fn connect(server: &TestServer) -> Client {
    let transport = StreamableHttpClientTransport::from_uri(server.url("/mcp"));
    ().serve(transport).await.expect("MCP initialize")
}

async fn call(client: &Client, tool: &str, args: Value) -> CallToolResult {
    let Value::Object(args) = args else {
        panic!("arguments are an object")
    };
    let params = CallToolRequestParams::new(tool.to_owned()).with_arguments(args);
    client.call_tool(params).await.expect("tools/call")
}

/// The structured answer of a call that must succeed.
async fn ok(client: &Client, tool: &str, args: Value) -> Value {
    let res = call(client, tool, args).await;
    assert_ne!(res.is_error, Some(true), "{tool}: {res:?}");
    res.structured_content.expect("structured content")
}

/// The structured error of a call that must fail.
async fn refused(client: &Client, tool: &str, args: Value) -> Value {
    let res = call(client, tool, args).await;
    assert_eq!(res.is_error, Some(true), "{tool}: {res:?}");
    res.structured_content.expect("structured error")
}

#[tokio::test]
async fn an_mcp_client_lists_sessions_and_claims_features_over_http() {
    let server = start().await;
    let client = connect(&server).await;
    let info = client.peer_info().expect("server info");
    assert_eq!(
        info.server_info.as_ref().map(|i| i.name.as_str()),
        Some("flow")
    );

    let tools = client.list_all_tools().await.expect("tools/list");
    let mut names: Vec<&str> = tools.iter().map(|t| &*t.name).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "add_note",
            "claim_feature",
            "complete_feature",
            "create_features",
            "get_feature",
            "get_tasks",
            "heartbeat",
            "list_features",
            "list_sessions",
            "ready_features",
            "release_feature"
        ]
    );
    let claim = tools.iter().find(|t| t.name == "claim_feature").unwrap();
    assert_eq!(claim.input_schema["required"], json!(["agent"]));
    assert!(
        claim
            .description
            .as_deref()
            .unwrap()
            .contains("claimed_by_other")
    );

    let sessions = ok(&client, "list_sessions", json!({})).await;
    assert_eq!(sessions["sessions"][0]["id"], SID);
    assert_eq!(sessions["nextCursor"], Value::Null);
    let tasks = ok(
        &client,
        "get_tasks",
        json!({"session_id": SID, "status": "in_progress"}),
    )
    .await;
    assert_eq!(tasks["tasks"][0]["subject"], "Write the parser");

    let created = ok(
        &client,
        "create_features",
        json!({"features": [
            {"name": "Parser", "ref": "p", "steps": ["parses a line"]},
            {"name": "Export", "dependsOnRefs": ["p"]}
        ]}),
    )
    .await;
    let parser = created["features"][0]["id"].as_i64().unwrap();
    let export = created["features"][1]["id"].as_i64().unwrap();
    let page = ok(&client, "list_features", json!({"limit": 1})).await;
    assert_eq!(page["features"].as_array().unwrap().len(), 1);
    assert_eq!(page["nextCursor"], "1");
    assert_eq!(page["counts"]["total"], 2);
    let rest = ok(&client, "list_features", json!({"limit": 1, "cursor": "1"})).await;
    assert_eq!(rest["features"][0]["id"], export);
    assert_eq!(rest["nextCursor"], Value::Null);

    let ready = ok(&client, "ready_features", json!({})).await;
    assert_eq!(ready["features"][0]["id"], parser);
    let claim = ok(&client, "claim_feature", json!({"agent": "agent-one"})).await;
    assert_eq!(claim["feature"]["id"], parser);
    assert_eq!(claim["feature"]["claimedBy"], "agent-one");
    let token = claim["claimToken"].as_str().unwrap().to_owned();

    // A second agent, on a second connection, cannot take it.
    let other = connect(&server).await;
    let err = refused(
        &other,
        "claim_feature",
        json!({"agent": "agent-two", "id": parser}),
    )
    .await;
    assert_eq!(err["code"], "claimed_by_other");
    assert_eq!(err["status"], 409);
    let err = refused(
        &other,
        "heartbeat",
        json!({"id": parser, "claim_token": "not-the-token"}),
    )
    .await;
    assert_eq!(err["code"], "lease_lost");

    ok(
        &client,
        "heartbeat",
        json!({"id": parser, "claim_token": token, "lease_secs": 600}),
    )
    .await;
    let done = ok(
        &client,
        "complete_feature",
        json!({"id": parser, "claim_token": token}),
    )
    .await;
    assert_eq!(done["unblocked"], json!([export]));
    // The claim went through the API: every HTTP client sees the same feature.
    let seen = server
        .get_json(&format!("/api/features/{parser}"), 200)
        .await;
    assert_eq!(seen["status"], "done");

    let feature = ok(&client, "get_feature", json!({"id": export})).await;
    assert_eq!(feature["state"], "ready");
    let noted = ok(
        &client,
        "add_note",
        json!({"session_id": SID, "task_id": "1", "note": "from MCP"}),
    )
    .await;
    assert_eq!(noted["success"], true);

    let err = refused(&client, "get_tasks", json!({"session_id": "../etc"})).await;
    assert_eq!(err["status"], 400);
    let err = refused(
        &client,
        "claim_feature",
        json!({"agent": "x", "colour": "red"}),
    )
    .await;
    assert_eq!(err["code"], "invalid_arguments");
    client.cancel().await.unwrap();
    other.cancel().await.unwrap();
}

fn initialize() -> String {
    json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "test", "version": "0"}}})
    .to_string()
}

#[tokio::test]
async fn mcp_refuses_a_cross_site_origin_and_honours_the_token() {
    let server = start().await;
    let post = |origin: Option<&str>| {
        let mut req = server
            .client
            .post(server.url("/mcp"))
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .body(initialize());
        if let Some(origin) = origin {
            req = req.header("origin", origin);
        }
        req.send()
    };
    let res = post(Some("http://evil.example")).await.unwrap();
    assert_eq!(res.status(), 403);
    let res = post(Some(&server.base)).await.unwrap();
    assert_eq!(res.status(), 200);
    let res = post(None).await.unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["result"]["serverInfo"]["name"], "flow");

    let tree = ClaudeTree::new();
    let mut config = flow_server::Config::for_claude_dir(tree.root());
    config.token = Some("s3cret".into());
    let guarded = TestServer::start_with(tree, config).await;
    let send = |token: Option<&str>| {
        let mut req = guarded
            .client
            .post(guarded.url("/mcp"))
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .body(initialize());
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        req.send()
    };
    assert_eq!(send(None).await.unwrap().status(), 401);
    assert_eq!(send(Some("s3cret")).await.unwrap().status(), 200);
}
