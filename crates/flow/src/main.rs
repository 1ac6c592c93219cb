//! The `flow` binary: turns flags and environment into a [`Config`] (flags beat environment,
//! environment beats defaults; contract §2) and runs the server, or generates a fixture tree.

mod agent;
mod cli;
mod features_cmd;
mod generate;
mod hook_cmd;
mod mcp_cmd;
mod setup_cmd;

use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

use crate::cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let serve = match cli.command {
        Some(Command::Serve(args)) => args,
        Some(Command::Generate(args)) => {
            return match generate::run(&args) {
                Ok(()) => ExitCode::SUCCESS,
                Err(err) => {
                    eprintln!("flow: {err:#}");
                    ExitCode::FAILURE
                }
            };
        }
        // Client commands print their own errors; logs would only clutter a terminal board
        // or a script's stderr.
        Some(Command::Mcp(args)) => return mcp_cmd::main(args),
        Some(Command::Hook(args)) => return hook_cmd::main(args),
        Some(Command::Setup(args)) => return setup_cmd::main(args),
        Some(client) => return agent::main(client),
        None => cli.serve,
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let config = match serve.into_config(&cli::Env::from_process()) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("flow: {err:#}");
            return ExitCode::from(2);
        }
    };
    // Every open browser tab or agent client holds a socket: allow as many as the system lets
    // this user have, rather than the conservative default soft limit.
    if let Err(err) = rlimit::increase_nofile_limit(u64::MAX) {
        tracing::debug!(%err, "could not raise the open-file limit");
    }
    let Some(runtime) = runtime(0) else {
        return ExitCode::FAILURE;
    };
    match runtime.block_on(flow_server::run_server(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("flow: {err}");
            ExitCode::FAILURE
        }
    }
}

/// A multi-threaded runtime with `workers` threads (0: one per core); says why on failure.
fn runtime(workers: usize) -> Option<tokio::runtime::Runtime> {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if workers > 0 {
        builder.worker_threads(workers);
    }
    builder
        .enable_all()
        .build()
        .inspect_err(|err| eprintln!("flow: cannot start the async runtime: {err}"))
        .ok()
}
