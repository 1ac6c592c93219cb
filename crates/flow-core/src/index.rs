//! The in-memory picture of a Claude dir: every session folder with its tasks, the transcripts
//! that name them, and `sessions-index.json` enrichment. Requests are answered from it; the
//! disk is only touched when [`Index::apply`] is told that a path changed, and then only that
//! path is re-read (a transcript only from where the last read stopped).
//!
//! Invariant: `apply` compares the disk with what the index holds, so the deltas it returns
//! describe real changes whatever the watcher reported (an atomic rename is one `Change`, a
//! duplicate notification is none).

use std::collections::{BTreeSet, HashMap};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

mod agents;
mod hooks;
mod lists;
mod plans;
mod teams;
mod todos;

use crate::read::{MAX_SMALL_FILE, open_regular, read_capped};

pub use agents::{
    AgentState, LivenessSweep, SessionLiveness, Subagent, SubagentCounts, SweepResult,
};
pub use plans::PlanSummary;
pub use teams::{MemberState, MemberSummary, TeamMessage, TeamSummary};
pub use todos::TodoRecord;

use crate::layout::{Change, Layout, SESSIONS_INDEX, task_file_stem, transcript_stem};
use crate::sessions_index::{self, IndexEntry};
use crate::task::{Task, TaskStatus, compare_task_ids};
use crate::transcript::{TranscriptCursor, TranscriptMeta};

/// What happened to a task file, in the words of the live-event contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileEvent {
    Add,
    Change,
    Unlink,
}

/// One visible change, produced by [`Index::apply`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delta {
    SessionAdded {
        session: String,
    },
    SessionRemoved {
        session: String,
    },
    Task {
        session: String,
        file: String,
        event: FileEvent,
    },
    /// A session's name, project or enrichment changed.
    Metadata,
    /// A session's live state changed (busy, idle, waiting, ended); `session` is its board id.
    SessionState {
        session: String,
    },
    /// What `/api/teams` shows of a team, or its messages, changed (it may have gone).
    TeamUpdate {
        team: String,
    },
    /// A plan appeared, changed or went.
    PlanUpdate {
        slug: String,
    },
    /// A session's todo items changed; `session` is its board id.
    Todos {
        session: String,
    },
}

/// Identity and version of a file as far as `stat` can tell; a different stamp means re-read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    len: u64,
    modified: SystemTime,
    inode: u64,
}

/// A regular file's stamp, by `lstat` (never opening): `None` for anything else, a symbolic
/// link included, so a FIFO, a device or a link is passed over without a read or a log line.
/// For the files whose text is served as is (plans, inboxes, team configs, todo lists), which
/// are then read with [`crate::read::open_regular_no_follow`].
fn own_file_stamp(path: &Path) -> Option<Stamp> {
    fs::symlink_metadata(path)
        .ok()
        .filter(fs::Metadata::is_file)
        .map(|m| Stamp::of(&m))
}

impl Stamp {
    fn of(meta: &fs::Metadata) -> Self {
        #[cfg(unix)]
        let inode = std::os::unix::fs::MetadataExt::ino(meta);
        #[cfg(not(unix))]
        let inode = 0;
        Self {
            len: meta.len(),
            modified: meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
            inode,
        }
    }
}

#[derive(Debug)]
struct TaskEntry {
    stamp: Stamp,
    /// Birth time where the file system records it, else the inode change time.
    created: SystemTime,
    /// `None` when the file could not be read as a task (it was logged once, at that version).
    task: Option<Task>,
    /// The file was read so soon after its mtime that a rewrite of the same length within the
    /// same clock tick would leave the stamp unchanged ("racy git"): re-read it next time.
    racy: bool,
}

impl TaskEntry {
    /// Opens, stats and reads in one go (no separate path lookup): the cold scan does this
    /// 200,000 times for a large Claude dir, so every system call counts.
    /// A FIFO, a device or a link to one is not a task file: it is skipped without a read
    /// (and without waiting: see [`crate::read`]).
    fn open(path: &Path) -> Option<Self> {
        use std::io::Read;
        let file = open_regular(path)?;
        let meta = file.metadata().ok()?;
        let task = if meta.len() > MAX_SMALL_FILE {
            tracing::warn!(path = %path.display(), len = meta.len(), "skipping a task file larger than any task");
            None
        } else {
            let mut bytes = Vec::with_capacity(meta.len() as usize + 1);
            match file.take(MAX_SMALL_FILE + 1).read_to_end(&mut bytes) {
                Ok(_) => parse_task(path, &bytes),
                Err(err) => {
                    tracing::warn!(path = %path.display(), %err, "skipping unreadable task file");
                    None
                }
            }
        };
        let stamp = Stamp::of(&meta);
        Some(Self {
            stamp,
            created: created_time(&meta),
            task,
            racy: is_racy(stamp.modified),
        })
    }

    fn read(path: &Path, meta: &fs::Metadata) -> Self {
        let stamp = Stamp::of(meta);
        Self {
            stamp,
            created: created_time(meta),
            task: read_task(path),
            racy: is_racy(stamp.modified),
        }
    }
}

impl SessionEntry {
    /// Reads a whole session folder without touching the index, so a cold start can read many
    /// folders at once. `None` if it is not a folder (any more).
    fn read(dir: &Path) -> Option<Self> {
        let dir_meta = fs::metadata(dir).ok().filter(fs::Metadata::is_dir)?;
        let mut tasks = HashMap::new();
        for (name, is_dir) in list_dir(dir) {
            if is_dir || task_file_stem(&name).is_none() {
                continue;
            }
            if let Some(entry) = TaskEntry::open(&dir.join(&name)) {
                tasks.insert(name, entry);
            }
        }
        let mut entry = Self {
            dir_modified: dir_meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
            tasks,
            counts: Counts::default(),
            newest_task: None,
        };
        entry.refresh_cache();
        Some(entry)
    }
}

/// Coarser than any file system's mtime tick that Flow is likely to meet.
const RACY_WINDOW: std::time::Duration = std::time::Duration::from_millis(100);

/// Runs `read` over `ids` on up to 8 threads (the cold scan's reads are most of a start), each
/// id behind its own panic boundary.
fn read_in_parallel<T: Send>(ids: &[String], read: impl Fn(&str) -> Option<T> + Sync) -> Vec<T> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8);
    let per_thread = ids.len().div_ceil(threads).max(1);
    let read = &read;
    std::thread::scope(|scope| {
        let workers: Vec<_> = ids
            .chunks(per_thread)
            .map(|chunk| scope.spawn(move || read_each_isolated(chunk, read)))
            .collect();
        workers
            .into_iter()
            .flat_map(|w| {
                // Each id is read behind its own panic boundary, so a worker itself cannot
                // panic; should it anyway, say so rather than lose its reads without a word.
                w.join().unwrap_or_else(|_| {
                    tracing::error!("a scan worker panicked; what it read appears once it changes");
                    Vec::new()
                })
            })
            .collect()
    })
}

