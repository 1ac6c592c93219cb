//! The SQLite schema and its forward-only migrations, tracked by `PRAGMA user_version`.

use std::path::Path;

use rusqlite::Connection;

use crate::StoreError;

/// Migration `i` takes a database from `user_version` `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[V1, V2];

/// The schema version this build writes and understands.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

const V1: &str = "
CREATE TABLE features (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    project          TEXT    NOT NULL DEFAULT '',
    name             TEXT    NOT NULL,
    description      TEXT    NOT NULL DEFAULT '',
    category         TEXT    NOT NULL DEFAULT '',
    steps            TEXT    NOT NULL DEFAULT '[]',
    status           TEXT    NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending','in_progress','review','needs_input','done','cancelled')),
    priority         INTEGER NOT NULL DEFAULT 0,
    claimed_by       TEXT,
    claim_token      TEXT,
    lease_expires_at INTEGER,
    attempts         INTEGER NOT NULL DEFAULT 0,
    version          INTEGER NOT NULL DEFAULT 1,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    started_at       INTEGER,
    completed_at     INTEGER
);
CREATE INDEX features_queue ON features(priority, id);

CREATE TABLE feature_deps (
    feature_id INTEGER NOT NULL REFERENCES features(id) ON DELETE CASCADE,
    depends_on INTEGER NOT NULL REFERENCES features(id),
    PRIMARY KEY (feature_id, depends_on),
    CHECK (feature_id <> depends_on)
) WITHOUT ROWID;
CREATE INDEX feature_deps_depends_on ON feature_deps(depends_on);

CREATE TABLE feature_events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    feature_id INTEGER NOT NULL,
    kind       TEXT    NOT NULL,
    detail     TEXT    NOT NULL DEFAULT '{}',
    at         INTEGER NOT NULL
);
CREATE INDEX feature_events_feature ON feature_events(feature_id, id);
";

/// One generation counter for the whole store (bumped by every committed write, so a server
/// knows whether its snapshot is current) and the id counter, so ids come from one sequence
/// that never goes back; each log line records the generation that wrote it, which is how a
/// server finds what changed since its snapshot.
const V2: &str = "
CREATE TABLE store_meta (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    generation INTEGER NOT NULL,
    next_id    INTEGER NOT NULL
);
INSERT INTO store_meta (id, generation, next_id) VALUES (1, 0, 1 + MAX(
    COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'features'), 0),
    COALESCE((SELECT MAX(id) FROM features), 0)));
ALTER TABLE feature_events ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;
CREATE INDEX feature_events_generation ON feature_events(generation);
";

/// Marks a database as Flow's (`PRAGMA application_id`, the bytes "Flow"), so Flow never adopts
/// another application's SQLite file that `--db` happens to point at.
pub(crate) const APPLICATION_ID: i64 = 0x466C_6F77;

/// Whether `conn` is a database Flow may use: one it marked, an empty one, or one written by
/// a Flow from before the mark (its `features` table and a known schema version say so).
/// Reads only; refuses before anything about the file is changed.
pub(crate) fn check_owner(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    let foreign = |why: String| StoreError::Foreign {
        path: path.display().to_string(),
        why,
    };
    let app: i64 = conn
        .pragma_query_value(None, "application_id", |r| r.get(0))
        .map_err(|e| foreign(format!("it is not a SQLite database ({e})")))?;
    if app == APPLICATION_ID {
        return Ok(());
    }
    if app != 0 {
        return Err(foreign(format!(
            "it belongs to another application (application_id {app:#x})"
        )));
    }
    let tables: Vec<String> = conn
        .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
        )?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    if tables.is_empty() {
        return Ok(());
    }
    let ours = ["features", "feature_deps", "feature_events", "store_meta"];
    let unmarked_flow = version(conn)? >= 1 && tables.iter().all(|t| ours.contains(&t.as_str()));
    if unmarked_flow {
        Ok(())
    } else {
        Err(foreign(format!(
            "it already holds other tables ({})",
            tables.join(", ")
        )))
    }
}

/// The `user_version` of an open database.
pub(crate) fn version(conn: &Connection) -> Result<i64, StoreError> {
    Ok(conn.pragma_query_value(None, "user_version", |r| r.get(0))?)
}

/// Refuses a database newer than this build; otherwise applies the missing migrations, each
/// in its own transaction. A file at an older (non-zero) version is first copied to
/// `<path>.bak-v<old>`.
pub(crate) fn migrate(conn: &mut Connection, path: Option<&Path>) -> Result<(), StoreError> {
    let found = version(conn)?;
    if found > SCHEMA_VERSION {
        return Err(StoreError::TooNew {
            found,
            supported: SCHEMA_VERSION,
        });
    }
    conn.pragma_update(None, "application_id", APPLICATION_ID)?;
    if found == SCHEMA_VERSION {
        return Ok(());
    }
    if let (Some(path), true) = (path, found > 0) {
        let mut name = path.as_os_str().to_owned();
        name.push(format!(".bak-v{found}"));
        let mut backup = std::path::PathBuf::from(&name);
        // Never overwrite an earlier backup: add a timestamp instead.
        if backup.exists() {
            let stamp = flow_core::time::Clock::system().now_ms();
            name.push(format!("-{stamp}"));
            backup = std::path::PathBuf::from(name);
        }
        tracing::info!(from = found, to = SCHEMA_VERSION, backup = %backup.display(), "backing up feature store before migrating");
        let target = backup.to_string_lossy().replace('\'', "''");
        conn.execute_batch(&format!("VACUUM INTO '{target}'"))?;
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}
