//! [`FeatureStore`]: the SQLite-backed store. One writer connection (every write is a
//! `BEGIN IMMEDIATE` transaction) and one reader connection, each behind its own mutex, so
//! reads see the last committed state without waiting for a write in flight (WAL).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use flow_resolver::{Edge, Node, Plan, State, resolve, would_create_cycle};
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};

use crate::{
    BulkItem, Changed, Claim, EmptyReason, Feature, FeaturePatch, FeatureStatus, NewFeature, Step,
    StoreError, schema, token,
};

/// After this many failed attempts a feature moves to `needs_input`.
pub const MAX_ATTEMPTS: i64 = 3;
/// The largest batch [`FeatureStore::create_bulk`] accepts.
pub const MAX_BULK: usize = 1000;

const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
const COLUMNS: &str = "id, project, name, description, category, steps, status, priority, \
    claimed_by, lease_expires_at, attempts, version, created_at, updated_at, started_at, completed_at";

/// The feature store. Cheap to share behind an `Arc`; every method is synchronous.
#[derive(Debug)]
pub struct FeatureStore {
    writer: Mutex<Connection>,
    /// `None` for an in-memory store, whose only connection is the writer.
    reader: Option<Mutex<Connection>>,
}

type Result<T, E = StoreError> = std::result::Result<T, E>;

