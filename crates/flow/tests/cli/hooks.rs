//! `flow hook` as Claude Code runs it: hook payloads of the documented shapes on stdin, posted
//! to a real server, observed through the API. It never prints, never fails, never waits long.

use std::io::Write as _;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{Run, Server, flow, free_port, task};

const UUID: &str = "7c9e6679-7425-40de-944b-e07fc1f90ae7";

/// A payload as Claude Code writes it on the hook's stdin.
fn payload(event: &str, extra: Value) -> Value {
    let mut v = json!({
        "session_id": UUID,
        "transcript_path": format!("/home/dev/.claude/projects/-home-dev-app/{UUID}.jsonl"),
        "cwd": "/home/dev/app",
        "permission_mode": "default",
        "hook_event_name": event,
    });
    for (k, x) in extra.as_object().expect("object") {
        v[k] = x.clone();
    }
    v
}

/// `flow hook` with `stdin` piped in, the way Claude Code calls it.
fn hook(url: &str, stdin: &[u8], env: &[(&str, &str)]) -> Run {
    let mut cmd = flow();
    cmd.args(["hook", "--url", url])
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn flow hook");
    let mut input = child.stdin.take().unwrap();
    // A payload larger than the pipe is written while the hook reads; it may stop early.
    let _ = input.write_all(stdin);
    drop(input);
    Run::of(child.wait_with_output().unwrap())
}

/// Runs a hook that must be silent and succeed.
fn send(server: &Server, body: &Value) {
    let run = hook(&server.url, body.to_string().as_bytes(), &[]);
    assert_eq!(
        (run.code, run.stdout.as_str(), run.stderr.as_str()),
        (Some(0), "", "")
    );
}

/// The session as `flow sessions` lists it. A task file written a moment ago reaches the
/// index through the watcher, so the first look may come before it: look again, for a bounded
/// time, rather than assume the watcher's timing.
fn session(server: &Server, id: &str) -> Value {
    session_where(server, id, |_| true)
}

/// The session once `ready` holds for it: a hook may create the session before the watcher
/// has indexed its task file, so a test that needs both waits for both.
fn session_where(server: &Server, id: &str, ready: impl Fn(&Value) -> bool) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let list = server
            .run(&["sessions", "--json", "--limit", "all"])
            .expect(0)
            .json();
        if let Some(found) = list
            .as_array()
            .and_then(|l| l.iter().find(|s| s["id"] == id))
            .filter(|s| ready(s))
        {
            return found.clone();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{id} not in {list}, or not yet as the test needs it"
        );
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
}

fn agents(server: &Server) -> Value {
    server.get(&format!("/api/sessions/{UUID}/agents"))
}

#[test]
fn hook_payloads_through_flow_hook_make_states_exact() {
    let server = Server::start();
    server.write_task(UUID, &task("1", "in_progress", "Refactor the parser"));
    assert_eq!(
        session(&server, UUID)["state"],
        "ended",
        "no process, no hook yet"
    );

    send(
        &server,
        &payload(
            "SessionStart",
            json!({"source": "startup", "model": "claude-opus-4-6"}),
        ),
    );
    assert_eq!(session(&server, UUID)["state"], "idle");

    send(
        &server,
        &payload("UserPromptSubmit", json!({"prompt": "refactor the parser"})),
    );
    assert_eq!(session(&server, UUID)["state"], "busy");

    send(
        &server,
        &payload(
            "PreToolUse",
            json!({"tool_name": "Bash",
        "tool_input": {"command": "rm -rf build", "description": "Clean"}, "tool_use_id": "toolu_01"}),
        ),
    );
    send(
        &server,
        &payload(
            "Notification",
            json!({"notification_type": "permission_prompt",
        "message": "Claude needs your permission to use Bash"}),
        ),
    );
    let s = session(&server, UUID);
    assert_eq!(s["state"], "waiting");
    assert_eq!(s["waitingFor"], "Claude needs your permission to use Bash");

    send(
        &server,
        &payload(
            "PostToolUse",
            json!({"tool_name": "Bash", "tool_input": {"command": "rm -rf build"},
        "tool_response": {"stdout": "", "stderr": "", "interrupted": false}, "tool_use_id": "toolu_01"}),
        ),
    );
    let s = session(&server, UUID);
    assert_eq!(
        (&s["state"], &s["waitingFor"]),
        (&json!("busy"), &Value::Null)
    );

    send(
        &server,
        &payload(
            "SubagentStart",
            json!({"agent_id": "a4f1e2b", "agent_type": "Explore"}),
        ),
    );
    assert_eq!(agents(&server)[0]["running"], true);
    assert_eq!(
        session(&server, UUID)["subagents"],
        json!({"running": 1, "total": 1})
    );
    send(
        &server,
        &payload(
            "SubagentStop",
            json!({"agent_id": "a4f1e2b", "agent_type": "Explore",
        "agent_transcript_path": format!("/home/dev/.claude/projects/-home-dev-app/{UUID}/subagents/agent-a4f1e2b.jsonl"),
        "stop_hook_active": false}),
        ),
    );
    assert_eq!(agents(&server)[0]["running"], false);

    send(
        &server,
        &payload("Stop", json!({"stop_hook_active": false})),
    );
    assert_eq!(session(&server, UUID)["state"], "idle");
    send(
        &server,
        &payload(
            "Notification",
            json!({"notification_type": "idle_prompt",
        "message": "Claude is waiting for your input"}),
        ),
    );
    assert_eq!(
        session(&server, UUID)["waitingFor"],
        "Claude is waiting for your input"
    );
    send(
        &server,
        &payload("SessionEnd", json!({"reason": "prompt_input_exit"})),
    );
    assert_eq!(session(&server, UUID)["state"], "ended");
}

