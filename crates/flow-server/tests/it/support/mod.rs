//! The test harness: a real Claude-dir tree on disk, the real server on an ephemeral port, and
//! raw-TCP requests for paths that HTTP clients would normalise.
#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

pub mod pg;

use flow_server::Config;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;

/// A temporary `~/.claude`, written the way Claude Code writes it.
pub struct ClaudeTree {
    dir: tempfile::TempDir,
}

impl ClaudeTree {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Writes `rel` whole (creating folders), as a plain non-atomic write: the way an agent's
    /// tool may write, so the server must cope with what it sees.
    #[expect(
        clippy::disallowed_methods,
        reason = "fixtures write the tree directly"
    )]
    pub fn write(&self, rel: &str, bytes: impl AsRef<[u8]>) -> &Self {
        let path = self.path(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, bytes).expect("write");
        self
    }

    pub fn append(&self, rel: &str, text: &str) {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.path(rel))
            .expect("open for append");
        f.write_all(text.as_bytes()).expect("append");
    }

    pub fn mkdir(&self, rel: &str) -> &Self {
        std::fs::create_dir_all(self.path(rel)).expect("mkdir");
        self
    }

    /// A task file with Claude Code's 2-space formatting.
    pub fn task(&self, session: &str, task: Value) -> &Self {
        let id = task["id"].as_str().expect("task id").to_owned();
        let text = serde_json::to_string_pretty(&task).expect("json");
        self.write(&format!("tasks/{session}/{id}.json"), text)
    }

    /// A transcript made of the given JSON lines.
    pub fn transcript(&self, project: &str, session: &str, lines: &[Value]) -> &Self {
        let mut text = String::new();
        for line in lines {
            text.push_str(&line.to_string());
            text.push('\n');
        }
        self.write(&format!("projects/{project}/{session}.jsonl"), text)
    }

    /// Sets a file's modification time, so "newest first" orders are deterministic.
    pub fn touch(&self, rel: &str, secs_since_epoch: u64) {
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs_since_epoch);
        // Read-only is enough for the owner to set times, and also opens folders.
        let f = std::fs::File::open(self.path(rel)).expect("open");
        f.set_modified(t).expect("set mtime");
    }
}

/// A running server over a tree it owns (so the tree outlives it); stopped when dropped.
pub struct TestServer {
    pub tree: ClaudeTree,
    pub addr: SocketAddr,
    pub base: String,
    pub client: reqwest::Client,
    shutdown: CancellationToken,
    handle: Option<tokio::task::JoinHandle<()>>,
}

impl TestServer {
    pub async fn start(tree: ClaudeTree) -> Self {
        let config = Config::for_claude_dir(tree.root());
        Self::start_with(tree, config).await
    }

    pub async fn start_with(tree: ClaudeTree, config: Config) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let shutdown = CancellationToken::new();
        let handle = tokio::spawn(flow_server_run(config, listener, shutdown.clone()));
        Self {
            tree,
            addr,
            base: format!("http://{addr}"),
            client: reqwest::Client::new(),
            shutdown,
            handle: Some(handle),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// POST with a JSON body (sent as given, so tests can send malformed JSON too).
    pub async fn post_json(&self, path: &str, body: &str) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .await
            .expect("POST")
    }

    pub async fn delete(&self, path: &str) -> reqwest::Response {
        self.client
            .delete(self.url(path))
            .send()
            .await
            .expect("DELETE")
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.expect("GET")
    }

    /// GET that must answer `status` with a JSON body.
    pub async fn get_json(&self, path: &str, status: u16) -> Value {
        let res = self.get(path).await;
        assert_eq!(res.status().as_u16(), status, "GET {path}");
        assert_eq!(
            res.headers()["content-type"],
            "application/json",
            "GET {path}"
        );
        assert_eq!(res.headers()["cache-control"], "no-store", "GET {path}");
        res.json().await.expect("json body")
    }

    /// Sends `request_line` verbatim over TCP, so dot segments and encodings reach the server
    /// exactly as written. Returns the status code and body.
    pub async fn raw(&self, method: &str, target: &str) -> (u16, String) {
        let host = format!("Host: {}", self.addr);
        self.raw_with(method, target, &[&host], b"").await
    }

