//! The feature object of contract §5: stored fields plus what flow-resolver derives (`state`,
//! `blockedBy`, `dependents`) and the older trackers' `passes`/`inProgress` mirrors.

use flow_core::time::rfc3339_from_ms;
use flow_db::{Feature, FeatureStatus, Graph};
use serde_json::{Value, json};

fn opt_time(ms: Option<i64>) -> Value {
    ms.map_or(Value::Null, |ms| Value::String(rfc3339_from_ms(ms)))
}

/// Renders features of one snapshot, against that snapshot's plan.
pub(crate) struct FeatureView<'a> {
    graph: &'a Graph,
}

impl<'a> FeatureView<'a> {
    pub(crate) fn new(graph: &'a Graph) -> Self {
        Self { graph }
    }

    pub(crate) fn render(&self, f: &Feature) -> Value {
        let node = self.graph.plan().node(&f.id);
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
            "dependents": self.graph.dependents(f.id),
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
