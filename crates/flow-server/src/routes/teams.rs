//! `GET /api/teams` and `GET /api/teams/:team/messages` (contract §6): agent teams with each
//! member's state and current task, and their inbox messages oldest first. Answered from the
//! index (no disk access), cached per index generation; member states age (a member with no
//! evidence in 24 h and no live lead is stopped), so the team list is also keyed by minute.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use flow_core::TeamName;
use flow_core::index::{MemberSummary, TeamMessage, TeamSummary};
use flow_core::time::rfc3339_from_ms;
use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::extract::{ApiPath, ApiQuery};
use crate::state::AppState;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TeamView<'a> {
    pub(crate) name: &'a str,
    description: Option<&'a str>,
    created_at: Option<String>,
    lead_session_id: Option<&'a str>,
    project: Option<&'a str>,
    task_list_id: Option<&'a str>,
    members: Vec<MemberView<'a>>,
    completed: usize,
    in_progress: usize,
    pending: usize,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct MemberView<'a> {
    name: &'a str,
    /// Extension: `name@team`.
    agent_id: Option<&'a str>,
    agent_type: Option<&'a str>,
    model: Option<&'a str>,
    color: Option<&'a str>,
    /// Extension: whether this is the team's lead.
    lead: bool,
    state: &'static str,
    current_task: Option<String>,
}

impl<'a> From<TeamSummary<'a>> for TeamView<'a> {
    fn from(t: TeamSummary<'a>) -> Self {
        Self {
            name: t.name,
            description: t.config.description.as_deref(),
            created_at: t.config.created_at.map(rfc3339_from_ms),
            lead_session_id: t.config.lead_session_id.as_deref(),
            project: t.config.project(),
            task_list_id: t.task_list,
            members: t.members.into_iter().map(MemberView::from).collect(),
            completed: t.counts.completed,
            in_progress: t.counts.in_progress,
            pending: t.counts.pending,
        }
    }
}

impl<'a> From<MemberSummary<'a>> for MemberView<'a> {
    fn from(m: MemberSummary<'a>) -> Self {
        Self {
            name: &m.member.name,
            agent_id: m.member.agent_id.as_deref(),
            agent_type: m.member.agent_type.as_deref(),
            model: m.member.model.as_deref(),
            color: m.member.color.as_deref(),
            lead: m.lead,
            state: m.state.as_str(),
            current_task: m.current_task,
        }
    }
}

pub(crate) async fn list_teams(
    State(app): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let now = app.config.clock.now();
    let minute = flow_core::time::epoch_ms(now) / 60_000;
    let team = app.team.clone();
    let key = crate::team::cache_key(team.as_deref(), format!("teams@{minute}"));
    crate::cache::respond(&app, &headers, key, |index| {
        let views: Vec<TeamView<'_>> = index.teams(now).into_iter().map(TeamView::from).collect();
        let Some(board) = team else {
            return serde_json::to_vec(&views).map_err(|e| ApiError::Internal(e.to_string()));
        };
        // Contract §7: other machines' teams too, under board names, with their machine.
        let mut all = board.local(views);
        all.extend(crate::team::remote_teams(&board.remote()));
        serde_json::to_vec(&all).map_err(|e| ApiError::Internal(e.to_string()))
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MessagesQuery {
    limit: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct MessageView<'a> {
    from: Option<&'a str>,
    to: &'a str,
    text: &'a str,
    summary: Option<&'a str>,
    timestamp: Option<String>,
    read: bool,
    /// Extension: the protocol type of a JSON-encoded `text` (`idle_notification`,
    /// `shutdown_request`, …), else `message`.
    kind: &'a str,
}

impl<'a> From<TeamMessage<'a>> for MessageView<'a> {
    fn from(m: TeamMessage<'a>) -> Self {
        let msg = m.message;
        Self {
            from: msg.from.as_deref(),
            to: m.to,
            text: &msg.text,
            summary: msg.summary.as_deref(),
            timestamp: msg.timestamp.as_deref().map(|raw| {
                flow_core::time::normalize_rfc3339(raw).unwrap_or_else(|| raw.to_owned())
            }),
            read: msg.read,
            kind: msg.kind.as_deref().unwrap_or("message"),
        }
    }
}

pub(crate) async fn list_messages(
    State(app): State<AppState>,
    headers: HeaderMap,
    ApiPath(team): ApiPath<TeamName>,
    ApiQuery(query): ApiQuery<MessagesQuery>,
) -> Result<Response, ApiError> {
    let limit = match query.limit.as_deref() {
        None => usize::MAX,
        Some(raw) => raw
            .parse::<usize>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| {
                ApiError::BadRequest(format!(
                    "Invalid limit `{raw}`: expected a positive integer"
                ))
            })?,
    };
    let key = format!("team-messages/{team}?{limit}");
    crate::cache::respond(&app, &headers, key, |index| {
        let all = index
            .team_messages(team.as_str())
            .ok_or(ApiError::TeamNotFound)?;
        let skip = all.len().saturating_sub(limit);
        let views: Vec<MessageView<'_>> =
            all.into_iter().skip(skip).map(MessageView::from).collect();
        serde_json::to_vec(&views).map_err(|e| ApiError::Internal(e.to_string()))
    })
}
