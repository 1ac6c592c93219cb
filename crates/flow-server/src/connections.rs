//! Accepting and serving connections within [`ConnectionLimits`]: every socket is tracked from
//! accept to close, so one that holds a slot without using it is cut (a request's headers not
//! complete in time, a keep-alive pause too long, a body that stalls), and the number held stays
//! under a cap that keeps file descriptors for new clients: when full, the connection that has
//! waited longest without a request is closed to make room, and only if every one is busy is
//! the newcomer answered 503. **Invariant:** a connection with a request in flight, a live
//! event stream or an upgraded WebSocket included, is never cut by a timeout or evicted.

use std::collections::HashMap;
use std::convert::Infallible;
use std::io;
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderValue, Request, Response, StatusCode, header};
use axum::{BoxError, Router};
use flow_core::config::ConnectionLimits;
use hyper::body::{Bytes, Frame, Incoming, SizeHint};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::time::{Instant, Sleep};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// File descriptors kept out of the default cap: the listener, the watcher, the database, the
/// files a scan or a static answer has open, the runtime's own.
const RESERVED_FDS: u64 = 256;
/// The default cap never goes below this (a tiny open-file limit) or above the next (about
/// 1.5 GiB of connection state, on a system whose open-file limit is practically unbounded).
const MIN_DEFAULT_CAP: usize = 64;
const MAX_DEFAULT_CAP: usize = 65_536;
/// At most this many 503 answers are being written at once; beyond, an excess connection is
/// closed at once, so a flood cannot spend descriptors on refusals.
const MAX_REFUSING: usize = 64;
/// How long a 503 answer may take to write and its request to drain.
const REFUSAL_GRACE: Duration = Duration::from_secs(1);
/// A condition that lasts (accept failing, every connection busy) is logged at most this often.
const REPORT_EVERY: Duration = Duration::from_secs(10);
/// How long shutdown waits for requests in flight before giving up on them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Serves `router` on `listener` until `shutdown` fires, then lets requests in flight finish
/// (event streams and WebSockets end on the same token) for at most [`SHUTDOWN_GRACE`].
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    shutdown: CancellationToken,
) {
    let cap = limits.max_connections.unwrap_or_else(default_cap).max(1);
    let table = Arc::new(Table::new(cap));
    let tracker = TaskTracker::new();
    let mut backoff = Backoff::default();
    let mut full_reported: Option<Instant> = None;
    loop {
        let accepted = tokio::select! {
            () = shutdown.cancelled() => break,
            it = listener.accept() => it,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            // The peer gave up before we took it: nothing to do, nothing to wait for.
            Err(err) if is_connection_error(&err) => continue,
            Err(err) => {
                // Out of descriptors (or memory): free one by closing the connection idle the
                // longest, and wait before trying again instead of spinning on the error.
                table.evict_one();
                let (delay, report) = backoff.failed(Instant::now());
                if let Some(failures) = report {
                    tracing::warn!(
                        %err,
                        failures,
                        "cannot accept connections; closing idle ones and backing off"
                    );
                }
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    () = tokio::time::sleep(delay) => continue,
                }
            }
        };
        backoff.succeeded();
        match table.admit() {
            Some(lease) => {
                let conn = connection(stream, lease, router.clone(), limits, shutdown.clone());
                tracker.spawn(conn);
            }
            None => {
                let now = Instant::now();
                if full_reported.is_none_or(|at| now.duration_since(at) >= REPORT_EVERY) {
                    full_reported = Some(now);
                    tracing::warn!(
                        max_connections = cap,
                        "every connection is busy; answering 503 until one frees"
                    );
                }
                if let Some(refusal) = table.refusal() {
                    tracker.spawn(refuse(stream, refusal));
                }
            }
        }
    }
    tracker.close();
    if tokio::time::timeout(SHUTDOWN_GRACE, tracker.wait())
        .await
        .is_err()
    {
        tracing::warn!("requests still in flight after {SHUTDOWN_GRACE:?}; stopping anyway");
    }
}

/// The open-file limit now (after the `flow` binary raised it) minus what the server needs
/// besides connections, within [`MIN_DEFAULT_CAP`]..=[`MAX_DEFAULT_CAP`].
fn default_cap() -> usize {
    #[cfg(unix)]
    let soft = rlimit::getrlimit(rlimit::Resource::NOFILE).map_or(1024, |(soft, _)| soft);
    #[cfg(not(unix))]
    let soft = u64::MAX;
    cap_for_open_files(soft)
}

