//! `GET /api/theme`, `POST /api/theme` (contract §3).

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::state::AppState;
use crate::theme::Theme;

pub(crate) async fn get_theme(State(app): State<AppState>) -> Json<Value> {
    Json(json!({ "theme": app.theme().get() }))
}

#[derive(Debug, Deserialize)]
pub(crate) struct ThemePatch {
    theme: String,
}

pub(crate) async fn set_theme(
    State(app): State<AppState>,
    ApiJson(patch): ApiJson<ThemePatch>,
) -> Result<Json<Value>, ApiError> {
    let theme = Theme::parse(&patch.theme).ok_or_else(|| {
        ApiError::Unprocessable(format!(
            "Invalid theme `{}`: expected light, dark or system",
            patch.theme
        ))
    })?;
    let store = app.clone();
    tokio::task::spawn_blocking(move || store.theme().set(theme))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(|e| ApiError::Internal(format!("saving the theme: {e}")))?;
    app.hub()
        .publish(&json!({"type": "theme", "theme": theme}), None);
    Ok(Json(json!({ "success": true, "theme": theme })))
}
