//! [`FeatureStore`]: one in-memory graph over a [`Storage`], written by one task.
//!
//! Reads answer from the current [`Graph`] snapshot and never touch the database. Writes go
//! to the writer task as [`Op`]s; it takes every write waiting at that moment as one batch,
//! works the batch out over the snapshot ([`Draft`]), commits the rows it changed in one
//! transaction (if another server committed first, it catches up from the log and works the
//! batch out again), swaps in the next snapshot and tells the observer what changed. So a
//! burst of claims costs one transaction, not one each, and every answer, list and event of a
//! generation comes from the same plan.

use std::sync::{Arc, OnceLock, PoisonError, RwLock};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use crate::draft::Draft;
use crate::graph::Graph;
use crate::ops::{Op, Outcome};
use crate::storage::{Committed, Storage};
use crate::{BulkItem, Changed, Claim, EmptyReason, Feature, FeaturePatch, NewFeature, StoreError};

type Result<T, E = StoreError> = std::result::Result<T, E>;

/// After this many failed attempts a feature moves to `needs_input`.
pub const MAX_ATTEMPTS: i64 = 3;
/// The largest batch [`FeatureStore::create_bulk`] accepts.
pub const MAX_BULK: usize = 1000;

/// The last resort for a commit that never returns. The backends bound their own waits first
/// (PostgreSQL: 8 s, then the connection is dropped so the server rolls back; SQLite: its
/// 5 s busy timeout), because a commit abandoned here may still land.
const COMMIT_TIMEOUT: Duration = Duration::from_secs(30);
/// The most writes worked out and committed together.
const MAX_BATCH: usize = 256;
/// Commits lost to other servers before a batch gives up (each loss means they progressed).
const MAX_CONFLICTS: usize = 16;

/// What one committed batch (or a catch-up with other servers' writes) changed.
#[derive(Debug, Clone)]
pub struct Change {
    pub before: Arc<Graph>,
    pub after: Arc<Graph>,
    /// Ids of features that did not exist before.
    pub added: Vec<i64>,
    /// Ids of features whose rows changed.
    pub changed: Vec<i64>,
    pub deleted: Vec<i64>,
    /// The snapshot was reloaded whole (after the database came back): clients should read
    /// everything again.
    pub resync: bool,
    /// The features whose derived state flipped, when the writer knows them without comparing
    /// the two plans; `None` when any may have (compare `before` and `after`).
    pub state_flips: Option<Vec<i64>>,
}

type Observer = Box<dyn Fn(&Change) + Send + Sync>;

pub(crate) struct Shared {
    pub(crate) storage: Arc<dyn Storage>,
    /// The database's clock minus this machine's, in ms (0 for SQLite): leases are absolute
    /// times that every server sharing the database must read alike.
    clock_offset: i64,
    snapshot: RwLock<Arc<Graph>>,
    observer: OnceLock<Observer>,
}

pub(crate) enum Msg {
    Job(Job),
    /// Another server committed up to this generation.
    Refresh(i64),
    /// The database came back: load everything again.
    Reload,
}

pub(crate) struct Job {
    op: Op,
    now: i64,
    reply: oneshot::Sender<Result<Outcome>>,
}

/// The feature store. Clones share one snapshot and one writer.
#[derive(Clone)]
pub struct FeatureStore {
    shared: Arc<Shared>,
    jobs: mpsc::UnboundedSender<Msg>,
}

impl std::fmt::Debug for FeatureStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FeatureStore")
            .field("storage", &self.shared.storage.describe())
            .field("generation", &self.snapshot().generation())
            .finish()
    }
}

impl FeatureStore {
    /// Opens the SQLite store at `path` (created with its directories if missing, migrated
    /// forward; a newer or foreign file is refused untouched).
    pub async fn open(path: &std::path::Path) -> Result<Self> {
        let path = path.to_owned();
        let storage =
            tokio::task::spawn_blocking(move || crate::sqlite::SqliteStorage::open(&path))
                .await
                .map_err(|e| StoreError::Unavailable(e.to_string()))??;
        let store = Self::start(Arc::new(storage)).await?;
        poll_generation(store.shared.clone(), store.jobs.downgrade());
        Ok(store)
    }

    /// A private, empty SQLite store that lives as long as this value.
    pub async fn open_in_memory() -> Result<Self> {
        Self::start(Arc::new(crate::sqlite::SqliteStorage::in_memory()?)).await
    }

