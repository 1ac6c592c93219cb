//! The feature-store benchmark of issue 18's "Must show", over HTTP against the real `flow`
//! binary in its own process (`FLOW_BIN` measures another build with the same client side):
//!
//! - A. 4,000 features in 400 dependency chains of 10 (only the 400 heads are ready):
//!   `POST /api/features/claim` under 16 concurrent claimers, each on its own keep-alive
//!   connection, 100 claims each. Each claimer completes what it claimed before claiming again
//!   (an agent's loop), which makes that chain's next feature ready, so the 1,600 claims never
//!   run dry. Then the claimers claim without completing until nothing is ready (pure claims).
//! - B. 10,000 features (each depending on up to 3 of earlier batches, ≤ 27,000 edges):
//!   `GET /api/features` unfiltered, repeated with no write in between, and right after a
//!   one-feature write (the list must be rebuilt).
//! - C. PostgreSQL only: two servers on one database; a rename (`PATCH`) on server 1, timed from
//!   just before the request to the `feature-update` event's arrival at an SSE client of server
//!   2 (and of server 1, for comparison).
//!
//! A and B run on SQLite (a temp file) and, when `FLOW_TEST_POSTGRES` holds an admin URL, on
//! PostgreSQL (a fresh database per scenario, dropped at the end). Arguments `sqlite` or
//! `postgres` pick one backend: `cargo bench -p flow --bench features [-- sqlite|postgres]`.
#![allow(clippy::print_stdout, clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::mpsc;

#[path = "support/conn.rs"]
mod conn;
#[path = "support/flow.rs"]
mod flow;
#[path = "support/pg.rs"]
mod pg;
#[path = "support/stats.rs"]
mod stats;
use conn::Conn;
use flow::FlowServer;
use stats::{ms, pct};

const CHAINS: usize = 400;
const CHAIN_LEN: usize = 10;
const CLAIMERS: usize = 16;
const CLAIMS_EACH: usize = 100;
const LIST_FEATURES: usize = 10_000;
const LIST_REPEATS: usize = 200;
const LIST_AFTER_WRITE: usize = 50;
const EVENT_WRITES: usize = 200;

/// A backend: SQLite (`None`) or PostgreSQL's admin URL (`…/postgres`), where the bench
/// creates its databases.
type Backend = Option<String>;

/// One scenario's store: a SQLite file in a temp dir, or a fresh PostgreSQL database.
struct Store {
    dir: tempfile::TempDir,
    db: String,
    pg: Option<(String, String)>,
}

static DATABASES: AtomicUsize = AtomicUsize::new(0);

impl Store {
    async fn new(backend: &Backend) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let Some(url) = backend else {
            let db = dir.path().join("flow.db").to_str().unwrap().to_owned();
            return Self { dir, db, pg: None };
        };
        let n = DATABASES.fetch_add(1, Ordering::Relaxed);
        let name = format!("flow_bench_{}_{n}", std::process::id());
        let db = pg::create_database(url, &name).await;
        Self {
            dir,
            db,
            pg: Some((url.clone(), name)),
        }
    }

    fn row(&self, what: &str, mut samples: Vec<Duration>) {
        samples.sort();
        let backend = ["SQLite", "PostgreSQL"][usize::from(self.pg.is_some())];
        let [p50, p99, max] = [0.5, 0.99, 1.0].map(|p| ms(pct(&samples, p)));
        let n = samples.len();
        println!("| {backend} | {what} | {n} | {p50} ms | {p99} ms | {max} ms |");
    }

    /// A server on this store with its own Claude and data dirs, answering once the store is open.
    async fn server(&self, name: &str) -> FlowServer {
        let dir = self.dir.path().join(name);
        std::fs::create_dir_all(&dir).unwrap();
        let server = FlowServer::start(&dir, &["--db", &self.db]);
        let t = Instant::now();
        loop {
            if let Some(mut conn) = Conn::open(server.addr).await
                && conn.get("/api/features/stats").await.0 == 200
            {
                return server;
            }
            assert!(t.elapsed().as_secs() < 60, "{name} did not start");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Drops the PostgreSQL database (its servers must be stopped first).
    async fn finish(self) {
        if let Some((url, name)) = self.pg {
            pg::drop_database(&url, &name).await;
        }
    }
}

/// `POST /api/features/bulk`; the ids created, in order.
async fn bulk(conn: &mut Conn, items: Vec<Value>) -> Vec<i64> {
    let body = json!({ "features": items }).to_string();
    let (status, body) = conn.send("POST", "/api/features/bulk", &body).await;
    assert_eq!(status, 201, "{}", String::from_utf8_lossy(&body));
    let v: Value = serde_json::from_slice(&body).unwrap();
    let created = v["features"].as_array().unwrap().iter();
    created.map(|f| f["id"].as_i64().unwrap()).collect()
}

fn parse(status: u16, body: &[u8]) -> Value {
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(body));
    serde_json::from_slice(body).unwrap()
}

