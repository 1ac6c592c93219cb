//! The index over real files in a temporary Claude dir.

use std::path::Path;

use super::*;

struct Tree {
    dir: tempfile::TempDir,
}

impl Tree {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }
    fn layout(&self) -> Layout {
        Layout {
            tasks_dir: self.dir.path().join("tasks"),
            projects_dir: self.dir.path().join("projects"),
            sessions_dir: self.dir.path().join("sessions"),
            teams_dir: self.dir.path().join("teams"),
            plans_dir: self.dir.path().join("plans"),
            todos_dir: self.dir.path().join("todos"),
        }
    }
    fn write(&self, rel: &str, text: &str) {
        let path = self.dir.path().join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        crate::fs::write_atomic(&path, text.as_bytes()).unwrap();
    }
    fn path(&self, rel: &str) -> std::path::PathBuf {
        self.dir.path().join(rel)
    }
}

fn task_json(id: &str, status: &str) -> String {
    format!(
        r#"{{"id":"{id}","subject":"Task {id}","status":"{status}","blocks":[],"blockedBy":[]}}"#
    )
}

#[test]
fn scan_reads_sessions_tasks_and_metadata() {
    let t = Tree::new();
    let uuid = "0d9a7c1e-4b5f-4a3e-9c1d-2f6e8b7a9c10";
    t.write(
        &format!("tasks/{uuid}/1.json"),
        &task_json("1", "completed"),
    );
    t.write(
        &format!("tasks/{uuid}/2.json"),
        &task_json("2", "in_progress"),
    );
    t.write(&format!("tasks/{uuid}/10.json"), &task_json("10", "weird"));
    t.write(&format!("tasks/{uuid}/3.json"), "{\"id\":");
    t.write(&format!("tasks/{uuid}/.lock"), "");
    t.write(
        &format!("projects/-repo/{uuid}.jsonl"),
        "{\"type\":\"user\",\"cwd\":\"/repo\",\"slug\":\"brave-otter\"}\n\
         {\"type\":\"custom-title\",\"customTitle\":\"Renamed\"}\n",
    );
    t.write(
        "projects/-repo/sessions-index.json",
        &format!(r#"{{"version":1,"entries":[{{"sessionId":"{uuid}","summary":"S","gitBranch":"dev","created":"2026-01-02T03:04:05.006Z"}}]}}"#),
    );
    let index = Index::scan(t.layout());
    let s = index.summary(uuid).unwrap();
    assert_eq!(s.name, Some("Renamed"));
    assert_eq!(s.slug, Some("brave-otter"));
    assert_eq!(s.project, Some("/repo"));
    assert_eq!(s.description, Some("S"));
    assert_eq!(s.git_branch, Some("dev"));
    assert_eq!(s.created_at, Some("2026-01-02T03:04:05.006Z"));
    assert_eq!(s.task_count, 4);
    assert_eq!(
        s.counts,
        Counts {
            completed: 1,
            in_progress: 1,
            pending: 1
        }
    );
    let ids: Vec<_> = index.tasks(uuid).unwrap().iter().map(|r| r.id).collect();
    assert_eq!(ids, ["1", "2", "10"]);
}

#[test]
fn short_folder_names_link_only_to_a_unique_transcript() {
    let t = Tree::new();
    t.write("tasks/session-0d9a7c1e/1.json", &task_json("1", "pending"));
    t.write("tasks/session-abcdef01/1.json", &task_json("1", "pending"));
    t.write(
        "projects/-a/0d9a7c1e-0000-4000-8000-000000000000.jsonl",
        "{\"slug\":\"unique\"}\n",
    );
    t.write(
        "projects/-a/abcdef01-0000-4000-8000-000000000001.jsonl",
        "{\"slug\":\"x\"}\n",
    );
    t.write(
        "projects/-b/abcdef01-0000-4000-8000-000000000002.jsonl",
        "{\"slug\":\"y\"}\n",
    );
    let index = Index::scan(t.layout());
    assert_eq!(
        index.summary("session-0d9a7c1e").unwrap().slug,
        Some("unique")
    );
    assert_eq!(index.summary("session-abcdef01").unwrap().slug, None);
}

#[test]
fn apply_reports_add_change_unlink_and_folders() {
    let t = Tree::new();
    let mut index = Index::scan(t.layout());
    assert_eq!(
        index.session_count(),
        0,
        "missing roots are empty, not errors"
    );

    t.write("tasks/s1/1.json", &task_json("1", "pending"));
    let deltas = index.apply([Change::TaskFile {
        session: "s1".into(),
        file: "1.json".into(),
    }]);
    assert_eq!(
        deltas,
        [
            Delta::SessionAdded {
                session: "s1".into()
            },
            Delta::Task {
                session: "s1".into(),
                file: "1.json".into(),
                event: FileEvent::Add
            }
        ]
    );

    t.write("tasks/s1/1.json", &task_json("1", "completed"));
    let change = Change::TaskFile {
        session: "s1".into(),
        file: "1.json".into(),
    };
    let deltas = index.apply([change.clone(), change.clone()]);
    assert_eq!(
        deltas,
        [Delta::Task {
            session: "s1".into(),
            file: "1.json".into(),
            event: FileEvent::Change
        }]
    );
    assert!(
        index.apply([change.clone()]).is_empty(),
        "nothing changed on disk"
    );
    assert_eq!(index.summary("s1").unwrap().counts.completed, 1);

    #[expect(
        clippy::disallowed_methods,
        reason = "the test plays Claude Code deleting a task"
    )]
    fs::remove_file(t.path("tasks/s1/1.json")).unwrap();
    assert_eq!(
        index.apply([change]),
        [Delta::Task {
            session: "s1".into(),
            file: "1.json".into(),
            event: FileEvent::Unlink
        }]
    );

    #[expect(
        clippy::disallowed_methods,
        reason = "the test plays Claude Code closing a list"
    )]
    fs::remove_dir_all(t.path("tasks/s1")).unwrap();
    assert_eq!(
        index.apply([Change::SessionDir {
            session: "s1".into()
        }]),
        [Delta::SessionRemoved {
            session: "s1".into()
        }]
    );
}