/// Runs `read` for each id, each behind its own panic boundary: a file that trips a bug in a
/// reader costs that one session (logged with its id), never the rest of the worker's chunk.
fn read_each_isolated<T>(ids: &[String], read: impl Fn(&str) -> Option<T>) -> Vec<T> {
    ids.iter()
        .filter_map(|id| {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| read(id))).unwrap_or_else(
                |panic| {
                    let why = crate::panic_message(panic.as_ref());
                    tracing::error!(session = %id, panic = %why, "reading a session panicked; it is left out until it changes");
                    None
                },
            )
        })
        .collect()
}

fn is_racy(modified: SystemTime) -> bool {
    SystemTime::now()
        .duration_since(modified)
        .map_or(true, |age| age < RACY_WINDOW)
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub completed: usize,
    pub in_progress: usize,
    pub pending: usize,
}

#[derive(Debug)]
struct SessionEntry {
    dir_modified: SystemTime,
    /// Keyed by file name (`3.json`), every `*.json` file, readable or not.
    tasks: HashMap<String, TaskEntry>,
    /// Cached from `tasks` after every change, so listing sessions costs no task walk.
    counts: Counts,
    newest_task: Option<SystemTime>,
}

impl SessionEntry {
    fn refresh_cache(&mut self) {
        let mut counts = Counts::default();
        // Agent bookkeeping (`metadata._internal`) is not work: the API returns those tasks,
        // but no count or progress includes them (contract §6).
        for task in self
            .tasks
            .values()
            .filter_map(|t| t.task.as_ref())
            .filter(|t| !t.is_internal())
        {
            match task.status() {
                TaskStatus::Completed => counts.completed += 1,
                TaskStatus::InProgress => counts.in_progress += 1,
                TaskStatus::Pending => counts.pending += 1,
            }
        }
        self.counts = counts;
        self.newest_task = self.tasks.values().map(|t| t.stamp.modified).max();
    }
}

#[derive(Debug)]
struct TranscriptEntry {
    project: String,
    path: PathBuf,
    /// The file's modification time when last looked at.
    modified: SystemTime,
    /// Read only when the board shows the session: a task folder links to it, the registry
    /// names it, or it was written within [`READ_HORIZON`]. Older ones are never read.
    cursor: Option<TranscriptCursor>,
}

/// How much of a transcript one read under the index's write lock takes (a few milliseconds
/// of work); the rest follows in later batches, so a newly shown 500 MB transcript never makes
/// every reader wait for it. The cold scan, which holds no lock, reads transcripts whole.
pub const TRANSCRIPT_STEP: u64 = 8 << 20;

/// Transcripts written within this long are read even when nothing links them, so the
/// *Activity* view can name sessions that keep no task list.
const READ_HORIZON: std::time::Duration = std::time::Duration::from_secs(7 * 24 * 3600);

fn within_read_horizon(modified: SystemTime) -> bool {
    SystemTime::now()
        .duration_since(modified)
        .map_or(true, |age| age < READ_HORIZON)
}

/// A session as the list endpoints describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionSummary<'a> {
    pub id: &'a str,
    pub name: Option<&'a str>,
    pub slug: Option<&'a str>,
    pub project: Option<&'a str>,
    pub description: Option<&'a str>,
    pub git_branch: Option<&'a str>,
    pub task_count: usize,
    pub counts: Counts,
    pub created_at: Option<&'a str>,
    pub modified_at: SystemTime,
    /// What the live registry says: state, liveness, what a waiting session waits for.
    pub liveness: SessionLiveness<'a>,
    /// The newest transcript record or registry update, whichever is later.
    pub last_activity_at: Option<SystemTime>,
    /// Where the agent is now: the live entry's, else the transcript's newest `cwd`.
    pub cwd: Option<&'a str>,
    pub subagents: SubagentCounts,
    /// Whether the session has a task folder (only those are in `/api/sessions`).
    pub has_task_list: bool,
    /// The agent team whose task list this is, or that this session leads.
    pub team: Option<&'a str>,
    /// The session's slug when `plans/<slug>.md` exists.
    pub plan_slug: Option<&'a str>,
}

/// A readable task with the file times the API adds to it.
#[derive(Debug, Clone, Copy)]
pub struct TaskRecord<'a> {
    pub id: &'a str,
    pub task: &'a Task,
    pub created: SystemTime,
    pub modified: SystemTime,
}

#[derive(Debug)]
pub struct Index {
    layout: Layout,
    sessions: HashMap<String, SessionEntry>,
    /// By transcript stem (the session uuid).
    transcripts: HashMap<String, TranscriptEntry>,
    /// The live registry and the session states it implies.
    registry: agents::Registry,
    /// Session uuid → its subagents by agent id.
    subagents: HashMap<String, std::collections::BTreeMap<String, Subagent>>,
    /// While the cold scan lists projects, transcripts are not read one by one: the scan
    /// reads them afterwards on every core.
    defer_reads: bool,
    /// First 8 characters of each transcript stem → stems, to link `session-<8hex>` folders.
    by_prefix: HashMap<String, BTreeSet<String>>,
    /// Parsed `sessions-index.json` per project folder.
    index_files: HashMap<String, Vec<(String, IndexEntry)>>,
    /// All index files merged by session id; rebuilt whenever one of them changes.
    index_entries: HashMap<String, IndexEntry>,
    /// Agent teams by name (`teams/<name>/`).
    teams: std::collections::BTreeMap<String, teams::TeamEntry>,
    /// Session uuid → the newest team it leads; rebuilt when a config changes.
    leads: HashMap<String, String>,
    /// Plans by slug.
    plans: std::collections::BTreeMap<String, plans::PlanEntry>,
    todos: todos::Todos,
    /// Shared task-list folder → the transcript of the session that wrote to it last.
    list_links: HashMap<String, String>,
    /// Slugs whose sessions changed (a transcript's slug came or went) since the last apply.
    slugs_touched: BTreeSet<String>,
    /// Transcripts read only in part (a read under the write lock stops after
    /// [`TRANSCRIPT_STEP`]): their next step is due, see [`Index::take_unfinished`].
    unfinished: BTreeSet<(String, String)>,
    /// Something that links shared lists changed (a `TaskCreate` read, a folder came or went,
    /// a shared list's task changed, a team's config changed): re-link before answering.
    relink_dirty: bool,
    generation: u64,
}