/// Scenario A: claim-next under 16 concurrent claimers over 400 chains of 10.
async fn claims(backend: &Backend) {
    let store = Store::new(backend).await;
    let server = store.server("a").await;
    let addr = server.addr;
    let mut conn = Conn::open(addr).await.unwrap();
    let t = Instant::now();
    for batch in 0..CHAINS * CHAIN_LEN / 1000 {
        let items = (batch * 1000..(batch + 1) * 1000)
            .map(|n| {
                let (c, s) = (n / CHAIN_LEN, n % CHAIN_LEN);
                let mut f =
                    json!({"name": format!("chain {c} step {s}"), "ref": format!("c{c}s{s}")});
                if s > 0 {
                    f["dependsOnRefs"] = json!([format!("c{c}s{}", s - 1)]);
                }
                f
            })
            .collect();
        bulk(&mut conn, items).await;
    }
    let (status, body) = conn.get("/api/features/stats").await;
    let ready = parse(status, &body)["ready"].clone();
    println!(
        "<!-- A: {} features in {CHAINS} chains of {CHAIN_LEN} created in {:.1} s, {ready} ready -->",
        CHAINS * CHAIN_LEN,
        t.elapsed().as_secs_f64()
    );

    let t = Instant::now();
    let (claim, complete) = agents(addr, Some(CLAIMS_EACH)).await;
    let (n, wall) = (claim.len(), t.elapsed().as_secs_f64());
    store.row("A. claim (claim, complete, repeat)", claim);
    store.row("A. complete (same run)", complete);
    println!("<!-- A: {n} claims + {n} completes in {wall:.1} s -->");
    let (claim, _) = agents(addr, None).await;
    store.row("A. claim (claims only, until none is ready)", claim);
    drop(server);
    store.finish().await;
}

/// 16 claimers, each on its own connection: `Some(n)`: n rounds of claim then complete (which
/// readies the chain's next feature); `None`: claims only, until none is ready. Latencies of
/// the claims that got a feature, and of the completes.
async fn agents(addr: SocketAddr, rounds: Option<usize>) -> (Vec<Duration>, Vec<Duration>) {
    let tasks: Vec<_> = (0..CLAIMERS)
        .map(|a| {
            tokio::spawn(async move {
                let mut conn = Conn::open(addr).await.unwrap();
                let agent = json!({ "agent": format!("agent-{a}") }).to_string();
                let (mut claim, mut complete) = (Vec::new(), Vec::new());
                while rounds.is_none_or(|n| claim.len() < n) {
                    let t = Instant::now();
                    let (status, body) = conn.send("POST", "/api/features/claim", &agent).await;
                    let elapsed = t.elapsed();
                    let v = parse(status, &body);
                    let Some(id) = v["feature"]["id"].as_i64() else {
                        assert!(rounds.is_none(), "nothing to claim: {v}");
                        break;
                    };
                    claim.push(elapsed);
                    if rounds.is_some() {
                        let token = json!({ "claimToken": v["claimToken"] }).to_string();
                        let path = format!("/api/features/{id}/complete");
                        let t = Instant::now();
                        let (status, body) = conn.send("POST", &path, &token).await;
                        complete.push(t.elapsed());
                        parse(status, &body);
                    }
                }
                (claim, complete)
            })
        })
        .collect();
    let (mut claim, mut complete) = (Vec::new(), Vec::new());
    for task in tasks {
        let (c, d) = task.await.unwrap();
        claim.extend(c);
        complete.extend(d);
    }
    (claim, complete)
}

/// Scenario B: the unfiltered list of 10,000 features.
async fn list(backend: &Backend) {
    let store = Store::new(backend).await;
    let server = store.server("b").await;
    let mut conn = Conn::open(server.addr).await.unwrap();
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let t = Instant::now();
    let mut ids: Vec<i64> = Vec::with_capacity(LIST_FEATURES);
    for batch in 0..LIST_FEATURES / 1000 {
        let items = (0..1000)
            .map(|i| {
                // Only on features of earlier batches, by id: a batch's own ids are not known yet.
                let deps: BTreeSet<i64> = if ids.is_empty() {
                    BTreeSet::new()
                } else {
                    (0..3)
                        .map(|_| ids[(next() % ids.len() as u64) as usize])
                        .collect()
                };
                json!({"name": format!("feature {}", batch * 1000 + i), "dependencies": deps})
            })
            .collect();
        let created = bulk(&mut conn, items).await;
        ids.extend(created);
    }
    println!(
        "<!-- B: {LIST_FEATURES} features with up to {} edges created in {:.1} s -->",
        3 * (LIST_FEATURES - 1000),
        t.elapsed().as_secs_f64()
    );
    let mut bytes = 0;
    for _ in 0..3 {
        bytes = conn.get("/api/features").await.1.len();
    }
    let mut samples = Vec::with_capacity(LIST_REPEATS);
    for _ in 0..LIST_REPEATS {
        let t = Instant::now();
        let (status, body) = conn.get("/api/features").await;
        samples.push(t.elapsed());
        assert_eq!(status, 200);
        assert_eq!(body.len(), bytes);
    }
    store.row(
        &format!("B. list ({bytes} bytes), no write between"),
        samples,
    );

    let mut samples = Vec::with_capacity(LIST_AFTER_WRITE);
    for (i, id) in ids.iter().enumerate().take(LIST_AFTER_WRITE) {
        let edit = format!("edit {i:04}");
        let body = json!({ "description": edit }).to_string();
        let (status, answer) = conn
            .send("PATCH", &format!("/api/features/{id}"), &body)
            .await;
        parse(status, &answer);
        let t = Instant::now();
        let (status, body) = conn.get("/api/features").await;
        samples.push(t.elapsed());
        assert_eq!(status, 200);
        assert!(String::from_utf8_lossy(&body).contains(&edit), "stale list");
    }
    store.row("B. list right after a one-feature PATCH", samples);
    drop(server);
    store.finish().await;
}