#[test]
fn late_rename_is_metadata_and_reads_only_appended_bytes() {
    let t = Tree::new();
    t.write("tasks/u1/1.json", &task_json("1", "pending"));
    t.write("projects/-r/u1.jsonl", "{\"slug\":\"first\"}\n");
    let mut index = Index::scan(t.layout());
    assert_eq!(index.summary("u1").unwrap().name, Some("first"));

    let mut f = fs::OpenOptions::new()
        .append(true)
        .open(t.path("projects/-r/u1.jsonl"))
        .unwrap();
    std::io::Write::write_all(
        &mut f,
        b"{\"type\":\"custom-title\",\"customTitle\":\"Late\"}\n",
    )
    .unwrap();
    let change = Change::Transcript {
        project: "-r".into(),
        session: "u1".into(),
    };
    assert_eq!(index.apply([change.clone()]), [Delta::Metadata]);
    assert_eq!(index.summary("u1").unwrap().name, Some("Late"));
    assert!(index.apply([change]).is_empty());
}

#[test]
fn old_unlinked_transcripts_are_not_read_but_recent_ones_are() {
    let t = Tree::new();
    t.write("projects/-r/lonely.jsonl", "{\"slug\":\"x\"}\n");
    t.write("projects/-r/recent.jsonl", "{\"slug\":\"y\"}\n");
    let month_ago = SystemTime::now() - std::time::Duration::from_secs(30 * 24 * 3600);
    fs::File::open(t.dir.path().join("projects/-r/lonely.jsonl"))
        .unwrap()
        .set_modified(month_ago)
        .unwrap();
    let index = Index::scan(t.layout());
    assert!(index.transcripts["lonely"].cursor.is_none());
    assert!(Path::new(&index.transcripts["lonely"].path).exists());
    assert!(index.transcripts["recent"].cursor.is_some());
    assert_eq!(index.any_summary("recent").unwrap().name, Some("y"));
    assert_eq!(index.any_summary("lonely").unwrap().name, None);
}

