//! The HTTP side of the relay: one hyper connection per TCP socket, the WebSocket handshake
//! with its checks (path, join code, origin, capacity), and plain HTTP answers for the rest.
//!
//! Every refusal happens here, before a WebSocket exists, with a status code and a one-line
//! text body a person can read: 401 wrong join code, 403 origin, 404 path, 503 full.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};

use super::connection::{self, Accepted};
use super::limits::Slot;
use super::state::{Shared, metrics_text};
use crate::protocol::{Dialect, Endpoint, SUBPROTOCOL};

/// Largest HTTP request head accepted; a handshake needs far less.
const MAX_REQUEST_HEAD: usize = 16 * 1024;

/// Serves one TCP connection until it is upgraded, closed, or the relay shuts down.
pub(super) async fn serve_tcp(stream: TcpStream, peer_addr: SocketAddr, shared: Arc<Shared>) {
    let Some(_pending) = shared
        .guard
        .admit(peer_addr.ip(), shared.config.max_pending_per_address)
    else {
        shared.counters.refused();
        tracing::info!(%peer_addr, "refused: too many unfinished connections from this address");
        return;
    };
    // Chat frames are small and latency matters more than packet count.
    stream.set_nodelay(true).ok();
    if shared.config.send_buffer_bytes > 0
        && let Err(e) =
            socket2::SockRef::from(&stream).set_send_buffer_size(shared.config.send_buffer_bytes)
    {
        tracing::debug!(%peer_addr, "could not set the send buffer size: {e}");
    }
    let service_shared = Arc::clone(&shared);
    let service = service_fn(move |req| {
        let shared = Arc::clone(&service_shared);
        async move { Ok::<_, Infallible>(handle(req, peer_addr, &shared)) }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(shared.config.handshake_timeout)
        .max_buf_size(MAX_REQUEST_HEAD);
    let conn = builder
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    tokio::select! {
        result = conn => {
            if let Err(e) = result {
                tracing::debug!(%peer_addr, "HTTP connection ended: {e}");
            }
        }
        () = shared.shutdown.cancelled() => {}
    }
}

fn text_response(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

fn refuse(
    shared: &Shared,
    peer_addr: SocketAddr,
    status: StatusCode,
    body: &'static str,
) -> Response<Full<Bytes>> {
    shared.counters.refused();
    tracing::info!(%peer_addr, status = status.as_u16(), "refused: {}", body.trim_end());
    text_response(status, body)
}

fn header_has_token(headers: &HeaderMap, name: header::HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

fn handle(
    req: Request<Incoming>,
    peer_addr: SocketAddr,
    shared: &Arc<Shared>,
) -> Response<Full<Bytes>> {
    let path = req.uri().path();
    let endpoint = match Endpoint::from_path(path) {
        Some(endpoint) => endpoint,
        None if path == "/metrics" && shared.config.metrics => {
            let mut response = Response::new(Full::new(Bytes::from(metrics_text(&shared.stats()))));
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
            );
            return response;
        }
        None => {
            return super::web::asset(path)
                .unwrap_or_else(|| text_response(StatusCode::NOT_FOUND, "no such page\n"));
        }
    };
    let headers = req.headers();
    let is_upgrade = req.method() == hyper::Method::GET
        && header_has_token(headers, header::CONNECTION, "upgrade")
        && header_has_token(headers, header::UPGRADE, "websocket");
    let Some(key) = headers
        .get(header::SEC_WEBSOCKET_KEY)
        .filter(|_| is_upgrade)
    else {
        return text_response(
            StatusCode::UPGRADE_REQUIRED,
            "this address takes WebSocket connections only\n",
        );
    };
    if headers
        .get(header::SEC_WEBSOCKET_VERSION)
        .is_none_or(|v| v.as_bytes() != b"13")
    {
        return refuse(
            shared,
            peer_addr,
            StatusCode::BAD_REQUEST,
            "unsupported WebSocket version (13 is required)\n",
        );
    }
    let config = &shared.config;
    if !config.allowed_origins.is_empty()
        && let Some(origin) = headers.get(header::ORIGIN)
        && !config
            .allowed_origins
            .iter()
            .any(|allowed| allowed.as_bytes() == origin.as_bytes())
    {
        return refuse(
            shared,
            peer_addr,
            StatusCode::FORBIDDEN,
            "origin not allowed\n",
        );
    }

    let mut name = None;
    let mut code = None;
    if let Some(query) = req.uri().query() {
        for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
            match k.as_ref() {
                "name" if !v.is_empty() => name = Some(v.into_owned()),
                "code" => code = Some(v.into_owned()),
                _ => {}
            }
        }
    }
    if config.join_code.is_some() && shared.guard.blocked(peer_addr.ip(), Instant::now()) {
        return refuse(
            shared,
            peer_addr,
            StatusCode::TOO_MANY_REQUESTS,
            "too many wrong join codes; wait a minute and try again\n",
        );
    }
    if let Some(expected) = &config.join_code
        && code.as_deref() != Some(expected.as_str())
    {
        shared.guard.wrong_code(peer_addr.ip(), Instant::now());
        return refuse(
            shared,
            peer_addr,
            StatusCode::UNAUTHORIZED,
            "wrong or missing join code\n",
        );
    }
    let Some(slot) = Slot::take(shared) else {
        return refuse(
            shared,
            peer_addr,
            StatusCode::SERVICE_UNAVAILABLE,
            "the chat is full, try again later\n",
        );
    };

    let extended = header_has_token(headers, header::SEC_WEBSOCKET_PROTOCOL, SUBPROTOCOL);
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let out = response.headers_mut();
    out.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    out.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    if let Ok(accept) = HeaderValue::from_str(&derive_accept_key(key.as_bytes())) {
        out.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
    }
    if extended {
        out.insert(
            header::SEC_WEBSOCKET_PROTOCOL,
            HeaderValue::from_static(SUBPROTOCOL),
        );
    }

    let ws_config = WebSocketConfig::default()
        .read_buffer_size(config.read_buffer_bytes)
        .write_buffer_size(8 * 1024)
        .max_write_buffer_size(config.max_message_bytes.saturating_mul(4).max(1 << 20))
        .max_message_size(Some(config.max_message_bytes))
        .max_frame_size(Some(config.max_message_bytes));
    let accepted = Accepted {
        endpoint,
        dialect: if extended { Dialect::V1 } else { Dialect::Seed },
        name,
        peer_addr,
    };
    let task_shared = Arc::clone(shared);
    shared.tasks.spawn(async move {
        let upgraded = tokio::select! {
            upgraded = hyper::upgrade::on(req) => upgraded,
            () = task_shared.shutdown.cancelled() => return,
        };
        match upgraded {
            Ok(upgraded) => {
                let ws = WebSocketStream::from_raw_socket(
                    TokioIo::new(upgraded),
                    Role::Server,
                    Some(ws_config),
                )
                .await;
                connection::run(ws, accepted, &task_shared).await;
            }
            Err(e) => tracing::debug!(%peer_addr, "upgrade failed: {e}"),
        }
        drop(slot);
    });
    response
}
