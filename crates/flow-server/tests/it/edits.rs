//! `POST …/note` and `DELETE /api/tasks/…` (contract §3): precise errors, nothing lost.

use serde_json::{Value, json};

use crate::support::{ClaudeTree, TestServer, is_update};

const STORED: &str = r#"{
  "id": "1",
  "subject": "Write API",
  "description": "Build it",
  "activeForm": "Writing API",
  "status": "in_progress",
  "blocks": [],
  "blockedBy": [],
  "zeta": {
    "kept": [
      1,
      2
    ]
  }
}"#;

fn tree() -> ClaudeTree {
    let tree = ClaudeTree::new();
    tree.write("tasks/s1/1.json", STORED)
        .task(
            "s1",
            json!({"id":"2","subject":"b","status":"pending","blocks":[],"blockedBy":["1"]}),
        )
        .task(
            "s1",
            json!({"id":"3","subject":"c","status":"completed","blocks":[],"blockedBy":["1","2"]}),
        )
        .task(
            "s1",
            json!({"id":"4","subject":"d","status":"pending","blocks":[],"blockedBy":[]}),
        )
        .write("outside.json", "{\"id\":\"1\"}");
    tree
}

#[tokio::test]
async fn note_is_appended_keeping_every_field_and_formatting() {
    let server = TestServer::start(tree()).await;
    let mut events = server.sse().await;
    let res = server
        .post_json("/api/tasks/s1/1/note", r#"{"note":"  Check the logs  "}"#)
        .await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["success"], true);
    let desc = "Build it\n\n---\n\n#### [Note added by user]\n\nCheck the logs";
    assert_eq!(body["task"]["description"], desc);
    assert_eq!(body["task"]["zeta"], json!({"kept":[1,2]}));
    assert!(body["task"]["updatedAt"].is_string());

    let on_disk = std::fs::read_to_string(server.tree.path("tasks/s1/1.json")).unwrap();
    let expected = STORED.replace(
        "\"description\": \"Build it\"",
        &format!("\"description\": {}", serde_json::to_string(desc).unwrap()),
    );
    assert_eq!(
        on_disk, expected,
        "only the description changed, 2-space format kept"
    );

    let (event, _) = events
        .until(|e| is_update(e, "change", "s1", Some("1.json")))
        .await;
    assert_eq!(event["task"]["description"], desc);
    let tasks = server.get_json("/api/sessions/s1", 200).await;
    assert_eq!(
        tasks[0]["description"], desc,
        "the read API already shows it"
    );
}

#[tokio::test]
async fn note_errors_are_precise() {
    let server = TestServer::start(tree()).await;
    let check = async |path: &str, body: &str, status: u16, error: &str| {
        let res = server.post_json(path, body).await;
        assert_eq!(res.status().as_u16(), status, "{path} {body}");
        assert_eq!(res.headers()["cache-control"], "no-store");
        let got: Value = res.json().await.unwrap();
        assert!(
            got["error"].as_str().unwrap().contains(error),
            "{path} {body}: {got}"
        );
    };
    check(
        "/api/tasks/s1/1/note",
        r#"{"note":"   "}"#,
        400,
        "Note cannot be empty",
    )
    .await;
    check(
        "/api/tasks/s1/99/note",
        r#"{"note":"x"}"#,
        404,
        "Task not found",
    )
    .await;
    check(
        "/api/tasks/nope/1/note",
        r#"{"note":"x"}"#,
        404,
        "Session not found",
    )
    .await;
    check(
        "/api/tasks/s1/1/note",
        r#"{"note":"x""#,
        400,
        "Malformed JSON",
    )
    .await;
    check("/api/tasks/s1/1/note", r#"{"text":"x"}"#, 422, "note").await;
    check("/api/tasks/s1/1/note", r#"{"note":7}"#, 422, "note").await;
    let plain = server
        .client
        .post(server.url("/api/tasks/s1/1/note"))
        .header("content-type", "text/plain")
        .body(r#"{"note":"x"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(
        plain.status(),
        415,
        "text/plain bodies (form CSRF) are refused"
    );
    let huge = format!(r#"{{"note":"{}"}}"#, "a".repeat(3 << 20));
    let res = server.post_json("/api/tasks/s1/1/note", &huge).await;
    assert_eq!(res.status(), 413);
    assert!(res.json::<Value>().await.unwrap()["error"].is_string());
    assert_eq!(
        std::fs::read_to_string(server.tree.path("tasks/s1/1.json")).unwrap(),
        STORED,
        "no failed request touched the file"
    );
}

#[tokio::test]
async fn delete_of_a_blocking_task_names_every_dependent_and_deletes_nothing() {
    let server = TestServer::start(tree()).await;
    let res = server.delete("/api/tasks/s1/1").await;
    assert_eq!(res.status(), 400);
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({"error":"Cannot delete task that blocks other tasks","blockedTasks":["2","3"]})
    );
    assert!(server.tree.path("tasks/s1/1.json").exists());

    let mut events = server.sse().await;
    let res = server.delete("/api/tasks/s1/4").await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({"success":true,"taskId":"4"})
    );
    assert!(!server.tree.path("tasks/s1/4.json").exists());
    let _ = events
        .until(|e| is_update(e, "unlink", "s1", Some("4.json")))
        .await;

    let res = server.delete("/api/tasks/s1/4").await;
    assert_eq!(res.status(), 404);
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({"error":"Task not found"})
    );
}

