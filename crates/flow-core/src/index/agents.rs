//! Who is working: the live registry (`sessions/<pid>.json`) with each entry's liveness, the
//! state every session is in because of it, and each session's subagents (contract §6).
//!
//! A session's state changes when a registry file is written or removed, and when a process
//! exits without removing its file; the second is only seen by probing, which
//! [`Index::sweep_liveness`] does for the entries believed alive (a few microseconds each).

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::Path;
use std::time::{Duration, SystemTime};

use serde::Deserialize;

use super::hooks::subagent_running;
use super::{Delta, Index, Stamp, list_dir};
use crate::process::{Liveness, ProcessProbe};
use crate::read::{open_regular, read_capped};
use crate::registry::{self, RegistryEntry};

/// Registry files are a few hundred bytes; anything past this is not one.
const MAX_REGISTRY_FILE: u64 = 64 << 10;
/// A subagent's `.meta.json` is tiny; its transcript's first line gives its start.
const MAX_META_FILE: u64 = 64 << 10;
const MAX_HEAD: u64 = 256 << 10;
/// A subagent counts as running while its session is live and it wrote this recently (the
/// files say nothing more exact; hooks will).
const SUBAGENT_RUNNING_WINDOW: Duration = Duration::from_secs(120);

/// A session's state as the board shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AgentState {
    Busy,
    Idle,
    Waiting,
    Shell,
    Ended,
}

impl AgentState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Busy => "busy",
            Self::Idle => "idle",
            Self::Waiting => "waiting",
            Self::Shell => "shell",
            Self::Ended => "ended",
        }
    }

    /// A live entry's `status`; an entry without one (SDK sessions, the legacy form) is a
    /// process at work.
    fn from_status(status: Option<&str>) -> Self {
        match status {
            Some("idle") => Self::Idle,
            Some("waiting") => Self::Waiting,
            Some("shell") => Self::Shell,
            _ => Self::Busy,
        }
    }
}

/// What the registry says about one session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLiveness<'a> {
    pub state: AgentState,
    pub live: bool,
    pub waiting_for: Option<&'a str>,
    /// The live entry's working dir.
    pub cwd: Option<&'a str>,
    /// The live entry's last rewrite.
    pub updated_at: Option<SystemTime>,
}

const ENDED: SessionLiveness<'static> = SessionLiveness {
    state: AgentState::Ended,
    live: false,
    waiting_for: None,
    cwd: None,
    updated_at: None,
};

#[derive(Debug)]
struct RegistryRecord {
    stamp: Stamp,
    /// `None` when the file could not be read as an entry (logged once per version).
    entry: Option<RegistryEntry>,
    liveness: Liveness,
}

/// The registry and what follows from it.
#[derive(Debug, Default)]
pub(super) struct Registry {
    /// By file name.
    records: HashMap<String, RegistryRecord>,
    /// Session uuid → the file of its live entry (the newest, if several claim it).
    live: HashMap<String, String>,
    /// Session uuid → the state last reported for it, so a change is reported once.
    reported: HashMap<String, (AgentState, Option<String>)>,
    probe: Option<ProcessProbe>,
    /// What hooks said, laid over the entries (`index/hooks.rs`).
    pub(super) hooks: super::hooks::Hooks,
}

