//! [`Db`]: the one connection a server writes and reads the team tables through, opened again
//! on demand after the database went away, and every statement the board needs.

use std::collections::BTreeMap;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Mutex, MutexGuard};
use tokio_postgres::{Client, NoTls};

use crate::schema::NOW_MS;
use crate::{Answer, ItemKey, Machine, OFFLINE_AFTER, TeamError};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Serialises item writes ("Item" in ASCII).
const ITEMS_LOCK: i64 = 0x4974_656D;

/// One row of `team_items` as read back.
pub(crate) struct Row {
    pub(crate) machine: String,
    pub(crate) key: ItemKey,
    pub(crate) doc: Option<Arc<str>>,
    pub(crate) seq: i64,
}

/// Marks a machine alive now (inserting it the first time).
fn heartbeat_sql() -> String {
    format!(
        "INSERT INTO team_machines (name, online, last_seen_at, started_at) \
         VALUES ($1, true, {NOW_MS}, {NOW_MS}) ON CONFLICT (name) DO UPDATE \
         SET online = true, last_seen_at = EXCLUDED.last_seen_at"
    )
}

pub(crate) struct Db {
    pub(crate) config: tokio_postgres::Config,
    pub(crate) described: String,
    slot: Mutex<Option<Client>>,
}

impl Db {
    pub(crate) fn new(url: &str) -> Result<Self, TeamError> {
        let config =
            tokio_postgres::Config::from_str(url).map_err(|e| TeamError::BadUrl(e.to_string()))?;
        // The URL as the user gave it, its password masked (the one redaction Flow has).
        let described = flow_core::config::redact_password(url);
        Ok(Db {
            config,
            described,
            slot: Mutex::new(None),
        })
    }

    fn unavailable(&self, why: &str) -> TeamError {
        TeamError::Unavailable(format!("{}: {why}", self.described))
    }

    /// A fresh connection, driven on its own task.
    pub(crate) async fn open(
        &self,
    ) -> Result<
        (
            Client,
            tokio_postgres::Connection<tokio_postgres::Socket, tokio_postgres::tls::NoTlsStream>,
        ),
        TeamError,
    > {
        tokio::time::timeout(CONNECT_TIMEOUT, self.config.connect(NoTls))
            .await
            .map_err(|_| self.unavailable("connecting timed out"))?
            .map_err(|e| self.unavailable(&e.to_string()))
    }