    /// Like [`raw`](Self::raw), with the given header lines (the `Host` line included) and body.
    pub async fn raw_with(
        &self,
        method: &str,
        target: &str,
        headers: &[&str],
        body: &[u8],
    ) -> (u16, String) {
        let mut stream = tokio::net::TcpStream::connect(self.addr)
            .await
            .expect("connect");
        let mut req = format!("{method} {target} HTTP/1.1\r\nConnection: close\r\n");
        for h in headers {
            req.push_str(h);
            req.push_str("\r\n");
        }
        req.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
        stream.write_all(req.as_bytes()).await.expect("send");
        // The server may answer (413, 403) before reading the whole body; that is fine.
        let _ = stream.write_all(body).await;
        let mut buf = Vec::new();
        // A reset after an early answer still leaves that answer in `buf`.
        let _ = stream.read_to_end(&mut buf).await;
        let text = String::from_utf8_lossy(&buf).into_owned();
        let status = text
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no status line in {text:?}"));
        let body = text
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_owned())
            .unwrap_or_default();
        (status, body)
    }

    /// Stops the server and hands back its tree, to start another server on the same files.
    pub async fn tree_after_stop(mut self) -> ClaudeTree {
        self.shutdown.cancel();
        if let Some(handle) = self.handle.take() {
            handle.await.expect("server task");
        }
        let empty = ClaudeTree::new();
        std::mem::replace(&mut self.tree, empty)
    }

    /// Stops the server and waits until it has fully exited.
    pub async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(handle) = self.handle.take() {
            handle.await.expect("server task");
        }
    }
}

async fn flow_server_run(
    config: Config,
    listener: tokio::net::TcpListener,
    token: CancellationToken,
) {
    flow_server::run(config, listener, token)
        .await
        .expect("server failed");
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// How long a test waits for an event before calling it lost. A bound on failure, not a sleep.
pub const EVENT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

type SseStream = std::pin::Pin<
    Box<
        dyn futures_util::Stream<
                Item = Result<
                    eventsource_stream::Event,
                    eventsource_stream::EventStreamError<reqwest::Error>,
                >,
            > + Send,
    >,
>;

/// A real SSE client over reqwest.
pub struct SseClient {
    stream: SseStream,
}

impl TestServer {
    pub async fn sse(&self) -> SseClient {
        self.sse_with(None).await
    }

    /// Connects, then waits for `connected`, so anything written afterwards is seen.
    pub async fn sse_with(&self, last_event_id: Option<&str>) -> SseClient {
        use eventsource_stream::Eventsource;
        let mut req = self.client.get(self.url("/api/events"));
        if let Some(id) = last_event_id {
            req = req.header("Last-Event-ID", id);
        }
        let res = req.send().await.expect("GET /api/events");
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["content-type"], "text/event-stream");
        let mut client = SseClient {
            stream: Box::pin(res.bytes_stream().eventsource()),
        };
        let (_, first) = client.next().await;
        assert_eq!(first["type"], "connected");
        client
    }

    pub async fn ws(&self) -> WsClient {
        let url = format!("ws://{}/api/ws", self.addr);
        let (socket, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("ws connect");
        let mut client = WsClient { socket };
        assert_eq!(client.next().await["type"], "connected");
        client
    }
}

impl SseClient {
    /// The next event as (id, JSON); panics if none arrives within [`EVENT_TIMEOUT`].
    pub async fn next(&mut self) -> (String, Value) {
        use futures_util::StreamExt;
        let event = tokio::time::timeout(EVENT_TIMEOUT, self.stream.next())
            .await
            .expect("no SSE event within the timeout")
            .expect("SSE stream ended")
            .expect("SSE error");
        let value = serde_json::from_str(&event.data).expect("SSE data is JSON");
        (event.id, value)
    }

    /// Reads events until one matches, returning it and everything read before it.
    pub async fn until(&mut self, pred: impl Fn(&Value) -> bool) -> (Value, Vec<Value>) {
        let mut before = Vec::new();
        loop {
            let (_, event) = self.next().await;
            if pred(&event) {
                return (event, before);
            }
            before.push(event);
        }
    }

    /// Like [`SseClient::until`], waiting up to `within` in all (for events that follow a
    /// slow outside change, such as a database coming back).
    pub async fn until_within(
        &mut self,
        within: std::time::Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> Value {
        use futures_util::StreamExt;
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let event = tokio::time::timeout_at(deadline, self.stream.next())
                .await
                .expect("no matching SSE event in time")
                .expect("SSE stream ended")
                .expect("SSE error");
            let value: Value = serde_json::from_str(&event.data).expect("SSE data is JSON");
            if pred(&value) {
                return value;
            }
        }
    }

    /// Whether the stream ends (rather than stalls) within the timeout.
    pub async fn ends(&mut self) -> bool {
        use futures_util::StreamExt;
        loop {
            match tokio::time::timeout(EVENT_TIMEOUT, self.stream.next()).await {
                Err(_) => return false,
                Ok(None | Some(Err(_))) => return true,
                Ok(Some(Ok(_))) => continue,
            }
        }
    }
}

/// A real WebSocket client.
pub struct WsClient {
    pub socket: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
}

impl WsClient {
    pub async fn send(&mut self, text: &str) {
        use futures_util::SinkExt;
        self.socket
            .send(tokio_tungstenite::tungstenite::Message::text(text))
            .await
            .expect("ws send");
    }

    /// The next text message as JSON, skipping control frames.
    pub async fn next(&mut self) -> Value {
        use futures_util::StreamExt;
        use tokio_tungstenite::tungstenite::Message;
        loop {
            let msg = tokio::time::timeout(EVENT_TIMEOUT, self.socket.next())
                .await
                .expect("no WebSocket message within the timeout")
                .expect("WebSocket ended")
                .expect("WebSocket error");
            match msg {
                Message::Text(text) => return serde_json::from_str(&text).expect("JSON message"),
                Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => continue,
                other => panic!("unexpected WebSocket message {other:?}"),
            }
        }
    }

    pub async fn until(&mut self, pred: impl Fn(&Value) -> bool) -> (Value, Vec<Value>) {
        let mut before = Vec::new();
        loop {
            let event = self.next().await;
            if pred(&event) {
                return (event, before);
            }
            before.push(event);
        }
    }

    /// Whether the server closes the socket within the timeout.
    pub async fn closed(&mut self) -> bool {
        use futures_util::StreamExt;
        use tokio_tungstenite::tungstenite::Message;
        loop {
            match tokio::time::timeout(EVENT_TIMEOUT, self.socket.next()).await {
                Err(_) => return false,
                Ok(None | Some(Err(_)) | Some(Ok(Message::Close(_)))) => return true,
                Ok(Some(Ok(_))) => continue,
            }
        }
    }
}

/// The text of `key` in every item of a JSON list (ids, timestamps…), in order.
pub fn texts<'a>(list: &'a Value, key: &str) -> Vec<&'a str> {
    list.as_array()
        .expect("a JSON list")
        .iter()
        .map(|item| item[key].as_str().expect("a text field"))
        .collect()
}