/// A task file to re-read, taken from the index: read it with [`PendingRead::run`] while
/// nothing is locked, then hand the result to [`Index::apply_reads`].
#[derive(Debug)]
pub struct PendingRead {
    session: String,
    file: String,
    dir: PathBuf,
    /// The stamp the index holds, and whether it was read too soon to trust it.
    known: Option<(Stamp, bool)>,
}

/// What [`PendingRead::run`] found on disk.
#[derive(Debug)]
pub struct TaskRead {
    session: String,
    file: String,
    /// The stamp the index held when the read was planned: if the entry has moved on since
    /// (the same batch re-read the folder), this read is older and is dropped.
    planned_on: Option<Stamp>,
    seen: Seen,
    /// The folder's time, when the file came or went (a folder's listing changed).
    dir_modified: Option<SystemTime>,
}

#[derive(Debug)]
enum Seen {
    Missing,
    Unchanged,
    Fresh { entry: TaskEntry, same_stamp: bool },
}

impl PendingRead {
    /// Stats the file and reads it if it changed: all the I/O of a task update.
    pub fn run(self) -> TaskRead {
        let path = self.dir.join(&self.file);
        let meta = fs::metadata(&path).ok().filter(fs::Metadata::is_file);
        let seen = match (&meta, self.known) {
            (None, _) => Seen::Missing,
            (Some(meta), known) => {
                let stamp = Stamp::of(meta);
                let same_stamp = known.is_some_and(|(k, _)| k == stamp);
                if same_stamp && !known.is_some_and(|(_, racy)| racy) {
                    Seen::Unchanged
                } else {
                    Seen::Fresh {
                        entry: TaskEntry::read(&path, meta),
                        same_stamp,
                    }
                }
            }
        };
        // Only an add or an unlink changes the folder's own time that the board shows.
        let listing_changed = matches!(
            (&seen, self.known),
            (Seen::Missing, Some(_)) | (Seen::Fresh { .. }, None)
        );
        let dir_modified = listing_changed
            .then(|| fs::metadata(&self.dir).ok()?.modified().ok())
            .flatten();
        TaskRead {
            session: self.session,
            file: self.file,
            planned_on: self.known.map(|(stamp, _)| stamp),
            seen,
            dir_modified,
        }
    }
}

const EMPTY_META: TranscriptMeta = TranscriptMeta {
    slug: None,
    cwd: None,
    latest_cwd: None,
    git_branch: None,
    custom_title: None,
    ai_title: None,
    agent_name: None,
    summary: None,
};

impl Index {
    /// An index that has read nothing yet.
    pub fn new(layout: Layout) -> Self {
        Self {
            layout,
            sessions: HashMap::new(),
            transcripts: HashMap::new(),
            by_prefix: HashMap::new(),
            index_files: HashMap::new(),
            index_entries: HashMap::new(),
            registry: agents::Registry::default(),
            subagents: HashMap::new(),
            defer_reads: false,
            teams: std::collections::BTreeMap::new(),
            leads: HashMap::new(),
            plans: std::collections::BTreeMap::new(),
            todos: todos::Todos::default(),
            list_links: HashMap::new(),
            slugs_touched: BTreeSet::new(),
            unfinished: BTreeSet::new(),
            relink_dirty: false,
            generation: 0,
        }
    }

    /// Builds the index from the disk as it is now. Session folders are read on every core:
    /// reading and parsing thousands of task files is most of a cold start.
    pub fn scan(layout: Layout) -> Self {
        let mut index = Self::new(layout);
        let mut ignored = Vec::new();
        index.relist_registry(&mut ignored);
        index.defer_reads = true;
        index.relist_projects();
        // Teams before task folders: a team's list links to its lead's transcript.
        index.relist_teams();
        index.defer_reads = false;
        index.relist_plans(&mut ignored);
        index.scan_todos();
        let ids: Vec<String> = list_subdirs(&index.layout.tasks_dir).collect();
        type Read = (String, SessionEntry, Option<(String, TranscriptCursor)>);
        let shared = &index;
        let read: Vec<Read> = read_in_parallel(&ids, |id| {
            let entry = SessionEntry::read(&shared.layout.tasks_dir.join(id))?;
            Some((id.to_owned(), entry, shared.read_transcript_for(id)))
        });
        for (id, entry, transcript) in read {
            index.sessions.insert(id, entry);
            if let Some((stem, cursor)) = transcript
                && let Some(t) = index.transcripts.get_mut(&stem)
            {
                t.cursor = Some(cursor);
            }
        }
        // Then every other transcript the board shows (registered or recent), also in parallel.
        let stems: Vec<String> = index
            .transcripts
            .iter()
            .filter(|(stem, t)| t.cursor.is_none() && index.wants_transcript(stem, t))
            .map(|(stem, _)| stem.clone())
            .collect();
        let shared = &index;
        let read = read_in_parallel(&stems, |stem| {
            let path = &shared.transcripts.get(stem)?.path;
            let mut cursor = TranscriptCursor::default();
            if let Err(err) = cursor.read_new(path) {
                tracing::warn!(path = %path.display(), %err, "could not read transcript");
            }
            Some((stem.to_owned(), cursor))
        });
        for (stem, cursor) in read {
            if let Some(t) = index.transcripts.get_mut(&stem) {
                t.cursor = Some(cursor);
            }
        }
        index.refresh_subagents_running();
        index.relink_lists();
        index.relink_dirty = false;
        index.slugs_touched.clear();
        index
    }

    /// Whether the board shows this transcript's session, so it is worth reading.
    fn wants_transcript(&self, stem: &str, t: &TranscriptEntry) -> bool {
        self.is_linked(stem) || within_read_horizon(t.modified) || self.registry.knows(stem)
    }

    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// Re-reads what `changes` name and returns what visibly changed, in order. Projects are
    /// processed before task folders, so a folder added in the same batch as its transcript
    /// is named at once; otherwise changes keep their order, and a repeat is dropped.
    pub fn apply(&mut self, changes: impl IntoIterator<Item = Change>) -> Vec<Delta> {
        self.apply_batch(changes.into_iter().collect(), Vec::new())
    }

