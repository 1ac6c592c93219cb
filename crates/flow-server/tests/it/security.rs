//! The network guard: DNS rebinding, cross-site writes and socket hijacking, tokens.

use serde_json::{Value, json};

use crate::support::{ClaudeTree, TestServer};

fn tree() -> ClaudeTree {
    let tree = ClaudeTree::new();
    tree.task(
        "s1",
        json!({"id":"1","subject":"a","description":"d","status":"pending","blockedBy":[]}),
    );
    tree
}

#[tokio::test]
async fn foreign_host_is_refused_on_reads_writes_and_websocket() {
    let server = TestServer::start(tree()).await;
    let evil = "Host: attacker.example:3456";
    for (method, target, extra) in [
        ("GET", "/api/sessions", vec![]),
        ("GET", "/", vec![]),
        (
            "POST",
            "/api/tasks/s1/1/note",
            vec!["Content-Type: application/json"],
        ),
        (
            "GET",
            "/api/ws",
            vec![
                "Upgrade: websocket",
                "Connection: Upgrade",
                "Sec-WebSocket-Version: 13",
                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
            ],
        ),
    ] {
        let mut headers = vec![evil];
        headers.extend(extra);
        let (status, body) = server
            .raw_with(method, target, &headers, br#"{"note":"x"}"#)
            .await;
        assert_eq!(status, 403, "{method} {target}: {body}");
        assert_eq!(
            serde_json::from_str::<Value>(&body).unwrap(),
            json!({"error":"Host not allowed"})
        );
    }
    for ok in ["Host: localhost:1", "Host: 127.0.0.1", "Host: [::1]:3456"] {
        let (status, _) = server.raw_with("GET", "/api/sessions", &[ok], b"").await;
        assert_eq!(status, 200, "{ok}");
    }
    let desc = server.get_json("/api/sessions/s1", 200).await[0]["description"].clone();
    assert_eq!(desc, "d", "nothing was written");
}

#[tokio::test]
async fn cross_origin_writes_and_websockets_are_refused() {
    let server = TestServer::start(tree()).await;
    let host = format!("Host: {}", server.addr);
    let same = format!("Origin: http://{}", server.addr);
    let ct = "Content-Type: application/json";
    let note = br#"{"note":"from evil"}"#;
    for (origin, want) in [
        ("Origin: https://evil.example", 403),
        ("Origin: null", 403),
        ("Origin: http://127.0.0.1:1", 403),
        (same.as_str(), 200),
    ] {
        let (status, body) = server
            .raw_with("POST", "/api/tasks/s1/1/note", &[&host, ct, origin], note)
            .await;
        assert_eq!(status, want, "{origin}: {body}");
    }
    let (status, _) = server
        .raw_with(
            "POST",
            "/api/tasks/s1/1/note",
            &[&host, ct, "Sec-Fetch-Site: cross-site"],
            note,
        )
        .await;
    assert_eq!(status, 403);
    let (status, _) = server
        .raw_with(
            "GET",
            "/api/sessions",
            &[&host, "Sec-Fetch-Site: cross-site"],
            b"",
        )
        .await;
    assert_eq!(status, 403, "cross-site reads of the API are refused too");

    let ws_headers = |origin: &'static str| {
        vec![
            origin,
            "Upgrade: websocket",
            "Connection: Upgrade",
            "Sec-WebSocket-Version: 13",
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
        ]
    };
    let mut hijack = vec![host.as_str()];
    hijack.extend(ws_headers("Origin: https://evil.example"));
    let (status, _) = server.raw_with("GET", "/api/ws", &hijack, b"").await;
    assert_eq!(status, 403, "a foreign page cannot open the socket");

    let tasks = server.get_json("/api/sessions/s1", 200).await;
    let desc = tasks[0]["description"].as_str().unwrap();
    assert_eq!(
        desc.matches("from evil").count(),
        1,
        "only the same-origin note landed"
    );
}

#[tokio::test]
async fn token_guards_the_api_and_the_link_sets_a_cookie() {
    let tree = tree();
    let mut config = flow_server::Config::for_claude_dir(tree.root());
    config.token = Some("s3cret".into());
    let server = TestServer::start_with(tree, config).await;
    let res = server.get("/api/sessions").await;
    assert_eq!(res.status(), 401);
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({"error":"Missing or invalid token"})
    );
    let ok = server
        .client
        .get(server.url("/api/sessions"))
        .bearer_auth("s3cret")
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let wrong = server
        .client
        .get(server.url("/api/sessions"))
        .bearer_auth("s3cre")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    assert_eq!(
        server.get("/").await.status(),
        200,
        "the page itself holds no data"
    );

    let no_redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let link = no_redirect
        .get(server.url("/?token=s3cret"))
        .send()
        .await
        .unwrap();
    assert_eq!(link.status(), 303);
    assert_eq!(link.headers()["location"], "/");
    let cookie = link.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let pair = cookie.split(';').next().unwrap();
    let with_cookie = server
        .client
        .get(server.url("/api/sessions"))
        .header("cookie", pair)
        .send()
        .await
        .unwrap();
    assert_eq!(with_cookie.status(), 200);
    let bad_link = no_redirect
        .get(server.url("/?token=nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad_link.status(), 401);
}

#[tokio::test]
async fn ui_carries_security_headers() {
    let server = TestServer::start(tree()).await;
    let res = server.get("/").await;
    let h = res.headers();
    let csp = h["content-security-policy"].to_str().unwrap();
    for part in [
        "script-src 'self'",
        "frame-ancestors 'none'",
        "default-src 'self'",
    ] {
        assert!(csp.contains(part), "{csp}");
    }
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["referrer-policy"], "no-referrer");
}

