//! The shared backend: PostgreSQL, for a team whose servers share one queue.
//!
//! The tables mirror SQLite's. Writes are serialised by the one `store_meta` row: a commit
//! moves its generation on only if it is still the generation the batch was worked out on,
//! which takes that row's lock, so a claim is atomic across every server (the second server
//! finds the generation moved, catches up from the log and works its batch out again). Each
//! commit sends `NOTIFY flow_features` with the new generation; every server `LISTEN`s on
//! its own connection and catches up. One connection writes (the store has one writer
//! task), one listens; both come back by themselves after the database does.

use std::collections::BTreeMap;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Mutex, mpsc};
use tokio_postgres::{AsyncMessage, Client, NoTls, Row, Statement};

use crate::graph::Record;
use crate::storage::{BoxFuture, Committed, Delta, Loaded, Mutation, Storage};
use crate::store::Msg;
use crate::{Feature, FeatureStatus, Step, StoreError};

type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The `NOTIFY` channel.
const CHANNEL: &str = "flow_features";
/// PostgreSQL refuses a `NOTIFY` payload of 8000 bytes or more.
const MAX_PAYLOAD: usize = 7_900;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one call on the writing connection may take (less than the store's own commit
/// deadline, so the connection is dropped here, not abandoned with a transaction open).
const OP_TIMEOUT: Duration = Duration::from_secs(8);
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// The advisory lock key that serialises migrations ("Flow" in ASCII).
const MIGRATION_LOCK: i64 = 0x466C_6F77;

/// Migration `i` takes the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[V1];
/// The schema version this build writes and understands.
pub const PG_SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

const V1: &str = "
CREATE TABLE features (
    id               BIGINT PRIMARY KEY,
    project          TEXT   NOT NULL DEFAULT '',
    name             TEXT   NOT NULL,
    description      TEXT   NOT NULL DEFAULT '',
    category         TEXT   NOT NULL DEFAULT '',
    steps            TEXT   NOT NULL DEFAULT '[]',
    status           TEXT   NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending','in_progress','review','needs_input','done','cancelled')),
    priority         BIGINT NOT NULL DEFAULT 0,
    claimed_by       TEXT,
    claim_token      TEXT,
    lease_expires_at BIGINT,
    attempts         BIGINT NOT NULL DEFAULT 0,
    version          BIGINT NOT NULL DEFAULT 1,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    started_at       BIGINT,
    completed_at     BIGINT
);
CREATE INDEX features_queue ON features(priority, id);
CREATE TABLE feature_deps (
    feature_id BIGINT NOT NULL REFERENCES features(id) ON DELETE CASCADE,
    depends_on BIGINT NOT NULL REFERENCES features(id),
    PRIMARY KEY (feature_id, depends_on),
    CHECK (feature_id <> depends_on)
);
CREATE INDEX feature_deps_depends_on ON feature_deps(depends_on);
CREATE TABLE feature_events (
    id         BIGSERIAL PRIMARY KEY,
    feature_id BIGINT NOT NULL,
    kind       TEXT   NOT NULL,
    detail     TEXT   NOT NULL DEFAULT '{}',
    at         BIGINT NOT NULL,
    generation BIGINT NOT NULL
);
CREATE INDEX feature_events_generation ON feature_events(generation);
CREATE TABLE store_meta (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    generation BIGINT NOT NULL,
    next_id    BIGINT NOT NULL
);
INSERT INTO store_meta (id, generation, next_id) VALUES (1, 0, 1);
";

const COLUMNS: &str = "id, project, name, description, category, steps, status, priority, \
    claimed_by, lease_expires_at, attempts, version, created_at, updated_at, started_at, \
    completed_at, claim_token";

/// How a statement sequence on the connection failed: the database said no, or it handed back
/// a row Flow cannot read (then nothing is written back over it).
enum Fail {
    Db(tokio_postgres::Error),
    Corrupt(String),
}

impl From<tokio_postgres::Error> for Fail {
    fn from(err: tokio_postgres::Error) -> Self {
        Fail::Db(err)
    }
}

type Param<'a> = dyn tokio_postgres::types::ToSql + Sync + 'a;

/// A connection with the statements a commit needs, prepared once.
struct Conn {
    client: Client,
    bump: Statement,
    upsert: Statement,
    clear_edges: Statement,
    add_edges: Statement,
    delete: Statement,
    log: Statement,
    notify: Statement,
}

pub(crate) struct PgStorage {
    config: tokio_postgres::Config,
    described: String,
    conn: Mutex<Option<Conn>>,
}

impl PgStorage {
    /// Connects, refuses a foreign or newer schema, and migrates forward.
    pub(crate) async fn connect(url: &str) -> Result<Self> {
        let config = tokio_postgres::Config::from_str(url)
            .map_err(|e| StoreError::BadUrl(format!("not a PostgreSQL URL: {e}")))?;
        let described = describe(&config);
        let storage = PgStorage {
            config,
            described,
            conn: Mutex::new(None),
        };
        let client = storage.open_client().await?;
        migrate(&client).await?;
        *storage.conn.lock().await = Some(prepare(client).await?);
        tracing::info!(db = %storage.described, "feature store on PostgreSQL");
        Ok(storage)
    }

    async fn open_client(&self) -> Result<Client> {
        let connecting = self.config.connect(NoTls);
        let (client, connection) = tokio::time::timeout(CONNECT_TIMEOUT, connecting)
            .await
            .map_err(|_| self.unavailable("connecting timed out"))?
            .map_err(|e| self.unavailable(&e.to_string()))?;
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                tracing::debug!(%err, "PostgreSQL connection closed");
            }
        });
        Ok(client)
    }

    fn unavailable(&self, why: &str) -> StoreError {
        StoreError::Unavailable(format!(
            "PostgreSQL at {} is unreachable: {why}",
            self.described
        ))
    }

    /// Runs `f` on the writing connection, opening it first if it is gone; a failure that
    /// closed the connection drops it, so the next call reconnects.
    async fn with_conn<T>(&self, f: impl AsyncFnOnce(&mut Conn) -> Result<T, Fail>) -> Result<T> {
        let mut slot = self.conn.lock().await;
        if slot.as_ref().is_none_or(|c| c.client.is_closed()) {
            *slot = None;
            let client = self.open_client().await?;
            *slot = Some(
                prepare(client)
                    .await
                    .map_err(|e| self.unavailable(&e.to_string()))?,
            );
        }
        let conn = slot.as_mut().expect("connection just opened");
        let Ok(outcome) = tokio::time::timeout(OP_TIMEOUT, f(conn)).await else {
            // Statements may still be on their way: drop the connection, so PostgreSQL ends
            // the transaction (and its locks) instead of this server holding them.
            *slot = None;
            return Err(self.unavailable("it did not answer in time"));
        };
        match outcome {
            Ok(v) => Ok(v),
            Err(Fail::Corrupt(why)) => Err(StoreError::Corrupt(why)),
            Err(Fail::Db(err)) => {
                // Whatever failed may have left the session inside an aborted transaction (a
                // cancelled statement, a lock timeout): never reuse it. Closing the connection
                // makes PostgreSQL roll back and release its locks; the next call reconnects.
                let closed = conn.client.is_closed();
                *slot = None;
                let why = describe_error(&err);
                if closed {
                    return Err(self.unavailable(&why));
                }
                Err(StoreError::Unavailable(format!(
                    "PostgreSQL refused: {why}"
                )))
            }
        }
    }
}

