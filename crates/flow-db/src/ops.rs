//! Every write of contract §5 as data ([`Op`]) and as one function over a [`Draft`]. Ops are
//! data so a batch can be worked out again over a newer snapshot when another server
//! committed first (see `store.rs`).

use std::collections::BTreeMap;

use crate::draft::Draft;
use crate::graph::live_claim;
use crate::{
    BulkItem, Changed, Claim, EmptyReason, Feature, FeaturePatch, FeatureStatus, MAX_BULK,
    NewFeature, StoreError,
};

type Result<T, E = StoreError> = std::result::Result<T, E>;

#[derive(Debug, Clone)]
pub(crate) enum Op {
    Create(NewFeature),
    Bulk(Vec<BulkItem>),
    Update {
        id: i64,
        patch: FeaturePatch,
        if_match: Option<i64>,
    },
    Delete {
        id: i64,
        detach: bool,
    },
    AddDependency {
        id: i64,
        dep: i64,
    },
    RemoveDependency {
        id: i64,
        dep: i64,
    },
    ClaimNext {
        agent: String,
        lease_ms: i64,
    },
    Claim {
        id: i64,
        agent: String,
        lease_ms: i64,
        force: bool,
    },
    Heartbeat {
        id: i64,
        token: String,
        lease_ms: i64,
    },
    Release {
        id: i64,
        token: String,
        failed: bool,
    },
    Complete {
        id: i64,
        token: Option<String>,
        force: bool,
    },
    Reopen(i64),
    Reorder {
        id: i64,
        before: Option<i64>,
        after: Option<i64>,
    },
    SweepExpired,
}

/// What an [`Op`] answers.
#[derive(Debug, Clone)]
pub(crate) enum Outcome {
    Feature(Feature),
    Features(Vec<Feature>),
    Changed(Changed),
    Next(std::result::Result<Claim, EmptyReason>),
    Claim(Claim),
    Completed(Changed, Vec<i64>),
}

pub(crate) fn apply(w: &mut Draft, op: &Op) -> Result<Outcome> {
    match op {
        Op::Create(new) => create(w, new).map(Outcome::Feature),
        Op::Bulk(items) => create_bulk(w, items).map(Outcome::Features),
        Op::Update {
            id,
            patch,
            if_match,
        } => update(w, *id, patch, *if_match).map(Outcome::Changed),
        Op::Delete { id, detach } => delete(w, *id, *detach).map(Outcome::Changed),
        Op::AddDependency { id, dep } => add_dependency(w, *id, *dep).map(Outcome::Changed),
        Op::RemoveDependency { id, dep } => remove_dependency(w, *id, *dep).map(Outcome::Changed),
        Op::ClaimNext { agent, lease_ms } => claim_next(w, agent, *lease_ms).map(Outcome::Next),
        Op::Claim {
            id,
            agent,
            lease_ms,
            force,
        } => claim(w, *id, agent, *lease_ms, *force).map(Outcome::Claim),
        Op::Heartbeat {
            id,
            token,
            lease_ms,
        } => heartbeat(w, *id, token, *lease_ms).map(Outcome::Claim),
        Op::Release { id, token, failed } => {
            w.check_token(*id, token)?;
            w.drop_claim(*id, *failed, "released")?;
            Ok(Outcome::Changed(w.changed()))
        }
        Op::Complete { id, token, force } => complete(w, *id, token.as_deref(), *force)
            .map(|(changed, unblocked)| Outcome::Completed(changed, unblocked)),
        Op::Reopen(id) => reopen(w, *id).map(Outcome::Changed),
        Op::Reorder { id, before, after } => reorder(w, *id, *before, *after).map(Outcome::Changed),
        Op::SweepExpired => sweep_expired(w).map(Outcome::Changed),
    }
}

fn validate_new(new: &NewFeature) -> Result<()> {
    if new.name.trim().is_empty() {
        return Err(StoreError::Validation("name is required".into()));
    }
    Ok(())
}

pub(crate) fn validate_claim_args(agent: &str, lease_ms: i64) -> Result<()> {
    if agent.trim().is_empty() {
        return Err(StoreError::Validation("agent is required".into()));
    }
    if lease_ms <= 0 {
        return Err(StoreError::Validation("lease must be positive".into()));
    }
    Ok(())
}

