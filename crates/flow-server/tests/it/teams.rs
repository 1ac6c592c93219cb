//! Agent teams (contract §6): members and their states from tracker tasks, idle notices and
//! shutdown messages, messages oldest first, `team-update` events, the team's task list on the
//! board, shared task lists, and hostile team files. Fixtures are written in the shapes Claude
//! Code writes (pretty-printed configs and inboxes, protocol messages as JSON text).

use std::process::Command;
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};

use crate::support::{Agent, ClaudeTree, SseClient, TestServer, texts};

const LEAD: &str = "7e1d0c2a-1111-4000-8000-00000000000a";
const LEAD2: &str = "7e1d0c2a-2222-4000-8000-00000000000b";
const TEAM: &str = "docs-crew";

fn ms_ago(secs: u64) -> i64 {
    flow_core::time::epoch_ms(SystemTime::now() - Duration::from_secs(secs))
}

fn at(secs_ago: u64) -> String {
    flow_core::time::rfc3339_millis(SystemTime::now() - Duration::from_secs(secs_ago))
}

fn member(name: &str, color: &str) -> Value {
    json!({
        "agentId": format!("{name}@{TEAM}"), "name": name, "agentType": "general-purpose",
        "model": "haiku", "prompt": format!("You are {name}. Document your module."),
        "color": color, "planModeRequired": false, "joinedAt": ms_ago(3600),
        "tmuxPaneId": "in-process", "cwd": "/work/parser", "subscriptions": [],
        "backendType": "in-process",
    })
}

fn config(team: &str, lead: &str, description: &str, members: Vec<Value>) -> String {
    let mut all = vec![json!({
        "agentId": format!("team-lead@{team}"), "name": "team-lead", "agentType": "team-lead",
        "model": "claude-opus-4-6", "joinedAt": ms_ago(3700), "tmuxPaneId": "",
        "cwd": "/work/parser", "subscriptions": [],
    })];
    all.extend(members);
    serde_json::to_string_pretty(&json!({
        "name": team, "description": description, "createdAt": ms_ago(3700),
        "leadAgentId": format!("team-lead@{team}"), "leadSessionId": lead, "members": all,
    }))
    .unwrap()
}

/// A protocol message: a JSON object encoded as the message's text.
fn protocol(from: &str, kind: &str, secs_ago: u64, extra: Value) -> Value {
    let mut text = json!({"type": kind, "from": from, "timestamp": at(secs_ago)});
    for (k, v) in extra.as_object().unwrap() {
        text[k] = v.clone();
    }
    json!({"from": from, "text": text.to_string(), "timestamp": at(secs_ago), "color": "blue", "read": true})
}

fn plain(from: &str, text: &str, summary: &str, secs_ago: u64, read: bool) -> Value {
    json!({"from": from, "text": text, "summary": summary, "timestamp": at(secs_ago), "read": read})
}

fn inbox(tree: &ClaudeTree, team: &str, owner: &str, messages: &[Value]) {
    tree.write(
        &format!("teams/{team}/inboxes/{owner}.json"),
        serde_json::to_string_pretty(&messages).unwrap(),
    );
}

fn tracker(tree: &ClaudeTree, team: &str, id: &str, name: &str, status: &str) {
    tree.task(
        team,
        json!({"id": id, "subject": name, "description": format!("You are {name}."),
               "status": status, "blocks": [], "blockedBy": [], "metadata": {"_internal": true}}),
    );
}

