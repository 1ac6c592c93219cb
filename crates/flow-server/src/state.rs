//! What every handler shares. Cheap to clone: every field is behind an `Arc` or is a token.

use std::sync::{Arc, RwLock, RwLockReadGuard};

use flow_core::{Config, Index, Layout};
use tokio_util::sync::CancellationToken;

use crate::cache::ResponseCache;
use crate::hub::Hub;
use crate::live::IndexTask;
use crate::supervisor::Supervisor;
use crate::theme::ThemeStore;

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    /// The feature store, or `None` when it is off.
    pub(crate) features: crate::features::MaybeFeatures,
    /// The team board (contract §7), when the database is PostgreSQL.
    pub(crate) team: Option<Arc<crate::team::TeamBoard>>,
    /// The one index of the Claude dir, written only by the index task. Locks are held only
    /// for a lookup or one batch, never across an `.await`.
    index: Arc<RwLock<Index>>,
    /// One applier of changes at a time (see `live::apply_and_publish`).
    index_writer: Arc<std::sync::Mutex<()>>,
    hub: Arc<Hub>,
    theme: Arc<ThemeStore>,
    responses: Arc<ResponseCache>,
    /// Identifies this run of the server (start time in ms), so validators from an earlier
    /// run never match.
    run_id: u64,
    /// Cancelled on shutdown; every stream ends with it.
    shutdown: CancellationToken,
    /// The background tasks, awaited on shutdown; a panic in one stops the server.
    supervisor: Supervisor,
}

impl AppState {
    /// Scans the Claude dir, then keeps the index current from file-system notifications until
    /// `shutdown` is cancelled. The scan runs on the blocking pool.
    pub async fn start(config: Config, shutdown: CancellationToken) -> std::io::Result<Self> {
        let layout = Layout::from_config(&config);
        // The watches stand before the scan reads anything: a file written while the scan runs
        // is then either seen by the scan or announced by the watcher (or both: `apply` compares
        // with the disk), never missed. Placed beside the scan instead, a file written between
        // the scan reading its folder and the watch landing there stayed off the board until
        // the reconciliation 15 s later, and a catch-up re-list would announce such files in
        // folder order rather than in the order they were written.
        let started = std::time::Instant::now();
        let (watching, index) = tokio::task::spawn_blocking(move || {
            let watching = crate::live::watch(&layout);
            let placed_ms = started.elapsed().as_millis() as u64;
            tracing::debug!(ms = placed_ms, "watches placed");
            (watching, Index::scan(layout))
        })
        .await
        .map_err(std::io::Error::other)?;
        tracing::info!(
            sessions = index.session_count(),
            ms = started.elapsed().as_millis() as u64,
            "indexed the claude dir"
        );
        let run_id = u64::try_from(config.clock.now_ms()).unwrap_or(0);
        let hub = Arc::new(Hub::for_run(run_id));
        let features = match &config.db {
            None => None,
            Some(db) => Some(Arc::new(
                crate::features::Features::open(db, config.clock.clone(), hub.clone())
                    .await
                    .map_err(|e| std::io::Error::other(format!("feature store ({db}): {e}")))?,
            )),
        };
        let team = match &config.db {
            Some(flow_core::config::Database::Postgres(url)) => Some(
                crate::team::TeamBoard::join(url, &config.machine, config.publish, hub.clone())
                    .await
                    .map_err(|e| std::io::Error::other(format!("team board: {e}")))?,
            ),
            _ => None,
        };
        let state = Self {
            features,
            team,
            index: Arc::new(RwLock::new(index)),
            index_writer: Arc::new(std::sync::Mutex::new(())),
            hub,
            theme: Arc::new(ThemeStore::load(config.data_dir.clone())),
            responses: Arc::new(ResponseCache::default()),
            run_id,
            config: Arc::new(config),
            supervisor: Supervisor::new(shutdown.clone()),
            shutdown,
        };
        let index_task = IndexTask {
            index: state.index.clone(),
            writer: state.index_writer.clone(),
            hub: state.hub.clone(),
            shutdown: state.shutdown.clone(),
        };
        state.supervisor.spawn("index", index_task.run(watching));
        state.supervisor.spawn(
            "keep-alive",
            crate::sse::keep_alive(state.hub.clone(), state.shutdown.clone()),
        );
        let shows_others = state
            .team
            .as_ref()
            .is_some_and(|b| b.team.is_publishing() || !b.remote().machines.is_empty());
        if shows_others && state.config.token.is_none() {
            tracing::warn!(
                "this board shows other machines' sessions from the team database; run it with --token so only your team can read them"
            );
        }
        if let Some(board) = state.team.clone().filter(|b| b.team.is_publishing()) {
            let publisher = crate::team::publisher(state.clone(), board, state.shutdown.clone());
            state.supervisor.spawn("team publisher", publisher);
        }
        if let Some(features) = state.features.clone() {
            let sweep = crate::features::lease_sweep(features, state.shutdown.clone());
            state.supervisor.spawn("lease sweep", sweep);
        }
        Ok(state)
    }

    /// The index for a read. Called from request handlers on the runtime's worker threads:
    /// when a writer holds the index (some changes are still read from disk under the write
    /// lock), the wait is announced to the runtime (`block_in_place`), so the worker's other
    /// connections, streams and pings move to another thread instead of waiting too.
    pub(crate) fn index(&self) -> RwLockReadGuard<'_, Index> {
        match self.index.try_read() {
            Ok(guard) => return guard,
            // A poisoned lock means a panic mid-apply; the index is still usable data.
            Err(std::sync::TryLockError::Poisoned(p)) => return p.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => {}
        }
        let wait = || {
            self.index
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        };
        let multi_thread = tokio::runtime::Handle::try_current()
            .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
        if multi_thread {
            tokio::task::block_in_place(wait)
        } else {
            // A single-threaded runtime (tests, embedders) has no other worker to hand off to.
            wait()
        }
    }

    /// Re-reads what Flow itself just wrote, so the writer's response and every client's event
    /// reflect it at once rather than after the watcher's echo (which then finds nothing new).
    /// Blocking: call it from the blocking pool.
    pub(crate) fn apply_now(&self, changes: Vec<flow_core::Change>) {
        // An edit changes task files only; a transcript it could leave half-read is continued
        // by its next append or the reconciliation.
        let _ = crate::live::apply_and_publish(&self.index, &self.index_writer, &self.hub, changes);
    }

    /// Lays a hook call over the index (contract §8) and publishes what it changed.
    /// Blocking: call it from the blocking pool.
    pub(crate) fn apply_hook(&self, signal: flow_core::hooks::HookSignal) {
        let now = std::time::SystemTime::now();
        crate::live::apply_direct(&self.index, &self.index_writer, &self.hub, |index| {
            index.apply_hook(signal, now)
        });
    }

    pub(crate) fn responses(&self) -> &ResponseCache {
        &self.responses
    }

    pub(crate) fn run_id(&self) -> u64 {
        self.run_id
    }

    pub(crate) fn theme(&self) -> &ThemeStore {
        &self.theme
    }

    pub(crate) fn hub(&self) -> &Hub {
        &self.hub
    }

    pub(crate) fn supervisor(&self) -> &Supervisor {
        &self.supervisor
    }

    pub(crate) fn shutdown(&self) -> CancellationToken {
        self.shutdown.clone()
    }
}
