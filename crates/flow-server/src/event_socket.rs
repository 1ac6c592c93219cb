//! `GET /api/events` answered on the bare socket instead of through hyper's connection.
//!
//! hyper keeps an 8 KiB read buffer and an 8 KiB write buffer for every connection as long as it
//! is open. An event stream reads nothing after its request and writes only the hub's shared
//! bytes, so at 5,000 open streams those buffers were most of the server's memory (about 16 of
//! the 18 KiB each stream cost). So the first request of a fresh connection is peeked at: if it
//! is a plain `GET /api/events` whose head arrived whole, it is parsed here by httparse (hyper's
//! own parser), answered by the same router (every check, the same handler, the same
//! response), and the response is written straight to the socket: the head once, then each
//! frame's shared bytes as they come. Anything else, or anything unusual about that request (a
//! body, an upgrade, a head split over several packets, a malformed one), goes to hyper
//! untouched, since the bytes were only peeked.
//!
//! The response is delimited by closing the connection (no chunked framing, so every client
//! writes the very same bytes), which every SSE client reads; a client that leaves is noticed at
//! once by the read side reaching its end.

use std::io;

use axum::Router;
use axum::body::Body;
use axum::http::header::{CONNECTION, CONTENT_LENGTH, TRANSFER_ENCODING, UPGRADE};
use axum::http::{HeaderName, HeaderValue, Method, Request, Response, Version};
use futures_util::StreamExt;
use hyper::body::Body as _;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

/// The most of a request head looked at; a longer one goes to hyper.
const PEEK: usize = 8 * 1024;
/// The most headers parsed; more go to hyper (whose own limit is 100).
const MAX_HEADERS: usize = 64;
/// An answer other than the stream itself (a refusal) is at most this long.
const MAX_ANSWER: usize = 64 * 1024;

/// What became of a fresh connection.
pub(crate) enum Taken {
    /// Not an event stream (or not one served here): hyper serves it, from its first byte.
    Hyper(TcpStream),
    /// Served here, or closed before it sent a request: nothing left to do.
    Done,
}

/// Waits for the connection's first bytes (until `waited` resolves: a header timeout or an
/// eviction), and serves it here if they are a whole `GET /api/events` head.
/// `busy` is called once the request is taken, so the connection is never cut as idle.
pub(crate) async fn take(
    stream: TcpStream,
    router: &Router,
    waited: impl Future<Output = ()>,
    busy: impl FnOnce(),
    shutdown: &CancellationToken,
) -> Taken {
    // The buffer is taken only once bytes are there: thousands of clients connecting at once
    // must not each hold one while they wait (freed, it would still stay in the heap).
    let mut waited = std::pin::pin!(waited);
    tokio::select! {
        readable = stream.readable() => if readable.is_err() { return Taken::Done },
        () = &mut waited => return Taken::Done,
        () = shutdown.cancelled() => return Taken::Done,
    }
    let mut head = vec![0; PEEK];
    // Readiness can be a false alarm: the peek may still wait, as long as the request may.
    let peeked = tokio::select! {
        peeked = stream.peek(&mut head) => peeked,
        () = waited => return Taken::Done,
        () = shutdown.cancelled() => return Taken::Done,
    };
    let len = match peeked {
        Ok(0) | Err(_) => return Taken::Done,
        Ok(n) => n,
    };
    let Some((request, head_len)) = event_stream_request(&head[..len]) else {
        return Taken::Hyper(stream);
    };
    busy();
    serve(stream, head, head_len, router, request, shutdown).await;
    Taken::Done
}

async fn serve(
    mut stream: TcpStream,
    mut head: Vec<u8>,
    head_len: usize,
    router: &Router,
    request: Request<Body>,
    shutdown: &CancellationToken,
) {
    // The head is already in the socket's buffer: taking it off does not wait.
    if stream.read_exact(&mut head[..head_len]).await.is_err() {
        return;
    }
    drop(head);
    // Each frame is one whole event: send it at once.
    let _ = stream.set_nodelay(true);
    let response = crate::in_process::respond(router.clone(), request).await;
    if let Err(err) = write_response(&mut stream, response, shutdown).await {
        tracing::debug!(%err, "event stream ended");
    }
    let _ = stream.shutdown().await;
}

/// The request, and the length of its head, if `bytes` hold a whole head of a request served
/// here: `GET /api/events` (any query) without a body or an upgrade.
fn event_stream_request(bytes: &[u8]) -> Option<(Request<Body>, usize)> {
    // Most connections are not event streams; say so without parsing.
    let rest = bytes.strip_prefix(b"GET /api/events")?;
    if !matches!(rest.first(), Some(b' ' | b'?')) {
        return None;
    }
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut parsed = httparse::Request::new(&mut headers);
    let httparse::Status::Complete(head_len) = parsed.parse(bytes).ok()? else {
        return None;
    };
    let version = match parsed.version? {
        0 => Version::HTTP_10,
        1 => Version::HTTP_11,
        _ => return None,
    };
    let mut request = Request::builder()
        .method(Method::GET)
        .uri(parsed.path?)
        .version(version);
    for header in parsed.headers.iter() {
        let name = HeaderName::from_bytes(header.name.as_bytes()).ok()?;
        let has_body =
            (name == CONTENT_LENGTH && header.value != b"0") || name == TRANSFER_ENCODING;
        if has_body || name == UPGRADE {
            return None;
        }
        request = request.header(name, HeaderValue::from_bytes(header.value).ok()?);
    }
    Some((request.body(Body::empty()).ok()?, head_len))
}

