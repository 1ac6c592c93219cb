//! Flow's one integration test binary: the real server, real files, real clients.

mod support;

mod agents;
mod config;
mod connections;
mod edit_races;
mod edits;
mod features;
mod hooks;
mod hostile_input;
mod mcp;
mod plan;
mod plans;
mod security;
mod sessions;
mod shared_store;
mod special_files;
mod sse;
mod static_files;
mod tasks;
mod team_board;
mod teams;
mod theme;
mod todos;
mod watcher;
mod ws;
