//! Agent teams in the index (contract §6): each team's config and inboxes, re-read only when
//! their stamps change, and what follows from them: each member's state and current task, the
//! team's task list (`tasks/<team>/`, linked to the lead's transcript), and `team-update`
//! deltas exactly when what `/api/teams` or the team's messages show changed.
//!
//! Member state, newest evidence first:
//! - the lead follows its session's registry entry while one is known (`busy`/`shell` →
//!   working, `idle`/`waiting` → idle, ended → stopped);
//! - a teammate starts from its tracker task (the `_internal` task whose subject is its name):
//!   `in_progress` (or an owned task in progress) → working, `completed` → stopped, else idle;
//! - then its messages, in time order (only those since it joined): an `idle_notification` it
//!   sent → idle; a `shutdown_approved`, approving `shutdown_response` or
//!   `teammate_terminated` → stopped; anything else it sent (a report, a refusal to stop) →
//!   working; a `shutdown_request` to it stops it if it was not working (a working member is
//!   stopped by its approval); a message to it that it has read wakes it from idle;
//! - nothing outlives the lead: an in-process teammate of a lead whose process is known to
//!   have ended is stopped, and without a live lead, a member with no evidence (message,
//!   tracker or task write, lead transcript record) in 24 hours is stopped (the contract's
//!   stale rule for tasks).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::time::{Duration, SystemTime};

use super::own_file_stamp;
use super::{Counts, Delta, Index, Stamp, list_dir};
use crate::read::{open_regular_no_follow, read_capped_no_follow};
use crate::task::TaskStatus;
use crate::teams::{self, Member, Message, Signal, TeamConfig};

/// A config is a few KB (prompts included); anything past this is not one.
const MAX_CONFIG: u64 = 4 << 20;
/// Inboxes grow with every message; past this only the newest part is read (see
/// [`teams::parse_inbox_tail`]).
pub(super) const MAX_INBOX: u64 = 4 << 20;
/// Without a live lead, evidence older than this is stale (contract §6).
const STALE: Duration = Duration::from_secs(24 * 3600);

#[derive(Debug, Default)]
pub(super) struct TeamEntry {
    config_stamp: Option<Stamp>,
    /// The last config that could be read; `None` until one could (the team is not listed).
    config: Option<TeamConfig>,
    /// By file name (`<member>.json`).
    inboxes: BTreeMap<String, Inbox>,
    /// Member name → what the messages say about it, oldest first; rebuilt when an inbox or
    /// the config changes.
    evidence: HashMap<String, Vec<(i64, Evidence)>>,
}

impl TeamEntry {
    /// The session that leads the team, as its config says.
    pub(super) fn config_lead(&self) -> Option<&str> {
        self.config.as_ref()?.lead_session_id.as_deref()
    }
}

#[derive(Debug)]
struct Inbox {
    stamp: Stamp,
    messages: Vec<Message>,
    /// A hash of `messages`: what the messages endpoint shows changed when this did (a
    /// rewrite with the same messages, or a touch, is no event).
    digest: u64,
    /// Larger than [`MAX_INBOX`]: only its newest part is read (said once, not per rewrite).
    large: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Evidence {
    SentIdle,
    SentStopped,
    SentOther,
    AskedToStop,
    ReadMessage,
}

/// A team member's state as the board shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MemberState {
    Working,
    Idle,
    Stopped,
}

impl MemberState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Working => "working",
            Self::Idle => "idle",
            Self::Stopped => "stopped",
        }
    }
}

/// A team as `/api/teams` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamSummary<'a> {
    pub name: &'a str,
    pub config: &'a TeamConfig,
    /// The team's task list (`tasks/<team>/`), when it exists.
    pub task_list: Option<&'a str>,
    /// Of the task list, without internal trackers.
    pub counts: Counts,
    pub members: Vec<MemberSummary<'a>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberSummary<'a> {
    pub member: &'a Member,
    pub lead: bool,
    pub state: MemberState,
    /// The subject of the non-internal task it owns that is in progress (the newest).
    pub current_task: Option<String>,
}

/// An inbox message with the member whose inbox holds it.
#[derive(Debug, Clone, Copy)]
pub struct TeamMessage<'a> {
    pub to: &'a str,
    pub message: &'a Message,
}

/// What a team's task file says, for member states.
struct TaskFacts {
    subject: Option<String>,
    owner: Option<String>,
    status: TaskStatus,
    internal: bool,
    modified: SystemTime,
}

