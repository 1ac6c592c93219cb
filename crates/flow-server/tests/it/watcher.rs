//! Real file writes seen by real SSE clients (contract §4): the board changes the instant an
//! agent writes.

use serde_json::json;

use crate::support::{ClaudeTree, TestServer, is_update};

fn task(id: &str, status: &str) -> serde_json::Value {
    json!({"id":id,"subject":format!("Task {id}"),"description":"","activeForm":"Working","status":status,"blocks":[],"blockedBy":[],"custom":{"keep":true}})
}

/// Session `s1` with one task, and an empty session `marker` whose writes tell a test that
/// everything written before them has been delivered (events leave in the order files changed).
fn one_session() -> ClaudeTree {
    let tree = ClaudeTree::new();
    tree.task("s1", task("1", "pending")).mkdir("tasks/marker");
    tree
}

#[tokio::test]
async fn sse_client_sees_add_change_and_unlink_of_task_files() {
    let server = TestServer::start(one_session()).await;
    let mut events = server.sse().await;

    server.tree.task("s1", task("2", "pending"));
    let (added, _) = events
        .until(|e| is_update(e, "add", "s1", Some("2.json")))
        .await;
    assert_eq!(added["task"]["subject"], "Task 2");
    assert_eq!(added["task"]["custom"], json!({"keep":true}));
    assert!(added["task"]["updatedAt"].is_string());
    assert_eq!(added["session"]["id"], "s1");
    assert_eq!(added["session"]["taskCount"], 2);
    assert_eq!(added["session"]["pending"], 2);

    server.tree.task("s1", task("2", "completed"));
    let (changed, _) = events
        .until(|e| is_update(e, "change", "s1", Some("2.json")))
        .await;
    assert_eq!(changed["task"]["status"], "completed");
    assert_eq!(changed["session"]["completed"], 1);
    let tasks = server.get_json("/api/sessions/s1", 200).await;
    assert_eq!(
        tasks[1]["status"], "completed",
        "the API agrees with the event"
    );

    #[expect(
        clippy::disallowed_methods,
        reason = "the test plays Claude Code deleting a task"
    )]
    std::fs::remove_file(server.tree.path("tasks/s1/2.json")).unwrap();
    let (unlinked, _) = events
        .until(|e| is_update(e, "unlink", "s1", Some("2.json")))
        .await;
    assert!(unlinked.get("task").is_none());
    assert_eq!(unlinked["session"]["taskCount"], 1);
}

#[tokio::test]
async fn new_session_folder_is_add_dir_then_add() {
    let server = TestServer::start(one_session()).await;
    let mut events = server.sse().await;
    server.tree.task("s2", task("1", "in_progress"));
    let (dir, _) = events.until(|e| e["sessionId"] == "s2").await;
    assert!(is_update(&dir, "addDir", "s2", None), "{dir}");
    let (add, _) = events.until(|e| e["sessionId"] == "s2").await;
    assert!(is_update(&add, "add", "s2", Some("1.json")), "{add}");
    assert_eq!(add["session"]["inProgress"], 1);
    let sessions = server.get_json("/api/sessions", 200).await;
    assert_eq!(
        sessions.as_array().unwrap().len(),
        3,
        "s1, marker and the new s2"
    );
}

#[tokio::test]
async fn claude_dir_created_after_start_is_picked_up_and_deleted_and_recreated() {
    let tree = ClaudeTree::new();
    let config = flow_server::Config::for_claude_dir(tree.path("later/.claude"));
    let server = TestServer::start_with(tree, config).await;
    assert!(
        !server.tree.path("later").exists(),
        "Flow never creates the user's dirs"
    );
    let mut events = server.sse().await;

    let put = |session: &str, id: &str| {
        let rel = format!("later/.claude/tasks/{session}/{id}.json");
        server.tree.write(&rel, task(id, "pending").to_string());
    };
    put("s1", "1");
    let _ = events
        .until(|e| is_update(e, "add", "s1", Some("1.json")))
        .await;
    assert_eq!(server.get_json("/api/sessions", 200).await[0]["id"], "s1");

    #[expect(
        clippy::disallowed_methods,
        reason = "the test plays a user removing the dir"
    )]
    std::fs::remove_dir_all(server.tree.path("later/.claude/tasks")).unwrap();
    let _ = events
        .until(|e| is_update(e, "unlinkDir", "s1", None))
        .await;
    assert_eq!(server.get_json("/api/sessions", 200).await, json!([]));

    put("s9", "1");
    let _ = events
        .until(|e| is_update(e, "add", "s9", Some("1.json")))
        .await;
    put("s9", "2");
    let _ = events
        .until(|e| is_update(e, "add", "s9", Some("2.json")))
        .await;
}

async fn s1_summary(server: &TestServer) -> serde_json::Value {
    let all = server.get_json("/api/sessions", 200).await;
    let found = all.as_array().unwrap().iter().find(|s| s["id"] == "s1");
    found.expect("s1 is listed").clone()
}

#[tokio::test]
async fn late_rename_in_transcript_is_metadata_update_and_new_name() {
    let tree = one_session();
    tree.transcript(
        "-p",
        "s1",
        &[json!({"type":"user","cwd":"/p","slug":"calm-fox"})],
    );
    let server = TestServer::start(tree).await;
    let mut events = server.sse().await;
    assert_eq!(s1_summary(&server).await["name"], "calm-fox");
    server.tree.append(
        "projects/-p/s1.jsonl",
        "{\"type\":\"assistant\",\"message\":\"working\"}\n{\"type\":\"custom-title\",\"customTitle\":\"Renamed\"}\n",
    );
    let _ = events.until(|e| e["type"] == "metadata-update").await;
    let session = s1_summary(&server).await;
    assert_eq!(session["name"], "Renamed");
    assert_eq!(session["slug"], "calm-fox");
}

