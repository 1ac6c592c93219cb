//! File-system notifications for the two roots. A root that does not exist yet is watched for
//! through its nearest existing ancestor and picked up the moment it appears (and again if it
//! is deleted and recreated). Flow never creates directories in the user's Claude dir.
//!
//! notify's callback runs on notify's own thread; it only forwards raw paths into a channel.
//! Debouncing, classification and re-reading happen in the index task (`live.rs`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use notify::event::{AccessKind, AccessMode, ModifyKind, RenameMode};
use notify::{EventKind, RecursiveMode, Watcher};
use tokio::sync::mpsc;

/// What the watcher tells the index task.
#[derive(Debug)]
pub(crate) enum Notice {
    /// These paths changed. `settled` means the writer is done (it closed the file, or renamed
    /// a finished file into place), so there is no reason to wait for more.
    Paths { paths: Vec<PathBuf>, settled: bool },
    /// Events were lost (queue overflow, watcher error): re-list everything.
    Rescan,
}

pub(crate) struct Watches {
    watcher: notify::RecommendedWatcher,
    roots: Vec<PathBuf>,
    /// What is watched now, and how; so a root that appears swaps its ancestor watch for a
    /// recursive watch on itself.
    active: HashMap<PathBuf, RecursiveMode>,
    /// A watch could not be placed (a root without read permission, say). Such a root sends no
    /// event when it becomes readable again, so the index task retries every second.
    failed: bool,
}

impl Watches {
    /// `overflowed` is set when a notice could not be queued; the index task then rescans.
    pub(crate) fn new(
        roots: Vec<PathBuf>,
        tx: mpsc::Sender<Notice>,
        overflowed: std::sync::Arc<std::sync::atomic::AtomicBool>,
    ) -> notify::Result<Self> {
        let watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
            let notice = match res {
                Ok(event) if event.need_rescan() => Notice::Rescan,
                Ok(event) => {
                    let settled = match event.kind {
                        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
                        EventKind::Modify(ModifyKind::Name(RenameMode::To | RenameMode::Both)) => {
                            true
                        }
                        EventKind::Access(_) => return,
                        _ => false,
                    };
                    Notice::Paths {
                        paths: event.paths,
                        settled,
                    }
                }
                Err(err) => {
                    tracing::warn!(%err, "file watcher error; rescanning");
                    Notice::Rescan
                }
            };
            // Never block notify's thread: the index task may itself be waiting on it (watch
            // and unwatch are answered by that thread). If the channel is full, what did not
            // fit is replaced by a rescan, so the board is never silently stale.
            if tx.try_send(notice).is_err() {
                overflowed.store(true, std::sync::atomic::Ordering::Release);
            }
        })?;
        let mut watches = Self {
            watcher,
            roots,
            active: HashMap::new(),
            failed: false,
        };
        watches.sync(false);
        Ok(watches)
    }

    /// Brings the watch set in line with what exists now; `renew` re-places every watch (a root
    /// deleted and recreated keeps its path but needs a new watch). Returns whether anything
    /// changed, in which case the caller re-lists: files may have appeared before the new watch
    /// was placed.
    pub(crate) fn sync(&mut self, renew: bool) -> bool {
        let mut changed = self.place(renew);
        // A folder may have appeared below a new ancestor watch before it was placed; such a
        // creation makes no event, so look again until the watch set is stable.
        for _ in 0..16 {
            if !self.place(false) {
                break;
            }
            changed = true;
        }
        changed
    }

    fn place(&mut self, renew: bool) -> bool {
        let mut wanted: HashMap<PathBuf, RecursiveMode> = HashMap::new();
        for root in &self.roots {
            if root.is_dir() {
                wanted.insert(root.clone(), RecursiveMode::Recursive);
            } else if let Some(ancestor) = nearest_existing_ancestor(root) {
                wanted
                    .entry(ancestor)
                    .or_insert(RecursiveMode::NonRecursive);
            }
        }
        if wanted == self.active && !renew && !self.failed {
            return false;
        }
        for (path, mode) in &self.active {
            if renew || wanted.get(path) != Some(mode) {
                let _ = self.watcher.unwatch(path);
            }
        }
        let mut failed = false;
        for (path, mode) in &wanted {
            // A watch on a deleted root may linger in `active`; re-adding is harmless.
            if let Err(err) = self.watcher.watch(path, *mode) {
                // Logged once until it works again, not at every retry.
                if !self.failed {
                    tracing::warn!(path = %path.display(), %err, "cannot watch directory; retrying every second");
                }
                failed = true;
            }
        }
        if self.failed && !failed {
            tracing::info!("watching again");
        }
        self.failed = failed;
        self.active = wanted;
        true
    }

    /// Whether a watch is missing and worth placing again.
    pub(crate) fn failed(&self) -> bool {
        self.failed
    }
}

fn nearest_existing_ancestor(path: &Path) -> Option<PathBuf> {
    path.ancestors()
        .skip(1)
        .find(|p| p.is_dir())
        .map(Path::to_path_buf)
}
