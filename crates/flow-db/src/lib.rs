//! Flow's feature store: features, their dependencies and agent claims, in SQLite (embedded,
//! the default) or PostgreSQL (shared by several servers).
//!
//! [`FeatureStore`] keeps the whole store in memory as an immutable [`Graph`] snapshot and
//! answers every read from it; writes go to one writer task that batches them, checks every
//! rule against the snapshot, commits the changed rows in one transaction through a
//! [`storage`](crate::storage) backend and swaps in the next snapshot. Derived state (ready,
//! blocked, cycle) is never stored: it comes from `flow_resolver`, the same definition every
//! screen uses.

mod draft;
mod error;
mod graph;
mod ops;
mod postgres;
mod schema;
mod sqlite;
mod storage;
mod store;
mod token;
mod types;

pub use error::StoreError;
pub use graph::Graph;
pub use postgres::PG_SCHEMA_VERSION;
pub use schema::SCHEMA_VERSION;
pub use store::{Change, FeatureStore, MAX_ATTEMPTS, MAX_BULK};
pub use types::{
    BulkItem, Changed, Claim, EmptyReason, Feature, FeaturePatch, FeatureStatus, NewFeature, Step,
};

#[cfg(test)]
mod tests;
