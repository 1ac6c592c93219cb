//! The wire shapes the terminal clients read (contract §3). Lenient on purpose: a task file is
//! whatever an agent wrote, so every field has a default and ids may be numbers or strings.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Session {
    pub id: String,
    pub name: Option<String>,
    pub slug: Option<String>,
    pub project: Option<String>,
    pub git_branch: Option<String>,
    pub task_count: u64,
    pub completed: u64,
    pub in_progress: u64,
    pub pending: u64,
    pub modified_at: String,
    /// `busy`, `idle`, `waiting`, `shell` or `ended` (contract §6); empty from an older server.
    pub state: String,
    /// Whether the session's Claude Code process is running.
    pub live: bool,
    /// What a waiting session waits for.
    pub waiting_for: Option<String>,
    /// The agent team whose task list this is (or whose lead this session is), if any.
    pub team: Option<String>,
    /// The machine the session runs on, on a team board (contract §7); `None` elsewhere.
    #[serde(deserialize_with = "lenient_name")]
    pub machine: Option<String>,
    /// Another machine's session whose machine is offline: its last data (contract §7).
    #[serde(deserialize_with = "lenient_flag")]
    pub stale: bool,
}

impl Session {
    /// The session's state; `ended` when the server did not say (an older server).
    pub fn state(&self) -> &str {
        if self.state.is_empty() {
            "ended"
        } else {
            &self.state
        }
    }

    /// Waiting for the user: a permission, an answer, input. Not the last data of a machine
    /// that went offline: nobody can answer there from here.
    pub fn needs_you(&self) -> bool {
        self.live && self.state == "waiting" && !self.stale
    }

    /// Working right now: its process runs and it has work in progress. An in-progress task
    /// of a session that is not live is stale, not activity (contract §6).
    pub fn is_active(&self) -> bool {
        self.live && self.in_progress > 0
    }

    /// What people call it: its title, else its slug, else its id: a UUID by its first 8
    /// characters, anything else whole (`session-1a2b3c4d` folders all start alike, so their
    /// prefix tells nothing apart). The same rule as the web board.
    pub fn label(&self) -> &str {
        self.name
            .as_deref()
            .or(self.slug.as_deref())
            .unwrap_or_else(|| {
                if is_uuid(&self.id) {
                    &self.id[..8]
                } else {
                    &self.id
                }
            })
    }

    /// The last component of the project path: enough to tell projects apart in a list.
    pub fn project_name(&self) -> Option<&str> {
        let project = self.project.as_deref()?.trim_end_matches('/');
        project.rsplit('/').next().filter(|s| !s.is_empty())
    }
}

fn is_uuid(id: &str) -> bool {
    id.len() == 36
        && id.char_indices().all(|(i, c)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                c == '-'
            } else {
                c.is_ascii_hexdigit()
            }
        })
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Task {
    #[serde(deserialize_with = "lenient_string")]
    pub id: String,
    #[serde(deserialize_with = "lenient_string")]
    pub subject: String,
    #[serde(deserialize_with = "lenient_string")]
    pub description: String,
    #[serde(deserialize_with = "lenient_string")]
    pub active_form: String,
    #[serde(deserialize_with = "lenient_string")]
    pub status: String,
    #[serde(deserialize_with = "lenient_string")]
    pub owner: String,
    #[serde(deserialize_with = "lenient_strings")]
    pub blocks: Vec<String>,
    #[serde(deserialize_with = "lenient_strings")]
    pub blocked_by: Vec<String>,
    pub metadata: Value,
    /// Only on `/api/tasks/all`.
    pub session_id: Option<String>,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
}

/// An agent team as `GET /api/teams` lists it (contract §6).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Team {
    #[serde(deserialize_with = "lenient_string")]
    pub name: String,
    pub description: Option<String>,
    /// Where the team works: its `workingDir`, else its lead's `cwd`.
    pub project: Option<String>,
    /// The team's task list (a session id), when it has one.
    pub task_list_id: Option<String>,
    pub members: Vec<Member>,
    /// Its task list's counts, trackers left out.
    pub completed: u64,
    pub in_progress: u64,
    pub pending: u64,
}

/// One member of a team, with what it is doing.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Member {
    #[serde(deserialize_with = "lenient_string")]
    pub name: String,
    pub agent_type: Option<String>,
    pub model: Option<String>,
    pub color: Option<String>,
    /// The team's lead.
    pub lead: bool,
    /// `working`, `idle` or `stopped`.
    #[serde(deserialize_with = "lenient_string")]
    pub state: String,
    /// The subject of the task it works on.
    pub current_task: Option<String>,
}

impl Team {
    /// "2 working · 1 idle": how the team stands, in member states.
    pub fn counts(&self) -> String {
        ["working", "idle", "stopped"]
            .iter()
            .filter_map(|state| {
                let n = self.members.iter().filter(|m| m.state == *state).count();
                (n > 0).then(|| format!("{n} {state}"))
            })
            .collect::<Vec<_>>()
            .join(" · ")
    }
}

/// The three board columns, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    Pending,
    InProgress,
    Completed,
}

impl Column {
    pub const ALL: [Column; 3] = [Column::Pending, Column::InProgress, Column::Completed];

    pub fn title(self) -> &'static str {
        match self {
            Column::Pending => "Pending",
            Column::InProgress => "In progress",
            Column::Completed => "Completed",
        }
    }
}

