//! `GET /api/events` (contract §4): the hub's frames as Server-Sent Events, with `id:` lines for
//! `Last-Event-ID` replay, keep-alive comments, and an end when the server shuts down.
//!
//! Each frame arrives already encoded as SSE bytes (the hub encodes once per event), so a
//! connection only writes shared bytes: no per-client formatting, no per-client timer (the
//! keep-alive comment is one shared frame the hub sends every 15 s).

use std::convert::Infallible;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;

use crate::state::AppState;

pub(crate) async fn events(State(app): State<AppState>, headers: HeaderMap) -> Response {
    let last_seen = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let stream = app
        .hub()
        .subscribe(last_seen)
        .map(|frame| Ok::<_, Infallible>(frame.sse.clone()))
        .take_until(app.shutdown().cancelled_owned());
    let mut res = Body::from_stream(stream).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    // Proxies must pass each event on at once.
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    res
}

/// How often every SSE stream gets a keep-alive comment (contract: at least every 15 s).
const KEEP_ALIVE: std::time::Duration = std::time::Duration::from_secs(15);

/// One timer for every stream: a keep-alive comment to all SSE clients every [`KEEP_ALIVE`],
/// until shutdown. Run it under the server's supervisor.
pub(crate) async fn keep_alive(
    hub: std::sync::Arc<crate::hub::Hub>,
    shutdown: tokio_util::sync::CancellationToken,
) {
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + KEEP_ALIVE, KEEP_ALIVE);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            _ = tick.tick() => hub.keep_alive(),
        }
    }
}