    /// Connects to PostgreSQL at `url` (migrating its schema forward) and follows the other
    /// servers on that database through `LISTEN`/`NOTIFY`.
    pub async fn connect_postgres(url: &str) -> Result<Self> {
        let storage = Arc::new(crate::postgres::PgStorage::connect(url).await?);
        let store = Self::start(storage.clone()).await?;
        crate::postgres::follow(storage, store.jobs.downgrade());
        Ok(store)
    }

    /// Opens whichever database `db` names.
    pub async fn open_database(db: &flow_core::config::Database) -> Result<Self> {
        match db {
            flow_core::config::Database::Sqlite(path) => Self::open(path).await,
            flow_core::config::Database::Postgres(url) => Self::connect_postgres(url).await,
        }
    }

    async fn start(storage: Arc<dyn Storage>) -> Result<Self> {
        let loaded = storage.load().await?;
        let graph = Graph::from(loaded);
        let clock_offset = storage.clock_offset().await.unwrap_or(0);
        if clock_offset.abs() > 1_000 {
            tracing::warn!(
                offset_ms = clock_offset,
                "this machine's clock differs from the database's; leases follow the database's"
            );
        }
        let shared = Arc::new(Shared {
            clock_offset,
            storage,
            snapshot: RwLock::new(Arc::new(graph)),
            observer: OnceLock::new(),
        });
        let (jobs, rx) = mpsc::unbounded_channel();
        tokio::spawn(writer(shared.clone(), rx));
        Ok(FeatureStore { shared, jobs })
    }

    /// Calls `observer` after every committed batch and every catch-up, in generation order,
    /// on the writer task (so keep it quick). Set once; later calls are ignored.
    pub fn on_change(&self, observer: impl Fn(&Change) + Send + Sync + 'static) {
        let _ = self.shared.observer.set(Box::new(observer));
    }

    /// The current snapshot: what every read answers from.
    pub fn snapshot(&self) -> Arc<Graph> {
        self.shared.snapshot()
    }

    /// `local_ms` (this machine's clock) as the database's clock reads it: the "now" to give
    /// every write and lease decision, so servers whose clocks disagree still agree on whether
    /// a lease has run out.
    pub fn database_time(&self, local_ms: i64) -> i64 {
        local_ms.saturating_add(self.shared.clock_offset)
    }

    /// Where the store lives, for logs (never a password).
    pub fn describe(&self) -> String {
        self.shared.storage.describe()
    }

    /// Every feature with its dependencies, in id order.
    pub fn list(&self) -> Vec<Feature> {
        self.snapshot().features().cloned().collect()
    }

    pub fn get(&self, id: i64) -> Result<Feature> {
        self.snapshot()
            .get(id)
            .cloned()
            .ok_or(StoreError::NotFound(id))
    }

