//! The index task: the one owner of index updates. It turns watcher notices into `Change`s,
//! debounces them (trailing edge: a burst of writes is applied once it goes quiet, so the final
//! state is what everyone sees), applies them, and publishes one event per delta.
//!
//! The quiet window is short once the writer says it is done (it closed the file or renamed it
//! into place): that keeps write-to-screen latency at a few milliseconds without reading files
//! mid-write. Otherwise it waits longer, and a never-ending burst is still applied regularly.
//! A periodic stat-only reconciliation heals anything the watcher missed.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use flow_core::{Change, Index, Layout};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::debounce::Debounce;
use crate::events::event_for;
use crate::hub::Hub;
use crate::watcher::{Notice, Watches};

/// How often the stat-only reconciliation runs.
const RECONCILE: Duration = Duration::from_secs(15);
/// How often Flow looks for its own temporary files left by a crash, and how old one must be.
const TEMP_SWEEP: Duration = Duration::from_secs(60);
const STALE_TEMP: Duration = Duration::from_secs(60);
/// How often the processes of live registry entries are probed: a process that exits without
/// removing its registry file shows as `ended` within this (contract §6: within 5 s).
const LIVENESS: Duration = Duration::from_secs(1);

#[derive(Clone)]
pub(crate) struct IndexTask {
    pub(crate) index: Arc<RwLock<Index>>,
    /// One applier at a time (this task, and Flow's own edits through `apply_now`): files are
    /// read outside the index lock, so nothing else may change the index between the read
    /// and its commit.
    pub(crate) writer: Arc<Mutex<()>>,
    pub(crate) hub: Arc<Hub>,
    pub(crate) shutdown: CancellationToken,
}

/// Starts watching the roots. Call it before the initial scan, so nothing that changes during
/// the scan is missed (a change seen twice is harmless: `apply` compares with the disk).
/// A watcher that cannot start leaves the board to the periodic reconciliation: slower, never
/// wrong.
pub(crate) fn watch(layout: &Layout) -> Watching {
    let (tx, rx) = mpsc::channel(4096);
    let overflowed = Arc::new(AtomicBool::new(false));
    let roots = layout.roots().map(std::path::Path::to_path_buf).to_vec();
    let watches = match Watches::new(roots, tx, overflowed.clone()) {
        Ok(w) => Some(w),
        Err(err) => {
            tracing::error!(%err, "cannot start the file watcher; falling back to polling");
            None
        }
    };
    Watching {
        watches,
        rx,
        overflowed,
    }
}

/// The watcher's side of the index task's inputs.
pub(crate) struct Watching {
    watches: Option<Watches>,
    rx: mpsc::Receiver<Notice>,
    /// Set by the watcher when a notice was dropped because the channel was full.
    overflowed: Arc<AtomicBool>,
}

