//! Helpers shared by the integration tests: start a real relay on `127.0.0.1:0`, connect raw
//! tokio-tungstenite clients to it (plain seed text or `classchat.v1`), and read frames with a
//! timeout so that a broken rule fails the test instead of hanging it.
//!
//! The `classchat` binary runs as a child process through [`serve`] and [`join_process`], whose
//! output lines are read on a thread so that waiting for one can time out.
//!
//! "Nothing else was delivered" is proved without sleeping: after the interesting frame, a
//! marker message is sent along a path that is ordered after it, and the marker must be the
//! very next frame the client sees.

// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

use std::io::{BufRead as _, BufReader, Read};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc as std_mpsc;
use std::time::{Duration, Instant};

use classchat::protocol::{ClientMessage, ErrorCode, Recipient, SUBPROTOCOL, ServerMessage};
use classchat::relay::{self, RelayConfig, RelayHandle};
use futures_util::{SinkExt as _, StreamExt as _};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::handshake::client::Request;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::frame::CloseFrame;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// A raw test client.
pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Long enough for a loaded two-core machine, short enough that a hang fails quickly.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// The seed's paths and broadcast echo, under the short names the tests use.
#[allow(unused_imports)] // Each test binary uses a different subset.
pub use classchat::protocol::{
    BROADCAST_PATH as LIST, BROADCAST_PREFIX as ECHO, DIRECT_PATH as DICT,
};

/// Test defaults: no rate limit (tests that need one set it), everything else as shipped.
pub fn config() -> RelayConfig {
    RelayConfig {
        rate_per_sec: 0.0,
        rate_bytes_per_sec: 0,
        ..RelayConfig::default()
    }
}

/// Starts a relay on a free port of 127.0.0.1.
pub async fn start_relay(config: RelayConfig) -> RelayHandle {
    start_relay_at(SocketAddr::from(([127, 0, 0, 1], 0)), config).await
}

/// Starts a relay that asks for the join code `code`.
pub async fn start_relay_with_code(code: &str) -> RelayHandle {
    start_relay(RelayConfig {
        join_code: Some(code.to_owned()),
        ..config()
    })
    .await
}

/// Starts a relay on `addr`: a restart on the port an earlier relay had.
pub async fn start_relay_at(addr: SocketAddr, config: RelayConfig) -> RelayHandle {
    let listener = TcpListener::bind(addr).await.unwrap();
    relay::start(listener, config)
}

/// `ws://addr<path_and_query>`.
pub fn url(addr: SocketAddr, path_and_query: &str) -> String {
    format!("ws://{addr}{path_and_query}")
}

/// A handshake request, offering `classchat.v1` when `extended`.
pub fn request(addr: SocketAddr, path_and_query: &str, extended: bool) -> Request {
    let mut request = url(addr, path_and_query).into_client_request().unwrap();
    if extended {
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            HeaderValue::from_static(SUBPROTOCOL),
        );
    }
    request
}

/// Connects like the seed's browser page: no subprotocol.
pub async fn legacy(addr: SocketAddr, path_and_query: &str) -> Ws {
    let (ws, _) = tokio_tungstenite::connect_async(request(addr, path_and_query, false))
        .await
        .unwrap();
    ws
}

/// Connects offering `classchat.v1`, and checks the relay accepted it.
pub async fn extended(addr: SocketAddr, path_and_query: &str) -> Ws {
    let (ws, response) = tokio_tungstenite::connect_async(request(addr, path_and_query, true))
        .await
        .unwrap();
    assert_eq!(
        response.headers().get("Sec-WebSocket-Protocol").unwrap(),
        SUBPROTOCOL
    );
    ws
}

/// Connects and expects the handshake to be refused with an HTTP status.
pub async fn refused_status(request: Request) -> u16 {
    match tokio_tungstenite::connect_async(request).await {
        Err(WsError::Http(response)) => response.status().as_u16(),
        Ok((_, response)) => panic!("handshake accepted: {response:?}"),
        Err(e) => panic!("expected an HTTP refusal, got {e}"),
    }
}

