//! Rendered read responses, keyed by the index generation they were built from. Equal
//! generations mean equal answers, so a repeat request is a copy of bytes (or a 304 when the
//! client already holds them), and any change anywhere invalidates everything at once.

use std::sync::Mutex;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

use crate::error::ApiError;
use crate::state::AppState;

/// Bodies larger than this are rebuilt each time rather than held in memory. `limit=all` over
/// 10,000 sessions is about 5 MiB; entries live only until the next change.
const MAX_CACHED_BODY: usize = 16 << 20;
const MAX_ENTRIES: usize = 16;

#[derive(Default)]
pub(crate) struct ResponseCache {
    /// (generation, key, body). Held only to look up, insert or clear.
    entries: Mutex<Vec<(u64, String, Bytes)>>,
}

impl ResponseCache {
    fn get(&self, generation: u64, key: &str) -> Option<Bytes> {
        let entries = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        entries
            .iter()
            .find(|(g, k, _)| *g == generation && k == key)
            .map(|(_, _, body)| body.clone())
    }

    fn put(&self, generation: u64, key: String, body: Bytes) {
        if body.len() > MAX_CACHED_BODY {
            return;
        }
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        entries.retain(|(g, _, _)| *g == generation);
        if entries.len() >= MAX_ENTRIES {
            entries.remove(0);
        }
        entries.push((generation, key, body));
    }
}

/// Answers a read endpoint: 304 if the client's `If-None-Match` names the current version,
/// else the cached body, else `build` (run under the index read lock) and cache it.
pub(crate) fn respond(
    app: &AppState,
    headers: &HeaderMap,
    key: String,
    build: impl FnOnce(&flow_core::Index) -> Result<Vec<u8>, ApiError>,
) -> Result<Response, ApiError> {
    let index = app.index();
    let generation = index.generation();
    // The run id keeps an ETag from an earlier run of the server from ever matching.
    let etag = format!(
        "\"{}-{generation}-{:x}\"",
        app.run_id(),
        fnv1a(key.as_bytes())
    );
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|tag| tag.trim() == etag));
    let etag = HeaderValue::from_str(&etag).map_err(|e| ApiError::Internal(e.to_string()))?;
    if fresh {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response());
    }
    let body = match app.responses().get(generation, &key) {
        Some(body) => body,
        None => {
            let body = Bytes::from(build(&index)?);
            app.responses().put(generation, key, body.clone());
            body
        }
    };
    drop(index);
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (header::ETAG, etag),
        ],
        Body::from(body),
    )
        .into_response())
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}