    /// One batch: `changes` re-read here, and task files already read by
    /// [`PendingRead::run`] (see [`Index::split_reads`]) committed after them; then what every
    /// batch ends with, once: shared lists re-linked, each team, plan and metadata change
    /// announced once, a new generation if anything visible changed.
    pub fn apply_batch(&mut self, mut changes: Vec<Change>, reads: Vec<TaskRead>) -> Vec<Delta> {
        changes.sort_by_key(|c| match c {
            Change::AllRoots => 0,
            Change::RegistryRoot | Change::Registry { .. } => 1,
            Change::ProjectsRoot | Change::ProjectDir { .. } => 2,
            Change::Transcript { .. } | Change::SessionsIndex { .. } => 3,
            Change::Subagents { .. } => 4,
            Change::TeamsRoot | Change::Team { .. } | Change::Inbox { .. } => 5,
            Change::PlansRoot | Change::Plan { .. } | Change::TodosRoot | Change::Todo { .. } => 5,
            Change::TasksRoot | Change::SessionDir { .. } => 6,
            Change::TaskFile { .. } => 7,
        });
        let mut seen = std::collections::HashSet::new();
        changes.retain(|c| seen.insert(c.clone()));
        let mut touched = self.teams_touched_by(&changes);
        touched.extend(
            reads
                .iter()
                .filter(|r| self.teams.contains_key(&r.session))
                .map(|r| r.session.clone()),
        );
        let teams_before = self.team_fingerprints(&touched);
        let mut deltas = Vec::new();
        let mut metadata = false;
        for change in changes {
            match change {
                Change::AllRoots => {
                    self.relist_registry(&mut deltas);
                    metadata |= self.relist_projects();
                    metadata |= self.relist_teams();
                    metadata |= self.relist_plans(&mut deltas);
                    self.relist_todos(&mut deltas);
                    self.relist_sessions(&mut deltas);
                }
                Change::TeamsRoot => metadata |= self.relist_teams(),
                Change::Team { team } => metadata |= self.refresh_team(&team),
                Change::Inbox { team, file } => self.refresh_inbox(&team, &file),
                Change::PlansRoot => metadata |= self.relist_plans(&mut deltas),
                Change::Plan { slug } => metadata |= self.refresh_plan(&slug, &mut deltas),
                Change::TodosRoot => self.relist_todos(&mut deltas),
                Change::Todo { file } => self.refresh_todo(&file, &mut deltas),
                Change::RegistryRoot => self.relist_registry(&mut deltas),
                Change::Registry { file } => self.refresh_registry(&file, &mut deltas),
                Change::Subagents { project, session } => {
                    if self.refresh_subagents(&project, &session) {
                        self.generation += 1;
                    }
                }
                Change::ProjectsRoot => metadata |= self.relist_projects(),
                Change::ProjectDir { project } => metadata |= self.relist_project(&project),
                Change::Transcript { project, session } => {
                    metadata |= self.refresh_transcript(&project, &session);
                }
                Change::SessionsIndex { project } => metadata |= self.refresh_index(&project),
                Change::TasksRoot => self.relist_sessions(&mut deltas),
                Change::SessionDir { session } => self.refresh_session(&session, &mut deltas),
                Change::TaskFile { session, file } => {
                    if self.sessions.contains_key(&session) {
                        self.refresh_task(&session, &file, &mut deltas);
                    } else {
                        self.refresh_session(&session, &mut deltas);
                    }
                }
            }
        }
        for read in reads {
            self.commit_task(read, &mut deltas);
        }
        self.expire_hooks(&mut deltas);
        metadata |= self.relink_if_dirty();
        for slug in std::mem::take(&mut self.slugs_touched) {
            if self.has_plan(&slug) {
                let update = Delta::PlanUpdate { slug };
                if !deltas.contains(&update) {
                    deltas.push(update);
                }
            }
        }
        if metadata {
            deltas.push(Delta::Metadata);
        }
        self.team_deltas(teams_before, &mut deltas);
        if !deltas.is_empty() {
            self.generation += 1;
        }
        deltas
    }

    /// The teams whose view a batch may change: those it names, team task lists it names, and
    /// every team when the registry (a lead's liveness) or a whole root may have changed.
    fn teams_touched_by(&self, changes: &[Change]) -> BTreeSet<String> {
        let mut teams = BTreeSet::new();
        for change in changes {
            match change {
                Change::Team { team } | Change::Inbox { team, .. } => {
                    teams.insert(team.clone());
                }
                Change::SessionDir { session } | Change::TaskFile { session, .. }
                    if self.teams.contains_key(session) =>
                {
                    teams.insert(session.clone());
                }
                Change::AllRoots
                | Change::TeamsRoot
                | Change::TasksRoot
                | Change::RegistryRoot
                | Change::Registry { .. } => {
                    teams.extend(self.all_team_names());
                    if matches!(change, Change::AllRoots | Change::TeamsRoot) {
                        teams.extend(
                            list_dir(&self.layout.teams_dir)
                                .filter(|(name, is_dir)| *is_dir && teams::team_name_ok(name))
                                .map(|(name, _)| name),
                        );
                    }
                }
                Change::Transcript { session, .. } => {
                    // A lead's transcript is evidence that its in-process teammates live.
                    if let Some(team) = self.leads.get(session) {
                        teams.insert(team.clone());
                    }
                }
                _ => {}
            }
        }
        teams
    }

    /// Re-links shared lists if something they depend on changed; whether a link changed.
    fn relink_if_dirty(&mut self) -> bool {
        std::mem::take(&mut self.relink_dirty) && self.relink_lists()
    }

    /// The changes that together re-check everything (every session folder and project, on
    /// disk or known), so a caller can apply them in small batches instead of one long pass.
    pub fn reconcile_plan(&self) -> Vec<Change> {
        let mut sessions: BTreeSet<String> = self.sessions.keys().cloned().collect();
        sessions.extend(list_subdirs(&self.layout.tasks_dir));
        let mut teams = self.all_team_names();
        teams.extend(
            list_dir(&self.layout.teams_dir)
                .filter(|(name, is_dir)| *is_dir && teams::team_name_ok(name))
                .map(|(name, _)| name),
        );
        let mut plans: BTreeSet<String> = self.plans.keys().cloned().collect();
        plans.extend(
            list_dir(&self.layout.plans_dir)
                .filter_map(|(name, _)| crate::plans::plan_slug(&name).map(str::to_owned)),
        );
        let mut todos = self.todo_files();
        todos.extend(
            list_dir(&self.layout.todos_dir)
                .filter(|(name, is_dir)| !is_dir && crate::todos::todo_file(name).is_some())
                .map(|(name, _)| name),
        );
        std::iter::once(Change::RegistryRoot)
            .chain(
                self.all_projects()
                    .into_iter()
                    .map(|project| Change::ProjectDir { project }),
            )
            .chain(teams.into_iter().map(|team| Change::Team { team }))
            .chain(plans.into_iter().map(|slug| Change::Plan { slug }))
            .chain(todos.into_iter().map(|file| Change::Todo { file }))
            .chain(
                sessions
                    .into_iter()
                    .map(|session| Change::SessionDir { session }),
            )
            .collect()
    }