#[test]
fn malformed_payloads_change_nothing_and_flow_hook_stays_silent() {
    let server = Server::start();
    server.write_task(UUID, &task("1", "in_progress", "Refactor the parser"));
    session_where(&server, UUID, |s| s["taskCount"] == 1);
    send(
        &server,
        &payload("UserPromptSubmit", json!({"prompt": "go"})),
    );
    let before = session(&server, UUID);
    assert_eq!(
        (&before["taskCount"], &before["state"]),
        (&json!(1), &json!("busy"))
    );
    let mut bad_id = payload("Stop", json!({}));
    bad_id["session_id"] = json!("../../../etc/passwd");
    let huge = payload(
        "Notification",
        json!({"notification_type": "permission_prompt",
        "message": "x".repeat(2 << 20)}),
    );
    let cases: Vec<Vec<u8>> = vec![
        b"not json at all".to_vec(),
        b"{\"hook_event_name\": \"Stop\", \"session_id\": ".to_vec(),
        payload("TotallyNewEvent", json!({}))
            .to_string()
            .into_bytes(),
        bad_id.to_string().into_bytes(),
        payload("SubagentStart", json!({"agent_id": "../x"}))
            .to_string()
            .into_bytes(),
        huge.to_string().into_bytes(),
        Vec::new(),
    ];
    for stdin in cases {
        let run = hook(&server.url, &stdin, &[]);
        assert_eq!(
            (run.code, run.stdout.as_str(), run.stderr.as_str()),
            (Some(0), "", "")
        );
    }
    assert_eq!(session(&server, UUID), before);

    // --verbose says why, on stderr only.
    let mut cmd = flow();
    let out = cmd
        .args(["hook", "--verbose", "--url", &server.url])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            c.stdin
                .take()
                .unwrap()
                .write_all(payload("TotallyNewEvent", json!({})).to_string().as_bytes())?;
            c.wait_with_output()
        })
        .unwrap();
    let run = Run::of(out);
    assert_eq!((run.code, run.stdout.as_str()), (Some(0), ""));
    assert!(run.stderr.contains("422"), "{run:?}");
}

#[test]
fn flow_hook_without_a_server_exits_0_at_once() {
    let url = format!("http://127.0.0.1:{}", free_port());
    let started = Instant::now();
    let run = hook(&url, payload("Stop", json!({})).to_string().as_bytes(), &[]);
    assert_eq!(
        (run.code, run.stdout.as_str(), run.stderr.as_str()),
        (Some(0), "", "")
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn the_task_list_in_the_hooks_environment_links_the_session_to_it() {
    let server = Server::start();
    server.write_task("sprint-42", &task("1", "pending", "Ship it"));
    assert_eq!(session(&server, "sprint-42")["state"], "ended");
    let prompt = payload(
        "Notification",
        json!({"notification_type": "permission_prompt",
        "message": "Claude needs your permission to use Edit"}),
    );
    let run = hook(
        &server.url,
        prompt.to_string().as_bytes(),
        &[("CLAUDE_CODE_TASK_LIST_ID", "sprint-42")],
    );
    assert_eq!(run.code, Some(0));
    let list = session(&server, "sprint-42");
    assert_eq!(list["state"], "waiting", "{list}");
    assert_eq!(
        list["waitingFor"],
        "Claude needs your permission to use Edit"
    );
}
