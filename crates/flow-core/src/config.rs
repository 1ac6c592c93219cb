//! The fully resolved configuration of one Flow server. Built in code (the `flow` binary turns
//! flags and environment into it; embedders and tests fill it directly): nothing here reads the
//! environment, so two servers in one process never see each other's settings.

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::time::Clock;

/// The port Flow tries first when none is given (contract §2).
pub const DEFAULT_PORT: u16 = 3456;
/// How many ports after the default Flow tries when the default is taken.
pub const DEFAULT_PORT_FALLBACKS: u16 = 9;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Address to listen on; loopback unless the user asks otherwise.
    pub host: IpAddr,
    pub port: u16,
    /// How many following ports to try when `port` is taken: 9 for the default port, 0 for a
    /// port the user chose (an explicit port that is taken is an error, not a surprise).
    pub port_fallbacks: u16,
    /// The Claude Code directory (`~/.claude`), already `~`-expanded.
    pub claude_dir: PathBuf,
    /// Where task lists live; `<claude_dir>/tasks` unless overridden.
    pub tasks_dir: PathBuf,
    /// Where transcripts live; `<claude_dir>/projects` unless overridden.
    pub projects_dir: PathBuf,
    /// Claude Code's live registry of running sessions: `<claude_dir>/sessions`.
    pub sessions_dir: PathBuf,
    /// A front end on disk that replaces the embedded web UI.
    pub public_dir: Option<PathBuf>,
    /// Open the default browser once the server listens.
    pub open_browser: bool,
    /// Flow's own data dir (theme, feature store); never inside the Claude dir. `None` keeps
    /// such settings in memory only.
    pub data_dir: Option<PathBuf>,
    /// Extra `Host` names (besides loopback ones) the API answers, e.g. a LAN name when
    /// listening beyond loopback. Anything else is refused as DNS rebinding.
    pub allowed_hosts: Vec<String>,
    /// When set, every API call must carry this bearer token (header or cookie).
    pub token: Option<String>,
    /// Where the feature store lives; `None` turns the store off (`/api/features` → 404).
    pub db: Option<Database>,
    /// Where "now" comes from: the run id, feature times, leases and their sweep. The system
    /// clock unless a test or an embedder hands in another.
    pub clock: Clock,
    /// How long a client may keep a connection waiting, and how many connections are held.
    pub limits: ConnectionLimits,
    /// Contract §7: publish this machine's board to the PostgreSQL `db` (opt-in).
    pub publish: bool,
    /// This machine's name on the team board (`--machine`, default the host name).
    pub machine: String,
}

/// This machine's host name (`/proc/sys/kernel/hostname`, else `HOSTNAME`), made a valid
/// machine name; `localhost` when neither says.
pub fn host_name() -> String {
    let raw = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_default();
    let name: String = raw
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .take(MAX_MACHINE_LEN)
        .collect();
    let name = name.trim_start_matches(['-', '_']).to_owned();
    if name.is_empty() {
        "localhost".to_owned()
    } else {
        name
    }
}

/// The longest machine name: it prefixes other machines' session ids on the board, which must
/// stay valid path ids (128 characters).
pub const MAX_MACHINE_LEN: usize = 40;

/// A machine name is a letter or digit, then letters, digits, `-` and `_` (no `.`: it
/// separates the machine from the session in board ids), at most [`MAX_MACHINE_LEN`].
pub fn check_machine_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && name.len() <= MAX_MACHINE_LEN;
    if valid {
        Ok(())
    } else {
        Err(format!(
            "invalid machine name `{name}`: letters, digits, `-` and `_`, starting with a letter or digit, at most {MAX_MACHINE_LEN} characters"
        ))
    }
}

/// The feature store's database, as `--db`/`FLOW_DB` names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    /// An embedded SQLite file (the default).
    Sqlite(PathBuf),
    /// A `postgres://` or `postgresql://` URL, shared by several servers.
    Postgres(String),
}

impl Database {
    /// A `postgres://`/`postgresql://` URL, or a SQLite path. Any other `scheme://` is an
    /// error rather than a file of that odd name.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let lower = raw.to_ascii_lowercase();
        if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
            return Ok(Database::Postgres(raw.to_owned()));
        }
        if let Some((scheme, _)) = raw.split_once("://")
            && !scheme.is_empty()
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        {
            return Err(format!(
                "unsupported database URL scheme `{scheme}://`: give a SQLite file path or a postgres:// URL"
            ));
        }
        Ok(Database::Sqlite(PathBuf::from(raw)))
    }
}

impl std::fmt::Display for Database {
    /// A SQLite path, or a PostgreSQL URL without its password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Database::Sqlite(path) => write!(f, "{}", path.display()),
            Database::Postgres(url) => f.write_str(&redact_password(url)),
        }
    }
}

/// `scheme://user:secret@host/…` → `scheme://user:***@host/…`; a `password=` query parameter
/// is masked too.
pub fn redact_password(url: &str) -> String {
    let mut out = url.to_owned();
    if let Some(start) = out.find("://").map(|i| i + 3)
        // The last `@` before the path ends the user info: a raw `@` in a password is
        // part of it.
        && let Some(at) = out[start..out[start..].find('/').map_or(out.len(), |i| start + i)]
            .rfind('@')
            .map(|i| start + i)
        && let Some(colon) = out[start..at].find(':').map(|i| start + i)
    {
        out.replace_range(colon + 1..at, "***");
    }
    if let Some(p) = out.find("password=") {
        let from = p + "password=".len();
        let to = out[from..].find('&').map_or(out.len(), |i| from + i);
        out.replace_range(from..to, "***");
    }
    out
}

