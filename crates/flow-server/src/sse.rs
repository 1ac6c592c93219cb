//! `GET /api/events` (contract §4): the hub's frames as Server-Sent Events, with `id:` lines for
//! `Last-Event-ID` replay, keep-alive comments, and an end when the server shuts down.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::{Stream, StreamExt};

use crate::state::AppState;

pub(crate) async fn events(
    State(app): State<AppState>,
    headers: HeaderMap,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let last_seen = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let stream = app
        .hub()
        .subscribe(last_seen)
        .map(|frame| {
            let event = Event::default().data(frame.json.as_str());
            Ok(match frame.seq {
                Some(seq) => event.id(seq.to_string()),
                None => event,
            })
        })
        .take_until(app.shutdown().cancelled_owned());
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}
