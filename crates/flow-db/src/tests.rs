//! Tests of the feature store against real SQLite files in a temporary directory.

use std::sync::Arc;

use crate::*;

const T0: i64 = 1_700_000_000_000;

/// Where a test's store lives: a SQLite file in a temporary directory, or, with
/// `FLOW_TEST_FEATURES_ON_POSTGRES=1` and `FLOW_TEST_POSTGRES` naming a server (as
/// `scripts/test` sets both for its second pass), a fresh PostgreSQL database. The tests that
/// use it hold for both backends.
struct Place {
    dir: tempfile::TempDir,
    postgres: Option<String>,
}

impl Place {
    /// Another store on the same database: a second server.
    async fn open(&self) -> FeatureStore {
        match &self.postgres {
            Some(url) => FeatureStore::connect_postgres(url).await.unwrap(),
            None => FeatureStore::open(&self.dir.path().join("nested/flow.db"))
                .await
                .unwrap(),
        }
    }
}

async fn store() -> (Place, FeatureStore) {
    let dir = tempfile::tempdir().unwrap();
    let on_postgres = std::env::var_os("FLOW_TEST_FEATURES_ON_POSTGRES").is_some_and(|v| v == "1");
    let postgres = match std::env::var("FLOW_TEST_POSTGRES") {
        Ok(admin) if on_postgres => Some(fresh_postgres_database(&admin).await),
        _ => None,
    };
    let place = Place { dir, postgres };
    let store = place.open().await;
    (place, store)
}