#[test]
fn same_length_rewrite_within_one_mtime_tick_is_still_seen() {
    let t = Tree::new();
    t.write("tasks/s1/1.json", r#"{"id":"1","owner":"a1"}"#);
    let mut index = Index::scan(t.layout());
    let path = t.path("tasks/s1/1.json");
    let stamp_before = fs::metadata(&path).unwrap().modified().unwrap();
    // In place (same inode), same length, and the mtime forced back to the old value: only
    // the content differs.
    let mut f = fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(&path)
        .unwrap();
    std::io::Write::write_all(&mut f, br#"{"id":"1","owner":"a2"}"#).unwrap();
    f.set_modified(stamp_before).unwrap();
    drop(f);
    let change = Change::TaskFile {
        session: "s1".into(),
        file: "1.json".into(),
    };
    let deltas = index.apply([change]);
    assert_eq!(
        deltas,
        [Delta::Task {
            session: "s1".into(),
            file: "1.json".into(),
            event: FileEvent::Change
        }],
        "a file read within its mtime tick is re-read, not trusted by its stamp"
    );
    assert_eq!(
        index.task("s1", "1.json").unwrap().task.fields().unwrap()["owner"],
        "a2"
    );
}

#[test]
fn a_session_whose_read_panics_costs_only_that_session() {
    let ids: Vec<String> = ["a", "boom", "c"].map(String::from).to_vec();
    let read = read_each_isolated(&ids, |id| {
        assert_ne!(id, "boom", "a reader bug");
        Some(id.to_owned())
    });
    assert_eq!(read, ["a", "c"]);
}

#[test]
fn task_files_read_outside_the_index_commit_like_apply() {
    let t = Tree::new();
    t.write("tasks/s1/1.json", &task_json("1", "pending"));
    t.write("tasks/s1/2.json", &task_json("2", "pending"));
    let mut index = Index::scan(t.layout());
    t.write("tasks/s1/1.json", &task_json("1", "completed"));
    t.write("tasks/s1/3.json", &task_json("3", "pending"));
    #[expect(clippy::disallowed_methods, reason = "an agent removes a task")]
    fs::remove_file(t.path("tasks/s1/2.json")).unwrap();
    t.write("tasks/new/1.json", &task_json("1", "pending"));
    let file = |session: &str, name: &str| Change::TaskFile {
        session: session.into(),
        file: name.into(),
    };
    let batch = vec![
        file("s1", "1.json"),
        file("s1", "2.json"),
        file("s1", "3.json"),
        file("s1", "1.json"),
        file("new", "1.json"),
    ];
    let (pending, rest) = index.split_reads(batch);
    assert_eq!(pending.len(), 3, "repeats are read once");
    assert_eq!(
        rest,
        [file("new", "1.json")],
        "an unknown session takes the slow path"
    );
    let before = index.generation();
    let reads: Vec<TaskRead> = pending.into_iter().map(PendingRead::run).collect();
    let mut deltas = index.apply(rest);
    deltas.extend(index.apply_reads(reads));
    let task = |session: &str, name: &str, event| Delta::Task {
        session: session.into(),
        file: name.into(),
        event,
    };
    assert_eq!(
        deltas,
        [
            Delta::SessionAdded {
                session: "new".into()
            },
            task("new", "1.json", FileEvent::Add),
            task("s1", "1.json", FileEvent::Change),
            task("s1", "2.json", FileEvent::Unlink),
            task("s1", "3.json", FileEvent::Add),
        ]
    );
    assert!(index.generation() > before);
    assert_eq!(index.summary("s1").unwrap().counts.completed, 1);
    // Nothing changed since: a racy (just written) file may be read again, but yields nothing.
    let (pending, _) = index.split_reads(vec![file("s1", "1.json"), file("s1", "3.json")]);
    let reads = pending.into_iter().map(PendingRead::run).collect();
    assert!(index.apply_reads(reads).is_empty());
}

/// A team with one in-process member `w` whose tracker is in progress, and the given inbox
/// messages as `(inbox owner, from, protocol type or plain text, seconds ago, read)`.
fn team_state(messages: &[(&str, &str, &str, u64, bool)]) -> &'static str {
    let t = Tree::new();
    let ms =
        |ago: u64| crate::time::epoch_ms(SystemTime::now() - std::time::Duration::from_secs(ago));
    t.write(
        "teams/t/config.json",
        &format!(
            r#"{{"name":"t","leadSessionId":"7e1d0c2a-0000-4000-8000-000000000000","members":[
                {{"name":"team-lead","joinedAt":{j}}},
                {{"name":"w","joinedAt":{j},"backendType":"in-process"}}]}}"#,
            j = ms(1000)
        ),
    );
    t.write(
        "tasks/t/1.json",
        r#"{"id":"1","subject":"w","status":"in_progress","metadata":{"_internal":true}}"#,
    );
    let mut inboxes: std::collections::BTreeMap<&str, Vec<String>> = Default::default();
    for (owner, from, what, ago, read) in messages {
        let at =
            crate::time::rfc3339_millis(SystemTime::now() - std::time::Duration::from_secs(*ago));
        let text = if what.contains('_') {
            serde_json::json!({"type": what, "from": from}).to_string()
        } else {
            (*what).to_owned()
        };
        inboxes.entry(owner).or_default().push(
            serde_json::json!({"from": from, "text": text, "timestamp": at, "read": read})
                .to_string(),
        );
    }
    for (owner, list) in inboxes {
        t.write(
            &format!("teams/t/inboxes/{owner}.json"),
            &format!("[\n  {}\n]", list.join(",\n  ")),
        );
    }
    let index = Index::scan(t.layout());
    let team = index.team("t", SystemTime::now()).unwrap();
    team.members[1].state.as_str()
}

