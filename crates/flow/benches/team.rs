//! The team-board benchmark of issue 20's "Must show": 10 publishing `flow` processes
//! (machines `m0`..`m9`), each over its own `flow generate` tree (200 sessions × 20 tasks plus
//! 300 transcript-only sessions, 64 KiB transcripts), on one fresh PostgreSQL database.
//!
//! - Cold publish: from spawning the 10 machines until `m0`'s board lists all 2,000 sessions
//!   (its own 200 and the 1,800 the others published).
//! - A new board: a fresh 11th `flow` on the same database, not publishing, from its spawn
//!   until its `GET /api/sessions?limit=all` lists all 2,000.
//! - Cross-machine event latency: a task file of `m3` is rewritten 200 times, 100 ms apart
//!   (`-- <ms>` for another pause), timed from just before each write to the `update` for
//!   `m3.<session>` at an SSE client of `m0`; for comparison, to the local `update` at an SSE
//!   client of `m3` and to the `NOTIFY` at a `LISTEN` of the bench (the publishing half); and
//!   the CPU time each process spends per write.
//! - Database rows and size per machine (`team_items`).
//!
//! Needs `FLOW_TEST_POSTGRES` (an admin URL, as `scripts/lib/postgres.sh` exports); without it
//! the bench prints a note and exits 0. `cargo bench -p flow --bench team`.
#![allow(clippy::print_stdout, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

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
use pg::admin;
use stats::{ms, pct, rss_kib};

const MACHINES: usize = 10;
const SESSIONS: usize = 200;
const WRITER: usize = 3;
const WATCHER: usize = 0;
const WRITES: usize = 200;
/// The session `m3` writes to: the first one `flow generate` writes.
const SESSION: &str = "00000000-0000-4000-8000-000000000000";
/// A bound on failure, not a wait.
const WITHIN: Duration = Duration::from_secs(300);

