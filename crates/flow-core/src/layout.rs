//! Where Claude Code keeps things, and the pure mapping from a changed path to what it means
//! for the index. Kept free of I/O so it is tested with plain paths, without a watcher.

use std::path::{Component, Path, PathBuf};

/// The roots Flow reads. Any of them may not exist yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    pub tasks_dir: PathBuf,
    pub projects_dir: PathBuf,
    /// Claude Code's live registry of running sessions, one `<pid>.json` per process.
    pub sessions_dir: PathBuf,
    /// Agent teams: `<team>/config.json` and `<team>/inboxes/<member>.json`.
    pub teams_dir: PathBuf,
    /// Plans: `<slug>.md`.
    pub plans_dir: PathBuf,
    /// TodoWrite lists: `<sid>.json`, `<sid>-agent-<aid>.json`.
    pub todos_dir: PathBuf,
}

impl Layout {
    /// The roots of a configuration: the tasks, projects and registry dirs it names, and the
    /// teams, plans and todos dirs inside its Claude dir.
    pub fn from_config(config: &crate::Config) -> Self {
        Self {
            tasks_dir: config.tasks_dir.clone(),
            projects_dir: config.projects_dir.clone(),
            sessions_dir: config.sessions_dir.clone(),
            teams_dir: config.claude_dir.join("teams"),
            plans_dir: config.claude_dir.join("plans"),
            todos_dir: config.claude_dir.join("todos"),
        }
    }

    /// Every root, for the watcher.
    pub fn roots(&self) -> [&Path; 6] {
        [
            &self.tasks_dir,
            &self.projects_dir,
            &self.sessions_dir,
            &self.teams_dir,
            &self.plans_dir,
            &self.todos_dir,
        ]
    }
}

/// Something on disk that may have changed; the index re-reads exactly that and compares.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Change {
    /// An ancestor of a root changed (a root may have appeared or vanished): re-list both.
    AllRoots,
    /// The tasks dir itself, or a change we cannot place below it: re-list every session.
    TasksRoot,
    /// `tasks/<session>/` appeared, vanished, or its listing changed.
    SessionDir { session: String },
    /// `tasks/<session>/<file>.json`.
    TaskFile { session: String, file: String },
    /// The projects dir itself: re-list every project.
    ProjectsRoot,
    /// `projects/<project>/`: re-list its transcripts and index.
    ProjectDir { project: String },
    /// `projects/<project>/<session>.jsonl`.
    Transcript { project: String, session: String },
    /// `projects/<project>/sessions-index.json`.
    SessionsIndex { project: String },
    /// `projects/<project>/<session>/…`: the session's subagents (`subagents/agent-<id>.*`).
    Subagents { project: String, session: String },
    /// The registry folder itself: re-list every entry.
    RegistryRoot,
    /// `sessions/<pid>.json` (or the legacy `pid-<n>.json`).
    Registry { file: String },
    /// The teams dir itself: re-list every team.
    TeamsRoot,
    /// `teams/<team>/`, its `config.json` or its `inboxes/` folder: re-read the config and
    /// re-list the inboxes (each re-read only if its stamp changed).
    Team { team: String },
    /// `teams/<team>/inboxes/<member>.json`.
    Inbox { team: String, file: String },
    /// The plans dir itself: re-list every plan.
    PlansRoot,
    /// `plans/<slug>.md`.
    Plan { slug: String },
    /// The todos dir itself: re-list every todo list.
    TodosRoot,
    /// `todos/<sid>.json` or `todos/<sid>-agent-<aid>.json`.
    Todo { file: String },
}

/// Claude Code's own bookkeeping, editor droppings and our own temporary files start with a dot
/// or end in a temp suffix; none of them is ever data.
pub fn is_ignored_name(name: &str) -> bool {
    name.starts_with('.')
        || name.ends_with('~')
        || name.ends_with(".tmp")
        || name.ends_with(".swp")
        || name.ends_with(".swx")
        || name.starts_with("#")
}

/// `3.json` → `3`; `None` for anything that is not a task file name.
pub fn task_file_stem(name: &str) -> Option<&str> {
    if is_ignored_name(name) {
        return None;
    }
    name.strip_suffix(".json").filter(|stem| !stem.is_empty())
}

/// `<uuid>.jsonl` → `<uuid>`; subagent transcripts (`agent-*.jsonl`) are not sessions.
pub fn transcript_stem(name: &str) -> Option<&str> {
    if is_ignored_name(name) || name.starts_with("agent-") {
        return None;
    }
    name.strip_suffix(".jsonl").filter(|stem| !stem.is_empty())
}

pub const SESSIONS_INDEX: &str = "sessions-index.json";

/// A registry entry's file name: `<pid>.json` or the legacy `pid-<pid>.json`.
pub fn registry_file(name: &str) -> bool {
    !is_ignored_name(name) && registry_pid(name).is_some()
}

