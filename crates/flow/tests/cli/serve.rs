//! The `flow` binary as a user runs it: help, a taken port, serving a missing Claude dir, and
//! SIGTERM ending open streams and the process within a second.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use crate::support::{flow, start, terminate};

#[test]
fn help_documents_every_option() {
    let out = flow().arg("--help").output().expect("run");
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    for needle in [
        "--port",
        "--host",
        "--dir",
        "--tasks-dir",
        "--projects-dir",
        "--public-dir",
        "--open",
        "PORT",
        "CLAUDE_CONFIG_DIR",
        "OPEN_BROWSER",
        "FLOW_TOKEN",
        "FLOW_DATA_DIR",
        "serve",
        "tui",
        "watch",
        "sessions",
        "tasks",
        "features",
        "claim",
        "complete",
        "heartbeat",
        "release",
    ] {
        assert!(help.contains(needle), "--help lacks {needle}:\n{help}");
    }
}

#[test]
fn explicit_taken_port_is_one_readable_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let dir = tempfile::tempdir().unwrap();
    let out = flow()
        .args([
            "serve",
            "--dir",
            dir.path().to_str().unwrap(),
            "--port",
            &port,
        ])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains(&format!("port {port} on 127.0.0.1 is already in use")),
        "{stderr}"
    );
}

#[test]
fn missing_claude_dir_serves_empty_board_and_sigterm_ends_streams_fast() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, addr) = start(&dir.path().join("nothing-here"));

    let mut api = TcpStream::connect(&addr).unwrap();
    write!(
        api,
        "GET /api/sessions HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut res = String::new();
    api.read_to_string(&mut res).unwrap();
    assert!(res.starts_with("HTTP/1.1 200"), "{res}");
    assert!(res.ends_with("\r\n\r\n[]"), "{res}");

    let mut sse = TcpStream::connect(&addr).unwrap();
    write!(sse, "GET /api/events HTTP/1.1\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut reader = BufReader::new(sse.try_clone().unwrap());
    let mut line = String::new();
    while !line.contains("connected") {
        line.clear();
        assert!(
            reader.read_line(&mut line).unwrap() > 0,
            "stream ended before connected"
        );
    }

    let status = terminate(&mut child, Duration::from_secs(1));
    if status.is_none() {
        let _ = child.kill();
    }
    assert!(
        status
            .expect("flow must exit within 1 s of SIGTERM with a stream open")
            .success()
    );
    let mut rest = String::new();
    let _ = reader.read_to_string(&mut rest);
    assert!(
        !dir.path().join("nothing-here").exists(),
        "Flow never creates the user's Claude dir"
    );
}

/// SIGKILL lands while a note write is in flight, again and again: the task file is always a
/// whole JSON task, either before or after the note, never torn.
#[test]
fn killed_mid_write_leaves_the_old_or_the_new_task_never_a_torn_one() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tasks/s1/1.json");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    let original = serde_json::json!({"id":"1","subject":"s","description":"start","status":"pending","pad":"x".repeat(200_000)});
    flow_core::fs::write_atomic(
        &file,
        serde_json::to_string_pretty(&original).unwrap().as_bytes(),
    )
    .unwrap();
    let suffix = "\n\n---\n\n#### [Note added by user]\n\nnote";
    let mut description = "start".to_owned();
    let mut landed = 0;
    for round in 0..30u64 {
        let (mut child, addr) = start(dir.path());
        let mut conn = TcpStream::connect(&addr).unwrap();
        let body = r#"{"note":"note"}"#;
        write!(
            conn,
            "POST /api/tasks/s1/1/note HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        // Vary the moment of the kill across rounds, from "before the write" to "after it".
        std::thread::sleep(Duration::from_micros(round * round * 150));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let text = std::fs::read_to_string(&file).unwrap();
        let task: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| {
            panic!(
                "round {round}: torn file ({e}): {:?}",
                &text[..text.len().min(200)]
            )
        });
        let now = task["description"].as_str().unwrap().to_owned();
        if now != description {
            assert_eq!(now, format!("{description}{suffix}"), "round {round}");
            description = now;
            landed += 1;
        }
        assert_eq!(
            task["pad"], original["pad"],
            "round {round}: other fields intact"
        );
    }
    // Both outcomes must have been exercised for the test to mean something.
    eprintln!("{landed} of 30 notes landed before the kill");
    assert!(landed > 0 && landed < 30, "{landed} of 30 notes landed");
}