impl Storage for PgStorage {
    fn load(&self) -> BoxFuture<'_, Result<Loaded>> {
        Box::pin(self.with_conn(async |c| {
            let tx = snapshot_read(&mut c.client).await?;
            let meta = tx
                .query_one("SELECT generation, next_id FROM store_meta WHERE id = 1", &[])
                .await?;
            let rows = tx
                .query(&format!("SELECT {COLUMNS} FROM features ORDER BY id"), &[])
                .await?;
            let edges = tx
                .query(
                    "SELECT feature_id, depends_on FROM feature_deps ORDER BY feature_id, depends_on",
                    &[],
                )
                .await?;
            tx.commit().await?;
            Ok(Loaded {
                generation: meta.get(0),
                next_id: meta.get(1),
                records: with_edges(rows, &edges)?,
            })
        }))
    }

    fn changes_since(&self, generation: i64) -> BoxFuture<'_, Result<Delta>> {
        Box::pin(self.with_conn(async move |c| {
            let tx = snapshot_read(&mut c.client).await?;
            let meta = tx
                .query_one(
                    "SELECT generation, next_id FROM store_meta WHERE id = 1",
                    &[],
                )
                .await?;
            let ids: Vec<i64> = tx
                .query(
                    "SELECT DISTINCT feature_id FROM feature_events WHERE generation > $1",
                    &[&generation],
                )
                .await?
                .iter()
                .map(|r| r.get(0))
                .collect();
            let rows = tx
                .query(
                    &format!("SELECT {COLUMNS} FROM features WHERE id = ANY($1) ORDER BY id"),
                    &[&ids],
                )
                .await?;
            let edges = tx
                .query(
                    "SELECT feature_id, depends_on FROM feature_deps WHERE feature_id = ANY($1) \
                     ORDER BY feature_id, depends_on",
                    &[&ids],
                )
                .await?;
            tx.commit().await?;
            let records = with_edges(rows, &edges)?;
            let present: Vec<i64> = records.iter().map(|r| r.feature.id).collect();
            Ok(Delta {
                generation: meta.get(0),
                next_id: meta.get(1),
                deleted: ids.into_iter().filter(|id| !present.contains(id)).collect(),
                records,
            })
        }))
    }

    fn commit(&self, base: i64, m: Mutation) -> BoxFuture<'_, Result<Committed>> {
        Box::pin(self.with_conn(async move |c| {
            let client = &c.client;
            // Two round trips in all: the generation check (which takes the row lock, so every
            // server's writes queue here, one at a time), then every write, the notification
            // and the commit, pipelined (tokio-postgres sends them in this order without
            // waiting; PostgreSQL runs them in order, and a failure aborts the rest).
            let bump: [&Param<'_>; 2] = [&base, &m.next_id];
            let (begun, moved) = tokio::join!(
                client.batch_execute("BEGIN"),
                client.execute(&c.bump, &bump)
            );
            begun?;
            if moved? == 0 {
                client.batch_execute("ROLLBACK").await?;
                return Ok(Committed::Conflict);
            }
            let generation = base + 1;
            let cols = Columns::of(&m.upserts);
            let rewrite: Vec<i64> = m.edges_changed.iter().chain(&m.deleted).copied().collect();
            let by_id: BTreeMap<i64, &Record> =
                m.upserts.iter().map(|r| (r.feature.id, &**r)).collect();
            let (dependent, prerequisite): (Vec<i64>, Vec<i64>) = m
                .edges_changed
                .iter()
                .filter_map(|id| by_id.get(id))
                .flat_map(|r| r.feature.dependencies.iter().map(|&d| (r.feature.id, d)))
                .unzip();
            let ids: Vec<i64> = m.events.iter().map(|e| e.feature_id).collect();
            let kinds: Vec<&str> = m.events.iter().map(|e| e.kind.as_str()).collect();
            let details: Vec<&str> = m.events.iter().map(|e| e.detail.as_str()).collect();
            let ats: Vec<i64> = m.events.iter().map(|e| e.at).collect();
            let payload = notify_payload(generation, m.ids());

            type Step<'a> = std::pin::Pin<
                Box<
                    dyn std::future::Future<Output = Result<u64, tokio_postgres::Error>>
                        + Send
                        + 'a,
                >,
            >;
            let upsert: [&Param<'_>; 17] = [
                &cols.id,
                &cols.project,
                &cols.name,
                &cols.description,
                &cols.category,
                &cols.steps,
                &cols.status,
                &cols.priority,
                &cols.claimed_by,
                &cols.lease_expires_at,
                &cols.attempts,
                &cols.version,
                &cols.created_at,
                &cols.updated_at,
                &cols.started_at,
                &cols.completed_at,
                &cols.token,
            ];
            let clear: [&Param<'_>; 1] = [&rewrite];
            let add: [&Param<'_>; 2] = [&dependent, &prerequisite];
            let delete: [&Param<'_>; 1] = [&m.deleted];
            let log: [&Param<'_>; 5] = [&ids, &kinds, &details, &ats, &generation];
            let notify: [&Param<'_>; 2] = [&CHANNEL, &payload];
            let mut steps: Vec<Step<'_>> = Vec::new();
            if !m.upserts.is_empty() {
                steps.push(Box::pin(client.execute(&c.upsert, &upsert)));
            }
            if !rewrite.is_empty() {
                steps.push(Box::pin(client.execute(&c.clear_edges, &clear)));
            }
            if !dependent.is_empty() {
                steps.push(Box::pin(client.execute(&c.add_edges, &add)));
            }
            if !m.deleted.is_empty() {
                steps.push(Box::pin(client.execute(&c.delete, &delete)));
            }
            if !m.events.is_empty() {
                steps.push(Box::pin(client.execute(&c.log, &log)));
            }
            steps.push(Box::pin(client.execute(&c.notify, &notify)));
            steps.push(Box::pin(async {
                client.batch_execute("COMMIT").await.map(|()| 0)
            }));
            // A failed statement aborted the transaction: `with_conn` drops the connection on
            // any database error, which ends it, so there is nothing to roll back here.
            futures_util::future::try_join_all(steps).await?;
            Ok(Committed::At(generation))
        }))
    }

    fn generation(&self) -> BoxFuture<'_, Result<i64>> {
        Box::pin(self.with_conn(async |c| {
            let row = c
                .client
                .query_one("SELECT generation FROM store_meta WHERE id = 1", &[])
                .await?;
            Ok(row.get(0))
        }))
    }

    fn prune_heartbeats(&self, before_ms: i64) -> BoxFuture<'_, Result<u64>> {
        Box::pin(self.with_conn(async move |c| {
            Ok(c.client
                .execute(
                    "DELETE FROM feature_events WHERE kind = 'heartbeat' AND at < $1",
                    &[&before_ms],
                )
                .await?)
        }))
    }

    fn clock_offset(&self) -> BoxFuture<'_, Result<i64>> {
        Box::pin(self.with_conn(async |c| {
            let local = || flow_core::time::Clock::system().now_ms();
            let before = local();
            let row = c
                .client
                .query_one(
                    "SELECT (extract(epoch from clock_timestamp()) * 1000)::bigint",
                    &[],
                )
                .await?;
            let after = local();
            let db: i64 = row.get(0);
            Ok(db - (before + after) / 2)
        }))
    }

    fn describe(&self) -> String {
        self.described.clone()
    }
}

/// `{"generation":N,"ids":[…]}`, without the ids when they would not fit PostgreSQL's limit
/// (a receiver reads what changed from the log either way).
fn notify_payload(generation: i64, ids: impl Iterator<Item = i64>) -> String {
    let ids: Vec<i64> = ids.collect();
    let full = serde_json::json!({"generation": generation, "ids": ids}).to_string();
    if full.len() < MAX_PAYLOAD {
        full
    } else {
        serde_json::json!({"generation": generation}).to_string()
    }
}

/// The generation a notification names.
fn payload_generation(payload: &str) -> Option<i64> {
    serde_json::from_str::<serde_json::Value>(payload)
        .ok()?
        .get("generation")?
        .as_i64()
}

/// The URL's user, host, port and database: never its password.
fn describe(config: &tokio_postgres::Config) -> String {
    let host = config
        .get_hosts()
        .first()
        .map(|h| match h {
            tokio_postgres::config::Host::Tcp(name) => name.clone(),
            tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
        })
        .unwrap_or_else(|| "localhost".into());
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!(
        "postgres://{}@{host}:{port}/{}",
        config.get_user().unwrap_or(""),
        config.get_dbname().unwrap_or("")
    )
}

async fn migrate(client: &Client) -> Result<()> {
    // One server migrates at a time; the others wait for the lock, then find nothing to do.
    client
        .batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))
        .await?;
    let outcome = migrate_locked(client).await;
    client
        .batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"))
        .await?;
    outcome
}

