//! A client of a running Flow server: the JSON API over HTTP and the live events over
//! `/api/ws`. Both the terminal board and the agent commands (`flow sessions`, `flow claim`, …)
//! go through it, so they agree on URLs, authentication and what an error means.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::model::{Session, Task, Team};

/// What went wrong talking to Flow, sorted by what the caller should do about it.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Nothing answered: the server is not running, or is at another address.
    #[error("cannot reach Flow at {url} ({reason}); is `flow` running? Start it, or pass --url")]
    Unreachable { url: String, reason: String },
    /// The server answered with an error body (`{"error": …, "code": …}`).
    #[error("{message} (HTTP {status})")]
    Api {
        status: u16,
        code: Option<String>,
        message: String,
        body: Value,
    },
    /// The server answered something that is not the contract's shape.
    #[error("unexpected answer from Flow: {0}")]
    Protocol(String),
    #[error("invalid URL `{0}`: expected http://host:port")]
    BadUrl(String),
}

impl ClientError {
    /// A conflict: someone else holds it, the lease is gone, it is blocked, or it changed.
    pub fn is_conflict(&self) -> bool {
        matches!(
            self,
            Self::Api {
                status: 409 | 412,
                ..
            }
        )
    }

    pub fn is_unreachable(&self) -> bool {
        matches!(self, Self::Unreachable { .. })
    }
}

pub type WsStream = WebSocketStream<MaybeTlsStream<TcpStream>>;

#[derive(Debug, Clone)]
pub struct Client {
    /// `http://host:port`, without a trailing slash.
    base: String,
    http: reqwest::Client,
    /// The server's `--token`, sent as a bearer token when set.
    auth: Option<String>,
}

impl Client {
    pub fn new(url: &str, auth: Option<String>) -> Result<Self, ClientError> {
        Self::with_timeout(url, auth, Duration::from_secs(30))
    }

    /// A client whose every call gives up after `timeout` (connecting included), for callers
    /// that must never wait long, like the hook command Claude Code runs.
    pub fn with_timeout(
        url: &str,
        auth: Option<String>,
        timeout: Duration,
    ) -> Result<Self, ClientError> {
        let base = url.trim_end_matches('/').to_owned();
        let authority = base
            .strip_prefix("http://")
            .ok_or_else(|| ClientError::BadUrl(url.to_owned()))?;
        if authority.is_empty() || authority.contains('/') {
            return Err(ClientError::BadUrl(url.to_owned()));
        }
        let http = reqwest::Client::builder()
            // A local tool: a proxy from the environment must not see (or break) these calls.
            .no_proxy()
            .connect_timeout(timeout.min(Duration::from_secs(3)))
            .timeout(timeout)
            .build()
            .map_err(|e| ClientError::Protocol(e.to_string()))?;
        Ok(Self { base, http, auth })
    }

    pub fn url(&self) -> &str {
        &self.base
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<T, ClientError> {
        decode_body(path, &self.call_text(method, path, body).await?)
    }

    /// The answer's body exactly as the server sent it (empty for 204), so `--json` can pass
    /// the server's JSON through untouched: no reformatting, no rounding of big numbers.
    async fn call_text(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<String, ClientError> {
        let (status, bytes) = self.send(method, path, body).await?;
        if !status.is_success() {
            return Err(api_error(status, &bytes));
        }
        String::from_utf8(bytes)
            .map_err(|_| ClientError::Protocol(format!("{path}: the answer is not UTF-8")))
    }

    /// One call answered with its status and JSON body, refusals included (`null` for an
    /// empty body), for callers that relay the API's own answer, like `flow mcp`. `Err` only
    /// when there was no answer, or it was not JSON.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<(u16, Value), ClientError> {
        let (status, bytes) = self.send(method, path, body).await?;
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| ClientError::Protocol(format!("{path}: the answer is not UTF-8")))?;
        Ok((status.as_u16(), decode_body(path, text)?))
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<(StatusCode, Vec<u8>), ClientError> {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = &self.auth {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.map_err(|e| self.unreachable(&e))?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(|e| self.unreachable(&e))?;
        Ok((status, bytes.into()))
    }

    fn unreachable(&self, err: &reqwest::Error) -> ClientError {
        let reason = if err.is_connect() {
            "connection refused".to_owned()
        } else if err.is_timeout() {
            "timed out".to_owned()
        } else {
            err.to_string()
        };
        ClientError::Unreachable {
            url: self.base.clone(),
            reason,
        }
    }

    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        self.call(Method::GET, path, None).await
    }

    pub async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        body: Value,
    ) -> Result<T, ClientError> {
        self.call(Method::POST, path, Some(body)).await
    }

