//! Claude Code's lock convention, taken by Flow around every edit of a task file, so Flow's
//! read-modify-write and Claude Code's never interleave.
//!
//! What Claude Code does, as read in published copies of its source (`src/utils/tasks.ts` and
//! `src/utils/lockfile.ts`, e.g. the `BelovedYaoo/claude-code-source` and
//! `claude-code-best/claude-code` repositories) and in npm `proper-lockfile`'s
//! `lib/lockfile.js` (`moxystudio/node-proper-lockfile`), which `utils/lockfile.ts` wraps:
//! - **List lock.** `tasks/<list>/.lock` is an empty regular file, created with the `wx` flag
//!   only because `proper-lockfile` wants its target to exist (`realpath: true`); it is never
//!   removed. The lock itself is the *directory* `tasks/<list>/.lock.lock`. `createTask`,
//!   `resetTaskList` (which deletes every task file) and the busy-checked `claimTask` hold it.
//! - **Task lock.** `updateTask` and `claimTask` lock the task file itself: the directory
//!   `tasks/<list>/<id>.json.lock`. `updateTask` then rewrites `<id>.json` *in place*
//!   (`writeFile`), so a reader that ignores the lock can see a truncated file.
//! - `deleteTask` takes no lock. Nesting, where it happens, is list lock then task lock.
//! - Options: `retries: {retries: 30, minTimeout: 5, maxTimeout: 100}` (`retry`'s factor 2:
//!   5, 10, 20, 40, 80, then 100 ms; about 2.6 s in all), and `proper-lockfile`'s defaults
//!   `stale: 10000` ms and `update: stale / 2`.
//! - `proper-lockfile` itself: acquiring is `mkdir` (atomic; `EEXIST` while held). On `EEXIST`
//!   it stats the lock; one whose mtime is older than `stale` is removed (`rmdir`) and `mkdir`
//!   is tried once more without the stale check. The holder refreshes the lock's mtime every
//!   `update` ms and treats a lock whose mtime is no longer the one it set as compromised.
//!   Releasing is `rmdir`. The lock directory is always empty.
//!
//! Flow follows all of that, and adds one thing Claude Code never sees: a Flow that was killed
//! while holding a lock should not stall the next Flow for the whole 10 s. Flow prepares each
//! lock as a temporary directory without the owner's write bit ([`FLOW_LOCK_MODE`];
//! `proper-lockfile`'s are `0o777` less the umask), takes an `flock` on it, sets its mtime to a
//! time whose sub-millisecond part is [`FLOW_MARK_NANOS`] (JavaScript times are whole
//! milliseconds, so `proper-lockfile`'s never carry it), and only then makes it the lock with
//! `renameat2(RENAME_NOREPLACE)`: as atomic as `mkdir`, failing just as `mkdir` does when the
//! lock is held. So a Flow lock is marked and `flock`ed from the instant it exists, and one
//! whose `flock` can be taken belongs to a Flow that died: it is removed at once. (Where the
//! file system cannot rename that way, Flow makes the lock with `mkdir` and marks it after;
//! a lock with the mode but not the mtime mark then counts as abandoned only once
//! [`ORPHAN_GRACE`] old, since its maker may not have reached its `flock` yet.) Claude Code's
//! locks follow the library's rules exactly. A Flow killed while preparing leaves an empty
//! `.flow-*.tmp` folder, which [`crate::fs::sweep_stale_temps`] removes.
//!
//! Invariant: nothing here blocks without bound. Waiting for a lock is a bounded series of
//! sleeps; every open is `O_NONBLOCK | O_NOFOLLOW`.

use std::fs::File;
use std::io;
use std::os::fd::BorrowedFd;
use std::os::unix::fs::MetadataExt;
use std::time::{Duration, Instant, SystemTime};

use rustix::fs::{AtFlags, FlockOperation, Mode, OFlags};
use rustix::io::Errno;

/// The list lock's name inside a task list folder (`proper-lockfile` on `.lock`).
pub const LIST_LOCK: &str = ".lock.lock";

/// The mode Flow makes its lock directories with: no owner write bit, which marks them Flow's.
pub const FLOW_LOCK_MODE: u32 = 0o555;

