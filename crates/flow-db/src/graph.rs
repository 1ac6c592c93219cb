//! [`Graph`]: one immutable snapshot of the whole feature store (every feature, its edges, the
//! resolved plan and the generation it was read at). The server answers every read from the
//! current snapshot and swaps in the next one after each committed write, so a read never
//! touches the database and every response and event of one generation agrees.

use std::collections::BTreeMap;
use std::sync::Arc;

use flow_resolver::{Edge, Node, Plan, resolve};

use crate::{Feature, FeatureStatus};

/// One stored row: the feature plus its claim token, which proves ownership and so never
/// leaves the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Record {
    pub(crate) feature: Feature,
    pub(crate) token: Option<String>,
}

/// An immutable snapshot of the store. Cheap to share (`Arc<Graph>`); never changes.
#[derive(Debug, Clone)]
pub struct Graph {
    pub(crate) generation: i64,
    /// The id the next created feature gets: ids come from one counter in the database and
    /// are never reused, whichever server creates the feature.
    pub(crate) next_id: i64,
    /// Sorted by id.
    pub(crate) records: Vec<Arc<Record>>,
    pub(crate) plan: Arc<Plan<i64>>,
}

impl Graph {
    pub(crate) fn new(generation: i64, next_id: i64, mut records: Vec<Arc<Record>>) -> Self {
        records.sort_unstable_by_key(|r| r.feature.id);
        let plan = Arc::new(resolve_records(&records, None));
        Graph {
            generation,
            next_id,
            records,
            plan,
        }
    }

    /// An empty store at generation 0.
    pub fn empty() -> Self {
        Graph::new(0, 1, Vec::new())
    }

    /// Bumped by every committed write, on every server sharing the database.
    pub fn generation(&self) -> i64 {
        self.generation
    }

    /// Every feature, in id order.
    pub fn features(&self) -> impl ExactSizeIterator<Item = &Feature> + '_ {
        self.records.iter().map(|r| &r.feature)
    }

    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    pub fn get(&self, id: i64) -> Option<&Feature> {
        self.position(id).map(|i| &self.records[i].feature)
    }

    /// The resolved plan: derived state, order, cycles. One plan builder for every reader.
    pub fn plan(&self) -> &Plan<i64> {
        &self.plan
    }

    /// The features that depend on `id`, sorted.
    pub fn dependents(&self, id: i64) -> Vec<i64> {
        self.plan.dependents(&id)
    }

    pub(crate) fn position(&self, id: i64) -> Option<usize> {
        self.records
            .binary_search_by_key(&id, |r| r.feature.id)
            .ok()
    }

    /// This snapshot with `delta` (rows another writer committed) laid over it.
    pub(crate) fn with_delta(&self, delta: crate::storage::Delta) -> Graph {
        let mut by_id: BTreeMap<i64, Arc<Record>> = self
            .records
            .iter()
            .map(|r| (r.feature.id, r.clone()))
            .collect();
        for id in &delta.deleted {
            by_id.remove(id);
        }
        for record in delta.records {
            by_id.insert(record.feature.id, Arc::new(record));
        }
        Graph::new(
            delta.generation,
            delta.next_id.max(self.next_id),
            by_id.into_values().collect(),
        )
    }
}

impl From<crate::storage::Loaded> for Graph {
    fn from(loaded: crate::storage::Loaded) -> Self {
        Graph::new(
            loaded.generation,
            loaded.next_id,
            loaded.records.into_iter().map(Arc::new).collect(),
        )
    }
}

/// The resolver's plan over `records`. With `at: Some(now)`, a claim whose lease expired
/// counts as pending (an expired claim is treated as unclaimed at once); with `None`, stored
/// statuses are taken as they are, which is what every response shows.
pub(crate) fn resolve_records(records: &[Arc<Record>], at: Option<i64>) -> Plan<i64> {
    let nodes: Vec<Node<i64>> = records
        .iter()
        .map(|r| {
            let f = &r.feature;
            Node {
                id: f.id,
                status: effective_status(f, at).to_resolver(),
                priority: f.priority,
                tiebreak: f.id,
            }
        })
        .collect();
    let edges: Vec<Edge<i64>> = records
        .iter()
        .flat_map(|r| {
            let id = r.feature.id;
            r.feature
                .dependencies
                .iter()
                .map(move |&d| Edge::new(id, d))
        })
        .collect();
    resolve(&nodes, &edges)
}

pub(crate) fn effective_status(f: &Feature, at: Option<i64>) -> FeatureStatus {
    match at {
        Some(now) if f.status == FeatureStatus::InProgress && expired_claim(f, now) => {
            FeatureStatus::Pending
        }
        _ => f.status,
    }
}

/// A claim is live while its lease runs.
pub(crate) fn live_claim(f: &Feature, now: i64) -> bool {
    f.claimed_by.is_some() && f.lease_expires_at.is_some_and(|t| t > now)
}

/// A claim whose lease has run out (or has none): unclaimed at once, returned by the sweep.
pub(crate) fn expired_claim(f: &Feature, now: i64) -> bool {
    f.claimed_by.is_some() && !live_claim(f, now)
}