async fn migrate_locked(client: &Client) -> Result<()> {
    client
        .batch_execute("CREATE TABLE IF NOT EXISTS flow_schema (version BIGINT NOT NULL)")
        .await?;
    let found: i64 = client
        .query_opt("SELECT version FROM flow_schema", &[])
        .await?
        .map_or(0, |r| r.get(0));
    if found > PG_SCHEMA_VERSION {
        return Err(StoreError::TooNew {
            found,
            supported: PG_SCHEMA_VERSION,
        });
    }
    if found == 0 {
        let foreign = client
            .query_opt(
                "SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() \
                 AND table_name IN ('features', 'feature_deps', 'feature_events', 'store_meta')",
                &[],
            )
            .await?;
        if foreign.is_some() {
            return Err(StoreError::Foreign {
                path: "the PostgreSQL database".into(),
                why: "it already holds tables named like Flow's that Flow did not create".into(),
            });
        }
        client
            .batch_execute("INSERT INTO flow_schema (version) VALUES (0)")
            .await?;
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let mut batch = String::from("BEGIN;\n");
        batch.push_str(sql);
        batch.push_str(&format!(
            "\nUPDATE flow_schema SET version = {};\nCOMMIT;",
            i + 1
        ));
        client.batch_execute(&batch).await?;
        tracing::info!(version = i + 1, "PostgreSQL feature store migrated");
    }
    Ok(())
}