async fn fresh_postgres_database(admin: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let name = format!(
        "flow_db_test_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let (client, conn) = tokio_postgres::connect(admin, tokio_postgres::NoTls)
        .await
        .expect("FLOW_TEST_POSTGRES must name a reachable server");
    tokio::spawn(conn);
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    let cut = admin.rfind('/').unwrap_or(admin.len());
    format!("{}/{name}", &admin[..cut])
}

fn new(name: &str, deps: &[i64]) -> NewFeature {
    NewFeature {
        name: name.into(),
        dependencies: deps.to_vec(),
        ..NewFeature::default()
    }
}

async fn mk(s: &FeatureStore, name: &str, deps: &[i64]) -> i64 {
    s.create(new(name, deps), T0).await.unwrap().id
}

#[tokio::test]
async fn crud_round_trip() {
    let (_d, s) = store().await;
    let a = s
        .create(
            NewFeature {
                project: "p".into(),
                name: "  CSV export ".into(),
                description: "d".into(),
                category: "backend".into(),
                steps: vec![Step {
                    text: "exports".into(),
                    done: false,
                }],
                priority: None,
                dependencies: vec![],
            },
            T0,
        )
        .await
        .unwrap();
    assert_eq!(a.name, "CSV export");
    assert_eq!(
        (a.version, a.status, a.priority),
        (1, FeatureStatus::Pending, 1)
    );
    let b = mk(&s, "b", &[a.id, a.id]).await;
    assert_eq!(s.get(b).unwrap().dependencies, [a.id]);
    assert_eq!(s.get(b).unwrap().priority, 2, "new work queues last");

    let patch = FeaturePatch {
        description: Some("new".into()),
        steps: Some(vec![Step {
            text: "x".into(),
            done: true,
        }]),
        ..FeaturePatch::default()
    };
    let changed = s.update(a.id, patch, Some(1), T0 + 5).await.unwrap();
    assert_eq!(changed.features.len(), 1);
    let a2 = s.get(a.id).unwrap();
    assert_eq!(
        (a2.version, a2.updated_at, a2.description.as_str()),
        (2, T0 + 5, "new")
    );
    assert!(a2.steps[0].done);
    assert_eq!(s.list().len(), 2);

    let changed = s.delete(b, false, T0).await.unwrap();
    assert_eq!(changed.deleted, [b]);
    assert!(matches!(s.get(b), Err(StoreError::NotFound(id)) if id == b));
    // Ids are never reused.
    assert!(mk(&s, "c", &[]).await > b);
}

#[tokio::test]
async fn validation_errors_and_codes() {
    let (_d, s) = store().await;
    let a = mk(&s, "a", &[]).await;
    let b = mk(&s, "b", &[a]).await;
    let code = |r: Result<Changed, StoreError>| r.unwrap_err().code();

    assert_eq!(
        s.create(new(" ", &[]), T0).await.unwrap_err().code(),
        "validation_failed"
    );
    assert_eq!(
        s.create(new("x", &[999]), T0).await.unwrap_err().code(),
        "unknown_dependency"
    );
    assert_eq!(s.get(999).unwrap_err().code(), "feature_not_found");
    assert_eq!(code(s.add_dependency(a, a, T0).await), "self_dependency");
    assert_eq!(
        code(s.add_dependency(a, 999, T0).await),
        "unknown_dependency"
    );
    match s.add_dependency(a, b, T0).await {
        Err(e @ StoreError::Cycle(_)) => {
            assert_eq!(e.code(), "dependency_cycle");
            assert!(matches!(e, StoreError::Cycle(ref c) if *c == vec![a, b, a]));
        }
        other => panic!("{other:?}"),
    }
    let start = FeaturePatch {
        status: Some(FeatureStatus::InProgress),
        ..FeaturePatch::default()
    };
    match s.update(b, start.clone(), None, T0).await {
        Err(e @ StoreError::Blocked { .. }) => {
            assert_eq!(e.code(), "feature_blocked");
            assert!(matches!(e, StoreError::Blocked { ref blocked_by } if *blocked_by == vec![a]));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        code(s.update(b, start.clone(), Some(7), T0).await),
        "version_mismatch"
    );
    assert!(matches!(
        s.update(b, start.clone(), Some(7), T0).await,
        Err(StoreError::VersionMismatch { current: 1 })
    ));
    let forced = FeaturePatch {
        force: true,
        ..start
    };
    let f = &s.update(b, forced, None, T0 + 1).await.unwrap().features[0];
    assert_eq!(
        (f.status, f.started_at),
        (FeatureStatus::InProgress, Some(T0 + 1))
    );

    s.complete(a, None, false, T0 + 2).await.unwrap();
    let back = FeaturePatch {
        status: Some(FeatureStatus::Pending),
        ..FeaturePatch::default()
    };
    assert_eq!(
        code(s.update(a, back, None, T0).await),
        "invalid_transition"
    );
    assert_eq!(code(s.delete(a, false, T0).await), "has_dependents");
    assert_eq!(code(s.reopen(b, T0).await), "invalid_transition");
    assert_eq!(
        code(s.reorder(a, None, None, T0).await),
        "validation_failed"
    );
    let blank = FeaturePatch {
        name: Some("".into()),
        ..FeaturePatch::default()
    };
    assert_eq!(
        code(s.update(a, blank, None, T0).await),
        "validation_failed"
    );
    assert_eq!(
        s.claim_next("", 1000, T0).await.unwrap_err().code(),
        "validation_failed"
    );

    let claim = s.claim(b, "agent-1", 1000, true, T0).await.unwrap();
    let other = s.claim(b, "agent-2", 1000, false, T0).await.unwrap_err();
    assert_eq!(other.code(), "claimed_by_other");
    assert_eq!(
        s.heartbeat(b, "nope", 1000, T0).await.unwrap_err().code(),
        "lease_lost"
    );
    assert!(s.heartbeat(b, &claim.token, 1000, T0 + 1).await.is_ok());
    let too_new = StoreError::TooNew {
        found: 99,
        supported: 1,
    };
    assert!(too_new.to_string().contains("99"));
}

#[tokio::test]
async fn status_strings_round_trip() {
    for s in FeatureStatus::ALL {
        assert_eq!(FeatureStatus::parse(s.as_str()), Some(s));
    }
    assert_eq!(FeatureStatus::parse("nope"), None);
    assert_eq!(
        FeatureStatus::Done.to_resolver(),
        flow_resolver::Status::Done
    );
    assert_eq!(EmptyReason::AllClaimed.as_str(), "all_claimed");
}

#[tokio::test]
async fn cycles_leave_the_database_unchanged() {
    let (_d, s) = store().await;
    let a = mk(&s, "a", &[]).await;
    let b = mk(&s, "b", &[a]).await;
    let c = mk(&s, "c", &[b]).await;
    let before = s.list();

    let patch = FeaturePatch {
        dependencies: Some(vec![c]),
        name: Some("renamed".into()),
        ..FeaturePatch::default()
    };
    assert!(
        matches!(s.update(a, patch, None, T0 + 1).await, Err(StoreError::Cycle(p)) if p == vec![a, c, b, a])
    );
    assert_eq!(s.list(), before);

    assert!(matches!(
        s.add_dependency(a, c, T0 + 1).await,
        Err(StoreError::Cycle(_))
    ));
    assert_eq!(s.list(), before);

    // A batch whose items point at each other is refused as a whole.
    let items = vec![
        BulkItem {
            feature: new("x", &[]),
            ref_name: Some("x".into()),
            depends_on_refs: vec!["y".into()],
        },
        BulkItem {
            feature: new("y", &[]),
            ref_name: Some("y".into()),
            depends_on_refs: vec!["x".into()],
        },
    ];
    assert!(s.create_bulk(items, T0 + 1).await.is_err());
    assert_eq!(s.list(), before);
}

#[tokio::test]
async fn bulk_create_with_refs_and_indexed_errors() {
    let (_d, s) = store().await;
    let base = mk(&s, "base", &[]).await;
    let item = |name: &str, r: Option<&str>, refs: &[&str], deps: &[i64]| BulkItem {
        feature: new(name, deps),
        ref_name: r.map(str::to_owned),
        depends_on_refs: refs.iter().map(|r| (*r).to_owned()).collect(),
    };
    let made = s
        .create_bulk(
            vec![
                item("one", Some("one"), &[], &[base]),
                item("two", Some("two"), &["one"], &[]),
                item("three", None, &["one", "two"], &[base]),
            ],
            T0,
        )
        .await
        .unwrap();
    assert_eq!(made.len(), 3);
    assert_eq!(made[1].dependencies, [made[0].id]);
    assert_eq!(made[2].dependencies, [base, made[0].id, made[1].id]);

    let before = s.list();
    let err = s
        .create_bulk(
            vec![
                item("ok", Some("a"), &[], &[]),
                item("", None, &[], &[]),
                item("bad ref", None, &["zzz"], &[]),
                item("bad id", None, &[], &[12345]),
            ],
            T0,
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), "validation_failed");
    let StoreError::Bulk(errors) = err else {
        panic!()
    };
    let idx: Vec<(usize, &str)> = errors.iter().map(|(i, e)| (*i, e.code())).collect();
    assert_eq!(
        idx,
        [
            (1, "validation_failed"),
            (2, "validation_failed"),
            (3, "unknown_dependency")
        ]
    );
    assert_eq!(s.list(), before);

    let too_many = (0..=MAX_BULK)
        .map(|i| item(&format!("f{i}"), None, &[], &[]))
        .collect();
    assert_eq!(
        s.create_bulk(too_many, T0).await.unwrap_err().code(),
        "validation_failed"
    );
}

#[tokio::test]
async fn long_chain_still_accepts_a_dependency() {
    let (_d, s) = store().await;
    let items: Vec<BulkItem> = (0..500)
        .map(|i| BulkItem {
            feature: new(&format!("f{i}"), &[]),
            ref_name: Some(format!("r{i}")),
            depends_on_refs: if i == 0 {
                vec![]
            } else {
                vec![format!("r{}", i - 1)]
            },
        })
        .collect();
    let made = s.create_bulk(items, T0).await.unwrap();
    let (first, last) = (made[0].id, made[499].id);
    let extra = mk(&s, "extra", &[]).await;
    s.add_dependency(extra, last, T0).await.unwrap();
    let err = s.add_dependency(first, extra, T0).await.unwrap_err();
    let StoreError::Cycle(path) = err else {
        panic!("{err:?}")
    };
    assert_eq!(path.len(), 502);
    assert_eq!((path[0], path[1], path[2]), (first, extra, last));
}

/// Two stores on one file stand for two servers: their claims race through the generation
/// check, so the loser catches up from the log and claims something else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_claims_are_exclusive() {
    for round in 0..20 {
        let (place, s) = store().await;
        for i in 0..10 {
            mk(&s, &format!("f{i}"), &[]).await;
        }
        let other = place.open().await;
        let barrier = Arc::new(tokio::sync::Barrier::new(16));
        let handles: Vec<_> = (0..16)
            .map(|t| {
                let s = if t % 2 == 0 { s.clone() } else { other.clone() };
                let barrier = barrier.clone();
                tokio::spawn(async move {
                    barrier.wait().await;
                    s.claim_next(&format!("agent-{t}"), 60_000, T0)
                        .await
                        .unwrap()
                })
            })
            .collect();
        let mut results = Vec::new();
        for h in handles {
            results.push(h.await.unwrap());
        }
        let mut ids: Vec<i64> = results
            .iter()
            .filter_map(|r| r.as_ref().ok())
            .map(|c| c.feature.id)
            .collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), 10, "round {round}");
        let empty = results
            .iter()
            .filter(|r| *r == &Err(EmptyReason::AllClaimed))
            .count();
        assert_eq!(empty, 6, "round {round}");
    }
}

