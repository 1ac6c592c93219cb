//! Agent teams (contract §6): `teams/<team>/config.json` and the inboxes beside it
//! (`teams/<team>/inboxes/<member>.json`, a JSON array of messages), read leniently: a field
//! of the wrong type counts as absent, a member without a name is left out, a message that is
//! not an object is skipped. Only a file that is not JSON at all is refused.
//!
//! Teammates talk in plain text and in protocol messages: JSON objects encoded as the `text`
//! of a message (`{"type":"idle_notification",…}`, `shutdown_request`, `shutdown_approved`,
//! `shutdown_response` with `approve`, `teammate_terminated`, `task_assignment`, …).
//! [`Message::kind`] names the protocol type; [`Message::signal`] is what it says about the
//! sender's or the recipient's state.

use serde_json::{Map, Value};

use crate::ids::SessionId;

/// A team's `config.json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamConfig {
    pub name: Option<String>,
    pub description: Option<String>,
    /// Epoch ms.
    pub created_at: Option<i64>,
    pub lead_agent_id: Option<String>,
    /// Only a valid session id: it is matched against transcripts and served as an id.
    pub lead_session_id: Option<String>,
    pub working_dir: Option<String>,
    pub members: Vec<Member>,
}

/// One member of a team, as its config lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// `name@team`.
    pub agent_id: Option<String>,
    /// The member's name: its inbox file's stem, its tracker task's subject, the `owner` of the
    /// tasks it takes. From `name`, else from `agentId` before the `@`.
    pub name: String,
    pub agent_type: Option<String>,
    pub model: Option<String>,
    pub color: Option<String>,
    pub cwd: Option<String>,
    /// Epoch ms.
    pub joined_at: Option<i64>,
    /// Runs inside the lead's process (`backendType`/`tmuxPaneId` `in-process`): it cannot
    /// outlive the lead.
    pub in_process: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum TeamError {
    #[error("not JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("not a JSON object")]
    NotAnObject,
    #[error("not a JSON array")]
    NotAnArray,
}

fn string(map: &Map<String, Value>, key: &str) -> Option<String> {
    map.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

fn millis(map: &Map<String, Value>, key: &str) -> Option<i64> {
    match map.get(key)? {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        _ => None,
    }
}

/// Parses a team config. Returns the config and how many members were left out for having no
/// name (the caller logs that once per file version).
pub fn parse_config(bytes: &[u8]) -> Result<(TeamConfig, usize), TeamError> {
    let Value::Object(map) = serde_json::from_slice(bytes)? else {
        return Err(TeamError::NotAnObject);
    };
    let mut members = Vec::new();
    let mut nameless = 0;
    if let Some(Value::Array(raw)) = map.get("members") {
        for it in raw {
            let Value::Object(m) = it else {
                nameless += 1;
                continue;
            };
            let agent_id = string(m, "agentId");
            let name = string(m, "name").or_else(|| {
                let id = agent_id.as_deref()?;
                let name = id.split_once('@').map_or(id, |(n, _)| n).trim();
                (!name.is_empty()).then(|| name.to_owned())
            });
            let Some(name) = name else {
                nameless += 1;
                continue;
            };
            if members.iter().any(|o: &Member| o.name == name) {
                continue;
            }
            let in_process = string(m, "backendType").as_deref() == Some("in-process")
                || string(m, "tmuxPaneId").as_deref() == Some("in-process");
            members.push(Member {
                agent_id,
                name,
                agent_type: string(m, "agentType"),
                model: string(m, "model"),
                color: string(m, "color"),
                cwd: string(m, "cwd"),
                joined_at: millis(m, "joinedAt"),
                in_process,
            });
        }
    }
    let config = TeamConfig {
        name: string(&map, "name"),
        description: string(&map, "description"),
        created_at: millis(&map, "createdAt"),
        lead_agent_id: string(&map, "leadAgentId"),
        lead_session_id: string(&map, "leadSessionId").filter(|id| SessionId::parse(id).is_ok()),
        working_dir: string(&map, "workingDir"),
        members,
    };
    Ok((config, nameless))
}

impl TeamConfig {
    /// The lead member: the one whose `agentId` is `leadAgentId`, else one named `team-lead`.
    pub fn lead(&self) -> Option<&Member> {
        let by_id = self.lead_agent_id.as_deref().and_then(|lead| {
            self.members
                .iter()
                .find(|m| m.agent_id.as_deref() == Some(lead))
        });
        by_id.or_else(|| self.members.iter().find(|m| m.name == "team-lead"))
    }

    /// Where the team works: `workingDir`, else the lead member's `cwd`.
    pub fn project(&self) -> Option<&str> {
        self.working_dir
            .as_deref()
            .or_else(|| self.lead().and_then(|m| m.cwd.as_deref()))
    }
}

/// One inbox message.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Message {
    pub from: Option<String>,
    /// As stored; a protocol message keeps its JSON text.
    pub text: String,
    pub summary: Option<String>,
    /// As written.
    pub timestamp: Option<String>,
    /// `timestamp` in epoch ms, when it is one.
    pub at: Option<i64>,
    pub read: bool,
    /// The protocol `type` when `text` is a JSON-encoded object that has one.
    pub kind: Option<String>,
    pub signal: Signal,
}

