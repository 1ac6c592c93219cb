//! The reads of `/api/features…`: list, stats, ready, graph and one feature. All of them
//! render the store's current snapshot; none touches the database.

use std::sync::Arc;

use axum::body::Bytes;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use flow_db::{Feature, FeatureStatus, Graph, StoreError};
use serde::Deserialize;
use serde_json::{Value, json};

use super::input::feature_id;
use super::{FeatureView, Features, require};
use crate::error::ApiError;
use crate::extract::{ApiPath, ApiQuery};
use crate::state::AppState;

/// The single-feature answer: the feature with `rootBlockers`/`wouldUnblock` and its ETag.
pub(super) fn one(
    features: &Arc<Features>,
    id: i64,
    status: StatusCode,
) -> Result<Response, ApiError> {
    let graph = features.store.snapshot();
    let feature = graph.get(id).ok_or(StoreError::NotFound(id))?;
    let view = FeatureView::new(&graph).render_one(feature);
    let etag = HeaderValue::from_str(&format!("\"{}\"", feature.version))
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let mut res = (status, [(header::ETAG, etag)], Json(view)).into_response();
    if status == StatusCode::CREATED
        && let Ok(loc) = HeaderValue::from_str(&format!("/api/features/{id}"))
    {
        res.headers_mut().insert(header::LOCATION, loc);
    }
    Ok(res)
}

