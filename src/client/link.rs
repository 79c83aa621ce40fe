//! The client's background task: connect, run one [`Link`] (one open connection) until it
//! ends, wait, reconnect.

use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::error::{ProtocolError as WsProtocolError, SubProtocolError};
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::http::header::SEC_WEBSOCKET_PROTOCOL;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::frame::{CloseFrame, Utf8Bytes};
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tokio_util::sync::CancellationToken;
use url::Url;

use super::{Disconnect, Event, Incoming, JoinConfig, Request, Waker};
use crate::protocol::{
    self, ClientMessage, Close, Dialect, Endpoint, ErrorCode, Recipient, SUBPROTOCOL, ServerMessage,
};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

const FIRST_RETRY: Duration = Duration::from_secs(1);
const LAST_RETRY: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const PING_EVERY: Duration = Duration::from_secs(15);
/// A server silent this long (no frame, no pong) is taken as gone.
const SILENT_LIMIT: Duration = Duration::from_secs(40);
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

/// Sends events and wakes whoever reads them.
pub(super) struct Emitter {
    tx: mpsc::UnboundedSender<Event>,
    wake: Option<Waker>,
}

impl Emitter {
    pub(super) fn new(tx: mpsc::UnboundedSender<Event>, wake: Option<Waker>) -> Self {
        Self { tx, wake }
    }

    fn emit(&self, event: Event) {
        if self.tx.send(event).is_ok()
            && let Some(wake) = &self.wake
        {
            wake();
        }
    }
}

/// Why opening a connection failed.
enum OpenError {
    /// The server does not speak `classchat.v1`: try again in the seed's plain text.
    NeedsSeed,
    /// Anything else.
    Failed(Disconnect),
}

/// Runs until the handle closes the client or a reconnect is not wanted or cannot help.
pub(super) async fn run(
    config: JoinConfig,
    mut requests: mpsc::UnboundedReceiver<Request>,
    events: Emitter,
    cancel: CancellationToken,
) {
    let mut attempt = 0;
    let mut backoff = FIRST_RETRY;
    let mut dialect = Dialect::V1;
    let reason = loop {
        attempt += 1;
        events.emit(Event::Connecting { attempt });
        let opened = tokio::select! {
            opened = open(&config, dialect) => opened,
            () = cancel.cancelled() => break Disconnect::Closed,
        };
        let reason = match opened {
            Ok(ws) => {
                attempt = 0;
                backoff = FIRST_RETRY;
                let mut link = Link {
                    dialect,
                    endpoint: Endpoint::from_path(config.url.path()),
                    own_id: None,
                    connected: false,
                    events: &events,
                };
                link.run(ws, &mut requests, &cancel).await
            }
            Err(OpenError::NeedsSeed) if dialect == Dialect::V1 => {
                tracing::debug!("server has no classchat.v1; using the seed's plain text");
                dialect = Dialect::Seed;
                attempt -= 1;
                continue;
            }
            Err(OpenError::NeedsSeed) => Disconnect::NotAChat(host_port(&config.url)),
            Err(OpenError::Failed(reason)) => reason,
        };
        if !config.reconnect || !reason.retryable() {
            break reason;
        }
        events.emit(Event::Disconnected {
            reason,
            retry_in: Some(backoff),
        });
        let wake_at = Instant::now() + backoff;
        backoff = (backoff * 2).min(LAST_RETRY);
        loop {
            tokio::select! {
                () = tokio::time::sleep_until(wake_at) => break,
                () = cancel.cancelled() => {
                    events.emit(Event::Disconnected { reason: Disconnect::Closed, retry_in: None });
                    return;
                }
                request = requests.recv() => match request {
                    Some(Request::Send { to, text }) => events.emit(Event::NotSent { to, text }),
                    None => {
                        events.emit(Event::Disconnected { reason: Disconnect::Closed, retry_in: None });
                        return;
                    }
                },
            }
        }
    };
    events.emit(Event::Disconnected {
        reason,
        retry_in: None,
    });
}

fn host_port(url: &Url) -> String {
    let host = url.host_str().unwrap_or("?");
    match url.port_or_known_default() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    }
}

/// The URL with the nickname and join code in its query.
fn request_url(config: &JoinConfig) -> Url {
    let mut url = config.url.clone();
    let present: Vec<String> = url.query_pairs().map(|(k, _)| k.into_owned()).collect();
    {
        let mut query = url.query_pairs_mut();
        if let Some(name) = config.name.as_deref().filter(|n| !n.trim().is_empty())
            && !present.iter().any(|k| k == "name")
        {
            query.append_pair("name", name.trim());
        }
        if let Some(code) = config.join_code.as_deref().filter(|c| !c.is_empty())
            && !present.iter().any(|k| k == "code")
        {
            query.append_pair("code", code);
        }
        if let Some(key) = config.host_key.as_deref().filter(|k| !k.is_empty())
            && !present.iter().any(|k| k == "host")
        {
            query.append_pair("host", key);
        }
    }
    if url.query() == Some("") {
        url.set_query(None);
    }
    url
}

