//! Flow's only edits to Claude Code's task files: appending a note and deleting a task. Both
//! address files through validated ids, so no request can reach outside the tasks dir.
//!
//! Invariants:
//! - Nothing is read before it is known to be a regular file: every open is relative to the
//!   session folder's descriptor, never follows a symlink (the folder itself must not be one
//!   either) and never blocks; reads are capped at [`MAX_TASK_FILE`].
//! - Every edit holds Claude Code's own locks (see [`crate::lock`]): the list lock
//!   `<list>/.lock.lock`, then the task lock `<list>/<id>.json.lock`, the order Claude Code
//!   nests them in. So Claude Code's `updateTask`, `claimTask`, `createTask` and
//!   `resetTaskList`, and other Flows, never interleave with an edit; waits are bounded.
//! - A note changes the `description` string and nothing else, byte for byte (see
//!   `splice.rs`), and is written as a new file swapped in atomically. Right before the swap,
//!   the file must still be the very version read (inode, size, mtime, ctime and content);
//!   the swap is `renameat2(RENAME_EXCHANGE)`, which fails rather than re-create a file
//!   someone removed, and what it swapped out is checked once more. A writer that ignores the
//!   locks and changed the file in between makes the note start over on the newest version
//!   (a few times, then 409); it never loses that writer's version. (Limits, for writers that
//!   ignore the locks only: one still writing through a descriptor it opened before the swap
//!   writes into the replaced file; and a file system without `RENAME_EXCHANGE` gets a plain
//!   rename right after the compare, so a removal in that instant would be undone.)
//! - Deleting is the one place a task file is removed, after the dependency check.

mod splice;

use std::io;
use std::path::Path;
use std::time::{Duration, SystemTime};

use crate::ids::{SessionId, TaskId};
use crate::task::Task;

/// The largest task file Flow reads or edits (the readers' cap for small files).
pub const MAX_TASK_FILE: u64 = crate::read::MAX_SMALL_FILE;

#[derive(Debug, thiserror::Error)]
pub enum EditError {
    #[error("Session not found")]
    SessionNotFound,
    #[error("Task not found")]
    TaskNotFound,
    #[error("Note cannot be empty")]
    EmptyNote,
    /// The session folder or task file is something Flow will not touch (a symlink, a FIFO,
    /// a device, a folder); the message names it.
    #[error("{0}")]
    Refused(String),
    #[error(
        "Task file {file} is {len} bytes, over the {limit}-byte limit for a task; it was left untouched"
    )]
    TooLarge { file: String, len: u64, limit: u64 },
    #[error("Task file is not a readable task ({0}); it was left untouched")]
    Unreadable(String),
    #[error("Task file kept changing on disk while the note was being added; re-read and retry")]
    Conflict,
    #[cfg(unix)]
    #[error("Could not edit the task: {0}")]
    Lock(#[from] crate::lock::LockError),
    #[error("Cannot delete task that blocks other tasks")]
    BlocksOthers { blocked_tasks: Vec<String> },
    #[error("file system error: {0}")]
    Io(#[from] io::Error),
}

/// A note as written: the task exactly as Flow wrote it, and the new file's times, so the
/// answer shows Flow's write and not whatever the file holds a moment later.
#[derive(Debug)]
pub struct Noted {
    pub task: Task,
    pub created: SystemTime,
    pub modified: SystemTime,
}

/// The separator Flow puts before a user's note (contract §3).
const NOTE_HEADER: &str = "\n\n---\n\n#### [Note added by user]\n\n";

/// How often a note starts over on a newer version before answering 409.
const ATTEMPTS: u32 = 4;

/// Appends `note` (trimmed) to the task's `description` and returns the task as written.
pub fn add_note(
    tasks_dir: &Path,
    session: &SessionId,
    task_id: &TaskId,
    note: &str,
) -> Result<Noted, EditError> {
    #[cfg(unix)]
    return imp::add_note(
        tasks_dir,
        session,
        task_id,
        note,
        &crate::lock::LockPolicy::CLAUDE_CODE,
        &mut || {},
    );
    #[cfg(not(unix))]
    return Err(imp::unsupported(tasks_dir, session, task_id));
}

/// Removes the task file unless another task of the session lists it in `blockedBy`, in which
/// case every such task is named and nothing is touched.
pub fn delete_task(
    tasks_dir: &Path,
    session: &SessionId,
    task_id: &TaskId,
) -> Result<(), EditError> {
    #[cfg(unix)]
    return imp::delete_task(
        tasks_dir,
        session,
        task_id,
        &crate::lock::LockPolicy::CLAUDE_CODE,
    );
    #[cfg(not(unix))]
    return Err(imp::unsupported(tasks_dir, session, task_id));
}

/// The note appended to `text`, checked to parse as a task (which also checks the syntax of
/// the rest) whose description is exactly the old one plus the note.
#[cfg(unix)]
fn with_note(text: &str, note: &str) -> Result<(String, Task), EditError> {
    let unreadable = |why: &str| EditError::Unreadable(why.to_owned());
    let addition = format!("{NOTE_HEADER}{note}");
    let spliced = splice::append_to_description(text, &addition)
        .ok_or_else(|| unreadable("not a JSON object"))?;
    let task = Task::parse(spliced.text.as_bytes()).map_err(|e| unreadable(&e.to_string()))?;
    let now: Option<String> = serde_json::from_str(&spliced.text[spliced.value.clone()]).ok();
    if now.is_none_or(|now| now != spliced.before + &addition) {
        return Err(unreadable("its description could not be extended"));
    }
    Ok((spliced.text, task))
}

/// Backoff between attempts of a note whose file changed under it, or was caught mid-write by
/// a writer that ignores the locks: short, since the newest version is usually there already.
#[cfg(unix)]
fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(1 << attempt.min(4))
}

