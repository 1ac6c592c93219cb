//! Writes into the user's Claude dir, and the careful opens edits make there. Every write is
//! atomic (temporary file in the same folder, fsync, rename), so Claude Code and Flow's readers
//! only ever see a whole old or whole new file. Every open an edit makes is relative to a
//! folder it already holds open, never follows a symlink and never blocks, and a file is
//! checked to be a regular one before a byte of it is read.

use std::io::{self, Write};
use std::path::Path;
use std::time::{Duration, SystemTime};

/// Flow's temporary files are `.flow-<random>.tmp`, beside the file they will replace.
pub const TEMP_PREFIX: &str = ".flow-";
pub const TEMP_SUFFIX: &str = ".tmp";

/// Replaces `path` with `bytes` atomically. The temporary file lives beside the target (a rename
/// is only atomic within one file system), is dot-prefixed so watchers ignore it, and is removed
/// if anything fails before the rename. The rename replaces a symlink at `path` rather than
/// writing through it.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no parent"))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .suffix(TEMP_SUFFIX)
        .tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    // Make the rename itself durable; failure here still leaves a correct file.
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Whether `name` is one of Flow's temporary files (see [`TEMP_PREFIX`]).
pub fn is_flow_temp(name: &str) -> bool {
    name.len() > TEMP_PREFIX.len() + TEMP_SUFFIX.len()
        && name.starts_with(TEMP_PREFIX)
        && name.ends_with(TEMP_SUFFIX)
}

/// Removes Flow's own temporary files (`.flow-*.tmp`) directly in `dir` whose mtime is older
/// than `older_than`: what a Flow killed mid-write left behind. Only regular files are removed,
/// and empty folders of that name (a lock Flow was preparing when it was killed; see
/// [`crate::lock`]); never a symlink or anything else, nothing is followed, and only `dir`
/// itself is looked at, not below it. A write in progress is at most seconds old, so a
/// threshold of a minute never takes one. Returns how many were removed; failures are logged,
/// not returned.
pub fn sweep_stale_temps(dir: &Path, older_than: Duration) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let now = SystemTime::now();
    let mut removed = 0;
    for entry in entries.filter_map(Result::ok) {
        if !entry.file_name().to_str().is_some_and(is_flow_temp) {
            continue;
        }
        // `DirEntry::metadata` does not follow a symlink.
        let Ok(meta) = entry.metadata() else { continue };
        let old = meta
            .modified()
            .ok()
            .and_then(|m| now.duration_since(m).ok())
            .is_some_and(|age| age >= older_than);
        let kind = meta.file_type();
        if !(kind.is_file() || kind.is_dir()) || !old {
            continue;
        }
        let res = if kind.is_dir() {
            // `rmdir`: fails on a folder that is not empty, so nothing inside can be lost.
            std::fs::remove_dir(entry.path())
        } else {
            #[expect(
                clippy::disallowed_methods,
                reason = "removes only Flow's own abandoned temporary files, never a task"
            )]
            let res = std::fs::remove_file(entry.path());
            res
        };
        match res {
            Ok(()) => removed += 1,
            Err(err)
                if matches!(
                    err.kind(),
                    io::ErrorKind::NotFound | io::ErrorKind::DirectoryNotEmpty
                ) => {}
            Err(err) => {
                tracing::warn!(path = %entry.path().display(), %err, "could not remove a stale temporary file")
            }
        }
    }
    if removed > 0 {
        tracing::info!(dir = %dir.display(), removed, "removed stale temporary files");
    }
    removed
}

#[cfg(unix)]
pub use at::*;

/// Opens relative to a folder file descriptor (`openat`), so a path component swapped for a
/// symlink between two steps cannot redirect a later one.
#[cfg(unix)]
mod at {
    use std::fs::{File, Metadata};
    use std::io;
    use std::os::fd::{BorrowedFd, OwnedFd};
    use std::os::unix::fs::{FileExt, FileTypeExt};
    use std::path::Path;
    use std::sync::atomic::{AtomicU64, Ordering};