fn sorted_unique(ids: &[i64]) -> Vec<i64> {
    let mut v = ids.to_vec();
    v.sort_unstable();
    v.dedup();
    v
}

fn create(w: &mut Draft, new: &NewFeature) -> Result<Feature> {
    validate_new(new)?;
    let deps = sorted_unique(&new.dependencies);
    let unknown = w.unknown_ids(&deps);
    if !unknown.is_empty() {
        return Err(StoreError::UnknownDependency(unknown));
    }
    let id = w.insert(new, deps);
    Ok(w.load(id)?.clone())
}

fn create_bulk(w: &mut Draft, items: &[BulkItem]) -> Result<Vec<Feature>> {
    if items.len() > MAX_BULK {
        return Err(StoreError::Validation(format!(
            "at most {MAX_BULK} features per batch, got {}",
            items.len()
        )));
    }
    // Validate everything first, so errors can name every bad index.
    let mut errors: Vec<(usize, StoreError)> = Vec::new();
    let mut refs: BTreeMap<&str, usize> = BTreeMap::new();
    let mut batch_deps: Vec<Vec<usize>> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let mut mine = Vec::new();
        let check = (|| {
            validate_new(&item.feature)?;
            for r in &item.depends_on_refs {
                if item.ref_name.as_deref() == Some(r.as_str()) {
                    return Err(StoreError::SelfDependency);
                }
                match refs.get(r.as_str()) {
                    Some(&j) => mine.push(j),
                    None => {
                        return Err(StoreError::Validation(format!(
                            "ref `{r}` does not name an earlier item of the batch"
                        )));
                    }
                }
            }
            let unknown = w.unknown_ids(&sorted_unique(&item.feature.dependencies));
            if !unknown.is_empty() {
                return Err(StoreError::UnknownDependency(unknown));
            }
            Ok(())
        })();
        if let Err(e) = check {
            errors.push((i, e));
        }
        if let Some(name) = &item.ref_name
            && refs.insert(name.as_str(), i).is_some()
        {
            errors.push((i, StoreError::Validation(format!("duplicate ref `{name}`"))));
        }
        batch_deps.push(mine);
    }
    if !errors.is_empty() {
        return Err(StoreError::Bulk(errors));
    }
    let mut ids: Vec<i64> = Vec::with_capacity(items.len());
    for (item, earlier) in items.iter().zip(&batch_deps) {
        let mut deps = item.feature.dependencies.clone();
        deps.extend(earlier.iter().map(|&j| ids[j]));
        ids.push(w.insert(&item.feature, sorted_unique(&deps)));
    }
    ids.iter().map(|&id| Ok(w.load(id)?.clone())).collect()
}

fn update(w: &mut Draft, id: i64, patch: &FeaturePatch, if_match: Option<i64>) -> Result<Changed> {
    let current = w.load(id)?.clone();
    if let Some(v) = if_match.filter(|&v| v != current.version) {
        tracing::debug!(
            id,
            expected = v,
            current = current.version,
            "stale if-match"
        );
        return Err(StoreError::VersionMismatch {
            current: current.version,
        });
    }
    if let Some(name) = &patch.name
        && name.trim().is_empty()
    {
        return Err(StoreError::Validation("name must not be blank".into()));
    }
    // Dependencies: validate the whole new set before touching anything.
    let deps = patch.dependencies.as_deref().map(sorted_unique);
    if let Some(deps) = &deps {
        w.validate_dep_set(id, deps)?;
    }
    let to = patch.status.filter(|&s| s != current.status);
    if let Some(to) = to {
        if current.status == FeatureStatus::Done {
            return Err(StoreError::InvalidTransition {
                from: current.status,
                to,
            });
        }
        if matches!(to, FeatureStatus::InProgress | FeatureStatus::Done) && !patch.force {
            let unmet = w.unmet(id, deps.as_deref())?;
            if !unmet.is_empty() {
                return Err(StoreError::Blocked { blocked_by: unmet });
            }
        }
    }

    w.set_field(id, |f| {
        if let Some(v) = &patch.project {
            f.project.clone_from(v);
        }
        if let Some(v) = &patch.name {
            f.name = v.trim().to_owned();
        }
        if let Some(v) = &patch.description {
            f.description.clone_from(v);
        }
        if let Some(v) = &patch.category {
            f.category.clone_from(v);
        }
        if let Some(v) = &patch.steps {
            f.steps.clone_from(v);
        }
    })?;
    if let Some(p) = patch.priority.filter(|&p| p != current.priority) {
        w.set_priority(id, p)?;
    }
    if let Some(deps) = deps.filter(|d| *d != current.dependencies) {
        w.set_dependencies(id, deps)?;
    }
    if let Some(to) = to {
        w.set_status(id, to)?;
    }
    w.touch(
        id,
        "updated",
        serde_json::json!({"status": patch.status.map(FeatureStatus::as_str)}),
    )?;
    Ok(w.changed())
}

