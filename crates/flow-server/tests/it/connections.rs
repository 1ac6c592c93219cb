//! Connection limits (`Config::limits`): slow or silent clients are cut, a flood of idle
//! connections cannot lock a new client out, a stalled body is answered 408, and live streams
//! outlive every timeout. Raw TCP throughout: a client library would never be this rude.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::security::read_answer;
use crate::support::{ClaudeTree, EVENT_TIMEOUT, TestServer, is_update};

fn tree() -> ClaudeTree {
    let tree = ClaudeTree::new();
    tree.task(
        "s1",
        json!({"id":"1","subject":"a","description":"d","status":"pending","blockedBy":[]}),
    );
    tree
}

/// A server whose limits are set by `limits` on the defaults.
async fn server_with(limits: impl FnOnce(&mut flow_core::config::ConnectionLimits)) -> TestServer {
    let tree = tree();
    let mut config = flow_server::Config::for_claude_dir(tree.root());
    limits(&mut config.limits);
    TestServer::start_with(tree, config).await
}

const fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Reads (and discards) until the server closes the connection; panics past [`EVENT_TIMEOUT`].
async fn await_close(stream: &mut TcpStream) {
    let mut buf = [0u8; 1024];
    let closed = async {
        while let Ok(n) = stream.read(&mut buf).await
            && n > 0
        {}
    };
    tokio::time::timeout(EVENT_TIMEOUT, closed)
        .await
        .expect("the server did not close the connection");
}

fn get(addr: SocketAddr, path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n")
}

#[tokio::test]
async fn slowloris_and_silent_connections_are_closed_at_the_header_timeout() {
    let server = server_with(|l| l.header_timeout = ms(300)).await;
    let start = Instant::now();
    let mut silent = TcpStream::connect(server.addr).await.unwrap();
    let mut slow = TcpStream::connect(server.addr).await.unwrap();
    let head = format!(
        "GET /api/sessions HTTP/1.1\r\nHost: {}\r\nX-Slow: ",
        server.addr
    );
    // The attacker's pace: one byte of a never-ending header every 20 ms.
    let mut pace = tokio::time::interval(ms(20));
    let mut sent = 0;
    let dribble = async {
        let mut buf = [0u8; 64];
        loop {
            tokio::select! {
                _ = pace.tick() => {
                    let byte = head.as_bytes().get(sent).copied().unwrap_or(b'a');
                    if slow.write_all(&[byte]).await.is_err() {
                        return;
                    }
                    sent += 1;
                }
                read = slow.read(&mut buf) => {
                    if matches!(read, Ok(0) | Err(_)) {
                        return;
                    }
                }
            }
        }
    };
    tokio::time::timeout(EVENT_TIMEOUT, dribble)
        .await
        .expect("the slowloris connection was never closed");
    let slow_closed = start.elapsed();
    await_close(&mut silent).await;
    assert!(
        slow_closed >= ms(250),
        "closed by the header timeout, not before: {slow_closed:?}"
    );
    assert!(
        sent > 10,
        "the attacker kept sending until cut ({sent} bytes)"
    );
    // Cut connections cost a normal client nothing.
    assert_eq!(server.get("/api/health").await.status(), 200);
}

#[tokio::test]
async fn keep_alive_connection_is_closed_after_the_idle_timeout_not_the_header_timeout() {
    let server = server_with(|l| {
        l.header_timeout = ms(150);
        l.idle_timeout = ms(800);
    })
    .await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    for _ in 0..2 {
        stream
            .write_all(get(server.addr, "/api/health").as_bytes())
            .await
            .unwrap();
        let (status, _, _) = read_answer(&mut stream).await;
        assert_eq!(status, 200, "the connection is reused");
    }
    let idle_since = Instant::now();
    await_close(&mut stream).await;
    let idle = idle_since.elapsed();
    assert!(idle >= ms(700), "kept for the idle timeout: {idle:?}");
}