#[tokio::test]
async fn hostile_ids_on_write_routes_touch_nothing() {
    let server = TestServer::start(tree()).await;
    let host = format!("Host: {}", server.addr);
    let json_ct = "Content-Type: application/json";
    let body = br#"{"note":"pwned"}"#;
    let long = "a".repeat(300);
    let targets = [
        "/api/tasks/s1/..%2F..%2Foutside/note".to_owned(),
        "/api/tasks/..%2F..%2F/outside/note".to_owned(),
        "/api/tasks/%2e%2e/outside/note".to_owned(),
        "/api/tasks/s1/1%00/note".to_owned(),
        "/api/tasks/s1/%E2%80%A4%E2%80%A4/note".to_owned(),
        format!("/api/tasks/s1/{long}/note"),
        "/api/tasks/../../outside/note".to_owned(),
        "/api/tasks/s1/..".to_owned(),
        "/api/tasks/..%2Fs1/1".to_owned(),
        "/api/tasks/s1/%2e%2e%2foutside".to_owned(),
    ];
    for target in &targets {
        for method in ["POST", "DELETE"] {
            let (status, body_text) = server
                .raw_with(method, target, &[&host, json_ct], body)
                .await;
            assert!(
                (400..500).contains(&status),
                "{method} {target}: {status} {body_text}"
            );
        }
    }
    assert_eq!(
        std::fs::read_to_string(server.tree.path("outside.json")).unwrap(),
        "{\"id\":\"1\"}"
    );
    assert_eq!(
        std::fs::read_to_string(server.tree.path("tasks/s1/1.json")).unwrap(),
        STORED
    );
    assert_eq!(
        server
            .get_json("/api/sessions/s1", 200)
            .await
            .as_array()
            .unwrap()
            .len(),
        4
    );
}

