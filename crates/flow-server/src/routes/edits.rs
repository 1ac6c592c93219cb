//! `POST /api/tasks/:session_id/:task_id/note` and `DELETE /api/tasks/:session_id/:task_id`
//! (contract §3). The edit itself lives in `flow_core::edit`; here we extract, run it on the
//! blocking pool, apply the result to the index at once, and answer.

use axum::Json;
use axum::extract::State;
use flow_core::{Change, SessionId, TaskId};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath};
use crate::state::AppState;
use crate::views::TaskView;

#[derive(Debug, Deserialize)]
pub(crate) struct NotePatch {
    note: String,
}

pub(crate) async fn add_note(
    State(app): State<AppState>,
    ApiPath((session, task)): ApiPath<(SessionId, TaskId)>,
    ApiJson(patch): ApiJson<NotePatch>,
) -> Result<Json<Value>, ApiError> {
    let file = format!("{task}.json");
    run_edit(&app, &session, &file, {
        let tasks_dir = app.config.tasks_dir.clone();
        let (session, task) = (session.clone(), task.clone());
        move || flow_core::edit::add_note(&tasks_dir, &session, &task, &patch.note).map(drop)
    })
    .await?;
    let index = app.index();
    let record = index
        .task(session.as_str(), &file)
        .ok_or(ApiError::TaskNotFound)?;
    let view = TaskView {
        record,
        owner: None,
    };
    Ok(Json(json!({ "success": true, "task": view })))
}

pub(crate) async fn delete_task(
    State(app): State<AppState>,
    ApiPath((session, task)): ApiPath<(SessionId, TaskId)>,
) -> Result<Json<Value>, ApiError> {
    let file = format!("{task}.json");
    run_edit(&app, &session, &file, {
        let tasks_dir = app.config.tasks_dir.clone();
        let (session, task) = (session.clone(), task.clone());
        move || flow_core::edit::delete_task(&tasks_dir, &session, &task)
    })
    .await?;
    Ok(Json(json!({ "success": true, "taskId": task })))
}

/// Runs `edit` on the blocking pool, then re-reads the file into the index so the response
/// and every client's event already show the result.
async fn run_edit(
    app: &AppState,
    session: &SessionId,
    file: &str,
    edit: impl FnOnce() -> Result<(), flow_core::edit::EditError> + Send + 'static,
) -> Result<(), ApiError> {
    let app = app.clone();
    let change = Change::TaskFile {
        session: session.to_string(),
        file: file.to_owned(),
    };
    tokio::task::spawn_blocking(move || {
        let _one_edit_at_a_time = app.edit_guard();
        edit()?;
        app.apply_now(vec![change]);
        Ok::<_, ApiError>(())
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?
}