fn cap_for_open_files(soft: u64) -> usize {
    usize::try_from(soft.saturating_sub(RESERVED_FDS))
        .unwrap_or(usize::MAX)
        .clamp(MIN_DEFAULT_CAP, MAX_DEFAULT_CAP)
}

/// Errors of one connection that the peer already abandoned, as opposed to the listener's.
fn is_connection_error(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
    )
}

/// Waits between accept attempts while the listener fails (out of descriptors, of memory):
/// 10 ms doubling up to 1 s while failures follow each other, so the loop never spins; and one
/// log line per burst (at most one per [`REPORT_EVERY`], counting the failures since).
#[derive(Debug, Default)]
struct Backoff {
    consecutive: u32,
    unreported: u32,
    last_report: Option<Instant>,
}

impl Backoff {
    const FIRST: Duration = Duration::from_millis(10);
    const MAX: Duration = Duration::from_secs(1);

    /// One more failure at `now`: how long to wait, and the failures to report if it is time
    /// to log (the first of a burst, then every [`REPORT_EVERY`] while it lasts).
    fn failed(&mut self, now: Instant) -> (Duration, Option<u32>) {
        self.consecutive = self.consecutive.saturating_add(1);
        self.unreported = self.unreported.saturating_add(1);
        let delay = Self::FIRST.saturating_mul(1 << (self.consecutive - 1).min(10));
        let due = self
            .last_report
            .is_none_or(|at| now.duration_since(at) >= REPORT_EVERY);
        let report = due.then(|| {
            self.last_report = Some(now);
            std::mem::take(&mut self.unreported)
        });
        (delay.min(Self::MAX), report)
    }

    /// An accept succeeded: the next failure waits the shortest time again.
    fn succeeded(&mut self) {
        self.consecutive = 0;
    }
}

/// Every connection held, for the cap and for choosing whom to evict.
/// Concurrency: the map is behind a mutex taken on accept and close (and, when full, scanned
/// under it); each slot's phase is an atomic its connection updates without the lock.
struct Table {
    cap: usize,
    epoch: Instant,
    next_id: AtomicU64,
    slots: Mutex<HashMap<u64, Arc<Slot>>>,
    refusing: AtomicUsize,
}

impl Table {
    fn new(cap: usize) -> Self {
        Self {
            cap,
            epoch: Instant::now(),
            next_id: AtomicU64::new(0),
            slots: Mutex::new(HashMap::new()),
            refusing: AtomicUsize::new(0),
        }
    }

    fn slots(&self) -> MutexGuard<'_, HashMap<u64, Arc<Slot>>> {
        // A panic elsewhere cannot leave the map half-updated: every change is one call.
        self.slots.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes a slot for a new connection, evicting the longest-waiting one when full; `None`
    /// when full of busy connections.
    fn admit(self: &Arc<Self>) -> Option<Lease> {
        let mut slots = self.slots();
        if slots.len() >= self.cap && !evict_longest_waiting(&slots) {
            return None;
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let slot = Arc::new(Slot::new(self.epoch));
        slots.insert(id, slot.clone());
        Some(Lease {
            table: self.clone(),
            id,
            slot,
        })
    }

    fn evict_one(&self) {
        evict_longest_waiting(&self.slots());
    }

    /// Leave to write one more 503, unless [`MAX_REFUSING`] are being written.
    fn refusal(self: &Arc<Self>) -> Option<Refusal> {
        if self.refusing.fetch_add(1, Ordering::AcqRel) >= MAX_REFUSING {
            self.refusing.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        Some(Refusal(self.clone()))
    }
}

/// Asks the connection that has waited longest without a request in flight (and is not already
/// leaving) to close; false if there is none. Ties within a millisecond go to the one accepted
/// first (ids count up).
fn evict_longest_waiting(slots: &HashMap<u64, Arc<Slot>>) -> bool {
    let victim = slots
        .iter()
        .filter(|(_, slot)| !slot.evicted.load(Ordering::Acquire))
        .filter_map(|(id, slot)| match slot.phase() {
            (Phase::Head | Phase::Idle, since) => Some(((since, *id), slot)),
            _ => None,
        })
        .min_by_key(|(key, _)| *key);
    let Some((_, slot)) = victim else {
        return false;
    };
    slot.evict();
    true
}

/// A connection's place in the table, released when its socket closes, whether that is when
/// the HTTP connection ends or, for an upgraded WebSocket, when the socket is dropped.
struct Lease {
    table: Arc<Table>,
    id: u64,
    slot: Arc<Slot>,
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.table.slots().remove(&self.id);
    }
}

/// One 503 being written; counted in [`Table::refusing`] until dropped.
struct Refusal(Arc<Table>);

impl Drop for Refusal {
    fn drop(&mut self) {
        self.0.refusing.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Where a connection is between requests. `Head`: reading a request's headers (from accept,
/// or from the first byte after an idle pause). `Idle`: a keep-alive pause. `Busy`: a request
/// in flight (its body, its handler, its response, an event stream). `Upgraded`: a WebSocket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Head,
    Idle,
    Busy,
    Upgraded,
}

const PHASE_SHIFT: u32 = 62;
const SINCE_MASK: u64 = (1 << PHASE_SHIFT) - 1;

fn unpack(word: u64) -> (Phase, u64) {
    let phase = match word >> PHASE_SHIFT {
        0 => Phase::Head,
        1 => Phase::Idle,
        2 => Phase::Busy,
        _ => Phase::Upgraded,
    };
    (phase, word & SINCE_MASK)
}

/// One connection's phase and since when (milliseconds after the table's epoch), packed in one
/// word so the watchdog and the evictor read both at once without a lock.
struct Slot {
    epoch: Instant,
    state: AtomicU64,
    evicted: AtomicBool,
    changed: Notify,
}

impl Slot {
    fn new(epoch: Instant) -> Self {
        let slot = Self {
            epoch,
            state: AtomicU64::new(0),
            evicted: AtomicBool::new(false),
            changed: Notify::new(),
        };
        slot.state.store(slot.word(Phase::Head), Ordering::Release);
        slot
    }