#[tokio::test]
async fn concurrent_notes_all_land() {
    let server = TestServer::start(tree()).await;
    let posts = (0..10).map(|i| {
        let body = format!(r#"{{"note":"note {i}"}}"#);
        let server = &server;
        async move {
            server
                .post_json("/api/tasks/s1/1/note", &body)
                .await
                .status()
                .as_u16()
        }
    });
    let statuses = futures_util::future::join_all(posts).await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let stored: Value = serde_json::from_str(
        &std::fs::read_to_string(server.tree.path("tasks/s1/1.json")).unwrap(),
    )
    .unwrap();
    let description = stored["description"].as_str().unwrap();
    for i in 0..10 {
        assert!(
            description.contains(&format!("note {i}")),
            "note {i} lost: {description}"
        );
    }
    assert_eq!(stored["zeta"], json!({"kept":[1,2]}));
}

/// How long any answer may take in these tests; a hang fails the test instead of stalling it.
const PROMPT: std::time::Duration = std::time::Duration::from_secs(5);

async fn prompt<T>(what: &str, fut: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(PROMPT, fut)
        .await
        .unwrap_or_else(|_| panic!("{what} did not answer within {PROMPT:?}"))
}

fn mkfifo(path: &std::path::Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo");
    assert!(status.success());
}

async fn status_and_error(res: reqwest::Response) -> (u16, String) {
    let status = res.status().as_u16();
    let body: Value = res.json().await.unwrap();
    (
        status,
        body["error"].as_str().unwrap_or_default().to_owned(),
    )
}

#[tokio::test]
async fn a_note_changes_the_description_and_not_one_other_byte() {
    let before = "{\n  \"id\": \"1\",\n  \"subject\": \"caf\\u00e9 \\/ \\ud83d\\ude00\",\n  \"description\": \"Build \\u00e9\",\n  \"big\": 12345678901234567890123456789,\n  \"zero\": -0,\n  \"price\": 1.50,\n  \"status\": \"pending\",\n  \"blocks\": [],\n  \"blockedBy\": []\n}\n";
    let tree = ClaudeTree::new();
    tree.write("tasks/s1/1.json", before);
    let server = TestServer::start(tree).await;
    let res = server
        .post_json("/api/tasks/s1/1/note", r#"{"note":"Check \"it\""}"#)
        .await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    let added = "\\n\\n---\\n\\n#### [Note added by user]\\n\\nCheck \\\"it\\\"";
    let after = before.replace("\"Build \\u00e9\"", &format!("\"Build \\u00e9{added}\""));
    assert_eq!(
        std::fs::read_to_string(server.tree.path("tasks/s1/1.json")).unwrap(),
        after,
        "numbers, escapes, key order and the final newline are untouched"
    );
    assert_eq!(
        body["task"]["description"],
        "Build é\n\n---\n\n#### [Note added by user]\n\nCheck \"it\""
    );
    assert_eq!(body["task"]["subject"], "café / 😀");
}

#[tokio::test]
async fn fifo_and_device_task_files_are_refused_promptly_and_nothing_else_stalls() {
    let tree = tree();
    mkfifo(&tree.path("tasks/s1/5.json"));
    std::os::unix::fs::symlink("/dev/zero", tree.path("tasks/s1/6.json")).unwrap();
    std::os::unix::fs::symlink("/dev/urandom", tree.path("tasks/s1/7.json")).unwrap();
    tree.mkdir("real");
    tree.task("real", json!({"id":"1","subject":"x","status":"pending"}));
    std::os::unix::fs::symlink(tree.path("tasks/real"), tree.path("tasks/linked")).unwrap();
    std::fs::File::create(tree.path("tasks/s1/8.json"))
        .unwrap()
        .set_len((16 << 20) + 1)
        .unwrap();
    let server = TestServer::start(tree).await;
    let body = r#"{"note":"x"}"#;
    // Every trap at once, with ordinary notes beside them: none may wait for another.
    let traps = async {
        let mut answers = Vec::new();
        for (path, status, error) in [
            ("/api/tasks/s1/5", 422, "FIFO"),
            ("/api/tasks/s1/6", 422, "symbolic link"),
            ("/api/tasks/s1/7", 422, "symbolic link"),
            ("/api/tasks/linked/1", 422, "symbolic link"),
            ("/api/tasks/s1/8", 413, "limit"),
        ] {
            let note = server.post_json(&format!("{path}/note"), body).await;
            answers.push((
                format!("POST {path}"),
                status_and_error(note).await,
                status,
                error,
            ));
            let delete = server.delete(path).await;
            answers.push((
                format!("DELETE {path}"),
                status_and_error(delete).await,
                status,
                error,
            ));
        }
        answers
    };
    let ordinary = async {
        for i in 0..5 {
            let res = server
                .post_json("/api/tasks/s1/4/note", &format!(r#"{{"note":"n{i}"}}"#))
                .await;
            assert_eq!(res.status(), 200);
        }
    };
    let (answers, ()) = prompt("the edits", async { tokio::join!(traps, ordinary) }).await;
    for (what, (got, error), status, needle) in answers {
        assert_eq!(got, status, "{what}: {error}");
        assert!(error.contains(needle), "{what}: {error}");
    }
    // The dependency check of a delete skips the FIFO and the device links, never reads them.
    let res = prompt("DELETE 4", server.delete("/api/tasks/s1/4")).await;
    assert_eq!(res.status(), 200);
    prompt("GET", server.get_json("/api/sessions/s1", 200)).await;
    assert_eq!(
        std::fs::read_to_string(server.tree.path("tasks/real/1.json")).unwrap(),
        serde_json::to_string_pretty(&json!({"id":"1","subject":"x","status":"pending"})).unwrap()
    );
}

/// Claude Code's `updateTask` holds `<id>.json.lock` (proper-lockfile, a directory) while it
/// rewrites the file in place; Flow waits for it, and gives up with 503 after Claude Code's
/// own retry budget (about 2.6 s).
#[tokio::test]
async fn a_task_locked_by_claude_code_is_waited_for_then_refused_with_503() {
    let server = TestServer::start(tree()).await;
    let lock = server.tree.path("tasks/s1/1.json.lock");
    std::fs::create_dir(&lock).unwrap();
    let body = r#"{"note":"x"}"#;
    let res = prompt("POST", server.post_json("/api/tasks/s1/1/note", body)).await;
    assert_eq!(res.status(), 503);
    assert_eq!(res.headers()["retry-after"], "1");
    let (_, error) = status_and_error(res).await;
    assert!(error.contains("1.json.lock"), "{error}");
    assert_eq!(
        std::fs::read_to_string(server.tree.path("tasks/s1/1.json")).unwrap(),
        STORED
    );
    assert!(lock.is_dir(), "a live lock is never removed");

    // Released while Flow waits: the note goes through.
    let released = {
        let lock = lock.clone();
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            std::fs::remove_dir(lock).unwrap();
        })
    };
    let res = prompt("POST", server.post_json("/api/tasks/s1/1/note", body)).await;
    released.await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(!lock.exists());

    // Left by an agent that crashed 11 s ago: stale by proper-lockfile's rule, so taken.
    std::fs::create_dir(&lock).unwrap();
    server.tree.touch("tasks/s1/1.json.lock", now_secs() - 11);
    let res = prompt("POST", server.post_json("/api/tasks/s1/1/note", body)).await;
    assert_eq!(res.status(), 200);
    assert!(!lock.exists());
    let stored: Value = serde_json::from_str(
        &std::fs::read_to_string(server.tree.path("tasks/s1/1.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        stored["description"]
            .as_str()
            .unwrap()
            .matches("[Note added by user]")
            .count(),
        2
    );
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}
