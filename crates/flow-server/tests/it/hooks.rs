//! `POST /api/hooks` (contract §8): Claude Code hook payloads laid over what the files say,
//! live `session-state` events, hook data expiring when the files move on, and hostile
//! payloads refused without a change. (`crates/flow/tests/cli/hooks.rs` sends the same shapes
//! through the `flow hook` binary.)

use serde_json::{Value, json};

use crate::support::{Agent, ClaudeTree, TestServer};

const UUID: &str = "0a1b2c3d-0000-4000-8000-0000000000a1";

fn payload(event: &str, extra: Value) -> Value {
    let mut v = json!({
        "session_id": UUID,
        "transcript_path": format!("/home/u/.claude/projects/-work-repo/{UUID}.jsonl"),
        "cwd": "/work/repo",
        "permission_mode": "default",
        "hook_event_name": event,
    });
    for (k, x) in extra.as_object().expect("object") {
        v[k] = x.clone();
    }
    v
}

fn now_ms() -> i64 {
    flow_core::time::epoch_ms(std::time::SystemTime::now())
}

/// A session with a task list, a transcript, and a live registry entry that says `busy`.
fn tree(agent: &Agent) -> ClaudeTree {
    let tree = ClaudeTree::new();
    tree.task(
        UUID,
        json!({"id": "1", "subject": "work", "status": "in_progress"}),
    );
    tree.transcript(
        "-work-repo",
        UUID,
        &[json!({"type": "user", "cwd": "/work/repo", "timestamp": "2026-01-01T00:00:00.000Z"})],
    );
    let entry = json!({"pid": agent.pid(), "sessionId": UUID, "cwd": "/work/repo",
        "startedAt": now_ms() - 60_000, "procStart": agent.start_ticks().to_string(),
        "kind": "interactive", "status": "busy", "updatedAt": now_ms() - 60_000});
    tree.write(&format!("sessions/{}.json", agent.pid()), entry.to_string());
    tree
}

