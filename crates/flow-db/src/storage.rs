//! [`Storage`]: what the feature store needs from a database, and nothing more: load
//! everything once, commit a batch's rows if nobody else committed since the snapshot it was
//! worked out on, and tell what changed since a generation. Both backends (SQLite, embedded;
//! PostgreSQL, shared by several servers) implement it with the same tables and meaning.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::StoreError;
use crate::graph::Record;

pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One line of the `feature_events` log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EventRow {
    pub(crate) feature_id: i64,
    pub(crate) kind: String,
    /// JSON text.
    pub(crate) detail: String,
    pub(crate) at: i64,
}

/// What one batch changed: whole rows as they are now (a row is small, and writing it whole
/// keeps both backends to one statement per row), the features whose edge sets to rewrite,
/// the deleted ids and the log lines.
#[derive(Debug, Clone, Default)]
pub(crate) struct Mutation {
    pub(crate) upserts: Vec<Arc<Record>>,
    pub(crate) edges_changed: Vec<i64>,
    pub(crate) deleted: Vec<i64>,
    pub(crate) events: Vec<EventRow>,
    pub(crate) next_id: i64,
}

impl Mutation {
    /// The ids a notification names: every row written or deleted.
    pub(crate) fn ids(&self) -> impl Iterator<Item = i64> + '_ {
        self.upserts
            .iter()
            .map(|r| r.feature.id)
            .chain(self.deleted.iter().copied())
    }
}

/// Everything in the database, at one generation.
#[derive(Debug, Default)]
pub(crate) struct Loaded {
    pub(crate) generation: i64,
    pub(crate) next_id: i64,
    pub(crate) records: Vec<Record>,
}

/// The rows that changed after a generation: those still present, whole, and the ids of
/// those deleted.
#[derive(Debug, Default)]
pub(crate) struct Delta {
    pub(crate) generation: i64,
    pub(crate) next_id: i64,
    pub(crate) records: Vec<Record>,
    pub(crate) deleted: Vec<i64>,
}

/// How a commit ended when the database itself did not fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Committed {
    /// Written; the store is now at this generation.
    At(i64),
    /// Another writer committed since `base`: nothing was written. Catch up and work the
    /// batch out again.
    Conflict,
}

pub(crate) trait Storage: Send + Sync + 'static {
    /// Every row and the current generation.
    fn load(&self) -> BoxFuture<'_, Result<Loaded, StoreError>>;

    /// The rows changed after `generation` (from the `feature_events` log).
    fn changes_since(&self, generation: i64) -> BoxFuture<'_, Result<Delta, StoreError>>;

    /// In one transaction: if the store is still at `base`, writes `mutation`, moves the
    /// generation on by one and (PostgreSQL) notifies the other servers.
    fn commit(&self, base: i64, mutation: Mutation)
    -> BoxFuture<'_, Result<Committed, StoreError>>;

    /// The generation the database is at now (cheap: one row).
    fn generation(&self) -> BoxFuture<'_, Result<i64, StoreError>>;

    /// Housekeeping off the write path, called about once a second (SQLite: checkpoint the
    /// write-ahead log, so no commit ever pays for one).
    fn maintain(&self) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async { Ok(()) })
    }

    /// Deletes `heartbeat` lines of the log written before `before_ms`: one per heartbeat of
    /// every claim, they would otherwise outgrow everything else. (A server catches up from
    /// the log within moments of a write; one that was away longer reloads everything.)
    fn prune_heartbeats(&self, before_ms: i64) -> BoxFuture<'_, Result<u64, StoreError>>;

    /// The database's clock minus this machine's, in milliseconds (0 when they are the same
    /// clock, as for SQLite).
    fn clock_offset(&self) -> BoxFuture<'_, Result<i64, StoreError>> {
        Box::pin(async { Ok(0) })
    }

    /// Where the store lives, for logs (a PostgreSQL URL without its password).
    fn describe(&self) -> String;
}