/// `docs-crew`: four in-process writers, each in another state, a real task list, a lead whose
/// transcript exists but who keeps no list of its own.
fn crew() -> ClaudeTree {
    let tree = ClaudeTree::new();
    tree.write(
        &format!("teams/{TEAM}/config.json"),
        config(
            TEAM,
            LEAD,
            "Document the parser modules",
            vec![
                member("writer-a", "blue"),
                member("writer-b", "green"),
                member("writer-c", "yellow"),
                member("writer-d", "purple"),
            ],
        ),
    );
    let task = |id: &str, subject: &str, status: &str, owner: Option<&str>| {
        let mut t = json!({"id": id, "subject": subject, "description": "", "status": status,
                           "blocks": [], "blockedBy": []});
        if let Some(owner) = owner {
            t["owner"] = json!(owner);
        }
        tree.task(TEAM, t);
    };
    task("1", "Document the lexer", "in_progress", Some("writer-a"));
    task("2", "Document the parser", "completed", Some("writer-b"));
    task("3", "Document the printer", "pending", None);
    tracker(&tree, TEAM, "4", "writer-a", "in_progress");
    tracker(&tree, TEAM, "5", "writer-b", "in_progress");
    tracker(&tree, TEAM, "6", "writer-c", "in_progress");
    tracker(&tree, TEAM, "7", "writer-d", "in_progress");
    inbox(
        &tree,
        TEAM,
        "team-lead",
        &[
            plain(
                "writer-c",
                "Done: the AST module is documented.",
                "AST documented",
                300,
                true,
            ),
            protocol(
                "writer-b",
                "idle_notification",
                240,
                json!({"idleReason": "available"}),
            ),
            protocol(
                "writer-d",
                "idle_notification",
                200,
                json!({"idleReason": "available"}),
            ),
            protocol(
                "writer-c",
                "shutdown_approved",
                100,
                json!({"requestId": "shutdown-1@writer-c", "paneId": "in-process"}),
            ),
        ],
    );
    inbox(
        &tree,
        TEAM,
        "writer-c",
        &[protocol(
            "team-lead",
            "shutdown_request",
            120,
            json!({"requestId": "shutdown-1@writer-c", "reason": "Work complete"}),
        )],
    );
    inbox(
        &tree,
        TEAM,
        "writer-d",
        &[protocol(
            "team-lead",
            "shutdown_request",
            150,
            json!({"requestId": "shutdown-2@writer-d", "reason": "Work complete"}),
        )],
    );
    tree.transcript(
        "-work-parser",
        LEAD,
        &[json!({"type":"user","cwd":"/work/parser","slug":"brisk-lemur","sessionId":LEAD,"timestamp":at(400)})],
    );
    tree
}

fn find<'a>(list: &'a Value, key: &str, value: &str) -> &'a Value {
    list.as_array()
        .expect("a list")
        .iter()
        .find(|it| it[key] == value)
        .unwrap_or_else(|| panic!("no {key}={value} in {list}"))
}

