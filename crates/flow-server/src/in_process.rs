//! Calling this server's own `/api` router in process, as a client would but without a
//! loopback connection: the MCP tools (`mcp.rs`) and other machines' team commands
//! (`team/commands.rs`) both go through it, so they are exactly the HTTP calls (the same
//! handlers, validation, locks and errors). [`respond`] is also how the connections
//! themselves reach the router.

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{Method, Request, Response, header};
use serde_json::Value;
use tower_service::Service;

/// A request for `path`, with `body` as JSON when there is one.
pub(crate) fn request(
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> Result<Request<Body>, axum::http::Error> {
    let builder = Request::builder().method(method).uri(path);
    match body {
        Some(body) => builder
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string())),
        None => builder.body(Body::empty()),
    }
}

/// Sends `request` through `router`: the answer's status and its body, read up to `limit`
/// bytes.
pub(crate) async fn send(
    router: &Router,
    request: Request<Body>,
    limit: usize,
) -> (u16, Result<Bytes, axum::Error>) {
    let response = respond(router.clone(), request).await;
    let status = response.status().as_u16();
    (
        status,
        axum::body::to_bytes(response.into_body(), limit).await,
    )
}

/// The router's answer to `request`: how every request reaches the handlers, whether it came
/// over hyper (`connections.rs`), the bare event-stream socket (`event_socket.rs`) or from
/// inside the server. A `Router` is always ready, so it is called at once.
pub(crate) async fn respond<B>(mut router: Router, request: Request<B>) -> Response<Body>
where
    B: axum::body::HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    match router.call(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    }
}