/// One subagent of a session.
#[derive(Debug, Clone)]
pub struct Subagent {
    pub agent_id: String,
    pub agent_type: Option<String>,
    pub description: Option<String>,
    /// The first record's `timestamp`, as written.
    pub started_at: Option<String>,
    pub last_activity: SystemTime,
    pub running: bool,
    pub(super) stamp: Stamp,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SubagentCounts {
    pub running: usize,
    pub total: usize,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SubagentMeta {
    agent_type: Option<String>,
    description: Option<String>,
}

impl Registry {
    fn probe(&mut self) -> &ProcessProbe {
        self.probe.get_or_insert_with(ProcessProbe::new)
    }

    /// The uuids of sessions that have or had an entry.
    pub(super) fn knows(&self, uuid: &str) -> bool {
        self.records
            .values()
            .any(|r| r.entry.as_ref().is_some_and(|e| e.session_id == uuid))
    }

    fn rebuild_live(&mut self) {
        let mut live: HashMap<String, (String, i64)> = HashMap::new();
        for (file, record) in &self.records {
            let Some(entry) = record
                .entry
                .as_ref()
                .filter(|_| record.liveness == Liveness::Alive)
            else {
                continue;
            };
            let rank = entry.updated_at.or(entry.started_at).unwrap_or(0);
            let newer = live.get(&entry.session_id).is_none_or(|(_, r)| rank > *r);
            if newer {
                live.insert(entry.session_id.clone(), (file.clone(), rank));
            }
        }
        self.live = live.into_iter().map(|(k, (file, _))| (k, file)).collect();
    }

    fn live_entry(&self, uuid: &str) -> Option<&RegistryEntry> {
        self.live
            .get(uuid)
            .and_then(|file| self.records.get(file))
            .and_then(|r| r.entry.as_ref())
    }

    /// When the live entry of `uuid` was last rewritten.
    pub(super) fn live_rewrite(&self, uuid: &str) -> Option<SystemTime> {
        self.live_entry(uuid)?
            .updated_at
            .map(crate::time::from_epoch_ms)
    }

    /// The live entry's state, or a hook's where one is in force (a hook outranks the entry
    /// until the files move on); a session whose entries are all dead has ended, whatever a
    /// hook said; one the registry never named (older Claude Code) is what its hooks say.
    pub(super) fn liveness(&self, uuid: &str) -> SessionLiveness<'_> {
        let hook = self.hooks.states.get(uuid);
        let Some(entry) = self.live_entry(uuid) else {
            return match hook {
                Some(h) if !self.knows(uuid) => h.liveness(None, Some(h.at)),
                _ => ENDED,
            };
        };
        let updated_at = entry
            .updated_at
            .or(entry.started_at)
            .map(crate::time::from_epoch_ms);
        if let Some(h) = hook {
            return h.liveness(entry.cwd.as_deref(), updated_at.max(Some(h.at)));
        }
        let state = AgentState::from_status(entry.status.as_deref());
        SessionLiveness {
            state,
            live: true,
            waiting_for: entry
                .waiting_for
                .as_deref()
                .filter(|_| state == AgentState::Waiting),
            cwd: entry.cwd.as_deref(),
            updated_at,
        }
    }

    /// The newest entry that names `uuid`, live or not, with its file's time: what a session
    /// that has written nothing else is known by (where it ran, when it was last heard of),
    /// which must not vanish when its process ends.
    pub(super) fn newest(&self, uuid: &str) -> Option<(&RegistryEntry, SystemTime)> {
        self.records
            .values()
            .filter_map(|r| Some((r.entry.as_ref()?, r.stamp.modified)))
            .filter(|(e, _)| e.session_id == uuid)
            .max_by_key(|(e, _)| e.updated_at.or(e.started_at))
            .map(|(e, modified)| {
                let heard = e
                    .updated_at
                    .or(e.started_at)
                    .map_or(modified, crate::time::from_epoch_ms);
                (e, heard)
            })
    }

    /// Every session uuid the registry names, live or not.
    fn session_ids(&self) -> impl Iterator<Item = &str> {
        self.records
            .values()
            .filter_map(|r| r.entry.as_ref().map(|e| e.session_id.as_str()))
    }
}

impl Index {
    // ----- the registry -------------------------------------------------------------------

    pub(super) fn relist_registry(&mut self, deltas: &mut Vec<Delta>) {
        let on_disk: Vec<String> = list_dir(&self.layout.sessions_dir)
            .filter(|(name, is_dir)| !is_dir && crate::layout::registry_file(name))
            .map(|(name, _)| name)
            .collect();
        let gone: Vec<String> = self
            .registry
            .records
            .keys()
            .filter(|f| !on_disk.contains(f))
            .cloned()
            .collect();
        let mut touched = Vec::new();
        for file in gone.iter().chain(&on_disk) {
            touched.extend(self.refresh_registry_file(file));
        }
        self.registry_changed(touched, deltas);
    }

    pub(super) fn refresh_registry(&mut self, file: &str, deltas: &mut Vec<Delta>) {
        let touched = self.refresh_registry_file(file);
        self.registry_changed(touched, deltas);
    }

