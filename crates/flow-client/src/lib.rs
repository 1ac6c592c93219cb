//! A client of a running Flow server, for every program that is not the server: the terminal
//! board (`flow tui`) and the agent commands (`flow sessions`, `flow claim`, …). It knows only
//! the HTTP contract (`contract.md` §3–5), never the server's internals, so it depends on no
//! other Flow crate: [`Client`] speaks the JSON API and `/api/ws`; [`model`] holds the lenient
//! wire shapes of sessions and tasks.

pub mod client;
pub mod lenient;
pub mod model;

pub use client::{Client, ClientError, WsStream, decode_body, encode, next_event};
pub use reqwest::Method;
