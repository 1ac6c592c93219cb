//! `flow tui` in a real pseudo-terminal: tmux runs it at a fixed size, `send-keys` types, and
//! `capture-pane` reads the screen the user would see. The screen is polled until it shows
//! what is expected (there is no event to await on a terminal), with a deadline.

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::{Server, free_port, task, write_task};

/// One private tmux server (its own socket) holding one window; killed on drop.
struct Tmux {
    socket: String,
}

impl Tmux {
    /// Runs `command` through `sh -c` in a `width`×`height` terminal.
    fn run(command: &str, width: u16, height: u16) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let socket = format!(
            "flow-test-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let tmux = Self { socket };
        let status = tmux
            .cmd()
            .args(["-f", "/dev/null", "new-session", "-d", "-s", "t"])
            .args(["-x", &width.to_string(), "-y", &height.to_string()])
            .arg(command)
            .status()
            .expect("tmux must be installed (.ci/run installs it)");
        assert!(status.success(), "tmux new-session failed");
        tmux
    }

    fn cmd(&self) -> Command {
        let mut cmd = Command::new("tmux");
        cmd.args(["-L", &self.socket]);
        cmd
    }

    fn screen(&self) -> String {
        let out = self
            .cmd()
            .args(["capture-pane", "-p", "-J", "-t", "t"])
            .output()
            .expect("capture-pane");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn display(&self, format: &str) -> String {
        let out = self
            .cmd()
            .args(["display-message", "-p", "-t", "t", format])
            .output()
            .expect("display-message");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// Waits until the screen satisfies `check`; fails with the last screen after 10 s.
    fn wait_for(&self, what: &str, check: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let screen = self.screen();
            if check(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; the screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    fn wait_text(&self, text: &str) -> String {
        self.wait_for(text, |s| s.contains(text))
    }

    /// Waits for one screen showing all of `texts` (never a half-drawn frame that has some).
    fn wait_all(&self, texts: &[&str]) -> String {
        self.wait_for(&texts.join(", "), |s| texts.iter().all(|t| s.contains(t)))
    }

    /// Presses keys by tmux name (`Enter`, `Escape`, `Down`, `j`).
    fn keys(&self, keys: &[&str]) {
        let status = self
            .cmd()
            .args(["send-keys", "-t", "t"])
            .args(keys)
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Types text literally.
    fn type_text(&self, text: &str) {
        let status = self
            .cmd()
            .args(["send-keys", "-t", "t", "-l", text])
            .status()
            .unwrap();
        assert!(status.success());
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd().arg("kill-server").status();
    }
}

fn flow_tui(url: &str) -> String {
    format!(
        "env -u FLOW_TOKEN NO_COLOR=1 {} tui --url {url}",
        env!("CARGO_BIN_EXE_flow")
    )
}

/// The row of the screen that contains `needle`.
fn row<'s>(screen: &'s str, needle: &str) -> &'s str {
    screen
        .lines()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no row with {needle}:\n{screen}"))
}

/// Which board column (0 pending, 1 in progress, 2 completed) a card is drawn in, by the
/// horizontal position of its text relative to the column titles.
fn column_of(screen: &str, card: &str) -> usize {
    let title_row = row(screen, "In progress");
    let start = |title: &str| {
        title_row
            .find(title)
            .map(|b| title_row[..b].chars().count())
    };
    let starts = [
        start("Pending").unwrap(),
        start("In progress").unwrap(),
        start("Completed").unwrap(),
    ];
    let line = row(screen, card);
    let at = line[..line.find(card).unwrap()].chars().count();
    starts
        .iter()
        .rposition(|&s| at >= s)
        .expect("card left of the columns")
}

fn seed(root: &Path) {
    write_task(root, "s-alpha", &task("1", "pending", "Design the schema"));
    let mut parser = task("2", "in_progress", "Write the parser");
    parser["activeForm"] = json!("Writing the parser");
    parser["description"] = json!("Parse **every** task file.\n\nKeep unknown fields.");
    write_task(root, "s-alpha", &parser);
    write_task(root, "s-beta", &task("1", "pending", "Fix the login form"));
    // s-alpha is the newest, so it is listed (and selected) first.
    let old = std::time::SystemTime::now() - Duration::from_secs(3600);
    let file = std::fs::File::options()
        .write(true)
        .open(root.join("tasks/s-beta/1.json"))
        .unwrap();
    file.set_modified(old).unwrap();
}

/// A running process standing in for a session's Claude Code, registered in `sessions/` the
/// way Claude Code registers itself; killed on drop.
struct LiveAgent {
    child: std::process::Child,
    file: std::path::PathBuf,
    session: &'static str,
}

impl LiveAgent {
    fn start(root: &Path, session: &'static str) -> Self {
        let child = Command::new("sleep").arg("600").spawn().unwrap();
        let file = root.join(format!("sessions/{}.json", child.id()));
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        let agent = Self {
            child,
            file,
            session,
        };
        agent.set(json!({"status": "busy"}));
        agent
    }

    /// Rewrites the registry entry (atomically, as Claude Code does) with these fields.
    fn set(&self, fields: serde_json::Value) {
        let mut entry = json!({"pid": self.child.id(), "sessionId": self.session, "cwd": "/work"});
        for (k, v) in fields.as_object().unwrap() {
            entry[k] = v.clone();
        }
        flow_core::fs::write_atomic(&self.file, entry.to_string().as_bytes()).unwrap();
    }
}

impl Drop for LiveAgent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn tui_shows_the_selected_session_and_follows_file_writes_without_a_key_press() {
    let dir = tempfile::tempdir().unwrap();
    seed(dir.path());
    // s-alpha's agent runs, so its in-progress task is current work in the live feed.
    let agent = LiveAgent::start(dir.path(), "s-alpha");
    let server = Server::start_in(dir, 0);
    let tmux = Tmux::run(&flow_tui(&server.url), 120, 40);

    let screen = tmux.wait_text("Design the schema");
    assert!(screen.contains("● live"), "{screen}");
    assert_eq!(column_of(&screen, "Design the schema"), 0, "{screen}");
    assert_eq!(column_of(&screen, "Write the parser"), 1, "{screen}");
    assert!(
        screen.contains("Writing the parser"),
        "live feed:\n{screen}"
    );
    assert!(screen.contains("s-beta"), "{screen}");

    // An agent writes a new task, then starts the first one: the screen follows by itself.
    write_task(
        server.dir.path(),
        "s-alpha",
        &task("3", "completed", "Ship the release"),
    );
    let screen = tmux.wait_text("Ship the release");
    assert_eq!(column_of(&screen, "Ship the release"), 2, "{screen}");
    write_task(
        server.dir.path(),
        "s-alpha",
        &task("1", "in_progress", "Design the schema"),
    );
    let screen = tmux.wait_for("task 1 in progress", |s| {
        s.contains("In progress 2") && column_of(s, "Design the schema") == 1
    });
    assert!(
        screen.contains("Doing Design the schema"),
        "live feed:\n{screen}"
    );

    // The agent stops to ask for a permission: the header says who needs the user.
    agent.set(json!({"status": "waiting", "waitingFor": "approve Bash"}));
    let screen = tmux.wait_text("1 need you");
    assert!(screen.contains("s-alpha (approve Bash)"), "{screen}");
    assert!(
        screen.contains("│! s-alpha"),
        "marked in the list: {screen}"
    );
    // It exits without cleaning up: its work is no longer current, and nobody waits.
    drop(agent);
    let screen = tmux.wait_for("the session ended", |s| !s.contains("need you"));
    assert!(
        !screen.contains("Doing Design the schema"),
        "stale work left the feed:\n{screen}"
    );
}

#[test]
fn tui_navigates_searches_opens_details_and_adds_notes_at_80x24() {
    let dir = tempfile::tempdir().unwrap();
    seed(dir.path());
    let server = Server::start_in(dir, 0);
    let tmux = Tmux::run(&flow_tui(&server.url), 80, 24);
    // At 80 columns a card wraps its subject: "#1 Design the" / "schema".
    tmux.wait_text("#1 Design");

    // Down to the second session: its task replaces the first session's.
    tmux.keys(&["j"]);
    let screen = tmux.wait_text("#1 Fix the");
    assert!(!screen.contains("#1 Design"), "{screen}");
    tmux.keys(&["k"]);
    tmux.wait_text("#1 Design");

    // Search narrows the sessions to those whose tasks match; Esc brings them back.
    tmux.keys(&["/"]);
    tmux.type_text("login");
    let screen = tmux.wait_all(&["Sessions 1/2", "#1 Fix the"]);
    assert!(
        !screen.contains("s-alpha 0/2"),
        "only matching sessions:\n{screen}"
    );
    tmux.keys(&["Enter", "Escape"]);
    tmux.wait_text("Sessions 2");
    // The session found stays selected; back up to the first one.
    assert!(tmux.screen().contains("#1 Fix the"));
    tmux.keys(&["k"]);
    tmux.wait_text("#1 Design");

    // Into the columns, right to In progress, open the detail.
    tmux.keys(&["Enter", "l", "Enter"]);
    tmux.wait_all(&[
        "#2 Write the parser",
        "Parse **every** task file.",
        "Keep unknown fields.",
    ]);

    // A note typed in the terminal lands in the task file.
    tmux.keys(&["n"]);
    tmux.type_text("checked from the terminal");
    tmux.keys(&["Enter"]);
    tmux.wait_text("Note added to #2");
    let stored: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(server.path("tasks/s-alpha/2.json")).unwrap(),
    )
    .unwrap();
    let description = stored["description"].as_str().unwrap();
    assert!(
        description.ends_with("#### [Note added by user]\n\nchecked from the terminal"),
        "{description}"
    );
    // And the detail shows it, through the live event.
    tmux.wait_text("checked from the terminal");
    tmux.keys(&["Escape"]);
}

/// `flow tui` followed, once it exits, by a shell printing its exit status and the terminal's
/// modes, so a test can read whether the terminal was restored.
fn tui_then_terminal_report(url: &str) -> Tmux {
    let script = format!(
        "{}; echo \"exit=$?\"; stty -a | tr -s ' ;\\n' ' '; echo; exec sleep 60",
        flow_tui(url)
    );
    Tmux::run(&script, 100, 30)
}

/// After the board exited: status 0, normal screen, visible cursor, cooked mode with echo.
fn assert_terminal_restored(tmux: &Tmux) -> String {
    let screen = tmux.wait_for("exit status and stty", |s| {
        s.contains("exit=") && s.contains("icanon")
    });
    assert!(screen.contains("exit=0"), "{screen}");
    assert_eq!(
        tmux.display("#{alternate_on}"),
        "0",
        "alternate screen left"
    );
    assert_eq!(tmux.display("#{cursor_flag}"), "1", "cursor visible again");
    let modes: Vec<&str> = row(&screen, "icanon").split_whitespace().collect();
    for mode in ["icanon", "echo", "isig"] {
        assert!(
            modes.contains(&mode),
            "terminal still raw ({mode} off):\n{screen}"
        );
    }
    screen
}

#[test]
fn quitting_restores_the_terminal() {
    let server = Server::start();
    server.write_task("s-alpha", &task("1", "pending", "Design the schema"));
    let tmux = tui_then_terminal_report(&server.url);
    tmux.wait_text("Design the schema");
    assert_eq!(
        tmux.display("#{alternate_on}"),
        "1",
        "the board uses the alternate screen"
    );
    tmux.keys(&["q"]);
    let screen = assert_terminal_restored(&tmux);
    assert!(
        !screen.contains("Design the schema"),
        "board left on screen:\n{screen}"
    );
}

#[test]
fn sigterm_restores_the_terminal_too() {
    let server = Server::start();
    let tmux = tui_then_terminal_report(&server.url);
    tmux.wait_all(&["● live", "No task lists yet"]);
    // The pane runs a shell; its one child is `flow tui`. (The shell's `kill`, since procps
    // may not be installed.)
    let shell = tmux.display("#{pane_pid}");
    let children = std::fs::read_to_string(format!("/proc/{shell}/task/{shell}/children")).unwrap();
    let flow = children
        .split_whitespace()
        .next()
        .expect("flow tui runs under the shell");
    let killed = Command::new("sh")
        .args(["-c", &format!("kill -TERM {flow}")])
        .status()
        .unwrap();
    assert!(killed.success());
    assert_terminal_restored(&tmux);
}

#[test]
fn tui_explains_a_missing_server_and_reconnects_when_it_comes_and_goes() {
    let port = free_port();
    let tmux = Tmux::run(&flow_tui(&format!("http://127.0.0.1:{port}")), 80, 24);
    tmux.wait_all(&["Cannot reach Flow at", "Retrying automatically"]);

    let dir = tempfile::tempdir().unwrap();
    write_task(dir.path(), "s-alpha", &task("1", "pending", "Schema"));
    let server = Server::start_in(dir, port);
    tmux.wait_all(&["● live", "#1 Schema"]);

    // The server vanishes: the board keeps what it had and says it is offline.
    let dir = server.stop();
    tmux.wait_all(&["offline", "reconnecting", "#1 Schema"]);

    // Back again, with a change made while it was away: the board catches up.
    write_task(dir.path(), "s-alpha", &task("1", "completed", "Schema"));
    let _server = Server::start_in(dir, port);
    let screen = tmux.wait_all(&["● live", "Completed 1"]);
    assert_eq!(column_of(&screen, "#1 Schema"), 2, "{screen}");
}

/// A team's tracker: the `_internal` task Claude Code keeps per teammate, named after it.
fn tracker(id: &str, name: &str, status: &str) -> serde_json::Value {
    let mut t = task(id, status, name);
    t["metadata"] = json!({"_internal": true});
    t
}

/// An agent team as Claude Code leaves it mid-run: the lead, `lexer` working on task 1 (its
/// tracker in progress) and `docs` not started (its tracker pending).
fn seed_team(root: &Path) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let member = |name: &str, extra: serde_json::Value| {
        let mut m = json!({
            "agentId": format!("{name}@blue-team"), "name": name, "agentType": "general-purpose",
            "model": "claude-opus-4-6", "joinedAt": now, "tmuxPaneId": "in-process",
            "cwd": "/work", "backendType": "in-process"
        });
        m.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        m
    };
    let config = json!({
        "name": "blue-team", "description": "Build the parser", "createdAt": now,
        "leadAgentId": "team-lead@blue-team", "leadSessionId": "aaaaaaaa-1111-4111-8111-111111111111",
        "members": [
            member("team-lead", json!({"agentType": "team-lead", "tmuxPaneId": ""})),
            member("lexer", json!({"color": "blue"})),
            member("docs", json!({"color": "green", "model": "haiku"})),
        ]
    });
    let path = root.join("teams/blue-team/config.json");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    flow_core::fs::write_atomic(&path, config.to_string().as_bytes()).unwrap();
    let mut lexing = task("1", "in_progress", "Write the lexer");
    lexing["owner"] = json!("lexer");
    write_task(root, "blue-team", &lexing);
    write_task(root, "blue-team", &tracker("2", "lexer", "in_progress"));
    write_task(root, "blue-team", &tracker("3", "docs", "pending"));
}

/// A member's row in the Teams view shows `state` (and, when given, its task).
fn member_shows(screen: &str, member: &str, state: &str, current: Option<&str>) -> bool {
    screen.lines().any(|l| {
        l.contains(&format!(" {member} "))
            && l.contains(state)
            && current.is_none_or(|c| l.contains(c))
    })
}

#[test]
fn tui_lists_a_teams_members_with_their_states_and_follows_them_live_at_80x24() {
    let dir = tempfile::tempdir().unwrap();
    seed_team(dir.path());
    let server = Server::start_in(dir, 0);
    let tmux = Tmux::run(&flow_tui(&server.url), 80, 24);
    // The team's task list is a session of the board; its trackers are not cards.
    let screen = tmux.wait_all(&["● live", "Build the par", "#1 Write the"]);
    assert!(!screen.contains("#2"), "trackers are hidden:\n{screen}");
    assert!(
        screen.contains("t teams"),
        "the footer names the key:\n{screen}"
    );

    tmux.keys(&["t"]);
    let screen = tmux.wait_for("the Teams view", |s| {
        s.contains("Teams 1") && member_shows(s, "lexer", "working", Some("Write the lexer"))
    });
    assert!(screen.contains("blue-team"), "{screen}");
    assert!(
        member_shows(&screen, "docs", "idle", None),
        "docs has not started:\n{screen}"
    );
    assert!(
        row(&screen, "team-lead (lead)").contains("team-lead (lead)"),
        "{screen}"
    );
    assert!(!screen.contains("Pending"), "the teams replace the columns");

    // docs starts (its tracker goes in progress), then lexer finishes (its task, then its
    // tracker, complete): the screen follows each without a key press.
    write_task(
        server.dir.path(),
        "blue-team",
        &tracker("3", "docs", "in_progress"),
    );
    tmux.wait_for("docs working", |s| member_shows(s, "docs", "working", None));
    let mut lexed = task("1", "completed", "Write the lexer");
    lexed["owner"] = json!("lexer");
    write_task(server.dir.path(), "blue-team", &lexed);
    write_task(
        server.dir.path(),
        "blue-team",
        &tracker("2", "lexer", "completed"),
    );
    let screen = tmux.wait_for("lexer stopped", |s| {
        member_shows(s, "lexer", "stopped", None)
    });
    assert!(
        !row(&screen, " lexer ").contains("Write the lexer"),
        "no current task once it is done:\n{screen}"
    );
    assert!(screen.contains("1/1 done"), "{screen}");

    // Back to the board, where the completed task now sits.
    tmux.keys(&["Escape"]);
    let screen = tmux.wait_all(&["Completed 1", "#1 Write the"]);
    assert_eq!(column_of(&screen, "#1 Write the"), 2, "{screen}");
}

/// A fresh database on the throwaway PostgreSQL server of `./scripts/test` (FLOW_TEST_POSTGRES,
/// an admin URL), made with `psql`; `None` when there is none (a failure under CI).
fn fresh_postgres() -> Option<String> {
    let admin = match std::env::var("FLOW_TEST_POSTGRES") {
        Ok(url) if !url.is_empty() => url,
        _ => {
            assert!(
                std::env::var_os("CI").is_none(),
                "FLOW_TEST_POSTGRES is not set: run the suite through ./scripts/test"
            );
            eprintln!("skipped: FLOW_TEST_POSTGRES is not set (./scripts/test sets it)");
            return None;
        }
    };
    let psql = std::env::var_os("FLOW_TEST_PG_BIN")
        .map(|bin| Path::new(&bin).join("psql"))
        .filter(|p| p.exists())
        .unwrap_or_else(|| "psql".into());
    let name = format!("flow_tui_team_{}", std::process::id());
    let status = Command::new(psql)
        .args([&admin, "-q", "-v", "ON_ERROR_STOP=1", "-c"])
        .arg(format!("CREATE DATABASE {name}"))
        .status()
        .expect("psql (postgresql-client) must be installed");
    assert!(status.success(), "CREATE DATABASE {name} failed");
    let (base, _) = admin.rsplit_once('/').expect("a database in the admin URL");
    Some(format!("{base}/{name}"))
}

/// One machine of a team board: `flow --publish --machine NAME` over its own Claude dir;
/// killed on drop.
struct Machine {
    child: std::process::Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Machine {
    fn start(db: &str, name: &str, session: &str, subject: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        write_task(dir.path(), session, &task("1", "pending", subject));
        let mut cmd = crate::support::flow();
        cmd.arg("--dir")
            .arg(dir.path())
            .arg("--data-dir")
            .arg(dir.path().join("flow-data"))
            .args(["--port", "0", "--db", db, "--publish", "--machine", name]);
        let (child, addr) = crate::support::spawn_listening_cmd(cmd);
        Self {
            child,
            url: format!("http://{addr}"),
            _dir: dir,
        }
    }
}

impl Drop for Machine {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn tui_shows_each_sessions_machine_and_marks_an_offline_one() {
    let Some(db) = fresh_postgres() else {
        return;
    };
    let alpha = Machine::start(&db, "alpha", "s-own", "Write the parser");
    let mut beta = Machine::start(&db, "beta", "s-far", "Tune the cache");
    let tmux = Tmux::run(&flow_tui(&alpha.url), 100, 24);
    let screen = tmux.wait_all(&["beta.s-far", "@beta", "s-own", "@alpha"]);
    assert!(!screen.contains("offline"), "{screen}");

    // Beta stops (SIGTERM: it marks itself offline as it goes); alpha's board says so at once.
    crate::support::terminate(&mut beta.child, Duration::from_secs(10)).expect("beta exits");
    let screen = tmux.wait_all(&["@beta offline", "beta went offline"]);
    assert!(!row(&screen, "@alpha").contains("offline"), "{screen}");
}
