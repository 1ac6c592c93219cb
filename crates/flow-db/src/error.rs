//! [`StoreError`]: every way a feature-store call can fail, each with a stable `code()`.

use crate::FeatureStatus;

/// What went wrong in the feature store. [`StoreError::code`] is the `code` of `contract.md` §5.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("no feature {0}")]
    NotFound(i64),
    #[error("{0}")]
    Validation(String),
    #[error("unknown dependencies: {0:?}")]
    UnknownDependency(Vec<i64>),
    #[error("a feature cannot depend on itself")]
    SelfDependency,
    #[error("dependency would create a cycle: {0:?}")]
    Cycle(Vec<i64>),
    #[error("feature is blocked by unfinished prerequisites {blocked_by:?}")]
    Blocked { blocked_by: Vec<i64> },
    #[error("cannot move a feature from {from} to {to}")]
    InvalidTransition {
        from: FeatureStatus,
        to: FeatureStatus,
    },
    #[error("other features depend on this one: {0:?}")]
    HasDependents(Vec<i64>),
    #[error("feature changed since it was read (now at version {current})")]
    VersionMismatch { current: i64 },
    #[error("feature is claimed by `{by}`")]
    ClaimedByOther { by: String },
    #[error("claim token is wrong or its lease has expired")]
    LeaseLost,
    #[error("invalid items in batch: {}", bulk_summary(.0))]
    Bulk(Vec<(usize, StoreError)>),
    #[error(
        "database schema version {found} is newer than this build of flow supports ({supported}); \
         upgrade flow or point FLOW_DB at another file"
    )]
    TooNew { found: i64, supported: i64 },
    #[error(
        "{path} is not a Flow feature store: {why}; Flow leaves it untouched. Point --db or FLOW_DB at another file"
    )]
    Foreign { path: String, why: String },
    #[error("cannot create database directory: {0}")]
    Io(#[from] std::io::Error),
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("database error: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    /// The database cannot be reached (or stopped answering): nothing was written; reads
    /// still answer from the last snapshot.
    #[error("the feature store's database is unavailable: {0}")]
    Unavailable(String),
    #[error("{0}")]
    BadUrl(String),
    /// A stored row Flow cannot read: refused rather than guessed at, so no write replaces
    /// what it holds.
    #[error("the feature store holds a row Flow cannot read: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// The stable machine-readable code clients match on.
    pub fn code(&self) -> &'static str {
        match self {
            StoreError::NotFound(_) => "feature_not_found",
            StoreError::Validation(_) | StoreError::Bulk(_) => "validation_failed",
            StoreError::UnknownDependency(_) => "unknown_dependency",
            StoreError::SelfDependency => "self_dependency",
            StoreError::Cycle(_) => "dependency_cycle",
            StoreError::Blocked { .. } => "feature_blocked",
            StoreError::InvalidTransition { .. } => "invalid_transition",
            StoreError::HasDependents(_) => "has_dependents",
            StoreError::VersionMismatch { .. } => "version_mismatch",
            StoreError::ClaimedByOther { .. } => "claimed_by_other",
            StoreError::LeaseLost => "lease_lost",
            StoreError::TooNew { .. } => "database_too_new",
            StoreError::Foreign { .. } => "database_not_flow",
            StoreError::Unavailable(_) => "database_unavailable",
            StoreError::BadUrl(_) => "bad_database_url",
            StoreError::Io(_)
            | StoreError::Sqlite(_)
            | StoreError::Postgres(_)
            | StoreError::Corrupt(_) => "internal",
        }
    }
}

fn bulk_summary(errors: &[(usize, StoreError)]) -> String {
    errors
        .iter()
        .map(|(i, e)| format!("#{i}: {e}"))
        .collect::<Vec<_>>()
        .join("; ")
}
