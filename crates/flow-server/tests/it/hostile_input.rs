//! Hostile paths, sent over raw TCP so no client normalises them first (contract §3).

use serde_json::Value;

use crate::sessions::board;
use crate::support::TestServer;

#[tokio::test]
async fn hostile_session_ids_are_400_json() {
    let tree = board();
    tree.write("secret.json", "{\"id\":\"1\"}");
    let server = TestServer::start(tree).await;
    let long = "a".repeat(300);
    let cases = [
        "/api/sessions/..".to_owned(),
        "/api/sessions/%2e%2e".to_owned(),
        "/api/sessions/..%2F..%2Fetc".to_owned(),
        "/api/sessions/..%2f..%2fsecret".to_owned(),
        "/api/sessions/a%2Fb".to_owned(),
        "/api/sessions/a%00b".to_owned(),
        "/api/sessions/%00".to_owned(),
        "/api/sessions/.hidden".to_owned(),
        "/api/sessions/a..b".to_owned(),
        format!("/api/sessions/{long}"),
        "/api/sessions/%E2%80%A4%E2%80%A4".to_owned(),
        "/api/sessions/%EF%BC%8E%EF%BC%8E".to_owned(),
        "/api/sessions/%FF".to_owned(),
        "/api/sessions/a%5Cb".to_owned(),
        "/api/sessions/../../secret.json".to_owned(),
        "/api/sessions/%2e%2e/%2e%2e/secret.json".to_owned(),
    ];
    for target in &cases {
        let (status, body) = server.raw("GET", target).await;
        assert_eq!(status, 400, "{target}: {body}");
        let body: Value =
            serde_json::from_str(&body).unwrap_or_else(|_| panic!("{target}: {body}"));
        assert!(body["error"].is_string(), "{target}: {body}");
    }
    // The server is still answering, and the file outside the tasks dir is untouched.
    let (status, _) = server.raw("GET", "/api/sessions").await;
    assert_eq!(status, 200);
    assert_eq!(
        std::fs::read_to_string(server.tree.path("secret.json")).unwrap(),
        "{\"id\":\"1\"}"
    );
}

#[tokio::test]
async fn unknown_api_routes_and_methods_are_json() {
    let server = TestServer::start(board()).await;
    let (status, body) = server.raw("GET", "/api/nope").await;
    assert_eq!((status, body.as_str()), (404, r#"{"error":"Not found"}"#));
    let (status, body) = server.raw("GET", "/api/sessions/a/b/c").await;
    assert_eq!((status, body.as_str()), (404, r#"{"error":"Not found"}"#));
    let (status, body) = server.raw("PUT", "/api/sessions").await;
    assert_eq!(
        (status, body.as_str()),
        (405, r#"{"error":"Method not allowed"}"#)
    );
    let (status, body) = server.raw("GET", "/api/sessions?limit=%ZZ").await;
    assert_eq!(status, 400, "{body}");
}
