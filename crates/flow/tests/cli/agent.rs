//! The agent commands against a real server: what they print, what `--json` gives, and the
//! exit codes scripts branch on (0 ok, 1 refused, 2 usage, 3 unreachable, 4 conflict).

use std::io::{BufRead, BufReader};
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{Run, Server, flow, free_port, task, wait_exit, write_task};

/// A server over one session, written before it starts (so its first scan sees all of it).
fn server_with_session() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write_task(
        root,
        "s-alpha",
        &task("1", "completed", "Design the schema"),
    );
    let mut parser = task("2", "in_progress", "Write the parser");
    parser["owner"] = json!("agent-7");
    parser["futureField"] = json!({"kept": true});
    write_task(root, "s-alpha", &parser);
    let mut blocked = task("3", "pending", "Ship it");
    blocked["blockedBy"] = json!(["2"]);
    write_task(root, "s-alpha", &blocked);
    // Written as text: a number no f64 holds, and a subject full of control characters.
    flow_core::fs::write_atomic(
        &root.join("tasks/s-alpha/4.json"),
        br#"{"id":"4","subject":"line1\nline2\ttab \u001b[31mRED","status":"completed","big":123456789012345678901234567890,"ratio":1.10}"#,
    )
    .unwrap();
    Server::start_in(dir, 0)
}

/// A running process standing in for Claude Code (killed on drop).
struct Agent(std::process::Child);

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn sessions_and_tasks_print_tables_and_json() {
    let server = server_with_session();
    let mut watch = server.spawn(&["watch"]);
    let mut events = BufReader::new(watch.stdout.take().unwrap()).lines();
    assert!(events.next().unwrap().unwrap().contains("connected"));
    let mut next_event = |kind: &str| -> Value {
        let line = events
            .find(|l| l.as_ref().is_ok_and(|l| l.contains(kind)))
            .unwrap_or_else(|| panic!("flow watch streams {kind}"))
            .unwrap();
        serde_json::from_str(&line).unwrap()
    };

    // s-beta has work in progress but no running process: stale, not active.
    server.write_task("s-beta", &task("1", "in_progress", "Left behind"));
    next_event("s-beta");
    let table = server.run(&["sessions"]).expect(0);
    let beta = table.stdout.lines().find(|l| l.starts_with("s-beta"));
    let beta = beta.unwrap_or_else(|| panic!("no row for s-beta: {table:?}"));
    assert!(beta.contains("ended") && !beta.contains('●'), "{beta}");

    // s-alpha's Claude Code runs and waits for a permission.
    let agent = Agent(
        std::process::Command::new("sleep")
            .arg("600")
            .spawn()
            .unwrap(),
    );
    std::fs::create_dir_all(server.path("sessions")).unwrap();
    flow_core::fs::write_atomic(
        &server.path(&format!("sessions/{}.json", agent.0.id())),
        json!({"pid": agent.0.id(), "sessionId": "s-alpha", "status": "waiting", "waitingFor": "approve Bash"})
            .to_string()
            .as_bytes(),
    )
    .unwrap();
    let state = next_event("session-state");
    assert_eq!(
        (state["sessionId"].clone(), state["state"].clone()),
        (json!("s-alpha"), json!("waiting"))
    );
    let _ = watch.kill();
    let _ = watch.wait();

    let table = server.run(&["sessions"]).expect(0);
    let row = table
        .stdout
        .lines()
        .find(|l| l.starts_with("s-alpha"))
        .unwrap_or_else(|| panic!("no row for the session: {table:?}"));
    assert!(row.contains("2/4"), "{row}");
    assert!(row.contains("waiting: approve Bash"), "{row}");
    assert!(
        row.contains('●'),
        "live sessions with work in progress are marked: {row}"
    );

    let listed = server
        .run(&["sessions", "--json", "--limit", "all"])
        .expect(0)
        .json();
    let alpha = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "s-alpha")
        .expect("s-alpha listed");
    assert_eq!(alpha["taskCount"], 4);
    assert_eq!(alpha["inProgress"], 1);
    assert_eq!(alpha["state"], "waiting");

    let tasks = server.run(&["tasks", "s-alpha"]).expect(0).stdout;
    let sections: Vec<&str> = tasks.lines().filter(|l| !l.starts_with(' ')).collect();
    assert_eq!(
        sections,
        ["In progress (1)", "Pending (1)", "Completed (2)"],
        "{tasks}"
    );
    // Task text cannot break a row or reach the terminal as an escape sequence.
    assert!(
        tasks.contains(r"#4  line1\nline2\ttab \u{1b}[31mRED"),
        "{tasks}"
    );
    assert!(!tasks.contains('\u{1b}'), "{tasks:?}");
    assert!(tasks.contains("#2  Write the parser  @agent-7"), "{tasks}");
    assert!(tasks.contains("#3  Ship it  blocked by #2"), "{tasks}");

    let run = server.run(&["tasks", "s-alpha", "--json"]).expect(0);
    // The server's JSON untouched: no rounding, no reformatting.
    assert!(
        run.stdout
            .contains(r#""big":123456789012345678901234567890,"ratio":1.10"#),
        "{}",
        run.stdout
    );
    let raw = run.json();
    assert_eq!(raw.as_array().unwrap().len(), 4);
    assert_eq!(
        raw[1]["futureField"],
        json!({"kept": true}),
        "every stored field"
    );

    let missing = server.run(&["tasks", "nope"]).expect(1);
    assert!(missing.stderr.contains("Session not found"), "{missing:?}");
    assert!(missing.stdout.is_empty());
    // A hostile id stays one path segment: the server refuses it, nothing is read.
    let hostile = server.run(&["tasks", "../../etc"]).expect(1);
    assert!(hostile.stderr.contains("HTTP 400"), "{hostile:?}");
    for limit in ["0", "abc"] {
        let bad = server.run(&["sessions", "--limit", limit]).expect(2);
        assert!(bad.stderr.contains("positive number or `all`"), "{bad:?}");
    }
}

