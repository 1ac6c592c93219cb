//! `flow setup` (contract §8): the Claude Code settings that wire Flow's hooks in. Without
//! flags it only prints them; `--apply` merges them into `<claude dir>/settings.json` and
//! `--remove` takes exactly Flow's entries out again. Every other setting and every other hook
//! stays as it was; the old file is kept as `settings.json.flow-backup`; the new one replaces it
//! atomically (temp file, then rename); running `--apply` twice changes nothing the second time.
//! The MCP server is registered with Claude Code's own `claude mcp add` (MCP servers are not
//! part of `settings.json`), so `flow setup` prints that command rather than editing
//! `~/.claude.json`.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Args;
use serde_json::{Map, Value, json};

use crate::cli::Env;

/// The hook events whose payloads change what the board shows (see `flow_core::hooks`).
pub(crate) const EVENTS: &[&str] = &[
    "SessionStart",
    "UserPromptSubmit",
    "PreToolUse",
    "PostToolUse",
    "PermissionRequest",
    "Notification",
    "Stop",
    "SubagentStart",
    "SubagentStop",
    "SessionEnd",
];

/// Seconds Claude Code waits for the hook at most; `flow hook` itself gives up sooner.
const HOOK_TIMEOUT_SECS: u64 = 5;

#[derive(Debug, Clone, Args)]
pub(crate) struct SetupArgs {
    /// Merge Flow's hooks into <dir>/settings.json (the old file is kept as
    /// settings.json.flow-backup).
    #[arg(long, conflicts_with = "remove")]
    pub(crate) apply: bool,
    /// Take Flow's hooks out of <dir>/settings.json again; everything else stays.
    #[arg(long)]
    pub(crate) remove: bool,
    /// Claude Code directory, `~` expanded [env: CLAUDE_DIR, else CLAUDE_CONFIG_DIR]
    /// [default: ~/.claude].
    #[arg(long, value_name = "PATH")]
    pub(crate) dir: Option<String>,
    /// The flow executable the hooks run [default: this one].
    #[arg(long, value_name = "PATH")]
    pub(crate) flow: Option<String>,
    /// The server the hooks post to, written into the hook command [default: FLOW_URL when
    /// the hook runs, else http://127.0.0.1:3456].
    #[arg(long)]
    pub(crate) url: Option<String>,
}

