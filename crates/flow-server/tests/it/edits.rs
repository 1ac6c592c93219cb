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