#[tokio::test]
async fn burst_of_writes_is_real_changes_in_order_ending_in_the_final_content() {
    let server = TestServer::start(one_session()).await;
    let mut events = server.sse().await;
    for i in 0..50 {
        let mut t = task("1", "in_progress");
        t["activeForm"] = json!(format!("step {i}"));
        server.tree.task("s1", t);
    }
    // A marker in another session: once it arrives, every burst event has arrived too.
    server.tree.task("marker", task("1", "pending"));
    let (_, before) = events
        .until(|e| is_update(e, "add", "marker", Some("1.json")))
        .await;
    let burst: Vec<_> = before.iter().filter(|e| e["sessionId"] == "s1").collect();
    // How many events a burst becomes depends on timing (the debounce rule itself is unit
    // tested on a clock in `debounce.rs`); what must hold whatever the timing: every event is
    // a change of that one file, each one a state the file really had, never an older state
    // after a newer one nor the same state twice, and the last is the final content.
    assert!(!burst.is_empty());
    assert!(
        burst
            .iter()
            .all(|e| is_update(e, "change", "s1", Some("1.json"))),
        "{burst:?}"
    );
    let steps: Vec<u32> = burst
        .iter()
        .filter_map(|e| e["task"]["activeForm"].as_str())
        .map(|s| {
            s.trim_start_matches("step ")
                .parse()
                .expect("a step that was written")
        })
        .collect();
    assert!(
        steps.windows(2).all(|w| w[0] < w[1]),
        "steps out of order or repeated: {steps:?}"
    );
    assert_eq!(burst.last().unwrap()["task"]["activeForm"], "step 49");
}

#[tokio::test]
async fn atomic_rename_write_is_one_change() {
    let server = TestServer::start(one_session()).await;
    let mut events = server.sse().await;
    let tmp = server.tree.path("tasks/s1/.1.json.tmp-123");
    server.tree.write(
        "tasks/s1/.1.json.tmp-123",
        task("1", "completed").to_string(),
    );
    std::fs::rename(&tmp, server.tree.path("tasks/s1/1.json")).unwrap();
    server.tree.task("marker", task("1", "pending"));
    let (_, before) = events
        .until(|e| is_update(e, "add", "marker", Some("1.json")))
        .await;
    let s1: Vec<_> = before.iter().filter(|e| e["sessionId"] == "s1").collect();
    assert_eq!(s1.len(), 1, "{before:?}");
    assert!(is_update(s1[0], "change", "s1", Some("1.json")));
    assert_eq!(s1[0]["task"]["status"], "completed");
}

#[tokio::test]
async fn malformed_write_keeps_the_stream_and_the_rest_of_the_session() {
    let server = TestServer::start(one_session()).await;
    let mut events = server.sse().await;
    server.tree.write("tasks/s1/2.json", "{\"id\":\"2\",\"sub");
    let (half, _) = events
        .until(|e| is_update(e, "add", "s1", Some("2.json")))
        .await;
    assert!(
        half.get("task").is_none(),
        "an unreadable file has no task payload"
    );
    let tasks = server.get_json("/api/sessions/s1", 200).await;
    assert_eq!(tasks.as_array().unwrap().len(), 1);
    server.tree.task("s1", task("2", "pending"));
    let (whole, _) = events
        .until(|e| is_update(e, "change", "s1", Some("2.json")))
        .await;
    assert_eq!(whole["task"]["id"], "2");
}

#[tokio::test]
async fn list_etag_is_304_until_something_changes() {
    let server = TestServer::start(one_session()).await;
    let mut events = server.sse().await;
    let first = server.get("/api/sessions").await;
    let etag = first.headers()["etag"].clone();
    let again = server
        .client
        .get(server.url("/api/sessions"))
        .header("if-none-match", etag.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    server.tree.task("s1", task("7", "pending"));
    let _ = events
        .until(|e| is_update(e, "add", "s1", Some("7.json")))
        .await;
    let changed = server
        .client
        .get(server.url("/api/sessions"))
        .header("if-none-match", etag.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(
        changed.status(),
        200,
        "a change makes the old validator stale"
    );
    assert_ne!(changed.headers()["etag"], etag);
    let body: serde_json::Value = changed.json().await.unwrap();
    let s1 = body
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "s1")
        .unwrap();
    assert_eq!(s1["taskCount"], 2);
}

#[tokio::test]
async fn temp_files_a_killed_flow_left_are_swept_and_nothing_else() {
    let tree = one_session();
    for name in [
        ".flow-abc123.tmp",
        ".flow-new.tmp",
        "notes.tmp",
        ".other-x.tmp",
    ] {
        tree.write(&format!("tasks/s1/{name}"), "{");
    }
    for name in [".flow-abc123.tmp", "notes.tmp", ".other-x.tmp"] {
        tree.touch(&format!("tasks/s1/{name}"), 1_700_000_000);
    }
    let server = TestServer::start(tree).await;
    // The sweep runs as the index task starts; a task written after it is the marker.
    let mut events = server.sse().await;
    server.tree.task("s1", task("8", "pending"));
    events
        .until(|e| is_update(e, "add", "s1", Some("8.json")))
        .await;
    let left: std::collections::BTreeSet<String> = std::fs::read_dir(server.tree.path("tasks/s1"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(
        !left.contains(".flow-abc123.tmp"),
        "an old temp file of Flow's is removed: {left:?}"
    );
    for kept in [
        ".flow-new.tmp",
        "notes.tmp",
        ".other-x.tmp",
        "1.json",
        "8.json",
    ] {
        assert!(left.contains(kept), "{kept} kept: {left:?}");
    }
}