    fn word(&self, phase: Phase) -> u64 {
        let since = u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(SINCE_MASK);
        ((phase as u64) << PHASE_SHIFT) | (since & SINCE_MASK)
    }

    fn phase(&self) -> (Phase, u64) {
        unpack(self.state.load(Ordering::Acquire))
    }

    /// Whether no request is in flight, so closing now loses nothing.
    fn waiting(&self) -> bool {
        matches!(self.phase().0, Phase::Head | Phase::Idle)
    }

    fn set(&self, phase: Phase) {
        self.state.store(self.word(phase), Ordering::Release);
        self.changed.notify_one();
    }

    /// Moves `from` → `to` only if the connection is still in `from`.
    fn advance(&self, from: Phase, to: Phase) {
        let (phase, since) = self.phase();
        if phase != from {
            return;
        }
        let old = ((from as u64) << PHASE_SHIFT) | since;
        let new = self.word(to);
        if self
            .state
            .compare_exchange(old, new, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            self.changed.notify_one();
        }
    }

    fn evict(&self) {
        self.evicted.store(true, Ordering::Release);
        self.changed.notify_one();
    }

    /// Resolves when this connection should go: evicted, or waiting past its timeout (headers
    /// for `Head`, keep-alive for `Idle`). Never for `Busy` or `Upgraded` unless evicted.
    async fn expired(&self, limits: &ConnectionLimits) -> &'static str {
        loop {
            // Created before reading the state: a change after the read leaves a permit.
            let changed = self.changed.notified();
            if self.evicted.load(Ordering::Acquire) {
                return "evicted to make room";
            }
            let word = self.state.load(Ordering::Acquire);
            let (phase, since) = unpack(word);
            let (limit, reason) = match phase {
                Phase::Head => (limits.header_timeout, "request headers timed out"),
                Phase::Idle => (limits.idle_timeout, "idle keep-alive timed out"),
                Phase::Busy | Phase::Upgraded => {
                    changed.await;
                    continue;
                }
            };
            let deadline = self.epoch + Duration::from_millis(since) + limit;
            tokio::select! {
                () = changed => {}
                () = tokio::time::sleep_until(deadline) => {
                    if self.state.load(Ordering::Acquire) == word {
                        return reason;
                    }
                }
            }
        }
    }
}

/// Serves one connection until it ends, is cut by a timeout or evicted, or the server stops.
async fn connection(
    stream: TcpStream,
    lease: Lease,
    router: Router,
    limits: ConnectionLimits,
    shutdown: CancellationToken,
) {
    let slot = lease.slot.clone();
    let waited = async {
        let reason = slot.expired(&limits).await;
        tracing::debug!(reason, "closing connection");
    };
    let busy = || slot.set(Phase::Busy);
    let stream = match crate::event_socket::take(stream, &router, waited, busy, &shutdown).await {
        crate::event_socket::Taken::Hyper(stream) => stream,
        crate::event_socket::Taken::Done => return,
    };
    // Boxed, so a connection served without hyper does not carry room for hyper's state.
    Box::pin(serve_http(stream, lease, router, limits, shutdown)).await;
}

/// Serves one connection with hyper: every request but a fresh connection's event stream.
async fn serve_http(
    stream: TcpStream,
    lease: Lease,
    router: Router,
    limits: ConnectionLimits,
    shutdown: CancellationToken,
) {
    let slot = lease.slot.clone();
    let service = ConnectionService {
        router,
        slot: slot.clone(),
        body_timeout: limits.body_timeout,
    };
    let io = TokioIo::new(TrackedIo { stream, lease });
    let conn = hyper::server::conn::http1::Builder::new()
        .serve_connection(io, service)
        .with_upgrades();
    let mut conn = pin!(conn);
    let mut closing = false;
    loop {
        tokio::select! {
            res = conn.as_mut() => {
                if let Err(err) = res {
                    tracing::debug!(%err, "connection ended with an error");
                }
                return;
            }
            reason = slot.expired(&limits), if !closing => {
                if slot.waiting() {
                    tracing::debug!(reason, "closing connection");
                    return; // dropping the connection closes the socket
                }
                // Evicted in the middle of a request: finish it, then close.
                conn.as_mut().graceful_shutdown();
                closing = true;
            }
            () = shutdown.cancelled(), if !closing => {
                if slot.waiting() {
                    return;
                }
                conn.as_mut().graceful_shutdown();
                closing = true;
            }
        }
    }
}

/// Answers 503 with `Retry-After` to a connection over the cap, then reads what it sent until
/// it closes, so closing does not reset the answer away; bounded by [`REFUSAL_GRACE`].
async fn refuse(mut stream: TcpStream, _refusal: Refusal) {
    let body = r#"{"error":"Too many connections; retry shortly"}"#;
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
         cache-control: no-store\r\nretry-after: 1\r\nconnection: close\r\n\
         content-length: {}\r\n\r\n{body}",
        body.len()
    );
    let write = async {
        stream.write_all(answer.as_bytes()).await?;
        stream.shutdown().await?;
        let mut sink = [0u8; 1024];
        while stream.read(&mut sink).await? > 0 {}
        io::Result::Ok(())
    };
    let _ = tokio::time::timeout(REFUSAL_GRACE, write).await;
}

