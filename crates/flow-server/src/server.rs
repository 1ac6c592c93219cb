//! Starting and stopping: binding (with the default port's fallbacks), the initial scan, serving
//! (within `Config::limits`, see `connections.rs`) until the shutdown token fires, and turning
//! Ctrl-C / SIGTERM into that token.

use std::io;
use std::net::SocketAddr;

use flow_core::Config;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::routes::build_router;
use crate::state::AppState;

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("port {port} on {host} is already in use; choose another with --port or PORT")]
    PortInUse { host: std::net::IpAddr, port: u16 },
    #[error("ports {first}-{last} on {host} are all in use; choose a free one with --port or PORT")]
    NoFreePort {
        host: std::net::IpAddr,
        first: u16,
        last: u16,
    },
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: io::Error },
    #[error("server failed: {0}")]
    Serve(#[from] io::Error),
    #[error("the {0} task panicked (see the log above); the server stopped")]
    TaskPanicked(&'static str),
}

/// Binds `config.host:config.port`, or for the default port the first free one of the next
/// `port_fallbacks` ports. An explicit port that is taken is an error, never a surprise.
pub async fn bind(config: &Config) -> Result<TcpListener, ServerError> {
    let first = config.port;
    let last = first.saturating_add(config.port_fallbacks);
    for port in first..=last {
        let addr = SocketAddr::new(config.host, port);
        match TcpListener::bind(addr).await {
            Ok(listener) => return Ok(listener),
            Err(err) if err.kind() == io::ErrorKind::AddrInUse => continue,
            Err(source) => return Err(ServerError::Bind { addr, source }),
        }
    }
    Err(if config.port_fallbacks == 0 {
        ServerError::PortInUse {
            host: config.host,
            port: first,
        }
    } else {
        ServerError::NoFreePort {
            host: config.host,
            first,
            last,
        }
    })
}

/// Serves on `listener` until `shutdown` is cancelled. The Claude dir is scanned before the
/// first request is answered, so no client ever sees a half-built board.
pub async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> Result<(), ServerError> {
    let limits = config.limits;
    let state = AppState::start(config, shutdown.clone()).await?;
    let supervisor = state.supervisor().clone();
    let app = build_router(state);
    crate::connections::serve(listener, app, limits, shutdown.clone()).await;
    // Serving ends only on shutdown (a supervised task that panicked cancels it too); stop the
    // background tasks either way and wait for them.
    shutdown.cancel();
    supervisor.wait().await.map_err(ServerError::TaskPanicked)
}

/// Binds, announces the URL, optionally opens the browser, and serves until Ctrl-C or SIGTERM.
pub async fn run_server(config: Config) -> Result<(), ServerError> {
    let listener = bind(&config).await?;
    let addr = listener.local_addr()?;
    let url = format!("http://{addr}");
    tracing::info!(
        %url,
        tasks_dir = %config.tasks_dir.display(),
        projects_dir = %config.projects_dir.display(),
        "flow is listening"
    );
    if config.token.is_some() {
        // The one place the token is shown: the link that logs a browser in.
        tracing::info!("open {url}/?token=<your FLOW_TOKEN> once to sign this browser in");
    }
    if !config.host.is_loopback() {
        tracing::warn!(%addr, "listening on a non-loopback address: other machines can reach this board");
    }
    if config.open_browser {
        // A missing browser must never fail the start.
        if let Err(err) = open::that_detached(&url) {
            tracing::warn!(%err, "could not open a browser");
        }
    }
    let shutdown = CancellationToken::new();
    tokio::spawn(signal_shutdown(shutdown.clone()));
    run(config, listener, shutdown).await
}

async fn signal_shutdown(token: CancellationToken) {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("shutting down");
    token.cancel();
}
