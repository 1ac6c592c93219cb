//! Flow's server: the JSON API and web UI over one in-memory index of the Claude dir
//! (contract.md). Embeddable: build a [`Config`], then call [`run_server`], or bind a listener
//! yourself and call [`run`], or mount [`build_router`] in your own axum app.
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

mod assets;
mod cache;
mod connections;
mod debounce;
mod error;
mod event_socket;
mod events;
mod extract;
mod features;
mod hub;
mod in_process;
mod live;
mod mcp;
mod routes;
mod security;
mod server;
mod sse;
mod state;
mod supervisor;
mod team;
mod theme;
mod views;
mod watcher;
mod ws;

pub use flow_core::Config;
pub use flow_core::time::{Clock, ManualClock};
pub use routes::{BODY_LIMIT, build_router};
pub use server::{ServerError, bind, run, run_server};
pub use state::AppState;
