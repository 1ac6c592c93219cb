//! Agents in view (contract §6): the live registry, session states and their events, every
//! session in `/api/activity`, names and branches, counts without bookkeeping, subagents.

use serde_json::{Value, json};

use crate::support::{Agent, ClaudeTree, TestServer, is_update};

const UUID: &str = "0a1b2c3d-0000-4000-8000-000000000001";

fn entry(agent: &Agent, session: &str, status: &str, extra: Value) -> String {
    let mut e = json!({
        "pid": agent.pid(),
        "sessionId": session,
        "cwd": "/work/repo",
        "startedAt": now_ms(),
        "procStart": agent.start_ticks().to_string(),
        "version": "2.1.139",
        "kind": "interactive",
        "entrypoint": "cli",
        "status": status,
        "updatedAt": now_ms(),
    });
    for (k, v) in extra.as_object().expect("object") {
        e[k] = v.clone();
    }
    e.to_string()
}

fn now_ms() -> i64 {
    flow_core::time::epoch_ms(std::time::SystemTime::now())
}

fn session_with_tasks() -> ClaudeTree {
    let tree = ClaudeTree::new();
    tree.task(
        UUID,
        json!({"id":"1","subject":"work","status":"in_progress"}),
    );
    tree
}

async fn item(server: &TestServer, path: &str, id: &str) -> Value {
    let all = server.get_json(path, 200).await;
    all.as_array()
        .expect("list")
        .iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("{id} not in {path}: {all}"))
        .clone()
}

fn is_state(e: &Value, session: &str, state: &str) -> bool {
    e["type"] == "session-state" && e["sessionId"] == session && e["state"] == state
}

#[tokio::test]
async fn a_live_process_makes_its_session_busy_then_waiting_then_ended_on_both_streams() {
    let server = TestServer::start(session_with_tasks()).await;
    let before = item(&server, "/api/sessions", UUID).await;
    assert_eq!(
        (before["state"].clone(), before["live"].clone()),
        (json!("ended"), json!(false))
    );

    let mut sse = server.sse().await;
    let mut ws = server.ws().await;
    let mut agent = Agent::spawn();
    let file = format!("sessions/{}.json", agent.pid());
    server
        .tree
        .write(&file, entry(&agent, UUID, "busy", json!({})));
    let (busy, _) = sse.until(|e| is_state(e, UUID, "busy")).await;
    assert_eq!(busy["live"], true);
    assert_eq!(busy["waitingFor"], Value::Null);
    assert_eq!(busy["session"]["state"], "busy");
    ws.until(|e| is_state(e, UUID, "busy")).await;
    let listed = item(&server, "/api/sessions", UUID).await;
    assert_eq!(listed["state"], "busy");
    assert_eq!(listed["live"], true);
    assert_eq!(listed["cwd"], "/work/repo");
    assert!(listed["lastActivityAt"].is_string(), "{listed}");

    server.tree.write(
        &file,
        entry(
            &agent,
            UUID,
            "waiting",
            json!({"waitingFor": "approve Bash(rm -rf build)"}),
        ),
    );
    let (waiting, _) = sse.until(|e| is_state(e, UUID, "waiting")).await;
    assert_eq!(waiting["waitingFor"], "approve Bash(rm -rf build)");
    assert_eq!(waiting["live"], true);
    let (on_ws, _) = ws.until(|e| is_state(e, UUID, "waiting")).await;
    assert_eq!(on_ws["waitingFor"], "approve Bash(rm -rf build)");

    // Claude Code crashes: the process is gone, its registry file stays. Seen by the sweep,
    // well within the contract's 5 s (the wait below gives up after 5 s).
    agent.exit();
    let (ended, _) = sse.until(|e| is_state(e, UUID, "ended")).await;
    assert_eq!(ended["live"], false);
    assert_eq!(ended["waitingFor"], Value::Null);
    ws.until(|e| is_state(e, UUID, "ended")).await;
    assert!(
        server.tree.path(&file).exists(),
        "Flow never removes the registry file"
    );
    assert_eq!(item(&server, "/api/sessions", UUID).await["state"], "ended");
}

