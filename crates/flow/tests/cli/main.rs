//! The `flow` binary end to end: the server as a user starts and stops it, and the client
//! commands (`flow watch`, `flow claim`, …, and `flow tui` in a real terminal under tmux)
//! against a real server over a temporary Claude dir.

mod agent;
mod features;
mod hooks;
mod mcp;
mod serve;
mod setup;
mod support;
mod tui;
