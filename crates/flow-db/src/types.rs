//! The public data types of the feature store: what is stored, what callers send, what
//! writes answer.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The stored status of a feature (`contract.md` §5). Derived state lives in the resolver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeatureStatus {
    Pending,
    InProgress,
    Review,
    NeedsInput,
    Done,
    Cancelled,
}

impl FeatureStatus {
    pub const ALL: [FeatureStatus; 6] = [
        FeatureStatus::Pending,
        FeatureStatus::InProgress,
        FeatureStatus::Review,
        FeatureStatus::NeedsInput,
        FeatureStatus::Done,
        FeatureStatus::Cancelled,
    ];

    /// The spelling stored in the database and used on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            FeatureStatus::Pending => "pending",
            FeatureStatus::InProgress => "in_progress",
            FeatureStatus::Review => "review",
            FeatureStatus::NeedsInput => "needs_input",
            FeatureStatus::Done => "done",
            FeatureStatus::Cancelled => "cancelled",
        }
    }

    /// The inverse of [`FeatureStatus::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// The resolver's view of this status.
    pub fn to_resolver(self) -> flow_resolver::Status {
        use flow_resolver::Status;
        match self {
            FeatureStatus::Pending => Status::Pending,
            FeatureStatus::InProgress => Status::InProgress,
            FeatureStatus::Review => Status::Review,
            FeatureStatus::NeedsInput => Status::NeedsInput,
            FeatureStatus::Done => Status::Done,
            FeatureStatus::Cancelled => Status::Cancelled,
        }
    }
}

impl From<FeatureStatus> for flow_resolver::Status {
    fn from(s: FeatureStatus) -> Self {
        s.to_resolver()
    }
}

impl fmt::Display for FeatureStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One acceptance step of a feature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    pub text: String,
    #[serde(default)]
    pub done: bool,
}

/// A stored feature. Times are milliseconds since the Unix epoch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Feature {
    pub id: i64,
    pub project: String,
    pub name: String,
    pub description: String,
    pub category: String,
    pub steps: Vec<Step>,
    pub status: FeatureStatus,
    pub priority: i64,
    /// Prerequisites, sorted by id.
    pub dependencies: Vec<i64>,
    pub claimed_by: Option<String>,
    pub lease_expires_at: Option<i64>,
    pub attempts: i64,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub started_at: Option<i64>,
    pub completed_at: Option<i64>,
}

/// Input of [`crate::FeatureStore::create`]. `priority: None` queues the feature last.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewFeature {
    pub project: String,
    pub name: String,
    pub description: String,
    pub category: String,
    pub steps: Vec<Step>,
    pub priority: Option<i64>,
    pub dependencies: Vec<i64>,
}

/// One item of [`crate::FeatureStore::create_bulk`]: `depends_on_refs` name the `ref_name`
/// of earlier items of the same batch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BulkItem {
    pub feature: NewFeature,
    pub ref_name: Option<String>,
    pub depends_on_refs: Vec<String>,
}

/// A partial update: `None` leaves a field alone; `dependencies` replaces the whole set.
/// `force` overrides the "prerequisites must be done" rule.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FeaturePatch {
    pub project: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub category: Option<String>,
    pub steps: Option<Vec<Step>>,
    pub status: Option<FeatureStatus>,
    pub priority: Option<i64>,
    pub dependencies: Option<Vec<i64>>,
    pub force: bool,
}

/// A granted claim. The token proves ownership to `heartbeat`, `release` and `complete`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub feature: Feature,
    pub token: String,
    pub lease_expires_at: i64,
}

/// What a write changed: every feature whose row changed (as it is after the change), and
/// the ids that were deleted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changed {
    pub features: Vec<Feature>,
    pub deleted: Vec<i64>,
}

/// Why [`crate::FeatureStore::claim_next`] found nothing to claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EmptyReason {
    /// Every feature is done or cancelled.
    AllDone,
    /// Work remains but none of it is ready (blocked, in a cycle, waiting for input or review).
    AllBlocked,
    /// Work is in progress under live claims; nothing else is ready.
    AllClaimed,
    /// There are no features at all.
    Empty,
}

impl EmptyReason {
    pub fn as_str(self) -> &'static str {
        match self {
            EmptyReason::AllDone => "all_done",
            EmptyReason::AllBlocked => "all_blocked",
            EmptyReason::AllClaimed => "all_claimed",
            EmptyReason::Empty => "empty",
        }
    }
}