#[tokio::test]
async fn claim_next_order_and_reasons() {
    let (_d, s) = store().await;
    assert_eq!(
        s.claim_next("a", 1000, T0).await.unwrap(),
        Err(EmptyReason::Empty)
    );
    let a = mk(&s, "a", &[]).await;
    let b = mk(&s, "b", &[a]).await;
    let c = mk(&s, "c", &[]).await;
    s.reorder(c, Some(a), None, T0).await.unwrap();
    let first = s.claim_next("x", 1000, T0).await.unwrap().unwrap();
    assert_eq!(first.feature.id, c);
    assert_eq!(first.feature.status, FeatureStatus::InProgress);
    assert_eq!(first.feature.claimed_by.as_deref(), Some("x"));
    assert_eq!(first.token.len(), 32);
    let second = s.claim_next("y", 1000, T0).await.unwrap().unwrap();
    assert_eq!(second.feature.id, a);
    assert_eq!(
        s.claim_next("z", 1000, T0).await.unwrap(),
        Err(EmptyReason::AllClaimed)
    );
    s.complete(c, Some(&first.token), false, T0).await.unwrap();
    s.update(
        a,
        FeaturePatch {
            status: Some(FeatureStatus::Cancelled),
            ..FeaturePatch::default()
        },
        None,
        T0,
    )
    .await
    .unwrap();
    assert_eq!(
        s.claim_next("z", 1000, T0).await.unwrap(),
        Err(EmptyReason::AllBlocked)
    );
    s.update(
        b,
        FeaturePatch {
            status: Some(FeatureStatus::Cancelled),
            ..FeaturePatch::default()
        },
        None,
        T0,
    )
    .await
    .unwrap();
    assert_eq!(
        s.claim_next("z", 1000, T0).await.unwrap(),
        Err(EmptyReason::AllDone)
    );
}