    /// Re-reads one registry file; returns the sessions whose entry may have changed.
    fn refresh_registry_file(&mut self, file: &str) -> Vec<String> {
        let path = self.layout.sessions_dir.join(file);
        let before = self
            .registry
            .records
            .get(file)
            .and_then(|r| r.entry.as_ref())
            .map(|e| e.session_id.clone());
        let Some((meta, bytes)) = read_capped(&path, MAX_REGISTRY_FILE) else {
            self.registry.records.remove(file);
            return before.into_iter().collect();
        };
        let stamp = Stamp::of(&meta);
        if self
            .registry
            .records
            .get(file)
            .is_some_and(|r| r.stamp == stamp)
        {
            return Vec::new();
        }
        let entry = match registry::parse(file, &bytes) {
            Ok(entry) => Some(entry),
            Err(err) => {
                tracing::warn!(path = %path.display(), %err, "skipping unreadable registry entry");
                None
            }
        };
        let liveness = match &entry {
            Some(e) => self
                .registry
                .probe()
                .liveness(e.pid, e.proc_start.as_deref(), e.started_at),
            None => Liveness::Gone,
        };
        let after = entry.as_ref().map(|e| e.session_id.clone());
        self.registry.records.insert(
            file.to_owned(),
            RegistryRecord {
                stamp,
                entry,
                liveness,
            },
        );
        before.into_iter().chain(after).collect()
    }

    /// What a liveness sweep must probe: every entry believed alive. Taken under a read lock;
    /// the probing itself ([`LivenessSweep::run`]) needs no lock at all.
    pub fn liveness_sweep(&self) -> LivenessSweep {
        let checks = self
            .registry
            .records
            .iter()
            .filter(|(_, r)| r.liveness == Liveness::Alive)
            .filter_map(|(file, r)| {
                let e = r.entry.as_ref()?;
                Some(LivenessCheck {
                    file: file.clone(),
                    pid: e.pid,
                    proc_start: e.proc_start.clone(),
                    started_at: e.started_at,
                })
            })
            .collect();
        LivenessSweep {
            probe: self.registry.probe.clone().unwrap_or_default(),
            checks,
            subagents_due: self.subagents_running_would_flip(),
        }
    }

    /// Applies a sweep's findings: the sessions whose process has gone become `ended`, and
    /// subagents that fell quiet stop counting as running.
    pub fn apply_liveness(&mut self, found: SweepResult) -> Vec<Delta> {
        let mut touched = Vec::new();
        for (file, now) in found.gone {
            if let Some(record) = self.registry.records.get_mut(&file)
                && record.liveness != now
            {
                record.liveness = now;
                if let Some(e) = &record.entry {
                    touched.push(e.session_id.clone());
                }
            }
        }
        let teams_before = self.team_fingerprints(&self.all_team_names());
        let mut deltas = Vec::new();
        self.registry_changed(touched, &mut deltas);
        if self.refresh_subagents_running() {
            self.generation += 1;
        }
        self.finish_batch(teams_before, &mut deltas);
        deltas
    }

    fn subagents_running_would_flip(&self) -> bool {
        let now = SystemTime::now();
        self.subagents.iter().any(|(session, agents)| {
            let live = self.registry.liveness(session).live;
            agents.values().any(|a| {
                let hook = self.registry.hooks.agent(session, &a.agent_id);
                a.running != subagent_running(live, hook, a, now)
            })
        })
    }

    pub(super) fn registry_changed(&mut self, touched: Vec<String>, deltas: &mut Vec<Delta>) {
        if touched.is_empty() {
            return;
        }
        self.registry.rebuild_live();
        for uuid in touched {
            // A newly registered session's transcript is worth reading even if nothing links it.
            if let Some(t) = self.transcripts.get(&uuid)
                && t.cursor.is_none()
            {
                self.read_transcript(&uuid);
            }
            let now = self.registry.liveness(&uuid);
            let now = (now.state, now.waiting_for.map(str::to_owned));
            if self.registry.reported.get(&uuid) == Some(&now) {
                continue;
            }
            self.registry.reported.insert(uuid.clone(), now);
            self.generation += 1;
            let board_id = self.board_id(&uuid);
            deltas.push(Delta::SessionState {
                session: board_id.to_owned(),
            });
            // Other lists that show this session's state (the task list of the team it leads,
            // a shared list it writes to) change with it.
            for folder in self.foreign_folders(&uuid) {
                if folder != board_id
                    && self.sessions.contains_key(folder)
                    && self.transcript_for(folder) == Some(uuid.as_str())
                {
                    deltas.push(Delta::SessionState {
                        session: folder.to_owned(),
                    });
                }
            }
        }
        if self.refresh_subagents_running() {
            self.generation += 1;
        }
    }