fn delete(w: &mut Draft, id: i64, detach: bool) -> Result<Changed> {
    w.load(id)?;
    let dependents = w.dependents(id);
    if !dependents.is_empty() && !detach {
        return Err(StoreError::HasDependents(dependents));
    }
    for &d in &dependents {
        let mut deps = w.load(d)?.dependencies.clone();
        deps.retain(|&x| x != id);
        w.set_dependencies(d, deps)?;
        w.touch(
            d,
            "dependency_removed",
            serde_json::json!({"dependsOn": id}),
        )?;
    }
    w.remove(id)?;
    w.event(id, "deleted", serde_json::json!({"detached": dependents}));
    let mut changed = w.changed();
    changed.deleted.push(id);
    Ok(changed)
}

fn add_dependency(w: &mut Draft, id: i64, dep: i64) -> Result<Changed> {
    let current = w.load(id)?;
    if current.dependencies.contains(&dep) {
        return Ok(Changed::default());
    }
    let mut deps = current.dependencies.clone();
    deps.push(dep);
    let deps = sorted_unique(&deps);
    w.validate_dep_set(id, &deps)?;
    w.set_dependencies(id, deps)?;
    w.touch(
        id,
        "dependency_added",
        serde_json::json!({"dependsOn": dep}),
    )?;
    Ok(w.changed())
}

fn remove_dependency(w: &mut Draft, id: i64, dep: i64) -> Result<Changed> {
    let current = w.load(id)?;
    if !current.dependencies.contains(&dep) {
        return Ok(Changed::default());
    }
    let mut deps = current.dependencies.clone();
    deps.retain(|&d| d != dep);
    w.set_dependencies(id, deps)?;
    w.touch(
        id,
        "dependency_removed",
        serde_json::json!({"dependsOn": dep}),
    )?;
    Ok(w.changed())
}

fn claim_next(
    w: &mut Draft,
    agent: &str,
    lease_ms: i64,
) -> Result<std::result::Result<Claim, EmptyReason>> {
    validate_claim_args(agent, lease_ms)?;
    let now = w.now;
    let pick = {
        // Dropped before the grant, so the grant patches the plan without copying it.
        let plan = w.claim_plan(now);
        let pick = plan
            .ready()
            .iter()
            .copied()
            .find(|&id| w.get(id).is_some_and(|f| !live_claim(f, now)));
        pick.ok_or_else(|| empty_reason(w, &plan, now))
    };
    match pick {
        Ok(id) => w.grant(id, agent, lease_ms).map(Ok),
        Err(reason) => Ok(Err(reason)),
    }
}

fn empty_reason(w: &Draft, plan: &flow_resolver::Plan<i64>, now: i64) -> EmptyReason {
    let mut all = w.all().peekable();
    if all.peek().is_none() {
        EmptyReason::Empty
    } else if w
        .all()
        .all(|f| matches!(f.status, FeatureStatus::Done | FeatureStatus::Cancelled))
    {
        EmptyReason::AllDone
    } else if !plan.ready().is_empty()
        || w.all()
            .any(|f| live_claim(f, now) || f.status == FeatureStatus::InProgress)
    {
        EmptyReason::AllClaimed
    } else {
        EmptyReason::AllBlocked
    }
}