fn states(team: &Value) -> Vec<(String, String)> {
    team["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["name"].as_str().unwrap().to_owned(),
                m["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// `team` as `/api/teams` shows it once `pred` holds, awaiting the next `team-update` between
/// tries: a plain (non-atomic) write may be read half-done first, and brings another event
/// once whole. Each wait is bounded by the SSE client's timeout.
async fn team_when(
    server: &TestServer,
    sse: &mut SseClient,
    team: &str,
    pred: impl Fn(&Value) -> bool,
) -> Value {
    loop {
        let teams = server.get_json("/api/teams", 200).await;
        if let Some(t) = teams.as_array().unwrap().iter().find(|t| t["name"] == team)
            && pred(t)
        {
            return t.clone();
        }
        sse.until(|e| e["type"] == "team-update" && e["team"] == team)
            .await;
    }
}

fn registry(tree: &ClaudeTree, agent: &Agent, session: &str, status: &str) {
    tree.write(
        &format!("sessions/{}.json", agent.pid()),
        json!({"pid": agent.pid(), "sessionId": session, "cwd": "/work/parser",
               "startedAt": ms_ago(0), "kind": "interactive", "status": status,
               "updatedAt": ms_ago(1)})
        .to_string(),
    );
}

#[tokio::test]
async fn teams_list_members_with_states_from_trackers_idle_notices_and_shutdowns() {
    let tree = crew();
    let lead = Agent::spawn();
    registry(&tree, &lead, LEAD, "idle");
    let server = TestServer::start(tree).await;

    let teams = server.get_json("/api/teams", 200).await;
    assert_eq!(teams.as_array().unwrap().len(), 1, "{teams}");
    let t = &teams[0];
    assert_eq!(t["name"], TEAM);
    assert_eq!(t["description"], "Document the parser modules");
    assert_eq!(t["leadSessionId"], LEAD);
    assert_eq!(t["project"], "/work/parser", "the lead member's cwd");
    assert_eq!(t["taskListId"], TEAM);
    assert!(t["createdAt"].as_str().unwrap().ends_with('Z'), "{t}");
    assert_eq!(
        (
            t["completed"].clone(),
            t["inProgress"].clone(),
            t["pending"].clone()
        ),
        (json!(1), json!(1), json!(1)),
        "trackers are not work"
    );
    assert_eq!(
        states(t),
        [
            ("team-lead", "idle"),   // its live session's registry status
            ("writer-a", "working"), // tracker in progress, owns a task in progress
            ("writer-b", "idle"),    // tracker in progress, but an idle notice since
            ("writer-c", "stopped"), // approved its shutdown
            ("writer-d", "stopped"), // asked to stop while idle
        ]
        .map(|(n, s)| (n.to_owned(), s.to_owned()))
    );
    let a = find(&t["members"], "name", "writer-a");
    assert_eq!(a["currentTask"], "Document the lexer");
    assert_eq!(a["agentType"], "general-purpose");
    assert_eq!(a["model"], "haiku");
    assert_eq!(a["color"], "blue");
    assert_eq!(
        find(&t["members"], "name", "writer-b")["currentTask"],
        Value::Null
    );
    assert_eq!(find(&t["members"], "name", "team-lead")["lead"], true);
}

#[tokio::test]
async fn messages_come_oldest_first_with_their_recipient_and_limit_keeps_the_newest() {
    let server = TestServer::start(crew()).await;
    let all = server
        .get_json(&format!("/api/teams/{TEAM}/messages"), 200)
        .await;
    let all = all.as_array().unwrap();
    assert_eq!(all.len(), 6);
    let times: Vec<&str> = all
        .iter()
        .map(|m| m["timestamp"].as_str().unwrap())
        .collect();
    let mut sorted = times.clone();
    sorted.sort_unstable();
    assert_eq!(times, sorted, "oldest first");
    let first = &all[0];
    assert_eq!(first["from"], "writer-c");
    assert_eq!(first["to"], "team-lead");
    assert_eq!(first["text"], "Done: the AST module is documented.");
    assert_eq!(first["summary"], "AST documented");
    assert_eq!(first["read"], true);
    assert_eq!(first["kind"], "message");
    let request = &all[3];
    assert_eq!(request["to"], "writer-d");
    assert_eq!(request["kind"], "shutdown_request");
    assert_eq!(request["summary"], Value::Null);
    let text: Value = serde_json::from_str(request["text"].as_str().unwrap()).unwrap();
    assert_eq!(
        text["type"], "shutdown_request",
        "the text is served as stored"
    );

    let newest = server
        .get_json(&format!("/api/teams/{TEAM}/messages?limit=2"), 200)
        .await;
    assert_eq!(newest.as_array().unwrap(), &all[4..]);
    for bad in ["0", "-1", "x", "1.5"] {
        let err = server
            .get_json(&format!("/api/teams/{TEAM}/messages?limit={bad}"), 400)
            .await;
        assert!(err["error"].as_str().unwrap().contains("limit"), "{err}");
    }
    let unknown = server.get_json("/api/teams/nope/messages", 404).await;
    assert_eq!(unknown["error"], "Team not found");
}

#[tokio::test]
async fn the_team_list_is_named_placed_and_linked_to_its_lead() {
    let tree = crew();
    // A second team whose lead keeps a list of its own too; its config names a workingDir.
    tree.write(
        "teams/api-crew/config.json",
        serde_json::to_string_pretty(&json!({
            "name": "api-crew", "description": "Harden the HTTP API", "createdAt": ms_ago(100),
            "leadAgentId": "team-lead@api-crew", "leadSessionId": LEAD2, "workingDir": "/work/api",
            "members": [{"agentId": "team-lead@api-crew", "name": "team-lead", "cwd": "/elsewhere"}],
        }))
        .unwrap(),
    );
    tree.task(
        LEAD2,
        json!({"id":"1","subject":"Own work","status":"pending"}),
    );
    tree.transcript(
        "-work-api",
        LEAD2,
        &[json!({"type":"user","cwd":"/work/api","timestamp":at(50)})],
    );
    tree.mkdir("tasks/api-crew");
    let server = TestServer::start(tree).await;

    let sessions = server.get_json("/api/sessions?limit=all", 200).await;
    let list = find(&sessions, "id", TEAM);
    assert_eq!(
        list["name"], "Document the parser modules",
        "the team's description outranks the lead's slug"
    );
    assert_eq!(
        list["slug"], "brisk-lemur",
        "linked to the lead's transcript"
    );
    assert_eq!(list["project"], "/work/parser");
    assert_eq!(list["team"], TEAM);
    assert_eq!(list["taskCount"], 7);
    let own = find(&sessions, "id", LEAD2);
    assert_eq!(
        own["team"], "api-crew",
        "the lead session's item shows its team"
    );
    let api = find(&sessions, "id", "api-crew");
    assert_eq!(api["name"], "Harden the HTTP API");
    assert_eq!(api["project"], "/work/api");
    let teams = server.get_json("/api/teams", 200).await;
    assert_eq!(teams[0]["name"], "api-crew", "newest first");
    assert_eq!(teams[0]["project"], "/work/api", "workingDir first");

    // The lead that keeps no list is the team's list on the board, never a second item.
    let activity = server.get_json("/api/activity?since=all", 200).await;
    let ids: Vec<&str> = texts(&activity, "id");
    assert!(ids.contains(&TEAM) && ids.contains(&LEAD2), "{ids:?}");
    assert!(!ids.contains(&LEAD), "{ids:?}");
    assert_eq!(ids.len(), 3, "{ids:?}");
}

#[tokio::test]
async fn a_new_inbox_message_is_a_team_update_on_both_streams() {
    let tree = crew();
    let lead = Agent::spawn();
    registry(&tree, &lead, LEAD, "busy");
    let server = TestServer::start(tree).await;
    let mut sse = server.sse().await;
    let mut ws = server.ws().await;
    let is_team = |e: &Value| e["type"] == "team-update" && e["team"] == TEAM;

    // writer-a reports and goes idle: Claude Code rewrites the lead's inbox whole.
    let path = format!("teams/{TEAM}/inboxes/team-lead.json");
    let mut messages: Vec<Value> =
        serde_json::from_slice(&std::fs::read(server.tree.path(&path)).unwrap()).unwrap();
    messages.push(plain(
        "writer-a",
        "The lexer is documented.",
        "Lexer done",
        2,
        false,
    ));
    messages.push(protocol(
        "writer-a",
        "idle_notification",
        1,
        json!({"idleReason": "available"}),
    ));
    server
        .tree
        .write(&path, serde_json::to_string_pretty(&messages).unwrap());
    sse.until(is_team).await;
    ws.until(is_team).await;
    let t = team_when(&server, &mut sse, TEAM, |t| {
        find(&t["members"], "name", "writer-a")["state"] == "idle"
    })
    .await;
    assert_eq!(find(&t["members"], "name", "team-lead")["state"], "working");
    let all = server
        .get_json(&format!("/api/teams/{TEAM}/messages?limit=2"), 200)
        .await;
    assert_eq!(all[0]["text"], "The lexer is documented.");
    assert_eq!(all[1]["kind"], "idle_notification");

    // The lead sends writer-a a new task; once it has read it, it is at work again.
    server.tree.task(
        TEAM,
        json!({"id":"8","subject":"Document the checker","status":"in_progress","owner":"writer-a"}),
    );
    inbox(
        &server.tree,
        TEAM,
        "writer-a",
        &[plain("team-lead", "Please take #8.", "New task", 0, true)],
    );
    sse.until(is_team).await;
    // Task file and inbox may land in two batches: each brings its own event.
    team_when(&server, &mut sse, TEAM, |t| {
        let a = find(&t["members"], "name", "writer-a");
        a["state"] == "working" && a["currentTask"] == "Document the checker"
    })
    .await;
}

#[tokio::test]
async fn a_team_created_while_running_appears_with_an_event() {
    let tree = ClaudeTree::new();
    tree.mkdir("tasks");
    let server = TestServer::start(tree).await;
    assert_eq!(server.get_json("/api/teams", 200).await, json!([]));
    let mut sse = server.sse().await;
    // `teams/` itself does not exist yet: it is picked up the moment it appears.
    server.tree.write(
        &format!("teams/{TEAM}/config.json"),
        config(TEAM, LEAD, "Fresh team", vec![member("writer-a", "blue")]),
    );
    sse.until(|e| e["type"] == "team-update" && e["team"] == TEAM)
        .await;
    let t = team_when(&server, &mut sse, TEAM, |t| {
        t["description"] == "Fresh team"
    })
    .await;
    assert_eq!(t["taskListId"], Value::Null, "no task list yet");

    // Its tracker appears: a team-update too, and the member works.
    tracker(&server.tree, TEAM, "1", "writer-a", "in_progress");
    sse.until(|e| e["type"] == "team-update" && e["team"] == TEAM)
        .await;
    let t = team_when(&server, &mut sse, TEAM, |t| {
        t["members"][1]["state"] == "working"
    })
    .await;
    assert_eq!(t["taskListId"], TEAM);
}

#[tokio::test]
async fn a_list_of_only_trackers_counts_no_work_but_shows_who_works_on_what() {
    let tree = ClaudeTree::new();
    tree.write(
        &format!("teams/{TEAM}/config.json"),
        config(
            TEAM,
            LEAD,
            "Trackers only",
            vec![member("writer-a", "blue"), member("writer-b", "green")],
        ),
    );
    tracker(&tree, TEAM, "1", "writer-a", "in_progress");
    tracker(&tree, TEAM, "2", "writer-b", "in_progress");
    let server = TestServer::start(tree).await;
    let sessions = server.get_json("/api/sessions", 200).await;
    let list = find(&sessions, "id", TEAM);
    assert_eq!(
        (
            list["completed"].clone(),
            list["inProgress"].clone(),
            list["pending"].clone()
        ),
        (json!(0), json!(0), json!(0))
    );
    let teams = server.get_json("/api/teams", 200).await;
    assert_eq!(
        states(&teams[0])[1..],
        [
            ("writer-a".to_owned(), "working".to_owned()),
            ("writer-b".to_owned(), "working".to_owned())
        ]
    );
}

#[tokio::test]
async fn members_of_a_lead_that_ended_or_fell_silent_long_ago_are_stopped() {
    let tree = crew();
    // The lead's process is gone (its registry file stays): in-process writers went with it.
    let mut lead = Agent::spawn();
    registry(&tree, &lead, LEAD, "busy");
    lead.exit();
    // An old team without a registry entry: its last word was two days ago.
    tree.write(
        "teams/old-crew/config.json",
        serde_json::to_string_pretty(&json!({
            "name": "old-crew", "description": "Old", "createdAt": ms_ago(3 * 86400),
            "leadSessionId": LEAD2,
            "members": [{"name": "team-lead", "joinedAt": ms_ago(3 * 86400)},
                        {"name": "w", "joinedAt": ms_ago(3 * 86400), "backendType": "in-process"}],
        }))
        .unwrap(),
    );
    tracker(&tree, "old-crew", "1", "w", "in_progress");
    tree.touch("tasks/old-crew/1.json", (ms_ago(2 * 86400) / 1000) as u64);
    let server = TestServer::start(tree).await;
    let teams = server.get_json("/api/teams", 200).await;
    for team in teams.as_array().unwrap() {
        for (name, state) in states(team) {
            assert_eq!(state, "stopped", "{}/{name}", team["name"]);
        }
    }
}

#[tokio::test]
async fn hostile_team_files_never_hide_the_rest() {
    let tree = crew();
    // An inbox of many MB, pretty-printed as Claude Code writes it: its newest part is read.
    let mut many: Vec<Value> = (0..6000)
        .map(|i| {
            plain(
                "writer-a",
                &format!("note {i} {}", "x".repeat(900)),
                "",
                5000 - i / 2,
                true,
            )
        })
        .collect();
    many[0]["text"] = json!("the very first");
    many.push(plain("writer-a", "the very newest", "", 0, true));
    inbox(&tree, TEAM, "big", &many);
    // A compact one just as large: no message boundary to start from, so it is skipped.
    tree.write(
        &format!("teams/{TEAM}/inboxes/compact.json"),
        serde_json::to_string(&many).unwrap(),
    );
    // A team whose config is not JSON, one whose config is not an object, members without
    // names, an inbox that is not an array, and special files in place of inboxes.
    tree.write("teams/broken/config.json", "{\"name\":\"broken\",");
    tree.write("teams/listy/config.json", "[1,2]");
    tree.write(
        "teams/nameless/config.json",
        json!({"name":"nameless","members":[{"model":"haiku"},{"agentId":"ok@nameless"},7,{"name":""}]}).to_string(),
    );
    tree.write("teams/nameless/inboxes/ok.json", "{\"not\":\"an array\"}");
    let fifo = tree.path(&format!("teams/{TEAM}/inboxes/fifo.json"));
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    std::os::unix::fs::symlink(
        "/dev/zero",
        tree.path(&format!("teams/{TEAM}/inboxes/zero.json")),
    )
    .unwrap();
    tree.mkdir("teams/a b");
    // Links to files outside the Claude dir are not followed: neither an inbox nor a config.
    let outside = tempfile::tempdir().unwrap();
    let secret = outside.path().join("secret.json");
    #[expect(clippy::disallowed_methods, reason = "a file outside the Claude dir")]
    std::fs::write(
        &secret,
        json!([{"from": "x", "text": "outside secret", "timestamp": at(1), "read": true}])
            .to_string(),
    )
    .unwrap();
    std::os::unix::fs::symlink(
        &secret,
        tree.path(&format!("teams/{TEAM}/inboxes/leak.json")),
    )
    .unwrap();
    let secret_config = outside.path().join("config.json");
    #[expect(clippy::disallowed_methods, reason = "a file outside the Claude dir")]
    std::fs::write(
        &secret_config,
        r#"{"name":"linked","description":"outside"}"#,
    )
    .unwrap();
    tree.mkdir("teams/linked");
    std::os::unix::fs::symlink(&secret_config, tree.path("teams/linked/config.json")).unwrap();
    let server = TestServer::start(tree).await;

    let teams = tokio::time::timeout(Duration::from_secs(5), server.get_json("/api/teams", 200))
        .await
        .expect("answers promptly");
    let names: Vec<&str> = texts(&teams, "name");
    assert!(
        names.contains(&TEAM) && names.contains(&"nameless"),
        "{names:?}"
    );
    assert!(
        !names.contains(&"broken") && !names.contains(&"listy") && !names.contains(&"linked"),
        "{names:?}"
    );
    let nameless = find(&teams, "name", "nameless");
    assert_eq!(states(nameless), [("ok".to_owned(), "stopped".to_owned())]);
    assert_eq!(
        server.get_json("/api/teams/nameless/messages", 200).await,
        json!([])
    );

    let messages = server
        .get_json(&format!("/api/teams/{TEAM}/messages"), 200)
        .await;
    let texts: Vec<&str> = messages
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["to"] == "big" || m["to"] == "compact")
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert!(
        texts.contains(&"the very newest"),
        "the newest part is read"
    );
    assert!(
        !messages
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["text"] == "outside secret"),
        "a linked inbox is not read"
    );
    assert!(!texts.contains(&"the very first"), "the oldest part is not");
    assert!(texts.len() < 6000, "only the last 4 MiB: {}", texts.len());
    assert_eq!(
        messages
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["to"] == "compact")
            .count(),
        0,
        "a compact file too large is skipped"
    );
    assert_eq!(
        messages
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["to"] == "team-lead")
            .count(),
        4,
        "the other inboxes are all there"
    );

    // Team names that are not safe path names: 400 before any file is touched.
    for target in [
        "/api/teams/..%2F..%2Fetc/messages",
        "/api/teams/a%20b/messages",
        "/api/teams/.hidden/messages",
        "/api/teams/a..b/messages",
        "/api/teams/%00/messages",
        "/api/teams/../teams/x/messages",
    ] {
        let (status, body) = server.raw("GET", target).await;
        assert_eq!(status, 400, "{target}: {body}");
        let body: Value = serde_json::from_str(&body).unwrap();
        assert!(body["error"].is_string(), "{target}: {body}");
    }
}

