//! The team board (contract §7): three Flow servers on three Claude dirs and one PostgreSQL
//! database. Each publishes its machine's board; each shows everyone's.

use std::time::Duration;

use flow_core::config::Database;
use serde_json::{Value, json};

use crate::support::pg::{Cluster, shared_admin_url};
use crate::support::{ClaudeTree, TestServer, fresh_postgres_database, texts};

/// How long a remote change may take to show: a bound on failure, not a wait.
const WITHIN: Duration = Duration::from_secs(30);

fn task(id: &str, subject: &str) -> Value {
    json!({"id": id, "subject": subject, "description": "", "status": "pending",
           "blocks": [], "blockedBy": []})
}

async fn machine(url: &str, name: &str, tree: ClaudeTree) -> TestServer {
    let mut config = flow_server::Config::for_claude_dir(tree.root());
    config.db = Some(Database::Postgres(url.to_owned()));
    config.publish = true;
    config.machine = name.to_owned();
    TestServer::start_with(tree, config).await
}

fn tree_with(session: &str, tasks: &[(&str, &str)]) -> ClaudeTree {
    let tree = ClaudeTree::new();
    for (id, subject) in tasks {
        tree.task(session, task(id, subject));
    }
    tree
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_machines_one_board() {
    let Some(admin) = shared_admin_url() else {
        return;
    };
    let url = fresh_postgres_database(&admin);
    let a = machine(&url, "alpha", tree_with("sa", &[("1", "on alpha")])).await;
    let mut watching_a = a.sse().await;
    let b = machine(&url, "beta", tree_with("sb", &[("1", "on beta")])).await;
    let c = machine(&url, "gamma", tree_with("sc", &[("1", "on gamma")])).await;

    // A shows every machine's sessions, other machines' under board ids (in whichever order
    // the two machines publish).
    let mut waiting = vec!["beta.sb", "gamma.sc"];
    while !waiting.is_empty() {
        let event = watching_a
            .until_within(WITHIN, |e| {
                e["type"] == "update"
                    && e["sessionId"]
                        .as_str()
                        .is_some_and(|id| waiting.contains(&id))
            })
            .await;
        waiting.retain(|id| event["sessionId"] != *id);
    }
    let sessions = a.get_json("/api/sessions?limit=all", 200).await;
    let mut ids = texts(&sessions, "id");
    ids.sort_unstable();
    assert_eq!(ids, ["beta.sb", "gamma.sc", "sa"]);
    let of = |id: &str| {
        sessions
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == id)
            .cloned()
            .unwrap()
    };
    assert_eq!(of("sa")["machine"], "alpha");
    assert_eq!(of("gamma.sc")["machine"], "gamma");
    assert_eq!(of("gamma.sc")["stale"], false);
    let tasks = a.get_json("/api/sessions/gamma.sc", 200).await;
    assert_eq!(texts(&tasks, "subject"), ["on gamma"]);
    let all = a.get_json("/api/tasks/all", 200).await;
    assert_eq!(all.as_array().unwrap().len(), 3);
    let activity = a.get_json("/api/activity?since=all", 200).await;
    let mut ids = texts(&activity, "id");
    ids.sort_unstable();
    assert_eq!(
        ids,
        ["beta.sb", "gamma.sc", "sa"],
        "the activity view shows every machine"
    );

    // A task written on C reaches A's clients as an ordinary update.
    c.tree.task("sc", task("2", "written on gamma"));
    let event = watching_a
        .until_within(WITHIN, |e| {
            e["type"] == "update" && e["sessionId"] == "gamma.sc" && e["file"] == "2.json"
        })
        .await;
    assert_eq!(event["task"]["subject"], "written on gamma");
    assert_eq!(event["session"]["machine"], "gamma");

    // A note through A is carried out by C, in C's file.
    let res = a
        .post_json(
            "/api/tasks/gamma.sc/1/note",
            &json!({"note": "from alpha"}).to_string(),
        )
        .await;
    assert_eq!(res.status(), 200);
    let answer: Value = res.json().await.unwrap();
    assert_eq!(answer["success"], true);
    let file = std::fs::read_to_string(c.tree.path("tasks/sc/1.json")).unwrap();
    assert!(file.contains("from alpha"), "{file}");
    // Another machine's refusal comes back as it is.
    let res = a
        .post_json("/api/tasks/gamma.sc/1/note", r#"{"note":"  "}"#)
        .await;
    assert_eq!(res.status(), 400);

    let machines = a.get_json("/api/machines", 200).await;
    assert_eq!(texts(&machines, "name"), ["alpha", "beta", "gamma"]);
    assert!(
        machines
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["online"] == true)
    );

    // C stops: A shows it offline (its data kept, marked stale) and refuses edits of its tasks.
    c.stop().await;
    watching_a
        .until_within(WITHIN, |e| e["type"] == "machine" && e["name"] == "gamma")
        .await;
    let sessions = a.get_json("/api/sessions?limit=all", 200).await;
    let gamma = sessions
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "gamma.sc")
        .cloned()
        .expect("an offline machine's sessions stay on the board");
    assert_eq!(gamma["stale"], true);
    let res = a
        .post_json(
            "/api/tasks/gamma.sc/1/note",
            &json!({"note": "too late"}).to_string(),
        )
        .await;
    assert_eq!(res.status(), 503);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "machine_offline");
    assert_eq!(body["error"], "Machine gamma is offline");
    drop(b);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_board_survives_a_database_restart() {
    let Some(cluster) = Cluster::start() else {
        return;
    };
    let url = cluster.url("postgres");
    let a = machine(&url, "alpha", tree_with("sa", &[("1", "a")])).await;
    let mut watching_a = a.sse().await;
    let b = machine(&url, "beta", tree_with("sb", &[("1", "b")])).await;
    watching_a
        .until_within(WITHIN, |e| e["sessionId"] == "beta.sb")
        .await;

    cluster.kill();
    // Each Flow keeps serving its own files meanwhile.
    let mut watching_b = b.sse().await;
    b.tree.task("sb", task("2", "while the database was down"));
    watching_b
        .until(|e| e["sessionId"] == "sb" && e["file"] == "2.json")
        .await;
    let own = b.get_json("/api/sessions/sb", 200).await;
    assert_eq!(own.as_array().unwrap().len(), 2);

    cluster.start_again();
    watching_a
        .until_within(WITHIN, |e| e["type"] == "resync")
        .await;
    // B republishes what changed meanwhile; A shows it without either being restarted.
    let mut watching_a = a.sse().await;
    let seen = a.get_json("/api/sessions/beta.sb", 200).await;
    if seen.as_array().unwrap().len() < 2 {
        watching_a
            .until_within(WITHIN, |e| {
                e["sessionId"] == "beta.sb" && e["file"] == "2.json"
            })
            .await;
    }
    let seen = a.get_json("/api/sessions/beta.sb", 200).await;
    assert_eq!(
        texts(&seen, "subject"),
        ["b", "while the database was down"]
    );
}