fn lock(m: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl FeatureStore {
    /// Opens (creating if needed, with its parent directories) the store at `path`, migrating
    /// it forward. A database written by a newer Flow is refused with [`StoreError::TooNew`].
    pub fn open(path: &Path) -> Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let mut writer = Connection::open(path)?;
        writer.busy_timeout(BUSY_TIMEOUT)?;
        // Refuse another application's file, or a newer one, before changing anything about
        // it, even its journal mode.
        schema::check_owner(&writer, path)?;
        let found = schema::version(&writer)?;
        if found > schema::SCHEMA_VERSION {
            return Err(StoreError::TooNew {
                found,
                supported: schema::SCHEMA_VERSION,
            });
        }
        writer.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get::<_, String>(0))?;
        writer.pragma_update(None, "synchronous", "NORMAL")?;
        writer.pragma_update(None, "foreign_keys", "ON")?;
        schema::migrate(&mut writer, Some(path))?;

        let reader = Connection::open(path)?;
        reader.busy_timeout(BUSY_TIMEOUT)?;
        reader.pragma_update(None, "foreign_keys", "ON")?;
        reader.pragma_update(None, "query_only", "ON")?;
        tracing::debug!(path = %path.display(), "feature store open");
        Ok(FeatureStore {
            writer: Mutex::new(writer),
            reader: Some(Mutex::new(reader)),
        })
    }

    /// A private, empty store that lives as long as this value (for tests and `--no-db` demos).
    pub fn open_in_memory() -> Result<Self> {
        let mut writer = Connection::open_in_memory()?;
        writer.pragma_update(None, "foreign_keys", "ON")?;
        schema::migrate(&mut writer, None)?;
        Ok(FeatureStore {
            writer: Mutex::new(writer),
            reader: None,
        })
    }

    fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let mut conn = lock(self.reader.as_ref().unwrap_or(&self.writer));
        // One read transaction, so a multi-statement read sees a single snapshot.
        let tx = conn.transaction()?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// Runs `f` inside `BEGIN IMMEDIATE`; an `Err` rolls everything back.
    fn write<T>(&self, now: i64, f: impl FnOnce(&mut Writer<'_>) -> Result<T>) -> Result<T> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = {
            let mut w = Writer {
                conn: &tx,
                now,
                touched: BTreeSet::new(),
            };
            f(&mut w)?
        };
        tx.commit()?;
        Ok(out)
    }

    // ----- reads ------------------------------------------------------------------------

    /// Every feature with its dependencies, in id order.
    pub fn list(&self) -> Result<Vec<Feature>> {
        self.read(load_all)
    }

    /// One feature.
    pub fn get(&self, id: i64) -> Result<Feature> {
        self.read(|c| load_one(c, id)?.ok_or(StoreError::NotFound(id)))
    }

    // ----- create -----------------------------------------------------------------------

    /// Creates one feature. The name is required; `priority: None` queues it last.
    pub fn create(&self, new: NewFeature, now_ms: i64) -> Result<Feature> {
        self.write(now_ms, |w| {
            validate_new(&new)?;
            let deps = sorted_unique(&new.dependencies);
            let unknown = w.unknown_ids(&deps)?;
            if !unknown.is_empty() {
                return Err(StoreError::UnknownDependency(unknown));
            }
            let id = w.insert(&new, &deps)?;
            w.load(id)
        })
    }

    /// Creates up to [`MAX_BULK`] features, all or nothing. An item may depend on an earlier
    /// item of the batch through `depends_on_refs`. Item problems come back together as
    /// [`StoreError::Bulk`] with their indexes.
    pub fn create_bulk(&self, items: Vec<BulkItem>, now_ms: i64) -> Result<Vec<Feature>> {
        if items.len() > MAX_BULK {
            return Err(StoreError::Validation(format!(
                "at most {MAX_BULK} features per batch, got {}",
                items.len()
            )));
        }
        self.write(now_ms, |w| {
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
                    let unknown = w.unknown_ids(&sorted_unique(&item.feature.dependencies))?;
                    if !unknown.is_empty() {
                        return Err(StoreError::UnknownDependency(unknown));
                    }
                    Ok(())
                })();
                match check {
                    Err(e @ StoreError::Sqlite(_)) => return Err(e),
                    Err(e) => errors.push((i, e)),
                    Ok(()) => {}
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
                let deps = sorted_unique(&deps);
                ids.push(w.insert(&item.feature, &deps)?);
            }
            ids.iter().map(|&id| w.load(id)).collect()
        })
    }

    // ----- update and delete ------------------------------------------------------------

    /// Applies a partial update. A stale `if_match` is [`StoreError::VersionMismatch`];
    /// status moves follow `contract.md` §5 (see [`StoreError::Blocked`],
    /// [`StoreError::InvalidTransition`]).
    pub fn update(
        &self,
        id: i64,
        patch: FeaturePatch,
        if_match: Option<i64>,
        now_ms: i64,
    ) -> Result<Changed> {
        self.write(now_ms, |w| {
            let current = w.load(id)?;
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
            if let Some(to) = patch.status.filter(|&s| s != current.status) {
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

            let c = w.conn;
            if let Some(v) = &patch.project {
                c.execute(
                    "UPDATE features SET project = ?2 WHERE id = ?1",
                    params![id, v],
                )?;
            }
            if let Some(v) = &patch.name {
                c.execute(
                    "UPDATE features SET name = ?2 WHERE id = ?1",
                    params![id, v.trim()],
                )?;
            }
            if let Some(v) = &patch.description {
                c.execute(
                    "UPDATE features SET description = ?2 WHERE id = ?1",
                    params![id, v],
                )?;
            }
            if let Some(v) = &patch.category {
                c.execute(
                    "UPDATE features SET category = ?2 WHERE id = ?1",
                    params![id, v],
                )?;
            }
            if let Some(v) = &patch.steps {
                c.execute(
                    "UPDATE features SET steps = ?2 WHERE id = ?1",
                    params![id, steps_json(v)?],
                )?;
            }
            if let Some(v) = patch.priority {
                c.execute(
                    "UPDATE features SET priority = ?2 WHERE id = ?1",
                    params![id, v],
                )?;
            }
            if let Some(deps) = &deps {
                c.execute("DELETE FROM feature_deps WHERE feature_id = ?1", [id])?;
                for d in deps {
                    c.execute(
                        "INSERT INTO feature_deps (feature_id, depends_on) VALUES (?1, ?2)",
                        [id, *d],
                    )?;
                }
            }
            if let Some(to) = patch.status.filter(|&s| s != current.status) {
                w.set_status(id, to)?;
            }
            w.touch(
                id,
                "updated",
                &serde_json::json!({"status": patch.status.map(FeatureStatus::as_str)}),
            )?;
            w.changed()
        })
    }

    /// Deletes a feature. If others depend on it, refuses with [`StoreError::HasDependents`]
    /// unless `detach`, which removes those edges in the same transaction; the dependents
    /// then appear in [`Changed::features`].
    pub fn delete(&self, id: i64, detach: bool, now_ms: i64) -> Result<Changed> {
        self.write(now_ms, |w| {
            w.load(id)?;
            let dependents = w.dependents(id)?;
            if !dependents.is_empty() && !detach {
                return Err(StoreError::HasDependents(dependents));
            }
            for &d in &dependents {
                w.conn.execute(
                    "DELETE FROM feature_deps WHERE feature_id = ?1 AND depends_on = ?2",
                    [d, id],
                )?;
                w.touch(
                    d,
                    "dependency_removed",
                    &serde_json::json!({"dependsOn": id}),
                )?;
            }
            w.conn.execute("DELETE FROM features WHERE id = ?1", [id])?;
            w.event(id, "deleted", &serde_json::json!({"detached": dependents}))?;
            let mut changed = w.changed()?;
            changed.deleted.push(id);
            Ok(changed)
        })
    }

    /// Makes `id` depend on `dep`. Adding an edge that exists changes nothing.
    pub fn add_dependency(&self, id: i64, dep: i64, now_ms: i64) -> Result<Changed> {
        self.write(now_ms, |w| {
            let current = w.load(id)?;
            if current.dependencies.contains(&dep) {
                return Ok(Changed::default());
            }
            let mut deps = current.dependencies;
            deps.push(dep);
            w.validate_dep_set(id, &sorted_unique(&deps))?;
            w.conn.execute(
                "INSERT INTO feature_deps (feature_id, depends_on) VALUES (?1, ?2)",
                [id, dep],
            )?;
            w.touch(
                id,
                "dependency_added",
                &serde_json::json!({"dependsOn": dep}),
            )?;
            w.changed()
        })
    }

    /// Removes the edge "`id` depends on `dep`"; removing a missing edge changes nothing.
    pub fn remove_dependency(&self, id: i64, dep: i64, now_ms: i64) -> Result<Changed> {
        self.write(now_ms, |w| {
            w.load(id)?;
            let n = w.conn.execute(
                "DELETE FROM feature_deps WHERE feature_id = ?1 AND depends_on = ?2",
                [id, dep],
            )?;
            if n == 0 {
                return Ok(Changed::default());
            }
            w.touch(
                id,
                "dependency_removed",
                &serde_json::json!({"dependsOn": dep}),
            )?;
            w.changed()
        })
    }

    // ----- claims -----------------------------------------------------------------------

    /// Atomically claims the first ready feature (in resolver order) without a live claim.
    /// `Ok(Err(reason))` says why there was nothing to claim.
    pub fn claim_next(
        &self,
        agent: &str,
        lease_ms: i64,
        now_ms: i64,
    ) -> Result<Result<Claim, EmptyReason>> {
        validate_claim_args(agent, lease_ms)?;
        self.write(now_ms, |w| {
            let all = load_all(w.conn)?;
            let plan = plan_at(&all, now_ms);
            let by_id: BTreeMap<i64, &Feature> = all.iter().map(|f| (f.id, f)).collect();
            let pick = plan
                .ready()
                .iter()
                .copied()
                .find(|id| by_id.get(id).is_some_and(|f| !live_claim(f, now_ms)));
            let Some(id) = pick else {
                return Ok(Err(empty_reason(&all, &plan, now_ms)));
            };
            w.grant(id, agent, lease_ms).map(Ok)
        })
    }

    /// Claims one feature. A live claim by another agent is [`StoreError::ClaimedByOther`];
    /// unfinished prerequisites are [`StoreError::Blocked`] unless `force`.
    pub fn claim(
        &self,
        id: i64,
        agent: &str,
        lease_ms: i64,
        force: bool,
        now_ms: i64,
    ) -> Result<Claim> {
        validate_claim_args(agent, lease_ms)?;
        self.write(now_ms, |w| {
            let f = w.load(id)?;
            if matches!(f.status, FeatureStatus::Done | FeatureStatus::Cancelled) {
                return Err(StoreError::InvalidTransition {
                    from: f.status,
                    to: FeatureStatus::InProgress,
                });
            }
            if live_claim(&f, now_ms)
                && let Some(by) = f.claimed_by.filter(|by| by != agent)
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
        })
    }

    /// Extends a live claim to `now + lease_ms`.
    pub fn heartbeat(&self, id: i64, token: &str, lease_ms: i64, now_ms: i64) -> Result<Claim> {
        if lease_ms <= 0 {
            return Err(StoreError::Validation("lease must be positive".into()));
        }
        self.write(now_ms, |w| {
            w.check_token(id, token)?;
            let until = now_ms.saturating_add(lease_ms);
            w.conn.execute(
                "UPDATE features SET lease_expires_at = ?2 WHERE id = ?1",
                [id, until],
            )?;
            w.touch(
                id,
                "heartbeat",
                &serde_json::json!({"leaseExpiresAt": until}),
            )?;
            Ok(Claim {
                feature: w.load(id)?,
                token: token.to_owned(),
                lease_expires_at: until,
            })
        })
    }

    /// Gives a claim back: the feature returns to `pending`. `failed` counts an attempt;
    /// at [`MAX_ATTEMPTS`] the feature moves to `needs_input` instead.
    pub fn release(&self, id: i64, token: &str, failed: bool, now_ms: i64) -> Result<Changed> {
        self.write(now_ms, |w| {
            w.check_token(id, token)?;
            w.drop_claim(id, failed, "released")?;
            w.changed()
        })
    }

    /// Marks a feature done. A given `token` must be the live claim's; unfinished
    /// prerequisites are [`StoreError::Blocked`] unless `force`. Also answers the dependents
    /// that became ready.
    pub fn complete(
        &self,
        id: i64,
        token: Option<&str>,
        force: bool,
        now_ms: i64,
    ) -> Result<(Changed, Vec<i64>)> {
        self.write(now_ms, |w| {
            let f = w.load(id)?;
            if let Some(token) = token {
                w.check_token(id, token)?;
            }
            if f.status == FeatureStatus::Done {
                return Ok((Changed::default(), Vec::new()));
            }
            if !force {
                let unmet = w.unmet(id, None)?;
                if !unmet.is_empty() {
                    return Err(StoreError::Blocked { blocked_by: unmet });
                }
            }
            let before = plan_at(&load_all(w.conn)?, now_ms);
            w.set_status(id, FeatureStatus::Done)?;
            w.touch(id, "completed", &serde_json::json!({}))?;
            let after = plan_at(&load_all(w.conn)?, now_ms);
            let unblocked = w
                .dependents(id)?
                .into_iter()
                .filter(|d| {
                    after.node(d).is_some_and(|n| n.state == State::Ready)
                        && before.node(d).is_none_or(|n| n.state != State::Ready)
                })
                .collect();
            Ok((w.changed()?, unblocked))
        })
    }

    /// Moves a done feature back to `pending`; anything else is
    /// [`StoreError::InvalidTransition`].
    pub fn reopen(&self, id: i64, now_ms: i64) -> Result<Changed> {
        self.write(now_ms, |w| {
            let f = w.load(id)?;
            if f.status != FeatureStatus::Done {
                return Err(StoreError::InvalidTransition {
                    from: f.status,
                    to: FeatureStatus::Pending,
                });
            }
            w.set_status(id, FeatureStatus::Pending)?;
            w.touch(id, "reopened", &serde_json::json!({}))?;
            w.changed()
        })
    }

    /// Moves `id` just before or just after another feature in the queue, renumbering
    /// priorities `1..=n` in queue order. Exactly one of `before` and `after` is required.
    pub fn reorder(
        &self,
        id: i64,
        before: Option<i64>,
        after: Option<i64>,
        now_ms: i64,
    ) -> Result<Changed> {
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
        self.write(now_ms, |w| {
            w.load(id)?;
            w.load(target)?;
            let mut queue: Vec<(i64, i64)> = {
                let mut stmt = w
                    .conn
                    .prepare("SELECT id, priority FROM features ORDER BY priority, id")?;
                stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<Result<_, _>>()?
            };
            let old: BTreeMap<i64, i64> = queue.iter().copied().collect();
            queue.retain(|&(f, _)| f != id);
            let at = queue.iter().position(|&(f, _)| f == target).unwrap_or(0);
            queue.insert(at + usize::from(place_after), (id, 0));
            for (i, &(f, _)) in queue.iter().enumerate() {
                let p = i as i64 + 1;
                if old.get(&f) != Some(&p) {
                    w.conn
                        .execute("UPDATE features SET priority = ?2 WHERE id = ?1", [f, p])?;
                    w.touch(f, "reordered", &serde_json::json!({"priority": p}))?;
                }
            }
            w.changed()
        })
    }

    /// Returns every expired claim to `pending`, counting an attempt (at [`MAX_ATTEMPTS`],
    /// `needs_input`).
    pub fn sweep_expired(&self, now_ms: i64) -> Result<Changed> {
        self.write(now_ms, |w| {
            let expired: Vec<i64> = {
                let mut stmt = w.conn.prepare(
                    "SELECT id FROM features WHERE claimed_by IS NOT NULL \
                     AND (lease_expires_at IS NULL OR lease_expires_at <= ?1) ORDER BY id",
                )?;
                stmt.query_map([now_ms], |r| r.get(0))?
                    .collect::<Result<_, _>>()?
            };
            for id in expired {
                w.drop_claim(id, true, "lease_expired")?;
            }
            w.changed()
        })
    }
}

