//! The feature object of contract §5: stored fields plus what flow-resolver derives (`state`,
//! `blockedBy`, `dependents`) and the older trackers' `passes`/`inProgress` mirrors.
//!
//! A feature is serialised straight from borrowed fields (no `serde_json::Value` per
//! feature), and the list is assembled from each feature's bytes, kept per feature and reused
//! while nothing it shows changed: after one claim on 10,000 features, one feature is
//! rendered again, not 10,000.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};

use flow_core::time::rfc3339_from_ms;
use flow_db::{Feature, FeatureStatus, Graph, Step};
use flow_resolver::NodePlan;
use serde::Serialize;
use serde_json::{Value, json};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FeatureWire<'a> {
    id: i64,
    project: &'a str,
    name: &'a str,
    description: &'a str,
    category: &'a str,
    steps: &'a [Step],
    status: &'static str,
    priority: i64,
    dependencies: &'a [i64],
    dependents: Vec<i64>,
    state: Option<&'static str>,
    blocked_by: &'a [i64],
    claimed_by: Option<&'a str>,
    lease_expires_at: Option<String>,
    attempts: i64,
    version: i64,
    created_at: String,
    updated_at: String,
    started_at: Option<String>,
    completed_at: Option<String>,
    passes: bool,
    in_progress: bool,
}

/// Renders features of one snapshot, against that snapshot's plan.
pub(crate) struct FeatureView<'a> {
    graph: &'a Graph,
}

impl<'a> FeatureView<'a> {
    pub(crate) fn new(graph: &'a Graph) -> Self {
        Self { graph }
    }

    fn wire<'f>(&'f self, f: &'f Feature) -> FeatureWire<'f> {
        Self::wire_with(
            f,
            self.graph.plan().node(&f.id),
            self.graph.dependents(f.id),
        )
    }

    /// The wire shape from what the graph derives for `f` (its plan node and dependents),
    /// looked up by the caller: [`FeatureView::bytes`] needs them for its cache key anyway.
    fn wire_with<'f>(
        f: &'f Feature,
        node: Option<&'f NodePlan<i64>>,
        dependents: Vec<i64>,
    ) -> FeatureWire<'f> {
        FeatureWire {
            id: f.id,
            project: &f.project,
            name: &f.name,
            description: &f.description,
            category: &f.category,
            steps: &f.steps,
            status: f.status.as_str(),
            priority: f.priority,
            dependencies: &f.dependencies,
            dependents,
            state: node.map(|n| n.state.as_str()),
            blocked_by: node.map_or(&[], |n| n.blocked_by.as_slice()),
            claimed_by: f.claimed_by.as_deref(),
            lease_expires_at: f.lease_expires_at.map(rfc3339_from_ms),
            attempts: f.attempts,
            version: f.version,
            created_at: rfc3339_from_ms(f.created_at),
            updated_at: rfc3339_from_ms(f.updated_at),
            started_at: f.started_at.map(rfc3339_from_ms),
            completed_at: f.completed_at.map(rfc3339_from_ms),
            passes: f.status == FeatureStatus::Done,
            in_progress: f.status == FeatureStatus::InProgress,
        }
    }

    pub(crate) fn render(&self, f: &Feature) -> Value {
        serde_json::to_value(self.wire(f)).unwrap_or(Value::Null)
    }

    /// The feature's JSON bytes, from `cache` when nothing it shows changed since they were
    /// rendered (its row's version, and what the graph derives for it: state, blockers,
    /// dependents, which move when *other* features change).
    pub(crate) fn bytes(&self, f: &Feature, cache: &mut FeatureBytes) -> bytes::Bytes {
        let node = self.graph.plan().node(&f.id);
        let mut h = DefaultHasher::new();
        f.version.hash(&mut h);
        node.map(|n| (n.state.as_str(), &n.blocked_by)).hash(&mut h);
        let dependents = self.graph.dependents(f.id);
        dependents.hash(&mut h);
        let key = h.finish();
        if let Some((k, bytes)) = cache.0.get(&f.id)
            && *k == key
        {
            return bytes.clone();
        }
        let wire = Self::wire_with(f, node, dependents);
        let bytes = bytes::Bytes::from(serde_json::to_vec(&wire).unwrap_or_default());
        cache.0.insert(f.id, (key, bytes.clone()));
        bytes
    }

    /// The single-feature response adds what is behind it and what it would free.
    pub(crate) fn render_one(&self, f: &Feature) -> Value {
        let plan = self.graph.plan();
        let mut v = self.render(f);
        v["rootBlockers"] = json!(plan.root_blockers(&f.id));
        v["wouldUnblock"] = json!(
            plan.node(&f.id)
                .map(|n| n.would_unblock.clone())
                .unwrap_or_default()
        );
        v
    }
}

/// Each feature's rendered JSON with the key it was rendered for (see [`FeatureView::bytes`]).
#[derive(Default)]
pub(crate) struct FeatureBytes(HashMap<i64, (u64, bytes::Bytes)>);

impl FeatureBytes {
    /// Forgets features that are gone, so the cache never outgrows the store.
    pub(crate) fn retain(&mut self, graph: &Graph) {
        if self.0.len() > graph.len() {
            self.0.retain(|id, _| graph.get(*id).is_some());
        }
    }
}
