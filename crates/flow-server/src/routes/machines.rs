//! `GET /api/machines` (contract §7): this machine and every machine on the team board.

use axum::Json;
use axum::extract::State;
use serde_json::Value;

use crate::error::ApiError;
use crate::state::AppState;

pub(crate) async fn list_machines(State(app): State<AppState>) -> Result<Json<Value>, ApiError> {
    let sessions = app.index().session_count();
    let now = app.config.clock.now_ms();
    // Without a team board this machine is the whole board.
    let remote = app.team.as_ref().map(|board| board.remote());
    Ok(Json(crate::team::machines_json(
        remote.as_deref(),
        &app.config.machine,
        sessions,
        now,
    )))
}
