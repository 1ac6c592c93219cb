//! Command line and environment → [`Config`]. Environment variables are read once, into
//! [`Env`], so the precedence rules are a pure function that unit tests can check.

use std::net::IpAddr;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use flow_core::Config;
use flow_core::config::{DEFAULT_PORT, DEFAULT_PORT_FALLBACKS, Database, expand_tilde};

/// Flow: a live Kanban board for AI coding agents.
///
/// Reads the task lists Claude Code writes under ~/.claude and serves them as a web board,
/// a JSON API and a live event stream.
#[derive(Debug, Parser)]
#[command(name = "flow", version, about, long_about)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Option<Command>,
    #[command(flatten)]
    pub(crate) serve: ServeArgs,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run the board server (the default when no command is given).
    Serve(ServeArgs),
    /// Write a realistic Claude dir for benchmarks and demos.
    Generate(crate::generate::GenerateArgs),
    /// The board in this terminal, live from a running server.
    Tui(ConnectArgs),
    /// Print every live event of a running server as one JSON line (for scripts and agents).
    Watch(WatchArgs),
    /// List sessions, newest first.
    Sessions(SessionsArgs),
    /// List one session's tasks by status.
    Tasks(TasksArgs),
    /// List features in dependency order, with their state and what blocks them.
    Features(FeaturesArgs),
    /// Claim the next ready feature (or one by id) for an agent; prints the claim token.
    Claim(ClaimArgs),
    /// Complete a claimed feature; prints the features it made ready.
    Complete(CompleteArgs),
    /// Extend the lease on a claimed feature.
    Heartbeat(HeartbeatArgs),
    /// Give a claimed feature back to the queue.
    Release(ReleaseArgs),
    /// Flow's MCP tools over stdio, for Claude Code's `mcpServers` (asks a running Flow).
    Mcp(ConnectArgs),
    /// Forward a Claude Code hook payload (stdin) to a running Flow; always exits 0, silent.
    Hook(crate::hook_cmd::HookArgs),
    /// Print the Claude Code settings that wire Flow's hooks in, or --apply / --remove them.
    Setup(crate::setup_cmd::SetupArgs),
}