    /// The shared connection, opened (again) if there is none or it closed. Held for one
    /// operation, so a transaction on it cannot interleave with another.
    pub(crate) async fn client(&self) -> Result<ClientGuard<'_>, TeamError> {
        let mut slot = self.slot.lock().await;
        if slot.as_ref().is_none_or(Client::is_closed) {
            let (client, connection) = self.open().await?;
            tokio::spawn(async move {
                if let Err(err) = connection.await {
                    tracing::debug!(%err, "team database connection closed");
                }
            });
            *slot = Some(client);
        }
        Ok(ClientGuard {
            slot,
            in_transaction: false,
        })
    }

    pub(crate) async fn heartbeat(&self, me: &str) -> Result<(), TeamError> {
        let c = self.client().await?;
        c.execute(&heartbeat_sql(), &[&me]).await?;
        Ok(())
    }

    /// Announces that `me` came online (only on a flip do other boards need to hear it).
    pub(crate) async fn announce(&self, me: &str) -> Result<(), TeamError> {
        let c = self.client().await?;
        c.execute(
            "SELECT pg_notify('flow_team', $1)",
            &[&serde_json::json!({"presence": me}).to_string()],
        )
        .await?;
        Ok(())
    }

    pub(crate) async fn leave(&self, me: &str) -> Result<(), TeamError> {
        let mut c = self.client().await?;
        c.begin().await?;
        c.execute(
            "UPDATE team_machines SET online = false WHERE name = $1",
            &[&me],
        )
        .await?;
        c.execute(
            "SELECT pg_notify('flow_team', $1)",
            &[&serde_json::json!({"presence": me}).to_string()],
        )
        .await?;
        c.commit().await?;
        Ok(())
    }

    pub(crate) async fn own_items(
        &self,
        me: &str,
    ) -> Result<BTreeMap<ItemKey, Arc<str>>, TeamError> {
        let c = self.client().await?;
        let rows = c
            .query(
                "SELECT kind, key, doc FROM team_items WHERE machine = $1 AND doc IS NOT NULL",
                &[&me],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| {
                let doc: String = r.get(2);
                (
                    ItemKey::new(r.get(0), r.get::<_, String>(1)),
                    Arc::from(doc),
                )
            })
            .collect())
    }

    /// Writes `writes` (a document, or `None` for a removal) as `me`, in one transaction
    /// with a heartbeat, and notifies the other boards.
    pub(crate) async fn write_items(
        &self,
        me: &str,
        writes: &[(&ItemKey, Option<&str>)],
    ) -> Result<(), TeamError> {
        let kinds: Vec<&str> = writes.iter().map(|(k, _)| k.kind.as_str()).collect();
        let keys: Vec<&str> = writes.iter().map(|(k, _)| k.key.as_str()).collect();
        let docs: Vec<Option<&str>> = writes.iter().map(|(_, d)| *d).collect();
        let mut c = self.client().await?;
        c.begin().await?;
        let done = async {
            // Item writes take their sequence numbers and commit one at a time, so they commit
            // in sequence order: a follower that read up to N never later meets a row < N
            // committed after it looked.
            c.execute("SELECT pg_advisory_xact_lock($1)", &[&ITEMS_LOCK])
                .await?;
            c.execute(
                "INSERT INTO team_items (machine, kind, key, doc, seq) \
                 SELECT $1, k, key, d, nextval('team_seq') \
                 FROM unnest($2::text[], $3::text[], $4::text[]) AS w(k, key, d) \
                 ON CONFLICT (machine, kind, key) DO UPDATE SET doc = EXCLUDED.doc, seq = EXCLUDED.seq",
                &[&me, &kinds, &keys, &docs],
            )
            .await?;
            c.execute(
                &heartbeat_sql(),
                &[&me],
            )
            .await?;
            c.execute(
                "SELECT pg_notify('flow_team', $1)",
                &[&serde_json::json!({"machine": me}).to_string()],
            )
            .await?;
            Ok::<_, tokio_postgres::Error>(())
        }
        .await;
        done?;
        c.commit().await?;
        Ok(())
    }

    /// Every item of every machine but `me` with a sequence number after `after`.
    pub(crate) async fn items_since(&self, me: &str, after: i64) -> Result<Vec<Row>, TeamError> {
        let c = self.client().await?;
        let rows = c
            .query(
                "SELECT machine, kind, key, doc, seq FROM team_items \
                 WHERE seq > $2 AND machine <> $1 ORDER BY seq",
                &[&me, &after],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| Row {
                machine: r.get(0),
                key: ItemKey::new(r.get(1), r.get::<_, String>(2)),
                doc: r.get::<_, Option<String>>(3).map(Arc::from),
                seq: r.get(4),
            })
            .collect())
    }

    /// Every machine but `me`, `online` meaning seen within [`OFFLINE_AFTER`] and not left.
    pub(crate) async fn machines(&self, me: &str) -> Result<Vec<Machine>, TeamError> {
        let c = self.client().await?;
        let rows = c
            .query(
                &format!(
                    "SELECT name, online, last_seen_at, {NOW_MS} - last_seen_at \
                     FROM team_machines WHERE name <> $1"
                ),
                &[&me],
            )
            .await?;
        let fresh = OFFLINE_AFTER.as_millis() as i64;
        Ok(rows
            .iter()
            .map(|r| {
                let (online, age): (bool, i64) = (r.get(1), r.get(3));
                Machine {
                    name: r.get(0),
                    online: online && age < fresh,
                    last_seen_at: r.get(2),
                    items: Arc::default(),
                }
            })
            .collect())
    }

    pub(crate) async fn insert_command(
        &self,
        owner: &str,
        request: &str,
    ) -> Result<i64, TeamError> {
        let mut c = self.client().await?;
        c.begin().await?;
        let row = c
            .query_one(
                &format!(
                    "INSERT INTO team_commands (machine, request, requested_at) \
                     VALUES ($1, $2, {NOW_MS}) RETURNING id"
                ),
                &[&owner, &request],
            )
            .await?;
        let id: i64 = row.get(0);
        c.execute(
            "SELECT pg_notify('flow_team_commands', $1)",
            &[&serde_json::json!({"id": id, "machine": owner}).to_string()],
        )
        .await?;
        c.commit().await?;
        Ok(id)
    }

    /// The commands waiting for `me`, oldest first, with their age in milliseconds.
    pub(crate) async fn pending_for(&self, me: &str) -> Result<Vec<(i64, String, i64)>, TeamError> {
        let c = self.client().await?;
        let rows = c
            .query(
                &format!(
                    "SELECT id, request, {NOW_MS} - requested_at FROM team_commands \
                     WHERE machine = $1 AND status IS NULL ORDER BY id"
                ),
                &[&me],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect())
    }

    /// Takes command `id` for this machine to carry out: `Some((request, age_ms))` unless
    /// another Flow took it or its requester withdrew it.
    pub(crate) async fn claim_command(&self, id: i64) -> Result<Option<(String, i64)>, TeamError> {
        let c = self.client().await?;
        let row = c
            .query_opt(
                &format!(
                    "UPDATE team_commands SET status = 0 WHERE id = $1 AND status IS NULL \
                     RETURNING request, {NOW_MS} - requested_at"
                ),
                &[&id],
            )
            .await?;
        Ok(row.map(|r| (r.get(0), r.get(1))))
    }

    /// Withdraws command `id` if nobody took it yet; `true` if it was withdrawn.
    pub(crate) async fn withdraw(&self, id: i64) -> Result<bool, TeamError> {
        let c = self.client().await?;
        let n = c
            .execute(
                &format!(
                    "UPDATE team_commands SET status = 504, answered_at = {NOW_MS}, \
                     answer = '{{\"error\":\"withdrawn\",\"code\":\"machine_timeout\"}}' \
                     WHERE id = $1 AND status IS NULL"
                ),
                &[&id],
            )
            .await?;
        Ok(n == 1)
    }

    /// Records the answer to command `id` (once) and tells the requester.
    pub(crate) async fn answer(&self, id: i64, answer: &Answer) -> Result<(), TeamError> {
        let mut c = self.client().await?;
        c.begin().await?;
        c.execute(
            &format!(
                "UPDATE team_commands SET status = $2, answer = $3, answered_at = {NOW_MS} \
                 WHERE id = $1 AND status = 0"
            ),
            &[&id, &i32::from(answer.status), &answer.body.to_string()],
        )
        .await?;
        c.execute(
            "SELECT pg_notify('flow_team_answers', $1)",
            &[&serde_json::json!({"id": id}).to_string()],
        )
        .await?;
        c.commit().await?;
        Ok(())
    }

    /// Forgets commands answered more than five minutes ago (their requesters have long read
    /// the answer).
    pub(crate) async fn prune_commands(&self) -> Result<u64, TeamError> {
        let c = self.client().await?;
        Ok(c.execute(
            &format!(
                "DELETE FROM team_commands WHERE status IS NOT NULL AND status <> 0 \
                 AND answered_at < {NOW_MS} - 300000"
            ),
            &[],
        )
        .await?)
    }

    pub(crate) async fn fetch_answer(&self, id: i64) -> Result<Option<Answer>, TeamError> {
        let c = self.client().await?;
        let row = c
            .query_opt(
                "SELECT status, answer FROM team_commands WHERE id = $1 AND status > 0",
                &[&id],
            )
            .await?;
        Ok(row.map(|r| {
            let status: i32 = r.get(0);
            let body: Option<String> = r.get(1);
            Answer {
                status: u16::try_from(status).unwrap_or(500),
                body: body
                    .and_then(|b| serde_json::from_str(&b).ok())
                    .unwrap_or(serde_json::Value::Null),
            }
        }))
    }
}

/// The locked shared connection. A transaction it began and did not commit (an error
/// returned early) takes the connection with it when the guard drops: closing it makes
/// PostgreSQL roll back and release the locks, and the next call opens a fresh one, instead
/// of every later statement failing inside an aborted transaction.
pub(crate) struct ClientGuard<'a> {
    slot: MutexGuard<'a, Option<Client>>,
    in_transaction: bool,
}

impl ClientGuard<'_> {
    pub(crate) async fn begin(&mut self) -> Result<(), tokio_postgres::Error> {
        self.in_transaction = true;
        self.batch_execute("BEGIN").await
    }

    pub(crate) async fn commit(&mut self) -> Result<(), tokio_postgres::Error> {
        self.batch_execute("COMMIT").await?;
        self.in_transaction = false;
        Ok(())
    }
}

impl Drop for ClientGuard<'_> {
    fn drop(&mut self) {
        if self.in_transaction {
            *self.slot = None;
        }
    }
}

impl std::ops::Deref for ClientGuard<'_> {
    type Target = Client;

    fn deref(&self) -> &Client {
        self.slot
            .as_ref()
            .expect("connection opened before the guard was made")
    }
}