#[tokio::test]
async fn expired_lease_is_claimable_and_old_token_is_lost() {
    let (_d, s) = store().await;
    let a = mk(&s, "a", &[]).await;
    let old = s.claim_next("one", 1000, T0).await.unwrap().unwrap();
    assert_eq!(
        s.claim_next("two", 1000, T0 + 999).await.unwrap(),
        Err(EmptyReason::AllClaimed)
    );
    let new = s.claim_next("two", 1000, T0 + 1000).await.unwrap().unwrap();
    assert_eq!(new.feature.id, a);
    assert_ne!(new.token, old.token);
    assert_eq!(new.lease_expires_at, T0 + 2000);
    for err in [
        s.heartbeat(a, &old.token, 1000, T0 + 1001)
            .await
            .unwrap_err(),
        s.release(a, &old.token, false, T0 + 1001)
            .await
            .unwrap_err(),
        s.complete(a, Some(&old.token), false, T0 + 1001)
            .await
            .unwrap_err(),
    ] {
        assert!(matches!(err, StoreError::LeaseLost), "{err:?}");
    }
    // The new claim is intact; once it expires, even its own token is lost.
    assert!(s.heartbeat(a, &new.token, 1000, T0 + 1500).await.is_ok());
    assert!(matches!(
        s.heartbeat(a, &new.token, 1000, T0 + 2500).await,
        Err(StoreError::LeaseLost)
    ));
    let released = s.claim(a, "three", 1000, false, T0 + 3000).await.unwrap();
    let changed = s
        .release(a, &released.token, true, T0 + 3001)
        .await
        .unwrap();
    let f = &changed.features[0];
    assert_eq!(
        (f.status, f.attempts, f.claimed_by.as_deref()),
        (FeatureStatus::Pending, 1, None)
    );
}

