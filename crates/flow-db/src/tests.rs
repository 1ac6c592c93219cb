//! Tests of the feature store against real SQLite files in a temporary directory.

use std::sync::{Arc, Barrier};

use crate::*;

const T0: i64 = 1_700_000_000_000;

fn store() -> (tempfile::TempDir, FeatureStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = FeatureStore::open(&dir.path().join("nested/flow.db")).unwrap();
    (dir, store)
}

fn new(name: &str, deps: &[i64]) -> NewFeature {
    NewFeature {
        name: name.into(),
        dependencies: deps.to_vec(),
        ..NewFeature::default()
    }
}

fn mk(s: &FeatureStore, name: &str, deps: &[i64]) -> i64 {
    s.create(new(name, deps), T0).unwrap().id
}

#[test]
fn crud_round_trip() {
    let (_d, s) = store();
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
        .unwrap();
    assert_eq!(a.name, "CSV export");
    assert_eq!(
        (a.version, a.status, a.priority),
        (1, FeatureStatus::Pending, 1)
    );
    let b = mk(&s, "b", &[a.id, a.id]);
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
    let changed = s.update(a.id, patch, Some(1), T0 + 5).unwrap();
    assert_eq!(changed.features.len(), 1);
    let a2 = s.get(a.id).unwrap();
    assert_eq!(
        (a2.version, a2.updated_at, a2.description.as_str()),
        (2, T0 + 5, "new")
    );
    assert!(a2.steps[0].done);
    assert_eq!(s.list().unwrap().len(), 2);

    let changed = s.delete(b, false, T0).unwrap();
    assert_eq!(changed.deleted, [b]);
    assert!(matches!(s.get(b), Err(StoreError::NotFound(id)) if id == b));
    // Ids are never reused.
    assert!(mk(&s, "c", &[]) > b);
}