#[derive(serde::Deserialize)]
struct SubjectOwner {
    subject: Option<serde_json::Value>,
    owner: Option<serde_json::Value>,
}

/// Everything a `team-update` is about, for before/after comparison.
pub(super) type Fingerprint = (
    Option<(TeamConfig, Option<String>, Counts)>,
    Vec<(MemberState, Option<String>)>,
    Vec<(String, u64)>,
);

impl Index {
    // ----- reading ------------------------------------------------------------------------

    pub(super) fn relist_teams(&mut self) -> bool {
        let mut names: BTreeSet<String> = list_dir(&self.layout.teams_dir)
            .filter(|(name, is_dir)| *is_dir && team_name_ok(name))
            .map(|(name, _)| name)
            .collect();
        names.extend(self.teams.keys().cloned());
        let mut metadata = false;
        for team in names {
            metadata |= self.refresh_team(&team);
        }
        metadata
    }

    /// Re-reads a team's config (if its stamp changed) and re-lists its inboxes. Returns
    /// whether session metadata may have changed (the team came, went, or its config changed:
    /// its task list's name and project, its lead's `team`).
    pub(super) fn refresh_team(&mut self, team: &str) -> bool {
        let dir = self.layout.teams_dir.join(team);
        if !std::fs::metadata(&dir).is_ok_and(|m| m.is_dir()) {
            let gone = self.teams.remove(team);
            let metadata = gone.is_some_and(|t| t.config.is_some());
            if metadata {
                self.relink_dirty = true;
                self.rebuild_leads();
            }
            return metadata;
        }
        let entry = self.teams.entry(team.to_owned()).or_default();
        let path = dir.join("config.json");
        let mut config_changed = false;
        match own_file_stamp(&path) {
            None => {
                entry.config_stamp = None;
                config_changed = entry.config.take().is_some();
            }
            Some(stamp) => {
                if entry.config_stamp != Some(stamp) {
                    entry.config_stamp = Some(stamp);
                    // Too large or gone meanwhile: logged (once per version), nothing to parse.
                    let bytes = read_capped_no_follow(&path, MAX_CONFIG)
                        .map(|(_, bytes)| bytes)
                        .unwrap_or_default();
                    match teams::parse_config(&bytes) {
                        Ok((config, nameless)) => {
                            if nameless > 0 {
                                tracing::warn!(path = %path.display(), nameless, "team members without a name are left out");
                            }
                            if entry.config.as_ref() != Some(&config) {
                                entry.config = Some(config);
                                config_changed = true;
                            }
                        }
                        // Logged once per version; the last readable config stays (a config
                        // caught mid-write must not make a team vanish and come back).
                        Err(err) => {
                            tracing::warn!(path = %path.display(), %err, "skipping unreadable team config");
                        }
                    }
                }
            }
        }
        let inbox_dir = dir.join("inboxes");
        let mut files: BTreeSet<String> = list_dir(&inbox_dir)
            .filter(|(name, is_dir)| !is_dir && crate::layout::inbox_file(name).is_some())
            .map(|(name, _)| name)
            .collect();
        files.extend(entry.inboxes.keys().cloned());
        let mut inboxes_changed = false;
        for file in files {
            inboxes_changed |= refresh_inbox_file(entry, &inbox_dir, &file);
        }
        if config_changed || inboxes_changed {
            rebuild_evidence(entry);
        }
        if config_changed {
            self.relink_dirty = true;
            self.rebuild_leads();
            // The team's task list now links to its lead's transcript: read it.
            self.read_linked_transcript(team);
        }
        config_changed
    }

    pub(super) fn refresh_inbox(&mut self, team: &str, file: &str) {
        if !self.teams.contains_key(team) {
            self.refresh_team(team);
            return;
        }
        let inbox_dir = self.layout.teams_dir.join(team).join("inboxes");
        let Some(entry) = self.teams.get_mut(team) else {
            return;
        };
        if refresh_inbox_file(entry, &inbox_dir, file) {
            rebuild_evidence(entry);
        }
    }

    /// Session uuid → the newest team it leads.
    pub(super) fn rebuild_leads(&mut self) {
        let mut leads: HashMap<String, (i64, String)> = HashMap::new();
        for (name, entry) in &self.teams {
            let Some(config) = &entry.config else {
                continue;
            };
            let Some(lead) = &config.lead_session_id else {
                continue;
            };
            let created = config.created_at.unwrap_or(0);
            let newer = leads.get(lead).is_none_or(|(c, _)| created > *c);
            if newer {
                leads.insert(lead.clone(), (created, name.clone()));
            }
        }
        self.leads = leads.into_iter().map(|(k, (_, v))| (k, v)).collect();
    }

