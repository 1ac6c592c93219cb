//! The embedded backend: one SQLite file (WAL), one connection, every call one trip to the
//! blocking pool. Several Flow processes may open the same file: `BEGIN IMMEDIATE` plus the
//! generation check in [`Storage::commit`] keeps their writes from crossing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};

use crate::graph::Record;
use crate::storage::{BoxFuture, Committed, Delta, Loaded, Mutation, Storage};
use crate::{Feature, FeatureStatus, Step, StoreError, schema};

type Result<T, E = StoreError> = std::result::Result<T, E>;

const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
const COLUMNS: &str = "id, project, name, description, category, steps, status, priority, \
    claimed_by, lease_expires_at, attempts, version, created_at, updated_at, started_at, \
    completed_at, claim_token";

pub(crate) struct SqliteStorage {
    conn: Arc<Mutex<Connection>>,
    /// A second connection that checkpoints the WAL, so the writer never does (SQLite's
    /// automatic checkpoint runs inside whichever commit crosses the threshold, fsyncs
    /// included: that commit, and every request queued behind it, waits).
    checkpointer: Option<Arc<Mutex<Connection>>>,
    path: Option<PathBuf>,
}

impl SqliteStorage {
    /// Opens (creating if needed, with its parent directories) the store at `path`, migrating
    /// it forward. A database written by a newer Flow is refused with [`StoreError::TooNew`].
    pub(crate) fn open(path: &Path) -> Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let mut conn = Connection::open(path)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        // Refuse another application's file, or a newer one, before changing anything about
        // it, even its journal mode.
        schema::check_owner(&conn, path)?;
        let found = schema::version(&conn)?;
        if found > schema::SCHEMA_VERSION {
            return Err(StoreError::TooNew {
                found,
                supported: schema::SCHEMA_VERSION,
            });
        }
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get::<_, String>(0))?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        schema::migrate(&mut conn, Some(path))?;
        conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        let checkpointer = Connection::open(path)?;
        checkpointer.busy_timeout(BUSY_TIMEOUT)?;
        tracing::debug!(path = %path.display(), "feature store open");
        Ok(SqliteStorage {
            conn: Arc::new(Mutex::new(conn)),
            checkpointer: Some(Arc::new(Mutex::new(checkpointer))),
            path: Some(path.to_owned()),
        })
    }

    /// A private, empty store that lives as long as this value.
    pub(crate) fn in_memory() -> Result<Self> {
        let mut conn = Connection::open_in_memory()?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        schema::migrate(&mut conn, None)?;
        Ok(SqliteStorage {
            conn: Arc::new(Mutex::new(conn)),
            checkpointer: None,
            path: None,
        })
    }

    fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    ) -> BoxFuture<'_, Result<T>> {
        let conn = self.conn.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || {
                let mut conn = conn.lock().unwrap_or_else(PoisonError::into_inner);
                f(&mut conn)
            })
            .await
            .map_err(|e| StoreError::Unavailable(format!("database task failed: {e}")))?
        })
    }
}

impl Storage for SqliteStorage {
    fn load(&self) -> BoxFuture<'_, Result<Loaded>> {
        self.blocking(|conn| {
            let tx = conn.transaction()?;
            let (generation, next_id) = meta(&tx)?;
            let records = load_all(&tx)?;
            tx.commit()?;
            Ok(Loaded {
                generation,
                next_id,
                records,
            })
        })
    }

    fn changes_since(&self, generation: i64) -> BoxFuture<'_, Result<Delta>> {
        self.blocking(move |conn| {
            let tx = conn.transaction()?;
            let (now_at, next_id) = meta(&tx)?;
            let ids: Vec<i64> = tx
                .prepare_cached(
                    "SELECT DISTINCT feature_id FROM feature_events WHERE generation > ?1",
                )?
                .query_map([generation], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            let mut delta = Delta {
                generation: now_at,
                next_id,
                ..Delta::default()
            };
            for id in ids {
                match load_one(&tx, id)? {
                    Some(r) => delta.records.push(r),
                    None => delta.deleted.push(id),
                }
            }
            tx.commit()?;
            Ok(delta)
        })
    }

    fn commit(&self, base: i64, mutation: Mutation) -> BoxFuture<'_, Result<Committed>> {
        self.blocking(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let moved = tx.execute(
                "UPDATE store_meta SET generation = generation + 1, next_id = ?2 \
                 WHERE id = 1 AND generation = ?1",
                [base, mutation.next_id],
            )?;
            if moved == 0 {
                return Ok(Committed::Conflict);
            }
            let generation = base + 1;
            write(&tx, &mutation, generation)?;
            tx.commit()?;
            Ok(Committed::At(generation))
        })
    }

    fn generation(&self) -> BoxFuture<'_, Result<i64>> {
        self.blocking(|conn| Ok(meta(conn)?.0))
    }

    fn prune_heartbeats(&self, before_ms: i64) -> BoxFuture<'_, Result<u64>> {
        self.blocking(move |conn| {
            let n = conn.execute(
                "DELETE FROM feature_events WHERE kind = 'heartbeat' AND at < ?1",
                [before_ms],
            )?;
            Ok(n as u64)
        })
    }

    fn maintain(&self) -> BoxFuture<'_, Result<()>> {
        let Some(checkpointer) = self.checkpointer.clone() else {
            return Box::pin(async { Ok(()) });
        };
        Box::pin(async move {
            tokio::task::spawn_blocking(move || {
                let conn = checkpointer.lock().unwrap_or_else(PoisonError::into_inner);
                // PASSIVE: copies what it can without waiting for (or blocking) the writer.
                conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))?;
                Ok(())
            })
            .await
            .map_err(|e| StoreError::Unavailable(format!("checkpoint task failed: {e}")))?
        })
    }

    fn describe(&self) -> String {
        self.path.as_ref().map_or_else(
            || "SQLite in memory".to_owned(),
            |p| format!("SQLite {}", p.display()),
        )
    }
}