/// Matches an `update` event for one file.
pub fn is_update(event: &Value, kind: &str, session: &str, file: Option<&str>) -> bool {
    event["type"] == "update"
        && event["event"] == kind
        && event["sessionId"] == session
        && event["file"] == serde_json::json!(file)
}

/// A real process standing in for Claude Code, killed when the test ends.
pub struct Agent(pub std::process::Child);

impl Agent {
    pub fn spawn() -> Self {
        Self(
            std::process::Command::new("sleep")
                .arg("600")
                .spawn()
                .expect("spawn sleep"),
        )
    }

    pub fn pid(&self) -> u32 {
        self.0.id()
    }

    /// `/proc/<pid>/stat` field 22, the form Claude Code writes as `procStart` on Linux.
    pub fn start_ticks(&self) -> u64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid())).expect("stat");
        let rest = &stat[stat.rfind(')').expect(")") + 1..];
        rest.split_whitespace()
            .nth(19)
            .expect("field 22")
            .parse()
            .expect("ticks")
    }

    /// Ends the process (and reaps it), leaving its registry file behind.
    pub fn exit(&mut self) {
        self.0.kill().expect("kill");
        self.0.wait().expect("reap");
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The feature store for a test: a SQLite file in `tree`, or, with
/// `FLOW_TEST_FEATURES_ON_POSTGRES=1` and `FLOW_TEST_POSTGRES` naming a PostgreSQL server
/// (`postgres://user@host:port/db`, as `scripts/test` sets both for its second pass), a fresh
/// database of its own on that server. So one test body runs against both backends.
pub fn feature_db(tree: &ClaudeTree) -> flow_core::config::Database {
    let on_postgres = std::env::var_os("FLOW_TEST_FEATURES_ON_POSTGRES").is_some_and(|v| v == "1");
    match std::env::var("FLOW_TEST_POSTGRES") {
        Ok(admin) if on_postgres && !admin.is_empty() => {
            flow_core::config::Database::Postgres(fresh_postgres_database(&admin))
        }
        _ => {
            assert!(
                !on_postgres,
                "FLOW_TEST_FEATURES_ON_POSTGRES needs FLOW_TEST_POSTGRES"
            );
            flow_core::config::Database::Sqlite(tree.path("data/flow.db"))
        }
    }
}

/// Creates an empty database on the server `admin` names and answers its URL.
pub fn fresh_postgres_database(admin: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let name = format!(
        "flow_test_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let admin = admin.to_owned();
    let create = name.clone();
    // Its own thread and runtime, so sync test helpers can call it from inside a test's runtime.
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let (client, conn) = tokio_postgres::connect(&admin, tokio_postgres::NoTls)
                .await
                .expect("FLOW_TEST_POSTGRES must name a reachable PostgreSQL server");
            tokio::spawn(conn);
            client
                .batch_execute(&format!("CREATE DATABASE {create}"))
                .await
                .expect("create the test database");
        });
    })
    .join()
    .expect("create the test database");
    let base = std::env::var("FLOW_TEST_POSTGRES").unwrap_or_default();
    let cut = base.rfind('/').unwrap_or(base.len());
    format!("{}/{name}", &base[..cut])
}
