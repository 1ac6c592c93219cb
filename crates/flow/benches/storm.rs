//! Readers during a write storm, against the real `flow` binary in its own process: the
//! latency of `GET /api/sessions` on an idle board, then while another thread rewrites task
//! files at 1,500 per second (atomic temp + rename, spread over the sessions), in one run.
//!
//! `cargo bench -p flow --bench storm`.
#![allow(clippy::print_stdout, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

#[path = "support/conn.rs"]
mod conn;
#[path = "support/flow.rs"]
mod flow;
#[path = "support/stats.rs"]
mod stats;
use conn::Conn;
use stats::{ms, pct};

const RATE: u64 = 1_500;
const SAMPLES: usize = 4_000;

fn uuid(n: usize) -> String {
    format!("{n:08x}-0000-4000-8000-{:012x}", n * 7919)
}

async fn measure(addr: SocketAddr, path: &str) -> (Duration, Duration) {
    let mut conn = Conn::open(addr).await.unwrap();
    for _ in 0..200 {
        conn.get(path).await;
    }
    let mut samples = Vec::with_capacity(SAMPLES);
    for _ in 0..SAMPLES {
        let t = Instant::now();
        assert_eq!(conn.get(path).await.0, 200);
        samples.push(t.elapsed());
    }
    samples.sort();
    (pct(&samples, 0.5), pct(&samples, 0.99))
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    flow::generate_realistic(root);
    let server = flow::FlowServer::start(root, &["--no-db"]);
    let addr = server.addr;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        while Conn::open(addr).await.is_none() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    });

    println!(
        "\n### `/api/sessions` while task files are rewritten at {RATE}/s (200 sessions × 20 tasks)\n"
    );
    let (idle50, idle99) = runtime.block_on(measure(addr, "/api/sessions"));

    let stop = Arc::new(AtomicBool::new(false));
    let written = Arc::new(AtomicUsize::new(0));
    let writer = {
        let (stop, written, root) = (stop.clone(), written.clone(), root.to_path_buf());
        std::thread::spawn(move || {
            let every = Duration::from_nanos(1_000_000_000 / RATE);
            let start = Instant::now();
            let mut n = 0usize;
            while !stop.load(Ordering::Relaxed) {
                let session = uuid(n % 200);
                let task = n / 200 % 20 + 1;
                let body = format!(
                    "{{\n  \"id\": \"{task}\",\n  \"subject\": \"Task {task}\",\n  \"description\": \"rewrite {n}\",\n  \"activeForm\": \"Working\",\n  \"status\": \"in_progress\",\n  \"blocks\": [],\n  \"blockedBy\": []\n}}"
                );
                flow_core::fs::write_atomic(
                    &root.join(format!("tasks/{session}/{task}.json")),
                    body.as_bytes(),
                )
                .unwrap();
                n += 1;
                written.store(n, Ordering::Relaxed);
                // Keep the rate: sleep until this write's slot.
                let due = start + every * u32::try_from(n).unwrap();
                if let Some(wait) = due.checked_duration_since(Instant::now()) {
                    std::thread::sleep(wait);
                }
            }
        })
    };
    std::thread::sleep(Duration::from_millis(500));
    let storm_start = Instant::now();
    let before = written.load(Ordering::Relaxed);
    let (storm50, storm99) = runtime.block_on(measure(addr, "/api/sessions"));
    let rate =
        (written.load(Ordering::Relaxed) - before) as f64 / storm_start.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();

    println!("| board | p50 ms | p99 ms |");
    println!("|---|---|---|");
    println!("| idle | {} | {} |", ms(idle50), ms(idle99));
    println!(
        "| {rate:.0} rewrites/s | {} | {} |",
        ms(storm50),
        ms(storm99)
    );
    println!(
        "\np99 during the storm / idle p99: {:.2}× (target ≤ 2×)",
        storm99.as_secs_f64() / idle99.as_secs_f64()
    );
    drop(server);
}