#[test]
fn an_unreachable_server_exits_3_and_bad_usage_exits_2() {
    let url = format!("http://127.0.0.1:{}", free_port());
    for args in [
        vec!["sessions"],
        vec!["tasks", "s1"],
        vec!["watch"],
        vec!["features"],
        vec!["claim", "--agent", "a"],
        vec!["complete", "1"],
    ] {
        let run = Run::of(flow().args(&args).args(["--url", &url]).output().unwrap());
        assert_eq!(run.code, Some(3), "{args:?}: {run:?}");
        assert!(run.stderr.contains("cannot reach Flow"), "{run:?}");
        assert!(run.stderr.contains("is `flow` running?"), "{run:?}");
    }
    let bad_url = Run::of(
        flow()
            .args(["sessions", "--url", "localhost:3456"])
            .output()
            .unwrap(),
    );
    assert_eq!(bad_url.code, Some(2), "{bad_url:?}");
    let no_agent = Run::of(flow().args(["claim"]).output().unwrap());
    assert_eq!(no_agent.code, Some(2), "{no_agent:?}");
    assert!(no_agent.stderr.contains("--agent"), "{no_agent:?}");
}

#[test]
fn watch_prints_each_live_event_as_one_json_line_and_filters_by_session() {
    // Both sessions exist before the server starts, so no event about them is in flight.
    let dir = tempfile::tempdir().unwrap();
    write_task(dir.path(), "s-other", &task("1", "pending", "Elsewhere"));
    write_task(dir.path(), "s-mine", &task("1", "pending", "Mine"));
    let server = Server::start_in(dir, 0);

    let mut watch = server.spawn(&["watch", "--session", "s-mine"]);
    let mut lines = BufReader::new(watch.stdout.take().unwrap()).lines();
    let mut next = || -> Value {
        let line = lines.next().expect("watch ended").expect("read");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("not one JSON line ({e}): {line}"))
    };
    assert_eq!(next()["type"], "connected");

    // The other session changes first; the filter must drop it.
    server.write_task("s-other", &task("1", "completed", "Elsewhere"));
    server.write_task("s-mine", &task("2", "in_progress", "Live one"));
    let event = next();
    assert_eq!(event["type"], "update", "{event}");
    assert_eq!(event["sessionId"], "s-mine", "{event}");
    assert_eq!(event["event"], "add");
    assert_eq!(event["file"], "2.json");
    assert_eq!(event["task"]["subject"], "Live one");

    // Non-update events are never filtered.
    server.post("/api/theme", json!({"theme": "dark"}));
    assert_eq!(next(), json!({"type": "theme", "theme": "dark"}));

    // The server going away ends `flow watch` with "unreachable".
    drop(server);
    let status = wait_exit(&mut watch, Duration::from_secs(5)).expect("watch exits");
    assert_eq!(status.code(), Some(3));
}

fn seed_features(server: &Server) {
    let created = server.post(
        "/api/features/bulk",
        json!({"features": [
            {"ref": "login", "name": "User can log in", "steps": ["form", "session cookie"]},
            {"name": "CSV export", "dependsOnRefs": ["login"]},
        ]}),
    );
    assert_eq!(
        created["features"].as_array().map(Vec::len),
        Some(2),
        "{created}"
    );
}