    use rustix::fs::{AtFlags, FileType, Mode, OFlags};
    use rustix::io::Errno;

    /// Why a file or folder in the Claude dir was not opened or read.
    #[derive(Debug, thiserror::Error)]
    pub enum OpenError {
        #[error("does not exist")]
        NotFound,
        #[error("is a symbolic link")]
        Symlink,
        #[error("is {0}")]
        WrongType(&'static str),
        #[error("is {len} bytes, over the {limit}-byte limit")]
        TooLarge { len: u64, limit: u64 },
        #[error("{0}")]
        Io(#[from] io::Error),
    }

    impl From<Errno> for OpenError {
        fn from(err: Errno) -> Self {
            Self::Io(err.into())
        }
    }

    const NO_WAIT: OFlags = OFlags::RDONLY
        .union(OFlags::NOFOLLOW)
        .union(OFlags::NONBLOCK)
        .union(OFlags::NOCTTY)
        .union(OFlags::CLOEXEC);

    /// Opens the folder at `path` (which may be reached through symlinks: it is configuration).
    pub fn open_dir(path: &Path) -> io::Result<OwnedFd> {
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        Ok(rustix::fs::open(path, flags, Mode::empty())?)
    }

    /// Opens the folder `name` inside `dir`, refusing a symlink or anything not a folder.
    pub fn open_dir_at(dir: BorrowedFd<'_>, name: &str) -> Result<OwnedFd, OpenError> {
        match rustix::fs::openat(dir, name, NO_WAIT | OFlags::DIRECTORY, Mode::empty()) {
            Ok(fd) => Ok(fd),
            Err(Errno::NOENT) => Err(OpenError::NotFound),
            Err(Errno::LOOP | Errno::NOTDIR) => Err(classify_at(dir, name, "not a folder")),
            Err(err) => Err(err.into()),
        }
    }

    /// Opens `name` inside `dir` for reading if it is a regular file. The open neither follows
    /// a symlink nor waits (a FIFO with no writer would wait forever), and the type is checked
    /// on the open handle before anything is read.
    pub fn open_regular_at(dir: BorrowedFd<'_>, name: &str) -> Result<(File, Metadata), OpenError> {
        let file = match rustix::fs::openat(dir, name, NO_WAIT, Mode::empty()) {
            Ok(fd) => File::from(fd),
            Err(Errno::NOENT) => return Err(OpenError::NotFound),
            // ENXIO: a socket, which cannot be opened at all.
            Err(Errno::LOOP | Errno::NXIO) => return Err(classify_at(dir, name, "not a file")),
            Err(err) => return Err(err.into()),
        };
        let meta = file.metadata()?;
        let kind = meta.file_type();
        let wrong = if kind.is_file() {
            return Ok((file, meta));
        } else if kind.is_dir() {
            "a folder"
        } else if kind.is_fifo() {
            "a FIFO"
        } else if kind.is_char_device() {
            "a character device"
        } else if kind.is_block_device() {
            "a block device"
        } else if kind.is_socket() {
            "a socket"
        } else {
            "not a regular file"
        };
        Err(OpenError::WrongType(wrong))
    }

    /// What stands at `name`, for a precise refusal (the open already failed; this only names
    /// the reason).
    fn classify_at(dir: BorrowedFd<'_>, name: &str, fallback: &'static str) -> OpenError {
        match rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
            Err(Errno::NOENT) => OpenError::NotFound,
            Ok(st) => match FileType::from_raw_mode(st.st_mode) {
                FileType::Symlink => OpenError::Symlink,
                FileType::Socket => OpenError::WrongType("a socket"),
                FileType::RegularFile => OpenError::WrongType("a regular file"),
                _ => OpenError::WrongType(fallback),
            },
            Err(_) => OpenError::WrongType(fallback),
        }
    }