impl IndexTask {
    /// Keeps the index current until shutdown: run it under the server's supervisor.
    pub(crate) async fn run(self, watching: Watching) {
        let Watching {
            mut watches,
            mut rx,
            overflowed,
        } = watching;
        // Without a watcher the channel is closed at once; reconciliation still runs.
        let mut rx_open = watches.is_some();
        let layout = self.read().layout().clone();
        let mut pending = Debounce::default();
        let mut reconcile = tokio::time::interval(RECONCILE);
        // A pass longer than the period must not be followed by a burst of missed ones.
        reconcile.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        reconcile.tick().await;
        let mut liveness = tokio::time::interval(LIVENESS);
        // Temp files a killed Flow left behind: at start, then once a minute.
        self.sweep_temps().await;
        let mut sweep_temps = tokio::time::interval(TEMP_SWEEP);
        sweep_temps.tick().await;
        liveness.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // Re-list work waiting to be done, a few folders at a time, between live changes: a
        // pass over 10,000 folders must not hold back an agent's write for its whole length.
        let mut relist: std::collections::VecDeque<Vec<Change>> = std::collections::VecDeque::new();
        loop {
            let deadline = pending.deadline();
            tokio::select! {
                // Live notices and due batches first; a re-list chunk only when neither waits.
                biased;
                () = self.shutdown.cancelled() => break,
                notice = rx.recv(), if rx_open => {
                    let Some(mut notice) = notice else {
                        rx_open = false;
                        continue;
                    };
                    if overflowed.swap(false, Ordering::AcqRel) {
                        notice = Notice::Rescan;
                    }
                    let now = Instant::now();
                    match notice {
                        Notice::Rescan => pending.push(now, [Change::AllRoots], false),
                        Notice::Paths { paths, settled } => {
                            pending.push(now, paths.iter().filter_map(|p| layout.classify(p)), settled);
                        }
                    }
                }
                () = sleep_until_some(deadline), if deadline.is_some() => {
                    let mut batch = pending.take();
                    let is_root = |c: &Change| {
                        matches!(
                            c,
                            Change::AllRoots
                                | Change::TasksRoot
                                | Change::ProjectsRoot
                                | Change::RegistryRoot
                                | Change::TeamsRoot
                                | Change::PlansRoot
                                | Change::TodosRoot
                        )
                    };
                    let roots_changed = batch.iter().any(is_root);
                    batch.retain(|c| !is_root(c));
                    let more = self.apply(batch).await;
                    pending.push(Instant::now(), more, true);
                    if roots_changed {
                        // A root came, went or changed: watch it again, then re-list the whole
                        // tree in small batches (like the reconciliation), never in one lock.
                        sync_watches(&mut watches, true).await;
                        // A new plan covers everything: it replaces what was still waiting.
                        relist = self.relist_plan().await.into();
                    }
                }
                _ = liveness.tick() => {
                    // A root that could not be watched (no permission, say) sends no event when
                    // that changes: try again, and re-list what changed meanwhile.
                    if watches.as_ref().is_some_and(Watches::failed)
                        && sync_watches(&mut watches, true).await
                        && !watches.as_ref().is_some_and(Watches::failed)
                    {
                        pending.push(Instant::now(), [Change::AllRoots], false);
                    }
                    self.sweep_liveness().await;
                }
                _ = sweep_temps.tick() => self.sweep_temps().await,
                () = std::future::ready(()), if !relist.is_empty() => {
                    if let Some(chunk) = relist.pop_front() {
                        let more = self.apply(chunk).await;
                        pending.push(Instant::now(), more, true);
                    }
                }
                _ = reconcile.tick(), if relist.is_empty() => {
                    if sync_watches(&mut watches, false).await {
                        tracing::debug!("watch set changed during reconciliation");
                    }
                    relist = self.relist_plan().await.into();
                }
            }
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Index> {
        self.index
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Applies a batch (file I/O, so on the blocking pool) and publishes its events while
    /// still holding the lock, so events leave in the order the index changed and each payload
    /// is the state right after its change.
    /// Returns what is left to do: the next steps of transcripts read in part, which the
    /// caller queues as a new batch, so readers get the index in between.
    async fn apply(&self, batch: Vec<Change>) -> Vec<Change> {
        let this = self.clone();
        let res = tokio::task::spawn_blocking(move || {
            apply_and_publish(&this.index, &this.writer, &this.hub, batch)
        })
        .await;
        match res {
            Ok(more) => more,
            Err(err) => {
                crate::supervisor::log_join_error("applying file changes", Err(err));
                Vec::new()
            }
        }
    }

    /// Probes the live registry entries without holding the index, then writes only if a
    /// process has gone (or a subagent fell quiet).
    async fn sweep_liveness(&self) {
        let sweep = self.read().liveness_sweep();
        let this = self.clone();
        let res = tokio::task::spawn_blocking(move || {
            let found = sweep.run();
            if found.is_empty() {
                return;
            }
            let _one_writer = this
                .writer
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let mut index = this
                .index
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let deltas = index.apply_liveness(found);
            publish(&index, &this.hub, &deltas);
        })
        .await;
        crate::supervisor::log_join_error("liveness sweep", res);
    }

    /// Removes Flow's own `.flow-*.tmp` files older than a minute from every task folder:
    /// what a Flow killed between writing and renaming left behind. Nothing else is touched.
    async fn sweep_temps(&self) {
        let tasks_dir = self.read().layout().tasks_dir.clone();
        let res = tokio::task::spawn_blocking(move || {
            let Ok(entries) = std::fs::read_dir(&tasks_dir) else {
                return;
            };
            let removed: usize = entries
                .filter_map(Result::ok)
                .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                .map(|e| flow_core::fs::sweep_stale_temps(&e.path(), STALE_TEMP))
                .sum();
            if removed > 0 {
                tracing::info!(
                    removed,
                    "removed temporary files left by an interrupted write"
                );
            }
        })
        .await;
        crate::supervisor::log_join_error("temp-file sweep", res);
    }

    /// What re-checks everything, as batches of a few folders (applied one at a time between
    /// live changes); listing it reads directories, so it runs on the blocking pool.
    async fn relist_plan(&self) -> Vec<Vec<Change>> {
        let index = self.index.clone();
        let plan = tokio::task::spawn_blocking(move || {
            index
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .reconcile_plan()
        })
        .await;
        match plan {
            Ok(changes) => changes.chunks(32).map(<[Change]>::to_vec).collect(),
            Err(err) => {
                crate::supervisor::log_join_error("planning a re-list", Err(err));
                Vec::new()
            }
        }
    }
}

/// Applies `batch` to the index and publishes one event per delta. Task files (most of what
/// changes) are read while readers keep answering from the index, and committed under the
/// write lock in microseconds; everything else (transcript tails, inboxes, registry entries,
/// folder re-lists in batches of 32) is still read under the write lock. Events are published under that lock, so they
/// leave in the order the index changed and each payload is the state right after its change.
/// Blocking (file I/O): call it from the blocking pool.
pub(crate) fn apply_and_publish(
    index: &RwLock<Index>,
    writer: &Mutex<()>,
    hub: &Hub,
    batch: Vec<Change>,
) -> Vec<Change> {
    let _one_writer = writer
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let (pending, rest) = index
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .split_reads(batch);
    let reads: Vec<flow_core::TaskRead> = pending.into_iter().map(|p| p.run()).collect();
    let mut index = index
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let deltas = index.apply_batch(rest, reads);
    publish(&index, hub, &deltas);
    index.take_unfinished()
}

/// Applies a change that comes from outside the files (a hook call) under the one-writer rule,
/// and publishes its events under the write lock, as [`apply_and_publish`] does. Blocking:
/// call it from the blocking pool.
pub(crate) fn apply_direct(
    index: &RwLock<Index>,
    writer: &Mutex<()>,
    hub: &Hub,
    change: impl FnOnce(&mut Index) -> Vec<flow_core::Delta>,
) {
    let _one_writer = writer
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut index = index
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let deltas = change(&mut index);
    publish(&index, hub, &deltas);
}

/// Brings the watch set in line with the roots on the blocking pool (placing a recursive
/// watch walks the tree); returns whether it changed.
async fn sync_watches(watches: &mut Option<Watches>, renew: bool) -> bool {
    let Some(mut w) = watches.take() else {
        return false;
    };
    match tokio::task::spawn_blocking(move || {
        let changed = w.sync(renew);
        (w, changed)
    })
    .await
    {
        Ok((w, changed)) => {
            *watches = Some(w);
            changed
        }
        Err(err) => {
            crate::supervisor::log_join_error("placing file watches", Err(err));
            tracing::error!("the file watcher is gone; the board now heals by reconciliation only");
            false
        }
    }
}

/// One event per delta, rendered from the index right after the change.
fn publish(index: &Index, hub: &Hub, deltas: &[flow_core::Delta]) {
    for delta in deltas {
        let (event, session) = event_for(index, delta);
        hub.publish(&event, session.as_deref());
    }
}

/// Sleeps until `deadline`; forever when there is none (the `select!` arm is disabled then).
async fn sleep_until_some(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
