//! `flow mcp`: Flow's MCP tools (contract §8) over stdin/stdout, for Claude Code's
//! `mcpServers`. The tools are flow-mcp's, the same the server answers at `/mcp`; here each one
//! is an HTTP call to a running Flow at `--url`/`FLOW_URL`. With none running the MCP server
//! still starts (so the agent's client connects), says so on stderr, and every tool call is an
//! error that tells the model how to start one. Nothing but MCP is ever written to stdout.

use std::process::ExitCode;

use flow_client::{Client, ClientError, Method as HttpMethod};
use flow_mcp::{ApiAnswer, FlowApi, Method};
use serde_json::Value;

use crate::cli::ConnectArgs;

#[derive(Clone)]
struct ClientApi(Client);

impl ClientApi {
    fn not_running(&self) -> String {
        format!(
            "no Flow server answers at {url}. Start one in another terminal with `flow` (or \
             `flow serve --port N`, then set FLOW_URL=http://127.0.0.1:N for `flow mcp`), \
             then call the tool again",
            url = self.0.url()
        )
    }
}

impl FlowApi for ClientApi {
    async fn call(
        &self,
        method: Method,
        path: String,
        body: Option<Value>,
    ) -> Result<ApiAnswer, String> {
        let method = match method {
            Method::Get => HttpMethod::GET,
            Method::Post => HttpMethod::POST,
        };
        match self.0.request(method, &path, body).await {
            Ok((status, body)) => Ok(ApiAnswer { status, body }),
            Err(ClientError::Unreachable { .. }) => Err(self.not_running()),
            Err(err) => Err(err.to_string()),
        }
    }
}

pub(crate) fn main(args: ConnectArgs) -> ExitCode {
    let client = match Client::new(&args.url, args.auth_token) {
        Ok(client) => ClientApi(client),
        Err(err) => {
            eprintln!("flow mcp: {err}");
            return ExitCode::from(crate::agent::USAGE);
        }
    };
    let Some(runtime) = crate::runtime(1) else {
        return ExitCode::FAILURE;
    };
    runtime.block_on(async {
        if let Err(ClientError::Unreachable { .. }) =
            client.0.request(HttpMethod::GET, "/api/health", None).await
        {
            eprintln!("flow mcp: {}", client.not_running());
        }
        match flow_mcp::serve_stdio(client).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("flow mcp: {err}");
                ExitCode::FAILURE
            }
        }
    })
}
