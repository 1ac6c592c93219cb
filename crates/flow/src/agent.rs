//! The client commands (`flow tui`, `flow watch`, `flow sessions`, `flow claim`, …): each asks
//! a running server through [`flow_client::Client`] and prints a table, or the server's JSON with
//! `--json`. The exit code says what happened, so scripts and agents can branch on it.

use std::fmt::Write as _;
use std::io::Write as _;
use std::process::ExitCode;

use flow_client::model::{Column, Session, Task};
use flow_client::{Client, ClientError, decode_body, encode, next_event};
use serde_json::{Map, Value, json};
use unicode_width::UnicodeWidthStr;

use crate::cli::{
    ClaimArgs, Claimed, Command, CompleteArgs, ConnectArgs, FeaturesArgs, HeartbeatArgs, Output,
    ReleaseArgs, SessionsArgs, TasksArgs, WatchArgs,
};

/// Why a client command stopped, as an exit code and a message for stderr.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) code: u8,
    pub(crate) message: String,
}

pub(crate) const FAILED: u8 = 1;
pub(crate) const USAGE: u8 = 2;
pub(crate) const UNREACHABLE: u8 = 3;
pub(crate) const CONFLICT: u8 = 4;

impl From<ClientError> for Failure {
    fn from(err: ClientError) -> Self {
        let code = match &err {
            ClientError::Unreachable { .. } => UNREACHABLE,
            ClientError::BadUrl(_) => USAGE,
            err if err.is_conflict() => CONFLICT,
            _ => FAILED,
        };
        let mut message = err.to_string();
        // A refused move names what is in the way.
        if let ClientError::Api { body, .. } = &err {
            for key in ["blockedBy", "dependents", "cycle"] {
                if let Some(ids) = body.get(key).and_then(Value::as_array) {
                    let _ = write!(message, "; {key}: {}", id_list(ids));
                }
            }
        }
        Self { code, message }
    }
}