    // ----- task folders -------------------------------------------------------------------

    fn relist_sessions(&mut self, deltas: &mut Vec<Delta>) {
        let on_disk: BTreeSet<String> = list_subdirs(&self.layout.tasks_dir).collect();
        let gone: Vec<String> = self
            .sessions
            .keys()
            .filter(|id| !on_disk.contains(*id))
            .cloned()
            .collect();
        for session in gone {
            self.refresh_session(&session, deltas);
        }
        for session in on_disk {
            self.refresh_session(&session, deltas);
        }
    }

    fn refresh_session(&mut self, session: &str, deltas: &mut Vec<Delta>) {
        let dir = self.layout.tasks_dir.join(session);
        let Some(dir_meta) = fs::metadata(&dir).ok().filter(fs::Metadata::is_dir) else {
            if self.sessions.remove(session).is_some() {
                self.relink_dirty = true;
                deltas.push(Delta::SessionRemoved {
                    session: session.to_owned(),
                });
            }
            return;
        };
        let dir_modified = dir_meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
        if !self.sessions.contains_key(session) {
            self.sessions.insert(
                session.to_owned(),
                SessionEntry {
                    dir_modified,
                    tasks: HashMap::new(),
                    counts: Counts::default(),
                    newest_task: None,
                },
            );
            deltas.push(Delta::SessionAdded {
                session: session.to_owned(),
            });
            self.relink_dirty = true;
            self.read_linked_transcript(session);
        }
        let on_disk: BTreeSet<String> = list_dir(&dir)
            .filter(|(name, is_dir)| !is_dir && task_file_stem(name).is_some())
            .map(|(name, _)| name)
            .collect();
        let entry = self.sessions.get_mut(session).expect("inserted above");
        if entry.dir_modified != dir_modified {
            // A folder's own time is its `modifiedAt` while it has no tasks: visible.
            entry.dir_modified = dir_modified;
            self.generation += 1;
        }
        let entry = self.sessions.get_mut(session).expect("inserted above");
        let gone: Vec<String> = entry
            .tasks
            .keys()
            .filter(|f| !on_disk.contains(*f))
            .cloned()
            .collect();
        for file in gone.iter().chain(&on_disk) {
            self.refresh_task(session, file, deltas);
        }
    }

    fn refresh_task(&mut self, session: &str, file: &str, deltas: &mut Vec<Delta>) {
        let Some(pending) = self.pending_read(session, file) else {
            return;
        };
        let read = pending.run();
        self.commit_task(read, deltas);
    }

    /// What re-reading one task file needs from the index; `None` for an unknown session.
    fn pending_read(&self, session: &str, file: &str) -> Option<PendingRead> {
        let entry = self.sessions.get(session)?;
        Some(PendingRead {
            session: session.to_owned(),
            file: file.to_owned(),
            dir: self.layout.tasks_dir.join(session),
            known: entry.tasks.get(file).map(|k| (k.stamp, k.racy)),
        })
    }

    /// Splits a batch: changes of task files in known sessions, whose files can be read
    /// without holding the index ([`PendingRead::run`], then [`Index::apply_reads`]), and the
    /// rest, for [`Index::apply`]. Together they do what `apply` of the whole batch does.
    pub fn split_reads(&self, changes: Vec<Change>) -> (Vec<PendingRead>, Vec<Change>) {
        let mut reads: Vec<PendingRead> = Vec::new();
        let mut rest = Vec::new();
        for change in changes {
            match &change {
                Change::TaskFile { session, file } if self.sessions.contains_key(session) => {
                    if !reads
                        .iter()
                        .any(|r| &r.session == session && &r.file == file)
                        && let Some(p) = self.pending_read(session, file)
                    {
                        reads.push(p);
                    }
                }
                _ => rest.push(change),
            }
        }
        (reads, rest)
    }

    /// The transcripts read only in part, as changes that continue them: the index task
    /// applies them in a later batch (readers get the index in between).
    pub fn take_unfinished(&mut self) -> Vec<Change> {
        std::mem::take(&mut self.unfinished)
            .into_iter()
            .map(|(project, session)| Change::Transcript { project, session })
            .collect()
    }

    /// Commits task files read by [`PendingRead::run`]. No I/O: the write lock a caller holds
    /// for this lasts microseconds. The caller must make sure nothing else changed those files'
    /// entries between the split and this call (one applier at a time).
    pub fn apply_reads(&mut self, reads: Vec<TaskRead>) -> Vec<Delta> {
        self.apply_batch(Vec::new(), reads)
    }

    /// What every batch of changes ends with: shared task lists re-linked if anything they
    /// depend on changed, `team-update` for every team whose view changed, and a new
    /// generation if anything visible did.
    pub(super) fn finish_batch(
        &mut self,
        teams_before: std::collections::BTreeMap<String, teams::Fingerprint>,
        deltas: &mut Vec<Delta>,
    ) {
        self.expire_hooks(deltas);
        if self.relink_if_dirty() {
            deltas.push(Delta::Metadata);
        }
        self.team_deltas(teams_before, deltas);
        if !deltas.is_empty() {
            self.generation += 1;
        }
    }

    fn commit_task(&mut self, read: TaskRead, deltas: &mut Vec<Delta>) {
        let TaskRead {
            session,
            file,
            planned_on,
            seen,
            dir_modified,
        } = read;
        let Some(entry) = self.sessions.get_mut(&session) else {
            return;
        };
        let known = entry.tasks.get(&file);
        if known.map(|k| k.stamp) != planned_on {
            // Another change of this batch (a re-read of the whole folder) already brought
            // this file up to date with a newer read: never put an older version back.
            return;
        }
        let event = match seen {
            Seen::Missing => {
                if known.is_none() {
                    return;
                }
                entry.tasks.remove(&file);
                FileEvent::Unlink
            }
            Seen::Unchanged => return,
            Seen::Fresh {
                entry: fresh,
                same_stamp,
            } => {
                if same_stamp && known.is_some_and(|k| k.task == fresh.task) {
                    if let Some(k) = entry.tasks.get_mut(&file) {
                        k.racy = fresh.racy;
                    }
                    return;
                }
                let event = if known.is_some() {
                    FileEvent::Change
                } else {
                    FileEvent::Add
                };
                entry.tasks.insert(file.clone(), fresh);
                event
            }
        };
        if event != FileEvent::Change
            && let Some(m) = dir_modified
        {
            entry.dir_modified = m;
        }
        entry.refresh_cache();
        if self.is_shared_list(&session) {
            self.relink_dirty = true;
        }
        deltas.push(Delta::Task {
            session,
            file,
            event,
        });
    }