    async fn submit(&self, op: Op, now: i64) -> Result<Outcome> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Msg::Job(Job { op, now, reply }))
            .map_err(|_| StoreError::Unavailable("the feature store has stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Unavailable("the feature store has stopped".into()))?
    }

    /// Creates one feature. The name is required; `priority: None` queues it last.
    pub async fn create(&self, new: NewFeature, now_ms: i64) -> Result<Feature> {
        match self.submit(Op::Create(new), now_ms).await? {
            Outcome::Feature(f) => Ok(f),
            other => Err(unexpected(&other)),
        }
    }

    /// Creates up to [`MAX_BULK`] features, all or nothing. An item may depend on an earlier
    /// item of the batch through `depends_on_refs`. Item problems come back together as
    /// [`StoreError::Bulk`] with their indexes.
    pub async fn create_bulk(&self, items: Vec<BulkItem>, now_ms: i64) -> Result<Vec<Feature>> {
        match self.submit(Op::Bulk(items), now_ms).await? {
            Outcome::Features(f) => Ok(f),
            other => Err(unexpected(&other)),
        }
    }

    /// Applies a partial update. A stale `if_match` is [`StoreError::VersionMismatch`];
    /// status moves follow `contract.md` §5.
    pub async fn update(
        &self,
        id: i64,
        patch: FeaturePatch,
        if_match: Option<i64>,
        now_ms: i64,
    ) -> Result<Changed> {
        let op = Op::Update {
            id,
            patch,
            if_match,
        };
        changed(self.submit(op, now_ms).await?)
    }

    /// Deletes a feature. If others depend on it, refuses with [`StoreError::HasDependents`]
    /// unless `detach`, which removes those edges in the same transaction.
    pub async fn delete(&self, id: i64, detach: bool, now_ms: i64) -> Result<Changed> {
        changed(self.submit(Op::Delete { id, detach }, now_ms).await?)
    }

    /// Makes `id` depend on `dep`. Adding an edge that exists changes nothing.
    pub async fn add_dependency(&self, id: i64, dep: i64, now_ms: i64) -> Result<Changed> {
        changed(self.submit(Op::AddDependency { id, dep }, now_ms).await?)
    }

    /// Removes the edge "`id` depends on `dep`"; removing a missing edge changes nothing.
    pub async fn remove_dependency(&self, id: i64, dep: i64, now_ms: i64) -> Result<Changed> {
        changed(
            self.submit(Op::RemoveDependency { id, dep }, now_ms)
                .await?,
        )
    }

    /// Atomically claims the first ready feature (in plan order) without a live claim.
    /// `Ok(Err(reason))` says why there was nothing to claim.
    pub async fn claim_next(
        &self,
        agent: &str,
        lease_ms: i64,
        now_ms: i64,
    ) -> Result<Result<Claim, EmptyReason>> {
        crate::ops::validate_claim_args(agent, lease_ms)?;
        let op = Op::ClaimNext {
            agent: agent.to_owned(),
            lease_ms,
        };
        match self.submit(op, now_ms).await? {
            Outcome::Next(next) => Ok(next),
            other => Err(unexpected(&other)),
        }
    }

    /// Claims one feature. A live claim by another agent is [`StoreError::ClaimedByOther`];
    /// unfinished prerequisites are [`StoreError::Blocked`] unless `force`.
    pub async fn claim(
        &self,
        id: i64,
        agent: &str,
        lease_ms: i64,
        force: bool,
        now_ms: i64,
    ) -> Result<Claim> {
        let op = Op::Claim {
            id,
            agent: agent.to_owned(),
            lease_ms,
            force,
        };
        claim(self.submit(op, now_ms).await?)
    }

    /// Extends a live claim to `now + lease_ms`.
    pub async fn heartbeat(
        &self,
        id: i64,
        token: &str,
        lease_ms: i64,
        now_ms: i64,
    ) -> Result<Claim> {
        let op = Op::Heartbeat {
            id,
            token: token.to_owned(),
            lease_ms,
        };
        claim(self.submit(op, now_ms).await?)
    }

    /// Gives a claim back: the feature returns to `pending`. `failed` counts an attempt;
    /// at [`MAX_ATTEMPTS`] the feature moves to `needs_input` instead.
    pub async fn release(
        &self,
        id: i64,
        token: &str,
        failed: bool,
        now_ms: i64,
    ) -> Result<Changed> {
        let op = Op::Release {
            id,
            token: token.to_owned(),
            failed,
        };
        changed(self.submit(op, now_ms).await?)
    }

    /// Marks a feature done. A given `token` must be the live claim's; unfinished
    /// prerequisites are [`StoreError::Blocked`] unless `force`. Also answers the dependents
    /// that became ready.
    pub async fn complete(
        &self,
        id: i64,
        token: Option<&str>,
        force: bool,
        now_ms: i64,
    ) -> Result<(Changed, Vec<i64>)> {
        let op = Op::Complete {
            id,
            token: token.map(str::to_owned),
            force,
        };
        match self.submit(op, now_ms).await? {
            Outcome::Completed(c, unblocked) => Ok((c, unblocked)),
            other => Err(unexpected(&other)),
        }
    }

    /// Moves a done feature back to `pending`; anything else is
    /// [`StoreError::InvalidTransition`].
    pub async fn reopen(&self, id: i64, now_ms: i64) -> Result<Changed> {
        changed(self.submit(Op::Reopen(id), now_ms).await?)
    }

    /// Moves `id` just before or just after another feature in the queue, renumbering
    /// priorities `1..=n` in queue order. Exactly one of `before` and `after` is required.
    pub async fn reorder(
        &self,
        id: i64,
        before: Option<i64>,
        after: Option<i64>,
        now_ms: i64,
    ) -> Result<Changed> {
        changed(
            self.submit(Op::Reorder { id, before, after }, now_ms)
                .await?,
        )
    }

    /// Deletes heartbeat lines of the event log older than `keep_ms` before `now_ms`;
    /// answers how many went.
    pub async fn prune_heartbeats(&self, now_ms: i64, keep_ms: i64) -> Result<u64> {
        self.shared
            .storage
            .prune_heartbeats(now_ms.saturating_sub(keep_ms))
            .await
    }

    /// Returns every expired claim to `pending`, counting an attempt (at [`MAX_ATTEMPTS`],
    /// `needs_input`). Costs nothing when the snapshot holds no expired claim.
    pub async fn sweep_expired(&self, now_ms: i64) -> Result<Changed> {
        let any = self
            .snapshot()
            .features()
            .any(|f| crate::graph::expired_claim(f, now_ms));
        if !any {
            return Ok(Changed::default());
        }
        changed(self.submit(Op::SweepExpired, now_ms).await?)
    }
}

