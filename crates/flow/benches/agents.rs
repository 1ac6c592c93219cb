//! Agents in view at scale, against the real `flow` binary in its own process: 10,000 sessions
//! of which 200 have a live registry entry (200 real processes), measuring the cold start, the
//! liveness sweep's cost, how fast a state change reaches a WebSocket client, and how fast a
//! process that exits without cleaning up is reported `ended`.
//!
//! `cargo bench -p flow --bench agents` (add `-- quick` for 2,000 sessions).
#![allow(clippy::print_stdout, clippy::unwrap_used)]

use std::process::{Child, Command};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::{Value, json};

#[path = "support/conn.rs"]
mod conn;
#[path = "support/flow.rs"]
mod flow;
#[path = "support/stats.rs"]
mod stats;
use conn::{Conn, first_complete_answer};
use stats::{ms, pct};

const LIVE: usize = 200;

struct Kill(Vec<Child>);

impl Drop for Kill {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn uuid(n: usize) -> String {
    // The same ids `flow generate` writes.
    format!("{n:08x}-0000-4000-8000-{:012x}", n * 7919)
}

fn start_ticks(pid: u32) -> String {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let rest = &stat[stat.rfind(')').unwrap() + 1..];
    rest.split_whitespace().nth(19).unwrap().to_owned()
}

fn entry(pid: u32, session: &str, status: &str) -> Vec<u8> {
    let ms = flow_core::time::epoch_ms(std::time::SystemTime::now());
    json!({"pid": pid, "sessionId": session, "cwd": "/home/dev/project", "startedAt": ms,
           "procStart": start_ticks(pid), "kind": "interactive", "status": status, "updatedAt": ms})
    .to_string()
    .into_bytes()
}

async fn run(sessions: usize) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    flow::generate_large(root, sessions);
    let mut agents = Kill(Vec::new());
    std::fs::create_dir_all(root.join("sessions")).unwrap();
    for i in 0..LIVE {
        let child = Command::new("sleep").arg("3600").spawn().unwrap();
        let pid = child.id();
        agents.0.push(child);
        flow_core::fs::write_atomic(
            &root.join(format!("sessions/{pid}.json")),
            &entry(pid, &uuid(i), "busy"),
        )
        .unwrap();
    }
    println!(
        "\n### {sessions} sessions × 20 tasks, {LIVE} of them with a live registry entry (a real process each)\n"
    );

    // The sweep's own cost, measured in this process on the same tree.
    let layout = flow_core::Layout {
        tasks_dir: root.join("tasks"),
        projects_dir: root.join("projects"),
        sessions_dir: root.join("sessions"),
        teams_dir: root.join("teams"),
        plans_dir: root.join("plans"),
        todos_dir: root.join("todos"),
    };
    let index = flow_core::Index::scan(layout);
    let mut sweeps = Vec::new();
    for _ in 0..200 {
        let t = Instant::now();
        let sweep = index.liveness_sweep();
        assert_eq!(sweep.len(), LIVE);
        assert!(sweep.run().is_empty());
        sweeps.push(t.elapsed());
    }
    sweeps.sort();
    let p50 = pct(&sweeps, 0.5);
    println!(
        "liveness sweep over {LIVE} live entries: p50 {} ms, p99 {} ms per run ({:.1} µs per entry; it runs once a second)",
        ms(p50),
        ms(pct(&sweeps, 0.99)),
        p50.as_secs_f64() * 1e6 / LIVE as f64
    );
    drop(index);

    let started = Instant::now();
    let server = flow::FlowServer::start(root, &["--no-db"]);
    let addr = server.addr;
    let ready = first_complete_answer(addr, sessions).await;
    println!(
        "cold start (warm page cache) to first complete `/api/sessions?limit=all`: {} ms",
        ms(ready - started)
    );

    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/api/ws"))
        .await
        .unwrap();
    let mut next = async || -> Value {
        loop {
            let msg = ws.next().await.unwrap().unwrap();
            if let Ok(text) = msg.to_text()
                && let Ok(v) = serde_json::from_str::<Value>(text)
            {
                return v;
            }
        }
    };
    assert_eq!(next().await["type"], "connected");

    // A registry rewrite (atomic, as Claude Code writes it) → the `session-state` event.
    let mut samples = Vec::new();
    for i in 0..100 {
        let pid = agents.0[i].id();
        // Each round turns another busy session to waiting: every write is a real change.
        let state = "waiting";
        let t = Instant::now();
        flow_core::fs::write_atomic(
            &root.join(format!("sessions/{pid}.json")),
            &entry(pid, &uuid(i), state),
        )
        .unwrap();
        loop {
            let e = next().await;
            if e["type"] == "session-state" && e["sessionId"] == uuid(i) && e["state"] == state {
                break;
            }
        }
        samples.push(t.elapsed());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    samples.sort();
    println!(
        "registry write → `session-state` on a WebSocket client (100 rounds): p50 {} ms, p99 {} ms",
        ms(pct(&samples, 0.5)),
        ms(pct(&samples, 0.99))
    );

    // A process exits without removing its file → `ended` (found by the 1 s sweep).
    let mut ended = Vec::new();
    for i in LIVE - 10..LIVE {
        let t = Instant::now();
        agents.0[i].kill().unwrap();
        agents.0[i].wait().unwrap();
        loop {
            let e = next().await;
            if e["type"] == "session-state" && e["sessionId"] == uuid(i) && e["state"] == "ended" {
                break;
            }
        }
        ended.push(t.elapsed());
    }
    ended.sort();
    println!(
        "process exit (file left behind) → `ended` event (10 rounds): p50 {} ms, max {} ms",
        ms(pct(&ended, 0.5)),
        ms(*ended.last().unwrap())
    );

    let mut conn = Conn::open(addr).await.unwrap();
    let mut lat = Vec::new();
    for _ in 0..200 {
        let t = Instant::now();
        assert_eq!(conn.get("/api/activity").await.0, 200);
        lat.push(t.elapsed());
    }
    lat.sort();
    println!(
        "`/api/activity` (48 h, {sessions} sessions): p50 {} ms, p99 {} ms (cached between changes)",
        ms(pct(&lat, 0.5)),
        ms(pct(&lat, 0.99))
    );
    drop(server);
}

fn main() {
    let quick = std::env::args().any(|a| a == "quick");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run(if quick { 2_000 } else { 10_000 }));
}
