//! The team board in the server (contract §7): this machine's board published through
//! `flow_team` (`publish.rs`), the other machines' boards merged into every read and event
//! (`merge.rs`), notes and deletes on their tasks carried out by their owners
//! (`commands.rs`).
//!
//! Other machines' sessions get board ids `<machine>.<session>` (machine names have no `.`),
//! valid path ids that cannot be mistaken for another machine's; local ids stay as they are,
//! so every client of contract §3 works unchanged. Remote changes reach this server's clients
//! as ordinary `update` events, machines coming and going as `machine` events.

mod commands;
mod merge;
mod publish;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use flow_team::{ItemKey, Remote, RemoteChange, Team};
use serde_json::{Value, json};

use crate::hub::Hub;

pub(crate) use commands::{Edit, forward};
pub(crate) use merge::{
    all_tasks, find as find_remote, sessions as remote_sessions, tasks_of, teams as remote_teams,
};
pub(crate) use publish::publisher;

/// The task items of `session` in `items` (keys `<session>/<task id>` of kind `task`), in key
/// order: what this machine publishes for it, or what another machine published.
fn session_tasks<'a>(
    items: &'a std::collections::BTreeMap<ItemKey, Arc<str>>,
    session: &str,
) -> impl Iterator<Item = (&'a ItemKey, &'a Arc<str>)> + 'a {
    let prefix = format!("{session}/");
    items
        .range(ItemKey::new("task", prefix.clone())..)
        .take_while(move |(k, _)| k.kind == "task" && k.key.starts_with(&prefix))
}

/// `GET /api/machines` for `remote` (or this machine alone).
pub(crate) fn machines_json(
    remote: Option<&Remote>,
    me: &str,
    local_sessions: usize,
    now_ms: i64,
) -> Value {
    merge::machines(
        remote.unwrap_or(&Remote::default()),
        me,
        local_sessions,
        now_ms,
    )
}

/// Carries out other machines' notes and deletes through `api`, this server's `/api` routes.
pub(crate) fn serve_commands(board: &TeamBoard, api: axum::Router) {
    board
        .team
        .on_command(move |request| commands::serve(api.clone(), request));
}

/// This server's place on the team board.
pub(crate) struct TeamBoard {
    pub(crate) team: Team,
    /// Bumped by every remote change, so cached responses that merge remote data are
    /// rebuilt.
    version: AtomicU64,
}

impl TeamBoard {
    /// Joins the board in the PostgreSQL database at `url`: follows the other machines, and
    /// with `publish` appears on it as `machine`.
    pub(crate) async fn join(
        url: &str,
        machine: &str,
        publish: bool,
        hub: Arc<Hub>,
    ) -> Result<Arc<Self>, flow_team::TeamError> {
        let team = Team::connect(url, machine, publish).await?;
        let board = Arc::new(TeamBoard {
            team,
            version: AtomicU64::new(0),
        });
        let observer = Arc::downgrade(&board);
        board.team.on_change(move |remote, change| {
            if let Some(board) = observer.upgrade() {
                board.version.fetch_add(1, Ordering::SeqCst);
                announce(&hub, remote, change);
            }
        });
        tracing::info!(
            machine,
            publish,
            machines = board.team.remote().machines.len(),
            "joined the team board"
        );
        Ok(board)
    }

    pub(crate) fn machine(&self) -> &str {
        self.team.machine()
    }

    pub(crate) fn version(&self) -> u64 {
        self.version.load(Ordering::SeqCst)
    }

    pub(crate) fn remote(&self) -> Arc<Remote> {
        self.team.remote()
    }

    /// This machine's list items, each marked with its `machine`, ready to be listed beside
    /// the other machines' (which `merge.rs` marks the same way).
    pub(crate) fn local<T: serde::Serialize>(
        &self,
        items: impl IntoIterator<Item = T>,
    ) -> Vec<Value> {
        let me = json!(self.machine());
        items
            .into_iter()
            .map(|item| {
                let mut v = serde_json::to_value(item).unwrap_or_default();
                v["machine"] = me.clone();
                v
            })
            .collect()
    }
}

/// The response-cache key of a read that merges other machines' data: with a team board it
/// names the remote board's version too, so a remote change rebuilds the answer.
pub(crate) fn cache_key(board: Option<&TeamBoard>, key: String) -> String {
    match board {
        Some(board) => format!("{key}&team={}", board.version()),
        None => key,
    }
}

/// The board id of `session` on `machine`.
pub(crate) fn board_id(machine: &str, session: &str) -> String {
    format!("{machine}.{session}")
}

/// Remote changes as the events of contract §4, with ids made board ids.
fn announce(hub: &Hub, remote: &Remote, change: &RemoteChange) {
    match change {
        RemoteChange::Resync => {
            hub.publish(&json!({"type": "resync"}), None);
        }
        RemoteChange::Machine { name, online } => {
            if flow_core::config::check_machine_name(name).is_err() {
                return;
            }
            hub.publish(
                &json!({"type": "machine", "name": name, "online": online}),
                None,
            );
        }
        RemoteChange::Items { machine, items } => {
            let Some(m) = remote.machines.get(machine) else {
                return;
            };
            for (key, doc) in items {
                // Only what reads would show: a valid machine name and board id.
                let session = key.key.split('/').next().unwrap_or("");
                if key.kind != "team" && !merge::showable(m, session) {
                    continue;
                }
                if let Some((event, session)) = item_event(m, key, doc.as_deref()) {
                    hub.publish(&event, session.as_deref());
                }
            }
        }
    }
}

/// The `update` event for one changed item of machine `m`, and its board session id.
fn item_event(
    m: &flow_team::Machine,
    key: &ItemKey,
    doc: Option<&str>,
) -> Option<(Value, Option<String>)> {
    match key.kind.as_str() {
        "session" => {
            let id = board_id(&m.name, &key.key);
            let mut event = json!({"type": "update", "sessionId": id, "file": null});
            match doc {
                Some(_) => {
                    event["event"] = json!("addDir");
                    event["session"] = merge::session_doc(m, &key.key)?;
                }
                None => event["event"] = json!("unlinkDir"),
            }
            Some((event, Some(id)))
        }
        "task" => {
            let (session, task) = key.key.split_once('/')?;
            let id = board_id(&m.name, session);
            let mut event = json!({
                "type": "update",
                "sessionId": id,
                "file": format!("{task}.json"),
            });
            match doc.and_then(|d| serde_json::from_str::<Value>(d).ok()) {
                Some(task) => {
                    event["event"] = json!("change");
                    event["task"] = task;
                }
                None => event["event"] = json!("unlink"),
            }
            if let Some(session) = merge::session_doc(m, session) {
                event["session"] = session;
            }
            Some((event, Some(id)))
        }
        "team" => Some((
            json!({"type": "team-update", "team": board_id(&m.name, &key.key)}),
            None,
        )),
        _ => None,
    }
}
