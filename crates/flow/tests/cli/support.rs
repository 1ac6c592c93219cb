//! Starting the real binary: as a server over a temp Claude dir, and as a client of it.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use serde_json::Value;

/// `flow` with none of the developer's environment leaking in.
pub(crate) fn flow() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_flow"));
    for var in [
        "PORT",
        "HOST",
        "CLAUDE_DIR",
        "CLAUDE_CONFIG_DIR",
        "TASKS_DIR",
        "PROJECTS_DIR",
        "PUBLIC_DIR",
        "OPEN_BROWSER",
        "FLOW_TOKEN",
        "FLOW_DATA_DIR",
        "FLOW_URL",
        "FLOW_CLAIM_TOKEN",
        "RUST_LOG",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("NO_COLOR", "1");
    // Tests must not create a feature store in $HOME; those that need one pass --db.
    cmd.env("FLOW_DB", "off");
    cmd
}

/// Waits for the child to exit, up to `limit`; returns its exit status if it did. On a timeout
/// the child is killed (so a hung process never outlives its test) and the answer is `None`.
pub(crate) fn wait_exit(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let pid = child.id();
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::channel();
        let waiter = scope.spawn(move || {
            let status = child.wait().expect("wait");
            let _ = tx.send(());
            status
        });
        let exited = rx.recv_timeout(limit).is_ok();
        if !exited {
            // Ends the blocked `wait` above; the status it then reports is our kill, not an exit.
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        }
        let status = waiter.join().expect("waiter");
        exited.then_some(status)
    })
}

/// Sends SIGTERM to `child` and waits up to `limit` for it to exit (see [`wait_exit`]).
pub(crate) fn terminate(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    wait_exit(child, limit)
}

/// Spawns `cmd` (a server) and returns it with its address, read from the "listening" line.
pub(crate) fn spawn_listening_cmd(cmd: Command) -> (Child, String) {
    spawn_listening(cmd)
}

fn spawn_listening(mut cmd: Command) -> (Child, String) {
    let mut child = cmd.stderr(Stdio::piped()).spawn().expect("spawn flow");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let addr = loop {
        let line = lines
            .next()
            .expect("flow exited before listening")
            .expect("read stderr");
        if line.contains("flow is listening") {
            let rest = line
                .split("http://")
                .nth(1)
                .expect("url in the listening line");
            break rest.split_whitespace().next().expect("address").to_owned();
        }
    };
    // Keep draining stderr so the child never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (child, addr)
}

/// Starts the server without a feature store on an ephemeral port.
pub(crate) fn start(dir: &Path) -> (Child, String) {
    let mut cmd = flow();
    cmd.args(["--dir", dir.to_str().unwrap(), "--port", "0"]);
    spawn_listening(cmd)
}

/// A running server with its feature store, over a temp Claude dir; killed on drop.
pub(crate) struct Server {
    child: Child,
    pub(crate) url: String,
    pub(crate) dir: tempfile::TempDir,
}

impl Server {
    pub(crate) fn start() -> Self {
        Self::start_in(tempfile::tempdir().unwrap(), 0)
    }

    /// Starts over `dir` on `port` (0: any), e.g. again after [`Server::stop`].
    pub(crate) fn start_in(dir: tempfile::TempDir, port: u16) -> Self {
        let mut cmd = flow();
        cmd.arg("--dir")
            .arg(dir.path())
            .arg("--data-dir")
            .arg(dir.path().join("flow-data"))
            .arg("--db")
            .arg(dir.path().join("flow-data/flow.db"))
            .args(["--port", &port.to_string()]);
        let (child, addr) = spawn_listening(cmd);
        Self {
            child,
            url: format!("http://{addr}"),
            dir,
        }
    }

    /// Ends the server (SIGKILL: the clients must cope with a server that simply vanishes)
    /// and hands back its directory.
    pub(crate) fn stop(mut self) -> tempfile::TempDir {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let dir = tempfile::tempdir().unwrap();
        std::mem::replace(&mut self.dir, dir)
    }

    pub(crate) fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Writes a task file as Claude Code does (pretty JSON), creating the session folder.
    pub(crate) fn write_task(&self, session: &str, task: &Value) {
        write_task(self.dir.path(), session, task);
    }

    /// `flow <args> --url <this server>`, run to completion.
    pub(crate) fn run(&self, args: &[&str]) -> Run {
        let mut cmd = flow();
        cmd.args(args).args(["--url", &self.url]);
        Run::of(cmd.output().expect("run flow"))
    }

    /// `flow <args> --url <this server>`, spawned with stdout and stderr piped.
    pub(crate) fn spawn(&self, args: &[&str]) -> Child {
        flow()
            .args(args)
            .args(["--url", &self.url])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn flow")
    }

    /// POSTs JSON to the API, through the same client the commands use.
    pub(crate) fn post(&self, path: &str, body: Value) -> Value {
        let client = flow_client::Client::new(&self.url, None).unwrap();
        runtime()
            .block_on(client.post(path, body))
            .unwrap_or_else(|e| panic!("POST {path}: {e}"))
    }

    /// GETs JSON from the API, through the same client the commands use.
    pub(crate) fn get(&self, path: &str) -> Value {
        let client = flow_client::Client::new(&self.url, None).unwrap();
        runtime()
            .block_on(client.get(path))
            .unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn write_task(root: &Path, session: &str, task: &Value) {
    let id = task["id"].as_str().expect("string id");
    let file = root.join(format!("tasks/{session}/{id}.json"));
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    flow_core::fs::write_atomic(
        &file,
        serde_json::to_string_pretty(task).unwrap().as_bytes(),
    )
    .unwrap();
}

/// A finished client command.
#[derive(Debug)]
pub(crate) struct Run {
    pub(crate) code: Option<i32>,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Run {
    pub(crate) fn of(out: Output) -> Self {
        Self {
            code: out.status.code(),
            stdout: String::from_utf8(out.stdout).unwrap(),
            stderr: String::from_utf8(out.stderr).unwrap(),
        }
    }

    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self:?}"))
    }

    /// Asserts the exit code, showing the whole run when it differs.
    pub(crate) fn expect(self, code: i32) -> Self {
        assert_eq!(self.code, Some(code), "{self:#?}");
        self
    }
}

pub(crate) fn task(id: &str, status: &str, subject: &str) -> Value {
    serde_json::json!({
        "id": id, "subject": subject, "description": "", "activeForm": format!("Doing {subject}"),
        "status": status, "blocks": [], "blockedBy": []
    })
}

/// A port nothing listens on (bound, then released).
pub(crate) fn free_port() -> u16 {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    probe.local_addr().unwrap().port()
}

/// A runtime for the async clients (HTTP, MCP) these synchronous tests drive.
pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}