// ----- the write context --------------------------------------------------------------------

/// The open write transaction plus what it has touched so far.
struct Writer<'c> {
    conn: &'c Connection,
    now: i64,
    touched: BTreeSet<i64>,
}

impl Writer<'_> {
    fn load(&self, id: i64) -> Result<Feature> {
        load_one(self.conn, id)?.ok_or(StoreError::NotFound(id))
    }

    /// Bumps the row's version, stamps `updated_at` and logs the event.
    fn touch(&mut self, id: i64, kind: &str, detail: &serde_json::Value) -> Result<()> {
        self.conn.execute(
            "UPDATE features SET version = version + 1, updated_at = ?2 WHERE id = ?1",
            [id, self.now],
        )?;
        self.touched.insert(id);
        self.event(id, kind, detail)
    }

    fn event(&self, id: i64, kind: &str, detail: &serde_json::Value) -> Result<()> {
        self.conn.execute(
            "INSERT INTO feature_events (feature_id, kind, detail, at) VALUES (?1, ?2, ?3, ?4)",
            params![id, kind, detail.to_string(), self.now],
        )?;
        Ok(())
    }

    fn changed(&self) -> Result<Changed> {
        let mut features = Vec::with_capacity(self.touched.len());
        for &id in &self.touched {
            if let Some(f) = load_one(self.conn, id)? {
                features.push(f);
            }
        }
        Ok(Changed {
            features,
            deleted: Vec::new(),
        })
    }

    fn insert(&mut self, new: &NewFeature, deps: &[i64]) -> Result<i64> {
        let priority = match new.priority {
            Some(p) => p,
            None => self.conn.query_row(
                "SELECT COALESCE(MAX(priority), 0) + 1 FROM features",
                [],
                |r| r.get(0),
            )?,
        };
        self.conn.execute(
            "INSERT INTO features (project, name, description, category, steps, priority, \
             created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
            params![
                new.project,
                new.name.trim(),
                new.description,
                new.category,
                steps_json(&new.steps)?,
                priority,
                self.now
            ],
        )?;
        let id = self.conn.last_insert_rowid();
        for &d in deps {
            self.conn.execute(
                "INSERT INTO feature_deps (feature_id, depends_on) VALUES (?1, ?2)",
                [id, d],
            )?;
        }
        self.event(id, "created", &serde_json::json!({"name": new.name.trim()}))?;
        Ok(id)
    }

    fn unknown_ids(&self, ids: &[i64]) -> Result<Vec<i64>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT 1 FROM features WHERE id = ?1")?;
        let mut unknown = Vec::new();
        for &id in ids {
            if !stmt.exists([id])? {
                unknown.push(id);
            }
        }
        Ok(unknown)
    }

    fn edges(&self) -> Result<Vec<Edge<i64>>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT feature_id, depends_on FROM feature_deps")?;
        let edges = stmt
            .query_map([], |r| Ok(Edge::new(r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        Ok(edges)
    }

    /// Checks that `deps` may become the whole prerequisite set of `id`: no self edge, no
    /// unknown id, no cycle (reported as the path it would close).
    fn validate_dep_set(&self, id: i64, deps: &[i64]) -> Result<()> {
        if deps.contains(&id) {
            return Err(StoreError::SelfDependency);
        }
        let unknown = self.unknown_ids(deps)?;
        if !unknown.is_empty() {
            return Err(StoreError::UnknownDependency(unknown));
        }
        let mut edges = self.edges()?;
        edges.retain(|e| e.dependent != id);
        for &d in deps {
            if let Some(cycle) = would_create_cycle(&edges, &id, &d) {
                return Err(StoreError::Cycle(cycle));
            }
            edges.push(Edge::new(id, d));
        }
        Ok(())
    }

    /// Prerequisites of `id` that are not done; `deps` overrides the stored set.
    fn unmet(&self, id: i64, deps: Option<&[i64]>) -> Result<Vec<i64>> {
        let deps = match deps {
            Some(d) => d.to_vec(),
            None => self.load(id)?.dependencies,
        };
        let mut stmt = self
            .conn
            .prepare_cached("SELECT status FROM features WHERE id = ?1")?;
        let mut unmet = Vec::new();
        for d in deps {
            let status: Option<String> = stmt.query_row([d], |r| r.get(0)).optional()?;
            if status.as_deref() != Some(FeatureStatus::Done.as_str()) {
                unmet.push(d);
            }
        }
        Ok(unmet)
    }

    fn dependents(&self, id: i64) -> Result<Vec<i64>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT feature_id FROM feature_deps WHERE depends_on = ?1 ORDER BY feature_id",
        )?;
        let ids = stmt
            .query_map([id], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        Ok(ids)
    }

    /// Sets the status with its side effects: `in_progress` stamps `started_at`, `done`
    /// stamps `completed_at`, leaving `done` clears it, anything but `in_progress` drops the
    /// claim.
    fn set_status(&self, id: i64, to: FeatureStatus) -> Result<()> {
        self.conn.execute(
            "UPDATE features SET status = ?2, \
               started_at = CASE WHEN ?2 = 'in_progress' AND status <> 'in_progress' THEN ?3 ELSE started_at END, \
               completed_at = CASE WHEN ?2 = 'done' THEN ?3 ELSE NULL END, \
               claimed_by = CASE WHEN ?2 = 'in_progress' THEN claimed_by ELSE NULL END, \
               claim_token = CASE WHEN ?2 = 'in_progress' THEN claim_token ELSE NULL END, \
               lease_expires_at = CASE WHEN ?2 = 'in_progress' THEN lease_expires_at ELSE NULL END \
             WHERE id = ?1",
            params![id, to.as_str(), self.now],
        )?;
        Ok(())
    }

    fn grant(&mut self, id: i64, agent: &str, lease_ms: i64) -> Result<Claim> {
        let token = token::fresh()?;
        let until = self.now.saturating_add(lease_ms);
        self.conn.execute(
            "UPDATE features SET claimed_by = ?2, claim_token = ?3, lease_expires_at = ?4, \
               started_at = CASE WHEN status = 'in_progress' AND started_at IS NOT NULL \
                            THEN started_at ELSE ?5 END, \
               status = 'in_progress' \
             WHERE id = ?1",
            params![id, agent, token, until, self.now],
        )?;
        self.touch(
            id,
            "claimed",
            &serde_json::json!({"agent": agent, "leaseExpiresAt": until}),
        )?;
        Ok(Claim {
            feature: self.load(id)?,
            token,
            lease_expires_at: until,
        })
    }

    /// [`StoreError::LeaseLost`] unless `token` is the live claim on `id`.
    fn check_token(&self, id: i64, token: &str) -> Result<()> {
        let row: Option<(Option<String>, Option<i64>)> = self
            .conn
            .query_row(
                "SELECT claim_token, lease_expires_at FROM features WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        match row {
            None => Err(StoreError::NotFound(id)),
            Some((Some(t), Some(until))) if t == token && until > self.now => Ok(()),
            Some(_) => Err(StoreError::LeaseLost),
        }
    }

    /// Clears the claim and returns the feature to `pending` (or `needs_input` once a failure
    /// brings attempts to [`MAX_ATTEMPTS`]).
    fn drop_claim(&mut self, id: i64, failed: bool, kind: &str) -> Result<()> {
        self.conn.execute(
            "UPDATE features SET claimed_by = NULL, claim_token = NULL, lease_expires_at = NULL, \
               attempts = attempts + ?2, \
               status = CASE WHEN attempts + ?2 >= ?3 THEN 'needs_input' ELSE 'pending' END \
             WHERE id = ?1",
            params![id, i64::from(failed), MAX_ATTEMPTS],
        )?;
        self.touch(id, kind, &serde_json::json!({"failed": failed}))
    }
}