fn unexpected(outcome: &Outcome) -> StoreError {
    StoreError::Unavailable(format!("internal: unexpected outcome {outcome:?}"))
}

fn changed(outcome: Outcome) -> Result<Changed> {
    match outcome {
        Outcome::Changed(c) => Ok(c),
        other => Err(unexpected(&other)),
    }
}

fn claim(outcome: Outcome) -> Result<Claim> {
    match outcome {
        Outcome::Claim(c) => Ok(c),
        other => Err(unexpected(&other)),
    }
}

impl Shared {
    fn snapshot(&self) -> Arc<Graph> {
        self.snapshot
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn install(&self, change: Change) {
        *self
            .snapshot
            .write()
            .unwrap_or_else(PoisonError::into_inner) = change.after.clone();
        if let Some(observer) = self.observer.get() {
            observer(&change);
        }
        // The previous snapshot (its plan above all) may be freed here: with thousands of
        // features that is worth moving off the writer, which has the next batch to do.
        if change.before.len() > 1_000 {
            tokio::task::spawn_blocking(move || drop(change));
        }
    }

    /// Lays what other servers committed since the snapshot over it.
    async fn catch_up(&self) -> Result<Arc<Graph>> {
        let before = self.snapshot();
        let delta = self.storage.changes_since(before.generation).await?;
        if delta.generation <= before.generation {
            return Ok(before);
        }
        let changed: Vec<i64> = delta.records.iter().map(|r| r.feature.id).collect();
        let deleted = delta.deleted.clone();
        let after = Arc::new(before.with_delta(delta));
        let added = changed
            .iter()
            .copied()
            .filter(|&id| before.get(id).is_none())
            .collect();
        tracing::debug!(
            from = before.generation,
            to = after.generation,
            "caught up with other servers"
        );
        self.install(Change {
            before,
            after: after.clone(),
            added,
            changed,
            deleted,
            resync: false,
            state_flips: None,
        });
        Ok(after)
    }

    /// Loads everything again and tells clients to read everything again.
    async fn reload(&self) -> Result<()> {
        let loaded = self.storage.load().await?;
        let before = self.snapshot();
        let after = Arc::new(Graph::from(loaded));
        tracing::info!(generation = after.generation, "feature store reloaded");
        self.install(Change {
            before,
            after,
            added: Vec::new(),
            changed: Vec::new(),
            deleted: Vec::new(),
            resync: true,
            state_flips: None,
        });
        Ok(())
    }

    async fn run_batch(&self, jobs: Vec<Job>) {
        let mut base = self.snapshot();
        for _ in 0..MAX_CONFLICTS {
            let mut draft = Draft::new(&base);
            let results: Vec<Result<Outcome>> = jobs
                .iter()
                .map(|job| {
                    draft.begin(job.now);
                    crate::ops::apply(&mut draft, &job.op)
                })
                .collect();
            if draft.is_unchanged() {
                return reply(jobs, results);
            }
            let mutation = draft.mutation();
            let ids: Vec<i64> = mutation.upserts.iter().map(|r| r.feature.id).collect();
            let deleted = mutation.deleted.clone();
            let committed = tokio::time::timeout(
                COMMIT_TIMEOUT,
                self.storage.commit(base.generation, mutation),
            )
            .await
            .unwrap_or_else(|_| {
                Err(StoreError::Unavailable(
                    "the database did not answer in time".into(),
                ))
            });
            match committed {
                Ok(Committed::At(generation)) => {
                    let state_flips = draft.flips();
                    let after = Arc::new(draft.into_graph(generation));
                    let (added, changed) = ids.into_iter().partition(|&id| base.get(id).is_none());
                    self.install(Change {
                        before: base,
                        after,
                        added,
                        changed,
                        deleted,
                        resync: false,
                        state_flips,
                    });
                    return reply(jobs, results);
                }
                Ok(Committed::Conflict) => match self.catch_up().await {
                    Ok(next) => base = next,
                    Err(err) => return fail(jobs, results, &err),
                },
                Err(err) => {
                    tracing::warn!(%err, "feature store write failed");
                    return fail(jobs, results, &err);
                }
            }
        }
        let refused = jobs
            .iter()
            .map(|_| Ok(Outcome::Changed(Changed::default())))
            .collect();
        fail(
            jobs,
            refused,
            &StoreError::Unavailable("too many concurrent writers; try again".into()),
        );
    }
}

fn reply(jobs: Vec<Job>, results: Vec<Result<Outcome>>) {
    for (job, result) in jobs.into_iter().zip(results) {
        let _ = job.reply.send(result);
    }
}

/// Answers every job of a batch that could not be committed (the database is unreachable or
/// failed; nothing of the batch was written): a job refused on its own merits (422, 409)
/// keeps its refusal, every other one is told the database is unavailable.
fn fail(jobs: Vec<Job>, results: Vec<Result<Outcome>>, err: &StoreError) {
    for (job, result) in jobs.into_iter().zip(results) {
        let answer = match result {
            Err(refusal) => Err(refusal),
            Ok(_) => Err(StoreError::Unavailable(err.to_string())),
        };
        let _ = job.reply.send(answer);
    }
}

/// How often a SQLite store looks for writes by another process on the same file (SQLite has
/// no notifications; PostgreSQL's are pushed instead).
const POLL_EVERY: Duration = Duration::from_secs(1);

/// Follows other processes writing the same SQLite file: reads the generation row every
/// [`POLL_EVERY`] and has the writer catch up when it moved; checkpoints the WAL on the way.
/// Ends with the store.
fn poll_generation(shared: Arc<Shared>, writer: mpsc::WeakUnboundedSender<Msg>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(POLL_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let Some(tx) = writer.upgrade() else { return };
            if let Err(err) = shared.storage.maintain().await {
                tracing::debug!(%err, "feature store housekeeping failed");
            }
            match shared.storage.generation().await {
                Ok(g) if g > shared.snapshot().generation => {
                    if tx.send(Msg::Refresh(g)).is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                Err(err) => tracing::debug!(%err, "could not read the store's generation"),
            }
        }
    });
}

