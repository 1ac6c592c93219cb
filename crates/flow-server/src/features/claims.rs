//! The agent side of `/api/features…`: claim (the next ready feature or one by id),
//! heartbeat, release, complete, reopen. A claim is one store write, so it is atomic across
//! every server sharing the database.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use flow_db::{Claim, StoreError};
use serde_json::{Value, json};

use super::input::{ClaimBody, TokenBody, body, feature_id, lease_ms, optional_body};
use super::reads::one;
use super::{FeatureView, Features, require};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath};
use crate::state::AppState;

/// A claim answered with the feature as every client now sees it.
fn claim_answer(features: &Features, claim: &Claim) -> Value {
    let graph = features.store.snapshot();
    let feature = graph
        .get(claim.feature.id)
        .map_or(Value::Null, |f| FeatureView::new(&graph).render(f));
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
    match features
        .store
        .claim_next(&b.agent, lease, features.now())
        .await?
    {
        Ok(claim) => Ok(Json(claim_answer(features, &claim))),
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
    let claim = features
        .store
        .claim(id, &b.agent, lease, b.force, features.now())
        .await?;
    Ok(Json(claim_answer(features, &claim)))
}

pub(crate) async fn heartbeat(
    State(app): State<AppState>,
    ApiPath(raw): ApiPath<String>,
    ApiJson(value): ApiJson<Value>,
) -> Result<Json<Value>, ApiError> {
    let features = require(&app.features)?;
    let id = feature_id(&raw)?;
    let b: TokenBody = body(value)?;
    let token = b.token().ok_or(StoreError::LeaseLost)?;
    let lease = lease_ms(b.lease_secs)?;
    let claim = features
        .store
        .heartbeat(id, &token, lease, features.now())
        .await?;
    Ok(Json(claim_answer(features, &claim)))
}

pub(crate) async fn release(
    State(app): State<AppState>,
    ApiPath(raw): ApiPath<String>,
    ApiJson(value): ApiJson<Value>,
) -> Result<Response, ApiError> {
    let features = require(&app.features)?;
    let id = feature_id(&raw)?;
    let b: TokenBody = body(value)?;
    let token = b.token().ok_or(StoreError::LeaseLost)?;
    features
        .store
        .release(id, &token, b.failed, features.now())
        .await?;
    one(features, id, StatusCode::OK)
}

pub(crate) async fn complete(
    State(app): State<AppState>,
    ApiPath(raw): ApiPath<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Json<Value>, ApiError> {
    let features = require(&app.features)?;
    let id = feature_id(&raw)?;
    let b: TokenBody = optional_body(&headers, &bytes)?;
    let token = b.token();
    let (_, unblocked) = features
        .store
        .complete(id, token.as_deref(), b.force, features.now())
        .await?;
    let graph = features.store.snapshot();
    let feature = graph
        .get(id)
        .map_or(Value::Null, |f| FeatureView::new(&graph).render_one(f));
    Ok(Json(json!({"feature": feature, "unblocked": unblocked})))
}

pub(crate) async fn reopen(
    State(app): State<AppState>,
    ApiPath(raw): ApiPath<String>,
) -> Result<Response, ApiError> {
    let features = require(&app.features)?;
    let id = feature_id(&raw)?;
    features.store.reopen(id, features.now()).await?;
    one(features, id, StatusCode::OK)
}