async fn open(config: &JoinConfig, dialect: Dialect) -> Result<Socket, OpenError> {
    let where_ = host_port(&config.url);
    let mut request = request_url(config)
        .as_str()
        .into_client_request()
        .map_err(|e| OpenError::Failed(Disconnect::BadAddress(e.to_string())))?;
    if dialect == Dialect::V1 {
        request.headers_mut().insert(
            SEC_WEBSOCKET_PROTOCOL,
            HeaderValue::from_static(SUBPROTOCOL),
        );
    }
    let ws_config = WebSocketConfig::default()
        .read_buffer_size(16 * 1024)
        .max_message_size(Some(1 << 20))
        .max_frame_size(Some(1 << 20));
    let connecting = tokio_tungstenite::connect_async_with_config(request, Some(ws_config), true);
    let result = match tokio::time::timeout(CONNECT_TIMEOUT, connecting).await {
        Ok(result) => result,
        Err(_) => return Err(OpenError::Failed(Disconnect::Unreachable(where_))),
    };
    match result {
        Ok((ws, _response)) => Ok(ws),
        Err(tungstenite::Error::Http(response)) => {
            Err(OpenError::Failed(match response.status().as_u16() {
                401 => Disconnect::WrongJoinCode,
                403 => Disconnect::OriginRefused,
                // Too many wrong join codes from this address: the relay's one-line body says
                // to wait. Retryable, because the cool-down passes.
                429 => Disconnect::ClosedByRelay(refusal_text(&response)),
                503 => Disconnect::Full,
                _ => Disconnect::NotAChat(where_),
            }))
        }
        Err(tungstenite::Error::Protocol(WsProtocolError::SecWebSocketSubProtocolError(
            SubProtocolError::NoSubProtocol,
        ))) => Err(OpenError::NeedsSeed),
        Err(tungstenite::Error::Io(e)) => {
            tracing::debug!("connect to {where_} failed: {e}");
            Err(OpenError::Failed(Disconnect::Unreachable(where_)))
        }
        Err(tungstenite::Error::Url(e)) => {
            Err(OpenError::Failed(Disconnect::BadAddress(e.to_string())))
        }
        Err(e) => {
            tracing::debug!("handshake with {where_} failed: {e}");
            Err(OpenError::Failed(Disconnect::NotAChat(where_)))
        }
    }
}

/// The first line of a refusal's body, or a general sentence when it has none.
fn refusal_text(response: &tungstenite::http::Response<Option<Vec<u8>>>) -> String {
    const MAX_CHARS: usize = 200;
    let body = response.body().as_deref().unwrap_or_default();
    let line = String::from_utf8_lossy(body)
        .lines()
        .next()
        .unwrap_or_default()
        .trim()
        .chars()
        .take(MAX_CHARS)
        .collect::<String>();
    if line.is_empty() {
        "too many wrong join codes; wait a minute and try again".to_owned()
    } else {
        line
    }
}

/// One open connection to a relay or a seed server.
struct Link<'a> {
    dialect: Dialect,
    /// The seed path connected to, if the URL names one; on the broadcast path the seed's
    /// server echoes everything back, the sender included.
    endpoint: Option<Endpoint>,
    own_id: Option<String>,
    connected: bool,
    events: &'a Emitter,
}