/// The socket, holding the connection's lease for as long as it is open (an upgraded WebSocket
/// keeps it), and telling the slot when bytes of a new request arrive after an idle pause.
struct TrackedIo {
    stream: TcpStream,
    lease: Lease,
}

impl AsyncRead for TrackedIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let res = Pin::new(&mut this.stream).poll_read(cx, buf);
        if buf.filled().len() > before {
            this.lease.slot.advance(Phase::Idle, Phase::Head);
        }
        res
    }
}

impl AsyncWrite for TrackedIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

/// The router as one connection's hyper service: marks the slot busy for each request, puts
/// the body timeout on the request body, and turns a body that timed out into a 408.
struct ConnectionService {
    router: Router,
    slot: Arc<Slot>,
    body_timeout: Duration,
}

impl hyper::service::Service<Request<Incoming>> for ConnectionService {
    type Response = Response<TrackedBody>;
    type Error = Infallible;
    type Future =
        Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send + 'static>>;

    fn call(&self, req: Request<Incoming>) -> Self::Future {
        self.slot.set(Phase::Busy);
        let timed_out = Arc::new(AtomicBool::new(false));
        let req = req.map(|inner| TimedBody {
            inner,
            limit: self.body_timeout,
            deadline: None,
            timed_out: timed_out.clone(),
        });
        let router = self.router.clone();
        let slot = self.slot.clone();
        Box::pin(async move {
            let mut res = crate::in_process::respond(router, req).await;
            if timed_out.load(Ordering::Acquire) {
                res = body_timed_out();
            }
            if res.status() == StatusCode::SWITCHING_PROTOCOLS {
                slot.set(Phase::Upgraded);
            }
            Ok(res.map(|inner| TrackedBody { inner, slot }))
        })
    }
}

