//! Whatever sits in the Claude dir is read without trust: FIFOs, devices, links to them and
//! files far larger than their kind never hang the server, never bloat it, and never hide the
//! rest of the board (issue: nothing in the Claude dir can hang, bloat or fool Flow).

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::json;

use crate::support::{ClaudeTree, TestServer, is_update, texts};

/// How long any answer may take here; a hang fails the test instead of stalling it.
const PROMPT: Duration = Duration::from_secs(3);

fn mkfifo(path: &Path) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let status = Command::new("mkfifo").arg(path).status().expect("mkfifo");
    assert!(status.success());
}

fn symlink(target: &str, link: &Path) {
    std::fs::create_dir_all(link.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(target, link).unwrap();
}

/// A tree with one good task, and traps of every kind beside it.
fn trapped() -> ClaudeTree {
    let tree = ClaudeTree::new();
    tree.task(
        "s1",
        json!({"id":"1","subject":"good","status":"in_progress"}),
    );
    tree.transcript(
        "-p",
        "s1",
        &[json!({"type":"user","cwd":"/p","slug":"calm-fox"})],
    );
    mkfifo(&tree.path("tasks/s1/2.json"));
    symlink("/dev/zero", &tree.path("tasks/s1/3.json"));
    symlink("/dev/urandom", &tree.path("tasks/s1/4.json"));
    mkfifo(&tree.path("projects/-p/sessions-index.json"));
    mkfifo(&tree.path("projects/-p/fifo-0000.jsonl"));
    mkfifo(&tree.path("sessions/4242.json"));
    mkfifo(&tree.path("projects/-p/s1/subagents/agent-x.jsonl"));
    tree
}

async fn prompt<T>(what: &str, fut: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(PROMPT, fut)
        .await
        .unwrap_or_else(|_| panic!("{what} did not answer within {PROMPT:?}"))
}

#[tokio::test]
async fn special_files_at_start_are_skipped_and_the_board_answers() {
    let server = TestServer::start(trapped()).await;
    let sessions = prompt("GET /api/sessions", server.get_json("/api/sessions", 200)).await;
    let s1 = &sessions[0];
    assert_eq!(s1["id"], "s1");
    assert_eq!(
        s1["name"], "calm-fox",
        "the transcript beside the traps is read"
    );
    assert_eq!(s1["inProgress"], 1);
    let tasks = prompt(
        "GET /api/sessions/s1",
        server.get_json("/api/sessions/s1", 200),
    )
    .await;
    assert_eq!(
        tasks.as_array().unwrap().len(),
        1,
        "only the real task: {tasks}"
    );
    prompt(
        "GET /api/activity",
        server.get_json("/api/activity?since=all", 200),
    )
    .await;
    prompt("GET /api/tasks/all", server.get_json("/api/tasks/all", 200)).await;
    let agents = prompt(
        "GET /api/sessions/s1/agents",
        server.get_json("/api/sessions/s1/agents", 200),
    )
    .await;
    assert_eq!(agents, json!([]));
    // The WebSocket upgrade and the stream are not held up either.
    let mut ws = prompt("WebSocket connect", server.ws()).await;
    server
        .tree
        .task("s1", json!({"id":"5","subject":"after","status":"pending"}));
    prompt(
        "an event after the traps",
        ws.until(|e| is_update(e, "add", "s1", Some("5.json"))),
    )
    .await;
}

#[tokio::test]
async fn special_files_appearing_at_runtime_never_stall_the_live_board() {
    let tree = ClaudeTree::new();
    tree.task("s1", json!({"id":"1","subject":"good","status":"pending"}));
    tree.mkdir("projects/-p").mkdir("sessions");
    let server = TestServer::start(tree).await;
    let mut sse = server.sse().await;

    mkfifo(&server.tree.path("tasks/s1/2.json"));
    symlink("/dev/zero", &server.tree.path("tasks/s1/3.json"));
    mkfifo(&server.tree.path("projects/-p/sessions-index.json"));
    mkfifo(&server.tree.path("projects/-p/u-fifo.jsonl"));
    mkfifo(&server.tree.path("sessions/4243.json"));
    // A real change after the traps: once it arrives, the index task got past all of them.
    server.tree.task(
        "s1",
        json!({"id":"9","subject":"marker","status":"pending"}),
    );
    prompt(
        "the marker's event",
        sse.until(|e| is_update(e, "add", "s1", Some("9.json"))),
    )
    .await;
    let tasks = prompt(
        "GET /api/sessions/s1",
        server.get_json("/api/sessions/s1", 200),
    )
    .await;
    let ids: Vec<&str> = texts(&tasks, "id");
    assert_eq!(ids, ["1", "9"]);
    prompt(
        "GET /api/activity",
        server.get_json("/api/activity?since=all", 200),
    )
    .await;
}

#[tokio::test]
async fn files_far_larger_than_their_kind_are_skipped_not_read() {
    let tree = ClaudeTree::new();
    tree.task("s1", json!({"id":"1","subject":"good","status":"pending"}));
    // Sparse files: 20 GiB on paper, nothing on disk; a reader that trusted them would try to
    // hold them in memory.
    for rel in ["tasks/s1/2.json", "projects/-p/sessions-index.json"] {
        std::fs::create_dir_all(tree.path(rel).parent().unwrap()).unwrap();
        let f = std::fs::File::create(tree.path(rel)).unwrap();
        f.set_len(20 << 30).unwrap();
    }
    let server = TestServer::start(tree).await;
    let sessions = prompt("GET /api/sessions", server.get_json("/api/sessions", 200)).await;
    assert_eq!(
        sessions[0]["taskCount"], 2,
        "the file is counted, as every *.json is"
    );
    let tasks = server.get_json("/api/sessions/s1", 200).await;
    assert_eq!(tasks.as_array().unwrap().len(), 1, "but it is not a task");
}
