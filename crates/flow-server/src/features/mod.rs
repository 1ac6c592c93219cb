//! The feature store over HTTP (contract §5): wire views with derived state, the error mapping,
//! and `feature-update` events for every committed change and every derived-state flip.
//!
//! Every read renders the store's current snapshot (no database trip, one plan for every
//! answer); every write awaits the store's writer task, which has swapped in the next snapshot
//! and announced the events (through [`announce`]) by the time the handler answers.

mod claims;
mod input;
mod reads;
mod views;
mod writes;

use std::sync::{Arc, Mutex, PoisonError};

use axum::body::Bytes;
use flow_core::config::Database;
use flow_core::time::Clock;
use flow_db::{Change, FeatureStore};
use serde_json::json;

use crate::error::ApiError;
use crate::hub::Hub;

pub(crate) use views::FeatureView;

/// Every handler of `/api/features…`, for the router.
pub(crate) mod routes {
    pub(crate) use super::claims::{claim_next, claim_one, complete, heartbeat, release, reopen};
    pub(crate) use super::reads::{get_one, graph, list, ready, stats};
    pub(crate) use super::writes::{
        add_dependency, create, create_bulk, delete, remove_dependency, reorder, update,
    };
}

/// The store, the server's clock, and the rendered unfiltered list of the current generation
/// (what boards poll and reload; 10,000 features are megabytes of JSON, rendered once per
/// change instead of once per request).
pub(crate) struct Features {
    pub(crate) store: FeatureStore,
    /// "Now" for every write and lease decision: the server's one clock.
    pub(crate) clock: Clock,
    list_cache: Mutex<Option<(i64, Bytes)>>,
    /// Each feature's rendered JSON, reused across generations while it shows the same.
    feature_bytes: Mutex<views::FeatureBytes>,
}

impl Features {
    /// Opens the store `db` names and announces its every change on `hub`.
    pub(crate) async fn open(
        db: &Database,
        clock: Clock,
        hub: Arc<Hub>,
    ) -> Result<Self, flow_db::StoreError> {
        let store = FeatureStore::open_database(db).await?;
        store.on_change(move |change| announce(&hub, change));
        tracing::info!(db = %store.describe(), features = store.snapshot().len(), "feature store ready");
        Ok(Features {
            store,
            clock,
            list_cache: Mutex::new(None),
            feature_bytes: Mutex::new(views::FeatureBytes::default()),
        })
    }

    /// "Now" for writes and leases: the server's clock, read as the database's (they differ
    /// only on PostgreSQL, when this machine's clock is off).
    pub(crate) fn now(&self) -> i64 {
        self.store.database_time(self.clock.now_ms())
    }

    pub(crate) fn feature_bytes(&self) -> std::sync::MutexGuard<'_, views::FeatureBytes> {
        self.feature_bytes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The unfiltered list of generation `generation`, rendering it with `render` only when
    /// the cache holds another generation.
    pub(crate) fn cached_list(&self, generation: i64, render: impl FnOnce() -> Bytes) -> Bytes {
        let mut cache = self
            .list_cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some((g, bytes)) = cache.as_ref()
            && *g == generation
        {
            return bytes.clone();
        }
        let bytes = render();
        *cache = Some((generation, bytes.clone()));
        bytes
    }
}

/// One `feature-update` event per added, changed or deleted feature, plus one for every
/// feature whose derived state flipped (completing A makes B `ready` on every screen at
/// once), whichever server made the change. A reload after the database came back tells
/// clients to read everything again.
fn announce(hub: &Hub, change: &Change) {
    if change.resync {
        hub.publish(&json!({"type": "resync"}), None);
        return;
    }
    for &id in &change.deleted {
        hub.publish(
            &json!({"type": "feature-update", "event": "delete", "featureId": id}),
            None,
        );
    }
    let added: std::collections::HashSet<i64> = change.added.iter().copied().collect();
    let changed: std::collections::HashSet<i64> = change.changed.iter().copied().collect();
    let announce_one = |id: i64| {
        let kind = if added.contains(&id) { "add" } else { "change" };
        hub.publish(
            &json!({"type": "feature-update", "event": kind, "featureId": id}),
            None,
        );
    };
    match &change.state_flips {
        // The writer knows which states flipped: announce those and the rows written.
        Some(flips) => {
            let mut ids: Vec<i64> = change
                .added
                .iter()
                .chain(&change.changed)
                .chain(flips)
                .copied()
                .filter(|&id| change.after.get(id).is_some())
                .collect();
            ids.sort_unstable();
            ids.dedup();
            ids.into_iter().for_each(announce_one);
        }
        None => {
            let before = change.before.plan();
            for node in change.after.plan().nodes() {
                let id = node.id;
                if added.contains(&id)
                    || changed.contains(&id)
                    || before.node(&id).is_none_or(|b| b.state != node.state)
                {
                    announce_one(id);
                }
            }
        }
    }
}

/// `None` when the store is off: every `/api/features` path then answers `features_disabled`.
pub(crate) type MaybeFeatures = Option<Arc<Features>>;

pub(crate) fn require(features: &MaybeFeatures) -> Result<&Arc<Features>, ApiError> {
    features.as_ref().ok_or(ApiError::FeaturesDisabled)
}

/// Heartbeat lines of the event log are kept a day, pruned about hourly (720 sweeps).
const KEEP_HEARTBEATS_MS: i64 = 24 * 3600 * 1000;
const PRUNE_EVERY_TICKS: u64 = 720;

/// How often expired claims are returned to the queue (an expired claim is already treated as
/// unclaimed at once; the sweep makes it visible, counts the attempt and emits events).
const SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// The lease sweep, until `shutdown`: run it under the server's supervisor. With several
/// servers on one database each sweeps, but sweeps are writes, so they queue on the store's
/// generation: the first returns the expired claims, the others find none left.
pub(crate) async fn lease_sweep(
    features: Arc<Features>,
    shutdown: tokio_util::sync::CancellationToken,
) {
    let mut tick = tokio::time::interval(SWEEP_EVERY);
    let mut ticks: u64 = 0;
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            _ = tick.tick() => {}
        }
        if let Err(err) = features.store.sweep_expired(features.now()).await {
            tracing::warn!(%err, "lease sweep failed");
        }
        ticks += 1;
        if ticks % PRUNE_EVERY_TICKS == 1 {
            match features
                .store
                .prune_heartbeats(features.now(), KEEP_HEARTBEATS_MS)
                .await
            {
                Ok(0) => {}
                Ok(n) => tracing::debug!(n, "pruned old heartbeat events"),
                Err(err) => tracing::debug!(%err, "could not prune heartbeat events"),
            }
        }
    }
}