#[tokio::test]
async fn only_the_process_that_wrote_an_entry_makes_it_live() {
    let tree = ClaudeTree::new();
    let live = Agent::spawn();
    let reused = Agent::spawn();
    let mut dead = Agent::spawn();
    let dead_pid = dead.pid();
    dead.exit();
    let ids = ["live", "dead", "ticks", "lstart", "started"]
        .map(|n| format!("{n}-0000-4000-8000-000000000000"));
    tree.write(
        &format!("sessions/{}.json", live.pid()),
        entry(&live, &ids[0], "idle", json!({})),
    );
    tree.write(
        &format!("sessions/{dead_pid}.json"),
        json!({"pid": dead_pid, "sessionId": ids[1], "status": "busy"}).to_string(),
    );
    // The same pid, but a process that started at another time: the pid was reused. Each
    // form Claude Code writes is checked (clock ticks on Linux, `ps` wall time elsewhere).
    let other_ticks = (reused.start_ticks() + 500).to_string();
    tree.write(
        "sessions/900001.json",
        json!({"pid": reused.pid(), "sessionId": ids[2], "status": "busy", "procStart": other_ticks}).to_string(),
    );
    tree.write(
        "sessions/900002.json",
        json!({"pid": reused.pid(), "sessionId": ids[3], "status": "busy", "procStart": "Thu Mar  5 10:00:00 2026"}).to_string(),
    );
    // An entry written an hour before its pid's process started.
    tree.write(
        "sessions/900003.json",
        json!({"pid": reused.pid(), "sessionId": ids[4], "status": "busy", "startedAt": now_ms() - 3_600_000}).to_string(),
    );
    let server = TestServer::start(tree).await;
    let activity = server.get_json("/api/activity?since=all", 200).await;
    let state = |id: &str| {
        let s = activity
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == id)
            .unwrap_or_else(|| panic!("{id} listed"));
        (
            s["state"].as_str().unwrap().to_owned(),
            s["live"].as_bool().unwrap(),
        )
    };
    assert_eq!(state(&ids[0]), ("idle".into(), true));
    for id in &ids[1..] {
        assert_eq!(state(id), ("ended".into(), false), "{id}");
    }
}

#[tokio::test]
async fn the_legacy_registry_form_counts_while_its_process_lives() {
    let agent = Agent::spawn();
    let tree = session_with_tasks();
    tree.write(
        &format!("sessions/pid-{}.json", agent.pid()),
        json!({"session_id": UUID, "cwd": "/legacy"}).to_string(),
    );
    let server = TestServer::start(tree).await;
    let s = item(&server, "/api/sessions", UUID).await;
    assert_eq!(
        (s["state"].clone(), s["live"].clone(), s["cwd"].clone()),
        (json!("busy"), json!(true), json!("/legacy"))
    );
}