// ----- helpers ------------------------------------------------------------------------------

fn validate_new(new: &NewFeature) -> Result<()> {
    if new.name.trim().is_empty() {
        return Err(StoreError::Validation("name is required".into()));
    }
    Ok(())
}

fn validate_claim_args(agent: &str, lease_ms: i64) -> Result<()> {
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

fn steps_json(steps: &[Step]) -> Result<String> {
    serde_json::to_string(steps).map_err(|e| StoreError::Validation(format!("bad steps: {e}")))
}

fn live_claim(f: &Feature, now: i64) -> bool {
    f.claimed_by.is_some() && f.lease_expires_at.is_some_and(|t| t > now)
}

/// The resolver's plan at `now`: a feature whose claim has expired counts as pending, since
/// an expired claim is treated as unclaimed at once.
fn plan_at(all: &[Feature], now: i64) -> Plan<i64> {
    let nodes: Vec<Node<i64>> = all
        .iter()
        .map(|f| {
            let expired = f.status == FeatureStatus::InProgress
                && f.claimed_by.is_some()
                && !live_claim(f, now);
            let status = if expired {
                FeatureStatus::Pending
            } else {
                f.status
            };
            Node {
                id: f.id,
                status: status.to_resolver(),
                priority: f.priority,
                tiebreak: 0,
            }
        })
        .collect();
    let edges: Vec<Edge<i64>> = all
        .iter()
        .flat_map(|f| f.dependencies.iter().map(|&d| Edge::new(f.id, d)))
        .collect();
    resolve(&nodes, &edges)
}

fn empty_reason(all: &[Feature], plan: &Plan<i64>, now: i64) -> EmptyReason {
    if all.is_empty() {
        EmptyReason::Empty
    } else if all
        .iter()
        .all(|f| matches!(f.status, FeatureStatus::Done | FeatureStatus::Cancelled))
    {
        EmptyReason::AllDone
    } else if !plan.ready().is_empty()
        || all
            .iter()
            .any(|f| live_claim(f, now) || f.status == FeatureStatus::InProgress)
    {
        EmptyReason::AllClaimed
    } else {
        EmptyReason::AllBlocked
    }
}

fn feature_from_row(r: &Row<'_>) -> rusqlite::Result<Feature> {
    let steps: String = r.get(5)?;
    let steps: Vec<Step> = serde_json::from_str(&steps).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(5, rusqlite::types::Type::Text, Box::new(e))
    })?;
    let status: String = r.get(6)?;
    let status = FeatureStatus::parse(&status).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            6,
            rusqlite::types::Type::Text,
            format!("unknown status `{status}`").into(),
        )
    })?;
    Ok(Feature {
        id: r.get(0)?,
        project: r.get(1)?,
        name: r.get(2)?,
        description: r.get(3)?,
        category: r.get(4)?,
        steps,
        status,
        priority: r.get(7)?,
        dependencies: Vec::new(),
        claimed_by: r.get(8)?,
        lease_expires_at: r.get(9)?,
        attempts: r.get(10)?,
        version: r.get(11)?,
        created_at: r.get(12)?,
        updated_at: r.get(13)?,
        started_at: r.get(14)?,
        completed_at: r.get(15)?,
    })
}