/// What a message says about the state of its sender or its recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Signal {
    /// Plain text or any other protocol message: its sender was at work when it wrote.
    Message,
    /// `idle_notification`: the sender finished its turn.
    Idle,
    /// `shutdown_request`: the recipient is asked to stop.
    ShutdownRequest,
    /// `shutdown_approved`, `shutdown_response` with `approve: true`, `teammate_terminated`:
    /// the sender stopped.
    Stopped,
    /// `shutdown_rejected`, `shutdown_response` with `approve: false`: the sender goes on.
    Refused,
}

/// Parses an inbox: a JSON array of messages. Elements that are not objects are skipped.
pub fn parse_inbox(bytes: &[u8]) -> Result<Vec<Message>, TeamError> {
    let Value::Array(items) = serde_json::from_slice(bytes)? else {
        return Err(TeamError::NotAnArray);
    };
    Ok(items
        .into_iter()
        .filter_map(|it| match it {
            Value::Object(m) => Some(message(&m)),
            _ => None,
        })
        .collect())
}

fn message(m: &Map<String, Value>) -> Message {
    let text = match m.get("text").or_else(|| m.get("content")) {
        Some(Value::String(s)) => s.clone(),
        None | Some(Value::Null) => String::new(),
        // A structured text is served as its JSON.
        Some(other) => other.to_string(),
    };
    let protocol = text
        .trim_start()
        .starts_with('{')
        .then(|| serde_json::from_str::<Map<String, Value>>(&text).ok())
        .flatten();
    let kind = protocol.as_ref().and_then(|p| string(p, "type"));
    let signal = match kind.as_deref() {
        Some("idle_notification") => Signal::Idle,
        Some("shutdown_request") => Signal::ShutdownRequest,
        Some("shutdown_approved" | "teammate_terminated") => Signal::Stopped,
        Some("shutdown_rejected") => Signal::Refused,
        Some("shutdown_response") => match protocol.as_ref().and_then(|p| p.get("approve")) {
            Some(Value::Bool(false)) => Signal::Refused,
            _ => Signal::Stopped,
        },
        _ => Signal::Message,
    };
    let timestamp = string(m, "timestamp");
    let at = timestamp
        .as_deref()
        .and_then(crate::time::parse_rfc3339)
        .map(crate::time::epoch_ms);
    Message {
        from: string(m, "from").or_else(|| protocol.as_ref().and_then(|p| string(p, "from"))),
        text,
        summary: string(m, "summary"),
        timestamp,
        at,
        read: m.get("read").and_then(Value::as_bool).unwrap_or(false),
        kind,
        signal,
    }
}

