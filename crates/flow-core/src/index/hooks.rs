//! What Claude Code's hooks told Flow (contract §8), laid over what the files say: a session's
//! exact state and what it waits for, which subagents run, and the shared task list a session
//! writes to. Hook data wins over the files until the files move on: a transcript record or a
//! registry rewrite later than the hook (by more than [`SLACK`], since Claude Code writes its
//! own records around the hook call) hands the session back to the files; a subagent whose
//! transcript is written again after its `SubagentStop` is judged by its file once more.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, SystemTime};

use super::agents::{AgentState, SessionLiveness};
use super::{Delta, Index, Stamp, Subagent};
use crate::hooks::{HookChange, HookSignal};

/// How much later than a hook a file must be written to count as newer than it.
const SLACK: Duration = Duration::from_secs(2);
/// Sessions remembered at most; the oldest hook state goes first.
const MAX_SESSIONS: usize = 4096;
/// The most subagents hooks may name for one session (a real session runs tens).
const MAX_AGENTS: usize = 256;

/// Whether one more key may be added to a map of `len` entries that does not hold it yet:
/// hook payloads come from any local process that passes the guard, so what they add is
/// bounded like the session states are.
fn room(len: usize, has: bool, cap: usize) -> bool {
    has || len < cap
}

/// Whether `map` (agents by session) can hold agent `id` of `session` within both caps.
fn room_for_agent<V>(map: &HashMap<String, BTreeMap<String, V>>, session: &str, id: &str) -> bool {
    match map.get(session) {
        Some(agents) => room(agents.len(), agents.contains_key(id), MAX_AGENTS),
        None => map.len() < MAX_SESSIONS,
    }
}

/// A session's state as its last state-changing hook gave it.
#[derive(Debug, Clone)]
pub(super) struct HookState {
    pub(super) state: AgentState,
    pub(super) waiting_for: Option<String>,
    pub(super) at: SystemTime,
}