async fn hook(server: &TestServer, body: &Value) -> (u16, Value) {
    let res = server.post_json("/api/hooks", &body.to_string()).await;
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn session(server: &TestServer) -> Value {
    let all = server.get_json("/api/sessions", 200).await;
    all.as_array()
        .and_then(|l| l.iter().find(|s| s["id"] == UUID))
        .cloned()
        .unwrap_or_else(|| panic!("{UUID} not listed: {all}"))
}

#[tokio::test]
async fn hook_states_win_over_the_registry_until_the_transcript_moves_on() {
    let agent = Agent::spawn();
    let server = TestServer::start(tree(&agent)).await;
    assert_eq!(session(&server).await["state"], "busy");
    let mut events = server.sse().await;

    let prompt = payload(
        "Notification",
        json!({"notification_type": "permission_prompt",
               "message": "Claude needs your permission to use Bash"}),
    );
    let (status, body) = hook(&server, &prompt).await;
    assert_eq!((status, &body["state"]), (200, &json!("waiting")), "{body}");
    let (event, _) = events
        .until(|e| e["type"] == "session-state" && e["sessionId"] == UUID)
        .await;
    assert_eq!(event["state"], "waiting");
    assert_eq!(
        event["waitingFor"],
        "Claude needs your permission to use Bash"
    );
    let s = session(&server).await;
    assert_eq!(
        (&s["state"], &s["waitingFor"]),
        (
            &json!("waiting"),
            &json!("Claude needs your permission to use Bash")
        )
    );

    hook(
        &server,
        &payload(
            "PostToolUse",
            json!({"tool_name": "Bash", "tool_input": {}, "tool_response": {}}),
        ),
    )
    .await;
    let (event, _) = events
        .until(|e| e["type"] == "session-state" && e["sessionId"] == UUID)
        .await;
    assert_eq!(
        (&event["state"], &event["waitingFor"]),
        (&json!("busy"), &Value::Null)
    );

    hook(
        &server,
        &payload("Stop", json!({"stop_hook_active": false})),
    )
    .await;
    events
        .until(|e| e["type"] == "session-state" && e["state"] == "idle")
        .await;
    // The transcript moves on (a record well after the hook): the files speak again, and
    // the registry says busy.
    let later = flow_core::time::rfc3339_from_ms(now_ms() + 10_000);
    server.tree.append(
        &format!("projects/-work-repo/{UUID}.jsonl"),
        &format!("{}\n", json!({"type": "user", "timestamp": later})),
    );
    let (event, _) = events
        .until(|e| e["type"] == "session-state" && e["sessionId"] == UUID)
        .await;
    assert_eq!(event["state"], "busy");
}

#[tokio::test]
async fn subagent_hooks_start_and_stop_subagents() {
    let agent = Agent::spawn();
    let server = TestServer::start(tree(&agent)).await;
    let start = payload(
        "SubagentStart",
        json!({"agent_id": "a7f3c2e", "agent_type": "Explore"}),
    );
    assert_eq!(hook(&server, &start).await.0, 200);
    let agents = server
        .get_json(&format!("/api/sessions/{UUID}/agents"), 200)
        .await;
    assert_eq!(agents[0]["agentId"], "a7f3c2e");
    assert_eq!(agents[0]["agentType"], "Explore");
    assert_eq!(agents[0]["running"], true);
    assert_eq!(
        session(&server).await["subagents"],
        json!({"running": 1, "total": 1})
    );

    let mut events = server.sse().await;
    let stop = payload(
        "SubagentStop",
        json!({"agent_id": "a7f3c2e", "agent_type": "Explore",
        "agent_transcript_path": "/x/subagents/agent-a7f3c2e.jsonl", "stop_hook_active": false}),
    );
    assert_eq!(hook(&server, &stop).await.0, 200);
    let (event, _) = events
        .until(|e| e["type"] == "session-state" && e["sessionId"] == UUID)
        .await;
    assert_eq!(
        event["session"]["subagents"],
        json!({"running": 0, "total": 1})
    );
    let agents = server
        .get_json(&format!("/api/sessions/{UUID}/agents"), 200)
        .await;
    assert_eq!(agents[0]["running"], false);
}

#[tokio::test]
async fn hostile_hook_payloads_are_refused_and_change_nothing() {
    let agent = Agent::spawn();
    let server = TestServer::start(tree(&agent)).await;
    let before = session(&server).await;
    let huge = payload(
        "Notification",
        json!({"notification_type": "permission_prompt",
        "message": "x".repeat(2 << 20)}),
    );
    let mut bad_id = payload("Stop", json!({}));
    bad_id["session_id"] = json!("../../etc/passwd");
    let cases: Vec<(String, u16)> = vec![
        (huge.to_string(), 413),
        ("{\"hook_event_name\": \"Stop\", ".into(), 400),
        ("[]".into(), 400),
        (payload("Explode", json!({})).to_string(), 422),
        (bad_id.to_string(), 400),
        (
            payload("SubagentStart", json!({"agent_id": "a/../b"})).to_string(),
            400,
        ),
        (payload("SubagentStop", json!({})).to_string(), 422),
        (
            payload("Stop", json!({"flow_task_list": "../tasks"})).to_string(),
            400,
        ),
        (
            json!({"hook_event_name": "Stop", "session_id": 7}).to_string(),
            400,
        ),
    ];
    for (body, want) in cases {
        let res = server.post_json("/api/hooks", &body).await;
        let shown: String = body.chars().take(80).collect();
        assert_eq!(res.status().as_u16(), want, "{shown}");
        let err: Value = res.json().await.expect("JSON error");
        assert!(err["error"].is_string(), "{err}");
    }
    let res = server
        .client
        .post(server.url("/api/hooks"))
        .header("content-type", "text/plain")
        .body(payload("Stop", json!({})).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 415);
    assert_eq!(session(&server).await, before);
}