    // ----- transcripts and sessions-index.json --------------------------------------------

    fn relist_projects(&mut self) -> bool {
        let mut changed = false;
        for project in self.all_projects() {
            changed |= self.relist_project(&project);
        }
        changed
    }

    /// Every project folder on disk or known to the index (a vanished one must be forgotten).
    fn all_projects(&self) -> BTreeSet<String> {
        let mut projects: BTreeSet<String> = self
            .transcripts
            .values()
            .map(|t| t.project.clone())
            .collect();
        projects.extend(self.index_files.keys().cloned());
        projects.extend(list_subdirs(&self.layout.projects_dir));
        projects
    }

    fn relist_project(&mut self, project: &str) -> bool {
        let dir = self.layout.projects_dir.join(project);
        let mut stems = BTreeSet::new();
        let mut session_dirs = Vec::new();
        for (name, is_dir) in list_dir(&dir) {
            if !is_dir && let Some(stem) = transcript_stem(&name) {
                stems.insert(stem.to_owned());
            } else if is_dir && !crate::layout::is_ignored_name(&name) {
                session_dirs.push(name);
            }
        }
        // Subagents live in `<session>/subagents/`; forget those of vanished folders too.
        let known: Vec<String> = self
            .subagents
            .keys()
            .filter(|s| {
                self.transcripts
                    .get(*s)
                    .is_some_and(|t| t.project == project)
            })
            .filter(|s| !session_dirs.contains(s))
            .cloned()
            .collect();
        let mut subagents_changed = false;
        for session in known.iter().chain(&session_dirs) {
            subagents_changed |= self.refresh_subagents(project, session);
        }
        if subagents_changed {
            self.generation += 1;
        }
        let gone: Vec<String> = self
            .transcripts
            .iter()
            .filter(|(stem, t)| t.project == project && !stems.contains(*stem))
            .map(|(stem, _)| stem.clone())
            .collect();
        let mut changed = self.refresh_index(project);
        for stem in gone.iter().chain(&stems) {
            changed |= self.refresh_transcript(project, stem);
        }
        changed
    }

    /// Returns whether a linked session's metadata changed.
    fn refresh_transcript(&mut self, project: &str, stem: &str) -> bool {
        let path = self
            .layout
            .projects_dir
            .join(project)
            .join(format!("{stem}.jsonl"));
        let exists = fs::metadata(&path).is_ok_and(|m| m.is_file());
        let before = self.linked_folders_meta(stem);
        let before_own = self.own_meta(stem);
        if !exists {
            // The transcript may have moved to another project folder; only drop our record
            // of it if it is the one that vanished.
            if self
                .transcripts
                .get(stem)
                .is_some_and(|t| t.project == project)
            {
                self.transcripts.remove(stem);
                self.relink_dirty = true;
                if let Some(set) = self.by_prefix.get_mut(prefix8(stem)) {
                    set.remove(stem);
                }
            }
        } else {
            let modified = fs::metadata(&path)
                .and_then(|m| m.modified())
                .unwrap_or(SystemTime::UNIX_EPOCH);
            let entry =
                self.transcripts
                    .entry(stem.to_owned())
                    .or_insert_with(|| TranscriptEntry {
                        project: project.to_owned(),
                        path: path.clone(),
                        modified,
                        cursor: None,
                    });
            entry.modified = modified;
            if entry.path != path {
                entry.project = project.to_owned();
                entry.path = path;
                entry.cursor = None;
            }
            self.by_prefix
                .entry(prefix8(stem).to_owned())
                .or_default()
                .insert(stem.to_owned());
            let wanted = self
                .transcripts
                .get(stem)
                .is_some_and(|t| self.wants_transcript(stem, t));
            if wanted && !self.defer_reads {
                self.read_transcript(stem);
            }
        }
        // A `session-<8hex>` folder may have just become linkable (its prefix is unique again
        // after another transcript vanished): read the one it now names.
        let short = format!("session-{}", prefix8(stem));
        if self.sessions.contains_key(&short) {
            self.read_linked_transcript(&short);
        }
        // A plan's sessions are those with its slug.
        let after_own = self.own_meta(stem);
        let slug = |m: &Option<Option<TranscriptMeta>>| {
            m.as_ref()
                .and_then(|m| m.as_ref())
                .and_then(|m| m.slug.clone())
        };
        if slug(&before_own) != slug(&after_own) {
            self.slugs_touched
                .extend([slug(&before_own), slug(&after_own)].into_iter().flatten());
        }
        // Sessions without a task list are on the board too (`/api/activity`): a new one, one
        // gone, or a new name of one is a metadata change for them as well.
        before != self.linked_folders_meta(stem) || before_own != after_own
    }

    /// A transcript's own metadata as far as it was read, and whether it exists: `None` when
    /// it is unknown.
    fn own_meta(&self, stem: &str) -> Option<Option<TranscriptMeta>> {
        self.transcripts
            .get(stem)
            .map(|t| t.cursor.as_ref().map(|c| c.meta.clone()))
    }

    fn refresh_index(&mut self, project: &str) -> bool {
        let path = self.layout.projects_dir.join(project).join(SESSIONS_INDEX);
        let parsed = match read_capped(&path, MAX_SMALL_FILE) {
            Some((_, bytes)) => match sessions_index::parse(&bytes) {
                Ok(entries) => Some(entries),
                Err(err) => {
                    tracing::warn!(path = %path.display(), %err, "skipping unreadable sessions index");
                    return false;
                }
            },
            None => None,
        };
        let old = match parsed {
            Some(entries) => self.index_files.insert(project.to_owned(), entries.clone()),
            None => self.index_files.remove(project),
        };
        if old == self.index_files.get(project).cloned() {
            return false;
        }
        self.index_entries = self
            .index_files
            .values()
            .flatten()
            .map(|(id, e)| (id.clone(), e.clone()))
            .collect();
        true
    }

    /// Whether a task folder would show this transcript's metadata.
    fn is_linked(&self, stem: &str) -> bool {
        self.sessions.contains_key(stem)
            || self
                .sessions
                .contains_key(&format!("session-{}", prefix8(stem)))
            || self.leads.contains_key(stem)
            || self.list_links.values().any(|s| s == stem)
    }