/// A read-only transaction that sees one commit: the meta row, the features and the edges
/// of a load always belong together.
async fn snapshot_read(
    client: &mut Client,
) -> Result<tokio_postgres::Transaction<'_>, tokio_postgres::Error> {
    client
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await
}

/// The database's own words for an error (tokio-postgres's `Display` says only "db error").
fn describe_error(err: &tokio_postgres::Error) -> String {
    match err.as_db_error() {
        Some(db) => format!("{}: {}", db.code().code(), db.message()),
        None => err.to_string(),
    }
}

async fn prepare(client: Client) -> Result<Conn, tokio_postgres::Error> {
    // The session never waits for a lock or sits in a transaction for long: whatever goes
    // wrong, PostgreSQL itself ends it and releases the row lock every server writes through.
    client
        .batch_execute(
            "SET lock_timeout = '5s'; SET statement_timeout = '10s'; \
             SET idle_in_transaction_session_timeout = '10s'",
        )
        .await?;
    let bump = client
        .prepare(
            "UPDATE store_meta SET generation = generation + 1, next_id = $2 \
             WHERE id = 1 AND generation = $1",
        )
        .await?;
    let upsert = client
        .prepare(&format!(
            "INSERT INTO features ({COLUMNS}) SELECT * FROM unnest(\
             $1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], \
             $7::text[], $8::bigint[], $9::text[], $10::bigint[], $11::bigint[], $12::bigint[], \
             $13::bigint[], $14::bigint[], $15::bigint[], $16::bigint[], $17::text[]) \
             ON CONFLICT (id) DO UPDATE SET project = EXCLUDED.project, name = EXCLUDED.name, \
             description = EXCLUDED.description, category = EXCLUDED.category, \
             steps = EXCLUDED.steps, status = EXCLUDED.status, priority = EXCLUDED.priority, \
             claimed_by = EXCLUDED.claimed_by, lease_expires_at = EXCLUDED.lease_expires_at, \
             attempts = EXCLUDED.attempts, version = EXCLUDED.version, \
             created_at = EXCLUDED.created_at, updated_at = EXCLUDED.updated_at, \
             started_at = EXCLUDED.started_at, completed_at = EXCLUDED.completed_at, \
             claim_token = EXCLUDED.claim_token"
        ))
        .await?;
    let clear_edges = client
        .prepare("DELETE FROM feature_deps WHERE feature_id = ANY($1)")
        .await?;
    let add_edges = client
        .prepare(
            "INSERT INTO feature_deps (feature_id, depends_on) \
             SELECT * FROM unnest($1::bigint[], $2::bigint[])",
        )
        .await?;
    let delete = client
        .prepare("DELETE FROM features WHERE id = ANY($1)")
        .await?;
    let log = client
        .prepare(
            "INSERT INTO feature_events (feature_id, kind, detail, at, generation) \
             SELECT f, k, d, a, $5 FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[]) \
             AS e(f, k, d, a)",
        )
        .await?;
    let notify = client.prepare("SELECT pg_notify($1, $2)").await?;
    Ok(Conn {
        client,
        bump,
        upsert,
        clear_edges,
        add_edges,
        delete,
        log,
        notify,
    })
}

