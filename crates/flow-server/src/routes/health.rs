//! `GET /api/health` (extension): liveness plus which directories this server reads.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::state::AppState;

pub(crate) async fn health(State(app): State<AppState>) -> Json<Value> {
    Json(json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "tasksDir": app.config.tasks_dir,
        "projectsDir": app.config.projects_dir,
    }))
}
