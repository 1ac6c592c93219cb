//! Flow's tools for agents over the Model Context Protocol (contract §8). The tools are written
//! once, over [`FlowApi`] (one call of Flow's HTTP API), so the server's `/mcp` (which answers
//! them from its own router, in process) and `flow mcp` over stdio (which asks a running Flow
//! over HTTP) are the same server: a claim through MCP is exactly the HTTP claim, with the same
//! atomicity and the same errors.
//!
//! Tool errors are MCP tool errors (`isError: true`) whose structured content is the API's error
//! body, `code` included, so a model can tell `claimed_by_other` from `lease_lost`.

mod tools;

use std::future::Future;
use std::sync::Arc;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, Implementation, ListToolsResult,
    PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData, RoleServer, ServerHandler};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

/// The HTTP methods the tools use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

/// One answer of Flow's API: the status and the JSON body (`null` for an empty one).
#[derive(Debug, Clone)]
pub struct ApiAnswer {
    pub status: u16,
    pub body: Value,
}

/// One call of Flow's HTTP API (contract §3, §5). `path` starts with `/api/` and is already
/// percent-encoded. `Err` means no answer at all (no server running, say), with a message for
/// the model that says what to do.
pub trait FlowApi: Clone + Send + Sync + 'static {
    fn call(
        &self,
        method: Method,
        path: String,
        body: Option<Value>,
    ) -> impl Future<Output = Result<ApiAnswer, String>> + Send;
}

/// The MCP server over one [`FlowApi`].
#[derive(Debug, Clone)]
pub struct FlowMcp<A> {
    api: A,
    tools: Arc<Vec<Tool>>,
}

impl<A: FlowApi> FlowMcp<A> {
    pub fn new(api: A) -> Self {
        Self {
            api,
            tools: Arc::new(tools::definitions()),
        }
    }
}

const INSTRUCTIONS: &str = "Flow is the live board of this machine's Claude Code sessions \
and its feature queue. Use list_sessions/get_tasks to see who works on what. To take work: \
ready_features shows what can start, claim_feature claims one atomically (keep the \
claimToken), heartbeat before the lease runs out, then complete_feature (or release_feature \
if you stop). Errors carry a `code`: claimed_by_other means another agent holds it (pick \
another), lease_lost means your claim expired (claim again), feature_blocked lists the \
unfinished prerequisites in blockedBy.";

impl<A: FlowApi> ServerHandler for FlowMcp<A> {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("flow", env!("CARGO_PKG_VERSION")))
            .with_instructions(INSTRUCTIONS)
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(self.tools.to_vec()))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.tools.iter().find(|t| t.name == name).cloned()
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        if self.get_tool(&request.name).is_none() {
            return Err(ErrorData::invalid_params(
                format!("unknown tool `{}`", request.name),
                None,
            ));
        }
        let args = request.arguments.unwrap_or_default();
        Ok(tools::call(&self.api, &request.name, args).await.into())
    }
}

/// `/mcp` over the Streamable HTTP transport, stateless with JSON answers (every tool call is
/// one request and one answer, so nothing outlives a request). Host and Origin are the
/// embedding server's to check (Flow's guard runs in front of it), so the transport's own
/// host list is off rather than a second, different rule.
pub fn http_service<A: FlowApi>(
    api: A,
    shutdown: CancellationToken,
) -> StreamableHttpService<FlowMcp<A>, LocalSessionManager> {
    let config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true)
        .with_sse_keep_alive(None)
        .disable_allowed_hosts()
        .with_cancellation_token(shutdown);
    StreamableHttpService::new(
        move || Ok(FlowMcp::new(api.clone())),
        Arc::default(),
        config,
    )
}

/// Serves MCP on this process's stdin and stdout until the client closes them.
pub async fn serve_stdio<A: FlowApi>(api: A) -> Result<(), String> {
    use rmcp::ServiceExt;
    let running = FlowMcp::new(api)
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|e| format!("MCP handshake failed: {e}"))?;
    running
        .waiting()
        .await
        .map(|_| ())
        .map_err(|e| format!("MCP server stopped: {e}"))
}