#[tokio::test]
async fn completing_a_unblocks_b() {
    let (_d, s) = store().await;
    let a = mk(&s, "a", &[]).await;
    let b = mk(&s, "b", &[a]).await;
    let c = mk(&s, "c", &[a, b]).await;
    assert!(
        matches!(s.complete(b, None, false, T0).await, Err(StoreError::Blocked { blocked_by }) if blocked_by == vec![a])
    );
    let claim = s.claim(a, "x", 1000, false, T0).await.unwrap();
    let (changed, unblocked) = s
        .complete(a, Some(&claim.token), false, T0 + 10)
        .await
        .unwrap();
    assert_eq!(unblocked, [b]);
    let done = &changed.features[0];
    assert_eq!(
        (done.id, done.status, done.completed_at),
        (a, FeatureStatus::Done, Some(T0 + 10))
    );
    assert_eq!(done.claimed_by, None);
    let (_, unblocked) = s.complete(b, None, false, T0 + 20).await.unwrap();
    assert_eq!(unblocked, [c]);
}

#[tokio::test]
async fn delete_with_dependents_needs_detach() {
    let (_d, s) = store().await;
    let a = mk(&s, "a", &[]).await;
    let b = mk(&s, "b", &[a]).await;
    let c = mk(&s, "c", &[a]).await;
    let before = s.list();
    assert!(
        matches!(s.delete(a, false, T0).await, Err(StoreError::HasDependents(d)) if d == vec![b, c])
    );
    assert_eq!(s.list(), before);
    let changed = s.delete(a, true, T0).await.unwrap();
    assert_eq!(changed.deleted, [a]);
    let ids: Vec<i64> = changed.features.iter().map(|f| f.id).collect();
    assert_eq!(ids, [b, c]);
    assert!(
        changed
            .features
            .iter()
            .all(|f| f.dependencies.is_empty() && f.version == 2)
    );
    assert_eq!(s.list().len(), 2);
}

#[tokio::test]
async fn dependency_edges_are_idempotent() {
    let (_d, s) = store().await;
    let a = mk(&s, "a", &[]).await;
    let b = mk(&s, "b", &[]).await;
    assert_eq!(
        s.add_dependency(b, a, T0).await.unwrap().features[0].dependencies,
        [a]
    );
    assert_eq!(
        s.add_dependency(b, a, T0).await.unwrap(),
        Changed::default()
    );
    assert_eq!(s.get(b).unwrap().version, 2);
    assert!(
        s.remove_dependency(b, a, T0).await.unwrap().features[0]
            .dependencies
            .is_empty()
    );
    assert_eq!(
        s.remove_dependency(b, a, T0).await.unwrap(),
        Changed::default()
    );
    assert!(matches!(
        s.add_dependency(999, a, T0).await,
        Err(StoreError::NotFound(999))
    ));
}

