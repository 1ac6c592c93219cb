//! Flow's domain, free of HTTP and async: validated ids, the configuration, Claude Code's file
//! layout and the readers of its files, atomic writes, and the in-memory [`index::Index`].
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

pub mod config;
pub mod edit;
pub mod fs;
#[cfg(test)]
mod fuzz;
pub mod ids;
pub mod index;
pub mod layout;
pub mod sessions_index;
pub mod task;
pub mod time;
pub mod transcript;

pub use config::Config;
pub use ids::{IdError, SessionId, TaskId};
pub use index::{Counts, Delta, FileEvent, Index, SessionSummary, TaskRecord};
pub use layout::{Change, Layout};
pub use task::{Task, TaskStatus};
