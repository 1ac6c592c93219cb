//! Reading files Flow does not own: whatever sits in the Claude dir may be a FIFO, a device, a
//! symlink to one, or far larger than any real file of its kind. Every read goes through here:
//! the open never blocks (`O_NONBLOCK`), the type is checked on the open handle before a byte
//! is read, and whole-file reads are capped.

use std::fs;
use std::path::Path;

/// Task files, registry entries and `sessions-index.json` larger than this are not Claude
/// Code's: they are skipped (logged once per version), never read into memory.
pub const MAX_SMALL_FILE: u64 = 16 << 20;

/// Opens `path` for reading only if it is a regular file, without ever blocking: a FIFO or a
/// device opened for reading can hang or never end, so the open does not wait (`O_NONBLOCK`)
/// and the type is checked on the open handle before anything is read.
pub fn open_regular(path: &Path) -> Option<fs::File> {
    open(path, false)
}

/// Like [`open_regular`], but a symbolic link is refused too (`O_NOFOLLOW`): for files whose
/// text Flow serves as is (plans, inbox messages, team configs, todo lists), so that a link
/// placed among them is never a way to read a file outside the Claude dir.
pub fn open_regular_no_follow(path: &Path) -> Option<fs::File> {
    open(path, true)
}

fn open(path: &Path, no_follow: bool) -> Option<fs::File> {
    let mut options = fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        let mut flags = rustix::fs::OFlags::NONBLOCK;
        if no_follow {
            flags |= rustix::fs::OFlags::NOFOLLOW;
        }
        options.custom_flags(flags.bits() as i32);
    }
    #[cfg(not(unix))]
    if no_follow && fs::symlink_metadata(path).ok()?.file_type().is_symlink() {
        return None;
    }
    let file = options.open(path).ok()?;
    let meta = file.metadata().ok()?;
    if !meta.is_file() {
        tracing::warn!(path = %path.display(), kind = ?meta.file_type(), "skipping a file that is not a regular file");
        return None;
    }
    Some(file)
}

/// A small regular file whole, if it is at most `limit` bytes; anything else is `None`, with
/// one log line for a file that is too large.
pub fn read_capped(path: &Path, limit: u64) -> Option<(fs::Metadata, Vec<u8>)> {
    read_capped_from(open_regular(path)?, path, limit)
}

/// [`read_capped`] through [`open_regular_no_follow`].
pub fn read_capped_no_follow(path: &Path, limit: u64) -> Option<(fs::Metadata, Vec<u8>)> {
    read_capped_from(open_regular_no_follow(path)?, path, limit)
}

fn read_capped_from(file: fs::File, path: &Path, limit: u64) -> Option<(fs::Metadata, Vec<u8>)> {
    use std::io::Read;
    let meta = file.metadata().ok()?;
    if meta.len() > limit {
        tracing::warn!(path = %path.display(), len = meta.len(), limit, "skipping a file larger than it can be");
        return None;
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(limit + 1).read_to_end(&mut bytes).ok()?;
    (bytes.len() as u64 <= limit).then_some((meta, bytes))
}