/// What one client may cost the server: the timeouts that cut a connection that holds a slot
/// without using it, and the cap that keeps the last file descriptors for new clients. Live
/// streams (`/api/events`, `/api/ws`) are requests in flight for their whole life, so no timeout
/// here ever cuts one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// A connection must deliver a request's complete headers within this time of opening, or
    /// of the first byte after a keep-alive pause; else it is closed (slowloris).
    pub header_timeout: Duration,
    /// A keep-alive connection with no request in flight is closed after this long silent.
    pub idle_timeout: Duration,
    /// A request's whole body must arrive within this time of the handler starting to read it;
    /// else the answer is 408 and the connection is closed.
    pub body_timeout: Duration,
    /// The most connections held at once, live streams included. When full, the connection
    /// that has waited longest without a request in flight is closed to make room; if every
    /// one is busy, the newcomer is answered 503 with `Retry-After`. `None`: derived when the
    /// server starts from the open-file limit it then has (the `flow` binary raises it first):
    /// that limit minus 256 for files and the database, between 64 and 65,536.
    pub max_connections: Option<usize>,
}

impl Default for ConnectionLimits {
    /// 10 s for headers (ample on any network, short for an attacker), 60 s idle keep-alive
    /// (reuse between a user's clicks; a browser reopens a socket closed while idle), 30 s for
    /// a body (the largest the API takes, 1 MiB, needs only 35 KB/s), and the cap from the
    /// open-file limit.
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            body_timeout: Duration::from_secs(30),
            max_connections: None,
        }
    }
}

impl Config {
    /// The contract's defaults around one Claude dir: loopback, port 3456 with fallbacks,
    /// `tasks/` and `projects/` inside `claude_dir`, the embedded UI, no browser.
    pub fn for_claude_dir(claude_dir: impl Into<PathBuf>) -> Self {
        let claude_dir = claude_dir.into();
        Self {
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: DEFAULT_PORT,
            port_fallbacks: DEFAULT_PORT_FALLBACKS,
            tasks_dir: claude_dir.join("tasks"),
            projects_dir: claude_dir.join("projects"),
            sessions_dir: claude_dir.join("sessions"),
            claude_dir,
            public_dir: None,
            open_browser: false,
            data_dir: None,
            allowed_hosts: Vec::new(),
            token: None,
            db: None,
            clock: Clock::system(),
            limits: ConnectionLimits::default(),
            publish: false,
            machine: host_name(),
        }
    }
}

/// Expands a leading `~` (alone or followed by a separator) to `home`; other paths pass through.
pub fn expand_tilde(raw: &str, home: Option<&Path>) -> PathBuf {
    match (raw.strip_prefix('~'), home) {
        (Some(""), Some(home)) => home.to_path_buf(),
        (Some(rest), Some(home)) if rest.starts_with('/') || rest.starts_with('\\') => {
            home.join(&rest[1..])
        }
        _ => PathBuf::from(raw),
    }
}

#[cfg(test)]
mod tests {
    use super::{Database, redact_password};

    #[test]
    fn database_urls_and_paths() {
        assert_eq!(
            Database::parse("postgres://u:p@h/db"),
            Ok(Database::Postgres("postgres://u:p@h/db".into()))
        );
        assert!(matches!(
            Database::parse("PostgreSQL://h/db"),
            Ok(Database::Postgres(_))
        ));
        assert_eq!(
            Database::parse("/x/flow.db"),
            Ok(Database::Sqlite("/x/flow.db".into()))
        );
        let err = Database::parse("mysql://h/db").unwrap_err();
        assert!(err.contains("mysql://"), "{err}");
        assert_eq!(
            Database::Postgres("postgres://ann:s3cret@h:5/db".into()).to_string(),
            "postgres://ann:***@h:5/db"
        );
        assert_eq!(
            redact_password("postgres://ann:p@ss@h:5/db"),
            "postgres://ann:***@h:5/db"
        );
        assert_eq!(
            redact_password("postgres://h/db?user=a&password=x&sslmode=disable"),
            "postgres://h/db?user=a&password=***&sslmode=disable"
        );
    }

    use super::*;

    #[test]
    fn tilde_expands_only_as_a_home_prefix() {
        let home = Path::new("/home/dev");
        assert_eq!(expand_tilde("~", Some(home)), PathBuf::from("/home/dev"));
        assert_eq!(
            expand_tilde("~/.claude", Some(home)),
            PathBuf::from("/home/dev/.claude")
        );
        assert_eq!(expand_tilde("~bob/x", Some(home)), PathBuf::from("~bob/x"));
        assert_eq!(expand_tilde("/abs", Some(home)), PathBuf::from("/abs"));
        assert_eq!(expand_tilde("~/x", None), PathBuf::from("~/x"));
    }

    #[test]
    fn defaults_follow_the_claude_dir() {
        let c = Config::for_claude_dir("/c");
        assert_eq!(c.tasks_dir, PathBuf::from("/c/tasks"));
        assert_eq!(c.projects_dir, PathBuf::from("/c/projects"));
        assert_eq!(c.host.to_string(), "127.0.0.1");
        assert_eq!((c.port, c.port_fallbacks), (3456, 9));
        assert_eq!(c.limits.header_timeout, Duration::from_secs(10));
        assert_eq!(c.limits.max_connections, None);
    }
}