#[tokio::test]
async fn reopen_only_from_done() {
    let (_d, s) = store().await;
    let a = mk(&s, "a", &[]).await;
    assert!(matches!(
        s.reopen(a, T0).await,
        Err(StoreError::InvalidTransition {
            from: FeatureStatus::Pending,
            to: FeatureStatus::Pending
        })
    ));
    s.complete(a, None, false, T0).await.unwrap();
    let f = &s.reopen(a, T0 + 1).await.unwrap().features[0];
    assert_eq!((f.status, f.completed_at), (FeatureStatus::Pending, None));
    assert!(matches!(
        s.reopen(a, T0 + 2).await,
        Err(StoreError::InvalidTransition { .. })
    ));
}

#[tokio::test]
async fn sweep_moves_to_needs_input_after_three_failures() {
    let (_d, s) = store().await;
    let a = mk(&s, "a", &[]).await;
    for attempt in 1..=MAX_ATTEMPTS {
        let now = T0 + attempt * 10_000;
        s.claim_next("x", 1000, now).await.unwrap().unwrap();
        assert!(
            s.sweep_expired(now + 999)
                .await
                .unwrap()
                .features
                .is_empty()
        );
        let changed = s.sweep_expired(now + 1000).await.unwrap();
        let f = &changed.features[0];
        assert_eq!(
            (f.id, f.attempts, f.claimed_by.as_deref()),
            (a, attempt, None)
        );
        let want = if attempt < MAX_ATTEMPTS {
            FeatureStatus::Pending
        } else {
            FeatureStatus::NeedsInput
        };
        assert_eq!(f.status, want);
    }
    assert_eq!(
        s.claim_next("x", 1000, T0 * 2).await.unwrap(),
        Err(EmptyReason::AllBlocked)
    );
}

#[tokio::test]
async fn reorder_renumbers_priorities() {
    let (_d, s) = store().await;
    let mut ids: Vec<i64> = Vec::new();
    for i in 0..4 {
        ids.push(mk(&s, &format!("f{i}"), &[]).await);
    }
    s.reorder(ids[3], Some(ids[1]), None, T0).await.unwrap();
    s.reorder(ids[0], None, Some(ids[2]), T0).await.unwrap();
    let mut queue: Vec<(i64, i64)> = s.list().iter().map(|f| (f.priority, f.id)).collect();
    queue.sort_unstable();
    let order: Vec<i64> = queue.iter().map(|&(_, id)| id).collect();
    assert_eq!(order, [ids[3], ids[1], ids[2], ids[0]]);
    assert_eq!(
        queue.iter().map(|&(p, _)| p).collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );
}

/// Moving a feature to the front of the queue makes it the next claim, even when a done
/// prerequisite of it sits at the back, and the pending prerequisite of urgent work is
/// claimed before anything ranked between them.
#[tokio::test]
async fn the_queue_follows_reorders_through_dependencies() {
    let (_d, s) = store().await;
    let y = mk(&s, "y", &[]).await;
    let z = mk(&s, "z", &[]).await;
    s.complete(z, None, true, T0).await.unwrap();
    let x = mk(&s, "x", &[z]).await;
    s.reorder(x, Some(y), None, T0).await.unwrap();
    assert_eq!(
        s.claim_next("a", 1000, T0)
            .await
            .unwrap()
            .unwrap()
            .feature
            .id,
        x
    );

    let p = mk(&s, "prerequisite", &[]).await;
    let urgent = mk(&s, "urgent", &[p]).await;
    s.reorder(urgent, Some(y), None, T0).await.unwrap();
    assert_eq!(
        s.claim_next("b", 1000, T0)
            .await
            .unwrap()
            .unwrap()
            .feature
            .id,
        p
    );
}

