//! HTTP benchmark of the read API on generated Claude dirs, against the real `flow` binary in
//! its own process: per-endpoint latency (1 keep-alive connection) and throughput (32
//! connections), cold start to the first complete answer, and server memory.
//!
//! `cargo bench -p flow --bench http` (add `-- quick` to skip the 10,000-session tree).
#![allow(clippy::print_stdout, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[path = "support/conn.rs"]
mod conn;
#[path = "support/flow.rs"]
mod flow;
use conn::Conn;

struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn generate(out: &Path, args: &[&str]) {
    flow::generate(out, args);
}

fn spawn(dir: &Path) -> (Server, Instant) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let started = Instant::now();
    let child = Command::new(env!("CARGO_BIN_EXE_flow"))
        .args(["--dir", dir.to_str().unwrap(), "--port", &port.to_string()])
        .args(["--data-dir", dir.join("flow-data").to_str().unwrap()])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    (
        Server {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
        },
        started,
    )
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn ms(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64() * 1000.0)
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

fn rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

/// Polls until `/api/sessions?limit=all` lists `expect` sessions; returns that instant.
async fn first_complete_answer(addr: SocketAddr, expect: usize) -> Instant {
    loop {
        if let Some(mut conn) = Conn::open(addr).await {
            let (status, body) = conn.get("/api/sessions?limit=all").await;
            let listed = String::from_utf8_lossy(&body)
                .matches("\"taskCount\"")
                .count();
            if status == 200 && listed == expect {
                return Instant::now();
            }
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn tree_200(dir: &Path) {
    generate(
        dir,
        &[
            "--sessions",
            "200",
            "--tasks",
            "20",
            "--transcript-kib",
            "64",
            "--transcript-only",
            "300",
        ],
    );
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
    generate(
        dir,
        &[
            "--sessions",
            "10000",
            "--tasks",
            "20",
            "--transcript-kib",
            "4",
            "--transcript-only",
            "0",
            "--projects",
            "50",
        ],
    );
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
