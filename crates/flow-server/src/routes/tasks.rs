//! `GET /api/tasks/all` (contract §3): every task of every session, sessions newest first.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;

use crate::error::ApiError;

use crate::state::AppState;
use crate::views::{TaskOwner, TaskView};

pub(crate) async fn list_all_tasks(
    State(app): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    crate::cache::respond(&app, &headers, "tasks/all".to_owned(), |index| {
        let mut views = Vec::new();
        for summary in index.summaries() {
            let owner = TaskOwner {
                session_id: summary.id,
                session_name: summary.name,
                project: summary.project,
            };
            for record in index.tasks(summary.id).unwrap_or_default() {
                views.push(TaskView {
                    record,
                    owner: Some(owner),
                });
            }
        }
        serde_json::to_vec(&views).map_err(|e| ApiError::Internal(e.to_string()))
    })
}