#[test]
fn fifos_and_devices_in_the_claude_dir_neither_hang_the_start_nor_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("tasks/s1")).unwrap();
    std::fs::create_dir_all(root.join("projects/-p")).unwrap();
    flow_core::fs::write_atomic(
        &root.join("tasks/s1/1.json"),
        br#"{"id":"1","subject":"real","status":"pending"}"#,
    )
    .unwrap();
    for fifo in ["tasks/s1/2.json", "projects/-p/sessions-index.json"] {
        assert!(
            Command::new("mkfifo")
                .arg(root.join(fifo))
                .status()
                .unwrap()
                .success()
        );
    }
    std::os::unix::fs::symlink("/dev/zero", root.join("tasks/s1/3.json")).unwrap();

    // `start` returns once the server says it listens; the scan is done before it answers.
    let (mut child, addr) = start(root);
    let mut conn = TcpStream::connect(&addr).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    write!(
        conn,
        "GET /api/sessions/s1 HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut res = String::new();
    conn.read_to_string(&mut res)
        .expect("an answer, not a hang");
    assert!(res.starts_with("HTTP/1.1 200"), "{res}");
    assert!(
        res.contains("\"real\"") && !res.contains("\"id\":\"2\""),
        "{res}"
    );

    let status = terminate(&mut child, Duration::from_secs(1));
    assert!(
        status
            .expect("flow must exit within 1 s of SIGTERM")
            .success(),
        "clean exit"
    );
}

/// As an unprivileged user (root reads anything, so the bug cannot show as root): a tasks dir
/// made unreadable and readable again is watched again within a second, not left to the 15 s
/// reconciliation.
#[test]
fn a_tasks_dir_whose_permissions_come_back_is_watched_again() {
    use std::os::unix::fs::PermissionsExt;
    assert!(
        running_as_root(),
        "this test runs the server as `nobody` and must itself run as root (CI does)"
    );
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("tasks/s1")).unwrap();
    // Every root exists, so nothing above them is watched: only the watch on `tasks` itself
    // could report that its permissions came back.
    std::fs::create_dir_all(root.join("projects/-p")).unwrap();
    std::fs::create_dir_all(root.join("sessions")).unwrap();
    flow_core::fs::write_atomic(
        &root.join("tasks/s1/1.json"),
        br#"{"id":"1","subject":"one","status":"pending"}"#,
    )
    .unwrap();
    assert!(
        Command::new("chown")
            .args(["-R", "65534:65534"])
            .arg(root)
            .status()
            .unwrap()
            .success()
    );
    let mut cmd = Command::new("setpriv");
    cmd.args([
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        env!("CARGO_BIN_EXE_flow"),
    ])
    .args(["--dir", root.to_str().unwrap(), "--port", "0", "--no-db"])
    .args(["--data-dir", root.join("data").to_str().unwrap()])
    .env("RUST_LOG", "info")
    .env("NO_COLOR", "1");
    let (child, addr) = crate::support::spawn_listening_cmd(cmd);
    let _guard = KillOnDrop(child);

    let mut sse = TcpStream::connect(&addr).unwrap();
    sse.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(sse, "GET /api/events HTTP/1.1\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut reader = BufReader::new(sse);
    let mut line = String::new();
    let mut until = |needle: &str| loop {
        line.clear();
        let n = reader.read_line(&mut line).expect("an event within 5 s");
        assert!(n > 0, "stream ended");
        if line.contains(needle) {
            return;
        }
    };
    until("connected");
    let tasks = root.join("tasks");
    std::fs::set_permissions(&tasks, std::fs::Permissions::from_mode(0o000)).unwrap();
    // A new session elsewhere: once it is announced, the server has handled the change of
    // permissions too (roots are re-watched before a batch is applied).
    flow_core::fs::write_atomic(
        &root.join("projects/-p/0a1b2c3d-0000-4000-8000-000000000001.jsonl"),
        b"{\"type\":\"user\",\"cwd\":\"/p\"}\n",
    )
    .unwrap();
    until("metadata-update");
    std::fs::set_permissions(&tasks, std::fs::Permissions::from_mode(0o755)).unwrap();
    flow_core::fs::write_atomic(
        &root.join("tasks/s1/2.json"),
        br#"{"id":"2","subject":"two","status":"pending"}"#,
    )
    .unwrap();
    until("\"file\":\"2.json\"");
}

struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

#[test]
fn a_db_that_is_not_flows_is_refused_with_its_name_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("notes.sqlite");
    {
        let status = Command::new("python3")
            .args([
                "-c",
                "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('create table notes(body)'); c.execute(\"insert into notes values ('mine')\"); c.commit()",
            ])
            .arg(&db)
            .status()
            .unwrap();
        assert!(status.success());
    }
    let before = std::fs::read(&db).unwrap();
    let out = flow()
        .args(["--dir", dir.path().to_str().unwrap(), "--port", "0"])
        .args(["--db", db.to_str().unwrap()])
        .env_remove("FLOW_DB")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("notes.sqlite") && stderr.contains("is not a Flow feature store"),
        "{stderr}"
    );
    assert_eq!(std::fs::read(&db).unwrap(), before, "untouched");
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, ["notes.sqlite"], "no journal or WAL beside it");
}
