//! [`Draft`]: a batch of writes being worked out in memory over one snapshot. Every rule of
//! contract §5 (validation, transitions, claims) is checked here, against the snapshot, before
//! anything changes; what the batch changed comes out as a [`Mutation`] for the storage to
//! commit and as the next [`Graph`]. Each operation validates first and then changes the
//! draft, so an operation that fails leaves the draft as it found it.

use std::collections::BTreeSet;
use std::sync::Arc;

use flow_resolver::{Edge, Plan, State, would_create_cycle};

use crate::graph::{Graph, Record, effective_status, expired_claim, resolve_records};
use crate::storage::{EventRow, Mutation};
use crate::{Changed, Claim, Feature, FeatureStatus, MAX_ATTEMPTS, NewFeature, StoreError};

type Result<T, E = StoreError> = std::result::Result<T, E>;

pub(crate) struct Draft {
    records: Vec<Arc<Record>>,
    /// Shared with the snapshot until the first change to it.
    plan: Arc<Plan<i64>>,
    /// Set by a change to edges, priorities or the set of features: the plan is resolved
    /// again when next asked for. Status changes patch it in place instead.
    plan_stale: bool,
    /// The features whose derived state the batch's status changes flipped; `None` once the
    /// plan was (or will be) resolved again, when any state may have moved.
    flips: Option<BTreeSet<i64>>,
    next_id: i64,
    /// "Now" of the operation being applied.
    pub(crate) now: i64,
    /// Rows written by the whole batch, and those whose edge set must be rewritten.
    written: BTreeSet<i64>,
    edges_written: BTreeSet<i64>,
    deleted: BTreeSet<i64>,
    events: Vec<EventRow>,
    /// Rows touched (version bumped) by the operation being applied, for its answer.
    touched: BTreeSet<i64>,
}

impl Draft {
    pub(crate) fn new(base: &Graph) -> Self {
        Draft {
            records: base.records.clone(),
            plan: base.plan.clone(),
            plan_stale: false,
            flips: Some(BTreeSet::new()),
            next_id: base.next_id,
            now: 0,
            written: BTreeSet::new(),
            edges_written: BTreeSet::new(),
            deleted: BTreeSet::new(),
            events: Vec::new(),
            touched: BTreeSet::new(),
        }
    }

    /// Starts the next operation of the batch.
    pub(crate) fn begin(&mut self, now: i64) {
        self.now = now;
        self.touched.clear();
    }

    pub(crate) fn is_unchanged(&self) -> bool {
        self.written.is_empty() && self.deleted.is_empty()
    }

    /// What the batch changed, for the storage to commit.
    pub(crate) fn mutation(&self) -> Mutation {
        let upserts = self
            .written
            .iter()
            .filter_map(|&id| self.position(id).map(|i| self.records[i].clone()))
            .collect();
        Mutation {
            upserts,
            edges_changed: self.edges_written.iter().copied().collect(),
            deleted: self.deleted.iter().copied().collect(),
            events: self.events.clone(),
            next_id: self.next_id,
        }
    }

    /// The features whose derived state the batch flipped, when known without comparing the
    /// whole plan (`None`: compare everything).
    pub(crate) fn flips(&self) -> Option<Vec<i64>> {
        self.flips.as_ref().map(|f| f.iter().copied().collect())
    }

    /// The snapshot after the batch committed at `generation`.
    pub(crate) fn into_graph(mut self, generation: i64) -> Graph {
        self.refresh_plan();
        Graph {
            generation,
            next_id: self.next_id,
            records: self.records,
            plan: self.plan,
        }
    }

    // ----- reading ------------------------------------------------------------------------

    fn position(&self, id: i64) -> Option<usize> {
        self.records
            .binary_search_by_key(&id, |r| r.feature.id)
            .ok()
    }

    pub(crate) fn get(&self, id: i64) -> Option<&Feature> {
        self.position(id).map(|i| &self.records[i].feature)
    }

    pub(crate) fn load(&self, id: i64) -> Result<&Feature> {
        self.get(id).ok_or(StoreError::NotFound(id))
    }