    /// The id a session has on the board: its task folder when it has one (`<uuid>`, the
    /// `session-<8hex>` folder, a team's or a shared list that links to it), else the uuid.
    pub(super) fn board_id<'a>(&'a self, uuid: &'a str) -> &'a str {
        if self.sessions.contains_key(uuid) {
            return uuid;
        }
        if let Some(prefix) = uuid.get(..8) {
            let short = format!("session-{prefix}");
            if let Some((key, _)) = self.sessions.get_key_value(&short)
                && self.transcript_for(key) == Some(uuid)
            {
                return key;
            }
        }
        // A session with no list of its own is shown by the list that links to it: the task
        // list of the team it leads, or a shared list it wrote to last.
        if let Some((key, _)) = self
            .leads
            .get(uuid)
            .and_then(|team| self.sessions.get_key_value(team))
            .filter(|(key, _)| self.transcript_for(key) == Some(uuid))
        {
            return key;
        }
        if let Some((folder, _)) = self.list_links.iter().find(|(_, stem)| *stem == uuid) {
            return folder;
        }
        uuid
    }

    /// The uuid behind a board id: a folder's linked transcript, else the id itself.
    pub(super) fn uuid_of<'a>(&'a self, id: &'a str) -> &'a str {
        self.transcript_for(id).unwrap_or(id)
    }

    /// What the registry says about the session with this board id.
    pub fn liveness(&self, id: &str) -> SessionLiveness<'_> {
        self.registry.liveness(self.uuid_of(id))
    }

    pub(super) fn registry_session_ids(&self) -> Vec<&str> {
        self.registry.session_ids().collect()
    }

    // ----- subagents ----------------------------------------------------------------------

    /// Re-lists `projects/<project>/<session>/subagents/`.
    pub(super) fn refresh_subagents(&mut self, project: &str, session: &str) -> bool {
        let dir = self
            .layout
            .projects_dir
            .join(project)
            .join(session)
            .join("subagents");
        let mut found: BTreeMap<String, Subagent> = BTreeMap::new();
        let known = self.subagents.remove(session).unwrap_or_default();
        for (name, is_dir) in list_dir(&dir) {
            let Some(id) = name
                .strip_suffix(".jsonl")
                .and_then(|s| s.strip_prefix("agent-"))
                .filter(|id| !is_dir && !id.is_empty())
            else {
                continue;
            };
            let path = dir.join(&name);
            let Some(meta) = fs::symlink_metadata(&path)
                .ok()
                .filter(fs::Metadata::is_file)
            else {
                continue;
            };
            let stamp = Stamp::of(&meta);
            let agent = match known.get(id) {
                Some(old) if old.stamp == stamp => old.clone(),
                old => read_subagent(&dir, id, stamp, old),
            };
            found.insert(id.to_owned(), agent);
        }
        // A subagent a hook announced keeps its stand-in until its transcript appears.
        for (id, agent) in known.iter() {
            if !found.contains_key(id) && self.registry.hooks.agent(session, id).is_some() {
                found.insert(id.clone(), agent.clone());
            }
        }
        let changed = found.len() != known.len()
            || found
                .iter()
                .any(|(id, a)| known.get(id).is_none_or(|k| k.stamp != a.stamp));
        if !found.is_empty() {
            self.subagents.insert(session.to_owned(), found);
        }
        if self.refresh_subagents_running() {
            self.generation += 1;
        }
        changed
    }

    /// Recomputes which subagents count as running; reports whether any flipped.
    pub(super) fn refresh_subagents_running(&mut self) -> bool {
        let now = SystemTime::now();
        let mut flipped = false;
        for (session, agents) in &mut self.subagents {
            let live = self.registry.liveness(session).live;
            for agent in agents.values_mut() {
                let hook = self.registry.hooks.agent(session, &agent.agent_id);
                let running = subagent_running(live, hook, agent, now);
                flipped |= running != agent.running;
                agent.running = running;
            }
        }
        flipped
    }

