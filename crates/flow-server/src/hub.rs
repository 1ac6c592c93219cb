//! The fan-out of live events: each event is serialised once into a [`Frame`] with a monotonic
//! sequence number, kept in a replay ring, and broadcast as an `Arc` (a thousand clients cost a
//! thousand refcount increments, not a thousand serialisations).
//!
//! Invariant: the ring and the broadcast see frames in the same order, and a subscriber gets
//! every frame after its replay exactly once, because publishing and subscribing both happen
//! under the ring's lock.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::extract::ws::Utf8Bytes;
use bytes::Bytes;
use futures_util::Stream;
use serde_json::{Value, json};
use tokio::sync::broadcast::{self, error::RecvError};

/// How many recent frames a reconnecting client can ask for (contract: at least 1024).
pub(crate) const REPLAY: usize = 2048;
/// How far a client may fall behind before it is sent `resync` instead of the frames it missed.
const CAPACITY: usize = 4096;

#[derive(Debug)]
pub(crate) struct Frame {
    /// `None` for per-stream frames (`connected`, `resync`) that are not part of the sequence.
    pub(crate) seq: Option<u64>,
    /// The event's JSON, serialised once; shared as-is by every WebSocket client. Empty for a
    /// keep-alive, which is SSE's alone.
    pub(crate) json: Utf8Bytes,
    /// The same event as one Server-Sent Events message (`id:` and `data:` lines), encoded
    /// once: every SSE connection writes these very bytes.
    pub(crate) sse: Bytes,
    /// For `update` frames, the session they concern (the WebSocket `subscribe` filter).
    pub(crate) session: Option<Arc<str>>,
}

impl Frame {
    fn new(seq: Option<u64>, json: String, session: Option<Arc<str>>) -> Self {
        // JSON from serde_json has no raw newlines, so the event is one `data:` line.
        let sse = match seq {
            Some(seq) => format!("id: {seq}\ndata: {json}\n\n"),
            None => format!("data: {json}\n\n"),
        };
        Self {
            seq,
            json: json.into(),
            sse: Bytes::from(sse),
            session,
        }
    }

    fn local(value: &Value) -> Arc<Self> {
        Arc::new(Self::new(None, value.to_string(), None))
    }

    /// Whether this frame is an SSE keep-alive comment, which WebSocket clients never see.
    pub(crate) fn is_keep_alive(&self) -> bool {
        self.json.is_empty()
    }
}

struct Ring {
    next_seq: u64,
    frames: VecDeque<Arc<Frame>>,
}

pub(crate) struct Hub {
    tx: broadcast::Sender<Arc<Frame>>,
    /// Guards the sequence counter and the replay ring; held only to push or copy frames.
    ring: Mutex<Ring>,
}

/// Where a new stream starts.
enum Start {
    /// Replay these missed frames first.
    Replay(Vec<Arc<Frame>>),
    /// The client missed more than the ring holds: tell it to re-fetch.
    Resync,
}

impl Hub {
    /// Sequence numbers start at a base unique to this run (its start time in ms × 1024), so
    /// an id a client kept from an earlier run falls outside the ring and gets `resync`, never
    /// another run's events.
    pub(crate) fn for_run(run_id: u64) -> Self {
        Self::starting_at(run_id.saturating_mul(1024).max(1))
    }

    fn starting_at(first_seq: u64) -> Self {
        Self {
            tx: broadcast::channel(CAPACITY).0,
            ring: Mutex::new(Ring {
                next_seq: first_seq,
                frames: VecDeque::with_capacity(REPLAY),
            }),
        }
    }

    fn ring(&self) -> std::sync::MutexGuard<'_, Ring> {
        self.ring
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Serialises `event` once and sends it to every subscriber; returns its sequence number.
    pub(crate) fn publish(&self, event: &Value, session: Option<&str>) -> u64 {
        let json = event.to_string();
        let mut ring = self.ring();
        let seq = ring.next_seq;
        ring.next_seq += 1;
        let frame = Arc::new(Frame::new(Some(seq), json, session.map(Arc::from)));
        if ring.frames.len() == REPLAY {
            ring.frames.pop_front();
        }
        ring.frames.push_back(frame.clone());
        // No receivers is not an error: nobody is watching yet.
        let _ = self.tx.send(frame);
        seq
    }

    /// Sends one SSE keep-alive comment to every subscriber: one shared timer for all streams
    /// instead of one per connection. Not part of the sequence, never replayed.
    pub(crate) fn keep_alive(&self) {
        let frame = Arc::new(Frame {
            seq: None,
            json: Utf8Bytes::default(),
            sse: Bytes::from_static(b": keep-alive\n\n"),
            session: None,
        });
        let _ = self.tx.send(frame);
    }