/// The upserted rows as one array per column, for `unnest`.
#[derive(Default)]
struct Columns<'a> {
    id: Vec<i64>,
    project: Vec<&'a str>,
    name: Vec<&'a str>,
    description: Vec<&'a str>,
    category: Vec<&'a str>,
    steps: Vec<String>,
    status: Vec<&'static str>,
    priority: Vec<i64>,
    claimed_by: Vec<Option<&'a str>>,
    lease_expires_at: Vec<Option<i64>>,
    attempts: Vec<i64>,
    version: Vec<i64>,
    created_at: Vec<i64>,
    updated_at: Vec<i64>,
    started_at: Vec<Option<i64>>,
    completed_at: Vec<Option<i64>>,
    token: Vec<Option<&'a str>>,
}

impl<'a> Columns<'a> {
    fn of(records: &'a [Arc<Record>]) -> Self {
        let mut c = Columns::default();
        for r in records {
            let f = &r.feature;
            c.id.push(f.id);
            c.project.push(&f.project);
            c.name.push(&f.name);
            c.description.push(&f.description);
            c.category.push(&f.category);
            c.steps
                .push(serde_json::to_string(&f.steps).unwrap_or_else(|_| "[]".into()));
            c.status.push(f.status.as_str());
            c.priority.push(f.priority);
            c.claimed_by.push(f.claimed_by.as_deref());
            c.lease_expires_at.push(f.lease_expires_at);
            c.attempts.push(f.attempts);
            c.version.push(f.version);
            c.created_at.push(f.created_at);
            c.updated_at.push(f.updated_at);
            c.started_at.push(f.started_at);
            c.completed_at.push(f.completed_at);
            c.token.push(r.token.as_deref());
        }
        c
    }
}