/// Connects on the dict path and reads the seed greeting; returns the client and its ID.
pub async fn legacy_dict(addr: SocketAddr) -> (Ws, String) {
    let mut ws = legacy(addr, DICT).await;
    let greeting = text(&mut ws).await;
    let id = greeting
        .strip_prefix("Your ID is: ")
        .unwrap_or_else(|| panic!("not a greeting: {greeting:?}"))
        .to_owned();
    (ws, id)
}

/// Connects with `classchat.v1` and reads the welcome; returns the client, its ID and the
/// roster it was given.
pub async fn extended_dict(addr: SocketAddr, query: &str) -> (Ws, String, Vec<String>) {
    let mut ws = extended(addr, &format!("{DICT}{query}")).await;
    match json(&mut ws).await {
        ServerMessage::Welcome { id, clients, .. } => {
            let roster = clients.into_iter().map(|c| c.id).collect();
            (ws, id, roster)
        }
        other => panic!("expected welcome, got {other:?}"),
    }
}

/// The next frame that is not a ping or pong.
pub async fn frame<S>(ws: &mut WebSocketStream<S>) -> Option<Result<Message, WsError>>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    loop {
        let next = tokio::time::timeout(PATIENCE, ws.next())
            .await
            .expect("timed out waiting for a frame");
        match next {
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
            other => return other,
        }
    }
}

/// The next text frame; anything else fails the test.
pub async fn text<S>(ws: &mut WebSocketStream<S>) -> String
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    match frame(ws).await {
        Some(Ok(Message::Text(t))) => t.to_string(),
        other => panic!("expected a text frame, got {other:?}"),
    }
}

/// The next text frame parsed as a `classchat.v1` server message, skipping `room` notices
/// (every client gets one after its welcome; only tests/classroom.rs looks at them, with
/// [`json_any`]).
pub async fn json<S>(ws: &mut WebSocketStream<S>) -> ServerMessage
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    loop {
        match json_any(ws).await {
            ServerMessage::Room(_) => {}
            other => return other,
        }
    }
}

/// The next text frame, parsed as a `classchat.v1` server message, whatever it is.
pub async fn json_any<S>(ws: &mut WebSocketStream<S>) -> ServerMessage
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let t = text(ws).await;
    ServerMessage::parse(&t).unwrap_or_else(|e| panic!("not classchat.v1: {t:?}: {e}"))
}

/// The next JSON frame, which must be an error; returns its code.
pub async fn json_error<S>(ws: &mut WebSocketStream<S>) -> ErrorCode
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    match json(ws).await {
        ServerMessage::Error { code, message, .. } => {
            assert!(!message.is_empty());
            code
        }
        other => panic!("expected an error frame, got {other:?}"),
    }
}

/// The next text frame, which must be a plain-text error.
pub async fn legacy_error<S>(ws: &mut WebSocketStream<S>) -> String
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let t = text(ws).await;
    assert!(
        t.starts_with("Error: "),
        "expected an Error: reply, got {t:?}"
    );
    t
}

/// Reads until the relay's close frame (or the end of the stream) and returns the frame.
pub async fn close_frame<S>(ws: &mut WebSocketStream<S>) -> Option<CloseFrame>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    loop {
        match frame(ws).await {
            Some(Ok(Message::Close(frame))) => return frame,
            Some(Ok(_)) => {}
            Some(Err(_)) | None => return None,
        }
    }
}

/// Sends a text frame.
pub async fn send<S>(ws: &mut WebSocketStream<S>, text: &str)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    ws.send(Message::text(text)).await.unwrap();
}

/// The address in the `ws://ADDR/ws_multi_client_dict` URL that `serve` printed.
pub fn served_addr(url: &str) -> SocketAddr {
    url.strip_prefix("ws://")
        .and_then(|rest| rest.strip_suffix(DICT))
        .and_then(|addr| addr.parse().ok())
        .unwrap_or_else(|| panic!("not a served address: {url}"))
}