/// Writes `response` and, for a stream, every frame until it ends or the client leaves.
async fn write_response(
    stream: &mut TcpStream,
    response: Response<Body>,
    shutdown: &CancellationToken,
) -> io::Result<()> {
    let (parts, body) = response.into_parts();
    let length = body.size_hint().exact();
    let mut head = Vec::with_capacity(512);
    head.extend_from_slice(b"HTTP/1.1 ");
    head.extend_from_slice(parts.status.as_str().as_bytes());
    head.push(b' ');
    head.extend_from_slice(parts.status.canonical_reason().unwrap_or("").as_bytes());
    head.extend_from_slice(b"\r\n");
    for (name, value) in &parts.headers {
        if name == CONNECTION || name == CONTENT_LENGTH || name == TRANSFER_ENCODING {
            continue;
        }
        head.extend_from_slice(name.as_str().as_bytes());
        head.extend_from_slice(b": ");
        head.extend_from_slice(value.as_bytes());
        head.extend_from_slice(b"\r\n");
    }
    head.extend_from_slice(b"date: ");
    head.extend_from_slice(httpdate::fmt_http_date(std::time::SystemTime::now()).as_bytes());
    head.extend_from_slice(b"\r\n");
    if let Some(length) = length {
        // A refusal (403, 401, …): whole, then the connection closes.
        let bytes = axum::body::to_bytes(body, MAX_ANSWER)
            .await
            .map_err(io::Error::other)?;
        head.extend_from_slice(format!("content-length: {length}\r\n").as_bytes());
        head.extend_from_slice(b"connection: close\r\n\r\n");
        head.extend_from_slice(&bytes);
        return stream.write_all(&head).await;
    }
    head.extend_from_slice(b"connection: close\r\n\r\n");
    stream.write_all(&head).await?;
    drop(head);
    let mut frames = body.into_data_stream();
    let mut probe = [0u8; 1];
    loop {
        tokio::select! {
            frame = frames.next() => match frame {
                Some(Ok(bytes)) => write_frame(stream, &bytes, shutdown).await?,
                Some(Err(err)) => return Err(io::Error::other(err)),
                None => return Ok(()),
            },
            // A client says nothing more on an event stream: reading tells when it has gone.
            // Bytes it does send could never be answered (the stream ends only with the
            // connection), and reading them without end would spend the server's CPU: close.
            readable = stream.readable() => {
                readable?;
                match stream.try_read(&mut probe) {
                    Ok(0) => return Ok(()),
                    Ok(_) => return Err(io::Error::other("the client sent bytes on an event stream")),
                    Err(err) if err.kind() == io::ErrorKind::WouldBlock => {}
                    Err(err) => return Err(err),
                }
            }
        }
    }
}

/// One frame, given up on when the client stops reading (as a WebSocket send is) or the
/// server stops: a stream is never cut as idle, so nothing else would free its slot.
async fn write_frame(
    stream: &mut TcpStream,
    bytes: &[u8],
    shutdown: &CancellationToken,
) -> io::Result<()> {
    tokio::select! {
        // The write first: it almost always completes at once, and then neither the timer nor
        // the shutdown wait (one token shared by every stream) is ever registered.
        biased;
        written = tokio::time::timeout(crate::ws::SEND_TIMEOUT, stream.write_all(bytes)) => {
            written.map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "the client stopped reading"))?
        }
        () = shutdown.cancelled() => Err(io::Error::other("the server is stopping")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn taken(head: &str) -> Option<(String, usize)> {
        event_stream_request(head.as_bytes()).map(|(r, len)| (r.uri().to_string(), len))
    }

    #[test]
    fn a_whole_event_stream_head_is_taken_with_its_query_and_headers() {
        let head = "GET /api/events?x=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nLast-Event-ID: 7\r\n\r\n";
        let (request, len) = event_stream_request(head.as_bytes()).unwrap();
        assert_eq!(len, head.len());
        assert_eq!(request.uri(), "/api/events?x=1");
        assert_eq!(request.headers()["last-event-id"], "7");
        assert_eq!(request.version(), Version::HTTP_11);
    }

    #[test]
    fn anything_else_goes_to_hyper() {
        for head in [
            "GET /api/events HTTP/1.1\r\nHost: a\r\n",
            "GET /api/eventsx HTTP/1.1\r\nHost: a\r\n\r\n",
            "GET /api/sessions HTTP/1.1\r\nHost: a\r\n\r\n",
            "POST /api/events HTTP/1.1\r\nHost: a\r\n\r\n",
            "HEAD /api/events HTTP/1.1\r\nHost: a\r\n\r\n",
            "GET /api/events HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc",
            "GET /api/events HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
            "GET /api/events HTTP/1.1\r\nUpgrade: websocket\r\n\r\n",
            "GET /api/events HTTP/1.1\r\nBad Header: x\r\n\r\n",
            "GET /api/events HTTP/2.0\r\n\r\n",
        ] {
            assert_eq!(taken(head), None, "{head:?}");
        }
    }

    #[test]
    fn too_many_headers_go_to_hyper() {
        let mut head = String::from("GET /api/events HTTP/1.1\r\n");
        for i in 0..=MAX_HEADERS {
            head.push_str(&format!("x-{i}: y\r\n"));
        }
        head.push_str("\r\n");
        assert_eq!(taken(&head), None);
    }
}