    /// The whole content of `file` from its start, refused if it is over `limit` bytes (checked
    /// on the size first, and again while reading, since a file can grow).
    pub fn read_capped(file: &File, limit: u64) -> Result<Vec<u8>, OpenError> {
        let len = file.metadata()?.len();
        if len > limit {
            return Err(OpenError::TooLarge { len, limit });
        }
        let mut bytes = vec![0; usize::try_from(len).unwrap_or(0).saturating_add(1)];
        let mut filled = 0;
        loop {
            if filled == bytes.len() {
                if filled as u64 > limit {
                    return Err(OpenError::TooLarge {
                        len: filled as u64,
                        limit,
                    });
                }
                bytes.resize((filled * 2).max(4096), 0);
            }
            match file.read_at(&mut bytes[filled..], filled as u64) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => return Err(err.into()),
            }
        }
        if filled as u64 > limit {
            return Err(OpenError::TooLarge {
                len: filled as u64,
                limit,
            });
        }
        bytes.truncate(filled);
        Ok(bytes)
    }

    /// A name no other temporary file of this or another process has: `.flow-<pid>-<time>-<n>.tmp`.
    pub fn temp_name() -> String {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .subsec_nanos();
        format!(
            "{}{:x}-{nanos:x}-{n:x}{}",
            super::TEMP_PREFIX,
            std::process::id(),
            super::TEMP_SUFFIX
        )
    }