/// Runs a client command on its own runtime and turns the outcome into the exit code.
pub(crate) fn main(command: Command) -> ExitCode {
    let Some(runtime) = crate::runtime(2) else {
        return ExitCode::FAILURE;
    };
    match runtime.block_on(run(command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("flow: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}

pub(crate) fn client(connect: &ConnectArgs) -> Result<Client, Failure> {
    Ok(Client::new(&connect.url, connect.auth_token.clone())?)
}

async fn run(command: Command) -> Result<(), Failure> {
    match command {
        Command::Tui(connect) => flow_tui::run(client(&connect)?)
            .await
            .map_err(|err| Failure {
                code: FAILED,
                message: format!("terminal error: {err}"),
            }),
        Command::Watch(args) => watch(args).await,
        Command::Sessions(args) => sessions(args).await,
        Command::Tasks(args) => tasks(args).await,
        Command::Features(args) => features(args).await,
        Command::Claim(args) => claim(args).await,
        Command::Complete(args) => complete(args).await,
        Command::Heartbeat(args) => heartbeat(args).await,
        Command::Release(args) => release(args).await,
        Command::Serve(_)
        | Command::Generate(_)
        | Command::Mcp(_)
        | Command::Hook(_)
        | Command::Setup(_) => unreachable!("not a client command"),
    }
}

/// Writes to stdout; a closed pipe (`flow watch | head -1`) ends the command quietly.
pub(crate) fn print(text: &str) -> Result<(), Failure> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        Err(err) => Err(Failure {
            code: FAILED,
            message: format!("cannot write output: {err}"),
        }),
    }
}

/// An answer from the server: its exact text (what `--json` prints) and the parsed value the
/// table is built from.
pub(crate) struct Answer {
    text: String,
    pub(crate) value: Value,
}

impl Answer {
    pub(crate) fn parse(path: &str, text: String) -> Result<Self, Failure> {
        let value = decode_body(path, &text)?;
        Ok(Self { text, value })
    }

    /// The server's JSON as it sent it, one document per line.
    pub(crate) fn print(&self) -> Result<(), Failure> {
        print(&format!("{}\n", self.text.trim_end()))
    }
}

async fn get(client: &Client, path: &str) -> Result<Answer, Failure> {
    Answer::parse(path, client.get_text(path).await?)
}

async fn post(client: &Client, path: &str, body: Value) -> Result<Answer, Failure> {
    Answer::parse(path, client.post_text(path, body).await?)
}

async fn watch(args: WatchArgs) -> Result<(), Failure> {
    let client = client(&args.connect)?;
    let (mut ws, connected) = client.live(&args.sessions).await?;
    print(&format!("{connected}\n"))?;
    while let Some(event) = next_event(&mut ws).await {
        match event {
            // The server applies the subscription a moment after `connected`: filter here
            // too, so not one other session's event slips through.
            Ok(text) if !wanted(&text, &args.sessions) => {}
            Ok(text) => print(&format!("{text}\n"))?,
            Err(reason) => {
                return Err(Failure {
                    code: UNREACHABLE,
                    message: format!("lost the connection to Flow at {}: {reason}", client.url()),
                });
            }
        }
    }
    Err(Failure {
        code: UNREACHABLE,
        message: format!("Flow at {} closed the connection", client.url()),
    })
}

/// Whether `flow watch --session …` prints this event: every non-`update` event, and the
/// `update` events of the sessions asked for.
fn wanted(event: &str, sessions: &[String]) -> bool {
    if sessions.is_empty() {
        return true;
    }
    let Ok(event) = serde_json::from_str::<Value>(event) else {
        return true;
    };
    event["type"] != "update"
        || event["sessionId"]
            .as_str()
            .is_some_and(|id| sessions.iter().any(|s| s == id))
}

async fn sessions(args: SessionsArgs) -> Result<(), Failure> {
    let client = client(&args.out.connect)?;
    let path = format!("/api/sessions?limit={}", encode(&args.limit));
    let answer = get(&client, &path).await?;
    if args.out.json {
        return answer.print();
    }
    let sessions: Vec<Session> = decode(answer.value)?;
    if sessions.is_empty() {
        return print("No sessions yet: Claude Code writes task lists to ~/.claude/tasks/.\n");
    }
    let rows: Vec<[String; 6]> = sessions
        .iter()
        .map(|s| {
            let done = format!(
                "{}/{}",
                s.completed,
                s.completed + s.in_progress + s.pending
            );
            // In progress but not live is stale work, not activity (contract §6).
            let active = if s.is_active() { "●" } else { "" };
            let state = match s.waiting_for.as_deref().filter(|_| s.needs_you()) {
                Some(what) => format!("waiting: {}", cut(what, 40)),
                None => s.state().to_owned(),
            };
            let place = [s.project_name(), s.git_branch.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" · ");
            [
                s.id.clone(),
                state,
                done,
                active.into(),
                s.label().to_owned(),
                place,
            ]
        })
        .collect();
    print(&table(
        &["SESSION", "STATE", "DONE", "", "NAME", "PROJECT"],
        &rows,
    ))
}

async fn tasks(args: TasksArgs) -> Result<(), Failure> {
    let client = client(&args.out.connect)?;
    let path = format!("/api/sessions/{}", encode(&args.session));
    let text = client.get_text(&path).await?;
    if args.out.json {
        return print(&format!("{}\n", text.trim_end()));
    }
    // Task by task: one task an agent wrote oddly never hides the rest of the session.
    let tasks: Vec<Task> = flow_client::lenient::tasks_from(&text).map_err(|e| Failure {
        code: FAILED,
        message: format!("unexpected answer from Flow: {e}"),
    })?;
    let tasks: Vec<&Task> = tasks.iter().filter(|t| !t.is_internal()).collect();
    if tasks.is_empty() {
        return print("This session has no tasks.\n");
    }
    let done = |id: &String| {
        tasks
            .iter()
            .any(|t| &t.id == id && t.column() == Column::Completed)
    };
    let mut text = String::new();
    for column in [Column::InProgress, Column::Pending, Column::Completed] {
        let rows: Vec<[String; 3]> = tasks
            .iter()
            .filter(|t| t.column() == column)
            .map(|t| {
                let mut notes = Vec::new();
                if !t.owner.is_empty() {
                    notes.push(format!("@{}", t.owner));
                }
                let waiting: Vec<&String> = t.blocked_by.iter().filter(|id| !done(id)).collect();
                if !waiting.is_empty() && column != Column::Completed {
                    let ids: Vec<String> = waiting.iter().map(|id| format!("#{id}")).collect();
                    notes.push(format!("blocked by {}", ids.join(" ")));
                }
                [format!("#{}", t.id), t.subject.clone(), notes.join(" · ")]
            })
            .collect();
        if rows.is_empty() {
            continue;
        }
        let _ = writeln!(text, "{} ({})", column.title(), rows.len());
        for line in table(&["", "", ""], &rows).lines().skip(1) {
            let _ = writeln!(text, "  {line}");
        }
    }
    print(&text)
}

async fn features(args: FeaturesArgs) -> Result<(), Failure> {
    if let Some(command) = args.command {
        return crate::features_cmd::run(command).await;
    }
    let client = client(&args.out.connect)?;
    let mut query = Vec::new();
    for (key, value) in [
        ("status", &args.status),
        ("project", &args.project),
        ("category", &args.category),
    ] {
        if let Some(value) = value {
            query.push(format!("{key}={}", encode(value)));
        }
    }
    let path = if query.is_empty() {
        "/api/features".to_owned()
    } else {
        format!("/api/features?{}", query.join("&"))
    };
    let answer = get(&client, &path).await?;
    if args.out.json {
        return answer.print();
    }
    let raw = answer.value;
    let list = raw["features"].as_array().cloned().unwrap_or_default();
    if list.is_empty() {
        return print("No features. Add some with POST /api/features or on the board.\n");
    }
    let rows: Vec<[String; 5]> = list
        .iter()
        .map(|f| {
            let mut notes = Vec::new();
            if let Some(ids) = f["blockedBy"].as_array().filter(|a| !a.is_empty()) {
                notes.push(format!("blocked by {}", id_list(ids)));
            }
            if let Some(agent) = f["claimedBy"].as_str() {
                notes.push(format!("claimed by {agent}"));
            }
            let steps = f["steps"].as_array().map_or(0, Vec::len);
            if steps > 0 {
                let done = f["steps"]
                    .as_array()
                    .map_or(0, |s| s.iter().filter(|s| s["done"] == true).count());
                notes.push(format!("steps {done}/{steps}"));
            }
            [
                format!("#{}", f["id"]),
                text(&f["state"]),
                f["priority"].to_string(),
                text(&f["name"]),
                notes.join(" · "),
            ]
        })
        .collect();
    let mut out = table(&["ID", "STATE", "PRIORITY", "NAME", ""], &rows);
    if let Some(counts) = raw["counts"].as_object() {
        out.push_str(&counts_line(counts));
    }
    print(&out)
}

fn counts_line(counts: &Map<String, Value>) -> String {
    let parts: Vec<String> = counts
        .iter()
        .filter(|(key, n)| key.as_str() != "total" && n.as_u64().unwrap_or(0) > 0)
        .map(|(key, n)| format!("{n} {key}"))
        .collect();
    format!("{} features: {}\n", counts["total"], parts.join(", "))
}

async fn claim(args: ClaimArgs) -> Result<(), Failure> {
    let client = client(&args.out.connect)?;
    let mut body = json!({ "agent": args.agent });
    if let Some(secs) = args.lease {
        body["leaseSecs"] = json!(secs);
    }
    let path = match args.feature {
        Some(id) => format!("/api/features/{id}/claim"),
        None => "/api/features/claim".to_owned(),
    };
    let answer = post(&client, &path, body).await?;
    if args.out.json {
        answer.print()?;
    }
    let answer = answer.value;
    if answer["feature"].is_null() {
        // Nothing for this agent: for a script looping on `flow claim`, a reason to stop.
        let reason = answer["reason"].as_str().unwrap_or("nothing ready");
        return Err(Failure {
            code: CONFLICT,
            message: format!("nothing to claim ({reason})"),
        });
    }
    if !args.out.json {
        let f = &answer["feature"];
        print(&format!(
            "Claimed #{} {} until {}\ntoken: {}\n",
            f["id"],
            text(&f["name"]),
            text(&answer["leaseExpiresAt"]),
            text(&answer["claimToken"]),
        ))?;
    }
    Ok(())
}

/// POSTs `action` (`complete`, `heartbeat`, `release`) for a claimed feature with its claim
/// token. With `--json` the answer is printed here and `None` returned; otherwise the caller
/// gets the answer to describe in a line.
async fn on_claimed(
    out: &Output,
    claimed: &Claimed,
    action: &str,
    mut body: Value,
) -> Result<Option<Value>, Failure> {
    let client = client(&out.connect)?;
    if let Some(token) = &claimed.token {
        body["claimToken"] = json!(token);
    }
    let path = format!("/api/features/{}/{action}", claimed.id);
    let answer = post(&client, &path, body).await?;
    if out.json {
        answer.print()?;
        return Ok(None);
    }
    Ok(Some(answer.value))
}

async fn complete(args: CompleteArgs) -> Result<(), Failure> {
    let body = json!({ "force": args.force });
    let Some(answer) = on_claimed(&args.out, &args.claimed, "complete", body).await? else {
        return Ok(());
    };
    let id = args.claimed.id;
    let mut line = format!("Completed #{id} {}", text(&answer["feature"]["name"]));
    if let Some(ids) = answer["unblocked"].as_array().filter(|a| !a.is_empty()) {
        let _ = write!(line, "; now ready: {}", id_list(ids));
    }
    print(&format!("{line}\n"))
}

async fn heartbeat(args: HeartbeatArgs) -> Result<(), Failure> {
    let mut body = json!({});
    if let Some(secs) = args.lease {
        body["leaseSecs"] = json!(secs);
    }
    let Some(answer) = on_claimed(&args.out, &args.claimed, "heartbeat", body).await? else {
        return Ok(());
    };
    let until = text(&answer["leaseExpiresAt"]);
    print(&format!(
        "Lease on #{} extended until {until}\n",
        args.claimed.id
    ))
}

async fn release(args: ReleaseArgs) -> Result<(), Failure> {
    let body = json!({ "failed": args.failed });
    let Some(answer) = on_claimed(&args.out, &args.claimed, "release", body).await? else {
        return Ok(());
    };
    print(&format!(
        "Released #{} {} (now {})\n",
        args.claimed.id,
        text(&answer["name"]),
        text(&answer["state"])
    ))
}

fn decode<T: serde::de::DeserializeOwned>(raw: Value) -> Result<T, Failure> {
    serde_json::from_value(raw).map_err(|err| Failure {
        code: FAILED,
        message: format!("unexpected answer from Flow: {err}"),
    })
}

fn printable(cell: &str) -> String {
    if !cell.chars().any(char::is_control) {
        return cell.to_owned();
    }
    cell.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// A JSON value as one line of plain text for a human (strings unquoted, control characters
/// escaped).
pub(crate) fn text(value: &Value) -> String {
    match value {
        Value::String(s) => printable(s),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

pub(crate) fn id_list(ids: &[Value]) -> String {
    ids.iter()
        .map(|id| format!("#{id}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// At most `max` characters of `text`, with `…` when cut.
fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Left-aligned columns two spaces apart, widths in terminal columns (a CJK character takes
/// two); the last column is not padded. Control characters in cells (a newline, a tab, an
/// escape sequence in a task subject) are shown escaped, so one row stays one line and task
/// text cannot drive the terminal.
fn table<const N: usize>(header: &[&str; N], rows: &[[String; N]]) -> String {
    let rows: Vec<[String; N]> = rows
        .iter()
        .map(|row| row.clone().map(|c| printable(&c)))
        .collect();
    let mut widths = header.map(UnicodeWidthStr::width);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.width());
        }
    }
    let mut out = String::new();
    let header = header.map(str::to_owned);
    for row in std::iter::once(&header).chain(&rows) {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i + 1 == N {
                line.push_str(cell);
            } else {
                let pad = widths[i] - cell.width();
                let _ = write!(line, "{cell}{:pad$}  ", "");
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_by_characters() {
        let out = table(
            &["ID", "NAME", ""],
            &[
                ["#1".into(), "Café".into(), "x".into()],
                ["#10".into(), "Login".into(), String::new()],
            ],
        );
        assert_eq!(out, "ID   NAME\n#1   Café   x\n#10  Login\n");
    }

    #[test]
    fn failures_map_to_exit_codes() {
        let unreachable = ClientError::Unreachable {
            url: "http://127.0.0.1:9".into(),
            reason: "connection refused".into(),
        };
        assert_eq!(Failure::from(unreachable).code, UNREACHABLE);
        let blocked = ClientError::Api {
            status: 409,
            code: Some("feature_blocked".into()),
            message: "Feature is blocked".into(),
            body: json!({"blockedBy": [2, 5]}),
        };
        let failure = Failure::from(blocked);
        assert_eq!(failure.code, CONFLICT);
        assert!(
            failure.message.ends_with("blockedBy: #2 #5"),
            "{}",
            failure.message
        );
        let missing = ClientError::Api {
            status: 404,
            code: None,
            message: "Session not found".into(),
            body: Value::Null,
        };
        assert_eq!(Failure::from(missing).code, FAILED);
        assert_eq!(Failure::from(ClientError::BadUrl("x".into())).code, USAGE);
    }
}
