//! Flow's only edits to Claude Code's task files: appending a note and deleting a task. Both
//! address files through validated ids, so no request can reach outside the tasks dir.
//!
//! Invariants: a write keeps every field it did not mean to change (unknown ones too, in file
//! order) and Claude Code's 2-space formatting; it is atomic; and it refuses (`Conflict`)
//! rather than overwrite a file that changed between Flow's read and its write. Deleting is
//! the one place a file is removed, after the dependency check.

use std::io;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::ids::{SessionId, TaskId};
use crate::task::Task;

#[derive(Debug, thiserror::Error)]
pub enum EditError {
    #[error("Session not found")]
    SessionNotFound,
    #[error("Task not found")]
    TaskNotFound,
    #[error("Note cannot be empty")]
    EmptyNote,
    #[error("Task file is not a readable task ({0}); it was left untouched")]
    Unreadable(String),
    #[error("Task file changed on disk while it was being edited; re-read and retry")]
    Conflict,
    #[error("Cannot delete task that blocks other tasks")]
    BlocksOthers { blocked_tasks: Vec<String> },
    #[error("file system error: {0}")]
    Io(#[from] io::Error),
}

/// The separator Flow puts before a user's note (contract §3).
const NOTE_HEADER: &str = "\n\n---\n\n#### [Note added by user]\n\n";

fn task_path(tasks_dir: &Path, session: &SessionId, task: &TaskId) -> (PathBuf, PathBuf) {
    let dir = tasks_dir.join(session.as_str());
    let file = dir.join(format!("{task}.json"));
    (dir, file)
}

fn read_existing(dir: &Path, file: &Path) -> Result<Vec<u8>, EditError> {
    match std::fs::read(file) {
        Ok(bytes) => Ok(bytes),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Err(if dir.is_dir() {
            EditError::TaskNotFound
        } else {
            EditError::SessionNotFound
        }),
        Err(err) => Err(err.into()),
    }
}

/// Appends `note` (trimmed) to the task's `description` and returns the task as written.
pub fn add_note(
    tasks_dir: &Path,
    session: &SessionId,
    task_id: &TaskId,
    note: &str,
) -> Result<Task, EditError> {
    let note = note.trim();
    if note.is_empty() {
        return Err(EditError::EmptyNote);
    }
    let (dir, file) = task_path(tasks_dir, session, task_id);
    let original = read_existing(&dir, &file)?;
    let task = Task::parse(&original).map_err(|e| EditError::Unreadable(e.to_string()))?;
    let mut fields = task
        .fields()
        .map_err(|e| EditError::Unreadable(e.to_string()))?;
    let description = match fields.get("description") {
        Some(Value::String(s)) => s.as_str(),
        _ => "",
    };
    let updated = format!("{description}{NOTE_HEADER}{note}");
    fields.insert("description".to_owned(), Value::String(updated));
    let mut bytes = serde_json::to_vec_pretty(&fields).map_err(io::Error::other)?;
    if original.ends_with(b"\n") {
        bytes.push(b'\n');
    }
    // Re-read just before replacing: if Claude Code rewrote the file meanwhile, our edit was
    // made on a stale copy and must not win.
    let unchanged = || std::fs::read(&file).ok().as_deref() == Some(original.as_slice());
    if !crate::fs::write_atomic_if(&file, &bytes, unchanged)? {
        return Err(EditError::Conflict);
    }
    Task::parse(&bytes).map_err(|e| EditError::Unreadable(e.to_string()))
}

/// Removes the task file unless another task of the session lists it in `blockedBy`, in which
/// case every such task is named and nothing is touched.
pub fn delete_task(
    tasks_dir: &Path,
    session: &SessionId,
    task_id: &TaskId,
) -> Result<(), EditError> {
    let (dir, file) = task_path(tasks_dir, session, task_id);
    read_existing(&dir, &file)?;
    let mut blocked_tasks: Vec<String> = Vec::new();
    for entry in std::fs::read_dir(&dir)?.filter_map(Result::ok) {
        let name = entry.file_name();
        let Some(stem) = name.to_str().and_then(crate::layout::task_file_stem) else {
            continue;
        };
        if stem == task_id.as_str() {
            continue;
        }
        let Ok(other) = std::fs::read(entry.path())
            .map_err(|_| ())
            .and_then(|b| Task::parse(&b).map_err(|_| ()))
        else {
            continue;
        };
        if other.blocked_by().iter().any(|id| id == task_id.as_str()) {
            blocked_tasks.push(stem.to_owned());
        }
    }
    if !blocked_tasks.is_empty() {
        blocked_tasks.sort_by(|a, b| crate::task::compare_task_ids(a, b));
        return Err(EditError::BlocksOthers { blocked_tasks });
    }
    #[expect(
        clippy::disallowed_methods,
        reason = "the one dependency-checked task delete"
    )]
    std::fs::remove_file(&file).map_err(|err| match err.kind() {
        io::ErrorKind::NotFound => EditError::TaskNotFound,
        _ => err.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn note_appends_and_keeps_every_other_field_in_order() {
        let dir = setup(&[(
            "s/1.json",
            "{\n  \"id\": \"1\",\n  \"zeta\": [1, {\"x\": null}],\n  \"description\": \"Do it\",\n  \"status\": \"pending\"\n}",
        )]);
        let (s, t) = ids("s", "1");
        add_note(dir.path(), &s, &t, "  check the logs \n").unwrap();
        let text = std::fs::read_to_string(dir.path().join("s/1.json")).unwrap();
        assert_eq!(
            text,
            "{\n  \"id\": \"1\",\n  \"zeta\": [\n    1,\n    {\n      \"x\": null\n    }\n  ],\n  \"description\": \"Do it\\n\\n---\\n\\n#### [Note added by user]\\n\\ncheck the logs\",\n  \"status\": \"pending\"\n}"
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
        let (_, nine) = ids("s", "9");
        assert!(matches!(
            add_note(dir.path(), &s, &nine, "x"),
            Err(EditError::TaskNotFound)
        ));
        let (nope, _) = ids("nope", "1");
        assert!(matches!(
            add_note(dir.path(), &nope, &one, "x"),
            Err(EditError::SessionNotFound)
        ));
        let (_, two) = ids("s", "2");
        assert!(matches!(
            add_note(dir.path(), &s, &two, "x"),
            Err(EditError::Unreadable(_))
        ));
        assert_eq!(
            std::fs::read_to_string(dir.path().join("s/2.json")).unwrap(),
            "{\"id\":"
        );
        let (_, one_again) = ids("s", "1");
        add_note(dir.path(), &s, &one_again, "x").unwrap();
        let task = Task::parse(&std::fs::read(dir.path().join("s/1.json")).unwrap()).unwrap();
        assert_eq!(
            task.fields().unwrap()["description"],
            "\n\n---\n\n#### [Note added by user]\n\nx"
        );
    }

    #[test]
    fn a_task_that_cannot_be_rebuilt_exactly_is_not_rewritten() {
        let text = r#"{"id":"1","description":"d","x":1e400}"#;
        let dir = setup(&[("s/1.json", text)]);
        let (s, one) = ids("s", "1");
        assert!(matches!(
            add_note(dir.path(), &s, &one, "x"),
            Err(EditError::Unreadable(_))
        ));
        assert_eq!(
            std::fs::read_to_string(dir.path().join("s/1.json")).unwrap(),
            text
        );
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
        let (s, one) = ids("s", "1");
        match delete_task(dir.path(), &s, &one) {
            Err(EditError::BlocksOthers { blocked_tasks }) => {
                assert_eq!(blocked_tasks, ["2", "10"])
            }
            other => panic!("{other:?}"),
        }
        assert!(dir.path().join("s/1.json").exists());
        let (_, two) = ids("s", "2");
        delete_task(dir.path(), &s, &two).unwrap();
        assert!(!dir.path().join("s/2.json").exists());
        assert!(matches!(
            delete_task(dir.path(), &s, &two),
            Err(EditError::TaskNotFound)
        ));
    }
}