#[tokio::test]
async fn sessions_without_a_task_list_are_in_activity_only() {
    let tree = ClaudeTree::new();
    tree.mkdir("tasks");
    tree.transcript(
        "-work-repo",
        UUID,
        &[
            json!({"type":"user","cwd":"/work/repo","gitBranch":"feat/x","sessionId":UUID,"timestamp":"2026-11-30T08:00:00.000Z"}),
            json!({"type":"custom-title","customTitle":"Port the parser","sessionId":UUID}),
        ],
    );
    let old = "99999999-0000-4000-8000-000000000009";
    tree.transcript(
        "-work-repo",
        old,
        &[json!({"type":"user","cwd":"/old","timestamp":"2026-01-01T00:00:00.000Z"})],
    );
    tree.touch(&format!("projects/-work-repo/{old}.jsonl"), 1_767_225_600);
    let server = TestServer::start(tree).await;

    let s = item(&server, "/api/activity?since=all", UUID).await;
    assert_eq!(s["hasTaskList"], false);
    assert_eq!(s["name"], "Port the parser");
    assert_eq!(s["project"], "/work/repo");
    assert_eq!(s["gitBranch"], "feat/x");
    assert_eq!(s["taskCount"], 0);
    assert_eq!(s["lastActivityAt"], "2026-11-30T08:00:00.000Z");
    assert_eq!(server.get_json("/api/sessions", 200).await, json!([]));
    let missing = server.get_json(&format!("/api/sessions/{UUID}"), 404).await;
    assert_eq!(missing["error"], "Session not found");

    // The default window is 48 hours: a session last active in January is only in `all`.
    let all = server.get_json("/api/activity?since=all", 200).await;
    assert!(all.as_array().unwrap().iter().any(|s| s["id"] == old));
    let recent = server.get_json("/api/activity?since=100000", 200).await;
    assert!(recent.as_array().unwrap().iter().any(|s| s["id"] == old));
    let window = server.get_json("/api/activity?since=1", 200).await;
    assert!(
        !window.as_array().unwrap().iter().any(|s| s["id"] == old),
        "{window}"
    );
    for bad in ["0", "-1", "abc", "1.5"] {
        let err = server
            .get_json(&format!("/api/activity?since={bad}"), 400)
            .await;
        assert!(err["error"].as_str().unwrap().contains("since"), "{err}");
    }
    let unknown = server.get_json("/api/activity?bogus=1", 400).await;
    assert!(unknown["error"].is_string(), "{unknown}");
}

#[tokio::test]
async fn names_follow_the_contract_precedence_and_branches_the_newest_record() {
    let tree = ClaudeTree::new();
    let cases: [(&str, &[Value], &str); 5] = [
        (
            "a0000000-0000-4000-8000-000000000001",
            &[
                json!({"type":"user","slug":"slug-a","cwd":"/a"}),
                json!({"type":"summary","summary":"A summary"}),
                json!({"type":"agent-name","agentName":"agent-a"}),
                json!({"type":"custom-title","customTitle":"Custom A"}),
                json!({"type":"ai-title","aiTitle":"Later AI title"}),
            ],
            "Custom A",
        ),
        (
            "a0000000-0000-4000-8000-000000000002",
            &[
                json!({"type":"user","slug":"slug-b","cwd":"/b"}),
                json!({"type":"agent-name","agentName":"agent-b"}),
                json!({"type":"ai-title","aiTitle":"AI B"}),
            ],
            "AI B",
        ),
        (
            "a0000000-0000-4000-8000-000000000003",
            &[
                json!({"type":"summary","summary":"C summary"}),
                json!({"type":"user","slug":"slug-c","cwd":"/c"}),
                json!({"type":"agent-name","agentName":"agent-c"}),
            ],
            "agent-c",
        ),
        (
            "a0000000-0000-4000-8000-000000000004",
            &[
                json!({"type":"user","slug":"slug-d","cwd":"/d"}),
                json!({"type":"summary","summary":"D summary"}),
            ],
            "D summary",
        ),
        (
            "a0000000-0000-4000-8000-000000000005",
            &[json!({"type":"user","slug":"slug-e","cwd":"/e"})],
            "slug-e",
        ),
    ];
    for (id, lines, _) in &cases {
        tree.mkdir(&format!("tasks/{id}"));
        tree.transcript("-p", id, lines);
    }
    // Branch: the transcript's newest non-empty one beats a frozen sessions-index entry;
    // without a transcript branch the index's is used. Project: the index's `projectPath`
    // when the transcript has no cwd.
    let b1 = "b0000000-0000-4000-8000-000000000001";
    let b2 = "b0000000-0000-4000-8000-000000000002";
    tree.mkdir(&format!("tasks/{b1}"))
        .mkdir(&format!("tasks/{b2}"));
    tree.transcript(
        "-q",
        b1,
        &[
            json!({"type":"user","cwd":"/q","gitBranch":"main"}),
            json!({"type":"user","cwd":"/q","gitBranch":"feat/new"}),
            json!({"type":"user","cwd":"/q","gitBranch":""}),
        ],
    );
    tree.transcript("-q", b2, &[json!({"type":"user","gitBranch":""})]);
    tree.write(
        "projects/-q/sessions-index.json",
        json!({"version":1,"entries":[
            {"sessionId": b1, "gitBranch": "frozen", "projectPath": "/from-index"},
            {"sessionId": b2, "gitBranch": "index-branch", "projectPath": "/from-index"},
        ]})
        .to_string(),
    );
    let server = TestServer::start(tree).await;
    let sessions = server.get_json("/api/sessions?limit=all", 200).await;
    let find = |id: &str| {
        sessions
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == id)
            .unwrap()
            .clone()
    };
    for (id, _, name) in &cases {
        assert_eq!(find(id)["name"], *name, "{id}");
    }
    assert_eq!(find(b1)["gitBranch"], "feat/new");
    assert_eq!(find(b1)["project"], "/q");
    assert_eq!(find(b2)["gitBranch"], "index-branch");
    assert_eq!(find(b2)["project"], "/from-index");
}

