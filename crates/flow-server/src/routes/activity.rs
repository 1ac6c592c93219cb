//! `GET /api/activity` and `GET /api/sessions/:id/agents` (contract §6): every session the
//! board knows, including those that keep no task list, and a session's subagents.

use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use flow_core::SessionId;
use flow_core::time::rfc3339_millis;
use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::extract::{ApiPath, ApiQuery};
use crate::state::AppState;
use crate::views::ActivityView;

/// The default window of `/api/activity`, in hours.
const DEFAULT_HOURS: u64 = 48;
/// Windows longer than this are `all` anyway (and keep the arithmetic far from overflow).
const MAX_HOURS: u64 = 24 * 365 * 100;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ActivityQuery {
    since: Option<String>,
}

impl ActivityQuery {
    /// `None` means every session (`since=all`).
    fn hours(&self) -> Result<Option<u64>, ApiError> {
        match self.since.as_deref() {
            None => Ok(Some(DEFAULT_HOURS)),
            Some("all") => Ok(None),
            Some(raw) => match raw.parse::<u64>() {
                Ok(n) if n > 0 => Ok(Some(n.min(MAX_HOURS))),
                _ => Err(ApiError::BadRequest(format!(
                    "Invalid since `{raw}`: expected a positive number of hours or `all`"
                ))),
            },
        }
    }
}

pub(crate) async fn list_activity(
    State(app): State<AppState>,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<ActivityQuery>,
) -> Result<Response, ApiError> {
    let hours = query.hours()?;
    let now = app.config.clock.now();
    let since = hours.map(|h| now - Duration::from_secs(h * 3600));
    // The window slides with time: answers are cached per minute as well as per generation.
    let minute = flow_core::time::epoch_ms(now) / 60_000;
    let key = format!("activity?{hours:?}@{minute}");
    let team = app.team.clone();
    let key = crate::team::cache_key(team.as_deref(), key);
    crate::cache::respond(&app, &headers, key, |index| {
        let views: Vec<ActivityView<'_>> = index
            .activity(since)
            .into_iter()
            .map(ActivityView::from)
            .collect();
        let Some(board) = team else {
            return serde_json::to_vec(&views).map_err(|e| ApiError::Internal(e.to_string()));
        };
        // Contract §7: other machines' sessions too (what they published: those with a task
        // list), newest first with this machine's.
        let mut all = board.local(views);
        let since_text = since.map(rfc3339_millis);
        all.extend(
            crate::team::remote_sessions(&board.remote())
                .into_iter()
                .filter(|s| {
                    since_text.as_deref().is_none_or(|since| {
                        s["lastActivityAt"]
                            .as_str()
                            .or(s["modifiedAt"].as_str())
                            .is_some_and(|at| at >= since)
                    })
                })
                .map(|mut s| {
                    s["hasTaskList"] = serde_json::json!(true);
                    s
                }),
        );
        let at = |v: &serde_json::Value| {
            v["lastActivityAt"]
                .as_str()
                .or(v["modifiedAt"].as_str())
                .unwrap_or("")
                .to_owned()
        };
        all.sort_by_key(|v| std::cmp::Reverse(at(v)));
        serde_json::to_vec(&all).map_err(|e| ApiError::Internal(e.to_string()))
    })
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct AgentView<'a> {
    agent_id: &'a str,
    agent_type: Option<&'a str>,
    description: Option<&'a str>,
    started_at: Option<String>,
    last_activity_at: String,
    running: bool,
}

pub(crate) async fn list_agents(
    State(app): State<AppState>,
    headers: HeaderMap,
    ApiPath(id): ApiPath<SessionId>,
) -> Result<Response, ApiError> {
    crate::cache::respond(&app, &headers, format!("agents/{id}"), |index| {
        if !index.knows_session(id.as_str()) {
            return Err(ApiError::SessionNotFound);
        }
        let views: Vec<AgentView<'_>> = index
            .subagents(id.as_str())
            .into_iter()
            .map(|a| AgentView {
                agent_id: &a.agent_id,
                agent_type: a.agent_type.as_deref(),
                description: a.description.as_deref(),
                started_at: a
                    .started_at
                    .as_deref()
                    .and_then(flow_core::time::normalize_rfc3339),
                last_activity_at: rfc3339_millis(a.last_activity),
                running: a.running,
            })
            .collect();
        serde_json::to_vec(&views).map_err(|e| ApiError::Internal(e.to_string()))
    })
}
