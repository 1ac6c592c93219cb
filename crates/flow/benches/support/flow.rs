//! The `flow` binary as the benchmarks run it: `flow generate` for a tree, and a server in its
//! own process on a free port, killed when dropped.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The `flow` binary to measure: this build's, or another one named by `FLOW_BIN` (to measure
/// an earlier build with the same client side).
pub(crate) fn flow_bin() -> PathBuf {
    std::env::var_os("FLOW_BIN").map_or_else(|| env!("CARGO_BIN_EXE_flow").into(), Into::into)
}

/// `flow generate --out <out> <args>` (quietly).
pub(crate) fn generate(out: &Path, args: &[&str]) {
    let status = Command::new(flow_bin())
        .arg("generate")
        .arg("--out")
        .arg(out)
        .args(args)
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "flow generate {args:?}");
}

/// The tree the fan-out and storm figures are measured on (and the read benchmark's small
/// one): 200 sessions × 20 tasks plus 300 transcript-only sessions, 64 KiB transcripts.
pub(crate) fn generate_realistic(out: &Path) {
    generate(
        out,
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
}

/// The large tree of the cold-start figures: `sessions` sessions × 20 tasks over 50 projects,
/// 4 KiB transcripts, none without a task list.
pub(crate) fn generate_large(out: &Path, sessions: usize) {
    generate(
        out,
        &[
            "--sessions",
            &sessions.to_string(),
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
}

/// A free port on loopback.
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A `flow` server over `dir` with the feature store off, its own data dir, and `extra`
/// arguments; killed when dropped.
pub(crate) struct FlowServer {
    pub(crate) child: Child,
    pub(crate) addr: SocketAddr,
}

impl FlowServer {
    pub(crate) fn start(dir: &Path, extra: &[&str]) -> Self {
        let port = free_port();
        let child = Command::new(flow_bin())
            .args(["--dir", dir.to_str().unwrap(), "--port", &port.to_string()])
            .args(["--data-dir", dir.join("flow-data").to_str().unwrap()])
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        Self {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
        }
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for FlowServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
