//! `/mcp` (contract §8): the MCP tools answered from this server's own `/api` router, in
//! process, so a tool call is exactly the HTTP call (the same handlers, validation, atomic
//! claims and errors) without a loopback connection. The request to `/mcp` itself passed the
//! guard (Host, Origin, token) like any API request; the inner calls do not pass it again.

use axum::Router;
use flow_mcp::{ApiAnswer, FlowApi, Method};
use serde_json::Value;

/// Answers can be large (every task of a big session); this bounds what one tool call holds.
const MAX_ANSWER: usize = 64 << 20;

/// The `/api` routes with their state, called like a client would.
#[derive(Clone)]
pub(crate) struct RouterApi {
    pub(crate) router: Router,
}

impl FlowApi for RouterApi {
    async fn call(
        &self,
        method: Method,
        path: String,
        body: Option<Value>,
    ) -> Result<ApiAnswer, String> {
        let method = match method {
            Method::Get => axum::http::Method::GET,
            Method::Post => axum::http::Method::POST,
        };
        let request = crate::in_process::request(method, &path, body.as_ref())
            .map_err(|e| format!("{path}: {e}"))?;
        let (status, bytes) = crate::in_process::send(&self.router, request, MAX_ANSWER).await;
        let bytes = bytes.map_err(|e| format!("{path}: {e}"))?;
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).map_err(|e| format!("{path}: {e}"))?
        };
        Ok(ApiAnswer { status, body })
    }
}
