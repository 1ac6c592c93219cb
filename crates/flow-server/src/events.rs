//! Index deltas → the live events of contract §4, with the `task` and `session` payloads (as the
//! read API returns them) so clients can apply a change without re-fetching.

use flow_core::{Delta, FileEvent, Index};
use serde_json::{Value, json};

use crate::views::{ActivityView, SessionView, TaskView};

/// The event for one delta and the session it concerns (for WebSocket filtering).
pub(crate) fn event_for(index: &Index, delta: &Delta) -> (Value, Option<String>) {
    let session_view = |id: &str| {
        index
            .summary(id)
            .map(|s| serde_json::to_value(SessionView::from(s)).unwrap_or(Value::Null))
    };
    match delta {
        Delta::Metadata => (json!({"type": "metadata-update"}), None),
        Delta::SessionState { session } => {
            let live = index.liveness(session);
            let mut event = json!({
                "type": "session-state",
                "sessionId": session,
                "state": live.state.as_str(),
                "live": live.live,
                "waitingFor": live.waiting_for,
            });
            // Extension: the whole summary, as for `update`, so a client can place a session
            // it has not seen yet (one that keeps no task list) without a read.
            if let Some(view) = index
                .any_summary(session)
                .map(|s| serde_json::to_value(ActivityView::from(s)).unwrap_or(Value::Null))
            {
                event["session"] = view;
            }
            // Not an `update`: WebSocket subscriptions pass it to everyone (contract §4).
            (event, None)
        }
        Delta::SessionAdded { session } => {
            let mut event = update("addDir", session, None);
            if let Some(view) = session_view(session) {
                event["session"] = view;
            }
            (event, Some(session.clone()))
        }
        // Contract §6: the team, plan or session named; clients re-read what they show of it.
        Delta::TeamUpdate { team } => (json!({"type": "team-update", "team": team}), None),
        Delta::PlanUpdate { slug } => (json!({"type": "plan-update", "slug": slug}), None),
        // Extension: a session's TodoWrite items changed (`GET /api/sessions/:id/todos`).
        // Not an `update`: WebSocket subscriptions pass it to everyone (contract §4).
        Delta::Todos { session } => (json!({"type": "todos-update", "sessionId": session}), None),
        Delta::SessionRemoved { session } => {
            (update("unlinkDir", session, None), Some(session.clone()))
        }
        Delta::Task {
            session,
            file,
            event,
        } => {
            let kind = match event {
                FileEvent::Add => "add",
                FileEvent::Change => "change",
                FileEvent::Unlink => "unlink",
            };
            let mut value = update(kind, session, Some(file));
            if *event != FileEvent::Unlink
                && let Some(record) = index.task(session, file)
            {
                let view = TaskView {
                    record,
                    owner: None,
                };
                value["task"] = serde_json::to_value(view).unwrap_or(Value::Null);
            }
            if let Some(view) = session_view(session) {
                value["session"] = view;
            }
            (value, Some(session.clone()))
        }
    }
}

fn update(kind: &str, session: &str, file: Option<&str>) -> Value {
    json!({"type": "update", "event": kind, "sessionId": session, "file": file})
}