/// For an inbox too large to read whole, the newest messages: `tail` is the file's last bytes.
/// Claude Code writes inboxes pretty-printed, one message per element starting at a line
/// `  {` (text never holds a raw newline: JSON escapes it), so the first such line in the
/// tail starts a whole message and everything from there is a complete array's end.
/// `None` when the tail holds no such line (a compact file) or does not parse.
pub fn parse_inbox_tail(tail: &[u8]) -> Option<Vec<Message>> {
    let start = memchr::memmem::find(tail, b"\n  {")? + 1;
    let mut bytes = Vec::with_capacity(tail.len() - start + 1);
    bytes.push(b'[');
    bytes.extend_from_slice(&tail[start..]);
    parse_inbox(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_is_lenient_and_names_members() {
        let (c, nameless) = parse_config(
            br#"{"name":"t","description":7,"createdAt":1770477615385,"leadAgentId":"team-lead@t",
                "leadSessionId":"../etc","members":[
                {"agentId":"team-lead@t","name":"team-lead","cwd":"/w"},
                {"agentId":"solo@t","tmuxPaneId":"in-process"},
                {"model":"haiku"}, 3,
                {"name":"dup"},{"name":"dup","model":"x"}]}"#,
        )
        .unwrap();
        assert_eq!(c.description, None);
        assert_eq!(c.lead_session_id, None, "not an id");
        assert_eq!(c.created_at, Some(1_770_477_615_385));
        let names: Vec<&str> = c.members.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["team-lead", "solo", "dup"]);
        assert!(c.members[1].in_process);
        assert_eq!(nameless, 2);
        assert_eq!(c.lead().map(|m| m.name.as_str()), Some("team-lead"));
        assert_eq!(c.project(), Some("/w"));
        assert!(parse_config(b"[1]").is_err());
        assert!(parse_config(b"{\"name\":").is_err());
    }

    #[test]
    fn protocol_messages_are_recognised() {
        let inbox = br#"[
          {"from":"a","text":"{\"type\":\"idle_notification\",\"from\":\"a\",\"idleReason\":\"available\"}","timestamp":"2026-02-09T15:09:23.571Z","read":true},
          {"from":"lead","text":"{\"type\":\"shutdown_request\",\"requestId\":\"x\"}","timestamp":"2026-02-09T15:10:32.458Z","read":true},
          {"from":"a","text":"{\"type\":\"shutdown_approved\"}","timestamp":"2026-02-09T15:10:33Z"},
          {"from":"b","text":"{\"type\":\"shutdown_response\",\"approve\":false}"},
          {"from":"c","text":"{\"type\":\"teammate_terminated\"}"},
          {"from":"d","text":"{not json","summary":"s"},
          {"from":"e","text":{"type":"idle_notification"}},
          "junk"
        ]"#;
        let msgs = parse_inbox(inbox).unwrap();
        let signals: Vec<Signal> = msgs.iter().map(|m| m.signal).collect();
        assert_eq!(
            signals,
            [
                Signal::Idle,
                Signal::ShutdownRequest,
                Signal::Stopped,
                Signal::Refused,
                Signal::Stopped,
                Signal::Message,
                Signal::Idle
            ]
        );
        assert_eq!(msgs[0].at, Some(1_770_649_763_571));
        assert_eq!(msgs[0].kind.as_deref(), Some("idle_notification"));
        assert!(msgs[0].read && !msgs[2].read);
        assert_eq!(msgs[5].summary.as_deref(), Some("s"));
        assert_eq!(msgs[5].kind, None);
    }

    #[test]
    fn a_tail_starts_at_a_whole_message() {
        let full = "[\n  {\n    \"from\": \"a\",\n    \"text\": \"one {\\n  {\",\n    \"read\": true\n  },\n  {\n    \"from\": \"b\",\n    \"text\": \"two\",\n    \"read\": false\n  }\n]";
        let cut = full.find("\"one").unwrap();
        let msgs = parse_inbox_tail(&full.as_bytes()[cut..]).unwrap();
        assert_eq!(msgs.len(), 1);
        assert_eq!(msgs[0].text, "two");
        assert!(parse_inbox_tail(b"[{\"from\":\"a\"}]").is_none());
    }
}
