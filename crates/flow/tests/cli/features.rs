//! `flow features add` against a real server: one feature from flags, many from a JSON file or
//! stdin, what it prints (and `--json`), and the server's refusals with their codes.

use std::io::Write as _;
use std::process::Stdio;

use serde_json::{Value, json};

use crate::support::{Run, Server, flow};

/// The store's features by name, as `flow features --json` lists them.
fn listed(server: &Server) -> Vec<Value> {
    let list = server.run(&["features", "--json"]).expect(0).json();
    list["features"].as_array().cloned().unwrap_or_default()
}

fn write(path: &std::path::Path, text: &str) {
    flow_core::fs::write_atomic(path, text.as_bytes()).unwrap();
}

fn named<'a>(list: &'a [Value], name: &str) -> &'a Value {
    list.iter()
        .find(|f| f["name"] == name)
        .unwrap_or_else(|| panic!("no feature {name} in {list:?}"))
}

#[test]
fn features_add_creates_one_from_flags_and_prints_it() {
    let server = Server::start();
    let schema = server
        .run(&["features", "add", "Database schema"])
        .expect(0);
    assert_eq!(schema.stdout, "Added #1 Database schema (ready)\n");

    let login = server
        .run(&[
            "features",
            "add",
            "User can log in",
            "--description",
            "Email and password",
            "--category",
            "auth",
            "--step",
            "login form",
            "--step",
            "session cookie",
            "--depends-on",
            "1",
            "--priority",
            "-3",
        ])
        .expect(0);
    assert_eq!(
        login.stdout,
        "Added #2 User can log in (blocked: blocked by #1)\n"
    );
    let list = listed(&server);
    let f = named(&list, "User can log in");
    assert_eq!(f["description"], "Email and password");
    assert_eq!(f["category"], "auth");
    assert_eq!(
        f["steps"],
        json!([{"text": "login form", "done": false}, {"text": "session cookie", "done": false}])
    );
    assert_eq!(f["dependencies"], json!([1]));
    assert_eq!(f["priority"], -3);

    // `--json` is the server's answer: the feature object.
    let raw = server
        .run(&["features", "add", "Search", "--json"])
        .expect(0)
        .json();
    assert_eq!(
        (raw["id"].clone(), raw["state"].clone()),
        (json!(3), json!("ready"))
    );
    // The list is still `flow features`.
    let table = server.run(&["features"]).expect(0).stdout;
    assert!(table.contains("#2  blocked"), "{table}");
}

#[test]
fn features_add_file_creates_an_array_with_refs_from_a_file_or_stdin() {
    let server = Server::start();
    let file = server.path("features.json");
    write(
        &file,
        &json!([
            {"ref": "schema", "name": "Database schema", "steps": ["tables"]},
            {"name": "User can log in", "dependsOnRefs": ["schema"]},
            {"name": "Search", "category": "frontend"},
        ])
        .to_string(),
    );
    let run = server
        .run(&["features", "add", "--file", file.to_str().unwrap()])
        .expect(0);
    assert_eq!(
        run.stdout,
        "Added #1 Database schema (ready)\nAdded #2 User can log in (blocked: blocked by #1)\nAdded #3 Search (ready)\n"
    );
    assert_eq!(
        named(&listed(&server), "User can log in")["dependencies"],
        json!([1])
    );

    // `-` reads stdin; `--json` prints the bulk answer.
    let mut child = flow()
        .args([
            "features",
            "add",
            "--file",
            "-",
            "--json",
            "--url",
            &server.url,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(br#"{"features": [{"name": "Export", "dependencies": [3]}]}"#)
        .unwrap();
    let run = Run::of(child.wait_with_output().unwrap()).expect(0);
    let created = run.json();
    assert_eq!(created["features"][0]["name"], "Export");
    assert_eq!(created["features"][0]["blockedBy"], json!([3]));
    assert_eq!(listed(&server).len(), 4);
}

#[test]
fn features_add_refusals_print_the_servers_message_and_code() {
    let server = Server::start();
    server.run(&["features", "add", "Alpha"]).expect(0);

    let unknown = server
        .run(&["features", "add", "Beta", "--depends-on", "99"])
        .expect(1);
    assert_eq!(
        unknown.stderr,
        "flow: unknown dependencies: [99] (HTTP 422, unknown_dependency); unknown: #99\n"
    );
    let blank = server.run(&["features", "add", " "]).expect(1);
    assert!(
        blank.stderr.contains("(HTTP 422, validation_failed)"),
        "{blank:?}"
    );

    let file = server.path("bad.json");
    write(
        &file,
        r#"[{"name": "Fine"}, {"name": ""}, {"name": "Orphan", "dependencies": [42]}]"#,
    );
    let batch = server
        .run(&["features", "add", "--file", file.to_str().unwrap()])
        .expect(1);
    assert!(
        batch.stderr.contains("(HTTP 422, validation_failed)")
            && batch
                .stderr
                .contains("\n  item 1: name is required (validation_failed)\n")
            && batch
                .stderr
                .contains("\n  item 2: unknown dependencies: [42] (unknown_dependency)"),
        "{batch:?}"
    );
    assert_eq!(listed(&server).len(), 1, "all or nothing");

    // What cannot be sent is a usage error, and nothing is asked.
    write(&file, "[{");
    let bad = server
        .run(&["features", "add", "--file", file.to_str().unwrap()])
        .expect(2);
    assert!(bad.stderr.contains("is not valid JSON"), "{bad:?}");
    write(&file, r#"{"name": "x"}"#);
    server
        .run(&["features", "add", "--file", file.to_str().unwrap()])
        .expect(2);
    server.run(&["features", "add"]).expect(2);
    server
        .run(&["features", "add", "X", "--file", file.to_str().unwrap()])
        .expect(2);
    server
        .run(&["features", "add", "X", "--depends-on", "0"])
        .expect(2);
    assert_eq!(listed(&server).len(), 1);
}