#[tokio::test]
async fn reopening_the_file_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("flow.db");
    let before = {
        let s = FeatureStore::open(&path).await.unwrap();
        let a = mk(&s, "a", &[]).await;
        mk(&s, "b", &[a]).await;
        s.claim(a, "x", 60_000, false, T0).await.unwrap();
        s.list()
    };
    let s = FeatureStore::open(&path).await.unwrap();
    assert_eq!(s.list(), before);
    assert!(mk(&s, "c", &[]).await > before.last().unwrap().id);
}

#[tokio::test]
async fn newer_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("flow.db");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
    }
    let err = FeatureStore::open(&path).await.unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::TooNew {
                found: 99,
                supported: SCHEMA_VERSION
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("newer"));
}

#[tokio::test]
async fn in_memory_store_works() {
    let s = FeatureStore::open_in_memory().await.unwrap();
    let a = mk(&s, "a", &[]).await;
    assert_eq!(s.get(a).unwrap().name, "a");
}

#[tokio::test]
async fn events_are_logged_for_every_change() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("flow.db");
    let s = FeatureStore::open(&path).await.unwrap();
    let a = mk(&s, "a", &[]).await;
    s.complete(a, None, false, T0).await.unwrap();
    s.reopen(a, T0).await.unwrap();
    drop(s);
    let conn = rusqlite::Connection::open(&path).unwrap();
    let mut stmt = conn
        .prepare("SELECT kind FROM feature_events ORDER BY id")
        .unwrap();
    let kinds: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(kinds, ["created", "completed", "reopened"]);
}

/// Everything in `dir`, with contents: to show a refused file was left exactly as it was.
fn snapshot(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

#[tokio::test]
async fn another_applications_database_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.db");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('mine');")
            .unwrap();
    }
    let before = snapshot(dir.path());
    let err = FeatureStore::open(&path).await.unwrap_err();
    assert_eq!(err.code(), "database_not_flow");
    let msg = err.to_string();
    assert!(msg.contains("notes.db") && msg.contains("notes"), "{msg}");
    assert_eq!(
        snapshot(dir.path()),
        before,
        "no table, journal or WAL file added"
    );

    // Another application that marks its files, and a file that is not SQLite at all.
    let marked = dir.path().join("marked.db");
    {
        let conn = rusqlite::Connection::open(&marked).unwrap();
        conn.pragma_update(None, "application_id", 0x1234_i64)
            .unwrap();
    }
    let err = FeatureStore::open(&marked).await.unwrap_err().to_string();
    assert!(err.contains("another application"), "{err}");
    let text = dir.path().join("readme.txt");
    flow_core::fs::write_atomic(
        &text,
        b"just some text, long enough to not be a database header",
    )
    .unwrap();
    let before = snapshot(dir.path());
    let err = FeatureStore::open(&text).await.unwrap_err().to_string();
    assert!(
        err.contains("readme.txt") && err.contains("not a SQLite database"),
        "{err}"
    );
    assert_eq!(snapshot(dir.path()), before);
}

#[tokio::test]
async fn flows_own_database_is_marked_and_reopened() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("flow.db");
    let s = FeatureStore::open(&path).await.unwrap();
    mk(&s, "kept", &[]).await;
    drop(s);
    let app: i64 = rusqlite::Connection::open(&path)
        .unwrap()
        .pragma_query_value(None, "application_id", |r| r.get(0))
        .unwrap();
    assert_eq!(app, 0x466C_6F77, "marked as Flow's");
    // A store written before the mark existed is still Flow's: adopted and marked.
    rusqlite::Connection::open(&path)
        .unwrap()
        .pragma_update(None, "application_id", 0_i64)
        .unwrap();
    let s = FeatureStore::open(&path).await.unwrap();
    assert_eq!(s.list().len(), 1);
}

