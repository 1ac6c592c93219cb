//! Claude Code hook payloads (the JSON a hook command reads on stdin; contract §8), read into
//! the few facts the board uses: a session's exact state and what it waits for, a subagent
//! starting or stopping, and the task list the session writes to. Strict where a wrong value
//! would change the board (the event name, every id), lenient about the rest: fields Flow does
//! not use are ignored, whatever their size.

use serde::Deserialize;
use serde_json::Value;

use crate::ids::{IdError, SessionId};
use crate::index::AgentState;

/// What a waiting reason is cut to: a notification's message is one sentence.
const MAX_REASON_CHARS: usize = 200;

/// One hook call, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookSignal {
    /// The session (its uuid) the hook fired in.
    pub session: SessionId,
    pub change: HookChange,
    /// The shared task list the session writes to (`CLAUDE_CODE_TASK_LIST_ID` in the hook's
    /// environment, which `flow hook` adds as `flow_task_list`).
    pub task_list: Option<SessionId>,
}

/// What a hook says about its session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HookChange {
    /// The session is now in this state; `waiting_for` only with `Waiting`.
    State {
        state: AgentState,
        waiting_for: Option<String>,
    },
    SubagentStart {
        agent_id: SessionId,
        agent_type: Option<String>,
    },
    SubagentStop {
        agent_id: SessionId,
    },
    /// A documented event (or notification) that says nothing about state.
    Nothing,
}

