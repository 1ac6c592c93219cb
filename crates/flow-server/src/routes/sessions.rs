//! `GET /api/sessions` and `GET /api/sessions/:session_id` (contract §3).

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
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
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<SessionsQuery>,
) -> Result<Response, ApiError> {
    let limit = query.limit()?.unwrap_or(usize::MAX);
    crate::cache::respond(&app, &headers, format!("sessions?{limit}"), |index| {
        let views: Vec<SessionView<'_>> = index
            .newest(limit)
            .into_iter()
            .map(SessionView::from)
            .collect();
        serde_json::to_vec(&views).map_err(|e| ApiError::Internal(e.to_string()))
    })
}

pub(crate) async fn get_session(
    State(app): State<AppState>,
    headers: HeaderMap,
    ApiPath(id): ApiPath<SessionId>,
) -> Result<Response, ApiError> {
    crate::cache::respond(&app, &headers, format!("session/{id}"), |index| {
        let records = index.tasks(id.as_str()).ok_or(ApiError::SessionNotFound)?;
        let views: Vec<TaskView<'_>> = records
            .into_iter()
            .map(|record| TaskView {
                record,
                owner: None,
            })
            .collect();
        serde_json::to_vec(&views).map_err(|e| ApiError::Internal(e.to_string()))
    })
}