    // ----- deltas -------------------------------------------------------------------------

    /// Snapshots of `teams` for comparison after a change.
    pub(super) fn team_fingerprints(
        &self,
        teams: &BTreeSet<String>,
    ) -> BTreeMap<String, Fingerprint> {
        let now = SystemTime::now();
        teams
            .iter()
            .map(|t| (t.clone(), self.fingerprint(t, now)))
            .collect()
    }

    fn fingerprint(&self, team: &str, now: SystemTime) -> Fingerprint {
        let digests = self
            .teams
            .get(team)
            .map(|e| {
                e.inboxes
                    .iter()
                    .map(|(f, i)| (f.clone(), i.digest))
                    .collect()
            })
            .unwrap_or_default();
        match self.team(team, now) {
            // A team that is not listed has nothing to update.
            None => (None, Vec::new(), Vec::new()),
            Some(s) => (
                Some((s.config.clone(), s.task_list.map(str::to_owned), s.counts)),
                s.members
                    .into_iter()
                    .map(|m| (m.state, m.current_task))
                    .collect(),
                digests,
            ),
        }
    }

    /// Pushes a `TeamUpdate` for every team whose snapshot differs from `before`.
    pub(super) fn team_deltas(
        &self,
        before: BTreeMap<String, Fingerprint>,
        deltas: &mut Vec<Delta>,
    ) {
        let now = SystemTime::now();
        for (team, old) in before {
            if self.fingerprint(&team, now) != old {
                deltas.push(Delta::TeamUpdate { team });
            }
        }
    }

    /// Every team name known or on disk: what a change that may touch any team compares.
    pub(super) fn all_team_names(&self) -> BTreeSet<String> {
        self.teams.keys().cloned().collect()
    }

    // ----- views --------------------------------------------------------------------------

    /// Every team with a readable config, newest first (ties by name).
    pub fn teams(&self, now: SystemTime) -> Vec<TeamSummary<'_>> {
        let mut all: Vec<TeamSummary<'_>> = self
            .teams
            .keys()
            .filter_map(|name| self.team(name, now))
            .collect();
        all.sort_by(|a, b| {
            b.config
                .created_at
                .cmp(&a.config.created_at)
                .then_with(|| a.name.cmp(b.name))
        });
        all
    }

    /// One team, with each member's state as of `now`.
    pub fn team<'a>(&'a self, name: &str, now: SystemTime) -> Option<TeamSummary<'a>> {
        let (name, entry) = self.teams.get_key_value(name)?;
        let config = entry.config.as_ref()?;
        let folder = self.sessions.get(name);
        let tasks = self.team_task_facts(name);
        let lead_uuid = config.lead_session_id.as_deref();
        let lead = Lead {
            liveness: lead_uuid.map(|u| self.registry.liveness(u)),
            known: lead_uuid.is_some_and(|u| self.registry.knows(u)),
            activity: lead_uuid
                .and_then(|u| self.transcripts.get(u))
                .and_then(|t| {
                    t.cursor
                        .as_ref()
                        .and_then(|c| c.last_activity())
                        .or(Some(t.modified))
                }),
        };
        let lead_member = config.lead().map(|m| m.name.as_str());
        let members = config
            .members
            .iter()
            .map(|member| {
                let is_lead = lead_member == Some(member.name.as_str());
                let events = entry
                    .evidence
                    .get(&member.name)
                    .map_or(&[][..], Vec::as_slice);
                let (state, current) = member_state(member, is_lead, &tasks, events, &lead, now);
                MemberSummary {
                    member,
                    lead: is_lead,
                    state,
                    current_task: current.and_then(|t| t.subject.clone()),
                }
            })
            .collect();
        Some(TeamSummary {
            name,
            config,
            task_list: folder.map(|_| name.as_str()),
            counts: folder.map(|f| f.counts).unwrap_or_default(),
            members,
        })
    }

    /// A team's inbox messages, oldest first (messages without a readable time first, in
    /// inbox order); `None` for an unknown team.
    pub fn team_messages(&self, name: &str) -> Option<Vec<TeamMessage<'_>>> {
        let entry = self.teams.get(name).filter(|e| e.config.is_some())?;
        let mut all: Vec<TeamMessage<'_>> = entry
            .inboxes
            .iter()
            .flat_map(|(file, inbox)| {
                let to = file.strip_suffix(".json").unwrap_or(file);
                inbox
                    .messages
                    .iter()
                    .map(move |message| TeamMessage { to, message })
            })
            .collect();
        all.sort_by_key(|m| m.message.at.unwrap_or(i64::MIN));
        Some(all)
    }

    /// The team whose task list is the folder `id`, or that the session `id` leads.
    pub(super) fn team_of(&self, id: &str) -> Option<&str> {
        if let Some((name, e)) = self.teams.get_key_value(id)
            && e.config.is_some()
        {
            return Some(name);
        }
        self.leads.get(self.uuid_of(id)).map(String::as_str)
    }

    /// The team behind a task-list folder named like it (with a readable config).
    pub(super) fn team_config(&self, folder: &str) -> Option<&TeamConfig> {
        self.teams.get(folder).and_then(|e| e.config.as_ref())
    }

    fn team_task_facts(&self, team: &str) -> Vec<TaskFacts> {
        let Some(folder) = self.sessions.get(team) else {
            return Vec::new();
        };
        folder
            .tasks
            .values()
            .filter_map(|t| {
                let task = t.task.as_ref()?;
                let probe: Option<SubjectOwner> = serde_json::from_str(task.json()).ok();
                let text = |v: Option<serde_json::Value>| match v {
                    Some(serde_json::Value::String(s)) => Some(s),
                    _ => None,
                };
                let (subject, owner) =
                    probe.map_or((None, None), |p| (text(p.subject), text(p.owner)));
                Some(TaskFacts {
                    subject,
                    owner,
                    status: task.status(),
                    internal: task.is_internal(),
                    modified: t.stamp.modified,
                })
            })
            .collect()
    }
}