/// The sub-millisecond part (in ns) of the mtime Flow gives its own locks once it holds them.
pub const FLOW_MARK_NANOS: u32 = 424_242;

/// How old an unstamped Flow lock with no `flock` must be before it counts as abandoned.
pub const ORPHAN_GRACE: Duration = Duration::from_secs(1);

/// The name of the lock `proper-lockfile` takes for `file` (a task file name).
pub fn lock_name_for(file: &str) -> String {
    format!("{file}.lock")
}

/// How long to wait for a lock and when a lock counts as abandoned.
#[derive(Debug, Clone, Copy)]
pub struct LockPolicy {
    /// A lock whose mtime is older than this is stale (`proper-lockfile`'s `stale`).
    pub stale: Duration,
    /// How often a holder refreshes its lock's mtime (`update`).
    pub update: Duration,
    /// Tries after the first, with waits from `min_wait` doubling up to `max_wait`.
    pub retries: u32,
    pub min_wait: Duration,
    pub max_wait: Duration,
}

impl LockPolicy {
    /// Claude Code's own options, so Flow waits as long as an agent would.
    pub const CLAUDE_CODE: Self = Self {
        stale: Duration::from_secs(10),
        update: Duration::from_secs(5),
        retries: 30,
        min_wait: Duration::from_millis(5),
        max_wait: Duration::from_millis(100),
    };

    fn wait(&self, attempt: u32) -> Duration {
        self.min_wait
            .saturating_mul(1 << attempt.min(16))
            .min(self.max_wait)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("locked by another writer (`{name}` still held after {} ms); retry shortly", .waited.as_millis())]
    Busy { name: String, waited: Duration },
    #[error("`{name}` in the task list is not a lock directory; remove it to allow edits")]
    NotALock { name: String },
    #[error("the lock `{name}` was taken over by another writer during the edit; retry")]
    Lost { name: String },
    #[error("file system error on a lock: {0}")]
    Io(#[from] io::Error),
}

impl From<Errno> for LockError {
    fn from(err: Errno) -> Self {
        Self::Io(err.into())
    }
}

/// A held lock directory; released (removed, if it is still this one) when dropped.
#[derive(Debug)]
pub struct DirLock<'d> {
    dir: BorrowedFd<'d>,
    name: String,
    /// The lock directory, open and `flock`ed for as long as the lock is held.
    handle: File,
    ino: u64,
    mtime: (i64, i64),
    refreshed: Instant,
    update: Duration,
}

/// Takes the lock directory `name` inside `dir`, waiting at most as long as `policy` says.
pub fn acquire<'d>(
    dir: BorrowedFd<'d>,
    name: &str,
    policy: &LockPolicy,
) -> Result<DirLock<'d>, LockError> {
    let started = Instant::now();
    for attempt in 0..=policy.retries {
        if attempt > 0 {
            std::thread::sleep(policy.wait(attempt - 1));
        }
        if let Some(lock) = try_acquire(dir, name, policy)? {
            return Ok(lock);
        }
    }
    Err(LockError::Busy {
        name: name.to_owned(),
        waited: started.elapsed(),
    })
}

fn try_acquire<'d>(
    dir: BorrowedFd<'d>,
    name: &str,
    policy: &LockPolicy,
) -> Result<Option<DirLock<'d>>, LockError> {
    if let Some(lock) = create(dir, name, policy)? {
        return Ok(Some(lock));
    }
    let Some(existing) = open_lock(dir, name)? else {
        // Released between our try and our look: try again at once, as the library does.
        return create(dir, name, policy);
    };
    let meta = existing.metadata()?;
    let age = SystemTime::now()
        .duration_since(meta.modified()?)
        .unwrap_or_default();
    // A Flow lock tells whether its holder lives (its `flock`), so its age does not matter;
    // anyone else's is judged by its age, as `proper-lockfile` does.
    // Flow's mode exactly (not merely "no owner write"), so a `proper-lockfile` lock made
    // under an odd umask is never mistaken for a dead Flow's.
    let abandoned = if meta.mode() & 0o7777 == FLOW_LOCK_MODE {
        (is_flow_mark(meta.mtime_nsec()) || age >= ORPHAN_GRACE)
            && rustix::fs::flock(&existing, FlockOperation::NonBlockingLockExclusive).is_ok()
    } else {
        age > policy.stale
    };
    if !abandoned {
        return Ok(None);
    }
    tracing::info!(
        lock = name,
        age_ms = age.as_millis() as u64,
        "removing an abandoned lock"
    );
    remove_if_same(dir, name, meta.ino())?;
    drop(existing);
    // One more try without the stale check, as `proper-lockfile` does.
    create(dir, name, policy)
}