#[tokio::test]
async fn stalled_or_dripping_request_body_is_answered_408_at_the_body_timeout() {
    let server = server_with(|l| l.body_timeout = ms(300)).await;
    let addr = server.addr;
    for (what, length, drip) in [("stalled", "100", false), ("dripping", "100", true)] {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let head = format!(
            "POST /api/theme HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
             Content-Length: {length}\r\n\r\n{{\"theme\":"
        );
        let start = Instant::now();
        stream.write_all(head.as_bytes()).await.unwrap();
        let (mut reader, mut writer) = stream.into_split();
        let dripper = tokio::spawn(async move {
            // One more byte of body every 20 ms, never finishing (within 100 bytes).
            let mut pace = tokio::time::interval(ms(20));
            for _ in 0..80 {
                pace.tick().await;
                if !drip || writer.write_all(b" ").await.is_err() {
                    break;
                }
            }
            writer
        });
        let (status, _, body) = read_answer(&mut reader).await;
        let took = start.elapsed();
        assert_eq!(status, 408, "{what}: {body}");
        assert_eq!(
            serde_json::from_str::<Value>(&body).unwrap(),
            json!({"error":"Request body timed out"}),
            "{what}"
        );
        assert!(
            took >= ms(250),
            "{what}: answered at the deadline: {took:?}"
        );
        let mut stream = reader.reunite(dripper.await.unwrap()).unwrap();
        await_close(&mut stream).await;
    }
    assert_eq!(
        server.get_json("/api/theme", 200).await,
        json!({"theme":"system"}),
        "nothing was written"
    );
}

#[tokio::test]
async fn a_body_announced_larger_than_any_request_is_refused_at_once() {
    let server = server_with(|l| l.body_timeout = ms(30_000)).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    let head = format!(
        "POST /api/theme HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
         Content-Length: 10000000000\r\n\r\n{{\"theme\":",
        server.addr
    );
    let start = Instant::now();
    stream.write_all(head.as_bytes()).await.unwrap();
    let (status, _, body) = read_answer(&mut stream).await;
    assert_eq!(status, 413, "{body}");
    assert!(
        start.elapsed() < ms(5_000),
        "not held until the 30 s body deadline"
    );
    assert_eq!(
        server.get_json("/api/theme", 200).await,
        json!({"theme":"system"}),
        "nothing was written"
    );
}

#[tokio::test]
async fn two_thousand_idle_connections_do_not_lock_out_a_new_client() {
    const CAP: usize = 500;
    const WANTED: usize = 2000;
    // Client and server share this process's descriptors: the idle sockets' client ends, the
    // server's (at most CAP), and room for the other tests running beside this one.
    let needed = (WANTED + CAP + 1024) as u64;
    let limit = rlimit::increase_nofile_limit(needed).unwrap_or(1024);
    let n = WANTED.min(usize::try_from(limit).unwrap().saturating_sub(CAP + 1024));
    assert!(
        n > CAP + 100,
        "open-file limit {limit} too low for this test"
    );
    let server = server_with(|l| {
        l.max_connections = Some(CAP);
        // Long timeouts: the cap, not a timeout, is what keeps room here.
        l.header_timeout = Duration::from_secs(60);
        l.idle_timeout = Duration::from_secs(60);
    })
    .await;
    let mut idle = Vec::with_capacity(n);
    for _ in 0..n {
        idle.push(TcpStream::connect(server.addr).await.unwrap());
    }
    assert_eq!(idle.len(), n, "idle connections opened");

    let res = tokio::time::timeout(EVENT_TIMEOUT, server.get("/api/health"))
        .await
        .expect("a new client is answered promptly");
    assert_eq!(res.status(), 200);

    // The server made room by closing the connections idle the longest: all but the newest.
    let evicted = n - CAP;
    let closes = idle[..evicted].iter_mut().map(await_close);
    futures_util::future::join_all(closes).await;
}

#[tokio::test]
async fn when_every_connection_is_busy_a_newcomer_gets_503_at_once() {
    let server = server_with(|l| l.max_connections = Some(2)).await;
    let _streams = (server.sse().await, server.sse().await);
    let start = Instant::now();
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(get(server.addr, "/api/health").as_bytes())
        .await
        .unwrap();
    let (status, head, body) = read_answer(&mut stream).await;
    assert_eq!(status, 503, "{head}{body}");
    assert!(
        head.to_ascii_lowercase().contains("retry-after: 1\r\n"),
        "{head}"
    );
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["error"],
        "Too many connections; retry shortly"
    );
    assert!(start.elapsed() < Duration::from_secs(5), "refused at once");
}

#[tokio::test]
async fn live_streams_outlive_the_header_idle_and_body_timeouts() {
    let server = server_with(|l| {
        l.header_timeout = ms(200);
        l.idle_timeout = ms(400);
        l.body_timeout = ms(200);
    })
    .await;
    let mut sse = server.sse().await;
    let mut ws = server.ws().await;
    // A keep-alive connection opened after the streams: once the server closes it, the
    // streams too have been silent for longer than every timeout.
    let mut sentinel = TcpStream::connect(server.addr).await.unwrap();
    sentinel
        .write_all(get(server.addr, "/api/health").as_bytes())
        .await
        .unwrap();
    assert_eq!(read_answer(&mut sentinel).await.0, 200);
    await_close(&mut sentinel).await;

    for round in 0..2 {
        let subject = format!("after the timeouts, round {round}");
        server.tree.task(
            "s1",
            json!({"id":"1","subject":subject,"description":"d","status":"pending","blockedBy":[]}),
        );
        let seen = |e: &Value| is_update(e, "change", "s1", Some("1.json"));
        let (event, _) = sse.until(seen).await;
        assert_eq!(event["task"]["subject"], subject.as_str());
        let (event, _) = ws.until(seen).await;
        assert_eq!(event["task"]["subject"], subject.as_str());
    }
}