#[cfg(not(unix))]
mod imp {
    use super::*;

    pub(super) fn unsupported(_: &Path, _: &SessionId, _: &TaskId) -> EditError {
        EditError::Io(io::Error::new(
            io::ErrorKind::Unsupported,
            "editing task files needs a Unix system",
        ))
    }
}

#[cfg(unix)]
mod imp {
    use std::fs::{File, Metadata};
    use std::io::Write;
    use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
    use std::os::unix::fs::MetadataExt;

    use rustix::fs::AtFlags;
    use rustix::io::Errno;

    use super::*;
    use crate::fs::{OpenError, TempFile};
    use crate::lock::{self, DirLock, LockPolicy};

    /// Opens `tasks_dir/<session>`, refusing a symlinked or non-folder session.
    fn open_session(tasks_dir: &Path, session: &SessionId) -> Result<OwnedFd, EditError> {
        let root = crate::fs::open_dir(tasks_dir).map_err(|err| match err.kind() {
            io::ErrorKind::NotFound | io::ErrorKind::NotADirectory => EditError::SessionNotFound,
            _ => err.into(),
        })?;
        crate::fs::open_dir_at(root.as_fd(), session.as_str()).map_err(|err| match err {
            OpenError::NotFound => EditError::SessionNotFound,
            OpenError::Symlink => EditError::Refused(format!(
                "Session folder {session} is a symbolic link; Flow does not follow links in the Claude dir"
            )),
            OpenError::WrongType(kind) => {
                EditError::Refused(format!("Session folder {session} is {kind}, not a folder"))
            }
            OpenError::TooLarge { .. } => EditError::SessionNotFound,
            OpenError::Io(err) => err.into(),
        })
    }

    /// Opens a task file for reading, with the refusal a client should see.
    fn open_task(dir: BorrowedFd<'_>, file: &str) -> Result<(File, Metadata), EditError> {
        crate::fs::open_regular_at(dir, file).map_err(|err| refusal(file, err))
    }

    fn refusal(file: &str, err: OpenError) -> EditError {
        match err {
            OpenError::NotFound => EditError::TaskNotFound,
            OpenError::Symlink => EditError::Refused(format!(
                "Task file {file} is a symbolic link; Flow does not follow links in the Claude dir and left it untouched"
            )),
            OpenError::WrongType(kind) => EditError::Refused(format!(
                "Task file {file} is {kind}, not a regular file; it was left untouched"
            )),
            OpenError::TooLarge { len, limit } => EditError::TooLarge {
                file: file.to_owned(),
                len,
                limit,
            },
            OpenError::Io(err) => err.into(),
        }
    }