/// The pid a registry file is named for.
pub fn registry_pid(name: &str) -> Option<u32> {
    let stem = name.strip_suffix(".json")?;
    let digits = stem.strip_prefix("pid-").unwrap_or(stem);
    digits.parse().ok().filter(|pid| *pid > 0)
}

/// `<member>.json` in a team's `inboxes/` → the file name; anything else is not an inbox.
pub fn inbox_file(name: &str) -> Option<&str> {
    let stem = name.strip_suffix(".json")?;
    (!is_ignored_name(name) && !stem.is_empty()).then_some(name)
}

/// `projects/<project>/<session>` (the folder beside `<session>.jsonl` that holds its
/// subagents) as a change of that session's subagents; `None` for anything that cannot be one.
fn subagents_of(project: &str, session: &str) -> Option<Change> {
    let plain =
        !is_ignored_name(session) && !session.contains('.') && !session.starts_with("agent-");
    plain.then(|| Change::Subagents {
        project: project.to_owned(),
        session: session.to_owned(),
    })
}

impl Layout {
    /// Maps a changed path to what must be re-read. A path above a root (a watched ancestor of
    /// a root that does not exist yet) maps to that root's full re-list.
    pub fn classify(&self, path: &Path) -> Option<Change> {
        if let Some(parts) = relative_names(&self.tasks_dir, path) {
            return match parts.as_slice() {
                [] => Some(Change::TasksRoot),
                [session] if !is_ignored_name(session) => Some(Change::SessionDir {
                    session: session.clone(),
                }),
                [session, file] if !is_ignored_name(session) => {
                    task_file_stem(file).map(|_| Change::TaskFile {
                        session: session.clone(),
                        file: file.clone(),
                    })
                }
                _ => None,
            };
        }
        if let Some(parts) = relative_names(&self.projects_dir, path) {
            return match parts.as_slice() {
                [] => Some(Change::ProjectsRoot),
                [project] if !is_ignored_name(project) => Some(Change::ProjectDir {
                    project: project.clone(),
                }),
                [project, file] if file == SESSIONS_INDEX => Some(Change::SessionsIndex {
                    project: project.clone(),
                }),
                [project, file] => transcript_stem(file)
                    .map(|stem| Change::Transcript {
                        project: project.clone(),
                        session: stem.to_owned(),
                    })
                    .or_else(|| subagents_of(project, file)),
                [project, session, sub] if sub == "subagents" => subagents_of(project, session),
                [project, session, sub, file]
                    if sub == "subagents" && file.starts_with("agent-") =>
                {
                    subagents_of(project, session)
                }
                _ => None,
            };
        }
        if let Some(parts) = relative_names(&self.sessions_dir, path) {
            return match parts.as_slice() {
                [] => Some(Change::RegistryRoot),
                [file] if registry_file(file) => Some(Change::Registry { file: file.clone() }),
                _ => None,
            };
        }
        if let Some(parts) = relative_names(&self.teams_dir, path) {
            let team = |name: &String| {
                (!is_ignored_name(name) && crate::ids::TeamName::parse(name).is_ok())
                    .then(|| name.clone())
            };
            return match parts.as_slice() {
                [] => Some(Change::TeamsRoot),
                [name] => team(name).map(|team| Change::Team { team }),
                [name, file] if file == "config.json" || file == "inboxes" => {
                    team(name).map(|team| Change::Team { team })
                }
                [name, dir, file] if dir == "inboxes" => {
                    let file = inbox_file(file)?;
                    team(name).map(|team| Change::Inbox {
                        team,
                        file: file.to_owned(),
                    })
                }
                _ => None,
            };
        }
        if let Some(parts) = relative_names(&self.plans_dir, path) {
            return match parts.as_slice() {
                [] => Some(Change::PlansRoot),
                [file] => crate::plans::plan_slug(file).map(|slug| Change::Plan {
                    slug: slug.to_owned(),
                }),
                _ => None,
            };
        }
        if let Some(parts) = relative_names(&self.todos_dir, path) {
            return match parts.as_slice() {
                [] => Some(Change::TodosRoot),
                [file] if crate::todos::todo_file(file).is_some() => {
                    Some(Change::Todo { file: file.clone() })
                }
                _ => None,
            };
        }
        if self.roots().iter().any(|root| root.starts_with(path)) {
            return Some(Change::AllRoots);
        }
        None
    }
}

