//! `GET /api/tasks/all` (contract §3): every task of every session, sessions newest first.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};

use crate::state::AppState;
use crate::views::{TaskOwner, TaskView};

pub(crate) async fn list_all_tasks(State(app): State<AppState>) -> Response {
    let index = app.index();
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
    Json(views).into_response()
}