    /// Claude Code's list lock, then its task lock.
    fn lock_both<'d>(
        dir: BorrowedFd<'d>,
        file: &str,
        policy: &LockPolicy,
    ) -> Result<[DirLock<'d>; 2], EditError> {
        let list = lock::acquire(dir, lock::LIST_LOCK, policy)?;
        let task = lock::acquire(dir, &lock::lock_name_for(file), policy)?;
        Ok([list, task])
    }

    pub(super) fn add_note(
        tasks_dir: &Path,
        session: &SessionId,
        task_id: &TaskId,
        note: &str,
        policy: &LockPolicy,
        before_commit: &mut dyn FnMut(),
    ) -> Result<Noted, EditError> {
        let note = note.trim();
        if note.is_empty() {
            return Err(EditError::EmptyNote);
        }
        let dir = open_session(tasks_dir, session)?;
        let dir = dir.as_fd();
        let file = format!("{task_id}.json");
        let mut locks = lock_both(dir, &file, policy)?;
        let mut last = EditError::Conflict;
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                std::thread::sleep(backoff(attempt));
            }
            match note_once(dir, &file, note, &mut locks, before_commit)? {
                Attempt::Done(noted) => return Ok(noted),
                Attempt::Again(why) => last = why,
            }
        }
        Err(last)
    }

    enum Attempt {
        Done(Noted),
        /// The file changed under the edit, or was caught mid-write: try on what it is now.
        Again(EditError),
    }

    /// What was read: the open file, its metadata then, and its bytes.
    struct Read {
        file: File,
        meta: Metadata,
        bytes: Vec<u8>,
    }

    impl Read {
        /// The same inode, not written to since it was read.
        fn unchanged(&self, meta: &Metadata, with_ctime: bool) -> bool {
            let m = &self.meta;
            meta.dev() == m.dev()
                && meta.ino() == m.ino()
                && meta.size() == m.size()
                && (meta.mtime(), meta.mtime_nsec()) == (m.mtime(), m.mtime_nsec())
                && (!with_ctime || (meta.ctime(), meta.ctime_nsec()) == (m.ctime(), m.ctime_nsec()))
                && crate::fs::read_capped(&self.file, MAX_TASK_FILE)
                    .is_ok_and(|now| now == self.bytes)
        }
    }

    fn note_once(
        dir: BorrowedFd<'_>,
        file: &str,
        note: &str,
        locks: &mut [DirLock<'_>; 2],
        before_commit: &mut dyn FnMut(),
    ) -> Result<Attempt, EditError> {
        let (handle, meta) = open_task(dir, file)?;
        let bytes = crate::fs::read_capped(&handle, MAX_TASK_FILE).map_err(|e| refusal(file, e))?;
        let read = Read {
            file: handle,
            meta,
            bytes,
        };
        let Ok(text) = std::str::from_utf8(&read.bytes) else {
            return Ok(Attempt::Again(EditError::Unreadable("not UTF-8".into())));
        };
        // Caught mid-write by a writer that ignores the locks, or simply not a task.
        let (new_text, task) = match with_note(text, note) {
            Ok(done) => done,
            Err(err) => return Ok(Attempt::Again(err)),
        };
        let mut tmp = TempFile::create_in(dir, read.meta.mode())?;
        tmp.file.write_all(new_text.as_bytes())?;
        tmp.file.sync_all()?;
        let written = tmp.file.metadata()?;

        before_commit();
        for lock in locks.iter_mut() {
            lock.check()?;
        }
        // Compare: the name still holds exactly the version read.
        let now = match crate::fs::open_regular_at(dir, file) {
            Ok((_, now)) => now,
            Err(OpenError::NotFound) => return Err(EditError::TaskNotFound),
            Err(_) => return Ok(Attempt::Again(EditError::Conflict)),
        };
        if !read.unchanged(&now, true) {
            return Ok(Attempt::Again(EditError::Conflict));
        }
        // Swap.
        match swap(dir, tmp.name(), file)? {
            Swap::Missing => return Err(EditError::TaskNotFound),
            Swap::Renamed => {}
            Swap::Exchanged => {
                // What went out must be the version read, untouched (an in-place writer may
                // have written to it since the compare). Else put it back and start over.
                let out = crate::fs::open_regular_at(dir, tmp.name()).map(|(_, m)| m);
                if !out.is_ok_and(|m| read.unchanged(&m, false)) {
                    return match swap(dir, tmp.name(), file)? {
                        Swap::Missing => Err(EditError::TaskNotFound),
                        _ => Ok(Attempt::Again(EditError::Conflict)),
                    };
                }
            }
        }
        crate::fs::sync_dir(dir);
        drop(tmp); // after an exchange, removes the version replaced
        Ok(Attempt::Done(Noted {
            task,
            created: created_time(&written),
            modified: written.modified()?,
        }))
    }

    enum Swap {
        /// Atomically exchanged: the temporary name now holds what was the task file.
        Exchanged,
        /// Plain rename (a file system without exchange).
        Renamed,
        /// The task file is gone; nothing was re-created.
        Missing,
    }

    /// Puts `tmp` in place of `file`. Exchange never creates `file` if someone removed it; a
    /// file system that cannot exchange gets a rename right after the compare.
    fn swap(dir: BorrowedFd<'_>, tmp: &str, file: &str) -> Result<Swap, EditError> {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        match rustix::fs::renameat_with(dir, tmp, dir, file, rustix::fs::RenameFlags::EXCHANGE) {
            Ok(()) => return Ok(Swap::Exchanged),
            Err(Errno::NOENT) => {
                return match rustix::fs::statat(dir, file, AtFlags::SYMLINK_NOFOLLOW) {
                    Err(Errno::NOENT) => Ok(Swap::Missing),
                    _ => Err(io::Error::other("the temporary file vanished").into()),
                };
            }
            Err(Errno::INVAL | Errno::NOSYS | Errno::NOTSUP) => {}
            Err(err) => return Err(io::Error::from(err).into()),
        }
        rustix::fs::renameat(dir, tmp, dir, file).map_err(io::Error::from)?;
        Ok(Swap::Renamed)
    }

    pub(super) fn delete_task(
        tasks_dir: &Path,
        session: &SessionId,
        task_id: &TaskId,
        policy: &LockPolicy,
    ) -> Result<(), EditError> {
        let dir = open_session(tasks_dir, session)?;
        let dir = dir.as_fd();
        let file = format!("{task_id}.json");
        let mut locks = lock_both(dir, &file, policy)?;
        // Only a task file Flow could have shown is deleted: a regular file within the cap.
        let (_, meta) = open_task(dir, &file)?;
        if meta.len() > MAX_TASK_FILE {
            return Err(refusal(
                &file,
                OpenError::TooLarge {
                    len: meta.len(),
                    limit: MAX_TASK_FILE,
                },
            ));
        }
        let blocked_tasks = blocked_tasks(dir, task_id)?;
        if !blocked_tasks.is_empty() {
            return Err(EditError::BlocksOthers { blocked_tasks });
        }
        for lock in locks.iter_mut() {
            lock.check()?;
        }
        match rustix::fs::unlinkat(dir, file.as_str(), AtFlags::empty()) {
            Ok(()) => {}
            Err(Errno::NOENT) => return Err(EditError::TaskNotFound),
            Err(err) => return Err(io::Error::from(err).into()),
        }
        crate::fs::sync_dir(dir);
        Ok(())
    }

    /// The other tasks of the folder that list `task_id` in `blockedBy`, in id order. Reads
    /// only regular files within the cap, without waiting; skips (with one log line) anything
    /// else that carries a task file's name.
    fn blocked_tasks(dir: BorrowedFd<'_>, task_id: &TaskId) -> Result<Vec<String>, EditError> {
        let mut blocked = Vec::new();
        for entry in rustix::fs::Dir::read_from(dir).map_err(io::Error::from)? {
            let entry = entry.map_err(io::Error::from)?;
            let Some(name) = entry.file_name().to_str().ok() else {
                continue;
            };
            let Some(stem) = crate::layout::task_file_stem(name) else {
                continue;
            };
            if stem == task_id.as_str() {
                continue;
            }
            let read = crate::fs::open_regular_at(dir, name)
                .and_then(|(f, _)| crate::fs::read_capped(&f, MAX_TASK_FILE));
            let bytes = match read {
                Ok(bytes) => bytes,
                Err(OpenError::NotFound) => continue,
                Err(err) => {
                    tracing::warn!(file = name, reason = %err, "dependency check skips a file that is not a regular task file");
                    continue;
                }
            };
            let Ok(other) = Task::parse(&bytes) else {
                continue;
            };
            if other.blocked_by().iter().any(|id| id == task_id.as_str()) {
                blocked.push(stem.to_owned());
            }
        }
        blocked.sort_by(|a, b| crate::task::compare_task_ids(a, b));
        Ok(blocked)
    }

    /// When the file came to be, as the index reports it: birth time, else ctime.
    fn created_time(meta: &Metadata) -> SystemTime {
        meta.created().unwrap_or_else(|_| {
            let secs = u64::try_from(meta.ctime()).unwrap_or(0);
            let nanos = u32::try_from(meta.ctime_nsec()).unwrap_or(0);
            SystemTime::UNIX_EPOCH + Duration::new(secs, nanos)
        })
    }
}

#[cfg(test)]
mod tests;
