//! The route table: every path Flow answers, in one place (contract §3).

mod activity;
mod edits;
mod health;
mod hooks;
mod machines;
mod plan;
mod plans;
mod sessions;
mod tasks;
pub(crate) mod teams;
mod theme;
mod todos;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, Uri, header};
use axum::middleware;
use axum::routing::{delete, get, post, put};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::error::ApiError;
use crate::state::AppState;

/// Request bodies above this are refused with 413 (contract §3).
pub const BODY_LIMIT: usize = 1 << 20;

pub fn build_router(state: AppState) -> Router {
    let api = Router::new()
        .route("/health", get(health::health))
        .route("/sessions", get(sessions::list_sessions))
        .route("/sessions/{session_id}", get(sessions::get_session))
        .route("/sessions/{session_id}/plan", get(plan::get_plan))
        .route("/sessions/{session_id}/agents", get(activity::list_agents))
        .route("/sessions/{session_id}/todos", get(todos::list_todos))
        .route("/activity", get(activity::list_activity))
        .route("/machines", get(machines::list_machines))
        .route("/teams", get(teams::list_teams))
        .route("/teams/{team}/messages", get(teams::list_messages))
        .route("/plans", get(plans::list_plans))
        .route("/plans/{slug}", get(plans::get_plan))
        .route("/tasks/all", get(tasks::list_all_tasks))
        .route("/tasks/{session_id}/{task_id}/note", post(edits::add_note))
        .route("/tasks/{session_id}/{task_id}", delete(edits::delete_task))
        .route("/theme", get(theme::get_theme).post(theme::set_theme))
        .route("/hooks", post(hooks::receive_hook))
        .nest("/features", features_routes())
        .route("/events", get(crate::sse::events))
        .route("/ws", get(crate::ws::upgrade))
        .fallback(api_not_found)
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ));
    // Only a publishing Flow is a machine that others ask to edit its files.
    if let Some(board) = state.team.as_ref().filter(|b| b.team.is_publishing()) {
        let own = Router::new()
            .nest("/api", api.clone())
            .with_state(state.clone());
        crate::team::serve_commands(board, own);
    }
    let mcp = flow_mcp::http_service(
        crate::mcp::RouterApi {
            router: Router::new()
                .nest("/api", api.clone())
                .with_state(state.clone()),
        },
        state.shutdown(),
    );
    Router::new()
        .nest("/api", api)
        .nest_service("/mcp", mcp)
        .fallback(crate::assets::serve)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::security::guard,
        ))
        .layer(tower_http::compression::CompressionLayer::new())
        .with_state(state)
}

/// Contract §5. Literal paths (`ready`, `graph`, `claim`, …) win over `{id}` in axum's router.
fn features_routes() -> Router<AppState> {
    use crate::features::routes as f;
    Router::new()
        .route("/", get(f::list).post(f::create))
        .route("/bulk", post(f::create_bulk))
        .route("/ready", get(f::ready))
        .route("/graph", get(f::graph))
        .route("/stats", get(f::stats))
        .route("/claim", post(f::claim_next))
        .route("/reorder", post(f::reorder))
        .route("/{id}", get(f::get_one).patch(f::update).delete(f::delete))
        .route(
            "/{id}/dependencies/{dep}",
            put(f::add_dependency).delete(f::remove_dependency),
        )
        .route("/{id}/claim", post(f::claim_one))
        .route("/{id}/heartbeat", post(f::heartbeat))
        .route("/{id}/release", post(f::release))
        .route("/{id}/complete", post(f::complete))
        .route("/{id}/reopen", post(f::reopen))
}

/// Unknown `/api` paths are 404, except that a path smuggling a dot segment, separator or NUL
/// in a segment is refused as malformed (400) before anything could act on it.
async fn api_not_found(uri: Uri) -> ApiError {
    let hostile = uri.path().split('/').any(|segment| {
        let decoded = percent_encoding::percent_decode_str(segment).decode_utf8_lossy();
        matches!(&*decoded, "." | "..") || decoded.contains(['/', '\\', '\0'])
    });
    if hostile {
        ApiError::BadRequest("Invalid path".into())
    } else {
        ApiError::RouteNotFound
    }
}