async fn writer(shared: Arc<Shared>, mut rx: mpsc::UnboundedReceiver<Msg>) {
    // A reload or catch-up that failed (the database still flapping) is tried again until it
    // succeeds, even if no other message ever comes.
    let (mut owed_reload, mut owed_catch_up) = (false, false);
    let mut retry = Duration::from_millis(200);
    loop {
        let first = if owed_reload || owed_catch_up {
            tokio::select! {
                msg = rx.recv() => msg,
                () = tokio::time::sleep(retry) => {
                    retry = (retry * 2).min(Duration::from_secs(5));
                    Some(Msg::Refresh(i64::MAX))
                }
            }
        } else {
            rx.recv().await
        };
        let Some(first) = first else { return };
        let mut jobs = Vec::new();
        let (mut refresh, mut reload) = (None::<i64>, owed_reload);
        let mut take = |msg: Msg, jobs: &mut Vec<Job>| match msg {
            Msg::Job(job) => jobs.push(job),
            Msg::Refresh(g) => refresh = Some(refresh.map_or(g, |r: i64| r.max(g))),
            Msg::Reload => reload = true,
        };
        take(first, &mut jobs);
        while jobs.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(msg) => take(msg, &mut jobs),
                Err(_) => break,
            }
        }
        if reload {
            owed_reload = match shared.reload().await {
                Ok(()) => false,
                Err(err) => {
                    tracing::warn!(%err, "feature store reload failed; retrying");
                    true
                }
            };
        } else if owed_catch_up || refresh.is_some_and(|g| g > shared.snapshot().generation) {
            owed_catch_up = match shared.catch_up().await {
                Ok(_) => false,
                Err(err) => {
                    tracing::warn!(%err, "feature store catch-up failed; retrying");
                    true
                }
            };
        }
        if !(owed_reload || owed_catch_up) {
            retry = Duration::from_millis(200);
        }
        if !jobs.is_empty() {
            shared.run_batch(jobs).await;
        }
    }
}
