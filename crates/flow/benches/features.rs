//! Feature-store benchmark over HTTP against the real `flow` binary in its own process: list
//! 10,000 features (with 30,000 dependency edges) and claim-next latency under 16 concurrent
//! claimers. `cargo bench -p flow --bench features`.
#![allow(clippy::print_stdout, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[path = "support/conn.rs"]
mod conn;
use conn::Conn;

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize].as_secs_f64() * 1000.0
}

async fn run() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _server = Server(
        Command::new(env!("CARGO_BIN_EXE_flow"))
            .args([
                "--dir",
                dir.path().join("claude").to_str().unwrap(),
                "--port",
                &port.to_string(),
            ])
            .args(["--db", dir.path().join("flow.db").to_str().unwrap()])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap(),
    );
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    while std::net::TcpStream::connect(addr).is_err() {
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut conn = Conn::open(addr).await.unwrap();

    // 10,000 features, each depending on up to 3 earlier ones (30,000 edges at most).
    let t = Instant::now();
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for batch in 0..10 {
        let items: Vec<serde_json::Value> = (0..1000)
            .map(|i| {
                let n = batch * 1000 + i;
                // Only on features of earlier batches: ids inside a batch are not known yet.
                let earlier = (batch * 1000) as u64;
                let deps: Vec<u64> = if earlier == 0 {
                    vec![]
                } else {
                    (0..3)
                        .map(|_| 1 + next() % earlier)
                        .collect::<std::collections::BTreeSet<_>>()
                        .into_iter()
                        .collect()
                };
                serde_json::json!({"name": format!("feature {n}"), "dependencies": deps})
            })
            .collect();
        let (status, body) = conn
            .send(
                "POST",
                "/api/features/bulk",
                &serde_json::json!({"features": items}).to_string(),
            )
            .await;
        assert_eq!(
            status,
            201,
            "{}",
            String::from_utf8_lossy(&body[..body.len().min(300)])
        );
    }
    println!(
        "created 10,000 features with up to 30,000 edges in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    let mut samples = Vec::new();
    let mut bytes = 0;
    for _ in 0..20 {
        let t = Instant::now();
        let (status, body) = conn.get("/api/features").await;
        samples.push(t.elapsed());
        assert_eq!(status, 200);
        bytes = body.len();
    }
    samples.sort();
    println!(
        "| `GET /api/features` (10,000 features, {bytes} bytes) | p50 {:.1} ms | p99 {:.1} ms |",
        pct(&samples, 0.5),
        pct(&samples, 0.99)
    );

    // Claim-next under contention: a second store of 2,000 independent features, 16 agents.
    let items: Vec<serde_json::Value> = (0..1000).map(|n| serde_json::json!({"name": format!("free {n}"), "project": "claims", "priority": -1})).collect();
    for _ in 0..2 {
        let (status, _) = conn
            .send(
                "POST",
                "/api/features/bulk",
                &serde_json::json!({"features": items}).to_string(),
            )
            .await;
        assert_eq!(status, 201);
    }
    let claimers: Vec<_> = (0..16)
        .map(|a| {
            tokio::spawn(async move {
                let mut conn = Conn::open(addr).await.unwrap();
                let mut lat = Vec::new();
                for _ in 0..100 {
                    let t = Instant::now();
                    let (status, body) = conn
                        .send(
                            "POST",
                            "/api/features/claim",
                            &format!("{{\"agent\":\"agent-{a}\"}}"),
                        )
                        .await;
                    lat.push(t.elapsed());
                    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
                }
                lat
            })
        })
        .collect();
    let mut lat = Vec::new();
    for c in claimers {
        lat.extend(c.await.unwrap());
    }
    lat.sort();
    println!(
        "| `POST /api/features/claim`, 16 concurrent claimers × 100 claims | p50 {:.1} ms | p99 {:.1} ms |",
        pct(&lat, 0.5),
        pct(&lat, 0.99)
    );
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run());
}