/// The normal components of `path` below `root`, as UTF-8 names; `None` if `path` is not below
/// `root` or a component is not plain UTF-8 (no id of ours can name it).
fn relative_names(root: &Path, path: &Path) -> Option<Vec<String>> {
    let rest = path.strip_prefix(root).ok()?;
    rest.components()
        .map(|c| match c {
            Component::Normal(name) => name.to_str().map(str::to_owned),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout() -> Layout {
        Layout {
            tasks_dir: "/c/tasks".into(),
            projects_dir: "/c/projects".into(),
            sessions_dir: "/c/sessions".into(),
            teams_dir: "/c/teams".into(),
            plans_dir: "/c/plans".into(),
            todos_dir: "/c/todos".into(),
        }
    }

    fn check(path: &str, expect: Option<Change>) {
        assert_eq!(layout().classify(Path::new(path)), expect, "{path}");
    }

    #[test]
    fn classifies_task_paths() {
        let s = || "abc".to_owned();
        check("/c/tasks", Some(Change::TasksRoot));
        check("/c/tasks/abc", Some(Change::SessionDir { session: s() }));
        check(
            "/c/tasks/abc/3.json",
            Some(Change::TaskFile {
                session: s(),
                file: "3.json".into(),
            }),
        );
        check("/c/tasks/abc/.lock", None);
        check("/c/tasks/abc/.highwatermark", None);
        check("/c/tasks/abc/.3.json.swp", None);
        check("/c/tasks/abc/3.json~", None);
        check("/c/tasks/abc/.flow-x.tmp", None);
        check("/c/tasks/abc/3.json.tmp", None);
        check("/c/tasks/abc/notes.txt", None);
        check("/c/tasks/abc/deep/3.json", None);
        check("/c/tasks/.hidden", None);
    }

    #[test]
    fn classifies_project_paths() {
        let p = || "-repo".to_owned();
        check("/c/projects", Some(Change::ProjectsRoot));
        check(
            "/c/projects/-repo",
            Some(Change::ProjectDir { project: p() }),
        );
        check(
            "/c/projects/-repo/u1.jsonl",
            Some(Change::Transcript {
                project: p(),
                session: "u1".into(),
            }),
        );
        check(
            "/c/projects/-repo/sessions-index.json",
            Some(Change::SessionsIndex { project: p() }),
        );
        check("/c/projects/-repo/agent-1.jsonl", None);
        let subagents = || {
            Some(Change::Subagents {
                project: p(),
                session: "u1".into(),
            })
        };
        check("/c/projects/-repo/u1/subagents/agent-2.jsonl", subagents());
        check(
            "/c/projects/-repo/u1/subagents/agent-2.meta.json",
            subagents(),
        );
        check("/c/projects/-repo/u1/subagents", subagents());
        check("/c/projects/-repo/u1", subagents());
        check("/c/projects/-repo/u1/subagents/notes.txt", None);
        check("/c/projects/-repo/u1/other/agent-2.jsonl", None);
    }

    #[test]
    fn classifies_registry_paths() {
        check("/c/sessions", Some(Change::RegistryRoot));
        check(
            "/c/sessions/48213.json",
            Some(Change::Registry {
                file: "48213.json".into(),
            }),
        );
        check(
            "/c/sessions/pid-31337.json",
            Some(Change::Registry {
                file: "pid-31337.json".into(),
            }),
        );
        check("/c/sessions/.48213.json.tmp", None);
        check("/c/sessions/abc.json", None);
        check("/c/sessions/0.json", None);
        check("/c/sessions/1/2.json", None);
    }

    #[test]
    fn classifies_team_plan_and_todo_paths() {
        let team = || {
            Some(Change::Team {
                team: "alpha".into(),
            })
        };
        check("/c/teams", Some(Change::TeamsRoot));
        check("/c/teams/alpha", team());
        check("/c/teams/alpha/config.json", team());
        check("/c/teams/alpha/inboxes", team());
        check(
            "/c/teams/alpha/inboxes/team-lead.json",
            Some(Change::Inbox {
                team: "alpha".into(),
                file: "team-lead.json".into(),
            }),
        );
        check("/c/teams/alpha/inboxes/.team-lead.json.tmp", None);
        check("/c/teams/alpha/inboxes/notes.txt", None);
        check("/c/teams/alpha/other.json", None);
        check("/c/teams/.hidden/config.json", None);
        check("/c/teams/a b/config.json", None);
        check("/c/plans", Some(Change::PlansRoot));
        check(
            "/c/plans/calm-fox.md",
            Some(Change::Plan {
                slug: "calm-fox".into(),
            }),
        );
        check("/c/plans/calm fox.md", None);
        check("/c/plans/x/y.md", None);
        check("/c/todos", Some(Change::TodosRoot));
        check(
            "/c/todos/abc-agent-abc.json",
            Some(Change::Todo {
                file: "abc-agent-abc.json".into(),
            }),
        );
        check("/c/todos/.abc.json", None);
    }

    #[test]
    fn ancestors_of_missing_roots_trigger_a_relist() {
        check("/c", Some(Change::AllRoots));
        check("/", Some(Change::AllRoots));
        check("/elsewhere/x", None);
    }
}