#[test]
fn validation_errors_and_codes() {
    let (_d, s) = store();
    let a = mk(&s, "a", &[]);
    let b = mk(&s, "b", &[a]);
    let code = |r: Result<Changed, StoreError>| r.unwrap_err().code();

    assert_eq!(
        s.create(new(" ", &[]), T0).unwrap_err().code(),
        "validation_failed"
    );
    assert_eq!(
        s.create(new("x", &[999]), T0).unwrap_err().code(),
        "unknown_dependency"
    );
    assert_eq!(s.get(999).unwrap_err().code(), "feature_not_found");
    assert_eq!(code(s.add_dependency(a, a, T0)), "self_dependency");
    assert_eq!(code(s.add_dependency(a, 999, T0)), "unknown_dependency");
    match s.add_dependency(a, b, T0) {
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
    match s.update(b, start.clone(), None, T0) {
        Err(e @ StoreError::Blocked { .. }) => {
            assert_eq!(e.code(), "feature_blocked");
            assert!(matches!(e, StoreError::Blocked { ref blocked_by } if *blocked_by == vec![a]));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        code(s.update(b, start.clone(), Some(7), T0)),
        "version_mismatch"
    );
    assert!(matches!(
        s.update(b, start.clone(), Some(7), T0),
        Err(StoreError::VersionMismatch { current: 1 })
    ));
    let forced = FeaturePatch {
        force: true,
        ..start
    };
    let f = &s.update(b, forced, None, T0 + 1).unwrap().features[0];
    assert_eq!(
        (f.status, f.started_at),
        (FeatureStatus::InProgress, Some(T0 + 1))
    );

    s.complete(a, None, false, T0 + 2).unwrap();
    let back = FeaturePatch {
        status: Some(FeatureStatus::Pending),
        ..FeaturePatch::default()
    };
    assert_eq!(code(s.update(a, back, None, T0)), "invalid_transition");
    assert_eq!(code(s.delete(a, false, T0)), "has_dependents");
    assert_eq!(code(s.reopen(b, T0)), "invalid_transition");
    assert_eq!(code(s.reorder(a, None, None, T0)), "validation_failed");
    let blank = FeaturePatch {
        name: Some("".into()),
        ..FeaturePatch::default()
    };
    assert_eq!(code(s.update(a, blank, None, T0)), "validation_failed");
    assert_eq!(
        s.claim_next("", 1000, T0).unwrap_err().code(),
        "validation_failed"
    );

    let claim = s.claim(b, "agent-1", 1000, true, T0).unwrap();
    let other = s.claim(b, "agent-2", 1000, false, T0).unwrap_err();
    assert_eq!(other.code(), "claimed_by_other");
    assert_eq!(
        s.heartbeat(b, "nope", 1000, T0).unwrap_err().code(),
        "lease_lost"
    );
    assert!(s.heartbeat(b, &claim.token, 1000, T0 + 1).is_ok());
    let too_new = StoreError::TooNew {
        found: 99,
        supported: 1,
    };
    assert!(too_new.to_string().contains("99"));
}

#[test]
fn status_strings_round_trip() {
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

#[test]
fn cycles_leave_the_database_unchanged() {
    let (_d, s) = store();
    let a = mk(&s, "a", &[]);
    let b = mk(&s, "b", &[a]);
    let c = mk(&s, "c", &[b]);
    let before = s.list().unwrap();

    let patch = FeaturePatch {
        dependencies: Some(vec![c]),
        name: Some("renamed".into()),
        ..FeaturePatch::default()
    };
    assert!(
        matches!(s.update(a, patch, None, T0 + 1), Err(StoreError::Cycle(p)) if p == vec![a, c, b, a])
    );
    assert_eq!(s.list().unwrap(), before);

    assert!(matches!(
        s.add_dependency(a, c, T0 + 1),
        Err(StoreError::Cycle(_))
    ));
    assert_eq!(s.list().unwrap(), before);

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
    assert!(s.create_bulk(items, T0 + 1).is_err());
    assert_eq!(s.list().unwrap(), before);
}

#[test]
fn bulk_create_with_refs_and_indexed_errors() {
    let (_d, s) = store();
    let base = mk(&s, "base", &[]);
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
        .unwrap();
    assert_eq!(made.len(), 3);
    assert_eq!(made[1].dependencies, [made[0].id]);
    assert_eq!(made[2].dependencies, [base, made[0].id, made[1].id]);

    let before = s.list().unwrap();
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
    assert_eq!(s.list().unwrap(), before);

    let too_many = (0..=MAX_BULK)
        .map(|i| item(&format!("f{i}"), None, &[], &[]))
        .collect();
    assert_eq!(
        s.create_bulk(too_many, T0).unwrap_err().code(),
        "validation_failed"
    );
}

#[test]
fn long_chain_still_accepts_a_dependency() {
    let (_d, s) = store();
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
    let made = s.create_bulk(items, T0).unwrap();
    let (first, last) = (made[0].id, made[499].id);
    let extra = mk(&s, "extra", &[]);
    s.add_dependency(extra, last, T0).unwrap();
    let err = s.add_dependency(first, extra, T0).unwrap_err();
    let StoreError::Cycle(path) = err else {
        panic!("{err:?}")
    };
    assert_eq!(path.len(), 502);
    assert_eq!((path[0], path[1], path[2]), (first, extra, last));
}

#[test]
fn concurrent_claims_are_exclusive() {
    for round in 0..20 {
        let (_d, s) = store();
        for i in 0..10 {
            mk(&s, &format!("f{i}"), &[]);
        }
        let s = Arc::new(s);
        let barrier = Arc::new(Barrier::new(16));
        let handles: Vec<_> = (0..16)
            .map(|t| {
                let (s, barrier) = (s.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    s.claim_next(&format!("agent-{t}"), 60_000, T0).unwrap()
                })
            })
            .collect();
        let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
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

#[test]
fn claim_next_order_and_reasons() {
    let (_d, s) = store();
    assert_eq!(
        s.claim_next("a", 1000, T0).unwrap(),
        Err(EmptyReason::Empty)
    );
    let a = mk(&s, "a", &[]);
    let b = mk(&s, "b", &[a]);
    let c = mk(&s, "c", &[]);
    s.reorder(c, Some(a), None, T0).unwrap();
    let first = s.claim_next("x", 1000, T0).unwrap().unwrap();
    assert_eq!(first.feature.id, c);
    assert_eq!(first.feature.status, FeatureStatus::InProgress);
    assert_eq!(first.feature.claimed_by.as_deref(), Some("x"));
    assert_eq!(first.token.len(), 32);
    let second = s.claim_next("y", 1000, T0).unwrap().unwrap();
    assert_eq!(second.feature.id, a);
    assert_eq!(
        s.claim_next("z", 1000, T0).unwrap(),
        Err(EmptyReason::AllClaimed)
    );
    s.complete(c, Some(&first.token), false, T0).unwrap();
    s.update(
        a,
        FeaturePatch {
            status: Some(FeatureStatus::Cancelled),
            ..FeaturePatch::default()
        },
        None,
        T0,
    )
    .unwrap();
    assert_eq!(
        s.claim_next("z", 1000, T0).unwrap(),
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
    .unwrap();
    assert_eq!(
        s.claim_next("z", 1000, T0).unwrap(),
        Err(EmptyReason::AllDone)
    );
}

#[test]
fn expired_lease_is_claimable_and_old_token_is_lost() {
    let (_d, s) = store();
    let a = mk(&s, "a", &[]);
    let old = s.claim_next("one", 1000, T0).unwrap().unwrap();
    assert_eq!(
        s.claim_next("two", 1000, T0 + 999).unwrap(),
        Err(EmptyReason::AllClaimed)
    );
    let new = s.claim_next("two", 1000, T0 + 1000).unwrap().unwrap();
    assert_eq!(new.feature.id, a);
    assert_ne!(new.token, old.token);
    assert_eq!(new.lease_expires_at, T0 + 2000);
    for err in [
        s.heartbeat(a, &old.token, 1000, T0 + 1001).unwrap_err(),
        s.release(a, &old.token, false, T0 + 1001).unwrap_err(),
        s.complete(a, Some(&old.token), false, T0 + 1001)
            .unwrap_err(),
    ] {
        assert!(matches!(err, StoreError::LeaseLost), "{err:?}");
    }
    // The new claim is intact; once it expires, even its own token is lost.
    assert!(s.heartbeat(a, &new.token, 1000, T0 + 1500).is_ok());
    assert!(matches!(
        s.heartbeat(a, &new.token, 1000, T0 + 2500),
        Err(StoreError::LeaseLost)
    ));
    let released = s.claim(a, "three", 1000, false, T0 + 3000).unwrap();
    let changed = s.release(a, &released.token, true, T0 + 3001).unwrap();
    let f = &changed.features[0];
    assert_eq!(
        (f.status, f.attempts, f.claimed_by.as_deref()),
        (FeatureStatus::Pending, 1, None)
    );
}

#[test]
fn completing_a_unblocks_b() {
    let (_d, s) = store();
    let a = mk(&s, "a", &[]);
    let b = mk(&s, "b", &[a]);
    let c = mk(&s, "c", &[a, b]);
    assert!(
        matches!(s.complete(b, None, false, T0), Err(StoreError::Blocked { blocked_by }) if blocked_by == vec![a])
    );
    let claim = s.claim(a, "x", 1000, false, T0).unwrap();
    let (changed, unblocked) = s.complete(a, Some(&claim.token), false, T0 + 10).unwrap();
    assert_eq!(unblocked, [b]);
    let done = &changed.features[0];
    assert_eq!(
        (done.id, done.status, done.completed_at),
        (a, FeatureStatus::Done, Some(T0 + 10))
    );
    assert_eq!(done.claimed_by, None);
    let (_, unblocked) = s.complete(b, None, false, T0 + 20).unwrap();
    assert_eq!(unblocked, [c]);
}

#[test]
fn delete_with_dependents_needs_detach() {
    let (_d, s) = store();
    let a = mk(&s, "a", &[]);
    let b = mk(&s, "b", &[a]);
    let c = mk(&s, "c", &[a]);
    let before = s.list().unwrap();
    assert!(matches!(s.delete(a, false, T0), Err(StoreError::HasDependents(d)) if d == vec![b, c]));
    assert_eq!(s.list().unwrap(), before);
    let changed = s.delete(a, true, T0).unwrap();
    assert_eq!(changed.deleted, [a]);
    let ids: Vec<i64> = changed.features.iter().map(|f| f.id).collect();
    assert_eq!(ids, [b, c]);
    assert!(
        changed
            .features
            .iter()
            .all(|f| f.dependencies.is_empty() && f.version == 2)
    );
    assert_eq!(s.list().unwrap().len(), 2);
}

#[test]
fn dependency_edges_are_idempotent() {
    let (_d, s) = store();
    let a = mk(&s, "a", &[]);
    let b = mk(&s, "b", &[]);
    assert_eq!(
        s.add_dependency(b, a, T0).unwrap().features[0].dependencies,
        [a]
    );
    assert_eq!(s.add_dependency(b, a, T0).unwrap(), Changed::default());
    assert_eq!(s.get(b).unwrap().version, 2);
    assert!(
        s.remove_dependency(b, a, T0).unwrap().features[0]
            .dependencies
            .is_empty()
    );
    assert_eq!(s.remove_dependency(b, a, T0).unwrap(), Changed::default());
    assert!(matches!(
        s.add_dependency(999, a, T0),
        Err(StoreError::NotFound(999))
    ));
}

#[test]
fn reopen_only_from_done() {
    let (_d, s) = store();
    let a = mk(&s, "a", &[]);
    assert!(matches!(
        s.reopen(a, T0),
        Err(StoreError::InvalidTransition {
            from: FeatureStatus::Pending,
            to: FeatureStatus::Pending
        })
    ));
    s.complete(a, None, false, T0).unwrap();
    let f = &s.reopen(a, T0 + 1).unwrap().features[0];
    assert_eq!((f.status, f.completed_at), (FeatureStatus::Pending, None));
    assert!(matches!(
        s.reopen(a, T0 + 2),
        Err(StoreError::InvalidTransition { .. })
    ));
}

#[test]
fn sweep_moves_to_needs_input_after_three_failures() {
    let (_d, s) = store();
    let a = mk(&s, "a", &[]);
    for attempt in 1..=MAX_ATTEMPTS {
        let now = T0 + attempt * 10_000;
        s.claim_next("x", 1000, now).unwrap().unwrap();
        assert!(s.sweep_expired(now + 999).unwrap().features.is_empty());
        let changed = s.sweep_expired(now + 1000).unwrap();
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
        s.claim_next("x", 1000, T0 * 2).unwrap(),
        Err(EmptyReason::AllBlocked)
    );
}

#[test]
fn reorder_renumbers_priorities() {
    let (_d, s) = store();
    let ids: Vec<i64> = (0..4).map(|i| mk(&s, &format!("f{i}"), &[])).collect();
    s.reorder(ids[3], Some(ids[1]), None, T0).unwrap();
    s.reorder(ids[0], None, Some(ids[2]), T0).unwrap();
    let mut queue: Vec<(i64, i64)> = s
        .list()
        .unwrap()
        .iter()
        .map(|f| (f.priority, f.id))
        .collect();
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
#[test]
fn the_queue_follows_reorders_through_dependencies() {
    let (_d, s) = store();
    let y = mk(&s, "y", &[]);
    let z = mk(&s, "z", &[]);
    s.complete(z, None, true, T0).unwrap();
    let x = mk(&s, "x", &[z]);
    s.reorder(x, Some(y), None, T0).unwrap();
    assert_eq!(s.claim_next("a", 1000, T0).unwrap().unwrap().feature.id, x);

    let p = mk(&s, "prerequisite", &[]);
    let urgent = mk(&s, "urgent", &[p]);
    s.reorder(urgent, Some(y), None, T0).unwrap();
    assert_eq!(s.claim_next("b", 1000, T0).unwrap().unwrap().feature.id, p);
}

#[test]
fn reopening_the_file_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("flow.db");
    let before = {
        let s = FeatureStore::open(&path).unwrap();
        let a = mk(&s, "a", &[]);
        mk(&s, "b", &[a]);
        s.claim(a, "x", 60_000, false, T0).unwrap();
        s.list().unwrap()
    };
    let s = FeatureStore::open(&path).unwrap();
    assert_eq!(s.list().unwrap(), before);
    assert!(mk(&s, "c", &[]) > before.last().unwrap().id);
}

#[test]
fn newer_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("flow.db");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
    }
    let err = FeatureStore::open(&path).unwrap_err();
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

#[test]
fn in_memory_store_works() {
    let s = FeatureStore::open_in_memory().unwrap();
    let a = mk(&s, "a", &[]);
    assert_eq!(s.get(a).unwrap().name, "a");
}

#[test]
fn events_are_logged_for_every_change() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("flow.db");
    let s = FeatureStore::open(&path).unwrap();
    let a = mk(&s, "a", &[]);
    s.complete(a, None, false, T0).unwrap();
    s.reopen(a, T0).unwrap();
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

#[test]
fn another_applications_database_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.db");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('mine');")
            .unwrap();
    }
    let before = snapshot(dir.path());
    let err = FeatureStore::open(&path).unwrap_err();
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
    let err = FeatureStore::open(&marked).unwrap_err().to_string();
    assert!(err.contains("another application"), "{err}");
    let text = dir.path().join("readme.txt");
    flow_core::fs::write_atomic(
        &text,
        b"just some text, long enough to not be a database header",
    )
    .unwrap();
    let before = snapshot(dir.path());
    let err = FeatureStore::open(&text).unwrap_err().to_string();
    assert!(
        err.contains("readme.txt") && err.contains("not a SQLite database"),
        "{err}"
    );
    assert_eq!(snapshot(dir.path()), before);
}

#[test]
fn flows_own_database_is_marked_and_reopened() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("flow.db");
    let s = FeatureStore::open(&path).unwrap();
    mk(&s, "kept", &[]);
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
    let s = FeatureStore::open(&path).unwrap();
    assert_eq!(s.list().unwrap().len(), 1);
}
