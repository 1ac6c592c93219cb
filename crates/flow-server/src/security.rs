//! The network guard in front of every route, the WebSocket upgrade, the event stream and the
//! static files included. Flow runs next to a browser that visits arbitrary sites, so:
//! - the authority a request is addressed to (an absolute-form target's, which overrides `Host`
//!   as RFC 9112 §3.2.2 says, else the one `Host` header) that is a domain name other than
//!   `localhost` (or a configured `--allowed-host`) is refused: that is what a DNS-rebinding
//!   page sends (an IP literal cannot be rebound); two `Host` headers are malformed (400), so
//!   the guard and whatever reads `Host` later can never disagree;
//! - a request that changes state, and any WebSocket upgrade, whose `Origin` is not this very
//!   origin (or an allowed host), or that a browser marks `Sec-Fetch-Site: cross-site`, is
//!   refused: that is cross-site request forgery or socket hijacking;
//! - with a token configured, every `/api` and `/mcp` call must present it (bearer header or the cookie
//!   set by the one-time `/?token=` link).

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::state::AppState;

const TOKEN_COOKIE: &str = "flow_token";

pub(crate) async fn guard(State(app): State<AppState>, req: Request, next: Next) -> Response {
    let headers = req.headers();
    let host = match target_authority(req.uri(), headers) {
        Ok(host) => host,
        Err(err) => return err.into_response(),
    };
    let Some(host) = host.filter(|h| host_allowed(h, &app.config.allowed_hosts)) else {
        return ApiError::Forbidden("Host not allowed").into_response();
    };
    // `/mcp` is the API by another protocol (contract §8): the same token and cross-site rules.
    let path = req.uri().path();
    let is_api = path.starts_with("/api") || path == "/mcp" || path.starts_with("/mcp/");
    let upgrade = headers
        .get(header::UPGRADE)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"websocket"));
    let changes_state = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let cross_site = headers
        .get("sec-fetch-site")
        .is_some_and(|v| v.as_bytes() == b"cross-site");
    if (is_api || upgrade) && cross_site {
        return ApiError::Forbidden("Cross-site request refused").into_response();
    }
    if (changes_state || upgrade) && !origin_allowed(headers, host, &app.config.allowed_hosts) {
        return ApiError::Forbidden("Cross-origin request refused").into_response();
    }
    // A body announced larger than any request takes is refused before a byte of it is read,
    // not waited for until the body deadline.
    let announced = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if announced.is_some_and(|len| len > crate::routes::BODY_LIMIT as u64) {
        return ApiError::TooLarge(crate::routes::BODY_LIMIT).into_response();
    }
    if let Some(token) = app.config.token.as_deref() {
        if req.uri().path() == "/"
            && let Some(res) = token_link(req.uri().query(), token)
        {
            return res;
        }
        if is_api && !presents_token(headers, token) {
            return ApiError::Unauthorized.into_response();
        }
    }
    next.run(req).await
}

/// The authority the request is addressed to: an absolute-form target's (`GET http://a/ …`),
/// which overrides `Host` (RFC 9112 §3.2.2), else the `Host` header. More than one `Host` header
/// is a 400 (RFC 9112 §3.2), whatever the target.
fn target_authority<'a>(uri: &'a Uri, headers: &'a HeaderMap) -> Result<Option<&'a str>, ApiError> {
    let mut hosts = headers.get_all(header::HOST).iter();
    let first = hosts.next();
    if hosts.next().is_some() {
        return Err(ApiError::BadRequest("More than one Host header".into()));
    }
    Ok(match uri.authority() {
        Some(authority) => Some(authority.as_str()),
        None => first.and_then(|v| v.to_str().ok()),
    })
}

/// `host[:port]` is acceptable if it is an IP literal (rebinding needs a name), `localhost`, or
/// explicitly allowed.
fn host_allowed(authority: &str, allowed: &[String]) -> bool {
    let host = strip_port(authority);
    if host.is_empty() {
        return false;
    }
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    // Only `localhost` itself: subdomains of it reach a resolver on some systems, and a
    // hostile one could rebind them.
    bare.parse::<std::net::IpAddr>().is_ok()
        || host.eq_ignore_ascii_case("localhost")
        || allowed.iter().any(|a| a.eq_ignore_ascii_case(host))
}

fn strip_port(authority: &str) -> &str {
    if let Some(rest) = authority.strip_prefix('[') {
        // [v6]:port
        return rest
            .find(']')
            .map_or(authority, |end| &authority[..end + 2]);
    }
    match authority.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => authority,
    }
}

