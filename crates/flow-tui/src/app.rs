//! The board's state and everything that changes it: snapshots and live events from the
//! server, and keys from the user. No I/O here: what needs the network comes back as a
//! [`Request`], so the whole behaviour is testable without a terminal or a server.

use std::collections::HashMap;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use serde_json::Value;

use flow_client::model::{Column, Session, Task, Team, contains_folded};

/// Work for the network side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Request {
    /// Everything again: after a `resync`, or when the user presses `r`.
    Snapshot,
    Sessions,
    SessionTasks(String),
    /// The teams and their members again (`team-update`).
    Teams,
    AddNote {
        session: String,
        task: String,
        note: String,
    },
}

/// What the network side and the terminal tell the board.
#[derive(Debug)]
pub(crate) enum Msg {
    Snapshot {
        sessions: Vec<Session>,
        tasks: Vec<Task>,
    },
    Sessions(Vec<Session>),
    SessionTasks {
        session: String,
        tasks: Vec<Task>,
    },
    /// Every team with its members (with a snapshot, or the answer to [`Request::Teams`]).
    Teams(Vec<Team>),
    /// [`Request::Teams`] failed: what is on screen stays.
    TeamsFailed(String),
    /// The live stream is open and a snapshot taken after it is applied.
    Live,
    Event(Value),
    /// The server cannot be reached or went away; the network side keeps retrying.
    Offline(String),
    Notice(String),
    Key(KeyEvent),
    Redraw,
    /// SIGTERM, SIGHUP or SIGINT: leave as if the user pressed `q`.
    Quit,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Conn {
    Connecting,
    Live,
    Offline(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Focus {
    Sessions,
    Column(usize),
}

/// What the body shows: the board (sessions and columns) or the teams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum View {
    Board,
    Teams,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Normal,
    Search,
    Note,
    Help,
}

#[derive(Debug)]
pub(crate) struct App {
    pub(crate) url: String,
    pub(crate) conn: Conn,
    /// A snapshot has arrived at least once; until then there is nothing to show but `conn`.
    pub(crate) loaded: bool,
    /// Newest first, as the server lists them.
    pub(crate) sessions: Vec<Session>,
    /// Each session's tasks, sorted by id.
    pub(crate) tasks: HashMap<String, Vec<Task>>,
    pub(crate) selected: Option<String>,
    pub(crate) focus: Focus,
    pub(crate) cursor: [usize; 3],
    /// The id of the task under each column's cursor. The cursor follows it when tasks are
    /// added, removed or moved around it, so a live event never swaps the task being read or
    /// noted for its neighbour.
    pinned: [Option<String>; 3],
    pub(crate) detail: bool,
    pub(crate) detail_scroll: u16,
    pub(crate) mode: Mode,
    /// The search, lowercase.
    pub(crate) query: String,
    pub(crate) note: String,
    /// (session, task) the note being typed is for, fixed when `n` was pressed.
    pub(crate) note_target: Option<(String, String)>,
    pub(crate) notice: Option<String>,
    pub(crate) quit: bool,
    /// Agent teams, newest first, as the server lists them.
    pub(crate) teams: Vec<Team>,
    pub(crate) view: View,
    /// How far the Teams view is scrolled, in lines.
    pub(crate) teams_scroll: u16,
    /// A [`Request::Teams`] is out: `team-update`s meanwhile need no other, since the network
    /// side answers it before it reads any later event (a burst costs one read).
    teams_asked: bool,
}

impl App {
    pub(crate) fn new(url: &str) -> Self {
        Self {
            url: url.to_owned(),
            conn: Conn::Connecting,
            loaded: false,
            sessions: Vec::new(),
            tasks: HashMap::new(),
            selected: None,
            focus: Focus::Sessions,
            cursor: [0; 3],
            pinned: [None, None, None],
            detail: false,
            detail_scroll: 0,
            mode: Mode::Normal,
            query: String::new(),
            note: String::new(),
            note_target: None,
            notice: None,
            quit: false,
            teams: Vec::new(),
            view: View::Board,
            teams_scroll: 0,
            teams_asked: false,
        }
    }

    /// Applies one message; returns what the network side should do next.
    pub(crate) fn update(&mut self, msg: Msg) -> Vec<Request> {
        match msg {
            Msg::Snapshot { sessions, tasks } => {
                self.tasks.clear();
                for task in tasks {
                    let Some(session) = task.session_id.clone() else {
                        continue;
                    };
                    self.tasks.entry(session).or_default().push(task);
                }
                for list in self.tasks.values_mut() {
                    list.sort_by_key(Task::sort_key);
                }
                self.set_sessions(sessions);
                self.loaded = true;
            }
            Msg::Sessions(sessions) => self.set_sessions(sessions),
            Msg::SessionTasks { session, mut tasks } => {
                tasks.sort_by_key(Task::sort_key);
                self.tasks.insert(session, tasks);
            }
            Msg::Teams(teams) => {
                self.teams = teams;
                self.teams_asked = false;
                self.teams_scroll = self.teams_scroll.min(self.teams_max_scroll());
            }
            Msg::TeamsFailed(reason) => {
                self.teams_asked = false;
                self.notice = Some(format!("Could not read the teams: {reason}"));
            }
            Msg::Live => self.conn = Conn::Live,
            Msg::Event(event) => return self.apply_event(&event),
            Msg::Offline(reason) => self.conn = Conn::Offline(reason),
            Msg::Notice(text) => self.notice = Some(text),
            Msg::Key(key) => return self.on_key(key),
            Msg::Redraw => {}
            Msg::Quit => self.quit = true,
        }
        self.clamp();
        Vec::new()
    }

    fn set_sessions(&mut self, sessions: Vec<Session>) {
        self.sessions = sessions;
        self.sort_sessions();
        self.clamp();
    }

    /// Sessions that wait for the user first, then newest first.
    fn sort_sessions(&mut self) {
        self.sessions.sort_by(|a, b| {
            b.needs_you()
                .cmp(&a.needs_you())
                .then_with(|| b.modified_at.cmp(&a.modified_at))
        });
    }

    /// The sessions waiting for the user, in list order.
    pub(crate) fn needing_you(&self) -> Vec<&Session> {
        self.sessions.iter().filter(|s| s.needs_you()).collect()
    }

    fn upsert_session(&mut self, session: Session) {
        match self.sessions.iter_mut().find(|s| s.id == session.id) {
            Some(slot) => *slot = session,
            None => self.sessions.push(session),
        }
        self.sort_sessions();
    }

    /// Applies a live event (contract §4) in place; only payloads without the new state ask
    /// the server again.
    fn apply_event(&mut self, event: &Value) -> Vec<Request> {
        let mut requests = Vec::new();
        match event.get("type").and_then(Value::as_str) {
            Some("update") => {
                let Some(session) = event.get("sessionId").and_then(Value::as_str) else {
                    return requests;
                };
                let kind = event.get("event").and_then(Value::as_str).unwrap_or("");
                if let Some(summary) = event.get("session").cloned() {
                    match serde_json::from_value::<Session>(summary) {
                        Ok(summary) => self.upsert_session(summary),
                        Err(_) => requests.push(Request::Sessions),
                    }
                }
                match kind {
                    "add" | "change" => match event.get("task").cloned() {
                        Some(task) => match serde_json::from_value::<Task>(task) {
                            Ok(mut task) => {
                                // A file without an `id` is known by its name, as the API's
                                // paths know it, so two of them stay two cards.
                                if task.id.is_empty() {
                                    task.id = file_stem(event).to_owned();
                                }
                                self.upsert_task(session, task);
                            }
                            Err(_) => requests.push(Request::SessionTasks(session.to_owned())),
                        },
                        None => requests.push(Request::SessionTasks(session.to_owned())),
                    },
                    "unlink" => {
                        let id = file_stem(event);
                        if let Some(list) = self.tasks.get_mut(session) {
                            list.retain(|t| t.id != id);
                        }
                    }
                    "unlinkDir" => {
                        self.sessions.retain(|s| s.id != session);
                        self.tasks.remove(session);
                    }
                    _ => {}
                }
            }
            Some("session-state") => {
                let Some(id) = event.get("sessionId").and_then(Value::as_str) else {
                    return requests;
                };
                if let Some(s) = self.sessions.iter_mut().find(|s| s.id == id) {
                    let text = |k: &str| event.get(k).and_then(Value::as_str).map(str::to_owned);
                    s.state = text("state").unwrap_or_default();
                    s.live = event.get("live").and_then(Value::as_bool).unwrap_or(false);
                    s.waiting_for = text("waitingFor");
                    self.sort_sessions();
                }
            }
            Some("metadata-update") => requests.push(Request::Sessions),
            Some("team-update") if !self.teams_asked => {
                self.teams_asked = true;
                requests.push(Request::Teams);
            }
            Some("resync") => requests.push(Request::Snapshot),
            Some("machine") => self.machine_event(event),
            _ => {}
        }
        self.clamp();
        requests
    }

    /// Another machine of the team board came or went (contract §7): its sessions are marked
    /// at once (`stale`: its last data), and the footer says so.
    fn machine_event(&mut self, event: &Value) {
        let (Some(name), Some(online)) = (
            event.get("name").and_then(Value::as_str),
            event.get("online").and_then(Value::as_bool),
        ) else {
            return;
        };
        for s in self.sessions.iter_mut() {
            if s.machine.as_deref() == Some(name) {
                s.stale = !online;
            }
        }
        self.sort_sessions();
        self.notice = Some(if online {
            format!("{name} is online")
        } else {
            format!("{name} went offline: its sessions show their last data")
        });
    }

    fn upsert_task(&mut self, session: &str, task: Task) {
        let list = self.tasks.entry(session.to_owned()).or_default();
        match list.iter_mut().find(|t| t.id == task.id) {
            Some(slot) => *slot = task,
            None => {
                list.push(task);
                list.sort_by_key(Task::sort_key);
            }
        }
    }

    // ----- what the screen shows -----

    /// Sessions that pass the search: by label, id, project, branch, machine, or any of their
    /// tasks.
    pub(crate) fn visible_sessions(&self) -> Vec<&Session> {
        self.sessions
            .iter()
            .filter(|s| self.query.is_empty() || self.session_matches(s))
            .collect()
    }

    fn session_matches(&self, s: &Session) -> bool {
        let q = &self.query;
        [
            Some(s.label()),
            Some(&s.id),
            s.project.as_deref(),
            s.git_branch.as_deref(),
            s.machine.as_deref(),
        ]
        .into_iter()
        .flatten()
        .any(|field| contains_folded(field, q))
            || self
                .tasks
                .get(&s.id)
                .is_some_and(|tasks| tasks.iter().any(|t| !t.is_internal() && t.matches(q)))
    }

    pub(crate) fn selected_session(&self) -> Option<&Session> {
        let id = self.selected.as_deref()?;
        self.sessions.iter().find(|s| s.id == id)
    }

    /// The selected session's visible tasks in one column. While searching, only the tasks
    /// that match, unless the session matched by its own name (then all of them).
    pub(crate) fn column_tasks(&self, column: Column) -> Vec<&Task> {
        let Some(session) = self.selected_session() else {
            return Vec::new();
        };
        let Some(tasks) = self.tasks.get(&session.id) else {
            return Vec::new();
        };
        let visible = tasks.iter().filter(|t| !t.is_internal());
        let filter_tasks = !self.query.is_empty()
            && tasks
                .iter()
                .any(|t| !t.is_internal() && t.matches(&self.query));
        visible
            .filter(|t| t.column() == column)
            .filter(|t| !filter_tasks || t.matches(&self.query))
            .collect()
    }

    pub(crate) fn selected_task(&self) -> Option<&Task> {
        let Focus::Column(c) = self.focus else {
            return None;
        };
        self.column_tasks(Column::ALL[c])
            .get(self.cursor[c])
            .copied()
    }

    /// Whether an unfinished task waits on a blocker that is not completed (an unknown
    /// blocker blocks).
    pub(crate) fn is_blocked(&self, task: &Task) -> bool {
        if task.column() == Column::Completed {
            return false;
        }
        let Some(tasks) = self.selected.as_ref().and_then(|s| self.tasks.get(s)) else {
            return false;
        };
        task.blocked_by.iter().any(|id| {
            tasks
                .iter()
                .find(|t| &t.id == id)
                .is_none_or(|t| t.column() != Column::Completed)
        })
    }

    /// Every in-progress task of a live session, for the live feed: (session label, task). An
    /// ended session's in-progress tasks are stale, not current work.
    pub(crate) fn live_feed(&self) -> Vec<(&str, &Task)> {
        // An offline machine's last data is not work anyone can see going on (contract §7).
        self.sessions
            .iter()
            .filter(|s| s.live && !s.stale)
            .flat_map(|s| {
                self.tasks
                    .get(&s.id)
                    .into_iter()
                    .flatten()
                    .filter_map(move |t| {
                        (t.column() == Column::InProgress && !t.is_internal())
                            .then_some((s.label(), t))
                    })
            })
            .collect()
    }

    /// The Teams view's lines: per team a title line, a line per member and a blank line.
    pub(crate) fn teams_lines(&self) -> usize {
        self.teams.iter().map(|t| t.members.len() + 2).sum()
    }

    fn teams_max_scroll(&self) -> u16 {
        u16::try_from(self.teams_lines().saturating_sub(1)).unwrap_or(u16::MAX)
    }

    /// Keeps the selection on something that exists and is visible, on the same task as
    /// before wherever it now sits.
    fn clamp(&mut self) {
        let visible = self.visible_sessions();
        let still_visible = self
            .selected
            .as_ref()
            .is_some_and(|id| visible.iter().any(|s| &s.id == id));
        if !still_visible {
            self.selected = visible.first().map(|s| s.id.clone());
            self.cursor = [0; 3];
            self.pinned = [None, None, None];
            self.detail = false;
        }
        let columns: [Vec<String>; 3] = Column::ALL.map(|column| {
            self.column_tasks(column)
                .iter()
                .map(|t| t.id.clone())
                .collect()
        });
        // The task being read moved to another column (its status changed): the detail
        // follows it there. Gone altogether: the detail closes.
        if let (true, Focus::Column(c)) = (self.detail, self.focus)
            && let Some(id) = self.pinned[c].clone()
            && !columns[c].contains(&id)
        {
            match columns.iter().position(|ids| ids.contains(&id)) {
                Some(k) => {
                    self.focus = Focus::Column(k);
                    self.pinned[k] = Some(id);
                }
                None => self.detail = false,
            }
        }
        for (c, ids) in columns.iter().enumerate() {
            let found = self.pinned[c]
                .as_ref()
                .and_then(|id| ids.iter().position(|t| t == id));
            let at = found
                .unwrap_or(self.cursor[c])
                .min(ids.len().saturating_sub(1));
            self.cursor[c] = at;
            self.pinned[c] = ids.get(at).cloned();
        }
        if self.detail && self.selected_task().is_none() {
            self.detail = false;
        }
    }

    // ----- keys -----

    fn on_key(&mut self, key: KeyEvent) -> Vec<Request> {
        if key.kind == KeyEventKind::Release {
            return Vec::new();
        }
        if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
            self.quit = true;
            return Vec::new();
        }
        let requests = match self.mode {
            Mode::Search => {
                self.on_search_key(key);
                Vec::new()
            }
            Mode::Note => self.on_note_key(key),
            Mode::Help => {
                self.mode = Mode::Normal;
                Vec::new()
            }
            Mode::Normal => self.on_normal_key(key),
        };
        self.clamp();
        requests
    }

    fn on_search_key(&mut self, key: KeyEvent) {
        match key.code {
            KeyCode::Esc => {
                self.query.clear();
                self.mode = Mode::Normal;
            }
            KeyCode::Enter => self.mode = Mode::Normal,
            KeyCode::Backspace => {
                self.query.pop();
            }
            KeyCode::Char(c) => self.query.extend(c.to_lowercase()),
            _ => {}
        }
    }

    fn on_note_key(&mut self, key: KeyEvent) -> Vec<Request> {
        match key.code {
            KeyCode::Esc => {
                self.note.clear();
                self.note_target = None;
                self.mode = Mode::Normal;
            }
            KeyCode::Enter => {
                self.mode = Mode::Normal;
                let note = std::mem::take(&mut self.note);
                let target = self.note_target.take();
                if note.trim().is_empty() {
                    self.notice = Some("Note is empty: nothing added".into());
                    return Vec::new();
                }
                if let Some((session, task)) = target {
                    self.notice = Some(format!("Adding a note to #{task}…"));
                    return vec![Request::AddNote {
                        session,
                        task,
                        note,
                    }];
                }
            }
            KeyCode::Backspace => {
                self.note.pop();
            }
            KeyCode::Char(c) => self.note.push(c),
            _ => {}
        }
        Vec::new()
    }

    fn on_normal_key(&mut self, key: KeyEvent) -> Vec<Request> {
        self.notice = None;
        if self.view == View::Teams {
            return self.on_teams_key(key);
        }
        match key.code {
            KeyCode::Char('t') => {
                self.detail = false;
                self.view = View::Teams;
            }
            KeyCode::Char('q') => self.quit = true,
            KeyCode::Esc if self.detail => self.detail = false,
            KeyCode::Esc => self.query.clear(),
            KeyCode::Char('?') => self.mode = Mode::Help,
            KeyCode::Char('/') => {
                self.detail = false;
                self.mode = Mode::Search;
            }
            KeyCode::Char('r') => return vec![Request::Snapshot],
            KeyCode::Char('n') if self.selected_task().is_some() => {
                self.note.clear();
                self.note_target = self
                    .selected
                    .clone()
                    .zip(self.selected_task().map(|t| t.id.clone()));
                self.mode = Mode::Note;
            }
            KeyCode::Char('n') => self.notice = Some("Select a task first, then n".into()),
            KeyCode::Up | KeyCode::Char('k') if self.detail => {
                self.detail_scroll = self.detail_scroll.saturating_sub(1);
            }
            KeyCode::Down | KeyCode::Char('j') if self.detail => {
                // No further than the description's last line.
                let lines = self
                    .selected_task()
                    .map_or(0, |t| t.description.lines().count());
                let limit = u16::try_from(lines).unwrap_or(u16::MAX);
                self.detail_scroll = self.detail_scroll.saturating_add(1).min(limit);
            }
            KeyCode::Up | KeyCode::Char('k') => self.step(-1),
            KeyCode::Down | KeyCode::Char('j') => self.step(1),
            KeyCode::Left | KeyCode::Char('h') | KeyCode::BackTab => self.move_focus(-1),
            KeyCode::Right | KeyCode::Char('l') | KeyCode::Tab => self.move_focus(1),
            KeyCode::Enter => match self.focus {
                Focus::Sessions => {
                    let first = Column::ALL
                        .iter()
                        .position(|c| !self.column_tasks(*c).is_empty());
                    if let Some(c) = first {
                        self.focus = Focus::Column(c);
                    }
                }
                Focus::Column(_) => {
                    self.detail = self.selected_task().is_some();
                    self.detail_scroll = 0;
                }
            },
            _ => {}
        }
        Vec::new()
    }

    /// The Teams view: scroll, back to the board, and the keys that work everywhere.
    fn on_teams_key(&mut self, key: KeyEvent) -> Vec<Request> {
        match key.code {
            KeyCode::Char('q') => self.quit = true,
            KeyCode::Char('t') | KeyCode::Esc => self.view = View::Board,
            KeyCode::Char('?') => self.mode = Mode::Help,
            KeyCode::Char('r') => return vec![Request::Snapshot],
            KeyCode::Up | KeyCode::Char('k') => {
                self.teams_scroll = self.teams_scroll.saturating_sub(1)
            }
            KeyCode::Down | KeyCode::Char('j') => {
                self.teams_scroll = self
                    .teams_scroll
                    .saturating_add(1)
                    .min(self.teams_max_scroll());
            }
            KeyCode::PageUp => self.teams_scroll = self.teams_scroll.saturating_sub(10),
            KeyCode::PageDown => {
                self.teams_scroll = self
                    .teams_scroll
                    .saturating_add(10)
                    .min(self.teams_max_scroll());
            }
            KeyCode::Home | KeyCode::Char('g') => self.teams_scroll = 0,
            _ => {}
        }
        Vec::new()
    }

    fn step(&mut self, delta: isize) {
        match self.focus {
            Focus::Sessions => {
                let visible = self.visible_sessions();
                let at = self
                    .selected
                    .as_ref()
                    .and_then(|id| visible.iter().position(|s| &s.id == id))
                    .unwrap_or(0);
                let next = at
                    .saturating_add_signed(delta)
                    .min(visible.len().saturating_sub(1));
                self.selected = visible.get(next).map(|s| s.id.clone());
                self.cursor = [0; 3];
                self.pinned = [None, None, None];
            }
            Focus::Column(c) => {
                let ids = self.column_tasks(Column::ALL[c]);
                let at = self.cursor[c]
                    .saturating_add_signed(delta)
                    .min(ids.len().saturating_sub(1));
                self.pinned[c] = ids.get(at).map(|t| t.id.clone());
                self.cursor[c] = at;
            }
        }
    }

    fn move_focus(&mut self, delta: isize) {
        self.detail = false;
        // Sessions, then the three columns, in a row; no wrap-around.
        let at = match self.focus {
            Focus::Sessions => 0,
            Focus::Column(c) => c as isize + 1,
        };
        self.focus = match (at + delta).clamp(0, 3) {
            0 => Focus::Sessions,
            n => Focus::Column(n as usize - 1),
        };
    }
}

/// The task id an `update` event's file names: `3.json` → `3`.
fn file_stem(event: &Value) -> &str {
    let file = event.get("file").and_then(Value::as_str).unwrap_or("");
    file.strip_suffix(".json").unwrap_or(file)
}

#[cfg(test)]
mod tests;