#[tokio::test]
async fn counts_leave_out_internal_tasks() {
    let tree = ClaudeTree::new();
    tree.task(
        "team",
        json!({"id":"1","subject":"real","status":"completed"}),
    );
    tree.task(
        "team",
        json!({"id":"2","subject":"real","status":"pending"}),
    );
    tree.task(
        "team",
        json!({"id":"3","subject":"tracker","status":"in_progress","metadata":{"_internal":true}}),
    );
    let server = TestServer::start(tree).await;
    let s = item(&server, "/api/sessions", "team").await;
    assert_eq!(
        (
            s["completed"].clone(),
            s["inProgress"].clone(),
            s["pending"].clone()
        ),
        (json!(1), json!(0), json!(1))
    );
    assert_eq!(s["taskCount"], 3, "taskCount still counts every file");
    let tasks = server.get_json("/api/sessions/team", 200).await;
    assert_eq!(
        tasks.as_array().unwrap().len(),
        3,
        "the API still returns internal tasks"
    );
}

#[tokio::test]
async fn subagents_are_listed_with_their_state_and_counted() {
    let tree = session_with_tasks();
    tree.transcript(
        "-p",
        UUID,
        &[json!({"type":"user","cwd":"/p","timestamp":"2026-11-30T08:00:00.000Z"})],
    );
    let sub = format!("projects/-p/{UUID}/subagents");
    tree.transcript("-p", &format!("{UUID}/subagents/agent-a1"), &[
        json!({"type":"user","isSidechain":true,"agentId":"a1","timestamp":"2026-11-30T08:01:00.000Z"}),
        json!({"type":"assistant","isSidechain":true,"agentId":"a1","timestamp":"2026-11-30T08:02:00.000Z"}),
    ]);
    tree.write(
        &format!("{sub}/agent-a1.meta.json"),
        r#"{"agentType":"Explore","description":"Map the parser"}"#,
    );
    let agent = Agent::spawn();
    tree.write(
        &format!("sessions/{}.json", agent.pid()),
        entry(&agent, UUID, "busy", json!({})),
    );
    let server = TestServer::start(tree).await;

    let agents = server
        .get_json(&format!("/api/sessions/{UUID}/agents"), 200)
        .await;
    assert_eq!(agents.as_array().unwrap().len(), 1, "{agents}");
    let a = &agents[0];
    assert_eq!(a["agentId"], "a1");
    assert_eq!(a["agentType"], "Explore");
    assert_eq!(a["description"], "Map the parser");
    assert_eq!(a["startedAt"], "2026-11-30T08:01:00.000Z");
    assert_eq!(a["running"], true, "its session is live and it just wrote");
    assert_eq!(
        item(&server, "/api/sessions", UUID).await["subagents"],
        json!({"running":1,"total":1})
    );

    // A second subagent appears while the server runs; a task write after it is the marker
    // that the watcher has passed it.
    let mut sse = server.sse().await;
    server.tree.write(
        &format!("{sub}/agent-b2.jsonl"),
        "{\"type\":\"user\",\"timestamp\":\"2026-11-30T08:03:00Z\"}\n",
    );
    server.tree.task(
        UUID,
        json!({"id":"2","subject":"marker","status":"pending"}),
    );
    sse.until(|e| is_update(e, "add", UUID, Some("2.json")))
        .await;
    let agents = server
        .get_json(&format!("/api/sessions/{UUID}/agents"), 200)
        .await;
    assert_eq!(agents.as_array().unwrap().len(), 2, "{agents}");
    assert_eq!(agents[1]["agentId"], "b2");
    assert_eq!(agents[1]["agentType"], Value::Null);

    let unknown = server.get_json("/api/sessions/nope/agents", 404).await;
    assert_eq!(unknown["error"], "Session not found");
    assert_eq!(
        server.raw("GET", "/api/sessions/..%2Fx/agents").await.0,
        400
    );
}

