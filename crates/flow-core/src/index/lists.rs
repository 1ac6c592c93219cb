//! Task lists that are neither a session's nor a team's: a list name chosen with
//! `CLAUDE_CODE_TASK_LIST_ID`, shared by the sessions that write to it. The folder name says
//! nothing of those sessions; their transcripts do: a `TaskCreate` call whose subject is a
//! task of the list. Such a list is linked to the session that created one of its tasks most
//! recently (its state, project and branch are the list's); one that no transcript explains
//! is a list of its own. Either way it is one item, and a linked writer is not listed again.

use std::collections::{HashMap, HashSet};

use super::Index;

/// `<uuid>` or `session-<8 hex>`: the folder names Claude Code gives a session's own list.
pub(super) fn looks_like_session(folder: &str) -> bool {
    let hex = |s: &str| s.bytes().all(|b| b.is_ascii_hexdigit());
    if let Some(rest) = folder.strip_prefix("session-") {
        return rest.len() == 8 && hex(rest);
    }
    let parts: Vec<&str> = folder.split('-').collect();
    parts.len() == 5
        && parts.iter().map(|p| p.len()).eq([8, 4, 4, 4, 12])
        && parts.iter().all(|p| hex(p))
}

/// A `TaskCreate` subject and the time of its newest call.
type Created = (String, Option<String>);

#[derive(serde::Deserialize)]
struct Subject {
    subject: Option<serde_json::Value>,
}

impl Index {
    /// Whether a task folder is a list of its own: not named like a session, not named by a
    /// transcript, not a team's.
    pub(super) fn is_shared_list(&self, folder: &str) -> bool {
        !looks_like_session(folder)
            && !self.transcripts.contains_key(folder)
            && self.team_config(folder).is_none()
    }

    /// Whether a transcript has a task folder of its own (`<uuid>` or its `session-<8hex>`).
    fn has_own_folder(&self, stem: &str) -> bool {
        if self.sessions.contains_key(stem) {
            return true;
        }
        let short = format!("session-{}", super::prefix8(stem));
        self.sessions.contains_key(&short) && self.transcript_for(&short) == Some(stem)
    }

    /// Recomputes which session each shared list is linked to; returns whether any link
    /// changed (a list's name, project and state come from its writer).
    pub(super) fn relink_lists(&mut self) -> bool {
        let mut links: HashMap<String, String> = HashMap::new();
        let writers: Vec<(&str, &[Created])> = self
            .transcripts
            .iter()
            .filter_map(|(stem, t)| {
                let subjects = &t.cursor.as_ref()?.task_subjects;
                (!subjects.is_empty() && !self.has_own_folder(stem))
                    .then_some((stem.as_str(), subjects.as_slice()))
            })
            .collect();
        if !writers.is_empty() {
            for (folder, entry) in &self.sessions {
                if !self.is_shared_list(folder) {
                    continue;
                }
                let subjects: HashSet<String> = entry
                    .tasks
                    .values()
                    .filter_map(|t| {
                        let task = t.task.as_ref()?;
                        match serde_json::from_str::<Subject>(task.json()).ok()?.subject? {
                            serde_json::Value::String(s) => Some(s.trim().to_owned()),
                            _ => None,
                        }
                    })
                    .collect();
                let best = writers
                    .iter()
                    .flat_map(|(stem, created)| {
                        created
                            .iter()
                            .filter(|(subject, _)| subjects.contains(subject))
                            .map(move |(_, at)| (at.as_deref().unwrap_or(""), *stem))
                    })
                    .max();
                if let Some((_, stem)) = best {
                    links.insert(folder.clone(), stem.to_owned());
                }
            }
        }
        links.extend(self.hook_list_links());
        let changed = links != self.list_links;
        self.list_links = links;
        changed
    }
}

#[cfg(test)]
mod tests {
    use super::looks_like_session;

    #[test]
    fn session_folder_names() {
        assert!(looks_like_session("0d9a7c1e-4b5f-4a3e-9c1d-2f6e8b7a9c10"));
        assert!(looks_like_session("session-0d9a7c1e"));
        assert!(!looks_like_session("session-0d9a7c1"));
        assert!(!looks_like_session("my-project"));
        assert!(!looks_like_session("analysis-team"));
        assert!(!looks_like_session("0d9a7c1e-4b5f-4a3e-9c1d-2f6e8b7a9c1z"));
    }
}
