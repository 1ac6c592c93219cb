//! Wire shapes of sessions and tasks (contract §3), converted by hand from the index's types so
//! only this crate knows the JSON field names.

use flow_core::time::rfc3339_millis;
use flow_core::{SessionSummary, TaskRecord};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::value::RawValue;

#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SessionView<'a> {
    pub id: &'a str,
    pub name: Option<&'a str>,
    pub slug: Option<&'a str>,
    pub project: Option<&'a str>,
    pub description: Option<&'a str>,
    pub git_branch: Option<&'a str>,
    pub task_count: usize,
    pub completed: usize,
    pub in_progress: usize,
    pub pending: usize,
    pub created_at: Option<&'a str>,
    pub modified_at: String,
    // Contract §6 (additive): who is working and who waits.
    pub state: &'static str,
    pub live: bool,
    /// What a waiting session waits for (extension; `null` unless `state` is `waiting`).
    pub waiting_for: Option<&'a str>,
    pub last_activity_at: Option<String>,
    pub cwd: Option<&'a str>,
    /// The agent team whose task list this is, or that the session leads.
    pub team: Option<&'a str>,
    /// The session's slug when `plans/<slug>.md` exists (`GET /api/plans/:slug`).
    pub plan_slug: Option<&'a str>,
    pub subagents: SubagentsView,
}

#[derive(Debug, serde::Serialize)]
pub(crate) struct SubagentsView {
    pub running: usize,
    pub total: usize,
}

/// A session as `/api/activity` lists it: the `/api/sessions` item plus `hasTaskList`.
#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ActivityView<'a> {
    #[serde(flatten)]
    pub session: SessionView<'a>,
    pub has_task_list: bool,
}

impl<'a> From<SessionSummary<'a>> for ActivityView<'a> {
    fn from(s: SessionSummary<'a>) -> Self {
        let has_task_list = s.has_task_list;
        Self {
            session: SessionView::from(s),
            has_task_list,
        }
    }
}

impl<'a> From<SessionSummary<'a>> for SessionView<'a> {
    fn from(s: SessionSummary<'a>) -> Self {
        Self {
            state: s.liveness.state.as_str(),
            live: s.liveness.live,
            waiting_for: s.liveness.waiting_for,
            last_activity_at: s.last_activity_at.map(rfc3339_millis),
            cwd: s.cwd,
            team: s.team,
            plan_slug: s.plan_slug,
            subagents: SubagentsView {
                running: s.subagents.running,
                total: s.subagents.total,
            },
            id: s.id,
            name: s.name,
            slug: s.slug,
            project: s.project,
            description: s.description,
            git_branch: s.git_branch,
            task_count: s.task_count,
            completed: s.counts.completed,
            in_progress: s.counts.in_progress,
            pending: s.counts.pending,
            created_at: s.created_at,
            modified_at: rfc3339_millis(s.modified_at),
        }
    }
}

/// Which session a task belongs to, for the cross-session listing.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TaskOwner<'a> {
    pub session_id: &'a str,
    pub session_name: Option<&'a str>,
    pub project: Option<&'a str>,
}

/// A task exactly as stored, every field in file order, plus the fields Flow adds. An added
/// field replaces a stored one of the same name, so no key is ever written twice.
#[derive(Debug)]
pub(crate) struct TaskView<'a> {
    pub record: TaskRecord<'a>,
    pub owner: Option<TaskOwner<'a>>,
}

impl Serialize for TaskView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        const ADDED: [&str; 5] = [
            "createdAt",
            "updatedAt",
            "sessionId",
            "sessionName",
            "project",
        ];
        let added = if self.owner.is_some() { 5 } else { 2 };
        let stored = self.record.task.json();
        let created = rfc3339_millis(self.record.created);
        let updated = rfc3339_millis(self.record.modified);
        // Fast path: splice Flow's fields into the stored text. Taken only when no key Flow adds
        // appears anywhere in it, so nothing can end up written twice.
        let clash = ADDED[..added]
            .iter()
            .any(|k| stored.contains(&format!("\"{k}\"")));
        // A stored object that cannot be rebuilt as a map (a number beyond f64) is spliced
        // too: a repeated key is still valid JSON, and clients keep the last (Flow's) value.
        let fields = if clash {
            self.record.task.fields().ok()
        } else {
            None
        };
        let Some(fields) = fields else {
            let mut out = String::with_capacity(stored.len() + 160);
            out.push_str(&stored[..stored.len() - 1]);
            if stored.len() > 2 {
                out.push(',');
            }
            out.push_str(&format!(
                "\"createdAt\":\"{created}\",\"updatedAt\":\"{updated}\""
            ));
            if let Some(owner) = self.owner {
                let rest = serde_json::json!({
                    "sessionId": owner.session_id,
                    "sessionName": owner.session_name,
                    "project": owner.project,
                });
                let rest = rest.to_string();
                out.push(',');
                out.push_str(&rest[1..rest.len() - 1]);
            }
            out.push('}');
            let raw = RawValue::from_string(out).map_err(serde::ser::Error::custom)?;
            return raw.serialize(s);
        };
        let mut map = s.serialize_map(None)?;
        for (key, value) in &fields {
            if !ADDED[..added].contains(&key.as_str()) {
                map.serialize_entry(key, value)?;
            }
        }
        map.serialize_entry("createdAt", &created)?;
        map.serialize_entry("updatedAt", &updated)?;
        if let Some(owner) = self.owner {
            map.serialize_entry("sessionId", owner.session_id)?;
            map.serialize_entry("sessionName", &owner.session_name)?;
            map.serialize_entry("project", &owner.project)?;
        }
        map.end()
    }
}