#[test]
fn features_claim_heartbeat_complete_and_release() {
    let server = Server::start();
    seed_features(&server);

    let list = server.run(&["features"]).expect(0).stdout;
    assert!(list.contains("#1  ready"), "{list}");
    assert!(list.contains("User can log in"), "{list}");
    assert!(list.contains("steps 0/2"), "{list}");
    assert!(list.contains("#2  blocked"), "{list}");
    assert!(list.contains("blocked by #1"), "{list}");
    let raw = server
        .run(&["features", "--json", "--status", "pending"])
        .expect(0)
        .json();
    assert_eq!(raw["counts"]["total"], 2);

    let claim = server
        .run(&["claim", "--agent", "agent-a", "--lease", "60"])
        .expect(0);
    assert!(
        claim
            .stdout
            .starts_with("Claimed #1 User can log in until "),
        "{claim:?}"
    );
    let token = claim
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("token: "))
        .expect("the claim token is printed")
        .to_owned();

    // Blocked, wrong token, and someone else's claim: conflicts.
    let blocked = server.run(&["complete", "2"]).expect(4);
    assert!(blocked.stderr.contains("blockedBy: #1"), "{blocked:?}");
    server
        .run(&["heartbeat", "1", "--token", "not-mine"])
        .expect(4);
    let taken = server
        .run(&["claim", "--agent", "agent-b", "--feature", "1"])
        .expect(4);
    assert!(taken.stderr.contains("agent-a"), "{taken:?}");
    let none = server.run(&["claim", "--agent", "agent-b"]).expect(4);
    assert!(
        none.stderr.contains("nothing to claim (all_claimed)"),
        "{none:?}"
    );

    let beat = server.run(&["heartbeat", "1", "--token", &token]).expect(0);
    assert!(
        beat.stdout.starts_with("Lease on #1 extended until "),
        "{beat:?}"
    );

    let done = server.run(&["complete", "1", "--token", &token]).expect(0);
    assert_eq!(done.stdout, "Completed #1 User can log in; now ready: #2\n");

    let second = server
        .run(&["claim", "--agent", "agent-b", "--json"])
        .expect(0)
        .json();
    assert_eq!(second["feature"]["id"], 2);
    assert_eq!(second["feature"]["claimedBy"], "agent-b");
    let token2 = second["claimToken"].as_str().unwrap();
    let released = server
        .run(&["release", "2", "--token", token2, "--failed", "--json"])
        .expect(0)
        .json();
    assert_eq!(released["claimedBy"], Value::Null);
    assert_eq!(released["attempts"], 1);
    assert_eq!(released["state"], "ready");

    let again = server
        .run(&["claim", "--agent", "agent-c", "--json"])
        .expect(0)
        .json();
    let token3 = again["claimToken"].as_str().unwrap();
    server.run(&["complete", "2", "--token", token3]).expect(0);
    let finished = server.run(&["claim", "--agent", "agent-c"]).expect(4);
    assert!(finished.stderr.contains("all_done"), "{finished:?}");
}

/// Agents claiming at the same moment: every feature goes to exactly one of them, and the
/// losers are told there is nothing left (exit 4), never handed the same feature.
#[test]
fn racing_claimers_never_get_the_same_feature() {
    let server = Server::start();
    for round in 0..8 {
        let created = server.post("/api/features", json!({"name": format!("Feature {round}")}));
        let id = created["id"].clone();
        let claimers: Vec<_> = (0..3)
            .map(|n| {
                let agent = format!("agent-{n}");
                server.spawn(&["claim", "--agent", &agent, "--json"])
            })
            .collect();
        let runs: Vec<Run> = claimers
            .into_iter()
            .map(|c| Run::of(c.wait_with_output().unwrap()))
            .collect();
        let winners: Vec<&Run> = runs.iter().filter(|r| r.code == Some(0)).collect();
        assert_eq!(winners.len(), 1, "round {round}: {runs:#?}");
        let won = winners[0].json();
        assert_eq!(won["feature"]["id"], id, "round {round}");
        for loser in runs.iter().filter(|r| r.code != Some(0)) {
            assert_eq!(loser.code, Some(4), "round {round}: {loser:?}");
            assert!(loser.stderr.contains("all_claimed"), "{loser:?}");
        }
        let token = won["claimToken"].as_str().unwrap();
        server
            .run(&["complete", &id.to_string(), "--token", token])
            .expect(0);
    }
}

#[test]
fn one_oddly_written_task_never_hides_the_rest_of_its_session() {
    let dir = tempfile::tempdir().unwrap();
    write_task(dir.path(), "s1", &task("1", "in_progress", "Readable work"));
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    for (id, text) in [
        (
            "2",
            r#"{"id":"2","subject":"lone \ud800 surrogate","status":"pending"}"#.to_owned(),
        ),
        (
            "3",
            format!(r#"{{"id":"3","subject":"deep","status":"pending","metadata":{deep}}}"#),
        ),
    ] {
        flow_core::fs::write_atomic(
            &dir.path().join(format!("tasks/s1/{id}.json")),
            text.as_bytes(),
        )
        .unwrap();
    }
    let server = Server::start_in(dir, 0);
    let served = server.run(&["tasks", "s1", "--json"]).expect(0).stdout;
    assert!(served.contains("Readable work"), "{served}");
    let out = server.run(&["tasks", "s1"]).expect(0).stdout;
    assert!(out.contains("Readable work"), "{out}");
    let placeholders = out
        .lines()
        .filter(|l| l.contains("(unreadable task"))
        .count();
    let served_ids = ["\"id\":\"2\"", "\"id\":\"3\""]
        .iter()
        .filter(|id| served.contains(*id))
        .count();
    assert_eq!(
        placeholders, served_ids,
        "each task the server passed on is shown, readable or not:\n{out}"
    );
}