/// What the lead's session says, for its members' states.
struct Lead<'a> {
    liveness: Option<super::SessionLiveness<'a>>,
    /// The registry has (or had) an entry for the lead's session.
    known: bool,
    /// The lead transcript's newest record (or file time).
    activity: Option<SystemTime>,
}

/// A member's state by the rules in this module's header, and the task it works on.
fn member_state<'t>(
    member: &Member,
    is_lead: bool,
    tasks: &'t [TaskFacts],
    events: &[(i64, Evidence)],
    lead: &Lead<'_>,
    now: SystemTime,
) -> (MemberState, Option<&'t TaskFacts>) {
    let owns = |t: &&TaskFacts| {
        t.owner
            .as_deref()
            .is_some_and(|o| o == member.name || member.agent_id.as_deref() == Some(o))
    };
    let current = tasks
        .iter()
        .filter(|t| !t.internal && t.status == TaskStatus::InProgress)
        .filter(owns)
        .max_by_key(|t| t.modified);
    let tracker = tasks
        .iter()
        .filter(|t| t.internal && t.subject.as_deref() == Some(member.name.as_str()))
        .max_by_key(|t| t.modified);
    let mut state = match tracker.map(|t| t.status) {
        _ if current.is_some() => MemberState::Working,
        Some(TaskStatus::InProgress) => MemberState::Working,
        Some(TaskStatus::Completed) => MemberState::Stopped,
        _ => MemberState::Idle,
    };
    let mut newest = tracker
        .map(|t| t.modified)
        .max(current.map(|t| t.modified))
        .max(member.joined_at.map(crate::time::from_epoch_ms));
    // Messages from before it joined are an earlier member's of the same name.
    for &(at, ev) in events
        .iter()
        .filter(|(at, _)| member.joined_at.is_none_or(|j| *at >= j))
    {
        state = match ev {
            Evidence::SentIdle => MemberState::Idle,
            Evidence::SentStopped => MemberState::Stopped,
            Evidence::SentOther => MemberState::Working,
            Evidence::AskedToStop if state == MemberState::Working => state,
            Evidence::AskedToStop => MemberState::Stopped,
            Evidence::ReadMessage if state == MemberState::Idle => MemberState::Working,
            Evidence::ReadMessage => state,
        };
        newest = newest.max(Some(crate::time::from_epoch_ms(at)));
    }
    if member.in_process || is_lead {
        newest = newest.max(lead.activity);
    }
    let lead_live = lead.liveness.is_some_and(|l| l.live);
    let stale = newest.is_none_or(|t| now.duration_since(t).is_ok_and(|age| age > STALE));
    if is_lead && lead.known {
        state = match lead.liveness.map(|l| l.state) {
            Some(super::AgentState::Busy | super::AgentState::Shell) => MemberState::Working,
            Some(super::AgentState::Idle | super::AgentState::Waiting) => MemberState::Idle,
            _ => MemberState::Stopped,
        };
    } else if !lead_live && ((member.in_process && lead.known) || stale) {
        state = MemberState::Stopped;
    }
    (state, current)
}