impl Task {
    /// Unknown statuses count as pending, as the web board does.
    pub fn column(&self) -> Column {
        match self.status.as_str() {
            "in_progress" => Column::InProgress,
            "completed" => Column::Completed,
            _ => Column::Pending,
        }
    }

    /// Claude Code's bookkeeping tasks, hidden on every board.
    pub fn is_internal(&self) -> bool {
        self.metadata
            .get("_internal")
            .is_some_and(|v| !matches!(v, Value::Null | Value::Bool(false)))
    }

    /// Numeric ids sort numerically, anything else after them by text (contract §3).
    pub fn sort_key(&self) -> (u8, u64, String) {
        match self.id.parse::<u64>() {
            Ok(n) => (0, n, String::new()),
            Err(_) => (1, 0, self.id.clone()),
        }
    }

    pub fn matches(&self, needle: &str) -> bool {
        [
            &self.id,
            &self.subject,
            &self.description,
            &self.active_form,
        ]
        .iter()
        .any(|field| contains_folded(field, needle))
    }
}

/// Case-insensitive `contains`, for search. `needle` is already lowercase.
pub fn contains_folded(haystack: &str, needle: &str) -> bool {
    haystack.to_lowercase().contains(needle)
}

fn text_of(value: Value) -> String {
    match value {
        Value::String(s) => s,
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn lenient_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(text_of(Value::deserialize(d)?))
}

/// A name, or `None` for anything that is not a non-empty string.
fn lenient_name<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) if !s.is_empty() => Some(s),
        _ => None,
    })
}

/// `true` only for `true`: a flag an older or odd server leaves out or garbles is off.
fn lenient_flag<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(matches!(Value::deserialize(d)?, Value::Bool(true)))
}

fn lenient_strings<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Array(items) => items.into_iter().map(text_of).collect(),
        _ => Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tasks_as_agents_write_them_are_read_without_failing() {
        let task: Task = serde_json::from_value(json!({
            "id": 7, "subject": "Ship", "status": "in_progress", "blockedBy": [1, "2"],
            "blocks": "nonsense", "metadata": {"_internal": true}, "extra": {"kept": 1}
        }))
        .unwrap();
        assert_eq!(task.id, "7");
        assert_eq!(task.blocked_by, ["1", "2"]);
        assert!(task.blocks.is_empty());
        assert!(task.is_internal());
        assert_eq!(task.column(), Column::InProgress);
        let odd: Task = serde_json::from_value(json!({"id": "x", "status": "weird"})).unwrap();
        assert_eq!(odd.column(), Column::Pending);
        assert!(!odd.is_internal());
    }

    #[test]
    fn sessions_are_labelled_by_title_then_slug_then_short_id() {
        let mut s = Session {
            id: "session-1a2b3c4d".into(),
            ..Session::default()
        };
        assert_eq!(
            s.label(),
            "session-1a2b3c4d",
            "not `session-` for every such folder"
        );
        s.id = "0123abcd-4567-89ab-cdef-0123456789ab".into();
        assert_eq!(s.label(), "0123abcd");
        s.slug = Some("brave-otter".into());
        assert_eq!(s.label(), "brave-otter");
        s.name = Some("Fix login".into());
        assert_eq!(s.label(), "Fix login");
        s.project = Some("/home/me/src/flow/".into());
        assert_eq!(s.project_name(), Some("flow"));
    }

    #[test]
    fn teams_are_read_leniently_and_counted_by_member_state() {
        let team: Team = serde_json::from_value(json!({
            "name": "blue-team", "description": null, "createdAt": "2026-11-30T09:00:00.000Z",
            "taskListId": "blue-team", "completed": 1, "inProgress": 1, "pending": 0, "future": true,
            "members": [
                {"name": "team-lead", "agentId": "team-lead@blue-team", "lead": true, "state": "idle", "currentTask": null},
                {"name": "lexer", "model": "haiku", "color": "blue", "state": "working", "currentTask": "Write the lexer"},
                {"name": "docs", "state": "working"},
                {"name": "old", "state": null}
            ]
        }))
        .unwrap();
        assert_eq!(
            team.members[1].current_task.as_deref(),
            Some("Write the lexer")
        );
        assert!(team.members[0].lead);
        assert_eq!(team.members[3].state, "");
        assert_eq!(team.counts(), "2 working · 1 idle");
    }

    #[test]
    fn team_board_fields_are_read_leniently() {
        let remote: Session = serde_json::from_value(json!({
            "id": "beta.s1", "machine": "beta", "stale": true, "state": "waiting", "live": true
        }))
        .unwrap();
        assert_eq!(remote.machine.as_deref(), Some("beta"));
        assert!(remote.stale);
        assert!(
            !remote.needs_you(),
            "an offline machine's last data asks nothing"
        );
        let odd: Session =
            serde_json::from_value(json!({"id": "s", "machine": 7, "stale": "yes"})).unwrap();
        assert_eq!(odd.machine, None);
        assert!(!odd.stale);
        let plain: Session = serde_json::from_value(json!({"id": "s"})).unwrap();
        assert_eq!((plain.machine, plain.stale), (None, false));
    }

    #[test]
    fn numeric_ids_sort_before_others() {
        let mut ids: Vec<Task> = ["10", "b", "2", "a", "1"]
            .iter()
            .map(|id| Task {
                id: (*id).into(),
                ..Task::default()
            })
            .collect();
        ids.sort_by_key(Task::sort_key);
        let order: Vec<&str> = ids.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(order, ["1", "2", "10", "a", "b"]);
    }
}
