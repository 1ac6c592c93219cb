//! Notes and deletes racing other writers of the same task file: Claude Code (its lock, then an
//! atomic or in-place rewrite), a second Flow on the same Claude dir, and an external `rm`.
//! No acknowledged note and no other writer's version may be lost, no answer may be a false
//! 404, and a removed task is never re-created.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use flow_server::Config;
use serde_json::{Value, json};

use crate::support::{ClaudeTree, TestServer};

/// Bounds each request; a hang fails the test instead of stalling it.
const PROMPT: Duration = Duration::from_secs(10);

async fn post_note(server: &TestServer, path: &str, note: &str) -> u16 {
    let body = json!({ "note": note }).to_string();
    let res = tokio::time::timeout(PROMPT, server.post_json(path, &body))
        .await
        .unwrap_or_else(|_| panic!("POST {path} hung"));
    res.status().as_u16()
}

fn read_task(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[expect(
    clippy::disallowed_methods,
    reason = "plays Claude Code's in-place writeFile"
)]
fn write_in_place(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}

/// Plays Claude Code's `updateTask` in a loop: take `<id>.json.lock` (proper-lockfile: a
/// directory made with mkdir), read the task, bump its `rev` keeping every other field, write
/// it (atomically, or in place as Claude Code's `writeFile` does), release. Returns the last
/// `rev` written.
fn claude_code_rewriter(
    file: PathBuf,
    in_place: bool,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<u64> {
    std::thread::spawn(move || {
        let lock = file.with_extension("json.lock");
        let tmp = file.with_extension("json.claude-tmp");
        let mut rev = 0;
        while !stop.load(Ordering::Relaxed) {
            if std::fs::create_dir(&lock).is_err() {
                std::thread::yield_now();
                continue;
            }
            let mut task = read_task(&file);
            rev += 1;
            task["rev"] = json!(rev);
            let text = serde_json::to_string_pretty(&task).unwrap();
            if in_place {
                write_in_place(&file, &text);
            } else {
                write_in_place(&tmp, &text);
                std::fs::rename(&tmp, &file).unwrap();
            }
            std::fs::remove_dir(&lock).unwrap();
            // An agent writes now and then, not back to back.
            std::thread::sleep(Duration::from_micros(300));
        }
        rev
    })
}

async fn notes_against_a_rewriter(in_place: bool) {
    let tree = ClaudeTree::new();
    tree.task(
        "s1",
        json!({"id":"1","subject":"s","description":"start","status":"in_progress","rev":0}),
    );
    let file = tree.path("tasks/s1/1.json");
    let server = TestServer::start(tree).await;
    let stop = Arc::new(AtomicBool::new(false));
    let rewriter = claude_code_rewriter(file.clone(), in_place, stop.clone());
    let mut acked = Vec::new();
    let mut refused = 0;
    for round in 0..200 {
        let note = format!("note-{round}-end");
        match post_note(&server, "/api/tasks/s1/1/note", &note).await {
            200 => acked.push(note),
            409 | 503 => refused += 1,
            other => panic!("round {round}: {other} (a false 404 or worse)"),
        }
    }
    stop.store(true, Ordering::Relaxed);
    let last_rev = rewriter.join().unwrap();
    let task = read_task(&file);
    assert_eq!(
        task["rev"],
        json!(last_rev),
        "the rewriter's last version stands"
    );
    let description = task["description"].as_str().unwrap();
    for note in &acked {
        assert_eq!(
            description.matches(&format!("\n\n{note}")).count(),
            1,
            "acknowledged {note} must be there exactly once"
        );
    }
    let noted = description.matches("#### [Note added by user]").count();
    assert_eq!(noted, acked.len(), "only acknowledged notes were written");
    assert!(
        last_rev > 50,
        "the rewriter ran alongside ({last_rev} versions)"
    );
    assert!(
        acked.len() > 150,
        "{} of 200 notes landed, {refused} refused",
        acked.len()
    );
    let left: Vec<_> = std::fs::read_dir(file.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(left, ["1.json"], "no lock or temporary file left behind");
}

#[tokio::test]
async fn notes_racing_claude_codes_atomic_rewrites_lose_nothing() {
    notes_against_a_rewriter(false).await;
}

#[tokio::test]
async fn notes_racing_claude_codes_in_place_rewrites_lose_nothing_and_never_404() {
    notes_against_a_rewriter(true).await;
}

/// A writer that ignores every lock and writes whole new versions (temp file, rename) as fast
/// as it can: Flow's compare-and-swap must never put a stale version (plus a note) over a newer
/// one. Notes themselves may be overwritten by such a writer; its versions may not.
#[tokio::test]
async fn a_writer_that_ignores_the_locks_never_loses_a_version_to_a_note() {
    let tree = ClaudeTree::new();
    tree.task("s1", json!({"id":"1","description":"start","rev":0}));
    let file = tree.path("tasks/s1/1.json");
    let server = TestServer::start(tree).await;
    let stop = Arc::new(AtomicBool::new(false));
    let writer = std::thread::spawn({
        let (file, stop) = (file.clone(), stop.clone());
        move || {
            let tmp = file.with_extension("json.w");
            let mut rev = 0;
            while !stop.load(Ordering::Relaxed) {
                rev += 1;
                let text = json!({"id":"1","description":"start","rev":rev}).to_string();
                write_in_place(&tmp, &text);
                std::fs::rename(&tmp, &file).unwrap();
                std::thread::sleep(Duration::from_micros(250));
            }
            rev
        }
    });
    let mut statuses = std::collections::BTreeMap::new();
    for round in 0..100 {
        let status = post_note(&server, "/api/tasks/s1/1/note", &format!("n{round}")).await;
        assert!(matches!(status, 200 | 409), "round {round}: {status}");
        *statuses.entry(status).or_insert(0) += 1;
    }
    stop.store(true, Ordering::Relaxed);
    let last_rev = writer.join().unwrap();
    let task = read_task(&file);
    assert_eq!(
        task["rev"],
        json!(last_rev),
        "the writer's last version stands ({statuses:?})"
    );
    eprintln!("{statuses:?}, {last_rev} versions");
    assert!(last_rev > 100, "{last_rev} versions written");
    assert!(
        statuses.contains_key(&200),
        "some notes landed between versions"
    );
}

#[tokio::test]
async fn two_servers_on_one_claude_dir_lose_no_acknowledged_note() {
    let tree = ClaudeTree::new();
    tree.task(
        "s1",
        json!({"id":"1","subject":"s","description":"start","status":"pending"}),
    );
    let a = TestServer::start(tree).await;
    let b = TestServer::start_with(ClaudeTree::new(), Config::for_claude_dir(a.tree.root())).await;
    let posts = (0..40).map(|i| {
        let server = if i % 2 == 0 { &a } else { &b };
        async move {
            let note = format!("note-{i}-end");
            (post_note(server, "/api/tasks/s1/1/note", &note).await, note)
        }
    });
    let answers = futures_util::future::join_all(posts).await;
    let task = read_task(&a.tree.path("tasks/s1/1.json"));
    let description = task["description"].as_str().unwrap();
    let mut acked = 0;
    for (status, note) in &answers {
        assert!(matches!(status, 200 | 503), "{note}: {status}");
        if *status == 200 {
            acked += 1;
            assert_eq!(
                description.matches(&format!("\n\n{note}")).count(),
                1,
                "acknowledged {note} lost"
            );
        }
    }
    assert_eq!(
        description.matches("#### [Note added by user]").count(),
        acked
    );
    assert!(acked >= 38, "{acked} of 40 landed");
}

/// An `rm` of the task lands at every moment of a note's or a delete's course, round after
/// round: the task may be noted first, or the answer may be 404, but the file never comes
/// back.
#[tokio::test]
async fn an_external_rm_racing_notes_and_deletes_never_recreates_the_file() {
    let tree = ClaudeTree::new();
    tree.task("s1", json!({"id":"0","subject":"keep","status":"pending"}));
    let server = TestServer::start(tree).await;
    let mut outcomes = std::collections::BTreeMap::new();
    for round in 0u64..150 {
        let id = format!("{}", round + 1);
        let file = server.tree.path(&format!("tasks/s1/{id}.json"));
        flow_core::fs::write_atomic(
            &file,
            serde_json::to_string_pretty(&json!({"id": id, "subject":"s","description":"d"}))
                .unwrap()
                .as_bytes(),
        )
        .unwrap();
        let rm = std::thread::spawn({
            let file = file.clone();
            move || {
                // Sweep the moment of the rm across the request's course.
                std::thread::sleep(Duration::from_micros((round % 50) * 60));
                #[expect(clippy::disallowed_methods, reason = "plays an external rm")]
                let _ = std::fs::remove_file(file);
            }
        });
        let path = format!("/api/tasks/s1/{id}");
        let status = if round % 3 == 2 {
            let res = tokio::time::timeout(PROMPT, server.delete(&path))
                .await
                .expect("DELETE hung");
            res.status().as_u16()
        } else {
            post_note(&server, &format!("{path}/note"), "n").await
        };
        rm.join().unwrap();
        assert!(matches!(status, 200 | 404), "round {round}: {status}");
        assert!(!file.exists(), "round {round}: the removed task came back");
        *outcomes.entry(status).or_insert(0) += 1;
    }
    eprintln!("outcomes: {outcomes:?}");
    assert!(server.tree.path("tasks/s1/0.json").exists());
}