/// 408 in the contract's error shape; the connection closes after it (the body is unread).
fn body_timed_out() -> Response<Body> {
    let mut res = Response::new(Body::from(r#"{"error":"Request body timed out"}"#));
    *res.status_mut() = StatusCode::REQUEST_TIMEOUT;
    let headers = res.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
    res
}

#[derive(Debug, thiserror::Error)]
#[error("request body timed out")]
struct BodyTimedOut;

/// A request body that must arrive whole within `limit` of the first attempt to read it.
struct TimedBody {
    inner: Incoming,
    limit: Duration,
    deadline: Option<Pin<Box<Sleep>>>,
    timed_out: Arc<AtomicBool>,
}

impl hyper::body::Body for TimedBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        let limit = this.limit;
        let deadline = this
            .deadline
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|it| it.map_err(Into::into)));
        }
        if deadline.as_mut().poll(cx).is_ready() {
            this.timed_out.store(true, Ordering::Release);
            return Poll::Ready(Some(Err(BodyTimedOut.into())));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A response body that marks the connection idle once hyper is done with it (sent whole, or
/// dropped because the client left).
struct TrackedBody {
    inner: Body,
    slot: Arc<Slot>,
}

impl hyper::body::Body for TrackedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.get_mut().inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for TrackedBody {
    fn drop(&mut self) {
        self.slot.advance(Phase::Busy, Phase::Idle);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_a_second_and_logs_once_per_burst() {
        let t0 = Instant::now();
        let mut b = Backoff::default();
        let waits: Vec<_> = (0..10).map(|i| b.failed(t0 + ms(i))).collect();
        assert_eq!(waits[0], (ms(10), Some(1)), "the first failure is reported");
        assert_eq!(waits[1], (ms(20), None));
        assert_eq!(waits[6], (ms(640), None));
        assert!(waits[7..].iter().all(|w| *w == (ms(1000), None)));
        // Failures alternating with successes (each one freeing a descriptor) wait the least
        // and stay one burst: no log line per failure.
        for i in 0..100 {
            b.succeeded();
            assert_eq!(b.failed(t0 + ms(100 + i)), (ms(10), None));
        }
        // Ten seconds on, a still-failing listener is reported again, with the count since.
        b.succeeded();
        assert_eq!(b.failed(t0 + ms(10_000)), (ms(10), Some(110)));
        assert_eq!(b.failed(t0 + ms(10_001)), (ms(20), None));
    }

    const fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn default_cap_leaves_headroom_within_bounds() {
        assert_eq!(cap_for_open_files(1024), 768);
        assert_eq!(
            cap_for_open_files(20_000),
            19_744,
            "the fan-out bench's 19,000 fit"
        );
        assert_eq!(cap_for_open_files(1 << 20), MAX_DEFAULT_CAP);
        assert_eq!(cap_for_open_files(u64::MAX), MAX_DEFAULT_CAP);
        assert_eq!(cap_for_open_files(256), MIN_DEFAULT_CAP);
    }

    #[test]
    fn a_full_table_evicts_the_longest_waiting_and_refuses_when_all_are_busy() {
        let table = Arc::new(Table::new(3));
        let busy = table.admit().unwrap();
        busy.slot.set(Phase::Busy);
        let oldest = table.admit().unwrap();
        let upgraded = table.admit().unwrap();
        upgraded.slot.set(Phase::Upgraded);
        // All in the same millisecond, most likely: accept order decides.
        let newest = table.admit().expect("room made by evicting");
        assert!(oldest.slot.evicted.load(Ordering::Acquire));
        for other in [&busy, &upgraded, &newest] {
            assert!(!other.slot.evicted.load(Ordering::Acquire));
        }
        drop(oldest);
        // Full again: the only waiting connection is the newest.
        let next = table.admit().unwrap();
        assert!(newest.slot.evicted.load(Ordering::Acquire));
        drop(newest);
        next.slot.set(Phase::Busy);
        assert!(table.admit().is_none(), "every connection busy: refuse");
        assert_eq!(table.slots().len(), 3);
    }

    #[test]
    fn a_response_ending_makes_the_connection_idle_but_not_an_upgraded_one() {
        let table = Arc::new(Table::new(4));
        let lease = table.admit().unwrap();
        let slot = lease.slot.clone();
        assert_eq!(slot.phase().0, Phase::Head);
        slot.set(Phase::Busy);
        slot.advance(Phase::Busy, Phase::Idle);
        assert_eq!(slot.phase().0, Phase::Idle);
        slot.advance(Phase::Idle, Phase::Head);
        assert_eq!(slot.phase().0, Phase::Head);
        slot.set(Phase::Upgraded);
        slot.advance(Phase::Busy, Phase::Idle);
        assert_eq!(slot.phase().0, Phase::Upgraded);
        drop(lease);
        assert!(table.slots().is_empty(), "the lease frees its place");
    }
}