impl HookState {
    /// The session as this hook shows it, with where and when the files last placed it.
    pub(super) fn liveness<'a>(
        &'a self,
        cwd: Option<&'a str>,
        updated_at: Option<SystemTime>,
    ) -> SessionLiveness<'a> {
        SessionLiveness {
            state: self.state,
            live: self.state != AgentState::Ended,
            waiting_for: self.waiting_for.as_deref(),
            cwd,
            updated_at,
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub(super) struct HookAgent {
    pub(super) running: bool,
    pub(super) at: SystemTime,
}

/// Everything hooks said, by session uuid.
#[derive(Debug, Default)]
pub(super) struct Hooks {
    pub(super) states: HashMap<String, HookState>,
    pub(super) agents: HashMap<String, BTreeMap<String, HookAgent>>,
    /// Shared task-list folder → the uuid of the session whose hooks named it last.
    pub(super) lists: HashMap<String, String>,
}

impl Hooks {
    pub(super) fn agent(&self, session: &str, agent: &str) -> Option<&HookAgent> {
        self.agents.get(session)?.get(agent)
    }

    fn remember(&mut self, uuid: String, state: HookState) {
        if self.states.len() >= MAX_SESSIONS
            && !self.states.contains_key(&uuid)
            && let Some(oldest) = self
                .states
                .iter()
                .min_by_key(|(_, s)| s.at)
                .map(|(k, _)| k.clone())
        {
            self.states.remove(&oldest);
            self.agents.remove(&oldest);
        }
        self.states.insert(uuid, state);
    }
}

/// Whether a file written at `file` is newer than a hook received at `hook`.
pub(super) fn moved_on(file: SystemTime, hook: SystemTime) -> bool {
    file > hook + SLACK
}

/// Whether a subagent runs: never when its session is not live; as its hook said, unless its
/// transcript was written since; else by how recently its file was written.
pub(super) fn subagent_running(
    live: bool,
    hook: Option<&HookAgent>,
    agent: &Subagent,
    now: SystemTime,
) -> bool {
    live && match hook {
        Some(h) if !moved_on(agent.last_activity, h.at) => h.running,
        _ => super::agents::recent(now, agent.last_activity),
    }
}

impl Index {
    /// Applies one hook call received at `now`; returns what changed for the board.
    pub fn apply_hook(&mut self, signal: HookSignal, now: SystemTime) -> Vec<Delta> {
        let teams_before = self.team_fingerprints(&self.all_team_names());
        let uuid = signal.session.as_str().to_owned();
        let mut deltas = Vec::new();
        if let Some(list) = signal.task_list {
            let list = list.as_str().to_owned();
            let lists = &self.registry.hooks.lists;
            if room(lists.len(), lists.contains_key(&list), MAX_SESSIONS)
                && lists.get(&list) != Some(&uuid)
            {
                self.registry.hooks.lists.insert(list, uuid.clone());
                self.relink_dirty = true;
            }
        }
        match signal.change {
            HookChange::State { state, waiting_for } => {
                let waiting_for = waiting_for.filter(|_| state == AgentState::Waiting);
                let hook = HookState {
                    state,
                    waiting_for,
                    at: now,
                };
                self.registry.hooks.remember(uuid.clone(), hook);
                self.generation += 1; // lastActivityAt moved, whatever else did
                self.registry_changed(vec![uuid], &mut deltas);
            }
            HookChange::SubagentStart {
                agent_id,
                agent_type,
            } => {
                let id = agent_id.as_str().to_owned();
                if !room_for_agent(&self.subagents, &uuid, &id) {
                    self.finish_batch(teams_before, &mut deltas);
                    return deltas;
                }
                let agents = self.subagents.entry(uuid.clone()).or_default();
                // Known from the hook before its transcript exists; the file replaces this
                // stand-in when it appears (its stamp differs).
                agents.entry(id.clone()).or_insert_with(|| Subagent {
                    agent_id: id.clone(),
                    agent_type,
                    description: None,
                    started_at: Some(crate::time::rfc3339_millis(now)),
                    last_activity: now,
                    running: false,
                    stamp: Stamp {
                        len: 0,
                        modified: SystemTime::UNIX_EPOCH,
                        inode: 0,
                    },
                });
                self.set_hook_agent(&uuid, id, true, now, &mut deltas);
            }
            HookChange::SubagentStop { agent_id } => {
                let id = agent_id.as_str().to_owned();
                self.set_hook_agent(&uuid, id, false, now, &mut deltas);
            }
            HookChange::Nothing => {}
        }
        self.finish_batch(teams_before, &mut deltas);
        deltas
    }

    fn set_hook_agent(
        &mut self,
        uuid: &str,
        id: String,
        running: bool,
        now: SystemTime,
        deltas: &mut Vec<Delta>,
    ) {
        if !room_for_agent(&self.registry.hooks.agents, uuid, &id) {
            return;
        }
        let before = self.subagent_counts(uuid);
        self.registry
            .hooks
            .agents
            .entry(uuid.to_owned())
            .or_default()
            .insert(id, HookAgent { running, at: now });
        self.refresh_subagents_running();
        self.generation += 1;
        if self.subagent_counts(uuid) != before {
            // The session's summary carries its subagent counts.
            deltas.push(Delta::SessionState {
                session: self.board_id(uuid).to_owned(),
            });
        }
    }

    /// Hands sessions whose files moved on since their last hook back to the files, with an
    /// event where that changes what the board shows.
    pub(super) fn expire_hooks(&mut self, deltas: &mut Vec<Delta>) {
        if self.registry.hooks.states.is_empty() {
            return;
        }
        let expired: Vec<String> = self
            .registry
            .hooks
            .states
            .iter()
            .filter(|(uuid, hook)| {
                let transcript = self
                    .transcripts
                    .get(uuid.as_str())
                    .and_then(|t| t.cursor.as_ref()?.last_activity());
                let registry = self.registry.live_rewrite(uuid);
                transcript
                    .max(registry)
                    .is_some_and(|t| moved_on(t, hook.at))
            })
            .map(|(uuid, _)| uuid.clone())
            .collect();
        for uuid in &expired {
            self.registry.hooks.states.remove(uuid);
        }
        self.registry_changed(expired, deltas);
    }

    /// The shared lists hooks named, for [`Index::relink_lists`]: a hook's word beats a
    /// transcript's `TaskCreate` evidence.
    pub(super) fn hook_list_links(&self) -> Vec<(String, String)> {
        self.registry
            .hooks
            .lists
            .iter()
            .filter(|(folder, _)| {
                self.sessions.contains_key(*folder) && self.is_shared_list(folder)
            })
            .map(|(folder, uuid)| (folder.clone(), uuid.clone()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use super::MAX_AGENTS;

    const SID: &str = "0d9a7c1e-4b5f-4a3e-9c1d-2f6e8b7a9c10";

    #[test]
    fn hooks_cannot_grow_the_index_without_bound() {
        let dir = tempfile::tempdir().unwrap();
        let config = crate::Config::for_claude_dir(dir.path());
        let mut index = crate::Index::scan(crate::Layout::from_config(&config));
        let now = SystemTime::now();
        for i in 0..MAX_AGENTS + 50 {
            let signal = crate::hooks::parse(serde_json::json!({
                "session_id": SID, "hook_event_name": "SubagentStart", "cwd": "/p",
                "transcript_path": "/x.jsonl", "agent_id": format!("a{i}"), "agent_type": "Explore",
            }))
            .unwrap();
            index.apply_hook(signal, now);
        }
        assert_eq!(index.subagents.get(SID).map_or(0, |a| a.len()), MAX_AGENTS);
        let hooked = index.registry.hooks.agents.get(SID).map_or(0, |a| a.len());
        assert_eq!(hooked, MAX_AGENTS);
    }
}