pub(crate) fn main(args: SetupArgs) -> ExitCode {
    match run(args, &Env::from_process()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("flow setup: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: SetupArgs, env: &Env) -> anyhow::Result<()> {
    let claude_dir = claude_dir(args.dir.as_deref(), env)?;
    let flow = match &args.flow {
        Some(flow) => flow.clone(),
        None => std::env::current_exe()
            .context("finding this executable; pass --flow PATH")?
            .display()
            .to_string(),
    };
    let command = hook_command(&flow, args.url.as_deref());
    let settings = claude_dir.join("settings.json");
    let mut out = std::io::stdout().lock();
    if !args.apply && !args.remove {
        writeln!(
            out,
            "Add this to {} (or run `flow setup --apply`):\n{}\n\nThen register the MCP server:\n  {}",
            settings.display(),
            serde_json::to_string_pretty(&json!({ "hooks": hooks(&command) }))?,
            mcp_add(&flow)
        )?;
        return Ok(());
    }
    let (before, existed) = read_settings(&settings)?;
    let mut after = before.clone();
    if args.apply {
        apply(&mut after, &command)?;
    } else {
        remove(&mut after)?;
    }
    if after == before {
        writeln!(out, "{}: nothing to change", settings.display())?;
    } else {
        write_settings(&settings, existed, &after)?;
        let what = if args.apply {
            "added to"
        } else {
            "removed from"
        };
        writeln!(out, "Flow's hooks {what} {}", settings.display())?;
    }
    if args.apply {
        writeln!(out, "Register the MCP server too:\n  {}", mcp_add(&flow))?;
    }
    Ok(())
}

fn claude_dir(flag: Option<&str>, env: &Env) -> anyhow::Result<PathBuf> {
    let home = env.home.as_deref();
    match flag
        .or(env.claude_dir.as_deref())
        .or(env.claude_config_dir.as_deref())
    {
        Some(raw) => Ok(flow_core::config::expand_tilde(raw, home)),
        None => match home {
            Some(home) => Ok(home.join(".claude")),
            None => bail!("cannot find the home directory; pass --dir"),
        },
    }
}

/// One word of a shell command line: as it is when every character is plainly safe, else
/// single-quoted (so `$`, `;`, `&`, spaces and quotes in a path or URL stay literal).
fn shell_word(word: &str) -> String {
    let safe = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-:=@,+%".contains(c));
    if safe {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

fn program(flow: &str) -> String {
    shell_word(flow)
}

/// `<flow> hook [--url URL]`.
fn hook_command(flow: &str, url: Option<&str>) -> String {
    let program = program(flow);
    match url {
        Some(url) => format!("{program} hook --url {}", shell_word(url)),
        None => format!("{program} hook"),
    }
}

fn mcp_add(flow: &str) -> String {
    format!("claude mcp add --scope user flow -- {} mcp", program(flow))
}

/// Flow's entry for each event: one matcher group (no matcher: every occurrence).
fn hooks(command: &str) -> Value {
    let group = json!([{ "hooks": [{
        "type": "command", "command": command, "timeout": HOOK_TIMEOUT_SECS,
    }]}]);
    Value::Object(
        EVENTS
            .iter()
            .map(|e| ((*e).to_owned(), group.clone()))
            .collect(),
    )
}

/// Whether a hook command is `flow hook …`, whatever the path to `flow`.
fn is_flow_hook(command: &str) -> bool {
    command.match_indices(" hook").any(|(at, _)| {
        let rest = &command[at + " hook".len()..];
        let program = command[..at].trim().trim_matches(['\'', '"']);
        (rest.is_empty() || rest.starts_with(' '))
            && Path::new(program).file_name().is_some_and(|n| n == "flow")
    })
}

/// Adds Flow's hooks, replacing any earlier ones of Flow's (another path or URL).
fn apply(settings: &mut Value, command: &str) -> anyhow::Result<()> {
    remove(settings)?;
    let root = settings
        .as_object_mut()
        .context("settings.json is not a JSON object")?;
    let hooks_value = root
        .entry("hooks")
        .or_insert_with(|| Value::Object(Map::new()));
    let all = hooks_value
        .as_object_mut()
        .context("`hooks` is not a JSON object")?;
    let Value::Object(ours) = hooks(command) else {
        unreachable!("hooks() is an object")
    };
    for (event, groups) in ours {
        let list = all.entry(event.clone()).or_insert_with(|| json!([]));
        let list = list
            .as_array_mut()
            .with_context(|| format!("`hooks.{event}` is not a list"))?;
        list.extend(groups.as_array().into_iter().flatten().cloned());
    }
    Ok(())
}

/// Takes out every `flow hook` command, then the groups and events that only held Flow's.
fn remove(settings: &mut Value) -> anyhow::Result<()> {
    let root = settings
        .as_object_mut()
        .context("settings.json is not a JSON object")?;
    let Some(all) = root.get_mut("hooks") else {
        return Ok(());
    };
    let all = all
        .as_object_mut()
        .context("`hooks` is not a JSON object")?;
    let mut emptied_events = Vec::new();
    for (event, groups) in all.iter_mut() {
        let Some(groups) = groups.as_array_mut() else {
            continue;
        };
        let before = groups.len();
        groups.retain_mut(|group| {
            let Some(hooks) = group.get_mut("hooks").and_then(Value::as_array_mut) else {
                return true;
            };
            let had = hooks.len();
            hooks.retain(|h| {
                !h.get("command")
                    .and_then(Value::as_str)
                    .is_some_and(is_flow_hook)
            });
            !(hooks.is_empty() && had > 0)
        });
        if groups.is_empty() && before > 0 {
            emptied_events.push(event.clone());
        }
    }
    for event in emptied_events {
        all.remove(&event);
    }
    if all.is_empty() {
        root.remove("hooks");
    }
    Ok(())
}

/// The settings as they are (`{}` when there is no file yet) and whether the file exists.
fn read_settings(path: &Path) -> anyhow::Result<(Value, bool)> {
    match std::fs::read(path) {
        Ok(bytes) => {
            let value: Value = serde_json::from_slice(&bytes)
                .with_context(|| format!("{} is not JSON; nothing changed", path.display()))?;
            if !value.is_object() {
                bail!("{} is not a JSON object; nothing changed", path.display());
            }
            Ok((value, true))
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok((json!({}), false)),
        Err(err) => Err(err).with_context(|| format!("reading {}", path.display())),
    }
}

/// Keeps the old file as `settings.json.flow-backup`, then swaps the new one in atomically.
/// A settings file that is a symbolic link (dotfile managers) is written where it points.
fn write_settings(path: &Path, existed: bool, settings: &Value) -> anyhow::Result<()> {
    let target = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    if let Some(dir) = target.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    if existed {
        let backup = target.with_file_name("settings.json.flow-backup");
        std::fs::copy(&target, &backup)
            .with_context(|| format!("keeping a backup at {}", backup.display()))?;
    }
    let mut text = serde_json::to_string_pretty(settings)?;
    text.push('\n');
    flow_core::fs::write_atomic(&target, text.as_bytes())
        .with_context(|| format!("writing {}", target.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flow_hook_commands_are_recognised_by_program_and_subcommand() {
        assert!(is_flow_hook("flow hook"));
        assert!(is_flow_hook(
            "/usr/local/bin/flow hook --url http://127.0.0.1:4000"
        ));
        assert!(is_flow_hook("'/home/me/my tools/flow' hook"));
        assert!(!is_flow_hook("flow hooks"));
        assert!(!is_flow_hook("/bin/notify-flow hook"));
        assert!(!is_flow_hook("~/bin/lint.sh"));
    }

    #[test]
    fn apply_then_remove_gives_back_the_same_settings() {
        let original = json!({
            "model": "opus",
            "hooks": {"Stop": [{"hooks": [{"type": "command", "command": "say done"}]}]},
        });
        let mut s = original.clone();
        apply(&mut s, "/opt/flow hook").unwrap();
        let once = s.clone();
        apply(&mut s, "/opt/flow hook").unwrap();
        assert_eq!(s, once, "idempotent");
        assert_eq!(s["hooks"]["Stop"].as_array().unwrap().len(), 2);
        assert_eq!(s["hooks"]["Stop"][0]["hooks"][0]["command"], "say done");
        assert_eq!(
            s["hooks"]["Notification"][0]["hooks"][0]["command"],
            "/opt/flow hook"
        );
        remove(&mut s).unwrap();
        assert_eq!(s, original);
    }

    #[test]
    fn the_plugin_wires_the_same_hooks_as_flow_setup() {
        let plugin: Value = serde_json::from_str(include_str!("../../../plugin/hooks/hooks.json"))
            .expect("plugin/hooks/hooks.json is JSON");
        assert_eq!(plugin["hooks"], hooks("flow hook"));
        let mcp: Value = serde_json::from_str(include_str!("../../../plugin/.mcp.json")).unwrap();
        assert_eq!(
            mcp["mcpServers"]["flow"],
            json!({"command": "flow", "args": ["mcp"]})
        );
    }

    #[test]
    fn paths_with_spaces_are_quoted() {
        assert_eq!(hook_command("/a b/flow", None), "'/a b/flow' hook");
        assert_eq!(
            hook_command("flow", Some("http://127.0.0.1:9")),
            "flow hook --url http://127.0.0.1:9"
        );
        assert_eq!(
            hook_command("/x/$HOME;rm/flow", Some("http://h/?a&b")),
            "'/x/$HOME;rm/flow' hook --url 'http://h/?a&b'"
        );
    }
}