impl Link<'_> {
    async fn run(
        &mut self,
        mut ws: Socket,
        requests: &mut mpsc::UnboundedReceiver<Request>,
        cancel: &CancellationToken,
    ) -> Disconnect {
        if self.dialect == Dialect::Seed && self.on_broadcast() {
            self.announce(None, None);
        }
        let mut ping = tokio::time::interval_at(Instant::now() + PING_EVERY, PING_EVERY);
        let mut last_heard = Instant::now();
        loop {
            tokio::select! {
                frame = ws.next() => {
                    last_heard = Instant::now();
                    if let Some(reason) = self.on_frame(frame) {
                        return reason;
                    }
                }
                request = requests.recv() => {
                    let Some(Request::Send { to, text }) = request else {
                        close(&mut ws).await;
                        return Disconnect::Closed;
                    };
                    if let Err(e) = self.send(&mut ws, &to, &text).await {
                        self.events.emit(Event::NotSent { to, text });
                        return Disconnect::Lost(e.to_string());
                    }
                }
                _ = ping.tick() => {
                    if last_heard.elapsed() >= SILENT_LIMIT {
                        return Disconnect::Lost("the host stopped answering".to_owned());
                    }
                    if let Err(e) = ws.send(Message::Ping(bytes::Bytes::new())).await {
                        return Disconnect::Lost(e.to_string());
                    }
                }
                () = cancel.cancelled() => {
                    close(&mut ws).await;
                    return Disconnect::Closed;
                }
            }
        }
    }

    /// Handles one read from the socket; `Some` once the connection has ended.
    fn on_frame(&mut self, frame: Option<tungstenite::Result<Message>>) -> Option<Disconnect> {
        match frame {
            Some(Ok(Message::Text(text))) => self.on_text(&text),
            Some(Ok(Message::Close(frame))) => return Some(from_close(frame.as_ref())),
            Some(Ok(_)) => {}
            Some(Err(e)) => return Some(Disconnect::Lost(e.to_string())),
            None => return Some(Disconnect::Lost("the connection closed".to_owned())),
        }
        None
    }

    fn on_broadcast(&self) -> bool {
        self.endpoint == Some(Endpoint::Broadcast)
    }

    fn announce(&mut self, id: Option<String>, clients: Option<Vec<protocol::ClientInfo>>) {
        self.own_id.clone_from(&id);
        self.connected = true;
        self.events.emit(Event::Connected {
            id,
            clients,
            legacy: self.dialect.is_legacy(),
        });
    }

    async fn send(&self, ws: &mut Socket, to: &Recipient, text: &str) -> tungstenite::Result<()> {
        if self.dialect == Dialect::V1 {
            let frame = ClientMessage::Send {
                to: to.clone(),
                text: text.to_owned(),
                id: None,
            }
            .encode();
            return ws.send(Message::text(frame)).await;
        }
        if self.on_broadcast() {
            // The seed's broadcast server echoes it back to everyone, this client included.
            return ws.send(Message::text(text)).await;
        }
        ws.send(Message::text(format!("{to}/{text}"))).await?;
        // The seed's server confirms nothing; show the message as sent.
        self.events.emit(Event::Message(Incoming {
            from: self.own_id.clone(),
            to: Some(to.clone()),
            text: text.to_owned(),
            ts: protocol::now_ms(),
        }));
        Ok(())
    }

    fn on_text(&mut self, text: &str) {
        if self.dialect == Dialect::V1 {
            match ServerMessage::parse(text) {
                Ok(message) => self.on_server_message(message),
                Err(e) => tracing::debug!("ignored a frame that is not classchat.v1: {e}"),
            }
            return;
        }
        if !self.connected {
            if let Some(id) = protocol::parse_legacy_welcome(text) {
                self.announce(Some(id.to_owned()), None);
                return;
            }
            self.announce(None, None);
        }
        let now = protocol::now_ms();
        let (to, text) = if self.on_broadcast() {
            let body = protocol::strip_legacy_broadcast(text).unwrap_or(text);
            (Some(Recipient::Everyone), body)
        } else {
            (self.own_id.clone().map(Recipient::Client), text)
        };
        if let Some(message) = text.strip_prefix(protocol::ERROR_PREFIX) {
            self.events.emit(Event::Refused {
                code: ErrorCode::Other,
                message: message.to_owned(),
            });
            return;
        }
        self.events.emit(Event::Message(Incoming {
            from: None,
            to,
            text: text.to_owned(),
            ts: now,
        }));
    }

    fn on_server_message(&mut self, message: ServerMessage) {
        let event = match message {
            ServerMessage::Welcome { id, clients, .. } => {
                self.announce(Some(id), Some(clients));
                return;
            }
            ServerMessage::Joined { client } => Event::Joined(client),
            ServerMessage::Left { id } => Event::Left { id },
            ServerMessage::Message(m) => Event::Message(Incoming {
                from: Some(m.from),
                to: Some(m.to),
                text: m.text,
                ts: m.ts,
            }),
            ServerMessage::Error { code, message } => Event::Refused { code, message },
        };
        self.events.emit(event);
    }
}

async fn close(ws: &mut Socket) {
    let frame = CloseFrame {
        code: CloseCode::from(Close::Left.code()),
        reason: Utf8Bytes::from_static(Close::Left.reason()),
    };
    // The server may already be gone; leaving is done either way.
    tokio::time::timeout(CLOSE_TIMEOUT, ws.close(Some(frame)))
        .await
        .ok();
}

fn from_close(frame: Option<&CloseFrame>) -> Disconnect {
    let Some(frame) = frame else {
        return Disconnect::Lost("the host closed the connection".to_owned());
    };
    match Close::from_code(u16::from(frame.code)) {
        Some(Close::Kicked) => Disconnect::Kicked,
        Some(Close::HostStopped) => Disconnect::HostStopped,
        _ if frame.reason.is_empty() => {
            Disconnect::ClosedByRelay(format!("code {}", u16::from(frame.code)))
        }
        _ => Disconnect::ClosedByRelay(frame.reason.to_string()),
    }
}
