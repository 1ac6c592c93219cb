//! `/api/features…` handlers (contract §5). Each one extracts, runs one store call on the
//! blocking pool, publishes the resulting events, and renders features against a fresh plan.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use flow_db::{
    BulkItem, Changed, Feature, FeaturePatch, FeatureStatus, NewFeature, Step, StoreError,
};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::{FeatureView, Features, find, require, resolve_all};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;

const DEFAULT_LEASE_SECS: i64 = 900;

/// Runs a store call on the blocking pool.
async fn blocking<T: Send + 'static>(
    features: &Arc<Features>,
    op: impl FnOnce(&Features) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, ApiError> {
    let features = features.clone();
    tokio::task::spawn_blocking(move || op(&features))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(ApiError::Store)
}

/// Parses a JSON body into `T`, with the contract's codes: unknown fields are
/// `unknown_field`, anything else that does not fit is `validation_failed`.
fn body<T: DeserializeOwned>(value: Value) -> Result<T, ApiError> {
    serde_json::from_value(value).map_err(|e| {
        let msg = e.to_string();
        let code = if msg.contains("unknown field") {
            "unknown_field"
        } else {
            "validation_failed"
        };
        ApiError::FeatureInput { code, message: msg }
    })
}

fn feature_id(raw: &str) -> Result<i64, ApiError> {
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or(ApiError::FeatureInput {
            code: "invalid_id",
            message: format!("Invalid feature id `{raw}`: expected a positive integer"),
        })
}

/// The single-feature answer: the feature with `rootBlockers`/`wouldUnblock` and its ETag.
async fn one(features: &Arc<Features>, id: i64, status: StatusCode) -> Result<Response, ApiError> {
    let all = blocking(features, |f| f.store.list()).await?;
    let feature = find(&all, id).ok_or(ApiError::Store(StoreError::NotFound(id)))?;
    let plan = resolve_all(&all);
    let view = FeatureView::new(&all, &plan).render_one(feature);
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

/// Announces a committed change (it reads the store, so it runs on the blocking pool).
async fn publish(app: &AppState, features: &Arc<Features>, added: Vec<i64>, changed: &Changed) {
    let (features, hub) = (features.clone(), app.hub_arc());
    let changed_ids: Vec<i64> = changed.features.iter().map(|f| f.id).collect();
    let deleted = changed.deleted.clone();
    let res = tokio::task::spawn_blocking(move || {
        features.publish(&hub, &added, &changed_ids, &deleted);
    })
    .await;
    crate::supervisor::log_join_error("announcing feature changes", res);
}

// ----- list, stats, graph, ready -----------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListQuery {
    project: Option<String>,
    status: Option<String>,
    category: Option<String>,
}

fn counts(all: &[Feature], plan: &flow_resolver::Plan<i64>) -> Value {
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
    for f in all {
        let status = f.status.as_str();
        c[status] = json!(c[status].as_i64().unwrap_or(0) + 1);
        if let Some(state @ ("ready" | "blocked")) = plan.node(&f.id).map(|n| n.state.as_str()) {
            c[state] = json!(c[state].as_i64().unwrap_or(0) + 1);
        }
    }
    c.insert("total".to_owned(), json!(all.len()));
    Value::Object(c)
}

