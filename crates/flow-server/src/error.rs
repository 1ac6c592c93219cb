//! The one error type handlers return. It renders contract §3's body, `{"error": message}`,
//! with the precise status, so a client of `/api` never sees axum's plain-text rejections.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use flow_core::IdError;
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub(crate) enum ApiError {
    #[error("Session not found")]
    SessionNotFound,
    #[error("Task not found")]
    TaskNotFound,
    #[error("{0}")]
    Conflict(String),
    #[error("Cannot delete task that blocks other tasks")]
    BlocksOthers { blocked_tasks: Vec<String> },
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("Missing or invalid token")]
    Unauthorized,
    /// A fault of ours: logged with its cause, answered without it.
    #[error("Internal server error")]
    Internal(String),
    #[error("Not found")]
    RouteNotFound,
    #[error("Method not allowed")]
    MethodNotAllowed,
    #[error("Invalid id: {0}")]
    BadId(#[from] IdError),
    #[error("{0}")]
    BadRequest(String),
    #[error("Request body exceeds {0} bytes")]
    TooLarge(usize),
    #[error("Expected Content-Type: application/json")]
    UnsupportedMediaType,
    #[error("{0}")]
    Unprocessable(String),
}

impl ApiError {
    pub(crate) fn status(&self) -> StatusCode {
        match self {
            Self::SessionNotFound | Self::TaskNotFound | Self::RouteNotFound => {
                StatusCode::NOT_FOUND
            }
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::BlocksOthers { .. } => StatusCode::BAD_REQUEST,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::BadId(_) | Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Self::Internal(cause) = &self {
            tracing::error!(%cause, "request failed");
        }
        let mut body = json!({ "error": self.to_string() });
        if let Self::BlocksOthers { blocked_tasks } = &self {
            body["blockedTasks"] = json!(blocked_tasks);
        }
        let no_store = [(
            axum::http::header::CACHE_CONTROL,
            axum::http::HeaderValue::from_static("no-store"),
        )];
        (self.status(), no_store, axum::Json(body)).into_response()
    }
}

impl From<flow_core::edit::EditError> for ApiError {
    fn from(err: flow_core::edit::EditError) -> Self {
        use flow_core::edit::EditError as E;
        match err {
            E::SessionNotFound => Self::SessionNotFound,
            E::TaskNotFound => Self::TaskNotFound,
            E::EmptyNote => Self::BadRequest(err.to_string()),
            E::Unreadable(_) | E::Conflict => Self::Conflict(err.to_string()),
            E::BlocksOthers { blocked_tasks } => Self::BlocksOthers { blocked_tasks },
            E::Io(io) => Self::Internal(io.to_string()),
        }
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        use axum::extract::path::ErrorKind;
        match &rejection {
            // Our id types explain themselves; axum's wrapper text would only obscure that.
            PathRejection::FailedToDeserializePathParams(err) => match err.kind() {
                ErrorKind::Message(msg) => Self::BadRequest(format!("Invalid id: {msg}")),
                _ => Self::BadRequest(format!("Invalid path: {}", err.body_text())),
            },
            _ => Self::BadRequest(format!("Invalid path: {}", rejection.body_text())),
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        Self::BadRequest(format!("Invalid query: {}", rejection.body_text()))
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::MissingJsonContentType(_) => Self::UnsupportedMediaType,
            JsonRejection::JsonDataError(err) => Self::Unprocessable(err.body_text()),
            JsonRejection::BytesRejection(err) if err.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Self::TooLarge(crate::routes::BODY_LIMIT)
            }
            other => Self::BadRequest(format!("Malformed JSON body: {}", other.body_text())),
        }
    }
}