    /// The subagents of the session with this board id, oldest first.
    pub fn subagents(&self, id: &str) -> Vec<&Subagent> {
        let mut agents: Vec<&Subagent> = self
            .subagents
            .get(self.uuid_of(id))
            .map(|m| m.values().collect())
            .unwrap_or_default();
        agents.sort_by(|a, b| {
            (a.started_at.as_deref(), &a.agent_id).cmp(&(b.started_at.as_deref(), &b.agent_id))
        });
        agents
    }

    pub fn subagent_counts(&self, id: &str) -> SubagentCounts {
        self.subagents
            .get(self.uuid_of(id))
            .map(|m| SubagentCounts {
                running: m.values().filter(|a| a.running).count(),
                total: m.len(),
            })
            .unwrap_or_default()
    }

    /// Whether the session with this board id is known at all: a task folder, a transcript,
    /// or a registry entry.
    pub fn knows_session(&self, id: &str) -> bool {
        self.sessions.contains_key(id)
            || self.transcripts.contains_key(id)
            || self.registry.knows(id)
    }
}

pub(super) fn recent(now: SystemTime, at: SystemTime) -> bool {
    now.duration_since(at)
        .map_or(true, |age| age < SUBAGENT_RUNNING_WINDOW)
}

/// One live entry to re-probe.
#[derive(Debug)]
struct LivenessCheck {
    file: String,
    pid: u32,
    proc_start: Option<String>,
    started_at: Option<i64>,
}

/// A liveness sweep taken from the index, run without holding it.
#[derive(Debug)]
pub struct LivenessSweep {
    probe: ProcessProbe,
    checks: Vec<LivenessCheck>,
    subagents_due: bool,
}

/// What a sweep found; [`SweepResult::is_empty`] means the index need not be written.
#[derive(Debug, Default)]
pub struct SweepResult {
    gone: Vec<(String, Liveness)>,
    subagents_due: bool,
}

impl SweepResult {
    pub fn is_empty(&self) -> bool {
        self.gone.is_empty() && !self.subagents_due
    }
}

impl LivenessSweep {
    /// Probes every entry (one small `/proc` read each).
    pub fn run(self) -> SweepResult {
        let gone = self
            .checks
            .into_iter()
            .filter_map(|c| {
                let now = self
                    .probe
                    .liveness(c.pid, c.proc_start.as_deref(), c.started_at);
                (now != Liveness::Alive).then_some((c.file, now))
            })
            .collect();
        SweepResult {
            gone,
            subagents_due: self.subagents_due,
        }
    }

    pub fn len(&self) -> usize {
        self.checks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.checks.is_empty()
    }
}

fn read_subagent(dir: &Path, id: &str, stamp: Stamp, old: Option<&Subagent>) -> Subagent {
    let meta: Option<SubagentMeta> =
        read_capped(&dir.join(format!("agent-{id}.meta.json")), MAX_META_FILE)
            .and_then(|(_, bytes)| serde_json::from_slice(&bytes).ok());
    let started_at = old.and_then(|o| o.started_at.clone()).or_else(|| {
        let (_, head) = read_capped(&dir.join(format!("agent-{id}.jsonl")), MAX_HEAD)
            .or_else(|| read_head(&dir.join(format!("agent-{id}.jsonl")), MAX_HEAD))?;
        let mut cursor = crate::transcript::TranscriptCursor::default();
        let first = head.split(|b| *b == b'\n').find(|l| !l.is_empty())?;
        cursor.feed(first);
        cursor.feed(b"\n");
        cursor.last_timestamp
    });
    Subagent {
        agent_id: id.to_owned(),
        agent_type: meta.as_ref().and_then(|m| m.agent_type.clone()),
        description: meta.and_then(|m| m.description),
        started_at,
        last_activity: stamp.modified,
        running: false,
        stamp,
    }
}

/// The first `limit` bytes of a regular file, for files that may be larger than that.
fn read_head(path: &Path, limit: u64) -> Option<(fs::Metadata, Vec<u8>)> {
    use std::io::Read;
    let file = open_regular(path)?;
    let meta = file.metadata().ok()?;
    let mut bytes = Vec::new();
    file.take(limit).read_to_end(&mut bytes).ok()?;
    Some((meta, bytes))
}
