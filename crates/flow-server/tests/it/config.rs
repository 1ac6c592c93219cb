//! Binding: the default port falls back to the next free one; an explicit port does not.

use std::net::{IpAddr, Ipv4Addr};

use flow_server::{Config, ServerError};

use crate::support::ClaudeTree;

#[tokio::test]
async fn taken_default_port_falls_back_but_explicit_port_is_an_error() {
    let tree = ClaudeTree::new();
    let taken = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = taken.local_addr().unwrap().port();
    let mut config = Config::for_claude_dir(tree.root());
    config.host = IpAddr::V4(Ipv4Addr::LOCALHOST);
    config.port = port;
    config.port_fallbacks = 9;
    let listener = flow_server::bind(&config).await.unwrap();
    assert_ne!(listener.local_addr().unwrap().port(), port);

    config.port_fallbacks = 0;
    let err = flow_server::bind(&config).await.unwrap_err();
    assert!(matches!(err, ServerError::PortInUse { .. }), "{err}");
    assert!(err.to_string().contains(&format!("port {port}")), "{err}");
}