/// An SSE client of `addr`: sends `(client, featureId, arrival)` for every `feature-update`
/// `change` event, and `(client, 0, …)` once connected.
async fn sse(addr: SocketAddr, client: usize, tx: mpsc::UnboundedSender<(usize, i64, Instant)>) {
    let mut lines = conn::sse_lines(addr).await;
    while let Ok(Some(line)) = lines.next_line().await {
        let Some(data) = line.strip_prefix("data: ") else {
            continue;
        };
        let at = Instant::now();
        let v: Value = serde_json::from_str(data).unwrap_or_default();
        let sent = match v["type"].as_str() {
            Some("connected") => tx.send((client, 0, at)),
            Some("feature-update") if v["event"] == "change" => {
                tx.send((client, v["featureId"].as_i64().unwrap_or(-1), at))
            }
            _ => Ok(()),
        };
        if sent.is_err() {
            return;
        }
    }
}

/// Scenario C: a write on server 1 → `feature-update` at server 2's SSE client.
async fn cross_server(backend: &Backend) {
    let store = Store::new(backend).await;
    let servers = [store.server("c1").await, store.server("c2").await];
    let mut conn = Conn::open(servers[0].addr).await.unwrap();
    let items = (0..EVENT_WRITES)
        .map(|i| json!({ "name": format!("watched {i}") }))
        .collect();
    let ids = bulk(&mut conn, items).await;
    let (tx, mut rx) = mpsc::unbounded_channel();
    for (client, server) in servers.iter().enumerate() {
        tokio::spawn(sse(server.addr, client, tx.clone()));
    }
    drop(tx);
    let mut connected = 0;
    while connected < 2 {
        if rx.recv().await.unwrap().1 == 0 {
            connected += 1;
        }
    }
    // Let the bulk's own events pass before the first write.
    tokio::time::sleep(Duration::from_millis(500)).await;
    while rx.try_recv().is_ok() {}

    let mut latency = [Vec::new(), Vec::new()];
    let mut lost = [0; 2];
    for (i, id) in ids.iter().enumerate() {
        let body = json!({ "name": format!("renamed {i}") }).to_string();
        let t = Instant::now();
        let (status, answer) = conn
            .send("PATCH", &format!("/api/features/{id}"), &body)
            .await;
        parse(status, &answer);
        let deadline = tokio::time::Instant::from_std(t + Duration::from_secs(5));
        let mut seen = [false; 2];
        while seen != [true; 2] {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some((client, feature, at))) if feature == *id && !seen[client] => {
                    seen[client] = true;
                    latency[client].push(at - t);
                }
                Ok(Some(_)) => {}
                _ => break,
            }
        }
        for (lost, seen) in lost.iter_mut().zip(seen) {
            *lost += usize::from(!seen);
        }
    }
    let [own, other] = latency;
    store.row(
        "C. PATCH on server 1 → event at server 2's SSE client",
        other,
    );
    store.row("C. same writes → event at server 1's own SSE client", own);
    println!(
        "<!-- C: lost (no event within 5 s): server 2 {}, server 1 {} -->",
        lost[1], lost[0]
    );
    drop(servers);
    store.finish().await;
}

async fn run() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let wanted = |name: &str| args.is_empty() || args.iter().any(|a| a == name);
    let mut backends = Vec::new();
    if wanted("sqlite") {
        backends.push(None);
    }
    if wanted("postgres") {
        match std::env::var("FLOW_TEST_POSTGRES") {
            Ok(url) if !url.is_empty() => backends.push(Some(url)),
            _ if !args.is_empty() => panic!("`postgres` needs FLOW_TEST_POSTGRES (an admin URL)"),
            _ => println!("PostgreSQL skipped: FLOW_TEST_POSTGRES is not set"),
        }
    }
    println!("binary: {}", flow::flow_bin().display());
    println!();
    println!("| backend | measurement | samples | p50 | p99 | max |");
    println!("|---|---|---|---|---|---|");
    for backend in &backends {
        claims(backend).await;
        list(backend).await;
        if backend.is_some() {
            cross_server(backend).await;
        }
    }
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run());
}
