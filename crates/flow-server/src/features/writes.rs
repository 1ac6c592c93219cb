//! The writes of `/api/features…` that shape the queue: create (one or a batch), patch,
//! delete, dependency edges, reorder. Each awaits one store write; the store has announced
//! the events by the time it answers.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use flow_db::{BulkItem, FeaturePatch, FeatureStatus, NewFeature, Step};
use serde_json::{Value, json};

use super::input::{
    BulkBody, CreateBody, DeleteQuery, PatchBody, ReorderBody, body, feature_id, if_match,
};
use super::reads::one;
use super::{FeatureView, require};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;

pub(crate) async fn create(
    State(app): State<AppState>,
    ApiJson(value): ApiJson<Value>,
) -> Result<Response, ApiError> {
    let features = require(&app.features)?;
    let new: NewFeature = body::<CreateBody>(value)?.into();
    let created = features.store.create(new, features.now()).await?;
    one(features, created.id, StatusCode::CREATED)
}

pub(crate) async fn create_bulk(
    State(app): State<AppState>,
    ApiJson(value): ApiJson<Value>,
) -> Result<Response, ApiError> {
    let features = require(&app.features)?;
    let bulk: BulkBody = body(value)?;
    if bulk.features.len() > flow_db::MAX_BULK {
        return Err(ApiError::FeatureInput {
            code: "validation_failed",
            message: format!("At most {} features per batch", flow_db::MAX_BULK),
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
    let created = features.store.create_bulk(items, features.now()).await?;
    let graph = features.store.snapshot();
    let view = FeatureView::new(&graph);
    let rendered: Vec<Value> = created
        .iter()
        .filter_map(|f| graph.get(f.id))
        .map(|f| view.render(f))
        .collect();
    Ok((StatusCode::CREATED, Json(json!({"features": rendered}))).into_response())
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
    features
        .store
        .update(id, patch, expected, features.now())
        .await?;
    one(features, id, StatusCode::OK)
}

pub(crate) async fn delete(
    State(app): State<AppState>,
    ApiPath(raw): ApiPath<String>,
    ApiQuery(q): ApiQuery<DeleteQuery>,
) -> Result<Response, ApiError> {
    let features = require(&app.features)?;
    let id = feature_id(&raw)?;
    features.store.delete(id, q.detach, features.now()).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub(crate) async fn add_dependency(
    State(app): State<AppState>,
    ApiPath((raw, dep)): ApiPath<(String, String)>,
) -> Result<Response, ApiError> {
    let features = require(&app.features)?;
    let (id, dep) = (feature_id(&raw)?, feature_id(&dep)?);
    features
        .store
        .add_dependency(id, dep, features.now())
        .await?;
    one(features, id, StatusCode::OK)
}

pub(crate) async fn remove_dependency(
    State(app): State<AppState>,
    ApiPath((raw, dep)): ApiPath<(String, String)>,
) -> Result<Response, ApiError> {
    let features = require(&app.features)?;
    let (id, dep) = (feature_id(&raw)?, feature_id(&dep)?);
    features
        .store
        .remove_dependency(id, dep, features.now())
        .await?;
    one(features, id, StatusCode::OK)
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
    features
        .store
        .reorder(b.id, b.before, b.after, features.now())
        .await?;
    let order = features.store.snapshot().plan().order().to_vec();
    Ok(Json(json!({"success": true, "order": order})))
}
