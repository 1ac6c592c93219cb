//! The web UI: embedded in the binary, or read from `PUBLIC_DIR` when the user brings their own
//! front end. Every asset carries an `ETag` (a repeat visit is a 304) and security headers.

use std::path::{Component, Path, PathBuf};

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use rust_embed::Embed;

use crate::state::AppState;

#[derive(Embed)]
#[folder = "../../web/public/"]
struct Embedded;

/// The embedded UI is ours, so its policy is strict: no inline script, nothing third-party.
const EMBEDDED_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
    img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; \
    base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
/// A `PUBLIC_DIR` front end is the user's own: only what is safe for any page.
const PUBLIC_DIR_CSP: &str = "frame-ancestors 'none'";

struct Asset {
    bytes: std::borrow::Cow<'static, [u8]>,
    mime: String,
    etag: String,
}

pub(crate) async fn serve(
    State(app): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return StatusCode::METHOD_NOT_ALLOWED.into_response();
    }
    let Some(rel) = relative_path(uri.path()) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let (asset, csp) = match &app.config.public_dir {
        Some(dir) => (from_dir(dir, &rel).await, PUBLIC_DIR_CSP),
        None => (embedded(&rel), EMBEDDED_CSP),
    };
    let Some(asset) = asset else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|tag| tag.trim() == asset.etag));
    let mut res = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut res = Response::new(Body::from(asset.bytes));
        if let Ok(mime) = HeaderValue::from_str(&asset.mime) {
            res.headers_mut().insert(header::CONTENT_TYPE, mime);
        }
        res
    };
    let h = res.headers_mut();
    if let Ok(etag) = HeaderValue::from_str(&asset.etag) {
        h.insert(header::ETAG, etag);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(csp),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    res
}

/// `/` → `index.html`; any segment that is empty, a dot segment, or carries a separator or NUL
/// after decoding makes the path unservable.
fn relative_path(path: &str) -> Option<PathBuf> {
    let decoded = percent_encoding::percent_decode_str(path)
        .decode_utf8()
        .ok()?;
    let trimmed = decoded.trim_start_matches('/');
    let rel = if trimmed.is_empty() || trimmed.ends_with('/') {
        PathBuf::from(trimmed).join("index.html")
    } else {
        PathBuf::from(trimmed)
    };
    let plain = !decoded.contains(['\\', '\0'])
        && rel.components().all(|c| matches!(c, Component::Normal(_)));
    plain.then_some(rel)
}

fn embedded(rel: &Path) -> Option<Asset> {
    let file = Embedded::get(rel.to_str()?)?;
    let hash: String = file.metadata.sha256_hash()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Some(Asset {
        mime: content_type(rel),
        etag: format!("\"{hash}\""),
        bytes: file.data,
    })
}

async fn from_dir(dir: &Path, rel: &Path) -> Option<Asset> {
    let path = dir.join(rel);
    let meta = tokio::fs::metadata(&path).await.ok()?;
    if !meta.is_file() {
        return None;
    }
    let bytes = tokio::fs::read(&path).await.ok()?;
    let modified = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    Some(Asset {
        mime: content_type(rel),
        etag: format!("\"{:x}-{modified:x}\"", bytes.len()),
        bytes: bytes.into(),
    })
}

/// The `Content-Type` for a file name; text is declared UTF-8 (the only encoding a web UI
/// should need), anything unknown is opaque bytes.
fn content_type(rel: &Path) -> String {
    let mime = mime_guess::from_path(rel).first_or_octet_stream();
    let is_text = mime.type_() == mime_guess::mime::TEXT
        || mime.subtype() == mime_guess::mime::JAVASCRIPT
        || mime.subtype() == mime_guess::mime::JSON;
    if is_text && mime.get_param(mime_guess::mime::CHARSET).is_none() {
        format!("{mime}; charset=utf-8")
    } else {
        mime.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_utf8_and_the_unknown_is_opaque() {
        let of = |name: &str| content_type(Path::new(name));
        assert_eq!(of("index.html"), "text/html; charset=utf-8");
        assert_eq!(of("app.js"), "text/javascript; charset=utf-8");
        assert_eq!(of("style.css"), "text/css; charset=utf-8");
        assert_eq!(of("data.json"), "application/json; charset=utf-8");
        assert_eq!(of("shot.png"), "image/png");
        assert_eq!(of("icon.svg"), "image/svg+xml");
        assert_eq!(of("blob.weird"), "application/octet-stream");
    }

    #[test]
    fn paths_map_to_files_or_nothing() {
        assert_eq!(relative_path("/"), Some(PathBuf::from("index.html")));
        assert_eq!(relative_path("/app.js"), Some(PathBuf::from("app.js")));
        assert_eq!(
            relative_path("/css/a.css"),
            Some(PathBuf::from("css/a.css"))
        );
        for hostile in [
            "/../x",
            "/%2e%2e/x",
            "/a/%2E%2E/b",
            "/a%5Cb",
            "/a%00b",
            "/%FF",
        ] {
            assert_eq!(relative_path(hostile), None, "{hostile}");
        }
    }
}
