//! `flow generate`: writes a realistic Claude dir for benchmarks and demos: task folders with
//! Claude Code's file shapes, transcripts of a chosen size (some sessions have only a
//! transcript), and a `sessions-index.json` per project. Deterministic for given arguments.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;

#[derive(Debug, Args)]
pub(crate) struct GenerateArgs {
    /// Where to create the Claude dir (must not exist yet, or be empty).
    #[arg(long, value_name = "PATH")]
    out: PathBuf,
    /// Sessions with a task list.
    #[arg(long, default_value_t = 200)]
    sessions: usize,
    /// Tasks per session.
    #[arg(long, default_value_t = 20)]
    tasks: usize,
    /// Transcript size per session, in KiB.
    #[arg(long, default_value_t = 64)]
    transcript_kib: usize,
    /// Extra sessions that have only a transcript (not listed by the API).
    #[arg(long, default_value_t = 300)]
    transcript_only: usize,
    /// Projects the sessions are spread over.
    #[arg(long, default_value_t = 10)]
    projects: usize,
}

fn uuid(n: usize) -> String {
    format!("{n:08x}-0000-4000-8000-{:012x}", n * 7919)
}

#[expect(
    clippy::disallowed_methods,
    reason = "writes a fresh fixture tree, never a user's dir"
)]
fn write(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}

fn transcript(session: &str, cwd: &str, kib: usize, renamed: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(kib * 1024 + 512);
    let head = serde_json::json!({"type":"user","sessionId":session,"cwd":cwd,"slug":format!("slug-{}", &session[..8]),"message":{"role":"user","content":"Plan the work as a task list"}});
    writeln!(out, "{head}").ok();
    let filler = "x".repeat(900);
    let mut i = 0;
    while out.len() < kib * 1024 {
        let line = serde_json::json!({"type":"assistant","sessionId":session,"cwd":cwd,"uuid":i,"message":{"role":"assistant","content":filler}});
        writeln!(out, "{line}").ok();
        i += 1;
    }
    if renamed {
        writeln!(out, "{}", serde_json::json!({"type":"custom-title","customTitle":format!("Session {}", &session[..8])})).ok();
    }
    out
}

pub(crate) fn run(args: &GenerateArgs) -> anyhow::Result<()> {
    if args.out.exists() && std::fs::read_dir(&args.out)?.next().is_some() {
        anyhow::bail!("{} exists and is not empty", args.out.display());
    }
    let statuses = [
        "completed",
        "completed",
        "in_progress",
        "pending",
        "pending",
    ];
    let projects = args.projects.max(1);
    let mut index: Vec<Vec<serde_json::Value>> = vec![Vec::new(); projects];
    for s in 0..args.sessions + args.transcript_only {
        let sid = uuid(s);
        let p = s % projects;
        let cwd = format!("/home/dev/project-{p}");
        let project_dir = args
            .out
            .join("projects")
            .join(format!("-home-dev-project-{p}"));
        write(
            &project_dir.join(format!("{sid}.jsonl")),
            &transcript(&sid, &cwd, args.transcript_kib, s % 3 == 0),
        )?;
        index[p].push(serde_json::json!({"sessionId":sid,"fullPath":project_dir.join(format!("{sid}.jsonl")),"firstPrompt":"Plan the work","summary":format!("Work item {s}"),"messageCount":40,"created":"2026-11-01T09:00:00.000Z","modified":"2026-11-20T09:00:00.000Z","gitBranch":format!("feature/{s}"),"projectPath":cwd,"isSidechain":false}));
        if s >= args.sessions {
            continue;
        }
        let dir = args.out.join("tasks").join(&sid);
        for t in 1..=args.tasks {
            let blocked_by: Vec<String> = if t > 1 {
                vec![(t - 1).to_string()]
            } else {
                vec![]
            };
            let task = serde_json::json!({
                "id": t.to_string(),
                "subject": format!("Task {t} of session {s}"),
                "description": format!("Implement part {t}.\n\n- step one\n- step two\n\nSee `src/module_{t}.rs`."),
                "activeForm": format!("Implementing part {t}"),
                "status": statuses[(s + t) % statuses.len()],
                "blocks": if t < args.tasks { vec![(t + 1).to_string()] } else { vec![] },
                "blockedBy": blocked_by,
            });
            write(
                &dir.join(format!("{t}.json")),
                serde_json::to_string_pretty(&task)?.as_bytes(),
            )?;
        }
        write(&dir.join(".lock"), b"")?;
        write(
            &dir.join(".highwatermark"),
            args.tasks.to_string().as_bytes(),
        )?;
    }
    for (p, entries) in index.into_iter().enumerate() {
        let path = args
            .out
            .join("projects")
            .join(format!("-home-dev-project-{p}"))
            .join("sessions-index.json");
        write(
            &path,
            serde_json::json!({"version":1,"entries":entries})
                .to_string()
                .as_bytes(),
        )?;
    }
    eprintln!(
        "flow: wrote {} sessions × {} tasks and {} transcript-only sessions ({} KiB transcripts) to {}",
        args.sessions,
        args.tasks,
        args.transcript_only,
        args.transcript_kib,
        args.out.display()
    );
    Ok(())
}
