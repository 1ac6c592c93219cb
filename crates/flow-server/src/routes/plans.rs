//! `GET /api/plans` and `GET /api/plans/:slug` (contract §6): the plans Claude Code wrote, with
//! the sessions whose slug they carry. The Markdown is served as stored text inside JSON; Flow
//! never renders it (the board renders it with `textContent` only).

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use flow_core::Slug;
use flow_core::index::PlanSummary;
use flow_core::time::rfc3339_millis;
use serde::Serialize;

use crate::error::ApiError;
use crate::extract::ApiPath;
use crate::state::AppState;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct PlanView<'a> {
    slug: &'a str,
    title: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    markdown: Option<&'a str>,
    modified_at: String,
    session_ids: Vec<&'a str>,
}

impl<'a> PlanView<'a> {
    fn new(p: PlanSummary<'a>, with_text: bool) -> Self {
        Self {
            slug: p.slug,
            title: p.title,
            markdown: with_text.then_some(p.markdown),
            modified_at: rfc3339_millis(p.modified_at),
            session_ids: p.session_ids,
        }
    }
}

pub(crate) async fn list_plans(
    State(app): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    crate::cache::respond(&app, &headers, "plans".into(), |index| {
        let views: Vec<PlanView<'_>> = index
            .plans()
            .into_iter()
            .map(|p| PlanView::new(p, false))
            .collect();
        serde_json::to_vec(&views).map_err(|e| ApiError::Internal(e.to_string()))
    })
}

pub(crate) async fn get_plan(
    State(app): State<AppState>,
    headers: HeaderMap,
    ApiPath(slug): ApiPath<Slug>,
) -> Result<Response, ApiError> {
    crate::cache::respond(&app, &headers, format!("plan/{slug}"), |index| {
        let plan = index.plan(slug.as_str()).ok_or(ApiError::PlanNotFound)?;
        serde_json::to_vec(&PlanView::new(plan, true))
            .map_err(|e| ApiError::Internal(e.to_string()))
    })
}
