//! `flow setup` on a real settings file: printing changes nothing, `--apply` keeps every other
//! setting and hook (and a backup) and is idempotent, `--remove` takes exactly Flow's out.

use serde_json::{Value, json};

use crate::support::{Run, flow};

fn setup(dir: &std::path::Path, args: &[&str]) -> Run {
    let mut cmd = flow();
    cmd.arg("setup")
        .arg("--dir")
        .arg(dir)
        .args(["--flow", "/opt/flow/bin/flow"])
        .args(args);
    Run::of(cmd.output().unwrap())
}

fn read(path: &std::path::Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

#[test]
fn setup_apply_keeps_every_other_setting_and_is_idempotent_and_remove_undoes_it() {
    let dir = tempfile::tempdir().unwrap();
    let settings = dir.path().join("settings.json");
    let original = json!({
        "model": "opus",
        "permissions": {"allow": ["Bash(npm test:*)"], "deny": []},
        "env": {"CLAUDE_CODE_ENABLE_TODO_TOOLS": "1"},
        "hooks": {
            "Stop": [{"hooks": [{"type": "command", "command": "say done"}]}],
            "PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "~/bin/guard.sh", "timeout": 10}]}]
        },
        "statusLine": {"type": "command", "command": "~/bin/status.sh"}
    });
    let text = serde_json::to_string_pretty(&original).unwrap();
    flow_core::fs::write_atomic(&settings, text.as_bytes()).unwrap();

    let printed = setup(dir.path(), &[]).expect(0);
    assert!(
        printed.stdout.contains("\"/opt/flow/bin/flow hook\""),
        "{printed:?}"
    );
    assert!(
        printed
            .stdout
            .contains("claude mcp add --scope user flow -- /opt/flow/bin/flow mcp")
    );
    assert_eq!(
        std::fs::read_to_string(&settings).unwrap(),
        text,
        "printing changes nothing"
    );

    setup(dir.path(), &["--apply"]).expect(0);
    let applied = read(&settings);
    for key in ["model", "permissions", "env", "statusLine"] {
        assert_eq!(applied[key], original[key], "{key} kept");
    }
    assert_eq!(applied["hooks"]["Stop"][0], original["hooks"]["Stop"][0]);
    assert_eq!(
        applied["hooks"]["PreToolUse"][0],
        original["hooks"]["PreToolUse"][0]
    );
    for event in [
        "Notification",
        "PermissionRequest",
        "Stop",
        "UserPromptSubmit",
        "PreToolUse",
        "PostToolUse",
        "SubagentStart",
        "SubagentStop",
        "SessionStart",
        "SessionEnd",
    ] {
        let commands: Vec<&str> = applied["hooks"][event]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|g| g["hooks"].as_array().unwrap())
            .filter_map(|h| h["command"].as_str())
            .collect();
        assert_eq!(
            commands
                .iter()
                .filter(|c| **c == "/opt/flow/bin/flow hook")
                .count(),
            1,
            "{event}"
        );
    }
    let backup = dir.path().join("settings.json.flow-backup");
    assert_eq!(std::fs::read_to_string(&backup).unwrap(), text);

    let bytes = std::fs::read(&settings).unwrap();
    let again = setup(dir.path(), &["--apply"]).expect(0);
    assert!(again.stdout.contains("nothing to change"), "{again:?}");
    assert_eq!(
        std::fs::read(&settings).unwrap(),
        bytes,
        "the second run changes nothing"
    );
    assert_eq!(
        std::fs::read_to_string(&backup).unwrap(),
        text,
        "nor the backup"
    );

    setup(dir.path(), &["--remove"]).expect(0);
    assert_eq!(read(&settings), original);
    let twice = setup(dir.path(), &["--remove"]).expect(0);
    assert!(twice.stdout.contains("nothing to change"));
}

#[test]
fn setup_apply_creates_settings_and_refuses_a_file_that_is_not_json() {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path(), &["--apply"]).expect(0);
    let created = read(&dir.path().join("settings.json"));
    assert_eq!(created["hooks"].as_object().unwrap().len(), 10);
    assert!(!dir.path().join("settings.json.flow-backup").exists());

    let broken = tempfile::tempdir().unwrap();
    let path = broken.path().join("settings.json");
    flow_core::fs::write_atomic(&path, b"{ \"model\": ").unwrap();
    let run = setup(broken.path(), &["--apply"]).expect(1);
    assert!(run.stderr.contains("not JSON"), "{run:?}");
    assert_eq!(std::fs::read(&path).unwrap(), b"{ \"model\": ");
}