#[tokio::test]
async fn a_shared_task_list_is_one_item_linked_to_the_session_that_writes_it() {
    let writer = "5a5a5a5a-3333-4000-8000-00000000000c";
    let tree = ClaudeTree::new();
    tree.task(
        "sprint-12",
        json!({"id":"1","subject":"Wire the exporter","status":"in_progress"}),
    );
    tree.task(
        "sprint-12",
        json!({"id":"2","subject":"Test the exporter","status":"pending"}),
    );
    tree.task(
        "orphan-list",
        json!({"id":"1","subject":"Nobody wrote me here","status":"pending"}),
    );
    tree.transcript(
        "-work-exporter",
        writer,
        &[
            json!({"type":"user","cwd":"/work/exporter","gitBranch":"feat/export","sessionId":writer,"timestamp":at(60)}),
            json!({"type":"assistant","message":{"role":"assistant","content":[
                {"type":"tool_use","id":"tu_1","name":"TaskCreate","input":{"subject":"Wire the exporter","description":"…"}}]},
                "sessionId":writer,"timestamp":at(50)}),
        ],
    );
    let agent = Agent::spawn();
    registry(&tree, &agent, writer, "busy");
    let server = TestServer::start(tree).await;

    let sessions = server.get_json("/api/sessions", 200).await;
    let shared = find(&sessions, "id", "sprint-12");
    assert_eq!(shared["name"], "sprint-12", "named by itself");
    assert_eq!(shared["project"], "/work/exporter", "placed by its writer");
    assert_eq!(shared["gitBranch"], "feat/export");
    assert_eq!(shared["state"], "busy", "its writer's state");
    let orphan = find(&sessions, "id", "orphan-list");
    assert_eq!(orphan["project"], Value::Null);
    assert_eq!(orphan["state"], "ended");
    assert_eq!(sessions.as_array().unwrap().len(), 2, "no phantom session");

    let activity = server.get_json("/api/activity?since=all", 200).await;
    let ids: Vec<&str> = texts(&activity, "id");
    assert_eq!(
        ids.len(),
        2,
        "the writer is the shared list's item, not a second one: {ids:?}"
    );
    assert!(!ids.contains(&writer), "{ids:?}");
}