    pub async fn get_text(&self, path: &str) -> Result<String, ClientError> {
        self.call_text(Method::GET, path, None).await
    }

    pub async fn post_text(&self, path: &str, body: Value) -> Result<String, ClientError> {
        self.call_text(Method::POST, path, Some(body)).await
    }

    pub async fn sessions(&self, limit: &str) -> Result<Vec<Session>, ClientError> {
        self.get(&format!("/api/sessions?limit={}", encode(limit)))
            .await
    }

    pub async fn session_tasks(&self, session: &str) -> Result<Vec<Task>, ClientError> {
        self.tasks(&format!("/api/sessions/{}", encode(session)))
            .await
    }

    /// Every agent team with its members' states (`GET /api/teams`, contract §6).
    pub async fn teams(&self) -> Result<Vec<Team>, ClientError> {
        self.get("/api/teams").await
    }

    pub async fn all_tasks(&self) -> Result<Vec<Task>, ClientError> {
        self.tasks("/api/tasks/all").await
    }

    /// A task list, decoded task by task (see [`crate::lenient`]).
    async fn tasks(&self, path: &str) -> Result<Vec<Task>, ClientError> {
        let text = self.get_text(path).await?;
        crate::lenient::tasks_from(&text).map_err(|e| ClientError::Protocol(format!("{path}: {e}")))
    }

    pub async fn add_note(&self, session: &str, task: &str, note: &str) -> Result<(), ClientError> {
        let path = format!("/api/tasks/{}/{}/note", encode(session), encode(task));
        let _: Value = self.post(&path, json!({ "note": note })).await?;
        Ok(())
    }

