//! The HTTP side of the relay: one hyper connection per TCP socket, the WebSocket handshake
//! with its checks (host, origin, join code, capacity), and plain HTTP answers for the rest.
//!
//! Every refusal happens here, before a WebSocket exists, with a status code and a one-line
//! text body a person can read: 401 wrong join code, 403 foreign `Host` or `Origin`, 404 path,
//! 429 cooling down after wrong codes or too many connections from one address, 503 full.
//! Every answer, refusals included, carries the browser security headers ([`secure`]).
//!
//! With a certificate ([`super::RelayConfig::tls`]) every connection first completes a TLS
//! handshake here, in its own task and within the handshake timeout, and then speaks the same
//! HTTP: `https://` for the page, `wss://` for the chat.
//!
//! `POST /api/check?code=…` answers what a handshake with that join code would get, as a small
//! JSON object, so the join page can tell a wrong code from the chat being full (a browser only
//! sees a failed WebSocket). It counts as a guess exactly like a handshake does.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::http::uri::Authority;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};

use super::connection::{self, Accepted};
use super::limits::{BUDGET_PENALTY, Guess, NoSlot, Slot, WrongCode};
use super::peers::Resume;
use super::progress::{Metered, Progress};
use super::state::{Shared, metrics_text};
use crate::protocol::{Dialect, Endpoint, SUBPROTOCOL};
use crate::tls::ServerTls;

/// Largest HTTP request head accepted; a handshake needs far less.
const MAX_REQUEST_HEAD: usize = 16 * 1024;

/// The path of the join-code check.
pub(super) const CHECK_PATH: &str = "/api/check";

type Answer = Response<Full<Bytes>>;

