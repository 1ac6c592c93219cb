//! `GET /api/ws` (contract §4): the same frames as SSE, one text message each. Clients may
//! `ping` and `subscribe`; the server pings idle connections and closes silent ones.

use std::collections::HashSet;
use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::json;
use tokio::time::Instant;

use crate::hub::Frame;
use crate::state::AppState;

/// How often an idle connection is pinged; one that stays silent for two of these is closed.
const PING_EVERY: Duration = Duration::from_secs(30);
/// A send that takes longer than this means the peer stopped reading: drop it. (The SSE path
/// uses it too.)
pub(crate) const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// Client messages are tiny (`ping`, `subscribe`); anything larger is refused, and small
/// buffers keep ten thousand idle connections cheap (tungstenite's default is 128 KiB each).
const MAX_CLIENT_MESSAGE: usize = 64 << 10;
const READ_BUFFER: usize = 4 << 10;

pub(crate) async fn upgrade(State(app): State<AppState>, ws: WebSocketUpgrade) -> Response {
    let ws = ws
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(0)
        .max_message_size(MAX_CLIENT_MESSAGE)
        .max_frame_size(MAX_CLIENT_MESSAGE);
    ws.on_upgrade(move |socket: WebSocket| serve(app, socket))
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum ClientMessage {
    Ping,
    Subscribe { sessions: Vec<String> },
}

/// One connection until it closes. Thousands run at once and each event wakes them all, so
/// the loop keeps its per-event work small: the socket is not split (no lock between two
/// halves), and the shutdown wait is registered once, not once per event (every connection
/// waits on the same token, so a fresh registration each time contends on one list).
async fn serve(app: AppState, mut socket: WebSocket) {
    let mut frames = Box::pin(app.hub().subscribe(None));
    let mut only: Option<HashSet<String>> = None;
    let mut ping = tokio::time::interval_at(Instant::now() + PING_EVERY, PING_EVERY);
    let mut last_heard = Instant::now();
    let shutdown = app.shutdown();
    let mut stopping = std::pin::pin!(shutdown.cancelled());
    loop {
        let reply = tokio::select! {
            () = &mut stopping => {
                let _ = tokio::time::timeout(SEND_TIMEOUT, socket.send(Message::Close(None))).await;
                break;
            }
            frame = frames.next() => match frame {
                Some(frame) if wanted(&frame, only.as_ref()) => Message::Text(frame.json.clone()),
                Some(_) => continue,
                None => break,
            },
            // `recv` is cancel-safe: a message half read stays in the socket's buffer.
            msg = socket.recv() => {
                last_heard = Instant::now();
                match msg {
                    Some(Ok(Message::Text(text))) => match answer(text.as_str(), &mut only) {
                        Some(reply) => Message::Text(reply.into()),
                        None => continue,
                    },
                    Some(Ok(Message::Binary(_))) => {
                        Message::Text(error("binary messages are not supported").into())
                    }
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                    // tungstenite has queued the closing reply; send it before leaving.
                    Some(Ok(Message::Close(_))) => {
                        let _ = tokio::time::timeout(SEND_TIMEOUT, socket.flush()).await;
                        break;
                    }
                    Some(Err(_)) | None => break,
                }
            }
            _ = ping.tick() => {
                if last_heard.elapsed() >= PING_EVERY * 2 {
                    tracing::debug!("closing a silent WebSocket");
                    let _ = tokio::time::timeout(SEND_TIMEOUT, socket.send(Message::Close(None))).await;
                    break;
                }
                Message::Ping(Default::default())
            }
        };
        // A peer that stops reading must not hold this task (and shutdown) hostage.
        let sent = tokio::select! {
            res = tokio::time::timeout(SEND_TIMEOUT, socket.send(reply)) => matches!(res, Ok(Ok(()))),
            () = &mut stopping => false,
        };
        if !sent {
            break;
        }
    }
}

/// Non-`update` events go to everyone; `update`s only to clients that did not narrow their
/// subscription, or narrowed it to include that session.
fn wanted(frame: &Frame, only: Option<&HashSet<String>>) -> bool {
    if frame.is_keep_alive() {
        return false;
    }
    match (only, &frame.session) {
        (Some(set), Some(session)) => set.contains(&**session),
        _ => true,
    }
}

fn answer(text: &str, only: &mut Option<HashSet<String>>) -> Option<String> {
    match serde_json::from_str::<ClientMessage>(text) {
        Ok(ClientMessage::Ping) => Some(json!({"type": "pong"}).to_string()),
        Ok(ClientMessage::Subscribe { sessions }) => {
            *only = (!sessions.is_empty()).then(|| sessions.into_iter().collect());
            None
        }
        Err(err) => Some(error(&format!("malformed message: {err}"))),
    }
}

fn error(message: &str) -> String {
    json!({"type": "error", "error": message}).to_string()
}
