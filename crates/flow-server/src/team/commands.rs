//! Notes and deletes on another machine's task. The requester turns the API call into a
//! command for the owner (`forward`); the owner carries it out through its own `/api` router,
//! in process (`serve`), so it is exactly the local call: the same safe edit, locks and
//! answers. Either way the client sees the owner's status and body.

use std::time::Duration;

use axum::Router;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use flow_team::{Answer, TeamError};
use serde_json::{Value, json};

use super::merge;
use crate::error::ApiError;
use crate::in_process;
use crate::state::AppState;

/// How long a requester waits for the owner's answer.
const ANSWER_WITHIN: Duration = Duration::from_secs(5);
/// Answers are small (one task); this bounds a hostile or broken one.
const MAX_ANSWER: usize = 4 << 20;

/// What a client asked of a task on another machine.
pub(crate) enum Edit<'a> {
    Note(&'a str),
    Delete,
}

/// `Some(response)` when `session` is a board id of another machine's session: the owner's
/// answer (or 503 `machine_offline`, 504 `machine_timeout`); `None` for a local session.
pub(crate) async fn forward(
    app: &AppState,
    session: &str,
    task: &str,
    edit: Edit<'_>,
) -> Option<Result<Response, ApiError>> {
    let board = app.team.as_ref()?;
    if app.index().summary(session).is_some() {
        return None;
    }
    let remote = merge::find(&board.remote(), session)?;
    if !remote.online {
        return Some(Err(ApiError::MachineOffline(remote.machine)));
    }
    let request = match edit {
        Edit::Note(note) => {
            json!({"op": "note", "session": remote.session, "task": task, "note": note})
        }
        Edit::Delete => json!({"op": "delete", "session": remote.session, "task": task}),
    };
    let answered = board
        .team
        .request(&remote.machine, request, ANSWER_WITHIN)
        .await;
    Some(match answered {
        Ok(answer) => {
            let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::BAD_GATEWAY);
            Ok((status, axum::Json(answer.body)).into_response())
        }
        Err(TeamError::MachineOffline(m)) => Err(ApiError::MachineOffline(m)),
        Err(TeamError::Timeout(m)) => Err(ApiError::MachineTimeout(m)),
        Err(err) => Err(ApiError::Unavailable(err.to_string())),
    })
}

/// Carries out a command from another machine through `api` (this server's `/api` routes).
pub(crate) async fn serve(api: Router, request: Value) -> Answer {
    let (Some(session), Some(task)) = (request["session"].as_str(), request["task"].as_str())
    else {
        return refused("A team command names a session and a task");
    };
    let path = |suffix: &str| {
        let enc = |s: &str| {
            percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
        };
        format!("/api/tasks/{}/{}{suffix}", enc(session), enc(task))
    };
    let built = match request["op"].as_str() {
        Some("note") => in_process::request(
            Method::POST,
            &path("/note"),
            Some(&json!({"note": request["note"]})),
        ),
        Some("delete") => in_process::request(Method::DELETE, &path(""), None),
        _ => return refused("Unknown team command"),
    };
    let Ok(built) = built else {
        return refused("Malformed team command");
    };
    let (status, bytes) = in_process::send(&api, built, MAX_ANSWER).await;
    let body = bytes
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(Value::Null);
    Answer { status, body }
}

fn refused(why: &str) -> Answer {
    Answer {
        status: 400,
        body: json!({"error": why}),
    }
}
