//! Flow's team board (contract §7): every Flow that publishes writes its board (sessions,
//! tasks, teams, as the API shows them) into one PostgreSQL database under its machine name,
//! and every Flow on that database follows what the others published. No protocol of our own:
//! PostgreSQL holds the shared state, `LISTEN`/`NOTIFY` carries the changes.
//!
//! - **Items** (`team_items`): one row per (machine, kind, key) holding the item's JSON as the
//!   API renders it; a delete is a row with no document (a tombstone), so it travels like any
//!   change. Each write takes the next value of one sequence, so a follower asks for "rows
//!   after the last sequence number I saw".
//! - **Presence** (`team_machines`): a publishing machine's heartbeat (database time, so clocks
//!   of the machines do not matter); a machine not seen for [`OFFLINE_AFTER`] is offline.
//! - **Commands** (`team_commands`): a note or delete on another machine's task is a row the
//!   owner carries out with its own safe edit and answers in the same row.

mod commands;
mod conn;
mod follow;
mod schema;

use std::collections::BTreeMap;
use std::sync::atomic::AtomicI64;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::oneshot;

pub use commands::Answer;

/// A machine not seen for this long is shown offline, its data kept and marked stale. With
/// boards looking every [`HEARTBEAT_EVERY`], a machine that stops is offline everywhere within
/// 25 s.
pub const OFFLINE_AFTER: Duration = Duration::from_secs(20);
/// How often a publishing machine says it is alive.
pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(5);

/// What can go wrong on the team board.
#[derive(Debug, thiserror::Error)]
pub enum TeamError {
    #[error("not a PostgreSQL URL: {0}")]
    BadUrl(String),
    #[error("the team database is unavailable: {0}")]
    Unavailable(String),
    #[error("Machine {0} is offline")]
    MachineOffline(String),
    #[error("Machine {0} did not answer in time")]
    Timeout(String),
    #[error("team database error: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    #[error("{0}")]
    Schema(String),
}

/// Which item of a machine's board a row holds.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ItemKey {
    /// `session`, `task` or `team`.
    pub kind: String,
    /// The session id; `<session>/<task file>` for a task; the team name.
    pub key: String,
}

impl ItemKey {
    pub fn new(kind: &str, key: impl Into<String>) -> Self {
        ItemKey {
            kind: kind.to_owned(),
            key: key.into(),
        }
    }
}

/// One other machine, as this board knows it.
#[derive(Debug, Clone, Default)]
pub struct Machine {
    pub name: String,
    pub online: bool,
    /// Milliseconds since the epoch (database time) of its last heartbeat.
    pub last_seen_at: i64,
    /// Shared between snapshots of the board: a change to one machine copies that machine's
    /// map once, a heartbeat copies none.
    pub items: Arc<BTreeMap<ItemKey, Arc<str>>>,
}

/// Everything the other machines published, at one moment.
#[derive(Debug, Clone, Default)]
pub struct Remote {
    pub machines: BTreeMap<String, Machine>,
}

/// What changed on the board since the last call of the observer.
#[derive(Debug, Clone)]
pub enum RemoteChange {
    /// Items of `machine` changed: their documents now, `None` for a removed one.
    Items {
        machine: String,
        items: Vec<(ItemKey, Option<Arc<str>>)>,
    },
    /// A machine came or went.
    Machine { name: String, online: bool },
    /// Everything was read again (after the database came back): clients should too.
    Resync,
}

type Observer = Box<dyn Fn(&Remote, &RemoteChange) + Send + Sync>;
type Handler = Arc<
    dyn Fn(Value) -> std::pin::Pin<Box<dyn std::future::Future<Output = Answer> + Send>>
        + Send
        + Sync,
>;

pub(crate) struct Shared {
    pub(crate) me: String,
    pub(crate) publishing: bool,
    pub(crate) db: conn::Db,
    pub(crate) remote: Mutex<Arc<Remote>>,
    pub(crate) observer: OnceLock<Observer>,
    pub(crate) handler: OnceLock<Handler>,
    /// What this machine last published successfully, so the next publish writes the diff.
    pub(crate) published: tokio::sync::Mutex<BTreeMap<ItemKey, Arc<str>>>,
    /// The last item sequence number read.
    pub(crate) seq: AtomicI64,
    /// Requests of this machine waiting for their answer, by command id.
    pub(crate) waiting: Mutex<BTreeMap<i64, oneshot::Sender<Answer>>>,
}