    /// Opens `/api/ws` and waits for its `connected` event, which the server sends once it is
    /// subscribed: a snapshot fetched after this returns cannot miss an event. With `sessions`
    /// non-empty, asks for only their `update` events. Returns the stream and the `connected`
    /// event's text.
    pub async fn live(&self, sessions: &[String]) -> Result<(WsStream, String), ClientError> {
        let url = format!("ws://{}/api/ws", &self.base["http://".len()..]);
        let mut request = url
            .into_client_request()
            .map_err(|_| ClientError::BadUrl(self.base.clone()))?;
        if let Some(token) = &self.auth {
            let value = HeaderValue::from_str(&format!("Bearer {token}"))
                .map_err(|_| ClientError::Protocol("the token is not a valid header".into()))?;
            request.headers_mut().insert("authorization", value);
        }
        let (mut ws, _) = match tokio_tungstenite::connect_async(request).await {
            Ok(ok) => ok,
            Err(tungstenite::Error::Http(response)) => {
                let status = response.status();
                let body = response.body().clone().unwrap_or_default();
                return Err(api_error(status, &body));
            }
            Err(err) => {
                return Err(ClientError::Unreachable {
                    url: self.base.clone(),
                    reason: ws_reason(&err),
                });
            }
        };
        if !sessions.is_empty() {
            let subscribe = json!({ "type": "subscribe", "sessions": sessions }).to_string();
            ws.send(Message::text(subscribe))
                .await
                .map_err(|e| ClientError::Unreachable {
                    url: self.base.clone(),
                    reason: ws_reason(&e),
                })?;
        }
        let lost = |reason: String| ClientError::Unreachable {
            url: self.base.clone(),
            reason,
        };
        match next_event(&mut ws).await {
            Some(Ok(text)) if text.contains(r#""type":"connected""#) => Ok((ws, text)),
            Some(Ok(text)) => Err(ClientError::Protocol(format!(
                "expected a connected event first, got {text}"
            ))),
            Some(Err(reason)) => Err(lost(reason)),
            None => Err(lost("the server closed the connection".into())),
        }
    }
}

/// Decodes the body `path` answered. An empty body (204 and friends) decodes as `null`, so
/// `()` and `Value` callers both work.
pub fn decode_body<T: DeserializeOwned>(path: &str, text: &str) -> Result<T, ClientError> {
    let text = if text.is_empty() { "null" } else { text };
    serde_json::from_str(text).map_err(|e| ClientError::Protocol(format!("{path}: {e}")))
}

/// The next event on a live stream as JSON text; `None` once the server closed it.
pub async fn next_event(ws: &mut WsStream) -> Option<Result<String, String>> {
    loop {
        match ws.next().await? {
            Ok(Message::Text(text)) => return Some(Ok(text.to_string())),
            // Pings are answered by tungstenite on the next read; other frames carry no event.
            Ok(Message::Close(_)) => return None,
            Ok(_) => {}
            Err(err) => return Some(Err(ws_reason(&err))),
        }
    }
}

fn ws_reason(err: &tungstenite::Error) -> String {
    match err {
        tungstenite::Error::Io(io) => match io.kind() {
            std::io::ErrorKind::ConnectionRefused => "connection refused".into(),
            _ => io.to_string(),
        },
        other => other.to_string(),
    }
}

fn api_error(status: StatusCode, bytes: &[u8]) -> ClientError {
    let body: Value = serde_json::from_slice(bytes).unwrap_or(Value::Null);
    let message = body
        .get("error")
        .and_then(Value::as_str)
        .map_or_else(|| status.to_string(), str::to_owned);
    ClientError::Api {
        status: status.as_u16(),
        code: body.get("code").and_then(Value::as_str).map(str::to_owned),
        message,
        body,
    }
}

/// Percent-encodes one path segment (an id) for a URL: everything but unreserved characters,
/// so an id can never add a path segment or a query.
pub fn encode(raw: &str) -> String {
    utf8_percent_encode(raw, PATH_SEGMENT).to_string()
}

/// RFC 3986 unreserved characters stay as they are; everything else is encoded.
const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_must_be_plain_http_origins() {
        assert!(Client::new("http://127.0.0.1:3456", None).is_ok());
        assert_eq!(
            Client::new("http://127.0.0.1:3456/", None).unwrap().url(),
            "http://127.0.0.1:3456"
        );
        for bad in [
            "127.0.0.1:3456",
            "https://x",
            "http://",
            "http://h/api",
            "ftp://h",
        ] {
            assert!(
                matches!(Client::new(bad, None), Err(ClientError::BadUrl(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn ids_cannot_escape_their_path_segment() {
        assert_eq!(encode("abc-1_2.x"), "abc-1_2.x");
        assert_eq!(encode("../etc"), "..%2Fetc");
        assert_eq!(encode("a b\0"), "a%20b%00");
    }

    #[test]
    fn error_bodies_keep_code_and_message() {
        let err = api_error(
            StatusCode::CONFLICT,
            br#"{"error":"Feature is blocked","code":"feature_blocked","blockedBy":[2]}"#,
        );
        assert!(err.is_conflict());
        assert_eq!(err.to_string(), "Feature is blocked (HTTP 409)");
        let ClientError::Api { code, body, .. } = err else {
            panic!("api error")
        };
        assert_eq!(code.as_deref(), Some("feature_blocked"));
        assert_eq!(body["blockedBy"], json!([2]));
        let plain = api_error(StatusCode::BAD_GATEWAY, b"<html>");
        assert!(!plain.is_conflict());
        assert_eq!(plain.to_string(), "502 Bad Gateway (HTTP 502)");
    }
}