pub(crate) async fn list(
    State(app): State<AppState>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<Value>, ApiError> {
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
    let all = blocking(features, |f| f.store.list()).await?;
    let plan = resolve_all(&all);
    let view = FeatureView::new(&all, &plan);
    let keep = |f: &Feature| {
        q.project.as_ref().is_none_or(|p| &f.project == p)
            && q.category.as_ref().is_none_or(|c| &f.category == c)
            && statuses.as_ref().is_none_or(|s| s.contains(&f.status))
    };
    let rendered: Vec<Value> = plan
        .order()
        .iter()
        .filter_map(|id| find(&all, *id))
        .filter(|f| keep(f))
        .map(|f| view.render(f))
        .collect();
    Ok(Json(
        json!({"features": rendered, "cycles": plan.cycles(), "counts": counts(&all, &plan)}),
    ))
}

pub(crate) async fn stats(State(app): State<AppState>) -> Result<Json<Value>, ApiError> {
    let features = require(&app.features)?;
    let all = blocking(features, |f| f.store.list()).await?;
    let plan = resolve_all(&all);
    Ok(Json(counts(&all, &plan)))
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
    let all = blocking(features, |f| f.store.list()).await?;
    let plan = resolve_all(&all);
    let view = FeatureView::new(&all, &plan);
    let now = features.clock.now_ms();
    let unclaimed =
        |f: &&Feature| f.claimed_by.is_none() || f.lease_expires_at.is_some_and(|t| t <= now);
    let ready: Vec<&Feature> = plan
        .ready()
        .iter()
        .filter_map(|id| find(&all, *id))
        .filter(unclaimed)
        .collect();
    let limit = q.limit.unwrap_or(usize::MAX);
    let rendered: Vec<Value> = ready.iter().take(limit).map(|f| view.render(f)).collect();
    let mut res = json!({"features": rendered});
    if rendered_is_empty(&res) {
        let reason = if all.is_empty() {
            "empty"
        } else if all
            .iter()
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

fn rendered_is_empty(v: &Value) -> bool {
    v["features"].as_array().is_none_or(Vec::is_empty)
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
    let all = blocking(features, |f| f.store.list()).await?;
    let plan = resolve_all(&all);
    let state = |id: i64| plan.node(&id).map_or("ready", |n| n.state.as_str());
    match q.format.as_deref().unwrap_or("json") {
        "json" => {
            let nodes: Vec<Value> = plan
                .order()
                .iter()
                .filter_map(|id| find(&all, *id))
                .map(|f| {
                    let n = plan.node(&f.id);
                    json!({"id": f.id, "name": f.name, "state": state(f.id), "priority": f.priority,
                       "layer": n.map_or(0, |n| n.layer), "inCycle": n.is_some_and(|n| n.in_cycle)})
                })
                .collect();
            let edges: Vec<Value> = all
                .iter()
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
            for f in &all {
                out.push_str(&format!(
                    "  f{}[\"#{} {}\"]:::{}\n",
                    f.id,
                    f.id,
                    f.name.replace('"', "'"),
                    state(f.id)
                ));
            }
            for f in &all {
                for d in &f.dependencies {
                    out.push_str(&format!("  f{d} --> f{}\n", f.id));
                }
            }
            Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], out).into_response())
        }
        "dot" => {
            let mut out = String::from("digraph features {\n  rankdir=LR;\n");
            for f in &all {
                let label = format!("#{} {}", f.id, f.name)
                    .replace('\\', "\\\\")
                    .replace('"', "\\\"");
                out.push_str(&format!(
                    "  f{} [label=\"{label}\", class=\"{}\"];\n",
                    f.id,
                    state(f.id)
                ));
            }
            for f in &all {
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

// ----- create, read, update, delete ---------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum StepIn {
    Text(String),
    Full {
        text: String,
        #[serde(default)]
        done: bool,
    },
}

impl From<StepIn> for Step {
    fn from(s: StepIn) -> Self {
        match s {
            StepIn::Text(text) => Step { text, done: false },
            StepIn::Full { text, done } => Step { text, done },
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct CreateBody {
    name: String,
    #[serde(default)]
    project: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    steps: Vec<StepIn>,
    priority: Option<i64>,
    #[serde(default)]
    dependencies: Vec<i64>,
}

impl From<CreateBody> for NewFeature {
    fn from(b: CreateBody) -> Self {
        NewFeature {
            project: b.project,
            name: b.name,
            description: b.description,
            category: b.category,
            steps: b.steps.into_iter().map(Step::from).collect(),
            priority: b.priority,
            dependencies: b.dependencies,
        }
    }
}

pub(crate) async fn create(
    State(app): State<AppState>,
    ApiJson(value): ApiJson<Value>,
) -> Result<Response, ApiError> {
    let features = require(&app.features)?;
    let new: NewFeature = body::<CreateBody>(value)?.into();
    let created = blocking(features, move |f| f.store.create(new, f.clock.now_ms())).await?;
    publish(
        &app,
        features,
        vec![created.id],
        &Changed {
            features: vec![],
            deleted: vec![],
        },
    )
    .await;
    one(features, created.id, StatusCode::CREATED).await
}

/// `ref`/`dependsOnRefs` are the batch's own; everything else is a feature, checked (unknown
/// fields included) when it is parsed as one. (serde cannot deny unknown fields with flatten.)
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BulkEntry {
    #[serde(rename = "ref")]
    ref_name: Option<String>,
    #[serde(default)]
    depends_on_refs: Vec<String>,
    #[serde(flatten)]
    feature: Value,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct BulkBody {
    features: Vec<BulkEntry>,
}

pub(crate) async fn create_bulk(
    State(app): State<AppState>,
    ApiJson(value): ApiJson<Value>,
) -> Result<Response, ApiError> {
    let features = require(&app.features)?;
    let bulk: BulkBody = body(value)?;
    if bulk.features.len() > 1000 {
        return Err(ApiError::FeatureInput {
            code: "validation_failed",
            message: "At most 1000 features per batch".into(),
        });
    }
    let mut items = Vec::with_capacity(bulk.features.len());
    let mut errors = Vec::new();
    for (i, entry) in bulk.features.into_iter().enumerate() {
        match body::<CreateBody>(entry.feature) {
            Ok(b) => items.push(BulkItem {
                feature: b.into(),
                ref_name: entry.ref_name,
                depends_on_refs: entry.depends_on_refs,
            }),
            Err(e) => errors.push(json!({"index": i, "error": e.to_string()})),
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::FeatureBatch(errors));
    }
    let created = blocking(features, move |f| {
        f.store.create_bulk(items, f.clock.now_ms())
    })
    .await?;
    let ids: Vec<i64> = created.iter().map(|f| f.id).collect();
    publish(
        &app,
        features,
        ids.clone(),
        &Changed {
            features: vec![],
            deleted: vec![],
        },
    )
    .await;
    let all = blocking(features, |f| f.store.list()).await?;
    let plan = resolve_all(&all);
    let view = FeatureView::new(&all, &plan);
    let rendered: Vec<Value> = ids
        .iter()
        .filter_map(|id| find(&all, *id))
        .map(|f| view.render(f))
        .collect();
    Ok((StatusCode::CREATED, Json(json!({"features": rendered}))).into_response())
}

pub(crate) async fn get_one(
    State(app): State<AppState>,
    ApiPath(raw): ApiPath<String>,
) -> Result<Response, ApiError> {
    let features = require(&app.features)?;
    one(features, feature_id(&raw)?, StatusCode::OK).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct PatchBody {
    name: Option<String>,
    project: Option<String>,
    description: Option<String>,
    category: Option<String>,
    steps: Option<Vec<StepIn>>,
    status: Option<String>,
    priority: Option<i64>,
    dependencies: Option<Vec<i64>>,
    #[serde(default)]
    force: bool,
}

fn if_match(headers: &HeaderMap) -> Result<Option<i64>, ApiError> {
    let Some(raw) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    let raw = raw
        .to_str()
        .unwrap_or("")
        .trim()
        .trim_start_matches("W/")
        .trim_matches('"');
    raw.parse()
        .map(Some)
        .map_err(|_| ApiError::BadRequest(format!("Invalid If-Match `{raw}`")))
}

pub(crate) async fn update(
    State(app): State<AppState>,
    headers: HeaderMap,
    ApiPath(raw): ApiPath<String>,
    ApiJson(value): ApiJson<Value>,
) -> Result<Response, ApiError> {
    let features = require(&app.features)?;
    let id = feature_id(&raw)?;
    let b: PatchBody = body(value)?;
    let status = match b.status.as_deref() {
        None => None,
        Some(s) => Some(
            FeatureStatus::parse(s).ok_or_else(|| ApiError::FeatureInput {
                code: "validation_failed",
                message: format!("Invalid status `{s}`"),
            })?,
        ),
    };
    let patch = FeaturePatch {
        name: b.name,
        project: b.project,
        description: b.description,
        category: b.category,
        steps: b.steps.map(|s| s.into_iter().map(Step::from).collect()),
        status,
        priority: b.priority,
        dependencies: b.dependencies,
        force: b.force,
    };
    let expected = if_match(&headers)?;
    let changed = blocking(features, move |f| {
        f.store.update(id, patch, expected, f.clock.now_ms())
    })
    .await?;
    publish(&app, features, vec![], &changed).await;
    one(features, id, StatusCode::OK).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DeleteQuery {
    #[serde(default)]
    detach: bool,
}

pub(crate) async fn delete(
    State(app): State<AppState>,
    ApiPath(raw): ApiPath<String>,
    ApiQuery(q): ApiQuery<DeleteQuery>,
) -> Result<Response, ApiError> {
    let features = require(&app.features)?;
    let id = feature_id(&raw)?;
    let changed = blocking(features, move |f| {
        f.store.delete(id, q.detach, f.clock.now_ms())
    })
    .await?;
    publish(&app, features, vec![], &changed).await;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub(crate) async fn add_dependency(
    State(app): State<AppState>,
    ApiPath((raw, dep)): ApiPath<(String, String)>,
) -> Result<Response, ApiError> {
    let features = require(&app.features)?;
    let (id, dep) = (feature_id(&raw)?, feature_id(&dep)?);
    let changed = blocking(features, move |f| {
        f.store.add_dependency(id, dep, f.clock.now_ms())
    })
    .await?;
    publish(&app, features, vec![], &changed).await;
    one(features, id, StatusCode::OK).await
}

pub(crate) async fn remove_dependency(
    State(app): State<AppState>,
    ApiPath((raw, dep)): ApiPath<(String, String)>,
) -> Result<Response, ApiError> {
    let features = require(&app.features)?;
    let (id, dep) = (feature_id(&raw)?, feature_id(&dep)?);
    let changed = blocking(features, move |f| {
        f.store.remove_dependency(id, dep, f.clock.now_ms())
    })
    .await?;
    publish(&app, features, vec![], &changed).await;
    one(features, id, StatusCode::OK).await
}

// ----- claims --------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct ClaimBody {
    agent: String,
    lease_secs: Option<i64>,
    #[serde(default)]
    force: bool,
}

fn lease_ms(secs: Option<i64>) -> Result<i64, ApiError> {
    let secs = secs.unwrap_or(DEFAULT_LEASE_SECS);
    if !(1..=86_400).contains(&secs) {
        return Err(ApiError::FeatureInput {
            code: "validation_failed",
            message: "leaseSecs must be between 1 and 86400".into(),
        });
    }
    Ok(secs * 1000)
}

fn claim_answer(features_all: &[Feature], claim: &flow_db::Claim) -> Value {
    let plan = resolve_all(features_all);
    let view = FeatureView::new(features_all, &plan);
    let feature = find(features_all, claim.feature.id).map_or(Value::Null, |f| view.render(f));
    let expires = flow_core::time::rfc3339_from_ms(claim.lease_expires_at);
    json!({"feature": feature, "claimToken": claim.token, "leaseExpiresAt": expires})
}

pub(crate) async fn claim_next(
    State(app): State<AppState>,
    ApiJson(value): ApiJson<Value>,
) -> Result<Json<Value>, ApiError> {
    let features = require(&app.features)?;
    let b: ClaimBody = body(value)?;
    if b.agent.trim().is_empty() {
        return Err(ApiError::FeatureInput {
            code: "validation_failed",
            message: "agent is required".into(),
        });
    }
    let lease = lease_ms(b.lease_secs)?;
    let res = blocking(features, move |f| {
        f.store.claim_next(&b.agent, lease, f.clock.now_ms())
    })
    .await?;
    match res {
        Ok(claim) => announce_claim(&app, features, &claim).await,
        Err(reason) => Ok(Json(json!({"feature": null, "reason": reason.as_str()}))),
    }
}

pub(crate) async fn claim_one(
    State(app): State<AppState>,
    ApiPath(raw): ApiPath<String>,
    ApiJson(value): ApiJson<Value>,
) -> Result<Json<Value>, ApiError> {
    let features = require(&app.features)?;
    let id = feature_id(&raw)?;
    let b: ClaimBody = body(value)?;
    let lease = lease_ms(b.lease_secs)?;
    let claim = blocking(features, move |f| {
        f.store
            .claim(id, &b.agent, lease, b.force, f.clock.now_ms())
    })
    .await?;
    announce_claim(&app, features, &claim).await
}

/// A granted claim changes the feature (claimed, in progress): announce it, then answer with
/// the feature as every client now sees it.
async fn announce_claim(
    app: &AppState,
    features: &Arc<Features>,
    claim: &flow_db::Claim,
) -> Result<Json<Value>, ApiError> {
    let changed = Changed {
        features: vec![claim.feature.clone()],
        deleted: vec![],
    };
    publish(app, features, vec![], &changed).await;
    let all = blocking(features, |f| f.store.list()).await?;
    Ok(Json(claim_answer(&all, claim)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct TokenBody {
    claim_token: Option<String>,
    #[serde(alias = "token")]
    token: Option<String>,
    lease_secs: Option<i64>,
    #[serde(default)]
    failed: bool,
    #[serde(default)]
    force: bool,
}

impl TokenBody {
    fn token(&self) -> Option<String> {
        self.claim_token.clone().or_else(|| self.token.clone())
    }
}

/// `complete` may be sent without a body (no token, no force); a body present must be JSON.
fn optional_body(headers: &HeaderMap, bytes: &[u8]) -> Result<TokenBody, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return body(json!({}));
    }
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !is_json {
        return Err(ApiError::UnsupportedMediaType);
    }
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| ApiError::BadRequest(format!("Malformed JSON body: {e}")))?;
    body(value)
}

pub(crate) async fn heartbeat(
    State(app): State<AppState>,
    ApiPath(raw): ApiPath<String>,
    ApiJson(value): ApiJson<Value>,
) -> Result<Json<Value>, ApiError> {
    let features = require(&app.features)?;
    let id = feature_id(&raw)?;
    let b: TokenBody = body(value)?;
    let token = b.token().ok_or(ApiError::Store(StoreError::LeaseLost))?;
    let lease = lease_ms(b.lease_secs)?;
    let claim = blocking(features, move |f| {
        f.store.heartbeat(id, &token, lease, f.clock.now_ms())
    })
    .await?;
    let all = blocking(features, |f| f.store.list()).await?;
    Ok(Json(claim_answer(&all, &claim)))
}

pub(crate) async fn release(
    State(app): State<AppState>,
    ApiPath(raw): ApiPath<String>,
    ApiJson(value): ApiJson<Value>,
) -> Result<Response, ApiError> {
    let features = require(&app.features)?;
    let id = feature_id(&raw)?;
    let b: TokenBody = body(value)?;
    let token = b.token().ok_or(ApiError::Store(StoreError::LeaseLost))?;
    let changed = blocking(features, move |f| {
        f.store.release(id, &token, b.failed, f.clock.now_ms())
    })
    .await?;
    publish(&app, features, vec![], &changed).await;
    one(features, id, StatusCode::OK).await
}

pub(crate) async fn complete(
    State(app): State<AppState>,
    ApiPath(raw): ApiPath<String>,
    headers: HeaderMap,
    bytes: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let features = require(&app.features)?;
    let id = feature_id(&raw)?;
    let b = optional_body(&headers, &bytes)?;
    let token = b.token();
    let (changed, unblocked) = blocking(features, move |f| {
        f.store
            .complete(id, token.as_deref(), b.force, f.clock.now_ms())
    })
    .await?;
    publish(&app, features, vec![], &changed).await;
    let all = blocking(features, |f| f.store.list()).await?;
    let plan = resolve_all(&all);
    let view = FeatureView::new(&all, &plan);
    let feature = find(&all, id).map_or(Value::Null, |f| view.render_one(f));
    Ok(Json(json!({"feature": feature, "unblocked": unblocked})))
}

pub(crate) async fn reopen(
    State(app): State<AppState>,
    ApiPath(raw): ApiPath<String>,
) -> Result<Response, ApiError> {
    let features = require(&app.features)?;
    let id = feature_id(&raw)?;
    let changed = blocking(features, move |f| f.store.reopen(id, f.clock.now_ms())).await?;
    publish(&app, features, vec![], &changed).await;
    one(features, id, StatusCode::OK).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReorderBody {
    id: i64,
    before: Option<i64>,
    after: Option<i64>,
}

pub(crate) async fn reorder(
    State(app): State<AppState>,
    ApiJson(value): ApiJson<Value>,
) -> Result<Json<Value>, ApiError> {
    let features = require(&app.features)?;
    let b: ReorderBody = body(value)?;
    if b.before.is_some() == b.after.is_some() {
        return Err(ApiError::FeatureInput {
            code: "validation_failed",
            message: "Give exactly one of before or after".into(),
        });
    }
    let changed = blocking(features, move |f| {
        f.store.reorder(b.id, b.before, b.after, f.clock.now_ms())
    })
    .await?;
    publish(&app, features, vec![], &changed).await;
    let all = blocking(features, |f| f.store.list()).await?;
    let plan = resolve_all(&all);
    let order: Vec<i64> = plan.order().to_vec();
    Ok(Json(json!({"success": true, "order": order})))
}
