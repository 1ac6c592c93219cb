//! Live fan-out benchmark: runs the real `flow` binary as its own process over a realistic
//! Claude dir (`flow generate`: 200 sessions × 20 tasks + 300 transcript-only sessions with
//! 64 KiB transcripts), connects N clients of one transport (SSE or WebSocket) from this
//! process, rewrites a task 20 times 250 ms apart (each `update` event about 1.1 KB with its
//! `task` and `session` payloads), and reports the write → event latency seen at every client,
//! lost events, and the server's memory.
//!
//! `cargo bench -p flow --bench fanout` runs SSE and then WebSocket at N = 10, 1000, 5000; pass
//! a transport and sizes to choose: `cargo bench -p flow --bench fanout -- sse 1000 9500 ws 5000`
//! (`both` connects N of each at once, the old shape).
#![allow(clippy::print_stdout, clippy::unwrap_used)]

use std::io::Write as _;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tokio::sync::Mutex;

#[path = "support/conn.rs"]
mod conn;
#[path = "support/flow.rs"]
mod flow;
#[path = "support/stats.rs"]
mod stats;
use stats::{pct as percentile, rss_kib};

/// Writes per run; each is one `change` event every client must receive.
const WRITES: usize = 20;
/// Pause between writes, as an agent working through its list writes.
const WRITE_EVERY: Duration = Duration::from_millis(250);

#[derive(Debug, Clone, Copy, PartialEq)]
enum Transport {
    Sse,
    Ws,
    Both,
}