    /// The folders other than its own that may link to a transcript: the task lists of the
    /// teams it leads, and shared lists it wrote to.
    fn foreign_folders(&self, stem: &str) -> Vec<&str> {
        let mut folders: Vec<&str> = self
            .teams
            .iter()
            .filter(|(_, t)| t.config_lead() == Some(stem))
            .map(|(name, _)| name.as_str())
            .collect();
        folders.extend(
            self.list_links
                .iter()
                .filter(|(_, s)| *s == stem)
                .map(|(folder, _)| folder.as_str()),
        );
        folders
    }

    /// What every folder `stem` could name shows of it (the transcript it links to, which also
    /// picks its `sessions-index.json` enrichment, and that transcript's metadata), for
    /// before/after comparison.
    fn linked_folders_meta(&self, stem: &str) -> Vec<Option<(Option<String>, TranscriptMeta)>> {
        let short = format!("session-{}", prefix8(stem));
        let mut ids = vec![stem, short.as_str()];
        ids.extend(self.foreign_folders(stem));
        ids.into_iter()
            .map(|id| {
                self.sessions.contains_key(id).then(|| {
                    let linked = self.transcript_for(id).map(str::to_owned);
                    (linked, self.meta_of(id).clone())
                })
            })
            .collect()
    }

    fn read_linked_transcript(&mut self, folder: &str) {
        if let Some(stem) = self.transcript_for(folder).map(str::to_owned) {
            self.read_transcript(&stem);
        }
    }

    /// Reads the transcript a folder links to from scratch, without touching the index (the
    /// cold scan runs this on many threads).
    fn read_transcript_for(&self, folder: &str) -> Option<(String, TranscriptCursor)> {
        let stem = self.transcript_for(folder)?;
        let path = &self.transcripts.get(stem)?.path;
        let mut cursor = TranscriptCursor::default();
        if let Err(err) = cursor.read_new(path) {
            tracing::warn!(path = %path.display(), %err, "could not read transcript");
        }
        Some((stem.to_owned(), cursor))
    }

    fn read_transcript(&mut self, stem: &str) {
        let Some(entry) = self.transcripts.get_mut(stem) else {
            return;
        };
        let cursor = entry.cursor.get_or_insert_with(TranscriptCursor::default);
        let before = cursor.last_timestamp.clone();
        let creates = (
            cursor.task_subjects.len(),
            cursor.task_subjects.last().cloned(),
        );
        match cursor.read_some(&entry.path, TRANSCRIPT_STEP) {
            Ok((_, true)) => {
                self.unfinished
                    .insert((entry.project.clone(), stem.to_owned()));
            }
            Ok((_, false)) => {
                self.unfinished
                    .remove(&(entry.project.clone(), stem.to_owned()));
            }
            Err(err) => {
                tracing::warn!(path = %entry.path.display(), %err, "could not read transcript");
            }
        }
        if creates
            != (
                cursor.task_subjects.len(),
                cursor.task_subjects.last().cloned(),
            )
        {
            self.relink_dirty = true;
        }
        // The newest record's time is shown (`lastActivityAt`) but is not an event: a new
        // generation keeps cached answers true without telling every client each append.
        if cursor.last_timestamp != before {
            self.generation += 1;
        }
    }

    /// The transcript stem a task folder is linked to: its own name; for a team's list, its
    /// lead's; for `session-<8hex>` the one transcript whose name starts with those 8
    /// characters (none if ambiguous); for a shared list, its newest writer's.
    fn transcript_for<'a>(&'a self, folder: &'a str) -> Option<&'a str> {
        if self.transcripts.contains_key(folder) {
            return Some(folder);
        }
        if let Some(config) = self.team_config(folder) {
            return config
                .lead_session_id
                .as_deref()
                .filter(|lead| self.transcripts.contains_key(*lead));
        }
        if let Some(stem) = self.list_links.get(folder) {
            return Some(stem);
        }
        let hex = folder.strip_prefix("session-")?;
        if hex.len() != 8 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let set = self.by_prefix.get(hex)?;
        match set.len() {
            1 => set.iter().next().map(String::as_str),
            _ => None,
        }
    }

    fn meta_of(&self, folder: &str) -> &TranscriptMeta {
        self.transcript_for(folder)
            .and_then(|stem| self.transcripts.get(stem))
            .and_then(|t| t.cursor.as_ref())
            .map_or(&EMPTY_META, |c| &c.meta)
    }

    // ----- views --------------------------------------------------------------------------

    pub fn session_count(&self) -> usize {
        self.sessions.len()
    }

    /// A session with a task folder, as `/api/sessions` lists it.
    pub fn summary<'a>(&'a self, id: &'a str) -> Option<SessionSummary<'a>> {
        let (id, _) = self.sessions.get_key_value(id)?;
        Some(self.describe(id))
    }

    /// Any session the board knows (a task folder, a transcript or a registry entry), as
    /// `/api/activity` lists it; `None` for an id nothing names.
    pub fn any_summary<'a>(&'a self, id: &'a str) -> Option<SessionSummary<'a>> {
        self.knows_session(id).then(|| self.describe(id))
    }

    fn describe<'a>(&'a self, id: &'a str) -> SessionSummary<'a> {
        let folder = self.sessions.get(id);
        let uuid = self.uuid_of(id);
        let meta = self.meta_of(id);
        let transcript = self.transcripts.get(uuid);
        let enrich = self.index_entries.get(uuid);
        let liveness = self.registry.liveness(uuid);
        let slug = meta.slug.as_deref();
        let transcript_time = transcript.and_then(|t| {
            t.cursor
                .as_ref()
                .and_then(TranscriptCursor::last_activity)
                .or(Some(t.modified))
        });
        let registered = self.registry.newest(uuid);
        let last_activity_at = transcript_time
            .max(liveness.updated_at)
            .max(registered.map(|(_, heard)| heard));
        let modified_at = match folder {
            Some(entry) => entry.newest_task.unwrap_or(entry.dir_modified),
            None => last_activity_at.unwrap_or(SystemTime::UNIX_EPOCH),
        };
        let team_config = self.team_config(id);
        // Contract §6 Names: a team's description ranks after the agent name, before the
        // summary; a shared list is named by itself, not by whichever session wrote to it.
        let name = if self.list_links.contains_key(id) {
            Some(id)
        } else {
            meta.custom_title
                .as_deref()
                .or(meta.ai_title.as_deref())
                .or(meta.agent_name.as_deref())
                .or(team_config.and_then(|c| c.description.as_deref()))
                .or(meta.summary.as_deref())
                .or(slug)
        };
        SessionSummary {
            id,
            name,
            slug,
            project: meta
                .cwd
                .as_deref()
                .or(team_config.and_then(|c| c.project()))
                .or(enrich.and_then(|e| e.project_path.as_deref()))
                .or(liveness.cwd)
                .or_else(|| registered.and_then(|(e, _)| e.cwd.as_deref())),
            description: enrich.and_then(|e| e.description.as_deref()),
            git_branch: meta
                .git_branch
                .as_deref()
                .or(enrich.and_then(|e| e.git_branch.as_deref())),
            task_count: folder.map_or(0, |e| e.tasks.len()),
            counts: folder.map(|e| e.counts).unwrap_or_default(),
            created_at: enrich.and_then(|e| e.created.as_deref()),
            modified_at,
            liveness,
            last_activity_at,
            cwd: liveness
                .cwd
                .or(meta.latest_cwd.as_deref())
                .or_else(|| registered.and_then(|(e, _)| e.cwd.as_deref())),
            subagents: self.subagent_counts(id),
            has_task_list: folder.is_some(),
            team: self.team_of(id),
            plan_slug: slug.filter(|s| self.has_plan(s)),
        }
    }