fn claim(w: &mut Draft, id: i64, agent: &str, lease_ms: i64, force: bool) -> Result<Claim> {
    validate_claim_args(agent, lease_ms)?;
    let f = w.load(id)?;
    if matches!(f.status, FeatureStatus::Done | FeatureStatus::Cancelled) {
        return Err(StoreError::InvalidTransition {
            from: f.status,
            to: FeatureStatus::InProgress,
        });
    }
    if live_claim(f, w.now)
        && let Some(by) = f.claimed_by.clone().filter(|by| by != agent)
    {
        return Err(StoreError::ClaimedByOther { by });
    }
    if !force {
        let unmet = w.unmet(id, None)?;
        if !unmet.is_empty() {
            return Err(StoreError::Blocked { blocked_by: unmet });
        }
    }
    w.grant(id, agent, lease_ms)
}

fn heartbeat(w: &mut Draft, id: i64, token: &str, lease_ms: i64) -> Result<Claim> {
    if lease_ms <= 0 {
        return Err(StoreError::Validation("lease must be positive".into()));
    }
    w.check_token(id, token)?;
    let until = w.now.saturating_add(lease_ms);
    w.set_field(id, |f| f.lease_expires_at = Some(until))?;
    w.touch(
        id,
        "heartbeat",
        serde_json::json!({"leaseExpiresAt": until}),
    )?;
    Ok(Claim {
        feature: w.load(id)?.clone(),
        token: token.to_owned(),
        lease_expires_at: until,
    })
}

fn complete(
    w: &mut Draft,
    id: i64,
    token: Option<&str>,
    force: bool,
) -> Result<(Changed, Vec<i64>)> {
    let f = w.load(id)?;
    let status = f.status;
    if let Some(token) = token {
        w.check_token(id, token)?;
    }
    if status == FeatureStatus::Done {
        return Ok((Changed::default(), Vec::new()));
    }
    if !force {
        let unmet = w.unmet(id, None)?;
        if !unmet.is_empty() {
            return Err(StoreError::Blocked { blocked_by: unmet });
        }
    }
    let before: Vec<(i64, flow_resolver::State)> = {
        let dependents = w.dependents(id);
        let plan = w.plan();
        dependents
            .into_iter()
            .filter_map(|d| Some((d, plan.node(&d)?.state)))
            .collect()
    };
    w.set_status(id, FeatureStatus::Done)?;
    w.touch(id, "completed", serde_json::json!({}))?;
    let unblocked = w.newly_ready(id, &before);
    Ok((w.changed(), unblocked))
}

fn reopen(w: &mut Draft, id: i64) -> Result<Changed> {
    let f = w.load(id)?;
    if f.status != FeatureStatus::Done {
        return Err(StoreError::InvalidTransition {
            from: f.status,
            to: FeatureStatus::Pending,
        });
    }
    w.set_status(id, FeatureStatus::Pending)?;
    w.touch(id, "reopened", serde_json::json!({}))?;
    Ok(w.changed())
}

fn reorder(w: &mut Draft, id: i64, before: Option<i64>, after: Option<i64>) -> Result<Changed> {
    let (target, place_after) = match (before, after) {
        (Some(t), None) => (t, false),
        (None, Some(t)) => (t, true),
        _ => {
            return Err(StoreError::Validation(
                "give exactly one of `before` and `after`".into(),
            ));
        }
    };
    if target == id {
        return Err(StoreError::Validation(
            "cannot reorder a feature relative to itself".into(),
        ));
    }
    w.load(id)?;
    w.load(target)?;
    let mut queue: Vec<(i64, i64)> = w.all().map(|f| (f.priority, f.id)).collect();
    queue.sort_unstable();
    let old: BTreeMap<i64, i64> = queue.iter().map(|&(p, f)| (f, p)).collect();
    queue.retain(|&(_, f)| f != id);
    let at = queue.iter().position(|&(_, f)| f == target).unwrap_or(0);
    queue.insert(at + usize::from(place_after), (0, id));
    for (i, &(_, f)) in queue.iter().enumerate() {
        let p = i as i64 + 1;
        if old.get(&f) != Some(&p) {
            w.set_priority(f, p)?;
            w.touch(f, "reordered", serde_json::json!({"priority": p}))?;
        }
    }
    Ok(w.changed())
}

fn sweep_expired(w: &mut Draft) -> Result<Changed> {
    let now = w.now;
    let expired: Vec<i64> = w
        .all()
        .filter(|f| crate::graph::expired_claim(f, now))
        .map(|f| f.id)
        .collect();
    for id in expired {
        w.drop_claim(id, true, "lease_expired")?;
    }
    Ok(w.changed())
}