/// Makes the lock if it does not exist: `Some` if this call now holds it.
fn create<'d>(
    dir: BorrowedFd<'d>,
    name: &str,
    policy: &LockPolicy,
) -> Result<Option<DirLock<'d>>, LockError> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        let tmp = crate::fs::temp_name();
        rustix::fs::mkdirat(dir, tmp.as_str(), Mode::from_bits_truncate(FLOW_LOCK_MODE))?;
        exact_mode(dir, tmp.as_str())?;
        let mut lock = DirLock::take(dir, &tmp, policy).inspect_err(|_| {
            let _ = rustix::fs::unlinkat(dir, tmp.as_str(), AtFlags::REMOVEDIR);
        })?;
        let flags = rustix::fs::RenameFlags::NOREPLACE;
        // On every path but success, dropping `lock` removes the prepared folder.
        match rustix::fs::renameat_with(dir, tmp.as_str(), dir, name, flags) {
            Ok(()) => {
                lock.name = name.to_owned();
                return Ok(Some(lock));
            }
            Err(Errno::EXIST) => return Ok(None),
            Err(Errno::INVAL | Errno::NOSYS | Errno::NOTSUP) => {}
            Err(err) => return Err(err.into()),
        }
    }
    if make(dir, name)? {
        return DirLock::take(dir, name, policy).map(Some);
    }
    Ok(None)
}

/// `mkdir`: `true` if this call created the lock, `false` if it exists.
fn make(dir: BorrowedFd<'_>, name: &str) -> Result<bool, LockError> {
    match rustix::fs::mkdirat(dir, name, Mode::from_bits_truncate(FLOW_LOCK_MODE)) {
        Ok(()) => exact_mode(dir, name).map(|()| true),
        Err(Errno::EXIST) => Ok(false),
        Err(err) => Err(err.into()),
    }
}

/// Gives a lock Flow made exactly [`FLOW_LOCK_MODE`], whatever the umask took from it: the
/// exact mode is how a dead Flow's lock is told from anyone else's.
fn exact_mode(dir: BorrowedFd<'_>, name: &str) -> Result<(), LockError> {
    let mode = Mode::from_bits_truncate(FLOW_LOCK_MODE);
    rustix::fs::chmodat(dir, name, mode, AtFlags::empty())?;
    Ok(())
}

/// Opens an existing lock without following a link; `None` if it is gone.
fn open_lock(dir: BorrowedFd<'_>, name: &str) -> Result<Option<File>, LockError> {
    let flags =
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
    match rustix::fs::openat(dir, name, flags, Mode::empty()) {
        Ok(fd) => Ok(Some(File::from(fd))),
        Err(Errno::NOENT) => Ok(None),
        Err(Errno::LOOP | Errno::NOTDIR) => Err(LockError::NotALock {
            name: name.to_owned(),
        }),
        Err(err) => Err(err.into()),
    }
}

/// Removes the lock `name` if it is still the directory with inode `ino`.
fn remove_if_same(dir: BorrowedFd<'_>, name: &str, ino: u64) -> Result<(), LockError> {
    let Some(now) = open_lock(dir, name)? else {
        return Ok(());
    };
    if now.metadata()?.ino() != ino {
        return Ok(());
    }
    match rustix::fs::unlinkat(dir, name, AtFlags::REMOVEDIR) {
        Ok(()) | Err(Errno::NOENT) => Ok(()),
        Err(Errno::NOTEMPTY) => Err(LockError::NotALock {
            name: name.to_owned(),
        }),
        Err(err) => Err(err.into()),
    }
}