pub(crate) async fn get_one(
    State(app): State<AppState>,
    ApiPath(raw): ApiPath<String>,
) -> Result<Response, ApiError> {
    let features = require(&app.features)?;
    one(features, feature_id(&raw)?, StatusCode::OK)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListQuery {
    project: Option<String>,
    status: Option<String>,
    category: Option<String>,
}

fn counts(graph: &Graph) -> Value {
    let mut c = serde_json::Map::new();
    for key in [
        "pending",
        "ready",
        "blocked",
        "in_progress",
        "review",
        "needs_input",
        "done",
        "cancelled",
    ] {
        c.insert(key.to_owned(), json!(0));
    }
    let plan = graph.plan();
    for f in graph.features() {
        let status = f.status.as_str();
        c[status] = json!(c[status].as_i64().unwrap_or(0) + 1);
        if let Some(state @ ("ready" | "blocked")) = plan.node(&f.id).map(|n| n.state.as_str()) {
            c[state] = json!(c[state].as_i64().unwrap_or(0) + 1);
        }
    }
    c.insert("total".to_owned(), json!(graph.len()));
    Value::Object(c)
}

/// The features `keep` selects, in dependency order, with the cycles and the counts: the
/// list body, assembled from each feature's cached bytes.
fn render_list(features: &Features, graph: &Graph, keep: impl Fn(&Feature) -> bool) -> Bytes {
    let view = FeatureView::new(graph);
    let plan = graph.plan();
    let mut out = Vec::with_capacity(graph.len() * 480 + 256);
    out.extend_from_slice(b"{\"features\":[");
    {
        let mut cache = features.feature_bytes();
        cache.retain(graph);
        let mut first = true;
        for f in plan.order().iter().filter_map(|&id| graph.get(id)) {
            if !keep(f) {
                continue;
            }
            if !first {
                out.push(b',');
            }
            first = false;
            out.extend_from_slice(&view.bytes(f, &mut cache));
        }
    }
    out.extend_from_slice(b"],\"cycles\":");
    let _ = serde_json::to_writer(&mut out, plan.cycles());
    out.extend_from_slice(b",\"counts\":");
    let _ = serde_json::to_writer(&mut out, &counts(graph));
    out.push(b'}');
    Bytes::from(out)
}

pub(crate) async fn list(
    State(app): State<AppState>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Response, ApiError> {
    let features = require(&app.features)?;
    let statuses: Option<Vec<FeatureStatus>> = q
        .status
        .as_deref()
        .map(|raw| {
            raw.split(',')
                .map(|s| {
                    FeatureStatus::parse(s.trim())
                        .ok_or_else(|| ApiError::BadRequest(format!("Invalid status filter `{s}`")))
                })
                .collect()
        })
        .transpose()?;
    let graph = features.store.snapshot();
    let json = [(header::CONTENT_TYPE, "application/json")];
    if q.project.is_none() && q.category.is_none() && statuses.is_none() {
        let bytes = features.cached_list(graph.generation(), || {
            render_list(features, &graph, |_| true)
        });
        return Ok((json, bytes).into_response());
    }
    let keep = |f: &Feature| {
        q.project.as_ref().is_none_or(|p| &f.project == p)
            && q.category.as_ref().is_none_or(|c| &f.category == c)
            && statuses.as_ref().is_none_or(|s| s.contains(&f.status))
    };
    Ok((json, render_list(features, &graph, keep)).into_response())
}

pub(crate) async fn stats(State(app): State<AppState>) -> Result<Json<Value>, ApiError> {
    let features = require(&app.features)?;
    Ok(Json(counts(&features.store.snapshot())))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReadyQuery {
    limit: Option<usize>,
}

pub(crate) async fn ready(
    State(app): State<AppState>,
    ApiQuery(q): ApiQuery<ReadyQuery>,
) -> Result<Json<Value>, ApiError> {
    let features = require(&app.features)?;
    let graph = features.store.snapshot();
    let plan = graph.plan();
    let view = FeatureView::new(&graph);
    let now = features.now();
    let unclaimed =
        |f: &&Feature| f.claimed_by.is_none() || f.lease_expires_at.is_some_and(|t| t <= now);
    let rendered: Vec<Value> = plan
        .ready()
        .iter()
        .filter_map(|&id| graph.get(id))
        .filter(unclaimed)
        .take(q.limit.unwrap_or(usize::MAX))
        .map(|f| view.render(f))
        .collect();
    let empty = rendered.is_empty();
    let mut res = json!({"features": rendered});
    if empty {
        let reason = if graph.is_empty() {
            "empty"
        } else if graph
            .features()
            .all(|f| matches!(f.status, FeatureStatus::Done | FeatureStatus::Cancelled))
        {
            "all_done"
        } else if !plan.ready().is_empty() {
            "all_claimed"
        } else {
            "all_blocked"
        };
        res["reason"] = json!(reason);
    }
    Ok(Json(res))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct GraphQuery {
    format: Option<String>,
}

pub(crate) async fn graph(
    State(app): State<AppState>,
    ApiQuery(q): ApiQuery<GraphQuery>,
) -> Result<Response, ApiError> {
    let features = require(&app.features)?;
    let graph = features.store.snapshot();
    let plan = graph.plan();
    let state = |id: i64| plan.node(&id).map_or("ready", |n| n.state.as_str());
    match q.format.as_deref().unwrap_or("json") {
        "json" => {
            let nodes: Vec<Value> = plan
                .order()
                .iter()
                .filter_map(|&id| graph.get(id))
                .map(|f| {
                    let n = plan.node(&f.id);
                    json!({"id": f.id, "name": f.name, "state": state(f.id), "priority": f.priority,
                       "layer": n.map_or(0, |n| n.layer), "inCycle": n.is_some_and(|n| n.in_cycle)})
                })
                .collect();
            let edges: Vec<Value> = graph
                .features()
                .flat_map(|f| {
                    f.dependencies
                        .iter()
                        .map(move |d| json!({"source": d, "target": f.id}))
                })
                .collect();
            Ok(
                Json(json!({"nodes": nodes, "edges": edges, "cycles": plan.cycles()}))
                    .into_response(),
            )
        }
        "mermaid" => {
            let mut out = String::from("graph TD\n");
            for f in graph.features() {
                out.push_str(&format!(
                    "  f{}[\"#{} {}\"]:::{}\n",
                    f.id,
                    f.id,
                    f.name.replace('"', "'"),
                    state(f.id)
                ));
            }
            for f in graph.features() {
                for d in &f.dependencies {
                    out.push_str(&format!("  f{d} --> f{}\n", f.id));
                }
            }
            Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], out).into_response())
        }
        "dot" => {
            let mut out = String::from("digraph features {\n  rankdir=LR;\n");
            for f in graph.features() {
                let label = format!("#{} {}", f.id, f.name)
                    .replace('\\', "\\\\")
                    .replace('"', "\\\"");
                out.push_str(&format!(
                    "  f{} [label=\"{label}\", class=\"{}\"];\n",
                    f.id,
                    state(f.id)
                ));
            }
            for f in graph.features() {
                for d in &f.dependencies {
                    out.push_str(&format!("  f{d} -> f{};\n", f.id));
                }
            }
            out.push_str("}\n");
            Ok((
                [(header::CONTENT_TYPE, "text/vnd.graphviz; charset=utf-8")],
                out,
            )
                .into_response())
        }
        other => Err(ApiError::BadRequest(format!(
            "Unknown graph format `{other}`: expected json, mermaid or dot"
        ))),
    }
}