#[tokio::test]
async fn a_hostile_registry_changes_nothing_it_should_not() {
    let tree = session_with_tasks();
    tree.write("sessions/1.json", "");
    tree.write("sessions/2.json", "{not json");
    tree.write("sessions/3.json", "[1,2,3]");
    tree.write("sessions/4.json", r#"{"pid":4,"sessionId":"../../etc"}"#);
    tree.write(
        "sessions/5.json",
        format!(
            r#"{{"sessionId":"{UUID}","status":"busy","pad":"{}"}}"#,
            "x".repeat(100_000)
        ),
    );
    tree.write("sessions/notes.txt", "hello");
    let server = TestServer::start(tree).await;
    let s = item(&server, "/api/sessions", UUID).await;
    assert_eq!(
        s["state"], "ended",
        "an oversized entry is skipped, not trusted"
    );
    let activity = server.get_json("/api/activity?since=all", 200).await;
    for s in activity.as_array().unwrap() {
        assert_ne!(
            s["id"], "../../etc",
            "an id that is not an id is never served as a session"
        );
    }
}

#[tokio::test]
async fn sessions_without_a_task_list_announce_new_names_and_keep_what_was_known() {
    let tree = ClaudeTree::new();
    tree.mkdir("tasks");
    let server = TestServer::start(tree).await;
    let mut sse = server.sse().await;

    // A new session that keeps no task list: announced, then renamed: announced again.
    server.tree.transcript(
        "-p",
        UUID,
        &[json!({"type":"user","cwd":"/p","slug":"calm-fox"})],
    );
    sse.until(|e| e["type"] == "metadata-update").await;
    assert_eq!(
        item(&server, "/api/activity", UUID).await["name"],
        "calm-fox"
    );
    server.tree.append(
        &format!("projects/-p/{UUID}.jsonl"),
        "{\"type\":\"custom-title\",\"customTitle\":\"Renamed\"}\n",
    );
    sse.until(|e| e["type"] == "metadata-update").await;
    assert_eq!(
        item(&server, "/api/activity", UUID).await["name"],
        "Renamed"
    );

    // A session only the registry knows: when its process ends, where it ran and when it was
    // last heard of stay known.
    let registry_only = "c3fb74ec-8b9d-4142-954c-4bdf1a77f7f1";
    let mut agent = Agent::spawn();
    server.tree.write(
        &format!("sessions/{}.json", agent.pid()),
        entry(
            &agent,
            registry_only,
            "busy",
            json!({"cwd": "/home/v/orchestra", "updatedAt": 1_795_960_357_092_i64}),
        ),
    );
    let (busy, _) = sse.until(|e| is_state(e, registry_only, "busy")).await;
    assert_eq!(busy["session"]["cwd"], "/home/v/orchestra");
    agent.exit();
    let (ended, _) = sse.until(|e| is_state(e, registry_only, "ended")).await;
    let s = &ended["session"];
    assert_eq!(s["cwd"], "/home/v/orchestra", "{s}");
    assert_eq!(s["project"], "/home/v/orchestra", "{s}");
    assert_eq!(s["lastActivityAt"], "2026-11-29T13:52:37.092Z", "{s}");
    assert_eq!(
        s["modifiedAt"], "2026-11-29T13:52:37.092Z",
        "never 1970: {s}"
    );
    assert_eq!(s["hasTaskList"], false);
}