    pub(crate) fn all(&self) -> impl Iterator<Item = &Feature> + '_ {
        self.records.iter().map(|r| &r.feature)
    }

    /// The batch changed what the plan is built from (priorities, edges, features): it must be
    /// resolved again, and which states flipped can no longer be told from patches.
    fn invalidate_plan(&mut self) {
        self.plan_stale = true;
        self.flips = None;
    }

    fn refresh_plan(&mut self) {
        if self.plan_stale {
            self.plan = Arc::new(resolve_records(&self.records, None));
            self.plan_stale = false;
        }
    }

    pub(crate) fn plan(&mut self) -> &Plan<i64> {
        self.refresh_plan();
        &self.plan
    }

    /// The plan agents claim from at `now`: expired claims count as unclaimed at once, even
    /// before the sweep returns them to the queue.
    pub(crate) fn claim_plan(&mut self, now: i64) -> Arc<Plan<i64>> {
        let any_expired = self
            .all()
            .any(|f| f.status == FeatureStatus::InProgress && expired_claim(f, now));
        if any_expired {
            Arc::new(resolve_records(&self.records, Some(now)))
        } else {
            self.refresh_plan();
            self.plan.clone()
        }
    }

    pub(crate) fn unknown_ids(&self, ids: &[i64]) -> Vec<i64> {
        ids.iter()
            .copied()
            .filter(|&id| self.get(id).is_none())
            .collect()
    }

    /// Checks that `deps` may become the whole prerequisite set of `id`: no self edge, no
    /// unknown id, no cycle (reported as the path it would close).
    pub(crate) fn validate_dep_set(&self, id: i64, deps: &[i64]) -> Result<()> {
        if deps.contains(&id) {
            return Err(StoreError::SelfDependency);
        }
        let unknown = self.unknown_ids(deps);
        if !unknown.is_empty() {
            return Err(StoreError::UnknownDependency(unknown));
        }
        let mut edges: Vec<Edge<i64>> = self
            .all()
            .filter(|f| f.id != id)
            .flat_map(|f| f.dependencies.iter().map(|&d| Edge::new(f.id, d)))
            .collect();
        for &d in deps {
            if let Some(cycle) = would_create_cycle(&edges, &id, &d) {
                return Err(StoreError::Cycle(cycle));
            }
            edges.push(Edge::new(id, d));
        }
        Ok(())
    }

    /// Prerequisites of `id` that are not done; `deps` overrides the stored set.
    pub(crate) fn unmet(&self, id: i64, deps: Option<&[i64]>) -> Result<Vec<i64>> {
        let deps = match deps {
            Some(d) => d,
            None => &self.load(id)?.dependencies,
        };
        Ok(deps
            .iter()
            .copied()
            .filter(|&d| self.get(d).is_none_or(|f| f.status != FeatureStatus::Done))
            .collect())
    }

    pub(crate) fn dependents(&self, id: i64) -> Vec<i64> {
        self.all()
            .filter(|f| f.dependencies.contains(&id))
            .map(|f| f.id)
            .collect()
    }

    pub(crate) fn token(&self, id: i64) -> Option<&str> {
        self.position(id)
            .and_then(|i| self.records[i].token.as_deref())
    }

    /// The largest priority in use, so new work can queue last.
    pub(crate) fn last_priority(&self) -> i64 {
        self.all().map(|f| f.priority).max().unwrap_or(0)
    }

    // ----- writing ------------------------------------------------------------------------

    /// Changes one row in place (copy on write: the snapshot it came from is untouched).
    fn edit(&mut self, id: i64, f: impl FnOnce(&mut Record)) -> Result<()> {
        let i = self.position(id).ok_or(StoreError::NotFound(id))?;
        f(Arc::make_mut(&mut self.records[i]));
        self.written.insert(id);
        Ok(())
    }

    /// Bumps the row's version, stamps `updated_at` and logs the event.
    pub(crate) fn touch(&mut self, id: i64, kind: &str, detail: serde_json::Value) -> Result<()> {
        let now = self.now;
        self.edit(id, |r| {
            r.feature.version += 1;
            r.feature.updated_at = now;
        })?;
        self.touched.insert(id);
        self.event(id, kind, detail);
        Ok(())
    }

    pub(crate) fn event(&mut self, id: i64, kind: &str, detail: serde_json::Value) {
        self.events.push(EventRow {
            feature_id: id,
            kind: kind.to_owned(),
            detail: detail.to_string(),
            at: self.now,
        });
    }

    /// What the operation being applied changed, as the rows are now.
    pub(crate) fn changed(&self) -> Changed {
        Changed {
            features: self
                .touched
                .iter()
                .filter_map(|&id| self.get(id).cloned())
                .collect(),
            deleted: Vec::new(),
        }
    }

    fn status_changed(&mut self, id: i64) {
        if self.plan_stale {
            return;
        }
        if let Some(f) = self.get(id) {
            let status = effective_status(f, None).to_resolver();
            let flipped = Arc::make_mut(&mut self.plan).set_status(&id, status);
            if let (Some(all), Some(flipped)) = (self.flips.as_mut(), flipped) {
                all.extend(flipped);
            }
        }
    }

    pub(crate) fn set_field(&mut self, id: i64, f: impl FnOnce(&mut Feature)) -> Result<()> {
        self.edit(id, |r| f(&mut r.feature))
    }

    pub(crate) fn set_priority(&mut self, id: i64, priority: i64) -> Result<()> {
        self.edit(id, |r| r.feature.priority = priority)?;
        self.invalidate_plan();
        Ok(())
    }

    pub(crate) fn set_dependencies(&mut self, id: i64, deps: Vec<i64>) -> Result<()> {
        self.edit(id, |r| r.feature.dependencies = deps)?;
        self.edges_written.insert(id);
        self.invalidate_plan();
        Ok(())
    }

    /// Sets the status with its side effects: `in_progress` stamps `started_at`, `done`
    /// stamps `completed_at`, leaving `done` clears it, anything but `in_progress` drops the
    /// claim.
    pub(crate) fn set_status(&mut self, id: i64, to: FeatureStatus) -> Result<()> {
        let now = self.now;
        self.edit(id, |r| {
            let f = &mut r.feature;
            if to == FeatureStatus::InProgress && f.status != FeatureStatus::InProgress {
                f.started_at = Some(now);
            }
            f.completed_at = (to == FeatureStatus::Done).then_some(now);
            if to != FeatureStatus::InProgress {
                f.claimed_by = None;
                f.lease_expires_at = None;
                r.token = None;
            }
            f.status = to;
        })?;
        self.status_changed(id);
        Ok(())
    }

    pub(crate) fn grant(&mut self, id: i64, agent: &str, lease_ms: i64) -> Result<Claim> {
        let token = crate::token::fresh()?;
        let now = self.now;
        let until = now.saturating_add(lease_ms);
        self.edit(id, |r| {
            let f = &mut r.feature;
            if !(f.status == FeatureStatus::InProgress && f.started_at.is_some()) {
                f.started_at = Some(now);
            }
            f.status = FeatureStatus::InProgress;
            f.claimed_by = Some(agent.to_owned());
            f.lease_expires_at = Some(until);
            r.token = Some(token.clone());
        })?;
        self.status_changed(id);
        self.touch(
            id,
            "claimed",
            serde_json::json!({"agent": agent, "leaseExpiresAt": until}),
        )?;
        Ok(Claim {
            feature: self.load(id)?.clone(),
            token,
            lease_expires_at: until,
        })
    }

    /// [`StoreError::LeaseLost`] unless `token` is the live claim on `id`.
    pub(crate) fn check_token(&self, id: i64, token: &str) -> Result<()> {
        let f = self.load(id)?;
        match (self.token(id), f.lease_expires_at) {
            (Some(t), Some(until)) if t == token && until > self.now => Ok(()),
            _ => Err(StoreError::LeaseLost),
        }
    }

    /// Clears the claim and returns the feature to `pending` (or `needs_input` once a failure
    /// brings attempts to [`MAX_ATTEMPTS`]).
    pub(crate) fn drop_claim(&mut self, id: i64, failed: bool, kind: &str) -> Result<()> {
        self.edit(id, |r| {
            let f = &mut r.feature;
            f.claimed_by = None;
            f.lease_expires_at = None;
            r.token = None;
            f.attempts += i64::from(failed);
            f.status = if f.attempts >= MAX_ATTEMPTS {
                FeatureStatus::NeedsInput
            } else {
                FeatureStatus::Pending
            };
        })?;
        self.status_changed(id);
        self.touch(id, kind, serde_json::json!({"failed": failed}))
    }

    pub(crate) fn insert(&mut self, new: &NewFeature, deps: Vec<i64>) -> i64 {
        let id = self.next_id;
        self.next_id += 1;
        let priority = new.priority.unwrap_or_else(|| self.last_priority() + 1);
        let name = new.name.trim().to_owned();
        let feature = Feature {
            id,
            project: new.project.clone(),
            name: name.clone(),
            description: new.description.clone(),
            category: new.category.clone(),
            steps: new.steps.clone(),
            status: FeatureStatus::Pending,
            priority,
            dependencies: deps,
            claimed_by: None,
            lease_expires_at: None,
            attempts: 0,
            version: 1,
            created_at: self.now,
            updated_at: self.now,
            started_at: None,
            completed_at: None,
        };
        // Ids only grow, so pushing keeps the rows sorted.
        debug_assert!(self.records.last().is_none_or(|r| r.feature.id < id));
        self.records.push(Arc::new(Record {
            feature,
            token: None,
        }));
        self.written.insert(id);
        self.edges_written.insert(id);
        self.invalidate_plan();
        self.event(id, "created", serde_json::json!({"name": name}));
        id
    }

    pub(crate) fn remove(&mut self, id: i64) -> Result<()> {
        let i = self.position(id).ok_or(StoreError::NotFound(id))?;
        self.records.remove(i);
        self.written.remove(&id);
        self.edges_written.remove(&id);
        self.deleted.insert(id);
        self.invalidate_plan();
        Ok(())
    }

    /// The dependents of `id` that are `ready` now and were not in `before`.
    pub(crate) fn newly_ready(&mut self, id: i64, before: &[(i64, State)]) -> Vec<i64> {
        let dependents = self.dependents(id);
        let plan = self.plan();
        dependents
            .into_iter()
            .filter(|d| {
                plan.node(d).is_some_and(|n| n.state == State::Ready)
                    && before
                        .iter()
                        .find(|(b, _)| b == d)
                        .is_none_or(|(_, s)| *s != State::Ready)
            })
            .collect()
    }
}
