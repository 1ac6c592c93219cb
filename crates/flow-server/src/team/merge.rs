//! The other machines' items in the shapes of contract §3, with board ids, `machine` and
//! `stale` (the machine is offline: what it showed last).

use flow_team::{ItemKey, Machine, Remote};
use serde_json::{Value, json};

use super::board_id;

/// A session of another machine, found by its board id.
pub(crate) struct RemoteSession {
    pub(crate) machine: String,
    pub(crate) session: String,
    pub(crate) online: bool,
}

/// Which remote session `board_id` names, if any.
pub(crate) fn find(remote: &Remote, board_id: &str) -> Option<RemoteSession> {
    let (machine, session) = board_id.split_once('.')?;
    let m = remote.machines.get(machine)?;
    if !showable(m, session) {
        return None;
    }
    m.items
        .contains_key(&ItemKey::new("session", session))
        .then(|| RemoteSession {
            machine: machine.to_owned(),
            session: session.to_owned(),
            online: m.online,
        })
}

fn parse(doc: &str) -> Option<Value> {
    serde_json::from_str(doc).ok()
}

/// Whether another machine's session can be shown here: a valid machine name and a board id
/// that is a valid path id. The database is shared; what it holds is not trusted further.
pub(crate) fn showable(m: &Machine, session: &str) -> bool {
    flow_core::config::check_machine_name(&m.name).is_ok()
        && flow_core::SessionId::parse(&board_id(&m.name, session)).is_ok()
}

/// The `/api/sessions` item of `session` on `m`, as this board shows it.
pub(crate) fn session_doc(m: &Machine, session: &str) -> Option<Value> {
    if !showable(m, session) {
        return None;
    }
    let doc = m.items.get(&ItemKey::new("session", session))?;
    let mut v = parse(doc)?;
    v["id"] = json!(board_id(&m.name, session));
    v["machine"] = json!(m.name);
    v["stale"] = json!(!m.online);
    Some(v)
}

/// Every remote session, as list items.
pub(crate) fn sessions(remote: &Remote) -> Vec<Value> {
    remote
        .machines
        .values()
        .flat_map(|m| {
            m.items
                .keys()
                .filter(|k| k.kind == "session")
                .filter_map(move |k| session_doc(m, &k.key))
        })
        .collect()
}

/// The tasks of `session` on `m` as `GET /api/sessions/:id` answers them: by numeric id,
/// non-numeric ids last.
pub(crate) fn tasks_of(m: &Machine, session: &str) -> Vec<Value> {
    let mut tasks: Vec<Value> = super::session_tasks(&m.items, session)
        .filter_map(|(_, doc)| parse(doc))
        .filter(|t| t.is_object())
        .collect();
    tasks.sort_by(|a, b| {
        flow_core::task::compare_task_ids(
            a["id"].as_str().unwrap_or(""),
            b["id"].as_str().unwrap_or(""),
        )
    });
    tasks
}

/// Every remote team as `GET /api/teams` lists it: board name `<machine>.<team>`, `machine`,
/// `stale`.
pub(crate) fn teams(remote: &Remote) -> Vec<Value> {
    remote
        .machines
        .values()
        .filter(|m| flow_core::config::check_machine_name(&m.name).is_ok())
        .flat_map(|m| {
            m.items
                .iter()
                .filter(|(k, _)| k.kind == "team")
                .filter_map(move |(k, doc)| {
                    let mut v = parse(doc)?;
                    v["name"] = json!(board_id(&m.name, &k.key));
                    v["machine"] = json!(m.name);
                    v["stale"] = json!(!m.online);
                    Some(v)
                })
        })
        .collect()
}

/// Every remote task as `GET /api/tasks/all` lists it.
pub(crate) fn all_tasks(remote: &Remote) -> Vec<Value> {
    let mut out = Vec::new();
    for m in remote.machines.values() {
        for key in m.items.keys().filter(|k| k.kind == "session") {
            let Some(session) = session_doc(m, &key.key) else {
                continue;
            };
            for mut task in tasks_of(m, &key.key) {
                task["sessionId"] = session["id"].clone();
                task["sessionName"] = session["name"].clone();
                task["project"] = session["project"].clone();
                task["machine"] = json!(m.name);
                out.push(task);
            }
        }
    }
    out
}

/// `GET /api/machines`: this machine first, then the others by name.
pub(crate) fn machines(remote: &Remote, me: &str, local_sessions: usize, now_ms: i64) -> Value {
    let mut list = vec![json!({
        "name": me,
        "online": true,
        "lastSeenAt": flow_core::time::rfc3339_from_ms(now_ms),
        "sessions": local_sessions,
        "self": true,
    })];
    for m in remote.machines.values() {
        if flow_core::config::check_machine_name(&m.name).is_err() {
            continue;
        }
        list.push(json!({
            "name": m.name,
            "online": m.online,
            "lastSeenAt": flow_core::time::rfc3339_from_ms(m.last_seen_at),
            "sessions": m.items.keys().filter(|k| k.kind == "session").count(),
        }));
    }
    Value::Array(list)
}