pub(super) fn team_name_ok(name: &str) -> bool {
    !crate::layout::is_ignored_name(name) && crate::ids::TeamName::parse(name).is_ok()
}

/// Re-reads one inbox if its stamp changed; returns whether what it holds changed.
fn refresh_inbox_file(entry: &mut TeamEntry, dir: &Path, file: &str) -> bool {
    let path = dir.join(file);
    let Some(stamp) = own_file_stamp(&path) else {
        return entry.inboxes.remove(file).is_some();
    };
    if entry.inboxes.get(file).is_some_and(|i| i.stamp == stamp) {
        return false;
    }
    let Some((stamp, read, large)) = read_inbox(&path) else {
        return entry.inboxes.remove(file).is_some();
    };
    let was_large = entry.inboxes.get(file).is_some_and(|i| i.large);
    if large && !was_large {
        match &read {
            Some(messages) => tracing::warn!(
                path = %path.display(), limit = MAX_INBOX, kept = messages.len(),
                "inbox larger than the limit: only its newest messages are read"
            ),
            None => tracing::warn!(
                path = %path.display(), limit = MAX_INBOX,
                "skipping an inbox larger than the limit whose newest part is not readable"
            ),
        }
    }
    let messages = match read {
        Some(messages) => messages,
        // Unreadable at this version: keep what was read before, if anything.
        None => entry
            .inboxes
            .remove(file)
            .map(|i| i.messages)
            .unwrap_or_default(),
    };
    let digest = {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        messages.hash(&mut h);
        h.finish()
    };
    entry.inboxes.insert(
        file.to_owned(),
        Inbox {
            stamp,
            messages,
            digest,
            large,
        },
    );
    true
}

/// An inbox's stamp, messages (`None`: unreadable at this version) and whether it is larger
/// than [`MAX_INBOX`], in which case only its newest part is read (Claude Code rewrites an
/// inbox whole for every message, so each rewrite costs at most that much); `None` when there
/// is no regular file.
fn read_inbox(path: &Path) -> Option<(Stamp, Option<Vec<Message>>, bool)> {
    let mut file = open_regular_no_follow(path)?;
    let meta = file.metadata().ok()?;
    let stamp = Stamp::of(&meta);
    let mut bytes = Vec::new();
    let large = meta.len() > MAX_INBOX;
    let messages = if large {
        file.seek(SeekFrom::Start(meta.len() - MAX_INBOX)).ok()?;
        file.take(MAX_INBOX).read_to_end(&mut bytes).ok()?;
        teams::parse_inbox_tail(&bytes)
    } else {
        file.take(MAX_INBOX).read_to_end(&mut bytes).ok()?;
        match teams::parse_inbox(&bytes) {
            Ok(messages) => Some(messages),
            Err(err) => {
                tracing::warn!(path = %path.display(), %err, "skipping unreadable inbox");
                None
            }
        }
    };
    Some((stamp, messages, large))
}

fn rebuild_evidence(entry: &mut TeamEntry) {
    let names: Vec<String> = entry
        .config
        .as_ref()
        .map(|c| c.members.iter().map(|m| m.name.clone()).collect())
        .unwrap_or_default();
    let mut evidence: HashMap<String, Vec<(i64, Evidence)>> = HashMap::new();
    for (file, inbox) in &entry.inboxes {
        let to = file.strip_suffix(".json").unwrap_or(file);
        for m in &inbox.messages {
            let Some(at) = m.at else {
                continue;
            };
            let from = m.from.as_deref();
            if let Some(sender) = from.filter(|f| names.iter().any(|n| n == f)) {
                let ev = match m.signal {
                    Signal::Idle => Evidence::SentIdle,
                    Signal::Stopped => Evidence::SentStopped,
                    _ => Evidence::SentOther,
                };
                evidence
                    .entry(sender.to_owned())
                    .or_default()
                    .push((at, ev));
            }
            if from != Some(to) && names.iter().any(|n| n == to) {
                let ev = match m.signal {
                    Signal::ShutdownRequest => Some(Evidence::AskedToStop),
                    _ if m.read => Some(Evidence::ReadMessage),
                    _ => None,
                };
                if let Some(ev) = ev {
                    evidence.entry(to.to_owned()).or_default().push((at, ev));
                }
            }
        }
    }
    for events in evidence.values_mut() {
        events.sort_by_key(|(at, _)| *at);
    }
    entry.evidence = evidence;
}
