//! Flow's one integration test binary: the real server, real files, real clients.

mod support;

mod config;
mod hostile_input;
mod sessions;
mod sse;
mod static_files;
mod tasks;
mod watcher;
mod ws;