/// Sends `request` verbatim on a new connection and reads one answer (see [`read_answer`]).
async fn exchange(addr: std::net::SocketAddr, request: &str) -> (u16, String, String) {
    use tokio::io::AsyncWriteExt;
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    read_answer(&mut stream).await
}

/// Reads one answer: the status, the head, and the body when it has a `Content-Length` (a 101
/// or an event stream has none and stays open; only its head is read). Bounded, so a server
/// that never answers fails the test instead of hanging it.
pub(crate) async fn read_answer(
    stream: &mut (impl tokio::io::AsyncRead + Unpin),
) -> (u16, String, String) {
    use tokio::io::AsyncReadExt;
    let read = async {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            let n = stream.read(&mut chunk).await.unwrap();
            assert!(n > 0, "closed before a full head: {buf:?}");
            buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        let len = head.lines().find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse::<usize>().unwrap())
        });
        let mut body = buf[head_end..].to_vec();
        if let Some(len) = len {
            while body.len() < len {
                let n = stream.read(&mut chunk).await.unwrap();
                assert!(n > 0, "closed inside the body");
                body.extend_from_slice(&chunk[..n]);
            }
        }
        (head, String::from_utf8_lossy(&body).into_owned())
    };
    let (head, body) = tokio::time::timeout(crate::support::EVENT_TIMEOUT, read)
        .await
        .expect("no answer within the timeout");
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, head, body)
}

/// One request per route kind the guard must cover: an API write, the event stream, the
/// WebSocket upgrade and a static file, with the status each answers when allowed.
fn guarded_routes() -> Vec<(&'static str, &'static str, &'static str, &'static str, u16)> {
    let json = "Content-Type: application/json\r\n";
    let ws = "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\
              Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
    vec![
        ("POST", "/api/theme", json, r#"{"theme":"dark"}"#, 200),
        ("GET", "/api/events", "", "", 200),
        ("GET", "/api/ws", ws, "", 101),
        ("GET", "/style.css", "", "", 200),
    ]
}

fn request(method: &str, target: &str, hosts: &[&str], extra: &str, body: &str) -> String {
    let mut req = format!("{method} {target} HTTP/1.1\r\n");
    for host in hosts {
        req.push_str(&format!("Host: {host}\r\n"));
    }
    req.push_str(extra);
    if !body.is_empty() {
        req.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    req.push_str("\r\n");
    req.push_str(body);
    req
}

#[tokio::test]
async fn absolute_form_target_is_judged_by_its_authority_not_host() {
    let server = TestServer::start(tree()).await;
    let ours = server.addr.to_string();
    for (method, path, extra, body, served) in guarded_routes() {
        // A foreign authority behind our own Host: refused like a foreign Host (rebinding).
        let target = format!("http://attacker.example:{}{path}", server.addr.port());
        let req = request(method, &target, &[&ours], extra, body);
        let (status, head, text) = exchange(server.addr, &req).await;
        assert_eq!(status, 403, "{method} {target}: {head}{text}");
        assert_eq!(
            serde_json::from_str::<Value>(&text).unwrap(),
            json!({"error":"Host not allowed"})
        );
        // Our authority wins over any Host (RFC 9112 §3.2.2), so the request is served.
        let target = format!("http://{ours}{path}");
        let req = request(method, &target, &["attacker.example"], extra, body);
        let (status, head, _) = exchange(server.addr, &req).await;
        assert_eq!(status, served, "{method} {target}: {head}");
    }
    let theme = server.get_json("/api/theme", 200).await;
    assert_eq!(
        theme,
        json!({"theme":"dark"}),
        "only the served write landed"
    );
}

#[tokio::test]
async fn two_host_headers_are_malformed_whichever_comes_first() {
    let server = TestServer::start(tree()).await;
    let ours = server.addr.to_string();
    for (method, path, extra, body, served) in guarded_routes() {
        for hosts in [
            [ours.as_str(), "attacker.example"],
            ["attacker.example", &ours],
        ] {
            let req = request(method, path, &hosts, extra, body);
            let (status, head, text) = exchange(server.addr, &req).await;
            assert_eq!(status, 400, "{method} {path} {hosts:?}: {head}{text}");
            assert_eq!(
                serde_json::from_str::<Value>(&text).unwrap(),
                json!({"error":"More than one Host header"})
            );
        }
        let (status, head, _) =
            exchange(server.addr, &request(method, path, &[&ours], extra, body)).await;
        assert_eq!(status, served, "one Host: {method} {path}: {head}");
    }
}
