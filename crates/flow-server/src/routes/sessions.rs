//! `GET /api/sessions` and `GET /api/sessions/:session_id` (contract §3).

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use flow_core::SessionId;
use serde::Deserialize;

use crate::error::ApiError;
use crate::extract::{ApiPath, ApiQuery};
use crate::state::AppState;
use crate::views::{SessionView, TaskView};

#[derive(Debug, Deserialize)]
pub(crate) struct SessionsQuery {
    limit: Option<String>,
}

const DEFAULT_LIMIT: usize = 20;

impl SessionsQuery {
    /// `None` means no limit (`limit=all`).
    fn limit(&self) -> Result<Option<usize>, ApiError> {
        match self.limit.as_deref() {
            None => Ok(Some(DEFAULT_LIMIT)),
            Some("all") => Ok(None),
            Some(raw) => match raw.parse::<usize>() {
                Ok(n) if n > 0 => Ok(Some(n)),
                _ => Err(ApiError::BadRequest(format!(
                    "Invalid limit `{raw}`: expected a positive integer or `all`"
                ))),
            },
        }
    }
}

pub(crate) async fn list_sessions(
    State(app): State<AppState>,
    ApiQuery(query): ApiQuery<SessionsQuery>,
) -> Result<Response, ApiError> {
    let limit = query.limit()?.unwrap_or(usize::MAX);
    let index = app.index();
    let views: Vec<SessionView<'_>> = index
        .summaries()
        .into_iter()
        .take(limit)
        .map(SessionView::from)
        .collect();
    Ok(Json(views).into_response())
}

pub(crate) async fn get_session(
    State(app): State<AppState>,
    ApiPath(id): ApiPath<SessionId>,
) -> Result<Response, ApiError> {
    let index = app.index();
    let records = index.tasks(id.as_str()).ok_or(ApiError::SessionNotFound)?;
    let views: Vec<TaskView<'_>> = records
        .into_iter()
        .map(|record| TaskView {
            record,
            owner: None,
        })
        .collect();
    Ok(Json(views).into_response())
}
