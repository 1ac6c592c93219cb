//! Criterion micro-benchmarks of the readers of Claude Code's files: a task file, a
//! transcript (first read and an append), and a cold index scan of a small tree.
//! `cargo bench -p flow-core --bench readers`.
#![allow(clippy::unwrap_used)]

use std::hint::black_box;
use std::io::Write;

use criterion::{Criterion, criterion_group, criterion_main};
use flow_core::transcript::TranscriptCursor;
use flow_core::{Index, Layout, Task};

fn task_json(i: usize) -> String {
    serde_json::to_string_pretty(&serde_json::json!({
        "id": i.to_string(),
        "subject": format!("Task {i}"),
        "description": "Implement the thing.\n\n- step one\n- step two\n\nSee `src/lib.rs`.",
        "activeForm": "Implementing the thing",
        "status": "in_progress",
        "blocks": [(i + 1).to_string()],
        "blockedBy": [i.saturating_sub(1).to_string()],
        "metadata": {"priority": "high"}
    }))
    .unwrap()
}

#[expect(clippy::disallowed_methods, reason = "writes a fixture tree")]
fn tree(sessions: usize, tasks: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for s in 0..sessions {
        let sdir = dir.path().join("tasks").join(format!("s{s}"));
        std::fs::create_dir_all(&sdir).unwrap();
        for t in 1..=tasks {
            std::fs::write(sdir.join(format!("{t}.json")), task_json(t)).unwrap();
        }
    }
    dir
}

fn readers(c: &mut Criterion) {
    let text = task_json(7);
    c.bench_function("Task::parse (pretty task file)", |b| {
        b.iter(|| Task::parse(black_box(text.as_bytes())).unwrap());
    });

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.jsonl");
    {
        let mut f = std::fs::File::create(&path).unwrap();
        writeln!(
            f,
            "{}",
            serde_json::json!({"type":"user","cwd":"/repo","slug":"calm-fox"})
        )
        .unwrap();
        let filler = "x".repeat(2000);
        for i in 0..500 {
            writeln!(
                f,
                "{}",
                serde_json::json!({"type":"assistant","i":i,"text":filler})
            )
            .unwrap();
        }
        writeln!(
            f,
            "{}",
            serde_json::json!({"type":"custom-title","customTitle":"Renamed"})
        )
        .unwrap();
    }
    c.bench_function("TranscriptCursor first read (1 MiB)", |b| {
        b.iter(|| {
            let mut cursor = TranscriptCursor::default();
            cursor.read_new(black_box(&path)).unwrap();
            cursor
        });
    });
    let mut cursor = TranscriptCursor::default();
    cursor.read_new(&path).unwrap();
    c.bench_function("TranscriptCursor re-check, nothing appended", |b| {
        b.iter(|| cursor.read_new(black_box(&path)).unwrap());
    });

    let small = tree(200, 20);
    let layout = Layout {
        tasks_dir: small.path().join("tasks"),
        projects_dir: small.path().join("projects"),
        sessions_dir: small.path().join("sessions"),
        teams_dir: small.path().join("teams"),
        plans_dir: small.path().join("plans"),
        todos_dir: small.path().join("todos"),
    };
    let mut group = c.benchmark_group("index");
    group.sample_size(20);
    group.bench_function("Index::scan (200 sessions × 20 tasks)", |b| {
        b.iter(|| Index::scan(black_box(layout.clone())));
    });
    let index = Index::scan(layout.clone());
    group.bench_function("Index::newest(20) of 200", |b| {
        b.iter(|| index.newest(black_box(20)).len())
    });
    group.finish();
}

criterion_group!(benches, readers);
criterion_main!(benches);
