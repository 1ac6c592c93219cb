//! `GET /api/sessions` and `GET /api/sessions/:session_id` (contract §3).

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use flow_core::SessionId;
use serde::Deserialize;
use serde_json::Value;

use crate::error::ApiError;
use crate::extract::{ApiPath, ApiQuery};
use crate::state::AppState;
use crate::views::{SessionView, TaskView};

/// The tasks of another machine's session, when `id` is the board id of one (and no local
/// session has that id).
fn remote_tasks(app: &AppState, id: &str) -> Option<Value> {
    let board = app.team.as_ref()?;
    if app.index().summary(id).is_some() {
        return None;
    }
    let remote = board.remote();
    let found = crate::team::find_remote(&remote, id)?;
    let machine = remote.machines.get(&found.machine)?;
    Some(Value::Array(crate::team::tasks_of(machine, &found.session)))
}

#[derive(Debug, Deserialize)]
pub(crate) struct SessionsQuery {
    limit: Option<String>,
}

const DEFAULT_LIMIT: usize = 20;

impl SessionsQuery {
    /// `None` means no limit (`limit=all`).
    fn limit(&self) -> Result<Option<usize>, ApiError> {
        match self.limit.as_deref() {
            None => Ok(Some(DEFAULT_LIMIT)),
            Some("all") => Ok(None),
            Some(raw) => match raw.parse::<usize>() {
                Ok(n) if n > 0 => Ok(Some(n)),
                _ => Err(ApiError::BadRequest(format!(
                    "Invalid limit `{raw}`: expected a positive integer or `all`"
                ))),
            },
        }
    }
}

pub(crate) async fn list_sessions(
    State(app): State<AppState>,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<SessionsQuery>,
) -> Result<Response, ApiError> {
    let limit = query.limit()?.unwrap_or(usize::MAX);
    if let Some(board) = app.team.clone() {
        let key = crate::team::cache_key(Some(&board), format!("sessions?{limit}"));
        return crate::cache::respond(&app, &headers, key, |index| {
            let mut items =
                board.local(index.newest(usize::MAX).into_iter().map(SessionView::from));
            items.extend(crate::team::remote_sessions(&board.remote()));
            // RFC 3339 times of one format sort as text; newest first, as for one machine.
            items.sort_by(|a, b| b["modifiedAt"].as_str().cmp(&a["modifiedAt"].as_str()));
            items.truncate(limit);
            serde_json::to_vec(&items).map_err(|e| ApiError::Internal(e.to_string()))
        });
    }
    crate::cache::respond(&app, &headers, format!("sessions?{limit}"), |index| {
        let views: Vec<SessionView<'_>> = index
            .newest(limit)
            .into_iter()
            .map(SessionView::from)
            .collect();
        serde_json::to_vec(&views).map_err(|e| ApiError::Internal(e.to_string()))
    })
}

pub(crate) async fn get_session(
    State(app): State<AppState>,
    headers: HeaderMap,
    ApiPath(id): ApiPath<SessionId>,
) -> Result<Response, ApiError> {
    if let Some(tasks) = remote_tasks(&app, id.as_str()) {
        return Ok(axum::Json(tasks).into_response());
    }
    crate::cache::respond(&app, &headers, format!("session/{id}"), |index| {
        let records = index.tasks(id.as_str()).ok_or(ApiError::SessionNotFound)?;
        let views: Vec<TaskView<'_>> = records
            .into_iter()
            .map(|record| TaskView {
                record,
                owner: None,
            })
            .collect();
        serde_json::to_vec(&views).map_err(|e| ApiError::Internal(e.to_string()))
    })
}
