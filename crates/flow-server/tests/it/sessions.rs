//! `GET /api/sessions` and `GET /api/sessions/:id` over a tree written the way Claude Code
//! writes it (contract §1, §3).

use serde_json::{Value, json};

use crate::support::{ClaudeTree, TestServer};

pub(crate) const A: &str = "aaaaaaaa-1111-4111-8111-111111111111";
pub(crate) const B_UUID: &str = "bbbbbbbb-2222-4222-8222-222222222222";
pub(crate) const B: &str = "session-bbbbbbbb";
pub(crate) const TEAM: &str = "team-alpha";
const PROJECT: &str = "-home-dev-app";

/// Three sessions: a uuid folder with a full transcript, a `session-<8hex>` folder, and a
/// closed team list holding only Claude Code's bookkeeping. Plus things that are not sessions.
pub(crate) fn board() -> ClaudeTree {
    let tree = ClaudeTree::new();
    tree.task(A, json!({"id":"1","subject":"Design schema","description":"d1","activeForm":"Designing schema","status":"completed","blocks":["2"],"blockedBy":[]}))
        .task(A, json!({"id":"2","subject":"Write API","description":"d2","activeForm":"Writing API","status":"in_progress","blocks":[],"blockedBy":["1"],"owner":"agent-1","metadata":{"priority":"high"}}))
        .task(A, json!({"id":"10","subject":"Ship","description":"","activeForm":"Shipping","status":"pending","blocks":[],"blockedBy":["2"],"zeta":{"kept":[1,2,3]}}))
        .task(A, json!({"id":"11","subject":"Odd status","status":"blocked","blocks":[],"blockedBy":[]}))
        .write(&format!("tasks/{A}/3.json"), "{\"id\":\"3\",\"sub")
        .write(&format!("tasks/{A}/4.json"), "")
        .write(&format!("tasks/{A}/5.json"), "[1,2]")
        .write(&format!("tasks/{A}/.lock"), "")
        .write(&format!("tasks/{A}/.highwatermark"), "11")
        .task(B, json!({"id":"1","subject":"Only task","status":"pending","blocks":[],"blockedBy":[]}))
        .write(&format!("tasks/{TEAM}/.lock"), "")
        .write(&format!("tasks/{TEAM}/.highwatermark"), "4");
    let huge = "x".repeat(200_000);
    tree.transcript(PROJECT, A, &[
        json!({"type":"summary","summary":huge}),
        json!({"type":"user","cwd":"/home/dev/app","slug":"brave-otter","sessionId":A}),
        json!({"type":"assistant","cwd":"/elsewhere","slug":"not-this-one"}),
        json!({"type":"custom-title","customTitle":"First name","sessionId":A}),
        json!({"type":"user","message":"more work"}),
        json!({"type":"custom-title","customTitle":"Final name","sessionId":A}),
        json!({"type":"assistant","message":"done"}),
    ])
    .transcript(PROJECT, B_UUID, &[json!({"type":"user","cwd":"/home/dev/lib","slug":"quiet-heron"})])
    .transcript(PROJECT, "dddddddd-4444-4444-8444-444444444444", &[json!({"slug":"transcript-only"})])
    .transcript(PROJECT, "agent-123", &[json!({"slug":"agent"})])
    .write(
        &format!("projects/{PROJECT}/{A}/subagents/agent-9.jsonl"),
        "{\"type\":\"custom-title\",\"customTitle\":\"WRONG\"}\n",
    )
    .write(
        &format!("projects/{PROJECT}/sessions-index.json"),
        json!({"version":1,"entries":[
            {"sessionId":A,"fullPath":"/x","firstPrompt":"hi","summary":"Build the app","messageCount":9,
             "created":"2026-11-20T09:00:00.000Z","modified":"2026-11-20T10:00:00.000Z",
             "gitBranch":"feature/api","projectPath":"/home/dev/app","isSidechain":false},
            {"sessionId":B_UUID,"description":"Library work","summary":"ignored","gitBranch":"main"}
        ]}).to_string(),
    );
    // Deterministic recency: A's newest task, then B's task, then the team folder.
    for (i, id) in ["1", "2", "10", "11", "3", "4", "5"].iter().enumerate() {
        tree.touch(&format!("tasks/{A}/{id}.json"), 1_795_000_000 + i as u64);
    }
    tree.touch(&format!("tasks/{B}/1.json"), 1_794_000_000);
    tree.touch(&format!("tasks/{TEAM}"), 1_793_000_000);
    tree
}