fn record_from_row(r: &Row) -> Result<Record, Fail> {
    let id: i64 = r.try_get(0)?;
    let steps: String = r.try_get(5)?;
    let status: String = r.try_get(6)?;
    let steps: Vec<Step> = serde_json::from_str(&steps)
        .map_err(|e| Fail::Corrupt(format!("feature {id}: stored steps are not valid: {e}")))?;
    let status = FeatureStatus::parse(&status)
        .ok_or_else(|| Fail::Corrupt(format!("feature {id}: unknown status `{status}`")))?;
    Ok(Record {
        feature: Feature {
            id,
            project: r.try_get(1)?,
            name: r.try_get(2)?,
            description: r.try_get(3)?,
            category: r.try_get(4)?,
            steps,
            status,
            priority: r.try_get(7)?,
            dependencies: Vec::new(),
            claimed_by: r.try_get(8)?,
            lease_expires_at: r.try_get(9)?,
            attempts: r.try_get(10)?,
            version: r.try_get(11)?,
            created_at: r.try_get(12)?,
            updated_at: r.try_get(13)?,
            started_at: r.try_get(14)?,
            completed_at: r.try_get(15)?,
        },
        token: r.try_get(16)?,
    })
}

fn with_edges(rows: Vec<Row>, edges: &[Row]) -> Result<Vec<Record>, Fail> {
    let mut records: Vec<Record> = rows.iter().map(record_from_row).collect::<Result<_, _>>()?;
    let index: BTreeMap<i64, usize> = records
        .iter()
        .enumerate()
        .map(|(i, r)| (r.feature.id, i))
        .collect();
    for e in edges {
        let (f, d): (i64, i64) = (e.try_get(0)?, e.try_get(1)?);
        if let Some(&i) = index.get(&f) {
            records[i].feature.dependencies.push(d);
        }
    }
    Ok(records)
}

