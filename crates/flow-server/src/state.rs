//! What every handler shares. Cheap to clone: every field is behind an `Arc`.

use std::sync::{Arc, RwLock, RwLockReadGuard};

use flow_core::{Change, Config, Index, Layout};

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    /// The one index of the Claude dir. Locks are held only for the length of a lookup or an
    /// `apply`, never across an `.await`, so a slow client never holds up the others.
    index: Arc<RwLock<Index>>,
}

impl AppState {
    /// Scans the Claude dir; blocking, so call it from a blocking context at start.
    pub fn new(config: Config) -> Self {
        let layout = Layout {
            tasks_dir: config.tasks_dir.clone(),
            projects_dir: config.projects_dir.clone(),
        };
        Self {
            index: Arc::new(RwLock::new(Index::scan(layout))),
            config: Arc::new(config),
        }
    }

    /// The index, brought up to date with the disk first.
    pub fn index(&self) -> RwLockReadGuard<'_, Index> {
        // A poisoned lock means a panic mid-apply; the index is still usable data, so recover.
        self.index
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .apply([Change::AllRoots]);
        self.index
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