    /// A new file `.flow-<unique>.tmp` in `dir`, removed (by name) when dropped.
    #[derive(Debug)]
    pub struct TempFile<'d> {
        dir: BorrowedFd<'d>,
        name: String,
        pub file: File,
    }

    impl<'d> TempFile<'d> {
        /// Creates it exclusively (never reusing or following anything that exists) with the
        /// permission bits `mode`.
        pub fn create_in(dir: BorrowedFd<'d>, mode: u32) -> io::Result<Self> {
            let flags =
                OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
            loop {
                let name = temp_name();
                let perms = Mode::from_bits_truncate(mode & 0o777);
                match rustix::fs::openat(dir, name.as_str(), flags, perms) {
                    Ok(fd) => {
                        let file = File::from(fd);
                        // The umask may have narrowed what `openat` set.
                        rustix::fs::fchmod(&file, perms)?;
                        return Ok(Self { dir, name, file });
                    }
                    Err(Errno::EXIST) => continue,
                    Err(err) => return Err(err.into()),
                }
            }
        }

        pub fn name(&self) -> &str {
            &self.name
        }
    }

    impl Drop for TempFile<'_> {
        fn drop(&mut self) {
            // After a rename the name is gone (nothing to do); after an exchange it holds the
            // replaced version, which goes with it.
            match rustix::fs::unlinkat(self.dir, self.name.as_str(), AtFlags::empty()) {
                Ok(()) | Err(Errno::NOENT) => {}
                Err(err) => {
                    tracing::warn!(file = %self.name, %err, "could not remove a temporary file")
                }
            }
        }
    }

    /// Makes renames and removals in `dir` durable; a failure still leaves correct files.
    pub fn sync_dir(dir: BorrowedFd<'_>) {
        let _ = rustix::fs::fsync(dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_content_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("3.json");
        write_atomic(&path, b"{\"a\":1}").unwrap();
        write_atomic(&path, b"{\"a\":2}").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"{\"a\":2}");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["3.json"]);
    }

    /// Sets the mtime of `path` itself (a link's own, never its target's; a FIFO without
    /// opening it).
    #[cfg(unix)]
    fn age(path: &Path, ago: Duration) {
        let secs = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .saturating_sub(ago)
            .as_secs();
        let t = rustix::fs::Timespec {
            tv_sec: secs as i64,
            tv_nsec: 0,
        };
        let times = rustix::fs::Timestamps {
            last_access: t,
            last_modification: t,
        };
        rustix::fs::utimensat(
            rustix::fs::CWD,
            path,
            &times,
            rustix::fs::AtFlags::SYMLINK_NOFOLLOW,
        )
        .unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn sweep_removes_only_old_flow_temporaries_and_empty_folders_and_follows_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let p = |n: &str| dir.path().join(n);
        for name in [
            ".flow-old.tmp",
            ".flow-new.tmp",
            "1.json",
            ".flow-.tmp",
            "flow-x.tmp",
            ".flow-x.tmpx",
            "x.tmp",
        ] {
            write_atomic(&p(name), b"{}").unwrap();
            age(&p(name), Duration::from_secs(120));
        }
        age(&p(".flow-new.tmp"), Duration::from_secs(5));
        std::fs::create_dir(p(".flow-dir.tmp")).unwrap();
        std::fs::create_dir(p(".flow-full.tmp")).unwrap();
        write_atomic(&p(".flow-full.tmp/x"), b"x").unwrap();
        for name in [".flow-dir.tmp", ".flow-full.tmp"] {
            age(&p(name), Duration::from_secs(120));
        }
        let target = outside.path().join("precious");
        write_atomic(&target, b"keep").unwrap();
        age(&target, Duration::from_secs(120));
        std::os::unix::fs::symlink(&target, p(".flow-link.tmp")).unwrap();
        rustix::fs::mkfifoat(
            rustix::fs::CWD,
            p(".flow-fifo.tmp").as_path(),
            rustix::fs::Mode::from_bits_truncate(0o644),
        )
        .unwrap();
        for name in [".flow-link.tmp", ".flow-fifo.tmp"] {
            age(&p(name), Duration::from_secs(120));
        }

        assert_eq!(sweep_stale_temps(dir.path(), Duration::from_secs(60)), 2);
        let mut left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(
            left,
            [
                ".flow-.tmp",
                ".flow-fifo.tmp",
                ".flow-full.tmp",
                ".flow-link.tmp",
                ".flow-new.tmp",
                ".flow-x.tmpx",
                "1.json",
                "flow-x.tmp",
                "x.tmp"
            ]
        );
        assert_eq!(std::fs::read(&target).unwrap(), b"keep");
        assert_eq!(sweep_stale_temps(&p("missing"), Duration::ZERO), 0);
    }

    #[cfg(unix)]
    #[test]
    fn opens_refuse_links_fifos_and_folders_without_waiting() {
        use std::os::fd::AsFd;
        let dir = tempfile::tempdir().unwrap();
        let p = |n: &str| dir.path().join(n);
        write_atomic(&p("1.json"), b"{}").unwrap();
        std::os::unix::fs::symlink("/dev/zero", p("2.json")).unwrap();
        rustix::fs::mkfifoat(
            rustix::fs::CWD,
            p("3.json").as_path(),
            rustix::fs::Mode::from_bits_truncate(0o644),
        )
        .unwrap();
        std::fs::create_dir(p("4.json")).unwrap();
        std::os::unix::fs::symlink(dir.path(), p("linked")).unwrap();
        let fd = open_dir(dir.path()).unwrap();
        let fd = fd.as_fd();
        let (file, _) = open_regular_at(fd, "1.json").unwrap();
        assert_eq!(read_capped(&file, 2).unwrap(), b"{}");
        assert!(matches!(
            read_capped(&file, 1),
            Err(OpenError::TooLarge { len: 2, limit: 1 })
        ));
        assert!(matches!(
            open_regular_at(fd, "2.json"),
            Err(OpenError::Symlink)
        ));
        assert!(matches!(
            open_regular_at(fd, "3.json"),
            Err(OpenError::WrongType("a FIFO"))
        ));
        assert!(matches!(
            open_regular_at(fd, "4.json"),
            Err(OpenError::WrongType("a folder"))
        ));
        assert!(matches!(
            open_regular_at(fd, "5.json"),
            Err(OpenError::NotFound)
        ));
        assert!(matches!(open_dir_at(fd, "linked"), Err(OpenError::Symlink)));
        assert!(matches!(
            open_dir_at(fd, "1.json"),
            Err(OpenError::WrongType("a regular file"))
        ));
        assert!(open_dir_at(fd, "4.json").is_ok());
    }
}