#[derive(Debug, thiserror::Error)]
pub enum HookError {
    #[error("not a hook payload: {0}")]
    Malformed(String),
    #[error("unknown hook event `{0}`")]
    UnknownEvent(String),
    #[error("{event} needs `{field}`")]
    Missing {
        event: &'static str,
        field: &'static str,
    },
    #[error("invalid id: {0}")]
    BadId(#[from] IdError),
}

/// The fields Flow reads; every other field of the payload is ignored.
#[derive(Deserialize)]
struct Payload {
    hook_event_name: String,
    session_id: String,
    notification_type: Option<String>,
    message: Option<String>,
    tool_name: Option<String>,
    agent_id: Option<String>,
    agent_type: Option<String>,
    flow_task_list: Option<String>,
}

/// Events Claude Code documents that carry no state Flow shows.
const QUIET_EVENTS: &[&str] = &[
    "PreCompact",
    "PostCompact",
    "Setup",
    "InstructionsLoaded",
    "ConfigChange",
    "CwdChanged",
    "FileChanged",
    "WorktreeCreate",
    "WorktreeRemove",
    "TaskCreated",
    "TaskCompleted",
    "TeammateIdle",
    "Elicitation",
    "ElicitationResult",
    "PermissionDenied",
];

/// Reads one payload. Ids must be ids (contract §3's rule), the event one Claude Code
/// documents.
pub fn parse(value: Value) -> Result<HookSignal, HookError> {
    let p: Payload =
        serde_json::from_value(value).map_err(|e| HookError::Malformed(e.to_string()))?;
    let session = SessionId::parse(&p.session_id)?;
    let task_list = p
        .flow_task_list
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(SessionId::parse)
        .transpose()?;
    let state = |state, waiting_for: Option<String>| HookChange::State { state, waiting_for };
    let waiting = |reason: Option<&str>, default: &str| {
        let reason = reason.map(str::trim).filter(|r| !r.is_empty());
        state(AgentState::Waiting, Some(clip(reason.unwrap_or(default))))
    };
    let agent = |event| {
        p.agent_id
            .as_deref()
            .ok_or(HookError::Missing {
                event,
                field: "agent_id",
            })
            .and_then(|id| Ok(SessionId::parse(id)?))
    };
    let change = match p.hook_event_name.as_str() {
        "UserPromptSubmit" | "PreToolUse" | "PostToolUse" | "PostToolUseFailure" => {
            state(AgentState::Busy, None)
        }
        "Stop" | "StopFailure" | "SessionStart" => state(AgentState::Idle, None),
        "SessionEnd" => state(AgentState::Ended, None),
        "PermissionRequest" => {
            let reason = p
                .tool_name
                .as_deref()
                .map(|t| format!("permission to use {t}"));
            waiting(reason.as_deref(), "permission")
        }
        "Notification" => match p.notification_type.as_deref() {
            Some("permission_prompt") => waiting(p.message.as_deref(), "permission"),
            Some("idle_prompt" | "elicitation_dialog") => {
                waiting(p.message.as_deref(), "input needed")
            }
            _ => HookChange::Nothing,
        },
        "SubagentStart" => HookChange::SubagentStart {
            agent_id: agent("SubagentStart")?,
            agent_type: p.agent_type.as_deref().map(clip),
        },
        "SubagentStop" => HookChange::SubagentStop {
            agent_id: agent("SubagentStop")?,
        },
        other if QUIET_EVENTS.contains(&other) => HookChange::Nothing,
        other => return Err(HookError::UnknownEvent(clip(other))),
    };
    Ok(HookSignal {
        session,
        change,
        task_list,
    })
}

fn clip(text: &str) -> String {
    text.chars().take(MAX_REASON_CHARS).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SID: &str = "0d9a7c1e-4b5f-4a3e-9c1d-2f6e8b7a9c10";

    fn payload(event: &str, extra: Value) -> Value {
        let mut v = json!({
            "session_id": SID,
            "transcript_path": "/home/u/.claude/projects/-p/x.jsonl",
            "cwd": "/p",
            "permission_mode": "default",
            "hook_event_name": event,
        });
        for (k, x) in extra.as_object().unwrap() {
            v[k] = x.clone();
        }
        v
    }

    #[test]
    fn a_permission_prompt_is_waiting_with_its_message() {
        let s = parse(payload(
            "Notification",
            json!({"notification_type": "permission_prompt",
                   "message": "Claude needs your permission to use Bash"}),
        ))
        .unwrap();
        assert_eq!(
            s.change,
            HookChange::State {
                state: AgentState::Waiting,
                waiting_for: Some("Claude needs your permission to use Bash".into())
            }
        );
        assert_eq!(s.session.as_str(), SID);
    }

    #[test]
    fn tool_use_and_prompts_are_busy_and_stop_is_idle() {
        for event in ["UserPromptSubmit", "PreToolUse", "PostToolUse"] {
            let s = parse(payload(event, json!({"tool_input": {"command": "ls"}}))).unwrap();
            assert!(matches!(
                s.change,
                HookChange::State {
                    state: AgentState::Busy,
                    ..
                }
            ));
        }
        let s = parse(payload("Stop", json!({"stop_hook_active": false}))).unwrap();
        assert!(matches!(
            s.change,
            HookChange::State {
                state: AgentState::Idle,
                ..
            }
        ));
    }

    #[test]
    fn subagents_need_an_id_that_is_an_id() {
        let s = parse(payload(
            "SubagentStart",
            json!({"agent_id": "a1b2c3", "agent_type": "Explore"}),
        ))
        .unwrap();
        assert!(matches!(s.change, HookChange::SubagentStart { .. }));
        assert!(matches!(
            parse(payload("SubagentStop", json!({}))),
            Err(HookError::Missing { .. })
        ));
        assert!(matches!(
            parse(payload("SubagentStop", json!({"agent_id": "../x"}))),
            Err(HookError::BadId(_))
        ));
    }

    #[test]
    fn hostile_payloads_are_refused() {
        assert!(matches!(
            parse(payload("Explode", json!({}))),
            Err(HookError::UnknownEvent(_))
        ));
        let mut bad = payload("Stop", json!({}));
        bad["session_id"] = json!("../../etc");
        assert!(matches!(parse(bad), Err(HookError::BadId(_))));
        assert!(matches!(
            parse(json!({"hook_event_name": "Stop"})),
            Err(HookError::Malformed(_))
        ));
        assert!(matches!(parse(json!([1, 2])), Err(HookError::Malformed(_))));
        let list = payload("Stop", json!({"flow_task_list": "a/b"}));
        assert!(matches!(parse(list), Err(HookError::BadId(_))));
    }

    #[test]
    fn quiet_events_and_other_notifications_change_nothing() {
        let s = parse(payload("PreCompact", json!({"trigger": "auto"}))).unwrap();
        assert_eq!(s.change, HookChange::Nothing);
        let s = parse(payload(
            "Notification",
            json!({"notification_type": "auth_success", "message": "ok"}),
        ))
        .unwrap();
        assert_eq!(s.change, HookChange::Nothing);
    }
}
