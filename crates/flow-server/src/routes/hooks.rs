//! `POST /api/hooks` (contract §8): a Claude Code hook payload, as `flow hook` forwards it,
//! becomes exact session state on the board. A payload that is not one (malformed, an unknown
//! event, ids that are not ids) is refused with a 4xx before anything changes.

use axum::Json;
use axum::extract::State;
use flow_core::hooks::{HookChange, HookError};
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::state::AppState;

pub(crate) async fn receive_hook(
    State(app): State<AppState>,
    ApiJson(payload): ApiJson<Value>,
) -> Result<Json<Value>, ApiError> {
    let signal = flow_core::hooks::parse(payload).map_err(|err| match err {
        HookError::BadId(e) => ApiError::BadId(e),
        HookError::Malformed(_) => ApiError::BadRequest(err.to_string()),
        HookError::UnknownEvent(_) | HookError::Missing { .. } => {
            ApiError::Unprocessable(err.to_string())
        }
    })?;
    let session = signal.session.clone();
    let applied = signal.change != HookChange::Nothing || signal.task_list.is_some();
    let state = app.clone();
    tokio::task::spawn_blocking(move || state.apply_hook(signal))
        .await
        .map_err(|e| ApiError::Internal(format!("applying a hook: {e}")))?;
    let live = app.index().liveness(session.as_str()).state.as_str();
    Ok(Json(json!({
        "success": true,
        "sessionId": session.as_str(),
        "applied": applied,
        "state": live,
    })))
}