/// Where the running server is. Exit codes of the client commands: 0 ok, 1 refused or failed,
/// 2 usage, 3 server unreachable, 4 conflict (claimed by another, lease lost, blocked, or
/// nothing left to claim).
#[derive(Debug, Clone, Args)]
pub(crate) struct ConnectArgs {
    /// The Flow server.
    #[arg(long, env = "FLOW_URL", default_value = "http://127.0.0.1:3456")]
    pub(crate) url: String,
    /// The server's --token, when it requires one.
    #[arg(long, value_name = "TOKEN", env = "FLOW_TOKEN", hide_env_values = true)]
    pub(crate) auth_token: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct Output {
    #[command(flatten)]
    pub(crate) connect: ConnectArgs,
    /// Print the server's JSON instead of a table.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct WatchArgs {
    #[command(flatten)]
    pub(crate) connect: ConnectArgs,
    /// Only this session's task events (repeatable); other events always come through.
    #[arg(long = "session", value_name = "ID")]
    pub(crate) sessions: Vec<String>,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct SessionsArgs {
    #[command(flatten)]
    pub(crate) out: Output,
    /// How many sessions: a number or `all`.
    #[arg(long, default_value = "20", value_parser = session_limit)]
    pub(crate) limit: String,
}

/// Checked here, so a typo is a usage error (exit 2) rather than the server's 400.
fn session_limit(raw: &str) -> Result<String, String> {
    if raw == "all" || raw.parse::<u32>().is_ok_and(|n| n > 0) {
        Ok(raw.to_owned())
    } else {
        Err("expected a positive number or `all`".into())
    }
}

#[derive(Debug, Clone, Args)]
pub(crate) struct TasksArgs {
    #[command(flatten)]
    pub(crate) out: Output,
    /// The session id, as `flow sessions` lists it.
    pub(crate) session: String,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct FeaturesArgs {
    /// `flow features add …`; without one, the list.
    #[command(subcommand)]
    pub(crate) command: Option<crate::features_cmd::FeaturesCommand>,
    #[command(flatten)]
    pub(crate) out: Output,
    /// Only these statuses, comma separated (pending, in_progress, review, needs_input, done,
    /// cancelled).
    #[arg(long)]
    pub(crate) status: Option<String>,
    #[arg(long)]
    pub(crate) project: Option<String>,
    #[arg(long)]
    pub(crate) category: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct ClaimArgs {
    #[command(flatten)]
    pub(crate) out: Output,
    /// Who is claiming: shown on the board as `claimedBy`.
    #[arg(long)]
    pub(crate) agent: String,
    /// Claim this feature instead of the next ready one.
    #[arg(long, value_name = "ID")]
    pub(crate) feature: Option<u64>,
    /// Lease length in seconds; heartbeat before it runs out [default: the server's, 900].
    #[arg(long, value_name = "SECS")]
    pub(crate) lease: Option<u32>,
}

/// A claimed feature and the token that proves the claim.
#[derive(Debug, Clone, Args)]
pub(crate) struct Claimed {
    /// The feature id.
    pub(crate) id: u64,
    /// The claim token `flow claim` printed.
    #[arg(long, env = "FLOW_CLAIM_TOKEN", hide_env_values = true)]
    pub(crate) token: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct CompleteArgs {
    #[command(flatten)]
    pub(crate) out: Output,
    #[command(flatten)]
    pub(crate) claimed: Claimed,
    /// Complete even if prerequisites are not done.
    #[arg(long)]
    pub(crate) force: bool,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct HeartbeatArgs {
    #[command(flatten)]
    pub(crate) out: Output,
    #[command(flatten)]
    pub(crate) claimed: Claimed,
    /// New lease length in seconds, from now.
    #[arg(long, value_name = "SECS")]
    pub(crate) lease: Option<u32>,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct ReleaseArgs {
    #[command(flatten)]
    pub(crate) out: Output,
    #[command(flatten)]
    pub(crate) claimed: Claimed,
    /// The work failed: counts an attempt (after 3 the feature needs input).
    #[arg(long)]
    pub(crate) failed: bool,
}

#[derive(Debug, Clone, Default, Args)]
pub(crate) struct ServeArgs {
    /// Port to listen on [env: PORT] [default: 3456, or the next free of 3457-3465].
    #[arg(long)]
    port: Option<u16>,
    /// Address to bind [env: HOST] [default: 127.0.0.1]. Anything but loopback exposes the
    /// board to other machines.
    #[arg(long)]
    host: Option<IpAddr>,
    /// Claude Code directory, `~` expanded [env: CLAUDE_DIR, else CLAUDE_CONFIG_DIR]
    /// [default: ~/.claude].
    #[arg(long, value_name = "PATH")]
    dir: Option<String>,
    /// Task lists directory [env: TASKS_DIR] [default: <dir>/tasks].
    #[arg(long, value_name = "PATH")]
    tasks_dir: Option<String>,
    /// Transcripts directory [env: PROJECTS_DIR] [default: <dir>/projects].
    #[arg(long, value_name = "PATH")]
    projects_dir: Option<String>,
    /// Serve this web UI directory instead of the embedded one [env: PUBLIC_DIR].
    #[arg(long, value_name = "PATH")]
    public_dir: Option<String>,
    /// Open the board in the default browser once listening [env: OPEN_BROWSER=true].
    #[arg(long)]
    open: bool,
    /// Flow's own data dir for the theme and feature store [env: FLOW_DATA_DIR]
    /// [default: the platform data dir + /flow, e.g. ~/.local/share/flow].
    #[arg(long, value_name = "PATH")]
    data_dir: Option<String>,
    /// Also answer requests whose Host is this name (repeatable); other names are refused
    /// as DNS rebinding. IP addresses and localhost are always accepted.
    #[arg(long, value_name = "NAME")]
    allowed_host: Vec<String>,
    /// Require this bearer token on every API call [env: FLOW_TOKEN]. The browser gets it
    /// once through the link printed at start, which sets a cookie.
    #[arg(long, value_name = "TOKEN")]
    token: Option<String>,
    /// The feature store: a SQLite file, or a postgres:// URL that several Flow servers can
    /// share [env: FLOW_DB, a path, a URL or `off`] [default: <data dir>/flow.db, created on
    /// first start].
    #[arg(long, value_name = "PATH|URL", conflicts_with = "no_db")]
    db: Option<String>,
    /// Run without the feature store: /api/features answers 404 features_disabled.
    #[arg(long)]
    no_db: bool,
    /// Publish this machine's sessions, tasks, agent states and teams to the team board in
    /// the PostgreSQL --db [env: FLOW_PUBLISH=1]. Serve such a board with --token.
    #[arg(long)]
    publish: bool,
    /// This machine's name on the team board [env: FLOW_MACHINE] [default: the host name].
    #[arg(long, value_name = "NAME")]
    machine: Option<String>,
}

/// The environment variables Flow reads, captured once.
#[derive(Debug, Default)]
pub(crate) struct Env {
    pub(crate) port: Option<String>,
    pub(crate) host: Option<String>,
    pub(crate) claude_dir: Option<String>,
    pub(crate) claude_config_dir: Option<String>,
    pub(crate) tasks_dir: Option<String>,
    pub(crate) projects_dir: Option<String>,
    pub(crate) public_dir: Option<String>,
    pub(crate) open_browser: Option<String>,
    pub(crate) data_dir: Option<String>,
    pub(crate) token: Option<String>,
    pub(crate) db: Option<String>,
    pub(crate) publish: Option<String>,
    pub(crate) machine: Option<String>,
    pub(crate) home: Option<PathBuf>,
    /// The platform's data dir (`~/.local/share` on Linux).
    pub(crate) platform_data_dir: Option<PathBuf>,
}

impl Env {
    pub(crate) fn from_process() -> Self {
        // An empty variable is treated as unset, as shells users write `PORT= flow` expect.
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        Self {
            port: var("PORT"),
            host: var("HOST"),
            claude_dir: var("CLAUDE_DIR"),
            claude_config_dir: var("CLAUDE_CONFIG_DIR"),
            tasks_dir: var("TASKS_DIR"),
            projects_dir: var("PROJECTS_DIR"),
            public_dir: var("PUBLIC_DIR"),
            open_browser: var("OPEN_BROWSER"),
            data_dir: var("FLOW_DATA_DIR"),
            token: var("FLOW_TOKEN"),
            db: var("FLOW_DB"),
            publish: var("FLOW_PUBLISH"),
            machine: var("FLOW_MACHINE"),
            home: dirs::home_dir(),
            platform_data_dir: dirs::data_dir(),
        }
    }
}

impl ServeArgs {
    pub(crate) fn into_config(self, env: &Env) -> anyhow::Result<Config> {
        let home = env.home.as_deref();
        let path = |raw: &str| absolute(expand_tilde(raw, home));

        let (port, port_fallbacks) = match (self.port, env.port.as_deref()) {
            (Some(port), _) => (port, 0),
            (None, Some(raw)) => (
                raw.parse()
                    .with_context(|| format!("PORT must be a port number, got `{raw}`"))?,
                0,
            ),
            (None, None) => (DEFAULT_PORT, DEFAULT_PORT_FALLBACKS),
        };
        let host = match (self.host, env.host.as_deref()) {
            (Some(host), _) => host,
            (None, Some(raw)) => raw
                .parse()
                .with_context(|| format!("HOST must be an IP address, got `{raw}`"))?,
            (None, None) => IpAddr::from([127, 0, 0, 1]),
        };
        let claude_dir = match self
            .dir
            .as_deref()
            .or(env.claude_dir.as_deref())
            .or(env.claude_config_dir.as_deref())
        {
            Some(raw) => path(raw),
            None => match home {
                Some(home) => home.join(".claude"),
                None => bail!("cannot find the home directory; pass --dir or set CLAUDE_DIR"),
            },
        };
        let mut config = Config::for_claude_dir(claude_dir);
        config.host = host;
        config.port = port;
        config.port_fallbacks = port_fallbacks;
        if let Some(raw) = self.tasks_dir.as_deref().or(env.tasks_dir.as_deref()) {
            config.tasks_dir = path(raw);
        }
        if let Some(raw) = self.projects_dir.as_deref().or(env.projects_dir.as_deref()) {
            config.projects_dir = path(raw);
        }
        config.public_dir = self
            .public_dir
            .as_deref()
            .or(env.public_dir.as_deref())
            .map(path);
        config.data_dir = match self.data_dir.as_deref().or(env.data_dir.as_deref()) {
            Some(raw) => Some(path(raw)),
            None => env.platform_data_dir.as_ref().map(|d| d.join("flow")),
        };
        config.db = if self.no_db {
            None
        } else {
            match self.db.as_deref().or(env.db.as_deref()) {
                Some(off) if off.eq_ignore_ascii_case("off") => None,
                Some(raw) => Some(match Database::parse(raw).map_err(anyhow::Error::msg)? {
                    Database::Sqlite(_) => Database::Sqlite(path(raw)),
                    url => url,
                }),
                None => config
                    .data_dir
                    .as_ref()
                    .map(|d| Database::Sqlite(d.join("flow.db"))),
            }
        };
        config.publish = self.publish
            || env
                .publish
                .as_deref()
                .is_some_and(|v| v == "1" || v.eq_ignore_ascii_case("true"));
        if let Some(name) = self.machine.or_else(|| env.machine.clone()) {
            flow_core::config::check_machine_name(&name).map_err(anyhow::Error::msg)?;
            config.machine = name;
        }
        if config.publish && !matches!(config.db, Some(Database::Postgres(_))) {
            bail!("--publish needs a PostgreSQL --db (postgres://…): the team board lives there");
        }
        config.allowed_hosts = self.allowed_host;
        config.token = self.token.or_else(|| env.token.clone());
        if config.token.as_deref() == Some("") {
            bail!("the token must not be empty");
        }
        config.open_browser = self.open
            || env
                .open_browser
                .as_deref()
                .is_some_and(|v| v.eq_ignore_ascii_case("true") || v == "1");
        Ok(config)
    }
}

/// Relative paths are taken from the current directory once, so the config never depends on
/// where the process later runs.
fn absolute(path: PathBuf) -> PathBuf {
    if path.is_absolute() {
        return path;
    }
    std::env::current_dir()
        .map(|cwd| cwd.join(&path))
        .unwrap_or(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(args: &[&str], env: Env) -> Config {
        let cli = Cli::try_parse_from(std::iter::once("flow").chain(args.iter().copied())).unwrap();
        let serve = match cli.command {
            Some(Command::Serve(a)) => a,
            _ => cli.serve,
        };
        serve.into_config(&env).unwrap()
    }

    fn home() -> Env {
        Env {
            home: Some("/home/dev".into()),
            ..Env::default()
        }
    }

    #[test]
    fn defaults_serve_home_claude_on_loopback() {
        let c = config(&[], home());
        assert_eq!(c.claude_dir, PathBuf::from("/home/dev/.claude"));
        assert_eq!(c.tasks_dir, PathBuf::from("/home/dev/.claude/tasks"));
        assert_eq!(c.host.to_string(), "127.0.0.1");
        assert_eq!((c.port, c.port_fallbacks), (3456, 9));
        assert!(!c.open_browser);
        assert_eq!(c.public_dir, None);
    }

    #[test]
    fn flags_beat_environment_beats_defaults() {
        let env = Env {
            port: Some("4000".into()),
            claude_dir: Some("~/env-claude".into()),
            claude_config_dir: Some("/ignored".into()),
            tasks_dir: Some("/env/tasks".into()),
            open_browser: Some("true".into()),
            ..home()
        };
        let c = config(&["serve", "--port", "5000", "--tasks-dir", "~/t"], env);
        assert_eq!((c.port, c.port_fallbacks), (5000, 0));
        assert_eq!(c.claude_dir, PathBuf::from("/home/dev/env-claude"));
        assert_eq!(c.tasks_dir, PathBuf::from("/home/dev/t"));
        assert_eq!(
            c.projects_dir,
            PathBuf::from("/home/dev/env-claude/projects")
        );
        assert!(c.open_browser);

        let env = Env {
            port: Some("4000".into()),
            ..home()
        };
        assert_eq!(
            config(&[], env).port_fallbacks,
            0,
            "an explicit env port does not wander"
        );
    }

    #[test]
    fn data_dir_token_and_allowed_hosts() {
        let env = Env {
            token: Some("env-token".into()),
            platform_data_dir: Some("/home/dev/.local/share".into()),
            ..home()
        };
        let c = config(
            &["--allowed-host", "flow.lan", "--allowed-host", "box"],
            env,
        );
        assert_eq!(
            c.data_dir,
            Some(PathBuf::from("/home/dev/.local/share/flow"))
        );
        assert_eq!(c.token.as_deref(), Some("env-token"));
        assert_eq!(c.allowed_hosts, ["flow.lan", "box"]);
        let c = config(&["--data-dir", "~/d", "--token", "flag"], home());
        assert_eq!(c.data_dir, Some(PathBuf::from("/home/dev/d")));
        assert_eq!(c.token.as_deref(), Some("flag"));
        assert_eq!(
            c.db,
            Some(Database::Sqlite("/home/dev/d/flow.db".into())),
            "the store lives in the data dir"
        );
    }

    #[test]
    fn feature_store_location_and_off_switch() {
        let env = |db: &str| Env {
            db: Some(db.into()),
            platform_data_dir: Some("/data".into()),
            ..home()
        };
        assert_eq!(config(&[], env("off")).db, None);
        assert_eq!(config(&[], env("OFF")).db, None);
        assert_eq!(
            config(&[], env("~/f.db")).db,
            Some(Database::Sqlite("/home/dev/f.db".into()))
        );
        assert_eq!(
            config(&["--db", "/x.db"], env("off")).db,
            Some(Database::Sqlite("/x.db".into()))
        );
        assert_eq!(config(&["--no-db"], env("/y.db")).db, None);
        assert_eq!(
            config(&[], env("postgres://flow@db/flow")).db,
            Some(Database::Postgres("postgres://flow@db/flow".into()))
        );
        let cli = Cli::try_parse_from(["flow", "--publish", "--db", "/x.db"]).unwrap();
        let err = cli.serve.into_config(&env("off")).unwrap_err().to_string();
        assert!(err.contains("--publish needs a PostgreSQL --db"), "{err}");
        let published = config(
            &["--publish", "--machine", "box-2"],
            env("postgres://flow@db/flow"),
        );
        assert!(published.publish);
        assert_eq!(published.machine, "box-2");
        let cli = Cli::try_parse_from(["flow", "--machine", "a.b"]).unwrap();
        let err = cli.serve.into_config(&env("off")).unwrap_err().to_string();
        assert!(err.contains("invalid machine name"), "{err}");
        let cli = Cli::try_parse_from(["flow", "--db", "mysql://db/flow"]).unwrap();
        let err = cli.serve.into_config(&env("off")).unwrap_err().to_string();
        assert!(err.contains("unsupported database URL scheme"), "{err}");
    }

    #[test]
    fn claude_config_dir_is_the_fallback() {
        let env = Env {
            claude_config_dir: Some("/cfg".into()),
            ..home()
        };
        assert_eq!(config(&[], env).claude_dir, PathBuf::from("/cfg"));
    }

    #[test]
    fn bad_environment_is_a_clear_error() {
        let env = Env {
            port: Some("http".into()),
            ..home()
        };
        let err = Cli::try_parse_from(["flow"])
            .unwrap()
            .serve
            .into_config(&env)
            .unwrap_err();
        assert!(
            err.to_string().contains("PORT must be a port number"),
            "{err}"
        );
    }
}
