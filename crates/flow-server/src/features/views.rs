//! The feature object of contract §5: stored fields plus what flow-resolver derives (`state`,
//! `blockedBy`, `dependents`) and the older trackers' `passes`/`inProgress` mirrors.

use std::collections::BTreeMap;

use flow_core::time::rfc3339_from_ms;
use flow_db::{Feature, FeatureStatus};
use flow_resolver::{Edge, Node, Plan, resolve};
use serde_json::{Value, json};

/// Resolves every feature at once: state is a property of the whole graph.
pub(crate) fn resolve_all(all: &[Feature]) -> Plan<i64> {
    let nodes: Vec<Node<i64>> = all
        .iter()
        .map(|f| Node {
            id: f.id,
            status: f.status.to_resolver(),
            priority: f.priority,
            tiebreak: f.id,
        })
        .collect();
    let edges: Vec<Edge<i64>> = all
        .iter()
        .flat_map(|f| f.dependencies.iter().map(move |d| Edge::new(f.id, *d)))
        .collect();
    resolve(&nodes, &edges)
}

fn opt_time(ms: Option<i64>) -> Value {
    ms.map_or(Value::Null, |ms| Value::String(rfc3339_from_ms(ms)))
}

/// Renders features against one resolved plan and one dependents map.
pub(crate) struct FeatureView<'a> {
    plan: &'a Plan<i64>,
    dependents: BTreeMap<i64, Vec<i64>>,
}

impl<'a> FeatureView<'a> {
    pub(crate) fn new(all: &[Feature], plan: &'a Plan<i64>) -> Self {
        let mut dependents: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
        for f in all {
            for d in &f.dependencies {
                dependents.entry(*d).or_default().push(f.id);
            }
        }
        for list in dependents.values_mut() {
            list.sort_unstable();
        }
        Self { plan, dependents }
    }

    pub(crate) fn render(&self, f: &Feature) -> Value {
        let node = self.plan.node(&f.id);
        json!({
            "id": f.id,
            "project": f.project,
            "name": f.name,
            "description": f.description,
            "category": f.category,
            "steps": f.steps.iter().map(|s| json!({"text": s.text, "done": s.done})).collect::<Vec<_>>(),
            "status": f.status.as_str(),
            "priority": f.priority,
            "dependencies": f.dependencies,
            "dependents": self.dependents.get(&f.id).cloned().unwrap_or_default(),
            "state": node.map(|n| n.state.as_str()),
            "blockedBy": node.map(|n| n.blocked_by.clone()).unwrap_or_default(),
            "claimedBy": f.claimed_by,
            "leaseExpiresAt": opt_time(f.lease_expires_at),
            "attempts": f.attempts,
            "version": f.version,
            "createdAt": rfc3339_from_ms(f.created_at),
            "updatedAt": rfc3339_from_ms(f.updated_at),
            "startedAt": opt_time(f.started_at),
            "completedAt": opt_time(f.completed_at),
            "passes": f.status == FeatureStatus::Done,
            "inProgress": f.status == FeatureStatus::InProgress,
        })
    }

    /// The single-feature response adds what is behind it and what it would free.
    pub(crate) fn render_one(&self, f: &Feature) -> Value {
        let mut v = self.render(f);
        v["rootBlockers"] = json!(self.plan.root_blockers(&f.id));
        v["wouldUnblock"] = json!(
            self.plan
                .node(&f.id)
                .map(|n| n.would_unblock.clone())
                .unwrap_or_default()
        );
        v
    }
}
