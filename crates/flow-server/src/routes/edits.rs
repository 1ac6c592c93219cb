//! `POST /api/tasks/:session_id/:task_id/note` and `DELETE /api/tasks/:session_id/:task_id`
//! (contract §3). The edit itself lives in `flow_core::edit`; here we extract, run it on the
//! blocking pool, answer with what Flow wrote, and apply it to the index at once.
//!
//! Concurrency: edits are serialised per task list and per task file by Claude Code's own
//! on-disk locks, which `flow_core::edit` takes (so two Flows on one Claude dir, or Flow and
//! Claude Code, never interleave); no process-wide guard is held, so an edit stalled on one
//! folder never holds up edits of another, and a wait is bounded (then 503).

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use flow_core::{Change, SessionId, TaskId, TaskRecord};
use serde::Deserialize;
use serde_json::json;

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
) -> Result<Response, ApiError> {
    let edit = crate::team::Edit::Note(&patch.note);
    if let Some(answer) = crate::team::forward(&app, session.as_str(), task.as_str(), edit).await {
        return answer;
    }
    let noted = run_edit(&app, &session, &task, {
        let tasks_dir = app.config.tasks_dir.clone();
        let (session, task) = (session.clone(), task.clone());
        move || flow_core::edit::add_note(&tasks_dir, &session, &task, &patch.note)
    })
    .await?;
    // The answer is what Flow wrote, never a re-read: by now another writer may have
    // rewritten (or emptied, mid-write) the file.
    let view = TaskView {
        record: TaskRecord {
            id: task.as_str(),
            task: &noted.task,
            created: noted.created,
            modified: noted.modified,
        },
        owner: None,
    };
    Ok(Json(json!({ "success": true, "task": view })).into_response())
}

pub(crate) async fn delete_task(
    State(app): State<AppState>,
    ApiPath((session, task)): ApiPath<(SessionId, TaskId)>,
) -> Result<Response, ApiError> {
    let edit = crate::team::Edit::Delete;
    if let Some(answer) = crate::team::forward(&app, session.as_str(), task.as_str(), edit).await {
        return answer;
    }
    run_edit(&app, &session, &task, {
        let tasks_dir = app.config.tasks_dir.clone();
        let (session, task) = (session.clone(), task.clone());
        move || flow_core::edit::delete_task(&tasks_dir, &session, &task)
    })
    .await?;
    Ok(Json(json!({ "success": true, "taskId": task })).into_response())
}

/// Runs `edit` on the blocking pool, then re-reads the file into the index so every client's
/// event (and the next read) already shows the result.
async fn run_edit<T: Send + 'static>(
    app: &AppState,
    session: &SessionId,
    task: &TaskId,
    edit: impl FnOnce() -> Result<T, flow_core::edit::EditError> + Send + 'static,
) -> Result<T, ApiError> {
    let app = app.clone();
    let change = Change::TaskFile {
        session: session.to_string(),
        file: format!("{task}.json"),
    };
    tokio::task::spawn_blocking(move || {
        let done = edit()?;
        app.apply_now(vec![change]);
        Ok::<_, ApiError>(done)
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?
}