fn is_flow_mark(mtime_nsec: i64) -> bool {
    mtime_nsec % 1_000_000 == i64::from(FLOW_MARK_NANOS)
}

/// Now, with Flow's mark as the sub-millisecond part.
fn marked_now() -> SystemTime {
    let now = SystemTime::now();
    let since = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    let whole_ms = since - Duration::from_nanos(u64::from(since.subsec_nanos() % 1_000_000));
    SystemTime::UNIX_EPOCH + whole_ms + Duration::from_nanos(u64::from(FLOW_MARK_NANOS))
}

impl<'d> DirLock<'d> {
    /// Makes the directory this call just created Flow's: `flock` first, then the mark, so a
    /// marked lock always has its `flock` held while its holder lives.
    fn take(dir: BorrowedFd<'d>, name: &str, policy: &LockPolicy) -> Result<Self, LockError> {
        let handle = open_lock(dir, name)?.ok_or_else(|| LockError::Lost {
            name: name.to_owned(),
        })?;
        rustix::fs::flock(&handle, FlockOperation::NonBlockingLockExclusive)?;
        let mut lock = Self {
            dir,
            name: name.to_owned(),
            ino: handle.metadata()?.ino(),
            handle,
            mtime: (0, 0),
            refreshed: Instant::now(),
            update: policy.update,
        };
        lock.stamp()?;
        Ok(lock)
    }

    fn stamp(&mut self) -> Result<(), LockError> {
        self.handle
            .set_times(std::fs::FileTimes::new().set_modified(marked_now()))?;
        let meta = self.handle.metadata()?;
        self.mtime = (meta.mtime(), meta.mtime_nsec());
        self.refreshed = Instant::now();
        Ok(())
    }

