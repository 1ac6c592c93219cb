//! Flow's feature store: features, their dependencies and agent claims, kept in SQLite.
//!
//! [`FeatureStore`] is concrete and synchronous; the server calls it through `spawn_blocking`.
//! Every write is one `BEGIN IMMEDIATE` transaction that validates (self edge, unknown id,
//! cycle) before it changes anything, bumps the `version` of every row it touches and appends
//! to the `feature_events` log. Derived state (ready, blocked, cycle) is never stored: it comes
//! from `flow_resolver`, the same definition every screen uses.

mod error;
mod schema;
mod store;
mod token;
mod types;

pub use error::StoreError;
pub use schema::SCHEMA_VERSION;
pub use store::{FeatureStore, MAX_ATTEMPTS, MAX_BULK};
pub use types::{
    BulkItem, Changed, Claim, EmptyReason, Feature, FeaturePatch, FeatureStatus, NewFeature, Step,
};

#[cfg(test)]
mod tests;