/// PostgreSQL refuses what SQLite refuses: a schema from a newer Flow, and a database whose
/// tables Flow did not create. (Skipped without a server; `scripts/test` always has one.)
#[tokio::test]
async fn postgres_refuses_a_newer_or_foreign_schema() {
    let Ok(admin) = std::env::var("FLOW_TEST_POSTGRES") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "run through ./scripts/test"
        );
        return;
    };
    let newer = fresh_postgres_database(&admin).await;
    drop(FeatureStore::connect_postgres(&newer).await.unwrap());
    let (client, conn) = tokio_postgres::connect(&newer, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    client
        .batch_execute("UPDATE flow_schema SET version = 99")
        .await
        .unwrap();
    let err = FeatureStore::connect_postgres(&newer).await.unwrap_err();
    assert_eq!(err.code(), "database_too_new", "{err}");

    let foreign = fresh_postgres_database(&admin).await;
    let (client, conn) = tokio_postgres::connect(&foreign, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    client
        .batch_execute(
            "CREATE TABLE features (id int, title text); INSERT INTO features VALUES (1, 'theirs')",
        )
        .await
        .unwrap();
    let err = FeatureStore::connect_postgres(&foreign).await.unwrap_err();
    assert_eq!(err.code(), "database_not_flow", "{err}");
    let kept: i64 = client
        .query_one("SELECT count(*) FROM features", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(kept, 1, "their table is untouched");

    // A row it cannot read is refused, not guessed at (a guess would be written back).
    let broken = fresh_postgres_database(&admin).await;
    let s = FeatureStore::connect_postgres(&broken).await.unwrap();
    mk(&s, "mangled", &[]).await;
    drop(s);
    let (client, conn) = tokio_postgres::connect(&broken, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    client
        .batch_execute("UPDATE features SET steps = 'not json'")
        .await
        .unwrap();
    let err = FeatureStore::connect_postgres(&broken).await.unwrap_err();
    assert!(matches!(err, StoreError::Corrupt(_)), "{err}");
    let kept: String = client
        .query_one("SELECT steps FROM features", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(kept, "not json");

    let err = FeatureStore::connect_postgres("postgres://nobody@127.0.0.1:1/none")
        .await
        .unwrap_err();
    assert_eq!(err.code(), "database_unavailable", "{err}");
}

/// Two stores on one database (two processes on a SQLite file, two servers on PostgreSQL):
/// the one that did not write sees the other's changes without writing itself (SQLite: within
/// the poll; PostgreSQL: by notification, or the catch-up once its listener is up) and
/// announces them.
#[tokio::test]
async fn a_second_store_on_the_database_follows_the_first() {
    let (place, s) = store().await;
    let other = place.open().await;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    other.on_change(move |c| {
        let _ = tx.send(c.added.clone());
    });
    let id = mk(&s, "written elsewhere", &[]).await;
    let added = tokio::time::timeout(std::time::Duration::from_secs(10), rx.recv())
        .await
        .expect("the other store caught up")
        .unwrap();
    assert_eq!(added, [id]);
    assert_eq!(other.get(id).unwrap().name, "written elsewhere");
}

#[tokio::test]
async fn old_heartbeat_lines_are_pruned() {
    let (_place, s) = store().await;
    let a = mk(&s, "a", &[]).await;
    let claim = s.claim(a, "agent", 60_000, false, T0).await.unwrap();
    for i in 1..=3 {
        s.heartbeat(a, &claim.token, 60_000, T0 + i).await.unwrap();
    }
    assert_eq!(
        s.prune_heartbeats(T0 + 3, 0).await.unwrap(),
        2,
        "older than the cut"
    );
    assert_eq!(s.prune_heartbeats(T0 + 1_000, 0).await.unwrap(), 1);
    // The claim itself and what it says are untouched.
    assert_eq!(s.get(a).unwrap().claimed_by.as_deref(), Some("agent"));
}
