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
    #[error("Team not found")]
    TeamNotFound,
    #[error("Plan not found")]
    PlanNotFound,
    #[error("{0}")]
    Conflict(String),
    #[error("Cannot delete task that blocks other tasks")]
    BlocksOthers { blocked_tasks: Vec<String> },
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("Missing or invalid token")]
    Unauthorized,
    #[error("Feature store is disabled")]
    FeaturesDisabled,
    /// A feature-store refusal; its code and evidence come from the store error.
    #[error("{0}")]
    Store(flow_db::StoreError),
    /// A feature request body or path that does not fit, with the contract's code.
    #[error("{message}")]
    FeatureInput { code: &'static str, message: String },
    /// A bulk create with per-item errors (`[{index, error}]`).
    #[error("Some features in the batch are invalid")]
    FeatureBatch(Vec<serde_json::Value>),
    /// A fault of ours: logged with its cause, answered without it.
    #[error("Internal server error")]
    Internal(String),
    /// Contract §7: the machine that owns a task is offline, so nobody can edit its file.
    #[error("Machine {0} is offline")]
    MachineOffline(String),
    /// The owning machine did not answer a note or delete in time.
    #[error("Machine {0} did not answer in time")]
    MachineTimeout(String),
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
    /// A file Flow was asked to edit is larger than any real one of its kind.
    #[error("{0}")]
    FileTooLarge(String),
    /// A transient refusal (a task list locked by another writer): retry shortly.
    #[error("{0}")]
    Unavailable(String),
}

impl ApiError {
    pub(crate) fn status(&self) -> StatusCode {
        match self {
            Self::SessionNotFound
            | Self::TaskNotFound
            | Self::TeamNotFound
            | Self::PlanNotFound
            | Self::RouteNotFound => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::BlocksOthers { .. } => StatusCode::BAD_REQUEST,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::FeaturesDisabled => StatusCode::NOT_FOUND,
            Self::FeatureInput { code, .. } => match *code {
                "invalid_id" => StatusCode::BAD_REQUEST,
                _ => StatusCode::UNPROCESSABLE_ENTITY,
            },
            Self::FeatureBatch(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Store(err) => store_status(err),
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::BadId(_) | Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::FileTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Unavailable(_) | Self::MachineOffline(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::MachineTimeout(_) => StatusCode::GATEWAY_TIMEOUT,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Self::Internal(cause) = &self {
            tracing::error!(%cause, "request failed");
        }
        if let Self::Store(err) = &self
            && store_status(err) == StatusCode::INTERNAL_SERVER_ERROR
        {
            tracing::error!(%err, "feature store failed");
        }
        let mut body = json!({ "error": self.to_string() });
        match &self {
            Self::BlocksOthers { blocked_tasks } => body["blockedTasks"] = json!(blocked_tasks),
            Self::FeaturesDisabled => body["code"] = json!("features_disabled"),
            Self::MachineOffline(_) => body["code"] = json!("machine_offline"),
            Self::MachineTimeout(_) => body["code"] = json!("machine_timeout"),
            Self::FeatureInput { code, .. } => body["code"] = json!(code),
            Self::FeatureBatch(errors) => {
                body["code"] = json!("validation_failed");
                body["errors"] = json!(errors);
            }
            Self::Store(err) => store_evidence(err, &mut body),
            _ => {}
        }
        let no_store = [(
            axum::http::header::CACHE_CONTROL,
            axum::http::HeaderValue::from_static("no-store"),
        )];
        let mut res = (self.status(), no_store, axum::Json(body)).into_response();
        if let Self::Unavailable(_) = self {
            res.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static("1"),
            );
        }
        res
    }
}

impl From<flow_db::StoreError> for ApiError {
    fn from(err: flow_db::StoreError) -> Self {
        ApiError::Store(err)
    }
}

impl From<flow_core::edit::EditError> for ApiError {
    fn from(err: flow_core::edit::EditError) -> Self {
        use flow_core::edit::EditError as E;
        match err {
            E::SessionNotFound => Self::SessionNotFound,
            E::TaskNotFound => Self::TaskNotFound,
            E::EmptyNote => Self::BadRequest(err.to_string()),
            E::Refused(why) => Self::Unprocessable(why),
            E::TooLarge { .. } => Self::FileTooLarge(err.to_string()),
            E::Unreadable(_) | E::Conflict => Self::Conflict(err.to_string()),
            #[cfg(unix)]
            E::Lock(ref lock) => {
                use flow_core::lock::LockError as L;
                match lock {
                    L::Busy { .. } | L::Lost { .. } => Self::Unavailable(err.to_string()),
                    L::NotALock { .. } => Self::Conflict(err.to_string()),
                    L::Io(io) => Self::Internal(io.to_string()),
                }
            }
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

fn store_status(err: &flow_db::StoreError) -> StatusCode {
    use flow_db::StoreError as E;
    match err {
        E::NotFound(_) => StatusCode::NOT_FOUND,
        E::Validation(_) | E::UnknownDependency(_) | E::SelfDependency | E::Bulk(_) => {
            StatusCode::UNPROCESSABLE_ENTITY
        }
        E::Cycle(_)
        | E::Blocked { .. }
        | E::InvalidTransition { .. }
        | E::HasDependents(_)
        | E::ClaimedByOther { .. }
        | E::LeaseLost => StatusCode::CONFLICT,
        E::VersionMismatch { .. } => StatusCode::PRECONDITION_FAILED,
        // Reads still answer from the last snapshot; a write waits for the database.
        E::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The contract's `code` plus the evidence field each refusal names.
fn store_evidence(err: &flow_db::StoreError, body: &mut serde_json::Value) {
    use flow_db::StoreError as E;
    body["code"] = json!(err.code());
    match err {
        E::Cycle(cycle) => body["cycle"] = json!(cycle),
        E::Blocked { blocked_by } => body["blockedBy"] = json!(blocked_by),
        E::HasDependents(dependents) => body["dependents"] = json!(dependents),
        E::UnknownDependency(ids) => body["unknown"] = json!(ids),
        E::VersionMismatch { current } => body["currentVersion"] = json!(current),
        E::ClaimedByOther { by } => body["claimedBy"] = json!(by),
        E::Bulk(errors) => {
            body["errors"] = errors
                .iter()
                .map(|(index, e)| json!({"index": index, "code": e.code(), "error": e.to_string()}))
                .collect();
        }
        _ => {}
    }
    if store_status(err) == StatusCode::INTERNAL_SERVER_ERROR {
        body["error"] = json!("Internal server error");
    }
}
