//! `GET /api/machines` (contract §7): this machine and every machine on the team board.

use axum::Json;
use axum::extract::State;
use serde_json::Value;

use crate::error::ApiError;
use crate::state::AppState;

pub(crate) async fn list_machines(State(app): State<AppState>) -> Result<Json<Value>, ApiError> {
    let sessions = app.index().newest(usize::MAX).len();
    let now = app.config.clock.now_ms();
    let Some(board) = app.team.as_ref() else {
        // Without a team board this machine is the whole board.
        let me = app.config.machine.as_str();
        return Ok(Json(crate::team::machines_json(None, me, sessions, now)));
    };
    Ok(Json(crate::team::machines_json(
        Some(&board.remote()),
        board.machine(),
        sessions,
        now,
    )))
}