fn load_all(conn: &Connection) -> Result<Vec<Feature>> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {COLUMNS} FROM features ORDER BY id"))?;
    let mut features: Vec<Feature> = stmt
        .query_map([], feature_from_row)?
        .collect::<Result<_, _>>()?;
    let mut index: BTreeMap<i64, usize> = BTreeMap::new();
    for (i, f) in features.iter().enumerate() {
        index.insert(f.id, i);
    }
    let mut stmt = conn.prepare_cached(
        "SELECT feature_id, depends_on FROM feature_deps ORDER BY feature_id, depends_on",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let (f, d): (i64, i64) = (row.get(0)?, row.get(1)?);
        if let Some(&i) = index.get(&f) {
            features[i].dependencies.push(d);
        }
    }
    Ok(features)
}

fn load_one(conn: &Connection, id: i64) -> Result<Option<Feature>> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {COLUMNS} FROM features WHERE id = ?1"))?;
    let Some(mut f) = stmt.query_row([id], feature_from_row).optional()? else {
        return Ok(None);
    };
    let mut stmt = conn.prepare_cached(
        "SELECT depends_on FROM feature_deps WHERE feature_id = ?1 ORDER BY depends_on",
    )?;
    f.dependencies = stmt
        .query_map([id], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(Some(f))
}