    /// The live stream for one client: `connected`, then the frames it missed since
    /// `last_seen` (or `resync` if they are gone), then every new frame; a client that falls
    /// behind gets `resync` and keeps streaming.
    pub(crate) fn subscribe(
        &self,
        last_seen: Option<u64>,
    ) -> impl Stream<Item = Arc<Frame>> + use<> {
        let (rx, start, newest) = {
            let ring = self.ring();
            let rx = self.tx.subscribe();
            let newest = ring.next_seq - 1;
            let start = match last_seen {
                None => Start::Replay(Vec::new()),
                Some(seen) if seen == newest => Start::Replay(Vec::new()),
                // An id we never issued comes from an earlier run of the server: what changed
                // since is unknown, so the client must re-fetch.
                Some(seen) if seen > newest => Start::Resync,
                Some(seen) => {
                    let oldest = ring.frames.front().and_then(|f| f.seq).unwrap_or(u64::MAX);
                    if seen + 1 >= oldest {
                        Start::Replay(
                            ring.frames
                                .iter()
                                .filter(|f| f.seq > Some(seen))
                                .cloned()
                                .collect(),
                        )
                    } else {
                        Start::Resync
                    }
                }
            };
            (rx, start, newest)
        };
        // The id a client should resume from if this stream drops right now: what it had
        // already seen while a replay follows, else the newest event.
        let resume_from = match (&start, last_seen) {
            (Start::Replay(frames), Some(seen)) if !frames.is_empty() => seen,
            _ => newest,
        };
        let connected = Arc::new(Frame::new(
            Some(resume_from),
            json!({"type": "connected"}).to_string(),
            None,
        ));
        let mut head = vec![connected];
        match start {
            Start::Replay(frames) => head.extend(frames),
            Start::Resync => head.push(resync()),
        }
        let head = futures_util::stream::iter(head);
        let live = futures_util::stream::unfold(rx, |mut rx| async move {
            match rx.recv().await {
                Ok(frame) => Some((frame, rx)),
                Err(RecvError::Lagged(missed)) => {
                    tracing::debug!(missed, "client fell behind; sending resync");
                    Some((resync(), rx))
                }
                Err(RecvError::Closed) => None,
            }
        });
        futures_util::StreamExt::chain(head, live)
    }
}

fn resync() -> Arc<Frame> {
    Frame::local(&json!({"type": "resync"}))
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;

    fn types(frames: &[Arc<Frame>]) -> Vec<String> {
        frames.iter().map(|f| f.json.to_string()).collect()
    }

    #[tokio::test]
    async fn replays_missed_frames_or_asks_for_resync() {
        let hub = Hub::starting_at(1);
        for i in 0..5 {
            hub.publish(&json!({"n": i}), None);
        }
        let got: Vec<_> = hub.subscribe(Some(3)).take(3).collect().await;
        assert_eq!(
            types(&got),
            [r#"{"type":"connected"}"#, r#"{"n":3}"#, r#"{"n":4}"#]
        );
        assert_eq!(
            got[0].seq,
            Some(3),
            "connected resumes from what the client had"
        );
        assert_eq!(got[1].seq, Some(4));

        for i in 5..(REPLAY + 10) {
            hub.publish(&json!({"n": i}), None);
        }
        let got: Vec<_> = hub.subscribe(Some(1)).take(2).collect().await;
        assert_eq!(types(&got)[1], r#"{"type":"resync"}"#);
    }

    #[tokio::test]
    async fn frames_carry_their_sse_encoding_and_keep_alives_are_sse_only() {
        let hub = Hub::starting_at(7);
        let mut stream = Box::pin(hub.subscribe(None));
        let connected = stream.next().await.unwrap();
        assert_eq!(
            &connected.sse[..],
            b"id: 6\ndata: {\"type\":\"connected\"}\n\n"
        );
        hub.publish(&json!({"type": "update", "text": "a\nb"}), Some("s1"));
        let frame = stream.next().await.unwrap();
        assert_eq!(
            &frame.sse[..],
            b"id: 7\ndata: {\"type\":\"update\",\"text\":\"a\\nb\"}\n\n",
            "one data line: newlines in strings are escaped by JSON"
        );
        hub.keep_alive();
        let ka = stream.next().await.unwrap();
        assert!(ka.is_keep_alive() && ka.seq.is_none());
        assert_eq!(&ka.sse[..], b": keep-alive\n\n");
        hub.publish(&json!({"n": 1}), None);
        let replay: Vec<_> = hub.subscribe(Some(6)).take(3).collect().await;
        assert!(
            replay.iter().all(|f| !f.is_keep_alive()),
            "keep-alives are never replayed"
        );
    }

    #[tokio::test]
    async fn a_lagging_subscriber_gets_resync_not_silence() {
        let hub = Hub::for_run(1_795_960_357_092);
        let mut stream = Box::pin(hub.subscribe(None));
        assert_eq!(
            stream.next().await.unwrap().json.as_str(),
            r#"{"type":"connected"}"#
        );
        for i in 0..(CAPACITY + 5) {
            hub.publish(&json!({"n": i}), None);
        }
        assert_eq!(
            stream.next().await.unwrap().json.as_str(),
            r#"{"type":"resync"}"#
        );
        assert!(stream.next().await.unwrap().json.starts_with(r#"{"n":"#));
    }
}
