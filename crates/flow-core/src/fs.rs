//! Writes into the user's Claude dir. Every write is atomic (temporary file in the same folder,
//! fsync, rename), so Claude Code and Flow's readers only ever see a whole old or whole new file.

use std::io::{self, Write};
use std::path::Path;

/// Replaces `path` with `bytes` atomically. The temporary file lives beside the target (a rename
/// is only atomic within one file system), is dot-prefixed so watchers ignore it, and is removed
/// if anything fails before the rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_atomic_if(path, bytes, || true).map(drop)
}

/// Like [`write_atomic`], but asks `still_ok` after the new content is on disk and just before
/// the rename, so a check that the target is unchanged leaves the narrowest possible window.
/// Returns `false` (and leaves the target untouched) when `still_ok` says no.
pub fn write_atomic_if(
    path: &Path,
    bytes: &[u8],
    still_ok: impl FnOnce() -> bool,
) -> io::Result<bool> {
    let dir = path
        .parent()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no parent"))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".flow-")
        .suffix(".tmp")
        .tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    if !still_ok() {
        return Ok(false); // the temporary file is removed when `tmp` drops
    }
    tmp.persist(path).map_err(|e| e.error)?;
    // Make the rename itself durable; failure here still leaves a correct file.
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(true)
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
}