#[tokio::test]
async fn when_the_lead_process_ends_its_in_process_teammates_stop_with_an_event() {
    let tree = crew();
    let mut lead = Agent::spawn();
    registry(&tree, &lead, LEAD, "busy");
    let server = TestServer::start(tree).await;
    let teams = server.get_json("/api/teams", 200).await;
    assert_eq!(
        find(&teams[0]["members"], "name", "writer-a")["state"],
        "working"
    );
    let mut sse = server.sse().await;
    // Claude Code crashes: its registry file stays, its process is gone (seen by the sweep).
    lead.exit();
    let (state, _) = sse
        .until(|e| e["type"] == "session-state" && e["state"] == "ended")
        .await;
    assert_eq!(
        state["sessionId"], TEAM,
        "the lead keeps no list: its team's list shows it"
    );
    sse.until(|e| e["type"] == "team-update" && e["team"] == TEAM)
        .await;
    let t = team_when(&server, &mut sse, TEAM, |_| true).await;
    for (name, state) in states(&t) {
        assert_eq!(state, "stopped", "{name}");
    }
}

#[tokio::test]
async fn rewriting_an_inbox_unchanged_is_no_event() {
    let server = TestServer::start(crew()).await;
    let mut sse = server.sse().await;
    let path = format!("teams/{TEAM}/inboxes/team-lead.json");
    let same = std::fs::read(server.tree.path(&path)).unwrap();
    server.tree.write(&path, &same);
    // Markers: tasks in another list. The rewrite is applied no later than the first marker's
    // batch, whose events all come before the second marker's.
    let mut seen = Vec::new();
    for id in ["1", "2"] {
        server.tree.task(
            "marker",
            json!({"id": id, "subject": "marker", "status": "pending"}),
        );
        let file = format!("{id}.json");
        let (_, before) = sse
            .until(|e| crate::support::is_update(e, "add", "marker", Some(file.as_str())))
            .await;
        seen.extend(before);
    }
    assert!(!seen.iter().any(|e| e["type"] == "team-update"), "{seen:?}");
}