/// Follows the other servers: `LISTEN`s on its own connection and asks the writer to catch
/// up on every notification. When the connection drops it reconnects with backoff, then has
/// the writer load everything again (what happened meanwhile is unknown) and clients resync.
/// Ends when the store is dropped.
pub(crate) fn follow(storage: Arc<PgStorage>, writer: mpsc::WeakUnboundedSender<Msg>) {
    tokio::spawn(async move {
        let mut backoff = Duration::from_millis(100);
        let mut first = true;
        loop {
            if writer.upgrade().is_none() {
                return;
            }
            match listen(&storage, &writer, first).await {
                Ok(()) => {
                    backoff = Duration::from_millis(100);
                    tracing::warn!(db = %storage.described, "lost the PostgreSQL listener; reconnecting");
                }
                Err(err) => {
                    tracing::debug!(%err, ?backoff, "PostgreSQL still unreachable");
                }
            }
            if writer.upgrade().is_none() {
                return;
            }
            first = false;
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    });
}

/// One listening connection, until it drops (`Ok`) or cannot be opened (`Err`).
/// Holds the writer only weakly, so dropping the store ends the writer task and this one.
async fn listen(
    storage: &PgStorage,
    writer: &mpsc::WeakUnboundedSender<Msg>,
    first: bool,
) -> Result<()> {
    let send = |msg: Msg| writer.upgrade().is_some_and(|tx| tx.send(msg).is_ok());
    let connecting = storage.config.connect(NoTls);
    let (client, mut connection) = tokio::time::timeout(CONNECT_TIMEOUT, connecting)
        .await
        .map_err(|_| storage.unavailable("connecting timed out"))?
        .map_err(|e| storage.unavailable(&e.to_string()))?;
    let (notes, mut incoming) = mpsc::unbounded_channel();
    let pump = tokio::spawn(async move {
        loop {
            match std::future::poll_fn(|cx| connection.poll_message(cx)).await {
                Some(Ok(AsyncMessage::Notification(n))) => {
                    if notes.send(n.payload().to_owned()).is_err() {
                        return;
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(err)) => {
                    tracing::debug!(%err, "PostgreSQL listener connection failed");
                    return;
                }
                None => return,
            }
        }
    });
    client
        .batch_execute(&format!("LISTEN {CHANNEL}"))
        .await
        .map_err(|e| storage.unavailable(&e.to_string()))?;
    if first {
        // Whatever was committed between the store's load and this LISTEN sent no
        // notification this connection could hear: catch up once now.
        send(Msg::Refresh(i64::MAX));
    } else {
        tracing::info!(db = %storage.described, "PostgreSQL is back; reloading the feature store");
        send(Msg::Reload);
    }
    // The store may be dropped while no notification comes: look now and then.
    let mut closed = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            note = incoming.recv() => match note {
                Some(payload) => {
                    if let Some(generation) = payload_generation(&payload)
                        && !send(Msg::Refresh(generation))
                    {
                        break;
                    }
                }
                None => break,
            },
            _ = closed.tick() => if writer.upgrade().is_none() { break },
        }
    }
    pump.abort();
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn payload_fits_and_names_the_generation() {
        let small = super::notify_payload(7, [1, 2, 3].into_iter());
        assert_eq!(small, r#"{"generation":7,"ids":[1,2,3]}"#);
        assert_eq!(super::payload_generation(&small), Some(7));
        let big = super::notify_payload(8, 1_000_000..1_002_000);
        assert!(big.len() < super::MAX_PAYLOAD);
        assert_eq!(super::payload_generation(&big), Some(8));
        assert_eq!(super::payload_generation("nonsense"), None);
    }

    #[test]
    fn description_hides_the_password() {
        let c: tokio_postgres::Config = "postgres://ann:s3cret@db.example:6543/flow"
            .parse()
            .unwrap();
        let d = super::describe(&c);
        assert_eq!(d, "postgres://ann@db.example:6543/flow");
        assert!(!d.contains("s3cret"));
    }
}
