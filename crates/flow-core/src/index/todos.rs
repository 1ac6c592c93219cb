//! TodoWrite lists in the index (`todos/<sid>.json`, `todos/<sid>-agent-<aid>.json`): parsed
//! once per file version, kept by session, served without touching the disk.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use super::{Delta, Index, Stamp, list_dir, own_file_stamp};
use crate::read::read_capped_no_follow;
use crate::todos::{self, TodoItem};

/// A todo list is a few KB; anything past this is not one (skipped, logged once).
const MAX_TODO: u64 = 1 << 20;

#[derive(Debug)]
pub(super) struct TodoFile {
    stamp: Stamp,
    session: String,
    agent: Option<String>,
    items: Vec<TodoItem>,
}

/// The todo lists of a Claude dir.
#[derive(Debug, Default)]
pub(super) struct Todos {
    /// By file name.
    files: HashMap<String, TodoFile>,
    /// Session uuid → its files.
    by_session: HashMap<String, BTreeSet<String>>,
}

/// One item with the agent whose list holds it (`None`: the session's own).
#[derive(Debug, Clone, Copy)]
pub struct TodoRecord<'a> {
    pub item: &'a TodoItem,
    pub agent_id: Option<&'a str>,
}

impl Todos {
    fn insert(&mut self, file: String, entry: TodoFile) {
        self.by_session
            .entry(entry.session.clone())
            .or_default()
            .insert(file.clone());
        self.files.insert(file, entry);
    }

    fn remove(&mut self, file: &str) -> Option<TodoFile> {
        let gone = self.files.remove(file)?;
        if let Some(set) = self.by_session.get_mut(&gone.session) {
            set.remove(file);
            if set.is_empty() {
                self.by_session.remove(&gone.session);
            }
        }
        Some(gone)
    }
}

/// Reads one todo file (stat, then read if regular); `None` when there is none.
pub(super) fn read_todo(dir: &Path, file: &str) -> Option<(String, TodoFile)> {
    let (session, agent) = todos::todo_file(file)?;
    let path = dir.join(file);
    let stamp = own_file_stamp(&path)?;
    let items = read_capped_no_follow(&path, MAX_TODO)
        .map(|(_, bytes)| {
            todos::parse(&bytes).unwrap_or_else(|err| {
                tracing::warn!(path = %path.display(), %err, "skipping unreadable todo list");
                Vec::new()
            })
        })
        .unwrap_or_default();
    // A list of the main thread is named `<sid>-agent-<sid>`: it is the session's own.
    let agent = agent.filter(|a| *a != session).map(str::to_owned);
    Some((
        file.to_owned(),
        TodoFile {
            stamp,
            session: session.to_owned(),
            agent,
            items,
        },
    ))
}

impl Index {
    /// Reads every todo file (the cold scan), on every core.
    pub(super) fn scan_todos(&mut self) {
        let files: Vec<String> = list_dir(&self.layout.todos_dir)
            .filter(|(name, is_dir)| !is_dir && todos::todo_file(name).is_some())
            .map(|(name, _)| name)
            .collect();
        let dir = self.layout.todos_dir.clone();
        for (file, entry) in super::read_in_parallel(&files, |file| read_todo(&dir, file)) {
            self.todos.insert(file, entry);
        }
    }

    pub(super) fn relist_todos(&mut self, deltas: &mut Vec<Delta>) {
        let mut files: BTreeSet<String> = list_dir(&self.layout.todos_dir)
            .filter(|(name, is_dir)| !is_dir && todos::todo_file(name).is_some())
            .map(|(name, _)| name)
            .collect();
        files.extend(self.todos.files.keys().cloned());
        for file in files {
            self.refresh_todo(&file, deltas);
        }
    }

    /// Re-reads one todo file if its stamp changed; a `Todos` delta when its items changed.
    pub(super) fn refresh_todo(&mut self, file: &str, deltas: &mut Vec<Delta>) {
        let path = self.layout.todos_dir.join(file);
        let stamp = own_file_stamp(&path);
        let known = self.todos.files.get(file);
        if stamp.is_some() && known.map(|k| k.stamp) == stamp {
            return;
        }
        let before = known.map(|k| (k.session.clone(), k.agent.clone(), k.items.clone()));
        let fresh = read_todo(&self.layout.todos_dir, file);
        let after = fresh
            .as_ref()
            .map(|(_, f)| (f.session.clone(), f.agent.clone(), f.items.clone()));
        self.todos.remove(file);
        if let Some((file, entry)) = fresh {
            self.todos.insert(file, entry);
        }
        if before != after {
            let session = before.or(after).map(|(s, _, _)| s).unwrap_or_default();
            deltas.push(Delta::Todos {
                session: self.board_id(&session).to_owned(),
            });
        }
    }

    /// Every todo file the index holds.
    pub(super) fn todo_files(&self) -> BTreeSet<String> {
        self.todos.files.keys().cloned().collect()
    }

    /// The todo items of the session with this board id, its own lists first, then its
    /// agents' by agent id; `None` when neither the session nor a todo list of it is known.
    pub fn todos(&self, id: &str) -> Option<Vec<TodoRecord<'_>>> {
        let uuid = self.uuid_of(id);
        let files = self.todos.by_session.get(uuid);
        if files.is_none() && !self.knows_session(id) {
            return None;
        }
        let mut lists: BTreeMap<(Option<&str>, &str), &TodoFile> = BTreeMap::new();
        for file in files.into_iter().flatten() {
            if let Some(f) = self.todos.files.get(file) {
                lists.insert((f.agent.as_deref(), file.as_str()), f);
            }
        }
        Some(
            lists
                .values()
                .flat_map(|f| {
                    f.items.iter().map(|item| TodoRecord {
                        item,
                        agent_id: f.agent.as_deref(),
                    })
                })
                .collect(),
        )
    }
}