fn meta(conn: &Connection) -> Result<(i64, i64)> {
    Ok(conn.query_row(
        "SELECT generation, next_id FROM store_meta WHERE id = 1",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?)
}

fn write(conn: &Connection, m: &Mutation, generation: i64) -> Result<()> {
    let mut upsert = conn.prepare_cached(&format!(
        "INSERT INTO features ({COLUMNS}) VALUES \
         (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17) \
         ON CONFLICT(id) DO UPDATE SET project = excluded.project, name = excluded.name, \
         description = excluded.description, category = excluded.category, \
         steps = excluded.steps, status = excluded.status, priority = excluded.priority, \
         claimed_by = excluded.claimed_by, lease_expires_at = excluded.lease_expires_at, \
         attempts = excluded.attempts, version = excluded.version, \
         created_at = excluded.created_at, updated_at = excluded.updated_at, \
         started_at = excluded.started_at, completed_at = excluded.completed_at, \
         claim_token = excluded.claim_token"
    ))?;
    for r in &m.upserts {
        let f = &r.feature;
        upsert.execute(params![
            f.id,
            f.project,
            f.name,
            f.description,
            f.category,
            steps_json(&f.steps)?,
            f.status.as_str(),
            f.priority,
            f.claimed_by,
            f.lease_expires_at,
            f.attempts,
            f.version,
            f.created_at,
            f.updated_at,
            f.started_at,
            f.completed_at,
            r.token,
        ])?;
    }
    let by_id: BTreeMap<i64, &Record> = m.upserts.iter().map(|r| (r.feature.id, &**r)).collect();
    let mut clear = conn.prepare_cached("DELETE FROM feature_deps WHERE feature_id = ?1")?;
    let mut add =
        conn.prepare_cached("INSERT INTO feature_deps (feature_id, depends_on) VALUES (?1, ?2)")?;
    for id in &m.edges_changed {
        clear.execute([id])?;
        if let Some(r) = by_id.get(id) {
            for d in &r.feature.dependencies {
                add.execute([id, d])?;
            }
        }
    }
    for id in &m.deleted {
        clear.execute([id])?;
        conn.execute("DELETE FROM features WHERE id = ?1", [id])?;
    }
    let mut log = conn.prepare_cached(
        "INSERT INTO feature_events (feature_id, kind, detail, at, generation) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for e in &m.events {
        log.execute(params![e.feature_id, e.kind, e.detail, e.at, generation])?;
    }
    Ok(())
}

pub(crate) fn steps_json(steps: &[Step]) -> Result<String> {
    serde_json::to_string(steps).map_err(|e| StoreError::Validation(format!("bad steps: {e}")))
}

fn record_from_row(r: &Row<'_>) -> rusqlite::Result<Record> {
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
    Ok(Record {
        feature: Feature {
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
        },
        token: r.get(16)?,
    })
}

fn load_all(conn: &Connection) -> Result<Vec<Record>> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {COLUMNS} FROM features ORDER BY id"))?;
    let mut records: Vec<Record> = stmt
        .query_map([], record_from_row)?
        .collect::<Result<_, _>>()?;
    let index: BTreeMap<i64, usize> = records
        .iter()
        .enumerate()
        .map(|(i, r)| (r.feature.id, i))
        .collect();
    let mut stmt = conn.prepare_cached(
        "SELECT feature_id, depends_on FROM feature_deps ORDER BY feature_id, depends_on",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let (f, d): (i64, i64) = (row.get(0)?, row.get(1)?);
        if let Some(&i) = index.get(&f) {
            records[i].feature.dependencies.push(d);
        }
    }
    Ok(records)
}

fn load_one(conn: &Connection, id: i64) -> Result<Option<Record>> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {COLUMNS} FROM features WHERE id = ?1"))?;
    let Some(mut r) = stmt.query_row([id], record_from_row).optional()? else {
        return Ok(None);
    };
    let mut stmt = conn.prepare_cached(
        "SELECT depends_on FROM feature_deps WHERE feature_id = ?1 ORDER BY depends_on",
    )?;
    r.feature.dependencies = stmt
        .query_map([id], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(Some(r))
}
