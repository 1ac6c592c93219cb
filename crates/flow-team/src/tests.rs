//! The team board against a real PostgreSQL server (`FLOW_TEST_POSTGRES`, which
//! `scripts/test` sets; skipped without one, failed under CI).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio::sync::mpsc;

use crate::{Answer, ItemKey, RemoteChange, Team, TeamError};

async fn fresh_database() -> Option<String> {
    let Ok(admin) = std::env::var("FLOW_TEST_POSTGRES") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "run through ./scripts/test"
        );
        return None;
    };
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let name = format!(
        "flow_team_test_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let (client, conn) = tokio_postgres::connect(&admin, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    let cut = admin.rfind('/').unwrap_or(admin.len());
    Some(format!("{}/{name}", &admin[..cut]))
}

fn board(items: &[(&str, &str, serde_json::Value)]) -> BTreeMap<ItemKey, Arc<str>> {
    items
        .iter()
        .map(|(kind, key, doc)| (ItemKey::new(kind, *key), Arc::from(doc.to_string())))
        .collect()
}

/// The observer's changes, as a stream the test awaits.
fn changes(team: &Team) -> mpsc::UnboundedReceiver<RemoteChange> {
    let (tx, rx) = mpsc::unbounded_channel();
    team.on_change(move |_, change| {
        let _ = tx.send(change.clone());
    });
    rx
}

async fn next_items(
    rx: &mut mpsc::UnboundedReceiver<RemoteChange>,
) -> (String, Vec<(ItemKey, Option<Arc<str>>)>) {
    loop {
        let change = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("a change in time")
            .expect("observer alive");
        if let RemoteChange::Items { machine, items } = change {
            return (machine, items);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_follow_command_and_leave() {
    let Some(url) = fresh_database().await else {
        return;
    };
    let laptop = Team::connect(&url, "laptop", true).await.unwrap();
    let board_only = Team::connect(&url, "viewer", false).await.unwrap();
    let mut seen = changes(&board_only);

    // Only what changed is written; the follower gets it with the machine's name.
    let first = board(&[
        ("session", "s1", json!({"id": "s1", "name": "one"})),
        ("task", "s1/1", json!({"id": "1", "subject": "a"})),
    ]);
    assert_eq!(laptop.publish(first.clone()).await.unwrap(), 2);
    assert_eq!(laptop.publish(first).await.unwrap(), 0, "nothing changed");
    let (machine, items) = next_items(&mut seen).await;
    assert_eq!(machine, "laptop");
    assert_eq!(items.len(), 2);
    let remote = board_only.remote();
    let laptop_view = &remote.machines["laptop"];
    assert!(laptop_view.online);
    assert_eq!(laptop_view.items.len(), 2);

    // A task removed is a tombstone that travels like any change.
    let second = board(&[("session", "s1", json!({"id": "s1", "name": "one"}))]);
    assert_eq!(laptop.publish(second).await.unwrap(), 1);
    let (_, items) = next_items(&mut seen).await;
    assert_eq!(items, [(ItemKey::new("task", "s1/1"), None)]);
    assert_eq!(board_only.remote().machines["laptop"].items.len(), 1);

    // A request is carried out by the owner and answered to the requester.
    laptop.on_command(|request| async move {
        Answer {
            status: 200,
            body: json!({"success": true, "echo": request}),
        }
    });
    let answer = board_only
        .request(
            "laptop",
            json!({"op": "note", "note": "hi"}),
            Duration::from_secs(5),
        )
        .await
        .unwrap();
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body["echo"]["note"], "hi");

    // A machine that leaves is offline at once; a request to it is refused without waiting.
    laptop.leave().await;
    loop {
        let change = tokio::time::timeout(Duration::from_secs(10), seen.recv())
            .await
            .expect("the machine went offline in time")
            .unwrap();
        if let RemoteChange::Machine { name, online } = change {
            assert_eq!((name.as_str(), online), ("laptop", false));
            break;
        }
    }
    let err = board_only
        .request("laptop", json!({"op": "note"}), Duration::from_secs(5))
        .await
        .unwrap_err();
    assert!(
        matches!(err, TeamError::MachineOffline(ref m) if m == "laptop"),
        "{err}"
    );
    assert_eq!(
        board_only.remote().machines["laptop"].items.len(),
        1,
        "an offline machine's data is kept"
    );

    // Coming back, it writes only what changed while it was away.
    let again = Team::connect(&url, "laptop", true).await.unwrap();
    let same = board(&[("session", "s1", json!({"id": "s1", "name": "one"}))]);
    assert_eq!(again.publish(same).await.unwrap(), 0);
}
