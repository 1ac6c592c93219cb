//! `GET /api/sessions/:id/todos` (contract §6): a session's TodoWrite items, from
//! `todos/<sid>.json` and its agents' `todos/<sid>-agent-<aid>.json`, held in the index.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use flow_core::SessionId;
use serde::Serialize;

use crate::error::ApiError;
use crate::extract::ApiPath;
use crate::state::AppState;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct TodoView<'a> {
    content: Option<&'a str>,
    status: Option<&'a str>,
    active_form: Option<&'a str>,
    /// `null` for the session's own list (`<sid>.json`, or `<sid>-agent-<sid>.json`).
    agent_id: Option<&'a str>,
}

pub(crate) async fn list_todos(
    State(app): State<AppState>,
    headers: HeaderMap,
    ApiPath(id): ApiPath<SessionId>,
) -> Result<Response, ApiError> {
    crate::cache::respond(&app, &headers, format!("todos/{id}"), |index| {
        let records = index.todos(id.as_str()).ok_or(ApiError::SessionNotFound)?;
        let views: Vec<TodoView<'_>> = records
            .into_iter()
            .map(|r| TodoView {
                content: r.item.content.as_deref(),
                status: r.item.status.as_deref(),
                active_form: r.item.active_form.as_deref(),
                agent_id: r.agent_id,
            })
            .collect();
        serde_json::to_vec(&views).map_err(|e| ApiError::Internal(e.to_string()))
    })
}
