//! The team board's tables, versioned apart from the feature store's (they may live in the
//! same database) and migrated forward only, one server at a time.

use tokio_postgres::Client;

use crate::TeamError;

const MIGRATIONS: &[&str] = &[V1];
pub(crate) const VERSION: i64 = MIGRATIONS.len() as i64;
/// Serialises migrations ("Team" in ASCII).
const LOCK: i64 = 0x5465_616D;

const V1: &str = "
CREATE TABLE team_machines (
    name         TEXT    PRIMARY KEY,
    online       BOOLEAN NOT NULL,
    last_seen_at BIGINT  NOT NULL,
    started_at   BIGINT  NOT NULL
);
CREATE SEQUENCE team_seq;
CREATE TABLE team_items (
    machine TEXT   NOT NULL,
    kind    TEXT   NOT NULL,
    key     TEXT   NOT NULL,
    doc     TEXT,
    seq     BIGINT NOT NULL,
    PRIMARY KEY (machine, kind, key)
);
CREATE INDEX team_items_seq ON team_items(seq);
CREATE TABLE team_commands (
    id           BIGSERIAL PRIMARY KEY,
    machine      TEXT   NOT NULL,
    request      TEXT   NOT NULL,
    requested_at BIGINT NOT NULL,
    status       INTEGER,
    answer       TEXT,
    answered_at  BIGINT
);
CREATE INDEX team_commands_pending ON team_commands(machine) WHERE status IS NULL;
";

/// Milliseconds since the epoch, by the database's clock: every machine's heartbeat and every
/// board's "is it offline" use the same clock, whatever the machines' own clocks say.
pub(crate) const NOW_MS: &str = "(extract(epoch from clock_timestamp()) * 1000)::bigint";

pub(crate) async fn migrate(client: &Client) -> Result<(), TeamError> {
    client
        .batch_execute(&format!("SELECT pg_advisory_lock({LOCK})"))
        .await?;
    let outcome = migrate_locked(client).await;
    client
        .batch_execute(&format!("SELECT pg_advisory_unlock({LOCK})"))
        .await?;
    outcome
}

async fn migrate_locked(client: &Client) -> Result<(), TeamError> {
    client
        .batch_execute("CREATE TABLE IF NOT EXISTS team_schema (version BIGINT NOT NULL)")
        .await?;
    let found: i64 = match client
        .query_opt("SELECT version FROM team_schema", &[])
        .await?
    {
        Some(row) => row.get(0),
        None => {
            client
                .batch_execute("INSERT INTO team_schema (version) VALUES (0)")
                .await?;
            0
        }
    };
    if found > VERSION {
        return Err(TeamError::Schema(format!(
            "the team board's schema version {found} is newer than this build of flow supports ({VERSION}); upgrade flow"
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        client
            .batch_execute(&format!(
                "BEGIN;\n{sql}\nUPDATE team_schema SET version = {};\nCOMMIT;",
                i + 1
            ))
            .await?;
    }
    Ok(())
}
