//! A minimal keep-alive HTTP/1.1 client shared by the benchmarks: the point is to measure the
//! server, not a client library.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// `GET /api/events` on a connection of its own, answered as raw lines (headers first, then
/// the stream's `id:`/`data:` lines): the benches parse only what they time.
pub(crate) async fn sse_lines(addr: SocketAddr) -> tokio::io::Lines<BufReader<TcpStream>> {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.set_nodelay(true).unwrap();
    let req =
        format!("GET /api/events HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n\r\n");
    stream.write_all(req.as_bytes()).await.unwrap();
    BufReader::new(stream).lines()
}

pub(crate) struct Conn {
    reader: BufReader<TcpStream>,
    addr: SocketAddr,
}

impl Conn {
    pub(crate) async fn open(addr: SocketAddr) -> Option<Self> {
        let stream = TcpStream::connect(addr).await.ok()?;
        stream.set_nodelay(true).ok()?;
        Some(Self {
            reader: BufReader::new(stream),
            addr,
        })
    }

    /// Sends one request (a JSON body when `body` is not empty) and reads the whole response.
    pub(crate) async fn send(&mut self, method: &str, path: &str, body: &str) -> (u16, Vec<u8>) {
        let addr = self.addr;
        let req = if body.is_empty() {
            format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n")
        } else {
            format!(
                "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )
        };
        self.reader
            .get_mut()
            .write_all(req.as_bytes())
            .await
            .unwrap();
        let mut line = String::new();
        self.reader.read_line(&mut line).await.unwrap();
        let status = line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let mut len = 0;
        loop {
            line.clear();
            self.reader.read_line(&mut line).await.unwrap();
            if line == "\r\n" {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                len = v.trim().parse().unwrap();
            }
        }
        let mut out = vec![0; len];
        self.reader.read_exact(&mut out).await.unwrap();
        (status, out)
    }

    pub(crate) async fn get(&mut self, path: &str) -> (u16, Vec<u8>) {
        self.send("GET", path, "").await
    }
}

/// Polls until `/api/sessions?limit=all` lists `expect` sessions; returns that instant (the
/// end of a cold start as a client sees it).
pub(crate) async fn first_complete_answer(addr: SocketAddr, expect: usize) -> Instant {
    loop {
        if let Some(mut conn) = Conn::open(addr).await {
            let (status, body) = conn.get("/api/sessions?limit=all").await;
            let listed = String::from_utf8_lossy(&body)
                .matches("\"taskCount\"")
                .count();
            if status == 200 && listed == expect {
                return Instant::now();
            }
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
