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
            Self::SessionNotFound | Self::RouteNotFound => StatusCode::NOT_FOUND,
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
        (
            self.status(),
            axum::Json(json!({ "error": self.to_string() })),
        )
            .into_response()
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