#[tokio::test]
async fn session_list_has_every_field_newest_first() {
    let server = TestServer::start(board()).await;
    let mut body = server.get_json("/api/sessions", 200).await;
    // The agent fields of contract §6 are checked here; the §3 fields below, exactly.
    let agent_fields = [
        "state",
        "live",
        "waitingFor",
        "lastActivityAt",
        "cwd",
        "team",
        "planSlug",
        "subagents",
    ];
    let mut extra = Vec::new();
    for item in body.as_array_mut().unwrap() {
        let item = item.as_object_mut().unwrap();
        extra.push(agent_fields.map(|k| item.remove(k).unwrap_or_else(|| panic!("{k} missing"))));
    }
    let [state, live, waiting, last, cwd, team, plan, subagents] = &extra[0];
    assert_eq!(
        (state, live, waiting),
        (&json!("ended"), &json!(false), &Value::Null)
    );
    assert!(last.is_string(), "the transcript's time: {last}");
    assert_eq!(cwd, "/elsewhere", "the newest cwd");
    assert_eq!((team, plan), (&Value::Null, &Value::Null));
    assert_eq!(subagents, &json!({"running":0,"total":1}));
    assert_eq!(
        extra[2][3],
        Value::Null,
        "no transcript, no registry: no activity time"
    );
    assert_eq!(
        body,
        json!([
            {"id":A,"name":"Final name","slug":"brave-otter","project":"/home/dev/app",
             "description":"Build the app","gitBranch":"feature/api","taskCount":7,
             "completed":1,"inProgress":1,"pending":2,
             "createdAt":"2026-11-20T09:00:00.000Z","modifiedAt":"2026-11-18T11:06:46.000Z"},
            {"id":B,"name":"quiet-heron","slug":"quiet-heron","project":"/home/dev/lib",
             "description":"Library work","gitBranch":"main","taskCount":1,
             "completed":0,"inProgress":0,"pending":1,
             "createdAt":null,"modifiedAt":"2026-11-06T21:20:00.000Z"},
            {"id":TEAM,"name":null,"slug":null,"project":null,"description":null,"gitBranch":null,
             "taskCount":0,"completed":0,"inProgress":0,"pending":0,
             "createdAt":null,"modifiedAt":"2026-10-26T07:33:20.000Z"}
        ])
    );
}

#[tokio::test]
async fn limit_defaults_to_20_accepts_all_and_rejects_garbage() {
    let tree = ClaudeTree::new();
    for i in 0..25 {
        let sid = format!("s{i:02}");
        tree.task(&sid, json!({"id":"1","subject":"t","status":"pending"}));
        tree.touch(&format!("tasks/{sid}/1.json"), 1_790_000_000 + i);
    }
    let server = TestServer::start(tree).await;
    let ids = |v: Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let default = ids(server.get_json("/api/sessions", 200).await);
    assert_eq!(default.len(), 20);
    assert_eq!(default[0], "s24", "newest first");
    assert_eq!(
        ids(server.get_json("/api/sessions?limit=all", 200).await).len(),
        25
    );
    assert_eq!(
        ids(server.get_json("/api/sessions?limit=3", 200).await),
        ["s24", "s23", "s22"]
    );
    for bad in [
        "0",
        "-1",
        "abc",
        "",
        "1.5",
        "99999999999999999999999",
        "ALL",
    ] {
        let body = server
            .get_json(&format!("/api/sessions?limit={bad}"), 400)
            .await;
        assert!(
            body["error"].as_str().unwrap().contains("limit"),
            "{bad}: {body}"
        );
    }
}

#[tokio::test]
async fn session_tasks_are_stored_fields_plus_times_sorted_numerically() {
    let server = TestServer::start(board()).await;
    let tasks = server.get_json(&format!("/api/sessions/{A}"), 200).await;
    let tasks = tasks.as_array().unwrap();
    let ids: Vec<_> = tasks.iter().map(|t| t["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["1", "2", "10", "11"], "malformed 3, 4, 5 are skipped");

    let mut ship = tasks[2].clone();
    let updated = ship.as_object_mut().unwrap().remove("updatedAt").unwrap();
    let created = ship.as_object_mut().unwrap().remove("createdAt").unwrap();
    assert_eq!(
        ship,
        json!({"id":"10","subject":"Ship","description":"","activeForm":"Shipping","status":"pending",
               "blocks":[],"blockedBy":["2"],"zeta":{"kept":[1,2,3]}})
    );
    assert_eq!(updated, "2026-11-18T11:06:42.000Z");
    let created = created.as_str().unwrap();
    assert_eq!(created.len(), 24, "RFC 3339 with millis: {created}");
    assert!(created.ends_with('Z'));
    assert_eq!(tasks[1]["owner"], "agent-1");
    assert_eq!(tasks[1]["metadata"], json!({"priority":"high"}));
    assert_eq!(
        tasks[3]["status"], "blocked",
        "stored status is served as stored"
    );

    let empty = server.get_json(&format!("/api/sessions/{TEAM}"), 200).await;
    assert_eq!(empty, json!([]));
}

#[tokio::test]
async fn unknown_session_is_404_json() {
    let server = TestServer::start(board()).await;
    let body = server.get_json("/api/sessions/no-such-session", 404).await;
    assert_eq!(body, json!({"error":"Session not found"}));
    let body = server
        .get_json(&format!("/api/sessions/{B_UUID}"), 404)
        .await;
    assert_eq!(
        body,
        json!({"error":"Session not found"}),
        "transcript-only sessions are not listed"
    );
}

#[tokio::test]
async fn missing_claude_dir_serves_empty_lists() {
    let tree = ClaudeTree::new();
    let config = flow_server::Config::for_claude_dir(tree.path("does/not/exist"));
    let server = TestServer::start_with(tree, config).await;
    assert_eq!(server.get_json("/api/sessions", 200).await, json!([]));
    assert_eq!(server.get_json("/api/tasks/all", 200).await, json!([]));
    let health = server.get_json("/api/health", 200).await;
    assert_eq!(health["status"], "ok");
    assert_eq!(health["version"], env!("CARGO_PKG_VERSION"));
    assert!(
        health["tasksDir"]
            .as_str()
            .unwrap()
            .ends_with("does/not/exist/tasks")
    );
    assert!(
        health["projectsDir"]
            .as_str()
            .unwrap()
            .ends_with("does/not/exist/projects")
    );
}