    /// Confirms the lock is still this one (no one removed it as stale and took it), and
    /// refreshes its mtime once it is older than the update interval, as holders must. Call
    /// right before committing a write.
    pub fn check(&mut self) -> Result<(), LockError> {
        let lost = || LockError::Lost {
            name: self.name.clone(),
        };
        let now = open_lock(self.dir, &self.name)?.ok_or_else(lost)?;
        let meta = now.metadata()?;
        if meta.ino() != self.ino || (meta.mtime(), meta.mtime_nsec()) != self.mtime {
            return Err(lost());
        }
        if self.refreshed.elapsed() >= self.update {
            self.stamp()?;
        }
        Ok(())
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for DirLock<'_> {
    fn drop(&mut self) {
        // Released by `rmdir`, while the `flock` is still held (it goes with `handle`).
        if let Err(err) = remove_if_same(self.dir, &self.name, self.ino) {
            tracing::warn!(lock = %self.name, %err, "could not release a lock");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::os::fd::{AsFd, OwnedFd};

    use super::*;

    const QUICK: LockPolicy = LockPolicy {
        stale: Duration::from_secs(10),
        update: Duration::from_secs(5),
        retries: 3,
        min_wait: Duration::from_millis(1),
        max_wait: Duration::from_millis(2),
    };

    fn folder() -> (tempfile::TempDir, OwnedFd) {
        let dir = tempfile::tempdir().unwrap();
        let fd = crate::fs::open_dir(dir.path()).unwrap();
        (dir, fd)
    }

    fn set_mtime(path: &std::path::Path, ago: Duration) {
        let f = File::open(path).unwrap();
        f.set_modified(SystemTime::now() - ago).unwrap();
    }

    #[test]
    fn claude_codes_waits_are_about_two_and_a_half_seconds() {
        let p = LockPolicy::CLAUDE_CODE;
        let total: Duration = (0..p.retries).map(|a| p.wait(a)).sum();
        assert_eq!(total, Duration::from_millis(2655));
    }

    #[test]
    fn a_lock_is_a_directory_and_release_removes_it() {
        let (dir, fd) = folder();
        let lock = acquire(fd.as_fd(), LIST_LOCK, &QUICK).unwrap();
        let path = dir.path().join(LIST_LOCK);
        assert!(path.is_dir());
        let meta = std::fs::metadata(&path).unwrap();
        assert!(is_flow_mark(meta.mtime_nsec()), "{meta:?}");
        assert_eq!(meta.mode() & 0o200, 0, "no owner write bit: Flow's");
        assert!(matches!(
            acquire(fd.as_fd(), LIST_LOCK, &QUICK),
            Err(LockError::Busy { .. })
        ));
        drop(lock);
        assert!(!path.exists());
    }

    #[test]
    fn a_fresh_foreign_lock_is_waited_for_and_a_stale_one_is_taken() {
        let (dir, fd) = folder();
        let path = dir.path().join("1.json.lock");
        std::fs::create_dir(&path).unwrap();
        assert!(matches!(
            acquire(fd.as_fd(), "1.json.lock", &QUICK),
            Err(LockError::Busy { .. })
        ));
        assert!(path.is_dir(), "a live lock is never removed");
        set_mtime(&path, Duration::from_secs(9));
        assert!(matches!(
            acquire(fd.as_fd(), "1.json.lock", &QUICK),
            Err(LockError::Busy { .. })
        ));
        set_mtime(&path, Duration::from_secs(11));
        let lock = acquire(fd.as_fd(), "1.json.lock", &QUICK).unwrap();
        drop(lock);
        assert!(!path.exists());
    }

    #[test]
    fn a_lock_left_by_a_dead_flow_is_taken_at_once() {
        let (dir, fd) = folder();
        let lock = acquire(fd.as_fd(), LIST_LOCK, &QUICK).unwrap();
        // A killed holder: its flock goes with its process, its directory stays.
        rustix::fs::flock(&lock.handle, FlockOperation::Unlock).unwrap();
        std::mem::forget(lock);
        assert!(dir.path().join(LIST_LOCK).is_dir());
        let again = acquire(fd.as_fd(), LIST_LOCK, &QUICK).unwrap();
        drop(again);
        assert!(!dir.path().join(LIST_LOCK).exists());

        // Killed between its mkdir and its mark: a grace period for a maker that may not
        // have reached its flock yet, then taken.
        let path = dir.path().join("1.json.lock");
        std::os::unix::fs::DirBuilderExt::mode(&mut std::fs::DirBuilder::new(), FLOW_LOCK_MODE)
            .create(&path)
            .unwrap();
        assert!(matches!(
            acquire(fd.as_fd(), "1.json.lock", &QUICK),
            Err(LockError::Busy { .. })
        ));
        set_mtime(&path, ORPHAN_GRACE + Duration::from_millis(100));
        drop(acquire(fd.as_fd(), "1.json.lock", &QUICK).unwrap());
        assert!(!path.exists());
    }

    #[test]
    fn a_live_flows_lock_is_never_taken_however_old() {
        let (dir, fd) = folder();
        let lock = acquire(fd.as_fd(), LIST_LOCK, &QUICK).unwrap();
        set_mtime(&dir.path().join(LIST_LOCK), Duration::from_secs(60));
        assert!(matches!(
            acquire(fd.as_fd(), LIST_LOCK, &QUICK),
            Err(LockError::Busy { .. })
        ));
        drop(lock);
    }

    #[test]
    fn a_lock_taken_over_is_reported_lost_and_not_removed() {
        let (dir, fd) = folder();
        let mut lock = acquire(fd.as_fd(), LIST_LOCK, &QUICK).unwrap();
        lock.check().unwrap();
        let path = dir.path().join(LIST_LOCK);
        std::fs::remove_dir(&path).unwrap();
        std::fs::create_dir(&path).unwrap();
        assert!(matches!(lock.check(), Err(LockError::Lost { .. })));
        drop(lock);
        assert!(path.is_dir(), "someone else's lock is left alone");
    }

    #[test]
    fn a_file_or_link_where_the_lock_goes_is_refused() {
        let (dir, fd) = folder();
        crate::fs::write_atomic(&dir.path().join(LIST_LOCK), b"").unwrap();
        assert!(matches!(
            acquire(fd.as_fd(), LIST_LOCK, &QUICK),
            Err(LockError::NotALock { .. })
        ));
        std::os::unix::fs::symlink("/tmp", dir.path().join("2.json.lock")).unwrap();
        assert!(matches!(
            acquire(fd.as_fd(), "2.json.lock", &QUICK),
            Err(LockError::NotALock { .. })
        ));
    }
}
