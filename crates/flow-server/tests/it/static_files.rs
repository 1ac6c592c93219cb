//! The web UI: embedded by default, `PUBLIC_DIR` when configured (contract §3, Static files).

use reqwest::header;

use crate::support::{ClaudeTree, TestServer};

#[tokio::test]
async fn embedded_ui_is_served_with_etag_csp_and_compression() {
    let server = TestServer::start(ClaudeTree::new()).await;
    let res = server.get("/").await;
    assert_eq!(res.status(), 200);
    let h = res.headers().clone();
    assert_eq!(h[header::CONTENT_TYPE], "text/html; charset=utf-8");
    assert!(
        h[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .contains("script-src 'self'")
    );
    assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    let etag = h[header::ETAG].clone();
    assert!(res.text().await.unwrap().contains("<title>Flow</title>"));

    let again = server
        .client
        .get(server.url("/"))
        .header(header::IF_NONE_MATCH, etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);

    let gz = server
        .client
        .get(server.url("/app.js"))
        .header(header::ACCEPT_ENCODING, "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(gz.status(), 200);
    assert_eq!(gz.headers()[header::CONTENT_ENCODING], "gzip");

    assert_eq!(server.get("/nope.html").await.status(), 404);
    let (status, _) = server.raw("GET", "/../Cargo.toml").await;
    assert_eq!(status, 404);
    let (status, _) = server.raw("GET", "/%2e%2e/%2e%2e/Cargo.toml").await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn public_dir_replaces_the_embedded_ui() {
    let tree = ClaudeTree::new();
    tree.write("ui/index.html", "<h1>mine</h1>")
        .write("secret.txt", "no");
    let mut config = flow_server::Config::for_claude_dir(tree.root());
    config.public_dir = Some(tree.path("ui"));
    let server = TestServer::start_with(tree, config).await;
    let res = server.get("/").await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()[header::CONTENT_SECURITY_POLICY],
        "frame-ancestors 'none'"
    );
    assert!(res.headers().contains_key(header::ETAG));
    assert_eq!(res.text().await.unwrap(), "<h1>mine</h1>");
    let (status, _) = server.raw("GET", "/../secret.txt").await;
    assert_eq!(status, 404);
    let (status, _) = server.raw("GET", "/%2e%2e/secret.txt").await;
    assert_eq!(status, 404);
}
