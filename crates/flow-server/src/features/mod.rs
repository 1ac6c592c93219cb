//! The feature store over HTTP (contract §5): wire views with derived state, the error mapping,
//! and `feature-update` events for every committed change and every derived-state flip.

pub(crate) mod routes;
mod views;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use flow_core::time::Clock;
use flow_db::{Feature, FeatureStore};
use flow_resolver::State;
use serde_json::json;

use crate::error::ApiError;
use crate::hub::Hub;

pub(crate) use views::{FeatureView, resolve_all};

/// The store plus what the last published states were, so a write can announce every feature
/// whose derived `state` flipped because of it (completing A makes B `ready` everywhere).
pub(crate) struct Features {
    pub(crate) store: FeatureStore,
    /// "Now" for every write and lease decision: the server's one clock.
    pub(crate) clock: Clock,
    /// Held for one write's publish step only; never across an `.await`.
    states: Mutex<HashMap<i64, State>>,
}

impl Features {
    pub(crate) fn new(store: FeatureStore, clock: Clock) -> Result<Self, flow_db::StoreError> {
        let all = store.list()?;
        let plan = resolve_all(&all);
        let states = all
            .iter()
            .filter_map(|f| Some((f.id, plan.node(&f.id)?.state)))
            .collect();
        Ok(Self {
            store,
            clock,
            states: Mutex::new(states),
        })
    }

    /// After a committed write: one event per changed or deleted feature, plus one for every
    /// feature whose derived state flipped. Blocking (reads the store).
    pub(crate) fn publish(&self, hub: &Hub, added: &[i64], changed: &[i64], deleted: &[i64]) {
        let Ok(all) = self.store.list() else {
            return;
        };
        let plan = resolve_all(&all);
        let mut states = self
            .states
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut announced: Vec<i64> = Vec::new();
        for &id in deleted {
            states.remove(&id);
            hub.publish(
                &json!({"type": "feature-update", "event": "delete", "featureId": id}),
                None,
            );
        }
        for f in &all {
            let state = plan.node(&f.id).map(|n| n.state);
            let flipped = state.is_some() && states.get(&f.id).copied() != state;
            if let Some(state) = state {
                states.insert(f.id, state);
            }
            let kind = if added.contains(&f.id) {
                "add"
            } else if changed.contains(&f.id) || flipped {
                "change"
            } else {
                continue;
            };
            announced.push(f.id);
            hub.publish(
                &json!({"type": "feature-update", "event": kind, "featureId": f.id}),
                None,
            );
        }
        tracing::debug!(?announced, "feature events");
    }
}

/// `None` when the store is off: every `/api/features` path then answers `features_disabled`.
pub(crate) type MaybeFeatures = Option<Arc<Features>>;

pub(crate) fn require(features: &MaybeFeatures) -> Result<&Arc<Features>, ApiError> {
    features.as_ref().ok_or(ApiError::FeaturesDisabled)
}

pub(crate) fn find(all: &[Feature], id: i64) -> Option<&Feature> {
    all.iter().find(|f| f.id == id)
}

/// How often expired claims are returned to the queue (an expired claim is already treated as
/// unclaimed at once; the sweep makes it visible, counts the attempt and emits events).
const SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// The lease sweep, until `shutdown`: run it under the server's supervisor.
pub(crate) async fn lease_sweep(
    features: Arc<Features>,
    hub: Arc<Hub>,
    shutdown: tokio_util::sync::CancellationToken,
) {
    let mut tick = tokio::time::interval(SWEEP_EVERY);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            _ = tick.tick() => {}
        }
        let (features, hub) = (features.clone(), hub.clone());
        let res = tokio::task::spawn_blocking(move || {
            match features.store.sweep_expired(features.clock.now_ms()) {
                Ok(changed) if !changed.features.is_empty() => {
                    let ids: Vec<i64> = changed.features.iter().map(|f| f.id).collect();
                    features.publish(&hub, &[], &ids, &[]);
                }
                Ok(_) => {}
                Err(err) => tracing::warn!(%err, "lease sweep failed"),
            }
        })
        .await;
        crate::supervisor::log_join_error("lease sweep", res);
    }
}
