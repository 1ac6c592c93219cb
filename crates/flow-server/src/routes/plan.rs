//! `GET /api/sessions/:session_id/plan` (extension): the session's tasks through the same
//! resolver as features: dependency order, what is ready, what blocks what, cycles, and
//! blockers that name no task.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use flow_core::{SessionId, TaskStatus};
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::extract::ApiPath;
use crate::state::AppState;

/// A task id ordered the way the board orders them: numerically, non-numeric ids last.
#[derive(Debug, Clone, PartialEq, Eq)]
struct TaskKey(String);

impl Ord for TaskKey {
    fn cmp(&self, other: &Self) -> Ordering {
        flow_core::task::compare_task_ids(&self.0, &other.0)
    }
}

impl PartialOrd for TaskKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

pub(crate) async fn get_plan(
    State(app): State<AppState>,
    ApiPath(session): ApiPath<SessionId>,
) -> Result<Json<Value>, ApiError> {
    let (tasks, started): (Vec<flow_resolver::Task<TaskKey>>, Vec<TaskKey>) = {
        let index = app.index();
        let records = index
            .tasks(session.as_str())
            .ok_or(ApiError::SessionNotFound)?;
        let started = records
            .iter()
            .filter(|r| r.task.status() == TaskStatus::InProgress)
            .map(|r| TaskKey(r.id.to_owned()))
            .collect();
        let tasks = records
            .iter()
            .map(|r| flow_resolver::Task {
                id: TaskKey(r.id.to_owned()),
                completed: r.task.status() == TaskStatus::Completed,
                blocked_by: r.task.blocked_by().into_iter().map(TaskKey).collect(),
                blocks: r.task.blocks().into_iter().map(TaskKey).collect(),
            })
            .collect();
        (tasks, started)
    };
    let mut plan = flow_resolver::resolve_tasks(&tasks);
    // "Ready" is what an agent could pick up next: a task already in progress is not.
    plan.ready.retain(|id| !started.contains(id));
    let ids = |v: &[TaskKey]| v.iter().map(|k| k.0.clone()).collect::<Vec<_>>();
    let map = |m: &BTreeMap<TaskKey, Vec<TaskKey>>| {
        m.iter()
            .map(|(k, v)| (k.0.clone(), json!(ids(v))))
            .collect::<serde_json::Map<_, _>>()
    };
    Ok(Json(json!({
        "order": ids(&plan.order),
        "ready": ids(&plan.ready),
        "blocked": map(&plan.blocked),
        "cycles": plan.cycles.iter().map(|c| ids(c)).collect::<Vec<_>>(),
        "missing": map(&plan.missing),
    })))
}