#[test]
fn member_states_follow_the_newest_evidence() {
    let idle = ("team-lead", "w", "idle_notification", 50, true);
    assert_eq!(team_state(&[]), "working", "tracker in progress");
    assert_eq!(team_state(&[idle]), "idle");
    // A message it has read wakes it; one it has not read yet does not.
    assert_eq!(
        team_state(&[idle, ("w", "team-lead", "Take #2", 40, true)]),
        "working"
    );
    assert_eq!(
        team_state(&[idle, ("w", "team-lead", "Take #2", 40, false)]),
        "idle"
    );
    // A shutdown request stops an idle member at once, a working one only once it approves.
    let request = ("w", "team-lead", "shutdown_request", 30, true);
    assert_eq!(team_state(&[idle, request]), "stopped");
    assert_eq!(team_state(&[request]), "working");
    assert_eq!(
        team_state(&[request, ("team-lead", "w", "shutdown_approved", 20, true)]),
        "stopped"
    );
    assert_eq!(
        team_state(&[
            idle,
            request,
            ("team-lead", "w", "shutdown_rejected", 20, true)
        ]),
        "working",
        "it refused"
    );
    assert_eq!(
        team_state(&[
            idle,
            request,
            ("team-lead", "w", "I still need a minute", 20, true)
        ]),
        "working",
        "it spoke after the request"
    );
    // Messages from before it joined (an earlier member of the same name) are not its own.
    assert_eq!(
        team_state(&[("team-lead", "w", "shutdown_approved", 5000, true)]),
        "working"
    );
    assert_eq!(
        team_state(&[("team-lead", "w", "idle_notification", 200_000, true)]),
        "working",
        "evidence before joining does not count, so the tracker decides"
    );
}

