//! What `/api/features…` requests carry, parsed with the contract's codes: path ids, JSON
//! bodies (unknown fields are `unknown_field`), `If-Match`, lease lengths.

use axum::http::{HeaderMap, header};
use flow_db::{NewFeature, Step};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::error::ApiError;

const DEFAULT_LEASE_SECS: i64 = 900;

/// Parses a JSON body into `T`, with the contract's codes: unknown fields are
/// `unknown_field`, anything else that does not fit is `validation_failed`.
pub(crate) fn body<T: DeserializeOwned>(value: Value) -> Result<T, ApiError> {
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

pub(crate) fn feature_id(raw: &str) -> Result<i64, ApiError> {
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or(ApiError::FeatureInput {
            code: "invalid_id",
            message: format!("Invalid feature id `{raw}`: expected a positive integer"),
        })
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum StepIn {
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
    pub(crate) name: String,
    #[serde(default)]
    pub(crate) project: String,
    #[serde(default)]
    pub(crate) description: String,
    #[serde(default)]
    pub(crate) category: String,
    #[serde(default)]
    pub(crate) steps: Vec<StepIn>,
    pub(crate) priority: Option<i64>,
    #[serde(default)]
    pub(crate) dependencies: Vec<i64>,
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

/// `ref`/`dependsOnRefs` are the batch's own; everything else is a feature, checked (unknown
/// fields included) when it is parsed as one. (serde cannot deny unknown fields with flatten.)
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BulkEntry {
    #[serde(rename = "ref")]
    pub(crate) ref_name: Option<String>,
    #[serde(default)]
    pub(crate) depends_on_refs: Vec<String>,
    #[serde(flatten)]
    pub(crate) feature: Value,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct BulkBody {
    pub(crate) features: Vec<BulkEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DeleteQuery {
    #[serde(default)]
    pub(crate) detach: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct PatchBody {
    pub(crate) name: Option<String>,
    pub(crate) project: Option<String>,
    pub(crate) description: Option<String>,
    pub(crate) category: Option<String>,
    pub(crate) steps: Option<Vec<StepIn>>,
    pub(crate) status: Option<String>,
    pub(crate) priority: Option<i64>,
    pub(crate) dependencies: Option<Vec<i64>>,
    #[serde(default)]
    pub(crate) force: bool,
}

pub(crate) fn if_match(headers: &HeaderMap) -> Result<Option<i64>, ApiError> {
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct ClaimBody {
    pub(crate) agent: String,
    pub(crate) lease_secs: Option<i64>,
    #[serde(default)]
    pub(crate) force: bool,
}

pub(crate) fn lease_ms(secs: Option<i64>) -> Result<i64, ApiError> {
    let secs = secs.unwrap_or(DEFAULT_LEASE_SECS);
    if !(1..=86_400).contains(&secs) {
        return Err(ApiError::FeatureInput {
            code: "validation_failed",
            message: "leaseSecs must be between 1 and 86400".into(),
        });
    }
    Ok(secs * 1000)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct TokenBody {
    pub(crate) claim_token: Option<String>,
    #[serde(alias = "token")]
    pub(crate) token: Option<String>,
    pub(crate) lease_secs: Option<i64>,
    #[serde(default)]
    pub(crate) failed: bool,
    #[serde(default)]
    pub(crate) force: bool,
}

impl TokenBody {
    pub(crate) fn token(&self) -> Option<String> {
        self.claim_token.clone().or_else(|| self.token.clone())
    }
}

/// `complete` may be sent without a body (no token, no force); a body present must be JSON.
pub(crate) fn optional_body(headers: &HeaderMap, bytes: &[u8]) -> Result<TokenBody, ApiError> {
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReorderBody {
    pub(crate) id: i64,
    pub(crate) before: Option<i64>,
    pub(crate) after: Option<i64>,
}
