//! The browser join page, embedded in the binary and served on the relay's own port.
//!
//! Everything is static and same-origin. The Content-Security-Policy that `http` puts on every
//! answer forbids inline script and any other origin (`connect-src` is the page's own host),
//! so the page cannot be turned into a script-injection vector even by a message that contains
//! HTML (the page inserts received text as text only).

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{self, HeaderValue};
use hyper::{Response, StatusCode};

const INDEX: &str = include_str!("../../assets/web/index.html");
const SCRIPT: &str = include_str!("../../assets/web/app.js");
const STYLE: &str = include_str!("../../assets/web/style.css");
const ICON: &str = include_str!("../../assets/web/favicon.svg");

/// The page's file at `path`, if there is one.
pub(super) fn asset(path: &str) -> Option<Response<Full<Bytes>>> {
    let (body, content_type) = match path {
        "/" | "/index.html" => (INDEX, "text/html; charset=utf-8"),
        "/app.js" => (SCRIPT, "text/javascript; charset=utf-8"),
        "/style.css" => (STYLE, "text/css; charset=utf-8"),
        // Browsers ask for /favicon.ico by themselves; an SVG under either name does.
        "/favicon.svg" | "/favicon.ico" => (ICON, "image/svg+xml"),
        _ => return None,
    };
    let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Some(response)
}
