//! `flow hook`: the command Claude Code runs on its hook events (contract §8). It reads the
//! payload from stdin, adds the shared task list the session writes to (Claude Code's
//! `CLAUDE_CODE_TASK_LIST_ID`, which the hook inherits) and posts it to `POST /api/hooks`.
//! It must never hold up or break Claude Code: a short timeout, exit 0 whatever happens, and
//! nothing on stdout (Claude Code adds a hook's stdout to the model's context); `--verbose`
//! reports on stderr.

use std::io::Read;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use flow_client::{Client, Method};
use serde_json::Value;

use crate::cli::ConnectArgs;

/// What the server accepts at most (contract §3); a larger payload is not sent.
const MAX_PAYLOAD: u64 = flow_server::BODY_LIMIT as u64;

#[derive(Debug, Clone, Args)]
pub(crate) struct HookArgs {
    #[command(flatten)]
    pub(crate) connect: ConnectArgs,
    /// Give up after this many milliseconds.
    #[arg(long, value_name = "MS", default_value = "1500")]
    pub(crate) timeout_ms: u64,
    /// Say on stderr what happened (by default the command is silent).
    #[arg(long)]
    pub(crate) verbose: bool,
}

pub(crate) fn main(args: HookArgs) -> ExitCode {
    let task_list = std::env::var("CLAUDE_CODE_TASK_LIST_ID")
        .ok()
        .filter(|v| !v.is_empty());
    let outcome = run(&args, task_list);
    if args.verbose {
        match outcome {
            Ok(said) => eprintln!("flow hook: {said}"),
            Err(err) => eprintln!("flow hook: {err}"),
        }
    }
    ExitCode::SUCCESS
}

fn run(args: &HookArgs, task_list: Option<String>) -> Result<String, String> {
    let mut bytes = Vec::new();
    std::io::stdin()
        .take(MAX_PAYLOAD + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("reading stdin: {e}"))?;
    if bytes.len() as u64 > MAX_PAYLOAD {
        return Err(format!("the payload exceeds {MAX_PAYLOAD} bytes; not sent"));
    }
    let mut payload: Value =
        serde_json::from_slice(&bytes).map_err(|e| format!("not a hook payload: {e}"))?;
    if let (Some(list), Some(object)) = (task_list, payload.as_object_mut()) {
        object.insert("flow_task_list".into(), Value::String(list));
    }
    let timeout = Duration::from_millis(args.timeout_ms);
    let client = Client::with_timeout(&args.connect.url, args.connect.auth_token.clone(), timeout)
        .map_err(|e| e.to_string())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    let (status, body) = runtime
        .block_on(client.request(Method::POST, "/api/hooks", Some(payload)))
        .map_err(|e| e.to_string())?;
    Ok(format!("{status} {body}"))
}