/// Polls `GET /api/sessions?limit=all` every 25 ms until it lists `expect` sessions; returns
/// that instant and the body's size.
async fn listed_all(addr: SocketAddr, expect: usize) -> (Instant, usize) {
    let deadline = Instant::now() + WITHIN;
    let mut conn: Option<Conn> = None;
    loop {
        if conn.is_none() {
            conn = Conn::open(addr).await;
        }
        if let Some(c) = conn.as_mut() {
            let (status, body) = c.get("/api/sessions?limit=all").await;
            let listed = String::from_utf8_lossy(&body)
                .matches("\"taskCount\"")
                .count();
            if status == 200 && listed == expect {
                return (Instant::now(), body.len());
            }
        }
        assert!(Instant::now() < deadline, "{addr} never listed {expect}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// A task of the size agents write, with the write's sequence number in it.
fn write_task(tasks: &Path, seq: usize) {
    let task = serde_json::json!({
        "id": "1",
        "subject": "Implement the session timeline endpoint",
        "description": "Add `GET /api/sessions/:id/timeline`: every task with its first and last change, \
            by creation.\n\n- reuse the index's file times\n- paginate with `limit`\n- document it",
        "activeForm": "Implementing the session timeline endpoint",
        "status": "in_progress",
        "owner": "agent-3",
        "blocks": ["2"],
        "blockedBy": [],
        "benchSeq": seq,
    });
    let body = serde_json::to_string_pretty(&task).unwrap();
    flow_core::fs::write_atomic(&tasks.join("1.json"), body.as_bytes()).unwrap();
}

fn seq_of(text: &str) -> Option<usize> {
    let after = text.split("\"benchSeq\":").nth(1)?;
    after
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

/// An SSE client of `addr` that sends (sequence number, arrival) for every `update` of
/// `session`; returns once connected.
async fn watch(addr: SocketAddr, session: String, out: mpsc::UnboundedSender<(usize, Instant)>) {
    let mut lines = conn::sse_lines(addr).await;
    while let Ok(Some(line)) = lines.next_line().await {
        if line.contains("\"type\":\"connected\"") {
            break;
        }
    }
    let needle = format!("\"sessionId\":\"{session}\"");
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(data) = line.strip_prefix("data: ")
                && data.contains("\"type\":\"update\"")
                && data.contains(&needle)
                && let Some(seq) = seq_of(data)
            {
                let _ = out.send((seq, Instant::now()));
            }
        }
    });
}

/// The database's side of the same path: the arrival of each `NOTIFY` of `machine` at a
/// `LISTEN` of this process, with the sequence number the task's row holds when it is read.
async fn listen(url: &str, machine: String, out: mpsc::UnboundedSender<(usize, Instant)>) {
    let (client, mut connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    let (tx, mut notes) = mpsc::unbounded_channel();
    let from = format!("{{\"machine\":\"{machine}\"}}");
    tokio::spawn(async move {
        while let Some(Ok(m)) = std::future::poll_fn(|cx| connection.poll_message(cx)).await {
            if let tokio_postgres::AsyncMessage::Notification(n) = m
                && n.payload() == from
            {
                let _ = tx.send(Instant::now());
            }
        }
    });
    client.batch_execute("LISTEN flow_team").await.unwrap();
    let key = format!("{SESSION}/1");
    tokio::spawn(async move {
        let sql = "SELECT doc FROM team_items WHERE machine = $1 AND kind = 'task' AND key = $2";
        while let Some(at) = notes.recv().await {
            let row = client.query_opt(sql, &[&machine, &key]).await.unwrap();
            let doc: Option<String> = row.and_then(|r| r.get(0));
            if let Some(seq) = doc.as_deref().and_then(seq_of) {
                let _ = out.send((seq, at));
            }
        }
    });
}

/// Collects the latencies of one watcher: the first arrival of each sequence number.
fn latencies(written: &[Option<Instant>], arrivals: &[(usize, Instant)]) -> Vec<Duration> {
    let mut first: Vec<Option<Instant>> = vec![None; written.len()];
    for &(seq, at) in arrivals {
        if let Some(slot) = first.get_mut(seq) {
            slot.get_or_insert(at);
        }
    }
    let mut out: Vec<Duration> = (1..written.len())
        .filter_map(|seq| Some(first[seq]?.saturating_duration_since(written[seq]?)))
        .collect();
    out.sort();
    out
}

/// A process's CPU time (user + system), in milliseconds.
fn cpu_ms(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit(") ").next().unwrap_or("").split(' ').collect();
    let ticks: f64 = fields[11..13]
        .iter()
        .map(|f| f.parse::<f64>().unwrap_or(0.0))
        .sum();
    ticks * 10.0 // USER_HZ is 100 on Linux
}

fn drain(rx: &mut mpsc::UnboundedReceiver<(usize, Instant)>) -> Vec<(usize, Instant)> {
    std::iter::from_fn(|| rx.try_recv().ok()).collect()
}

async fn run(admin_url: String, every: Duration) {
    let name = format!("flow_team_bench_{}", std::process::id());
    let url = pg::create_database(&admin_url, &name).await;

    let root = tempfile::tempdir().unwrap();
    let dirs: Vec<PathBuf> = (0..MACHINES)
        .map(|i| root.path().join(format!("m{i}")))
        .collect();
    let t = Instant::now();
    std::thread::scope(|s| {
        for dir in &dirs {
            s.spawn(|| flow::generate_realistic(dir));
        }
    });
    println!(
        "<!-- generated {MACHINES} trees in {:.1?}; binary {} -->",
        t.elapsed(),
        flow::flow_bin().display()
    );
    println!();
    println!("| measure | figure |");
    println!("|---|---|");
    let total = MACHINES * SESSIONS;

    // Cold publish: every machine starts at once, on an empty database.
    let started = Instant::now();
    let machines: Vec<FlowServer> = dirs
        .iter()
        .enumerate()
        .map(|(i, dir)| {
            let machine = format!("m{i}");
            FlowServer::start(dir, &["--db", &url, "--publish", "--machine", &machine])
        })
        .collect();
    let (done, _) = listed_all(machines[WATCHER].addr, total).await;
    println!(
        "| {MACHINES} machines started on an empty database → `m{WATCHER}` lists all {total} sessions | {:.0} ms |",
        (done - started).as_secs_f64() * 1000.0
    );
    // Let every board settle (the other nine catch up too) before the new board starts.
    for m in &machines {
        listed_all(m.addr, total).await;
    }
    let rss_m0 = rss_kib(machines[WATCHER].pid());

    // A new board: not publishing, same database.
    let board_dir = root.path().join("board");
    std::fs::create_dir_all(&board_dir).unwrap();
    let started = Instant::now();
    let board = FlowServer::start(&board_dir, &["--db", &url, "--machine", "board"]);
    let (done, bytes) = listed_all(board.addr, total).await;
    println!(
        "| a new (11th, not publishing) board started → lists all {total} sessions ({bytes} bytes) | {:.0} ms |",
        (done - started).as_secs_f64() * 1000.0
    );
    println!(
        "| RSS: `m{WATCHER}` (its 200 sessions and 1,800 remote) / the new board (2,000 remote) | {:.1} / {:.1} MiB |",
        rss_m0 as f64 / 1024.0,
        rss_kib(board.pid()) as f64 / 1024.0
    );
    drop(board);

    // Cross-machine event latency: writes on m3, seen at m0 (and at m3 itself).
    let tasks = dirs[WRITER].join("tasks").join(SESSION);
    let (remote_tx, mut remote_rx) = mpsc::unbounded_channel();
    let (local_tx, mut local_rx) = mpsc::unbounded_channel();
    let remote_id = format!("m{WRITER}.{SESSION}");
    watch(machines[WATCHER].addr, remote_id, remote_tx).await;
    watch(machines[WRITER].addr, SESSION.to_owned(), local_tx).await;
    let (db_tx, mut db_rx) = mpsc::unbounded_channel();
    listen(&url, format!("m{WRITER}"), db_tx).await;
    // A first write, not counted, until it arrives: the path is warm and both clients hear.
    write_task(&tasks, 0);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !drain(&mut remote_rx).iter().any(|&(seq, _)| seq == 0) {
        assert!(
            Instant::now() < deadline,
            "the first write never reached m0"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    drain(&mut local_rx);
    drain(&mut db_rx);
    // Where the CPU goes: each process's CPU time while idle, then during the writes.
    let pids: Vec<u32> = machines.iter().map(FlowServer::pid).collect();
    let idle = Duration::from_secs(10);
    let cpu0 = pids.iter().map(|&p| cpu_ms(p)).collect::<Vec<_>>();
    tokio::time::sleep(idle).await;
    let cpu1 = pids.iter().map(|&p| cpu_ms(p)).collect::<Vec<_>>();
    let mut written = vec![None];
    let writing = Instant::now();
    for seq in 1..=WRITES {
        let at = Instant::now();
        written.push(Some(at));
        write_task(&tasks, seq);
        tokio::time::sleep_until((at + every).into()).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let span = writing.elapsed().as_secs_f64() / idle.as_secs_f64();
    let per_write: Vec<f64> = (0..MACHINES)
        .map(|i| (cpu_ms(pids[i]) - cpu1[i] - (cpu1[i] - cpu0[i]) * span) / WRITES as f64)
        .collect();
    let others = per_write.iter().enumerate().filter(|&(i, _)| i != WRITER);
    let idle_pct = (0..MACHINES).map(|i| cpu1[i] - cpu0[i]).sum::<f64>() / MACHINES as f64 / 100.0;
    println!(
        "| CPU per write above idle, `m{WRITER}` (writer) / each other machine (mean); idle, per machine | {:.1} / {:.1} ms; {idle_pct:.1} % of a core |",
        per_write[WRITER],
        others.map(|(_, c)| c).sum::<f64>() / (MACHINES - 1) as f64
    );
    let (sse_m0, sse_m3) = (
        format!("SSE client of `m{WATCHER}`"),
        format!("SSE client of `m{WRITER}`"),
    );
    for (what, rx) in [
        (format!("`update` at an {sse_m0}"), &mut remote_rx),
        (format!("`update` at an {sse_m3} (local)"), &mut local_rx),
        ("its `NOTIFY` at a `LISTEN` of the bench".into(), &mut db_rx),
    ] {
        let samples = latencies(&written, &drain(rx));
        let lost = WRITES - samples.len();
        println!(
            "| task write on `m{WRITER}` → {what}: p50 / p99 / max ({WRITES} writes, {} ms apart; {lost} never seen) | {} / {} / {} ms |",
            every.as_millis(),
            ms(pct(&samples, 0.5)),
            ms(pct(&samples, 0.99)),
            ms(pct(&samples, 1.0)),
        );
    }

    // Database rows and size per machine.
    let db = admin(&url).await;
    let r = db
        .query_one(
            "SELECT min(n), max(n), count(*), (SELECT count(*) FROM team_items WHERE doc IS NULL), \
             pg_total_relation_size('team_items'), pg_relation_size('team_items'), \
             (SELECT sum(length(doc))::bigint FROM team_items) \
             FROM (SELECT count(*) AS n FROM team_items GROUP BY machine) AS per",
            &[],
        )
        .await
        .unwrap();
    let [lo, hi, n, tombstones, total_size, heap, docs]: [i64; 7] =
        std::array::from_fn(|i| r.get(i));
    println!(
        "| `team_items` rows per machine ({n} machines, {tombstones} tombstones) | {lo}–{hi} |"
    );
    let mib = |b: i64| b as f64 / 1024.0 / 1024.0 / MACHINES as f64;
    println!(
        "| `team_items` size per machine: total (heap, TOAST, indexes) / heap / JSON documents | {:.2} / {:.2} / {:.2} MiB |",
        mib(total_size),
        mib(heap),
        mib(docs)
    );
    drop(machines);
    drop(db);
    pg::drop_database(&admin_url, &name).await;
}

fn main() {
    let Some(url) = std::env::var("FLOW_TEST_POSTGRES")
        .ok()
        .filter(|u| !u.is_empty())
    else {
        println!(
            "team bench skipped: FLOW_TEST_POSTGRES (a PostgreSQL admin URL) is not set; \
             see scripts/lib/postgres.sh"
        );
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    // `-- 500`: another pause between writes, in milliseconds.
    let every = std::env::args().skip(1).find_map(|a| a.parse().ok());
    runtime.block_on(run(url, Duration::from_millis(every.unwrap_or(100))));
}