/// Sends a `classchat.v1` send frame.
pub async fn send_json<S>(ws: &mut WebSocketStream<S>, to: &str, text: &str)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    send_frame(ws, to, text, None).await;
}

/// Sends a `classchat.v1` send frame with a client-chosen id.
pub async fn send_with_id<S>(ws: &mut WebSocketStream<S>, to: &str, text: &str, id: &str)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    send_frame(ws, to, text, Some(id)).await;
}

async fn send_frame<S>(ws: &mut WebSocketStream<S>, to: &str, text: &str, id: Option<&str>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let frame = ClientMessage::Send {
        to: Recipient::from_wire(to),
        text: text.to_owned(),
        id: id.map(str::to_owned),
    }
    .encode();
    send(ws, &frame).await;
}

/// Waits until `check` holds, polling the relay; fails after [`PATIENCE`].
pub async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !check() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Whether the relay lists a client with this ID.
pub fn listed(relay: &RelayHandle, peer_id: &str) -> bool {
    relay.clients().iter().any(|c| c.info.id == peer_id)
}

// --- The binary as a child process -----------------------------------------------------------

/// Patience for a child process: starting one is slower than a frame.
pub const CHILD_PATIENCE: Duration = Duration::from_secs(20);

/// The `classchat` binary built with these tests.
pub fn classchat() -> Command {
    Command::new(env!("CARGO_BIN_EXE_classchat"))
}

/// Kills the child when the test ends, passing or not.
pub struct Running(pub Child);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.kill().ok();
        self.0.wait().ok();
    }
}

/// Lines of a child's output, read on a thread so that waiting for one can time out. Keep the
/// receiver while the child runs: once it is dropped the pipe is no longer read.
pub fn lines(output: impl Read + Send + 'static) -> std_mpsc::Receiver<String> {
    let (tx, rx) = std_mpsc::channel();
    std::thread::Builder::new()
        .name("child-output".into())
        .spawn(move || {
            for line in BufReader::new(output).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        })
        .unwrap();
    rx
}

/// Waits for a line matching `wanted` and returns it; fails after [`CHILD_PATIENCE`].
pub fn wait_for_line(rx: &std_mpsc::Receiver<String>, wanted: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + CHILD_PATIENCE;
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) if wanted(&line) => return line,
            Ok(line) => seen.push(line),
            Err(e) => panic!("no such line ({e}); saw {seen:?}"),
        }
    }
}

/// Starts `classchat serve` on a port of 127.0.0.1 the system picks, with `extra` options.
/// Returns the process, its join URL (`ws://127.0.0.1:PORT/ws_multi_client_dict`) and its
/// remaining output lines.
pub fn serve(extra: &[&str]) -> (Running, String, std_mpsc::Receiver<String>) {
    serve_on(0, extra)
}

/// `classchat serve` on `port` of 127.0.0.1, not announced, with `extra` options; not started.
pub fn serve_command(port: u16, extra: &[&str]) -> Command {
    let mut command = classchat();
    command
        .args(["serve", "--bind", "127.0.0.1", "--port", &port.to_string()])
        .arg("--no-announce")
        .args(extra)
        .stdin(Stdio::null());
    command
}

/// Like [`serve`], on a given port.
pub fn serve_on(port: u16, extra: &[&str]) -> (Running, String, std_mpsc::Receiver<String>) {
    let mut child = serve_command(port, extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let out = lines(child.stdout.take().unwrap());
    let line = wait_for_line(&out, |l| l.trim_start().starts_with("ws://127.0.0.1:"));
    let url = line.trim().to_owned();
    assert!(url.ends_with(DICT), "{url}");
    (Running(child), url, out)
}

/// Runs `classchat join` with stdin kept open (end of input means "leave").
pub fn join_process(args: &[&str]) -> (Running, std_mpsc::Receiver<String>) {
    let mut child = classchat()
        .arg("join")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let out = lines(child.stdout.take().unwrap());
    (Running(child), out)
}
