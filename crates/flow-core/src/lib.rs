//! Flow's domain, free of HTTP and async: validated ids, the configuration, Claude Code's file
//! layout and the readers of its files, atomic writes, and the in-memory [`index::Index`].
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

pub mod config;
pub mod edit;
pub mod fs;
#[cfg(test)]
mod fuzz;
pub mod hooks;
pub mod ids;
pub mod index;
pub mod layout;
#[cfg(unix)]
pub mod lock;
pub mod plans;
pub mod process;
pub mod read;
pub mod registry;
pub mod sessions_index;
pub mod task;
pub mod teams;
pub mod time;
pub mod todos;
pub mod transcript;

pub use config::Config;
pub use ids::{IdError, SessionId, Slug, TaskId, TeamName};
pub use index::{
    Counts, Delta, FileEvent, Index, PendingRead, SessionSummary, TaskRead, TaskRecord,
};
pub use layout::{Change, Layout};
pub use task::{Task, TaskStatus};

/// The text a panic was raised with, when it has one.
pub fn panic_message(panic: &(dyn std::any::Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)")
}