/// No `Origin` (curl, agents) is fine; otherwise it must be this same origin or an allowed host.
fn origin_allowed(headers: &HeaderMap, host: &str, allowed: &[String]) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    let Some(authority) = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
    else {
        return false; // includes the opaque origin "null"
    };
    authority.eq_ignore_ascii_case(host)
        || allowed
            .iter()
            .any(|a| a.eq_ignore_ascii_case(strip_port(authority)))
}

fn presents_token(headers: &HeaderMap, token: &str) -> bool {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let cookie = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| c.trim().strip_prefix(TOKEN_COOKIE)?.strip_prefix('='));
    [bearer, cookie]
        .into_iter()
        .flatten()
        .any(|given| constant_time_eq(given.as_bytes(), token.as_bytes()))
}

/// `/?token=…`: the link Flow prints at start. A correct token becomes an HttpOnly, SameSite
/// cookie and the browser is sent to `/`, so the token leaves the address bar and history.
fn token_link(query: Option<&str>, token: &str) -> Option<Response> {
    let given = query?.split('&').find_map(|kv| kv.strip_prefix("token="))?;
    let given = percent_encoding::percent_decode_str(given)
        .decode_utf8()
        .ok()?;
    if !constant_time_eq(given.as_bytes(), token.as_bytes()) {
        return Some(ApiError::Unauthorized.into_response());
    }
    let cookie = format!("{TOKEN_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/");
    let mut res = StatusCode::SEE_OTHER.into_response();
    res.headers_mut()
        .insert(header::LOCATION, HeaderValue::from_static("/"));
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        res.headers_mut().insert(header::SET_COOKIE, v);
    }
    Some(res)
}

/// Compares without an early exit, so response time does not reveal how much of a guess
/// was right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_that_cannot_be_rebound_are_allowed() {
        let allowed = vec!["flow.lan".to_owned()];
        for ok in [
            "127.0.0.1:3456",
            "localhost",
            "LOCALHOST:1",
            "[::1]:3456",
            "192.168.1.5:3456",
            "flow.lan:3456",
        ] {
            assert!(host_allowed(ok, &allowed), "{ok}");
        }
        for bad in [
            "evil.com",
            "evil.com:3456",
            "localhost.evil.com",
            "app.localhost:80",
            "",
            ":3456",
            "127.0.0.1.nip.io",
        ] {
            assert!(!host_allowed(bad, &allowed), "{bad}");
        }
    }

    #[test]
    fn absolute_form_authority_overrides_host_and_two_hosts_are_malformed() {
        let headers = |hosts: &[&str]| {
            let mut h = HeaderMap::new();
            for host in hosts {
                h.append(header::HOST, HeaderValue::from_str(host).unwrap());
            }
            h
        };
        let origin_form: Uri = "/api/theme".parse().unwrap();
        let absolute: Uri = "http://evil.com/api/theme".parse().unwrap();
        let ours: Uri = "http://127.0.0.1:3456/".parse().unwrap();
        let good = headers(&["127.0.0.1:3456"]);
        fn authority<'a>(uri: &'a Uri, h: &'a HeaderMap) -> Option<&'a str> {
            target_authority(uri, h).ok().flatten()
        }
        assert_eq!(authority(&origin_form, &good), Some("127.0.0.1:3456"));
        assert_eq!(authority(&absolute, &good), Some("evil.com"));
        assert_eq!(
            authority(&ours, &headers(&["evil.com"])),
            Some("127.0.0.1:3456")
        );
        assert_eq!(authority(&origin_form, &HeaderMap::new()), None);
        for uri in [&origin_form, &absolute, &ours] {
            let two = headers(&["127.0.0.1:3456", "evil.com"]);
            assert!(target_authority(uri, &two).is_err(), "{uri}");
        }
        // Userinfo in the authority is not a host this guard accepts.
        let userinfo: Uri = "http://evil.com@127.0.0.1:3456/".parse().unwrap();
        assert!(!host_allowed(authority(&userinfo, &good).unwrap(), &[]));
    }

    #[test]
    fn origin_must_be_this_origin() {
        let with = |origin: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::ORIGIN, HeaderValue::from_str(origin).unwrap());
            h
        };
        let host = "127.0.0.1:3456";
        assert!(origin_allowed(&HeaderMap::new(), host, &[]));
        assert!(origin_allowed(&with("http://127.0.0.1:3456"), host, &[]));
        assert!(!origin_allowed(&with("http://127.0.0.1:5173"), host, &[]));
        assert!(!origin_allowed(&with("https://evil.com"), host, &[]));
        assert!(!origin_allowed(&with("null"), host, &[]));
        assert!(origin_allowed(
            &with("http://flow.lan:8080"),
            host,
            &["flow.lan".into()]
        ));
    }

    #[test]
    fn token_compare_is_exact() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }
}