/// Serves one TCP connection until it is upgraded, closed, or the relay shuts down.
pub(super) async fn serve_tcp(stream: TcpStream, peer_addr: SocketAddr, shared: Arc<Shared>) {
    let Some(_pending) = shared
        .guard
        .admit(peer_addr.ip(), shared.config.max_pending_per_address)
    else {
        shared.refused(
            peer_addr,
            "too many unfinished connections from this address",
        );
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
    let Some(acceptor) = shared.config.tls.as_ref().map(ServerTls::acceptor) else {
        serve_http(stream, peer_addr, Arc::clone(&shared), false).await;
        return;
    };
    // In this connection's own task, with the HTTP phase's time limit: a client that stalls
    // or fails its handshake holds up no one else.
    let deadline = tokio::time::Instant::now() + shared.config.handshake_timeout;
    let mut first = [0u8; 1];
    let peeked = tokio::select! {
        peeked = tokio::time::timeout_at(deadline, stream.peek(&mut first)) => peeked,
        () = shared.shutdown.cancelled() => return,
    };
    match peeked {
        Ok(Ok(1)) if first[0] != TLS_HANDSHAKE_RECORD => {
            // Plain HTTP on the TLS port: someone typed `http://` or `ws://`.
            serve_http(stream, peer_addr, Arc::clone(&shared), true).await;
            return;
        }
        Ok(Ok(1)) => {}
        // Closed or failed before saying anything.
        Ok(_) => return,
        Err(_) => {
            shared.refused(peer_addr, "TLS handshake timed out");
            return;
        }
    }
    let accepted = tokio::select! {
        accepted = tokio::time::timeout_at(deadline, acceptor.accept(stream)) => accepted,
        () = shared.shutdown.cancelled() => return,
    };
    match accepted {
        Ok(Ok(stream)) => serve_http(stream, peer_addr, Arc::clone(&shared), false).await,
        Ok(Err(e)) => shared.refused(peer_addr, &format!("TLS handshake failed: {e}")),
        Err(_) => shared.refused(peer_addr, "TLS handshake timed out"),
    }
}

/// The first byte of a TLS connection: the content type of a handshake record.
const TLS_HANDSHAKE_RECORD: u8 = 0x16;

/// Runs HTTP/1.1 on `stream` (plain or TLS) until it is upgraded, closed, or the relay shuts
/// down. With `to_https`, every request is sent to the same address over `https://`: plain
/// HTTP on a relay with a certificate.
async fn serve_http<S>(stream: S, peer_addr: SocketAddr, shared: Arc<Shared>, to_https: bool)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service_shared = Arc::clone(&shared);
    let service = service_fn(move |req| {
        let shared = Arc::clone(&service_shared);
        async move {
            Ok::<_, Infallible>(if to_https {
                redirect_to_https(&req, peer_addr, &shared)
            } else {
                handle(req, peer_addr, &shared).await
            })
        }
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

fn text_response(status: StatusCode, body: &'static str) -> Answer {
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
) -> Answer {
    shared.refused(
        peer_addr,
        &format!("{} {}", status.as_u16(), body.trim_end()),
    );
    text_response(status, body)
}

/// A refusal decided by a check, before it is counted, logged and answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Refusal {
    status: StatusCode,
    body: &'static str,
}

impl Refusal {
    const ORIGIN: Self = Self {
        status: StatusCode::FORBIDDEN,
        body: "origin not allowed\n",
    };
    const COOLING_DOWN: Self = Self {
        status: StatusCode::TOO_MANY_REQUESTS,
        body: "too many wrong join codes; wait a moment and try again\n",
    };
    const WRONG_CODE: Self = Self {
        status: StatusCode::UNAUTHORIZED,
        body: "wrong or missing join code\n",
    };
    const WRONG_HOST_KEY: Self = Self {
        status: StatusCode::UNAUTHORIZED,
        body: "wrong host key\n",
    };

    /// Counts it, logs it (throttled) and answers it.
    fn answer(self, shared: &Shared, peer_addr: SocketAddr) -> Answer {
        refuse(shared, peer_addr, self.status, self.body)
    }
}
fn header_has_token(headers: &HeaderMap, name: header::HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

/// Answers one request and adds the security headers to whatever the answer is.
async fn handle(req: Request<Incoming>, peer_addr: SocketAddr, shared: &Arc<Shared>) -> Answer {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| answers_to(h, shared))
        .map(str::to_owned);
    let mut response = match &host {
        Some(host) => route(req, host, peer_addr, shared).await,
        None => refuse(
            shared,
            peer_addr,
            StatusCode::FORBIDDEN,
            "this relay does not answer to that host name\n",
        ),
    };
    secure(response.headers_mut(), host.as_deref());
    response
}

/// Sends a plain `http://` or `ws://` request to the same address over TLS with a 307 (not a
/// permanent 301: the same port may serve plain HTTP again tomorrow, and a browser would
/// remember). Browsers follow it to the join page; the client library takes it as "use
/// `wss://`". Nothing but the address is answered in plain text.
fn redirect_to_https(req: &Request<Incoming>, peer_addr: SocketAddr, shared: &Shared) -> Answer {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| answers_to(h, shared));
    let mut response = match host {
        Some(host) => {
            let path = req.uri().path_and_query().map_or("/", |p| p.as_str());
            let mut response = text_response(
                StatusCode::TEMPORARY_REDIRECT,
                "this relay speaks https:// and wss:// only\n",
            );
            if let Ok(location) = HeaderValue::from_str(&format!("https://{host}{path}")) {
                response.headers_mut().insert(header::LOCATION, location);
            }
            response
        }
        None => refuse(
            shared,
            peer_addr,
            StatusCode::FORBIDDEN,
            "this relay does not answer to that host name\n",
        ),
    };
    secure(response.headers_mut(), host);
    response
}

/// Adds the headers that keep a browser from running anything but the join page's own files
/// and from talking to anything but this relay: a Content-Security-Policy whose `connect-src`
/// is `host` (the request's own, already checked), `nosniff` and `no-referrer`.
pub(super) fn secure(headers: &mut HeaderMap, host: Option<&str>) {
    let connect = host.map_or_else(String::new, |h| format!(" ws://{h} wss://{h}"));
    let csp = format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         connect-src 'self'{connect}; base-uri 'none'; form-action 'none'; \
         frame-ancestors 'none'"
    );
    if let Ok(csp) = HeaderValue::from_str(&csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
}

async fn route(
    req: Request<Incoming>,
    host: &str,
    peer_addr: SocketAddr,
    shared: &Arc<Shared>,
) -> Answer {
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
        None if path == CHECK_PATH => return check(&req, host, peer_addr, shared).await,
        None => {
            return super::web::asset(path)
                .unwrap_or_else(|| text_response(StatusCode::NOT_FOUND, "no such page\n"));
        }
    };
    let headers = req.headers();
    let is_upgrade = req.method() == Method::GET
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
    if let Err(refusal) = check_origin(headers, host, shared) {
        return refusal.answer(shared, peer_addr);
    }
    let config = &shared.config;

    let mut name = None;
    let mut code = None;
    let mut resume = ResumeQuery::default();
    let mut host_key = None;
    if let Some(query) = req.uri().query() {
        for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
            match k.as_ref() {
                "name" if !v.is_empty() => name = Some(v.into_owned()),
                "code" => code = Some(v.into_owned()),
                "host" if !v.is_empty() => host_key = Some(v.into_owned()),
                other => resume.take(other, &v),
            }
        }
    }
    if let Err(refusal) = check_code(shared, peer_addr, code.as_deref()).await {
        return refusal.answer(shared, peer_addr);
    }
    let host = match check_host_key(shared, peer_addr, host_key.as_deref()) {
        Ok(host) => host,
        Err(refusal) => return refusal.answer(shared, peer_addr),
    };
    let extended = header_has_token(headers, header::SEC_WEBSOCKET_PROTOCOL, SUBPROTOCOL);
    let slot = match Slot::take(shared, peer_addr.ip(), extended) {
        Ok(slot) => slot,
        Err(no) => return no_slot(shared, peer_addr, no),
    };

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
    let progress = Progress::new();
    let accepted = Accepted {
        endpoint,
        dialect: if extended { Dialect::V1 } else { Dialect::Seed },
        name,
        resume: resume.into_resume(),
        host,
        peer_addr,
        progress: Arc::clone(&progress),
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
                    Metered::new(TokioIo::new(upgraded), progress),
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

/// The resume parameters of a handshake: `resume`, `since` and `epoch`.
#[derive(Debug, Default)]
struct ResumeQuery {
    token: Option<String>,
    since: Option<u64>,
    epoch: Option<String>,
}

impl ResumeQuery {
    /// Keeps `key=value` if it is one of the resume parameters.
    fn take(&mut self, key: &str, value: &str) {
        match key {
            "resume" if !value.is_empty() => self.token = Some(value.to_owned()),
            "since" => self.since = value.parse().ok(),
            "epoch" if !value.is_empty() => self.epoch = Some(value.to_owned()),
            _ => {}
        }
    }

    /// A resume request, when a token came; a missing or unreadable `since` means "from the
    /// start", which only recovers while the whole room's history is kept.
    fn into_resume(self) -> Option<Resume> {
        Some(Resume {
            token: self.token?,
            since: self.since.unwrap_or(0),
            epoch: self.epoch,
        })
    }
}

/// Whether the client showed the host key. A wrong key is refused (401) and counted like a
/// wrong join code, under the same cool-down.
fn check_host_key(
    shared: &Shared,
    peer_addr: SocketAddr,
    key: Option<&str>,
) -> Result<bool, Refusal> {
    let Some(key) = key else {
        return Ok(false);
    };
    let ip = peer_addr.ip();
    let now = Instant::now();
    if shared.guard.blocked(ip, now) {
        return Err(Refusal::COOLING_DOWN);
    }
    match &shared.config.host_token {
        Some(token) if same_secret(key, token) => Ok(true),
        _ => {
            shared.guard.wrong_code(ip, Guess::HostKey(key), now);
            Err(Refusal::WRONG_HOST_KEY)
        }
    }
}

fn no_slot(shared: &Shared, peer_addr: SocketAddr, no: NoSlot) -> Answer {
    match no {
        NoSlot::Full => refuse(
            shared,
            peer_addr,
            StatusCode::SERVICE_UNAVAILABLE,
            "the chat is full, try again later\n",
        ),
        NoSlot::PerAddress => refuse(
            shared,
            peer_addr,
            StatusCode::TOO_MANY_REQUESTS,
            "too many connections from this address\n",
        ),
    }
}

/// Refuses (403) a browser whose page is neither the relay's own nor on the allowlist. A
/// request without `Origin` comes from a native client and passes.
fn check_origin(headers: &HeaderMap, host: &str, shared: &Shared) -> Result<(), Refusal> {
    match headers.get(header::ORIGIN) {
        None => Ok(()),
        Some(origin) if origin_allowed(origin, host, &shared.config.allowed_origins) => Ok(()),
        Some(_) => Err(Refusal::ORIGIN),
    }
}

/// Checks the join code, if the relay has one, and counts a wrong one against `peer_addr`
/// (the same wrong code again from that address counts once: see `AddressGuard::wrong_code`).
async fn check_code(
    shared: &Shared,
    peer_addr: SocketAddr,
    code: Option<&str>,
) -> Result<(), Refusal> {
    let Some(expected) = &shared.config.join_code else {
        return Ok(());
    };
    let ip = peer_addr.ip();
    let now = Instant::now();
    if shared.guard.blocked(ip, now) {
        return Err(Refusal::COOLING_DOWN);
    }
    if code.is_some_and(|code| same_secret(code, expected)) {
        shared.guard.right_code(ip, now);
        return Ok(());
    }
    match shared.guard.wrong_code(ip, Guess::JoinCode(code), now) {
        WrongCode::OverBudget { first } => {
            if first {
                tracing::warn!(
                    budget = shared.config.wrong_code_budget,
                    "more wrong join codes than the budget within a minute; each further \
                     wrong code waits {BUDGET_PENALTY:?} for its answer"
                );
            }
            tokio::select! {
                () = tokio::time::sleep(BUDGET_PENALTY) => {}
                () = shared.shutdown.cancelled() => {}
            }
        }
        WrongCode::CoolDown => {
            tracing::info!(%peer_addr, "too many wrong join codes: this address cools down");
        }
        WrongCode::Counted | WrongCode::Repeated => {}
    }
    Err(Refusal::WRONG_CODE)
}

/// Compares a guess with the join code in time that does not depend on where they differ.
fn same_secret(guess: &str, secret: &str) -> bool {
    let (a, b) = (guess.as_bytes(), secret.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `POST /api/check?code=…`: what a handshake with this code would get, as JSON with the
/// same HTTP status: `{"status":401,"reason":"wrong_code"}`. Reasons: `ok`, `origin` (403),
/// `wrong_code` (401), `cooling_down` (429), `per_address` (429), `full` (503).
async fn check(
    req: &Request<Incoming>,
    host: &str,
    peer_addr: SocketAddr,
    shared: &Arc<Shared>,
) -> Answer {
    // POST, so that a browser always sends `Origin` and another site cannot spend a student's
    // guesses with an image tag.
    if req.method() != Method::POST {
        return text_response(StatusCode::METHOD_NOT_ALLOWED, "use POST\n");
    }
    let code = req.uri().query().and_then(|query| {
        url::form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == "code")
            .map(|(_, v)| v.into_owned())
    });
    let (status, reason) = if let Err(refusal) = check_origin(req.headers(), host, shared) {
        shared.refused(peer_addr, "origin not allowed (code check)");
        (refusal.status, "origin")
    } else if let Err(refusal) = check_code(shared, peer_addr, code.as_deref()).await {
        shared.refused(peer_addr, refusal.body.trim_end());
        let reason = if refusal == Refusal::COOLING_DOWN {
            "cooling_down"
        } else {
            "wrong_code"
        };
        (refusal.status, reason)
    } else {
        // The join page speaks classchat.v1.
        match Slot::room_for(shared, peer_addr.ip(), true) {
            Ok(()) => (StatusCode::OK, "ok"),
            Err(NoSlot::PerAddress) => (StatusCode::TOO_MANY_REQUESTS, "per_address"),
            Err(NoSlot::Full) => (StatusCode::SERVICE_UNAVAILABLE, "full"),
        }
    };
    let body = serde_json::json!({ "status": status.as_u16(), "reason": reason }).to_string();
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// This machine's name, lower-case, read once.
fn machine_name() -> &'static str {
    static NAME: OnceLock<String> = OnceLock::new();
    NAME.get_or_init(|| {
        gethostname::gethostname()
            .to_string_lossy()
            .trim_end_matches('.')
            .to_ascii_lowercase()
    })
}

/// Whether the relay answers a request for `host_header` (the request's `Host`): a name
/// [`host_allowed`] accepts, or one the relay's certificate is made out for. A page whose own
/// name was rebound to the relay's address has no certificate for that name, so the DNS
/// rebinding defence holds.
fn answers_to(host_header: &str, shared: &Shared) -> bool {
    if host_allowed(host_header, &shared.config.allowed_hosts) {
        return true;
    }
    let Some(tls) = &shared.config.tls else {
        return false;
    };
    host_header
        .parse::<Authority>()
        .is_ok_and(|authority| tls.is_for(authority.host()))
}

/// Whether `host_header` (the request's `Host`) names this relay: an IP literal,
/// `localhost`, this machine's name (with or without `.local`), any `.local` mDNS name, or a
/// name in `allowed`. A public DNS name that merely resolves to this machine (DNS rebinding)
/// is none of these. `.local` names are resolved by multicast DNS on the LAN only, so a
/// remote site cannot point one at the relay.
pub(super) fn host_allowed(host_header: &str, allowed: &[String]) -> bool {
    let Ok(authority) = host_header.parse::<Authority>() else {
        return false;
    };
    if host_header.contains('@') {
        return false;
    }
    let bracketed = authority.host();
    let name = bracketed
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(bracketed)
        .trim_end_matches('.')
        .to_ascii_lowercase();
    if name.parse::<IpAddr>().is_ok() || name == "localhost" || name.ends_with(".local") {
        return true;
    }
    let machine = machine_name();
    if !machine.is_empty() && (name == machine || name.strip_suffix(".local") == Some(machine)) {
        return true;
    }
    allowed
        .iter()
        .any(|a| a.eq_ignore_ascii_case(&name) || a.eq_ignore_ascii_case(host_header))
}

/// Whether a browser page at `origin` may connect: it is listed in `allowed`, or its host
/// and port equal the request's `Host` (the relay's own join page).
pub(super) fn origin_allowed(origin: &HeaderValue, host_header: &str, allowed: &[String]) -> bool {
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    if allowed
        .iter()
        .any(|a| a.trim_end_matches('/').eq_ignore_ascii_case(origin))
    {
        return true;
    }
    let Ok(url) = url::Url::parse(origin) else {
        return false;
    };
    let default_port = match url.scheme() {
        "http" => 80,
        "https" => 443,
        _ => return false,
    };
    let (Some(origin_host), Ok(authority)) = (url.host_str(), host_header.parse::<Authority>())
    else {
        return false;
    };
    let trim = |h: &str| h.trim_end_matches('.').to_ascii_lowercase();
    trim(origin_host) == trim(authority.host())
        && url.port_or_known_default() == Some(authority.port_u16().unwrap_or(default_port))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin(s: &'static str) -> HeaderValue {
        HeaderValue::from_static(s)
    }

    #[test]
    fn own_page_is_same_origin() {
        let none: &[String] = &[];
        assert!(origin_allowed(
            &origin("http://192.168.1.5:30005"),
            "192.168.1.5:30005",
            none
        ));
        assert!(origin_allowed(
            &origin("http://[::1]:30005"),
            "[::1]:30005",
            none
        ));
        assert!(origin_allowed(
            &origin("http://PC.local"),
            "pc.local:80",
            none
        ));
        assert!(!origin_allowed(
            &origin("http://192.168.1.5:8080"),
            "192.168.1.5:30005",
            none
        ));
        assert!(!origin_allowed(
            &origin("https://evil.example"),
            "192.168.1.5:30005",
            none
        ));
        assert!(!origin_allowed(&origin("null"), "192.168.1.5:30005", none));
        assert!(!origin_allowed(
            &origin("file://"),
            "192.168.1.5:30005",
            none
        ));
    }

    #[test]
    fn allowlisted_origins_pass_besides_the_own_page() {
        let allowed = vec!["https://school.example".to_owned()];
        assert!(origin_allowed(
            &origin("https://school.example"),
            "10.0.0.1:30005",
            &allowed
        ));
        assert!(origin_allowed(
            &origin("http://10.0.0.1:30005"),
            "10.0.0.1:30005",
            &allowed
        ));
        assert!(!origin_allowed(
            &origin("https://evil.example"),
            "10.0.0.1:30005",
            &allowed
        ));
    }

    #[test]
    fn host_names_that_could_be_rebound_are_refused() {
        let none: &[String] = &[];
        for ok in [
            "127.0.0.1:30005",
            "[::1]:30005",
            "localhost:30005",
            "10.0.0.1",
            "pc.local:30005",
        ] {
            assert!(host_allowed(ok, none), "{ok}");
        }
        let own = format!("{}:30005", machine_name());
        assert!(
            machine_name().is_empty() || host_allowed(&own, none),
            "{own}"
        );
        for bad in [
            "evil.example:30005",
            "evil.example",
            "localhost.evil.example",
            "a@10.0.0.1",
            "",
        ] {
            assert!(!host_allowed(bad, none), "{bad}");
        }
        let proxy = vec!["chat.school.example".to_owned()];
        assert!(host_allowed("chat.school.example", &proxy));
        assert!(host_allowed("CHAT.school.example:443", &proxy));
    }

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret("1234", "1234"));
        assert!(!same_secret("1235", "1234"));
        assert!(!same_secret("123", "1234"));
        assert!(!same_secret("", "1234"));
    }
}