impl Shared {
    pub(crate) fn remote(&self) -> Arc<Remote> {
        self.remote
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Applies `f` to a copy of the remote board, installs it and tells the observer.
    pub(crate) fn change(&self, f: impl FnOnce(&mut Remote) -> Option<RemoteChange>) {
        let mut slot = self.remote.lock().unwrap_or_else(PoisonError::into_inner);
        let mut next = (**slot).clone();
        let Some(change) = f(&mut next) else {
            return;
        };
        *slot = Arc::new(next);
        let now = slot.clone();
        drop(slot);
        if let Some(observer) = self.observer.get() {
            observer(&now, &change);
        }
    }
}

/// This server's place on the team board. Cheap to clone.
#[derive(Clone)]
pub struct Team {
    shared: Arc<Shared>,
    /// Dropped with the last clone, or set by [`Team::leave`]: the follower then ends.
    stop: Arc<tokio::sync::watch::Sender<bool>>,
}

impl Team {
    /// Connects (migrating the tables forward), loads what the other machines published and
    /// follows them. With `publishing`, this machine also appears on the board as `me`.
    pub async fn connect(url: &str, me: &str, publishing: bool) -> Result<Self, TeamError> {
        let db = conn::Db::new(url)?;
        {
            let client = db.client().await?;
            schema::migrate(&client).await?;
        }
        let shared = Arc::new(Shared {
            me: me.to_owned(),
            publishing,
            db,
            remote: Mutex::new(Arc::new(Remote::default())),
            observer: OnceLock::new(),
            handler: OnceLock::new(),
            published: tokio::sync::Mutex::new(BTreeMap::new()),
            seq: AtomicI64::new(0),
            waiting: Mutex::new(BTreeMap::new()),
        });
        if publishing {
            shared.db.heartbeat(me).await?;
            shared.db.announce(me).await?;
            // What this machine published in an earlier run is the base of the next diff, so a
            // restart writes only what changed while it was away.
            *shared.published.lock().await = shared.db.own_items(me).await?;
        }
        follow::load_all(&shared).await?;
        let (stop, stopped) = tokio::sync::watch::channel(false);
        follow::spawn(shared.clone(), stopped);
        Ok(Team {
            shared,
            stop: Arc::new(stop),
        })
    }

    pub fn machine(&self) -> &str {
        &self.shared.me
    }

    pub fn is_publishing(&self) -> bool {
        self.shared.publishing
    }

    /// The other machines' boards, now.
    pub fn remote(&self) -> Arc<Remote> {
        self.shared.remote()
    }

    /// Called after every change of the remote board, on the follower task (keep it quick).
    pub fn on_change(&self, f: impl Fn(&Remote, &RemoteChange) + Send + Sync + 'static) {
        let _ = self.shared.observer.set(Box::new(f));
    }

    /// Carries out the requests other machines make of this one (note, delete), answering
    /// each with an HTTP status and body.
    pub fn on_command<F, Fut>(&self, f: F)
    where
        F: Fn(Value) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Answer> + Send + 'static,
    {
        let _ = self
            .shared
            .handler
            .set(Arc::new(move |request| Box::pin(f(request))));
    }

    /// Makes this machine's published board equal to `items` (the whole board, as the API
    /// shows it): writes only the rows that changed since the last successful publish,
    /// tombstones the ones gone, in one transaction, and notifies. Returns how many rows it
    /// wrote. On failure nothing is marked published, so the next call writes it again.
    pub async fn publish(&self, items: BTreeMap<ItemKey, Arc<str>>) -> Result<usize, TeamError> {
        let mut published = self.shared.published.lock().await;
        let mut writes: Vec<(&ItemKey, Option<&str>)> = Vec::new();
        for (key, doc) in &items {
            if published.get(key) != Some(doc) {
                writes.push((key, Some(doc)));
            }
        }
        for key in published.keys() {
            if !items.contains_key(key) {
                writes.push((key, None));
            }
        }
        if writes.is_empty() {
            return Ok(0);
        }
        let n = writes.len();
        self.shared.db.write_items(&self.shared.me, &writes).await?;
        *published = items;
        Ok(n)
    }

    /// Asks machine `owner` to carry out `request` and waits for its answer.
    pub async fn request(
        &self,
        owner: &str,
        request: Value,
        within: Duration,
    ) -> Result<Answer, TeamError> {
        commands::request(&self.shared, owner, request, within).await
    }

    /// Marks this machine offline at once (a clean shutdown) and stops following.
    pub async fn leave(&self) {
        let _ = self.stop.send(true);
        if self.shared.publishing
            && let Err(err) = self.shared.db.leave(&self.shared.me).await
        {
            tracing::debug!(%err, "could not mark this machine offline");
        }
    }
}

#[cfg(test)]
mod tests;