#[test]
fn a_team_list_links_to_its_lead_and_is_named_by_the_team() {
    let t = Tree::new();
    let lead = "7e1d0c2a-0000-4000-8000-000000000000";
    t.write(
        "teams/t/config.json",
        &format!(
            r#"{{"name":"t","description":"The team","leadSessionId":"{lead}","workingDir":"/w","members":[]}}"#
        ),
    );
    t.write("tasks/t/1.json", &task_json("1", "pending"));
    t.write(
        &format!("projects/-p/{lead}.jsonl"),
        "{\"type\":\"user\",\"slug\":\"calm-fox\",\"gitBranch\":\"main\"}\n",
    );
    let mut index = Index::scan(t.layout());
    let s = index.summary("t").unwrap();
    assert_eq!(s.name, Some("The team"));
    assert_eq!(s.slug, Some("calm-fox"));
    assert_eq!(s.project, Some("/w"));
    assert_eq!(s.team, Some("t"));
    assert_eq!(index.any_summary(lead).unwrap().team, Some("t"));
    // A rename of the lead names the list (the custom title outranks the description).
    {
        use std::io::Write;
        let mut f = fs::OpenOptions::new()
            .append(true)
            .open(t.path(&format!("projects/-p/{lead}.jsonl")))
            .unwrap();
        f.write_all(b"{\"type\":\"custom-title\",\"customTitle\":\"Mine\"}\n")
            .unwrap();
    }
    let deltas = index.apply([Change::Transcript {
        project: "-p".into(),
        session: lead.into(),
    }]);
    assert!(deltas.contains(&Delta::Metadata), "{deltas:?}");
    assert_eq!(index.summary("t").unwrap().name, Some("Mine"));
    // The team goes: the list is a list of its own again, and its team says so.
    #[expect(
        clippy::disallowed_methods,
        reason = "the test removes a team as TeamDelete does"
    )]
    std::fs::remove_dir_all(t.path("teams/t")).unwrap();
    let deltas = index.apply([Change::Team { team: "t".into() }]);
    assert!(
        deltas.contains(&Delta::TeamUpdate { team: "t".into() }),
        "{deltas:?}"
    );
    assert!(deltas.contains(&Delta::Metadata), "{deltas:?}");
    assert_eq!(index.summary("t").unwrap().team, None);
}

#[test]
fn a_read_overtaken_by_a_folder_re_read_in_the_same_batch_is_dropped() {
    let t = Tree::new();
    t.write("tasks/s1/1.json", &task_json("1", "pending"));
    let mut index = Index::scan(t.layout());
    t.write("tasks/s1/1.json", &task_json("1", "in_progress"));
    let batch = vec![
        Change::SessionDir {
            session: "s1".into(),
        },
        Change::TaskFile {
            session: "s1".into(),
            file: "1.json".into(),
        },
    ];
    let (pending, rest) = index.split_reads(batch);
    let reads: Vec<TaskRead> = pending.into_iter().map(PendingRead::run).collect();
    // A newer version lands before the folder is re-read in the same batch.
    t.write("tasks/s1/1.json", &task_json("1", "completed"));
    let mut deltas = index.apply(rest);
    deltas.extend(index.apply_reads(reads));
    let changes = deltas
        .iter()
        .filter(|d| matches!(d, Delta::Task { .. }))
        .count();
    assert_eq!(changes, 1, "one real change, not a repeat: {deltas:?}");
    assert_eq!(
        index.summary("s1").unwrap().counts.completed,
        1,
        "the newest version stays"
    );
}

#[test]
fn a_huge_transcript_is_read_in_steps_between_batches() {
    let t = Tree::new();
    t.write("tasks/u1/1.json", &task_json("1", "pending"));
    let mut index = Index::scan(t.layout());
    let filler = format!(
        "{{\"type\":\"assistant\",\"pad\":\"{}\"}}\n",
        "x".repeat(1000)
    );
    let mut text = String::from("{\"type\":\"user\",\"cwd\":\"/r\",\"slug\":\"calm-fox\"}\n");
    while (text.len() as u64) < TRANSCRIPT_STEP + (1 << 20) {
        text.push_str(&filler);
    }
    text.push_str("{\"type\":\"custom-title\",\"customTitle\":\"At the end\"}\n");
    t.write("projects/-r/u1.jsonl", &text);
    let change = Change::Transcript {
        project: "-r".into(),
        session: "u1".into(),
    };
    index.apply([change.clone()]);
    assert_eq!(
        index.summary("u1").unwrap().name,
        Some("calm-fox"),
        "the first step"
    );
    let more = index.take_unfinished();
    assert_eq!(more, [change], "the rest is due in a later batch");
    assert!(index.take_unfinished().is_empty(), "taken once");
    index.apply(more);
    assert_eq!(index.summary("u1").unwrap().name, Some("At the end"));
    assert!(index.take_unfinished().is_empty(), "read to the end");
}