    /// Every session the board knows with activity at or after `since` (all with `None`),
    /// newest activity first: task folders, transcripts and registry entries, each once
    /// (a folder and the transcript it links to are one session).
    pub fn activity(&self, since: Option<SystemTime>) -> Vec<SessionSummary<'_>> {
        let mut ids: BTreeSet<&str> = self.sessions.keys().map(String::as_str).collect();
        let linked: BTreeSet<&str> = ids
            .iter()
            .filter_map(|id| self.transcript_for(id))
            .collect();
        ids.extend(
            self.transcripts
                .keys()
                .map(String::as_str)
                .filter(|stem| !linked.contains(stem)),
        );
        for uuid in self.registry_session_ids() {
            if self.board_id(uuid) == uuid && !linked.contains(uuid) {
                ids.insert(uuid);
            }
        }
        let mut items: Vec<SessionSummary<'_>> =
            ids.into_iter().map(|id| self.describe(id)).collect();
        let activity = |s: &SessionSummary<'_>| {
            s.last_activity_at
                .unwrap_or(s.modified_at)
                .max(s.modified_at)
        };
        items.retain(|s| since.is_none_or(|t| activity(s) >= t));
        items.sort_by(|a, b| activity(b).cmp(&activity(a)).then_with(|| a.id.cmp(b.id)));
        items
    }

    /// Every session, newest first (ties by id, so the order is stable).
    pub fn summaries(&self) -> Vec<SessionSummary<'_>> {
        self.newest(usize::MAX)
    }

    /// The `limit` newest sessions, newest first. Only those are summarised: with thousands of
    /// sessions, the default page of 20 costs a selection over cached times, not a full sort.
    pub fn newest(&self, limit: usize) -> Vec<SessionSummary<'_>> {
        let mut keys: Vec<(std::cmp::Reverse<SystemTime>, &str)> = self
            .sessions
            .iter()
            .map(|(id, e)| {
                let modified = e.newest_task.unwrap_or(e.dir_modified);
                (std::cmp::Reverse(modified), id.as_str())
            })
            .collect();
        if limit < keys.len() {
            keys.select_nth_unstable(limit);
            keys.truncate(limit);
        }
        keys.sort_unstable();
        keys.into_iter()
            .filter_map(|(_, id)| self.summary(id))
            .collect()
    }

    /// Bumped whenever an `apply` changed anything visible: equal generations mean equal
    /// answers, which is what response caches and ETags key on.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The readable tasks of a session, by numeric id; `None` for an unknown session.
    pub fn tasks(&self, session: &str) -> Option<Vec<TaskRecord<'_>>> {
        let entry = self.sessions.get(session)?;
        let mut records: Vec<_> = entry
            .tasks
            .iter()
            .filter_map(|(file, t)| {
                Some(TaskRecord {
                    id: task_file_stem(file)?,
                    task: t.task.as_ref()?,
                    created: t.created,
                    modified: t.stamp.modified,
                })
            })
            .collect();
        records.sort_by(|a, b| compare_task_ids(a.id, b.id));
        Some(records)
    }

    /// One readable task by its file name.
    pub fn task(&self, session: &str, file: &str) -> Option<TaskRecord<'_>> {
        let (file, t) = self.sessions.get(session)?.tasks.get_key_value(file)?;
        Some(TaskRecord {
            id: task_file_stem(file)?,
            task: t.task.as_ref()?,
            created: t.created,
            modified: t.stamp.modified,
        })
    }
}

fn prefix8(stem: &str) -> &str {
    stem.get(..8).unwrap_or(stem)
}

/// Entries of a directory as (UTF-8 name, is a directory); a missing or unreadable directory
/// is empty, because a root that does not exist yet is not an error.
/// The folders of `dir` that can be sessions or projects (hidden ones never are).
fn list_subdirs(dir: &Path) -> impl Iterator<Item = String> {
    list_dir(dir)
        .filter(|(name, is_dir)| *is_dir && !crate::layout::is_ignored_name(name))
        .map(|(name, _)| name)
}

fn list_dir(dir: &Path) -> impl Iterator<Item = (String, bool)> {
    fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            // The entry's own type costs no `stat` on most file systems; only a symlink is
            // followed (a linked folder is as much a session as a real one).
            let kind = e.file_type().ok()?;
            let is_dir = if kind.is_symlink() {
                fs::metadata(e.path()).is_ok_and(|m| m.is_dir())
            } else {
                kind.is_dir()
            };
            Some((name, is_dir))
        })
}

fn read_task(path: &Path) -> Option<Task> {
    let (_, bytes) = read_capped(path, MAX_SMALL_FILE)?;
    parse_task(path, &bytes)
}

fn parse_task(path: &Path, bytes: &[u8]) -> Option<Task> {
    match Task::parse(bytes) {
        Ok(task) => Some(task),
        Err(err) => {
            // Logged once per file version: the file is only re-read when its stamp changes.
            tracing::warn!(path = %path.display(), %err, "skipping unreadable task file");
            None
        }
    }
}

fn created_time(meta: &fs::Metadata) -> SystemTime {
    if let Ok(born) = meta.created() {
        return born;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let secs = meta.ctime();
        let nanos = meta.ctime_nsec();
        if let (Ok(secs), Ok(nanos)) = (u64::try_from(secs), u32::try_from(nanos)) {
            return SystemTime::UNIX_EPOCH + std::time::Duration::new(secs, nanos);
        }
    }
    meta.modified().unwrap_or(SystemTime::UNIX_EPOCH)
}

#[cfg(test)]
mod tests;
