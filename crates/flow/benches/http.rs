//! HTTP benchmark of the read API on generated Claude dirs, against the real `flow` binary in
//! its own process: per-endpoint latency (1 keep-alive connection) and throughput (32
//! connections), cold start to the first complete answer, and server memory.
//!
//! `cargo bench -p flow --bench http` (add `-- quick` to skip the 10,000-session tree).
#![allow(clippy::print_stdout, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

#[path = "support/conn.rs"]
mod conn;
#[path = "support/flow.rs"]
mod flow;
#[path = "support/stats.rs"]
mod stats;
use conn::{Conn, first_complete_answer};
use flow::FlowServer;
use stats::{ms, pct, rss_kib};

/// The server, and when it was asked to start.
fn spawn(dir: &Path) -> (FlowServer, Instant) {
    let started = Instant::now();
    (FlowServer::start(dir, &[]), started)
}

fn rss_mib(pid: u32) -> f64 {
    rss_kib(pid) as f64 / 1024.0
}

async fn latency(addr: SocketAddr, path: &str, n: usize) -> (Duration, Duration, usize) {
    let mut conn = Conn::open(addr).await.unwrap();
    for _ in 0..n / 10 {
        conn.get(path).await;
    }
    let mut samples = Vec::with_capacity(n);
    let mut bytes = 0;
    for _ in 0..n {
        let t = Instant::now();
        let (status, body) = conn.get(path).await;
        samples.push(t.elapsed());
        assert_eq!(status, 200, "{path}");
        bytes = body.len();
    }
    samples.sort();
    (pct(&samples, 0.5), pct(&samples, 0.99), bytes)
}

async fn throughput(addr: SocketAddr, path: &str, conns: usize, secs: f64) -> f64 {
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    let tasks: Vec<_> = (0..conns)
        .map(|_| {
            let path = path.to_owned();
            tokio::spawn(async move {
                let mut conn = Conn::open(addr).await.unwrap();
                let mut n = 0u64;
                while Instant::now() < deadline {
                    conn.get(&path).await;
                    n += 1;
                }
                n
            })
        })
        .collect();
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap();
    }
    total as f64 / secs
}

async fn tree_200(dir: &Path) {
    flow::generate_realistic(dir);
    let (server, started) = spawn(dir);
    let ready = first_complete_answer(server.addr, 200).await;
    println!("\n### 200 sessions × 20 tasks + 300 transcript-only sessions (64 KiB transcripts)\n");
    println!(
        "cold start to first complete `/api/sessions?limit=all`: {} ms\n",
        ms(ready - started)
    );
    let session = "00000000-0000-4000-8000-000000000000";
    println!("| endpoint | body bytes | p50 ms (1 conn) | p99 ms (1 conn) | req/s (32 conns) |");
    println!("|---|---|---|---|---|");
    for path in [
        "/api/sessions".to_owned(),
        format!("/api/sessions/{session}"),
        "/api/tasks/all".to_owned(),
        "/".to_owned(),
        "/api/health".to_owned(),
    ] {
        let n = if path == "/api/tasks/all" { 300 } else { 3000 };
        let (p50, p99, bytes) = latency(server.addr, &path, n).await;
        let rps = throughput(server.addr, &path, 32, 2.0).await;
        println!(
            "| `{path}` | {bytes} | {} | {} | {rps:.0} |",
            ms(p50),
            ms(p99)
        );
    }
    println!(
        "\nserver RSS after the run: {:.1} MiB",
        rss_mib(server.child.id())
    );
}

async fn tree_10k(dir: &Path) {
    let t = Instant::now();
    flow::generate_large(dir, 10_000);
    println!(
        "\n### 10,000 sessions × 20 tasks (4 KiB transcripts; generated in {:.1} s)\n",
        t.elapsed().as_secs_f64()
    );
    // Drop the page cache's advantage as far as we can without root tricks: this is a warm-cache
    // start (the files were just written), which is what a developer restarting Flow sees.
    let (server, started) = spawn(dir);
    let ready = first_complete_answer(server.addr, 10_000).await;
    println!(
        "cold start (warm page cache) to first complete `/api/sessions?limit=all`: {} ms",
        ms(ready - started)
    );
    let rss_idle = rss_mib(server.child.id());
    let (p50, p99, bytes) = latency(server.addr, "/api/sessions", 2000).await;
    println!(
        "`/api/sessions` (default limit 20, {bytes} bytes): p50 {} ms, p99 {} ms",
        ms(p50),
        ms(p99)
    );
    // Every request a limit not asked before: no cached body, so this is the cost of the first
    // answer after a change (selection over 10,000 sessions, summaries, serialisation).
    let mut samples = Vec::new();
    for limit in 20..520 {
        let mut conn = Conn::open(server.addr).await.unwrap();
        let path = format!("/api/sessions?limit={limit}");
        let t = Instant::now();
        assert_eq!(conn.get(&path).await.0, 200);
        samples.push(t.elapsed());
    }
    samples.sort();
    println!(
        "`/api/sessions?limit=20..520`, never cached: p50 {} ms, p99 {} ms",
        ms(pct(&samples, 0.5)),
        ms(pct(&samples, 0.99))
    );
    let (p50, p99, bytes) = latency(server.addr, "/api/sessions?limit=all", 50).await;
    println!(
        "`/api/sessions?limit=all` ({bytes} bytes): p50 {} ms, p99 {} ms",
        ms(p50),
        ms(p99)
    );
    println!(
        "server RSS: {rss_idle:.1} MiB after start, {:.1} MiB after the run",
        rss_mib(server.child.id())
    );
}

fn main() {
    let quick = std::env::args().any(|a| a == "quick");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    runtime.block_on(async {
        tree_200(&dir.path().join("small")).await;
        if !quick {
            tree_10k(&dir.path().join("large")).await;
        }
    });
}