struct Server {
    child: Child,
    addr: SocketAddr,
    _dir: tempfile::TempDir,
    tasks: std::path::PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The session the bench writes to: the first one `flow generate` writes.
const SESSION: &str = "00000000-0000-4000-8000-000000000000";

fn start_server() -> Server {
    let dir = tempfile::tempdir().unwrap();
    flow::generate_realistic(dir.path());
    let tasks = dir.path().join("tasks").join(SESSION);
    write_task(&tasks, 0);
    let port = flow::free_port();
    let child = Command::new(flow::flow_bin())
        .args([
            "--dir",
            dir.path().to_str().unwrap(),
            "--port",
            &port.to_string(),
            "--no-db",
        ])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(addr).is_err() {
        assert!(Instant::now() < deadline, "server did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    Server {
        child,
        addr,
        _dir: dir,
        tasks,
    }
}

/// A task of the size agents write (a few paragraphs of description), so each event carries
/// what users' events carry.
fn write_task(dir: &std::path::Path, seq: usize) {
    let task = serde_json::json!({
        "id": "1",
        "subject": "Implement the session timeline endpoint",
        "description": "Add `GET /api/sessions/:id/timeline` returning every task with its first and last \
            change, sorted by creation.\n\n- reuse the index's file times\n- paginate with `limit`\n\
            - document the shape in the contract\n\nAcceptance: the board's timeline view renders from \
            it without extra requests; the endpoint answers under a millisecond for 200 tasks.",
        "activeForm": "Implementing the session timeline endpoint",
        "status": "in_progress",
        "owner": "agent-3",
        "blocks": ["2", "3"],
        "blockedBy": [],
        "benchSeq": seq,
    });
    let body = serde_json::to_string_pretty(&task).unwrap();
    flow_core::fs::write_atomic(&dir.join("1.json"), body.as_bytes()).unwrap();
}

/// Latency samples: for each write, the instants at which clients saw it.
struct Shared {
    written: Mutex<Vec<Option<Instant>>>,
    samples: Mutex<Vec<Duration>>,
    received: AtomicUsize,
    /// The size of the last event's JSON a client saw.
    event_bytes: AtomicUsize,
}

fn seq_of(text: &str) -> Option<usize> {
    let at = text.find("\"benchSeq\":")? + "\"benchSeq\":".len();
    let digits: String = text[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

async fn record(shared: &Shared, seq: usize) {
    let now = Instant::now();
    if let Some(Some(at)) = shared.written.lock().await.get(seq).copied() {
        shared
            .samples
            .lock()
            .await
            .push(now.saturating_duration_since(at));
        shared.received.fetch_add(1, Ordering::Relaxed);
    }
}

async fn sse_client(addr: SocketAddr, shared: Arc<Shared>, ready: Arc<AtomicUsize>) {
    let mut lines = conn::sse_lines(addr).await;
    while let Ok(Some(line)) = lines.next_line().await {
        if line.contains("\"type\":\"connected\"") {
            ready.fetch_add(1, Ordering::Relaxed);
        } else if let Some(data) = line.strip_prefix("data: ")
            && let Some(seq) = seq_of(data)
        {
            shared.event_bytes.store(data.len(), Ordering::Relaxed);
            record(&shared, seq).await;
        }
    }
}

async fn ws_client(addr: SocketAddr, shared: Arc<Shared>, ready: Arc<AtomicUsize>) {
    // The client's buffers sized like a browser's rather than tungstenite's defaults (128 KiB
    // read, 128 KiB write each): 5,000 clients in one process otherwise measure their own
    // memory traffic, on the cores the server needs.
    let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
        .read_buffer_size(8 << 10)
        .write_buffer_size(0);
    let (mut socket, _) = tokio_tungstenite::connect_async_with_config(
        format!("ws://{addr}/api/ws"),
        Some(config),
        false,
    )
    .await
    .unwrap();
    while let Some(Ok(msg)) = socket.next().await {
        if let tokio_tungstenite::tungstenite::Message::Text(text) = msg {
            if text.contains("\"type\":\"connected\"") {
                ready.fetch_add(1, Ordering::Relaxed);
            } else if let Some(seq) = seq_of(&text) {
                shared.event_bytes.store(text.len(), Ordering::Relaxed);
                record(&shared, seq).await;
            }
        }
    }
}

async fn run(n: usize, transport: Transport) {
    let server = start_server();
    let pid = server.child.id();
    let idle_rss = rss_kib(pid);
    let shared = Arc::new(Shared {
        written: Mutex::new(vec![None; WRITES + 1]),
        samples: Mutex::new(Vec::with_capacity(2 * n * WRITES)),
        received: AtomicUsize::new(0),
        event_bytes: AtomicUsize::new(0),
    });
    let ready = Arc::new(AtomicUsize::new(0));
    let connect_start = Instant::now();
    // Connect in waves so the listen backlog never overflows into SYN retries.
    let mut spawned = 0;
    for wave in (0..n).collect::<Vec<_>>().chunks(250) {
        for _ in wave {
            if transport != Transport::Ws {
                tokio::spawn(sse_client(server.addr, shared.clone(), ready.clone()));
                spawned += 1;
            }
            if transport != Transport::Sse {
                tokio::spawn(ws_client(server.addr, shared.clone(), ready.clone()));
                spawned += 1;
            }
        }
        let target = spawned;
        let deadline = Instant::now() + Duration::from_secs(30);
        while ready.load(Ordering::Relaxed) < target && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    let connected = ready.load(Ordering::Relaxed);
    let connect_time = connect_start.elapsed();
    let connected_rss = rss_kib(pid);

    let mut event_bytes = 0;
    for seq in 1..=WRITES {
        let expect = shared.received.load(Ordering::Relaxed) + connected;
        let at = Instant::now();
        shared.written.lock().await[seq] = Some(at);
        write_task(&server.tasks, seq);
        // Wait until every client has it (or give up on this one), then keep the agent's pace.
        let deadline = at + Duration::from_secs(10);
        while shared.received.load(Ordering::Relaxed) < expect && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        event_bytes = shared.event_bytes.load(Ordering::Relaxed);
        tokio::time::sleep_until((at + WRITE_EVERY).into()).await;
    }
    let peak_rss = rss_kib(pid);
    let mut samples = shared.samples.lock().await.clone();
    samples.sort();
    let expected = connected * WRITES;
    let lost = expected.saturating_sub(samples.len());
    let clients = match transport {
        Transport::Sse => format!("{n} SSE"),
        Transport::Ws => format!("{n} WS"),
        Transport::Both => format!("{n} SSE + {n} WS"),
    };
    println!(
        "| {clients:>17} | {connected:>6} | {event_bytes:>5} | {:>7.1?} | {:>7.2?} | {:>7.2?} | {:>7.2?} | {lost:>4} | {:>6.1} | {:>6.1} | {:>6.1} |",
        connect_time,
        percentile(&samples, 0.5),
        percentile(&samples, 0.99),
        samples.last().copied().unwrap_or_default(),
        idle_rss as f64 / 1024.0,
        connected_rss as f64 / 1024.0,
        peak_rss as f64 / 1024.0,
    );
    std::io::stdout().flush().unwrap();
}

fn main() {
    // `sse 10 1000 ws 10 1000`: a transport word, then the sizes to run it at.
    let mut runs: Vec<(Transport, usize)> = Vec::new();
    let mut transport = Transport::Sse;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "sse" => transport = Transport::Sse,
            "ws" => transport = Transport::Ws,
            "both" => transport = Transport::Both,
            n => {
                if let Ok(n) = n.parse() {
                    runs.push((transport, n));
                }
            }
        }
    }
    if runs.is_empty() {
        for t in [Transport::Sse, Transport::Ws] {
            runs.extend([10, 1000, 5000].map(|n| (t, n)));
        }
    }
    // Each client is one socket here and one in the server (which inherits this limit): raise
    // the open-file limit, the hard one too where we may (root), else the soft one.
    if rlimit::setrlimit(rlimit::Resource::NOFILE, 100_000, 100_000).is_err() {
        let _ = rlimit::increase_nofile_limit(100_000);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    println!(
        "write → event latency at every client, {WRITES} writes per run (server is a separate `flow` process)"
    );
    println!(
        "| clients | connected | event bytes | connect time | p50 | p99 | max | lost | RSS idle MiB | RSS connected MiB | RSS after writes MiB |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for (transport, n) in runs {
        runtime.block_on(run(n, transport));
    }
}
