//! Several servers on one PostgreSQL database (contract §7): one id sequence, claims atomic
//! across servers, every server's clients see every server's writes, and the servers ride out
//! the database going away and coming back.

use std::time::Duration;

use flow_core::config::Database;
use serde_json::{Value, json};

use crate::support::pg::{Cluster, shared_admin_url};
use crate::support::{ClaudeTree, TestServer, fresh_postgres_database};

async fn server_on(url: &str) -> TestServer {
    let tree = ClaudeTree::new();
    let mut config = flow_server::Config::for_claude_dir(tree.path("claude"));
    config.db = Some(Database::Postgres(url.to_owned()));
    TestServer::start_with(tree, config).await
}

async fn create(server: &TestServer, name: &str) -> Value {
    let res = server
        .post_json("/api/features", &json!({"name": name}).to_string())
        .await;
    assert_eq!(res.status(), 201);
    res.json().await.unwrap()
}

fn is_feature_event(e: &Value, id: i64) -> bool {
    e["type"] == "feature-update" && e["featureId"] == id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_servers_share_ids_claims_and_events() {
    let Some(admin) = shared_admin_url() else {
        return;
    };
    let url = fresh_postgres_database(&admin);
    let servers = [
        server_on(&url).await,
        server_on(&url).await,
        server_on(&url).await,
    ];

    // One id sequence: creations on each server in turn get 1, 2, 3, …
    let mut ids = Vec::new();
    for i in 0..30 {
        ids.push(
            create(&servers[i % 3], &format!("f{i}")).await["id"]
                .as_i64()
                .unwrap(),
        );
    }
    assert_eq!(ids, (1..=30).collect::<Vec<i64>>());

    // A write on server 0 reaches server 2's SSE clients, and its list.
    let mut watcher = servers[2].sse().await;
    let res = servers[0]
        .client
        .patch(servers[0].url("/api/features/5"))
        .header("content-type", "application/json")
        .body(json!({"name": "renamed on server 0"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let (event, _) = watcher.until(|e| is_feature_event(e, 5)).await;
    assert_eq!(event["event"], "change");
    let five = servers[2].get_json("/api/features/5", 200).await;
    assert_eq!(five["name"], "renamed on server 0");

    let mut watchers = Vec::new();
    for server in &servers {
        watchers.push(server.sse().await);
    }
    // 48 claimers across the three servers over 30 ready features: 30 distinct claims.
    let claimers: Vec<_> = (0..48)
        .map(|a| {
            let client = servers[a % 3].client.clone();
            let url = servers[a % 3].url("/api/features/claim");
            tokio::spawn(async move {
                let res = client
                    .post(url)
                    .header("content-type", "application/json")
                    .body(json!({"agent": format!("agent-{a}")}).to_string())
                    .send()
                    .await
                    .unwrap();
                assert_eq!(res.status(), 200);
                res.json::<Value>().await.unwrap()
            })
        })
        .collect();
    let mut claimed = Vec::new();
    let mut empty = 0;
    for c in claimers {
        let answer = c.await.unwrap();
        match answer["feature"]["id"].as_i64() {
            Some(id) => claimed.push(id),
            None => {
                assert_eq!(answer["reason"], "all_claimed");
                empty += 1;
            }
        }
    }
    claimed.sort_unstable();
    let distinct = {
        let mut d = claimed.clone();
        d.dedup();
        d
    };
    assert_eq!(distinct, claimed, "a feature was claimed twice");
    assert_eq!((claimed.len(), empty), (30, 18));
    // Every server agrees on who holds what, once the last notifications are in: each event
    // a server's client gets is a moment to look again.
    for (server, watcher) in servers.iter().zip(watchers.iter_mut()) {
        loop {
            let stats = server.get_json("/api/features/stats", 200).await;
            if stats["in_progress"] == 30 {
                break;
            }
            watcher.next().await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servers_recover_when_the_database_restarts() {
    let Some(cluster) = Cluster::start() else {
        return;
    };
    let url = cluster.url("postgres");
    let (a, b) = (server_on(&url).await, server_on(&url).await);
    create(&a, "before the outage").await;
    let (mut watching_a, mut watching_b) = (a.sse().await, b.sse().await);

    cluster.kill();
    // Reads keep answering from the last snapshot; writes say the database is gone.
    let list = b.get_json("/api/features", 200).await;
    assert_eq!(list["features"][0]["name"], "before the outage");
    let res = a
        .post_json("/api/features", &json!({"name": "during"}).to_string())
        .await;
    assert_eq!(res.status(), 503);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "database_unavailable", "{body}");

    cluster.start_again();
    // Each server reconnects by itself, reloads and tells its clients to read again.
    for watching in [&mut watching_a, &mut watching_b] {
        watching
            .until_within(Duration::from_secs(30), |e| e["type"] == "resync")
            .await;
    }
    let mut watching_b = b.sse().await;
    let created = create(&a, "after").await;
    let id = created["id"].as_i64().unwrap();
    assert_eq!(id, 2, "the id sequence survived the restart");
    // B learns of it by notification, or, if its listener came back after the write, by the
    // reload that follows (a `resync`; the team board's follower sends its own too).
    loop {
        let event = watching_b
            .until_within(Duration::from_secs(30), |e| {
                is_feature_event(e, id) || e["type"] == "resync"
            })
            .await;
        let total = b.get_json("/api/features", 200).await["counts"]["total"].clone();
        if is_feature_event(&event, id) || total == 2 {
            assert_eq!(total, 2);
            break;
        }
    }
}
