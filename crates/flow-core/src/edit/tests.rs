use std::time::Instant;

use super::imp;
use super::*;
use crate::lock::LockPolicy;

/// Short waits, so a test of a held lock takes milliseconds, not Claude Code's 2.6 s.
const QUICK: LockPolicy = LockPolicy {
    stale: Duration::from_secs(10),
    update: Duration::from_secs(5),
    retries: 4,
    min_wait: Duration::from_millis(1),
    max_wait: Duration::from_millis(4),
};

fn ids(s: &str, t: &str) -> (SessionId, TaskId) {
    (SessionId::parse(s).unwrap(), TaskId::parse(t).unwrap())
}

fn setup(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (rel, text) in files {
        let path = dir.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        crate::fs::write_atomic(&path, text.as_bytes()).unwrap();
    }
    dir
}

fn read(dir: &tempfile::TempDir, rel: &str) -> String {
    std::fs::read_to_string(dir.path().join(rel)).unwrap()
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

fn note(dir: &tempfile::TempDir, rel: (&str, &str), text: &str) -> Result<Noted, EditError> {
    let (s, t) = ids(rel.0, rel.1);
    imp::add_note(dir.path(), &s, &t, text, &QUICK, &mut || {})
}

fn note_with(dir: &tempfile::TempDir, hook: &mut dyn FnMut()) -> Result<Noted, EditError> {
    let (s, t) = ids("s", "1");
    imp::add_note(dir.path(), &s, &t, "n", &QUICK, hook)
}

const ADDED: &str = "\\n\\n---\\n\\n#### [Note added by user]\\n\\n";

#[test]
fn a_note_changes_the_description_and_not_one_other_byte() {
    let before = "{\n  \"id\": \"1\",\n  \"big\": 12345678901234567890123456789,\n  \"zero\": -0,\n  \"price\": 1.50,\n  \"huge\": 1e400,\n  \"name\": \"caf\\u00e9 \\/ \\ud83d\\ude00\",\n  \"description\": \"Do \\u00e9 it\",\n  \"zeta\": [1, {\"x\": null}],\n  \"status\": \"pending\"\n}\n";
    let dir = setup(&[("s/1.json", before)]);
    let noted = note(&dir, ("s", "1"), "  check \"logs\" é \n").unwrap();
    let after = before.replace(
        "\"Do \\u00e9 it\"",
        &format!("\"Do \\u00e9 it{ADDED}check \\\"logs\\\" é\""),
    );
    assert_eq!(read(&dir, "s/1.json"), after);
    assert_eq!(noted.task, Task::parse(after.as_bytes()).unwrap());
    assert_eq!(
        names(&dir.path().join("s")),
        ["1.json"],
        "no lock or temporary file is left, and no `.lock` is created"
    );
}

#[test]
fn a_missing_description_is_added_in_claude_codes_style() {
    let dir = setup(&[(
        "s/1.json",
        "{\n  \"id\": \"1\",\n  \"status\": \"pending\"\n}",
    )]);
    note(&dir, ("s", "1"), "x").unwrap();
    assert_eq!(
        read(&dir, "s/1.json"),
        format!(
            "{{\n  \"id\": \"1\",\n  \"status\": \"pending\",\n  \"description\": \"{ADDED}x\"\n}}"
        )
    );
}

#[test]
fn note_errors_are_precise_and_touch_nothing() {
    let dir = setup(&[("s/1.json", "{\"id\":\"1\"}"), ("s/2.json", "{\"id\":")]);
    let (s, one) = ids("s", "1");
    assert!(matches!(
        add_note(dir.path(), &s, &one, " \n"),
        Err(EditError::EmptyNote)
    ));
    assert!(matches!(
        note(&dir, ("s", "9"), "x"),
        Err(EditError::TaskNotFound)
    ));
    assert!(matches!(
        note(&dir, ("nope", "1"), "x"),
        Err(EditError::SessionNotFound)
    ));
    assert!(matches!(
        note(&dir, ("s", "2"), "x"),
        Err(EditError::Unreadable(_))
    ));
    assert_eq!(read(&dir, "s/2.json"), "{\"id\":");
    assert_eq!(names(&dir.path().join("s")), ["1.json", "2.json"]);
}

#[test]
fn special_files_and_links_are_refused_at_once() {
    let dir = setup(&[("s/1.json", "{}"), ("real/1.json", "{\"id\":\"1\"}")]);
    let p = |rel: &str| dir.path().join(rel);
    rustix::fs::mkfifoat(
        rustix::fs::CWD,
        p("s/2.json").as_path(),
        rustix::fs::Mode::from_bits_truncate(0o644),
    )
    .unwrap();
    std::os::unix::fs::symlink("/dev/zero", p("s/3.json")).unwrap();
    std::fs::create_dir(p("s/4.json")).unwrap();
    std::os::unix::fs::symlink(p("real/1.json"), p("s/5.json")).unwrap();
    std::fs::File::create(p("s/6.json"))
        .unwrap()
        .set_len(MAX_TASK_FILE + 1)
        .unwrap();
    std::os::unix::fs::symlink(p("real"), p("linked")).unwrap();
    let started = Instant::now();
    for (task, what) in [
        ("2", "is a FIFO"),
        ("3", "is a symbolic link"),
        ("4", "is a folder"),
        ("5", "is a symbolic link"),
    ] {
        match note(&dir, ("s", task), "x") {
            Err(EditError::Refused(msg)) => assert!(msg.contains(what), "{msg}"),
            other => panic!("{task}: {other:?}"),
        }
        let (s, t) = ids("s", task);
        match imp::delete_task(dir.path(), &s, &t, &QUICK) {
            Err(EditError::Refused(msg)) => assert!(msg.contains(what), "{msg}"),
            other => panic!("delete {task}: {other:?}"),
        }
    }
    assert!(matches!(
        note(&dir, ("s", "6"), "x"),
        Err(EditError::TooLarge { .. })
    ));
    match note(&dir, ("linked", "1"), "x") {
        Err(EditError::Refused(msg)) => assert!(msg.contains("symbolic link"), "{msg}"),
        other => panic!("{other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(read(&dir, "real/1.json"), "{\"id\":\"1\"}");
}

#[test]
fn a_held_claude_code_lock_is_waited_for_and_a_stale_one_taken() {
    let dir = setup(&[("s/1.json", "{\"id\":\"1\"}"), ("s/.lock", "")]);
    let lock = dir.path().join("s/1.json.lock");
    std::fs::create_dir(&lock).unwrap();
    assert!(matches!(
        note(&dir, ("s", "1"), "x"),
        Err(EditError::Lock(crate::lock::LockError::Busy { .. }))
    ));
    let (s, t) = ids("s", "1");
    assert!(matches!(
        imp::delete_task(dir.path(), &s, &t, &QUICK),
        Err(EditError::Lock(crate::lock::LockError::Busy { .. }))
    ));
    assert_eq!(read(&dir, "s/1.json"), "{\"id\":\"1\"}");

    // Released while Flow waits: the note goes through.
    let releaser = std::thread::spawn({
        let lock = lock.clone();
        move || {
            std::thread::sleep(Duration::from_millis(20));
            std::fs::remove_dir(lock).unwrap();
        }
    });
    let (s, t) = ids("s", "1");
    imp::add_note(
        dir.path(),
        &s,
        &t,
        "a",
        &LockPolicy::CLAUDE_CODE,
        &mut || {},
    )
    .unwrap();
    releaser.join().unwrap();

    // Left by a crashed agent 11 s ago: stale, taken.
    std::fs::create_dir(&lock).unwrap();
    let old = SystemTime::now() - Duration::from_secs(11);
    std::fs::File::open(&lock)
        .unwrap()
        .set_modified(old)
        .unwrap();
    note(&dir, ("s", "1"), "b").unwrap();
    assert_eq!(
        read(&dir, "s/1.json"),
        format!("{{\"id\":\"1\",\"description\":\"{ADDED}a{ADDED}b\"}}")
    );
    assert_eq!(names(&dir.path().join("s")), [".lock", "1.json"]);
}

/// An external writer that ignores the locks, at the worst moment: between Flow's read and
/// its swap.
#[test]
fn a_version_written_under_the_note_is_kept_and_the_note_applied_to_it() {
    let v1 = "{\"id\":\"1\",\"description\":\"d\",\"rev\":1}";
    let v2 = "{\"id\":\"1\",\"description\":\"d\",\"rev\":2}";
    let noted = format!("{{\"id\":\"1\",\"description\":\"d{ADDED}n\",\"rev\":2}}");
    // Replaced atomically (a new inode).
    let dir = setup(&[("s/1.json", v1)]);
    let path = dir.path().join("s/1.json");
    let mut once = Some(());
    note_with(&dir, &mut || {
        if once.take().is_some() {
            crate::fs::write_atomic(&path, v2.as_bytes()).unwrap();
        }
    })
    .unwrap();
    assert_eq!(read(&dir, "s/1.json"), noted);

    // Rewritten in place (the same inode, possibly the same mtime tick).
    let dir = setup(&[("s/1.json", v1)]);
    let path = dir.path().join("s/1.json");
    let mut once = Some(());
    note_with(&dir, &mut || {
        if once.take().is_some() {
            in_place(&path, v2);
        }
    })
    .unwrap();
    assert_eq!(read(&dir, "s/1.json"), noted);

    // Changing every time: refused, and the writer's last version stands.
    let dir = setup(&[("s/1.json", v1)]);
    let path = dir.path().join("s/1.json");
    let mut rev = 1;
    let res = note_with(&dir, &mut || {
        rev += 1;
        in_place(&path, &format!("{{\"id\":\"1\",\"rev\":{rev}}}"));
    });
    assert!(matches!(res, Err(EditError::Conflict)), "{res:?}");
    assert_eq!(
        read(&dir, "s/1.json"),
        format!("{{\"id\":\"1\",\"rev\":{rev}}}")
    );
    assert_eq!(names(&dir.path().join("s")), ["1.json"]);
}

#[test]
fn a_task_removed_under_the_note_is_not_recreated() {
    let dir = setup(&[("s/1.json", "{\"id\":\"1\"}")]);
    let path = dir.path().join("s/1.json");
    let res = note_with(&dir, &mut || {
        #[expect(clippy::disallowed_methods, reason = "plays an external rm")]
        std::fs::remove_file(&path).unwrap();
    });
    assert!(matches!(res, Err(EditError::TaskNotFound)), "{res:?}");
    assert_eq!(names(&dir.path().join("s")), Vec::<String>::new());
}

#[expect(clippy::disallowed_methods, reason = "plays an in-place writer")]
fn in_place(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}

#[test]
fn delete_refuses_while_others_depend_and_names_them_all() {
    let dir = setup(&[
        ("s/1.json", r#"{"id":"1","blockedBy":[]}"#),
        ("s/2.json", r#"{"id":"2","blockedBy":["1"]}"#),
        (
            "s/10.json",
            r#"{"id":"10","blockedBy":["3","1"],"status":"completed"}"#,
        ),
        ("s/3.json", r#"{"id":"3","blockedBy":[]}"#),
    ]);
    // Neighbours that are not task files are skipped, never read.
    std::os::unix::fs::symlink("/dev/urandom", dir.path().join("s/7.json")).unwrap();
    rustix::fs::mkfifoat(
        rustix::fs::CWD,
        dir.path().join("s/8.json").as_path(),
        rustix::fs::Mode::from_bits_truncate(0o644),
    )
    .unwrap();
    let del = |t: &str| {
        let (s, t) = ids("s", t);
        imp::delete_task(dir.path(), &s, &t, &QUICK)
    };
    match del("1") {
        Err(EditError::BlocksOthers { blocked_tasks }) => assert_eq!(blocked_tasks, ["2", "10"]),
        other => panic!("{other:?}"),
    }
    assert!(dir.path().join("s/1.json").exists());
    del("2").unwrap();
    assert!(!dir.path().join("s/2.json").exists());
    assert!(matches!(del("2"), Err(EditError::TaskNotFound)));
    assert_eq!(
        names(&dir.path().join("s")),
        ["1.json", "10.json", "3.json", "7.json", "8.json"]
    );
}
