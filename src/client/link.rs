//! The client's background task: connect, run one [`Link`] (one open connection) until it
//! ends, wait, reconnect. A [`Session`] carries over from one connection to the next: the
//! resume token, the highest message number seen and the sends not yet confirmed.

use std::collections::VecDeque;
use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::error::{ProtocolError as WsProtocolError, SubProtocolError};
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::http::header::SEC_WEBSOCKET_PROTOCOL;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::frame::{CloseFrame, Utf8Bytes};
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_util::either::Either;
use tokio_util::sync::CancellationToken;
use url::Url;

use super::{Classroom, Disconnect, Event, Incoming, JoinConfig, Request, SendId, Waker};
use crate::protocol::{
    self, ChatMessage, ClientMessage, Close, Dialect, Endpoint, ErrorCode, Recipient, SUBPROTOCOL,
    ServerMessage,
};
use crate::tls::{self, Trust};

/// A TCP connection, plain for `ws://`, with TLS for `wss://`.
type Stream = Either<TcpStream, tokio_rustls::client::TlsStream<TcpStream>>;
type Socket = WebSocketStream<Stream>;

const FIRST_RETRY: Duration = Duration::from_secs(1);
const LAST_RETRY: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const PING_EVERY: Duration = Duration::from_secs(15);
/// A server silent this long (no frame, no pong) is taken as gone.
const SILENT_LIMIT: Duration = Duration::from_secs(40);
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

/// What the client keeps from one connection to the next.
#[derive(Debug, Default)]
struct Session {
    /// The relay's token to resume with; `None` for a server that cannot resume.
    resume: Option<String>,
    /// The relay's epoch: numbers from another epoch mean nothing.
    epoch: Option<String>,
    /// The highest message number received in this epoch.
    last_seq: Option<u64>,
    /// The room's latest number as the last welcome said, for resuming when no message came.
    welcome_seq: Option<u64>,
    /// Sends not confirmed yet, oldest first.
    pending: VecDeque<Pending>,
}

/// One send waiting for its confirmation.
#[derive(Debug)]
struct Pending {
    id: SendId,
    to: Recipient,
    text: String,
    /// Written on the current connection.
    written: bool,
}

impl Session {
    /// Whether a lost connection can be continued, so that sends may wait for it.
    fn resumable(&self) -> bool {
        self.resume.is_some()
    }

    /// `since` for a resume: the highest number seen.
    fn since(&self) -> u64 {
        self.last_seq.or(self.welcome_seq).unwrap_or(0)
    }

    /// After a connection ended: everything pending is sent again on the next one, or, when
    /// the session cannot be resumed, handed back.
    fn connection_ended(&mut self, events: &Emitter) {
        if self.resumable() {
            for pending in &mut self.pending {
                pending.written = false;
            }
        } else {
            self.give_back(events);
        }
    }

    /// Hands every pending send back as [`Event::NotSent`].
    fn give_back(&mut self, events: &Emitter) {
        for Pending { id, to, text, .. } in self.pending.drain(..) {
            events.emit(Event::NotSent { id, to, text });
        }
    }

    /// Removes and returns the pending send with this wire ID.
    fn take_pending(&mut self, wire_id: &str) -> Option<SendId> {
        let at = self.pending.iter().position(|p| p.id.wire() == wire_id)?;
        self.pending.remove(at).map(|p| p.id)
    }
}

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
    /// A relay with a certificate answered a plain `ws://` request: try again with `wss://`.
    NeedsTls,
    /// Anything else.
    Failed(Disconnect),
}

/// Runs until the handle closes the client or a reconnect is not wanted or cannot help.
pub(super) async fn run(
    mut config: JoinConfig,
    mut requests: mpsc::UnboundedReceiver<Request>,
    events: Emitter,
    cancel: CancellationToken,
) {
    let mut attempt = 0;
    let mut backoff = FIRST_RETRY;
    let mut dialect = Dialect::V1;
    let mut session = Session::default();
    // The relays to try, in turn: `url`, then the fallbacks.
    let mut relays: Vec<Url> = std::iter::once(config.url.clone())
        .chain(std::mem::take(&mut config.fallbacks))
        .collect();
    let mut current = 0;
    let reason = loop {
        attempt += 1;
        events.emit(Event::Connecting { attempt });
        let opened = tokio::select! {
            opened = open(&config, dialect, &session) => opened,
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
                    welcomed: false,
                    resuming: dialect == Dialect::V1 && session.resumable(),
                    continued_elsewhere: false,
                    session: &mut session,
                    events: &events,
                };
                let reason = link.run(ws, &mut requests, &cancel).await;
                let stop = link.continued_elsewhere;
                session.connection_ended(&events);
                if stop {
                    break reason;
                }
                reason
            }
            Err(OpenError::NeedsSeed) if dialect == Dialect::V1 => {
                tracing::debug!("server has no classchat.v1; using the seed's plain text");
                dialect = Dialect::Seed;
                attempt -= 1;
                continue;
            }
            Err(OpenError::NeedsSeed) => Disconnect::NotAChat(host_port(&config.url)),
            Err(OpenError::NeedsTls) if config.url.scheme() == "ws" => {
                tracing::debug!("the relay has a certificate; joining with wss://");
                // Both are special schemes, so the switch cannot fail.
                config.url.set_scheme("wss").ok();
                relays[current].clone_from(&config.url);
                attempt -= 1;
                continue;
            }
            Err(OpenError::NeedsTls) => Disconnect::NotAChat(host_port(&config.url)),
            Err(OpenError::Failed(reason)) => reason,
        };
        if !config.reconnect || !reason.retryable() {
            break reason;
        }
        if relays.len() > 1 {
            // The next relay of the cluster; the session resumes there.
            current = (current + 1) % relays.len();
            config.url.clone_from(&relays[current]);
            tracing::debug!(url = %config.url, "trying the next relay");
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
                    session.give_back(&events);
                    events.emit(Event::Disconnected { reason: Disconnect::Closed, retry_in: None });
                    return;
                }
                request = requests.recv() => match request {
                    // A session that can resume keeps the send for the next connection.
                    Some(Request::Send { id, to, text }) if session.resumable() => {
                        session.pending.push_back(Pending { id, to, text, written: false });
                    }
                    Some(Request::Send { id, to, text }) => {
                        events.emit(Event::NotSent { id, to, text });
                    }
                    Some(Request::Control(message)) => events.emit(Event::ControlNotSent(message)),
                    None => {
                        session.give_back(&events);
                        events.emit(Event::Disconnected { reason: Disconnect::Closed, retry_in: None });
                        return;
                    }
                },
            }
        }
    };
    session.give_back(&events);
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

/// The URL with the nickname and join code in its query, and what resuming `session` needs.
fn request_url(config: &JoinConfig, session: Option<&Session>) -> Url {
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
        if let Some(session) = session
            && let Some(token) = &session.resume
        {
            query.append_pair("resume", token);
            query.append_pair("since", &session.since().to_string());
            if let Some(epoch) = &session.epoch {
                query.append_pair("epoch", epoch);
            }
        }
    }
    if url.query() == Some("") {
        url.set_query(None);
    }
    url
}

async fn open(
    config: &JoinConfig,
    dialect: Dialect,
    session: &Session,
) -> Result<Socket, OpenError> {
    let where_ = host_port(&config.url);
    // The seed's servers know nothing of sessions.
    let session = (dialect == Dialect::V1).then_some(session);
    let mut request = request_url(config, session)
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
        .max_message_size(Some(protocol::CLIENT_MAX_FRAME_BYTES))
        .max_frame_size(Some(protocol::CLIENT_MAX_FRAME_BYTES));
    let connecting = async {
        let stream = connect_stream(&config.url, &config.trust).await?;
        Ok(tokio_tungstenite::client_async_with_config(request, stream, Some(ws_config)).await)
    };
    let result = match tokio::time::timeout(CONNECT_TIMEOUT, connecting).await {
        Ok(Ok(result)) => result,
        Ok(Err(e)) => return Err(e),
        Err(_) => return Err(OpenError::Failed(Disconnect::Unreachable(where_))),
    };
    match result {
        Ok((ws, _response)) => Ok(ws),
        Err(tungstenite::Error::Http(response)) if redirects_to_https(&response) => {
            Err(OpenError::NeedsTls)
        }
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

/// Opens the TCP connection to `url`'s host and, for `wss://`, completes the TLS handshake,
/// trusting what `trust` says.
async fn connect_stream(url: &Url, trust: &Trust) -> Result<Stream, OpenError> {
    let where_ = host_port(url);
    let bad_address = || OpenError::Failed(Disconnect::BadAddress(format!("“{url}” has no host")));
    let (Some(host), Some(port)) = (url.host(), url.port_or_known_default()) else {
        return Err(bad_address());
    };
    let connected = match &host {
        url::Host::Domain(name) => TcpStream::connect((*name, port)).await,
        url::Host::Ipv4(ip) => TcpStream::connect((*ip, port)).await,
        url::Host::Ipv6(ip) => TcpStream::connect((*ip, port)).await,
    };
    let tcp = connected.map_err(|e| {
        tracing::debug!("connect to {where_} failed: {e}");
        OpenError::Failed(Disconnect::Unreachable(where_.clone()))
    })?;
    // Chat frames are small and latency matters more than packet count.
    tcp.set_nodelay(true).ok();
    if url.scheme() != "wss" {
        return Ok(Either::Left(tcp));
    }
    let name = tls::server_name(&host).ok_or_else(bad_address)?;
    // Reading the system's certificate store and the CA file blocks.
    let trust = trust.clone();
    let tls_config = tokio::task::spawn_blocking(move || trust.client_config())
        .await
        .map_err(|_| OpenError::Failed(Disconnect::Closed))?
        .map_err(|e| OpenError::Failed(Disconnect::BadCaCert(e.to_string())))?;
    match tokio_rustls::TlsConnector::from(tls_config)
        .connect(name, tcp)
        .await
    {
        Ok(stream) => Ok(Either::Right(stream)),
        Err(e) => Err(OpenError::Failed(match tls::untrusted_reason(&e) {
            Some(why) => Disconnect::UntrustedCertificate(why),
            None => {
                tracing::debug!("TLS handshake with {where_} failed: {e}");
                Disconnect::NotAChat(where_)
            }
        })),
    }
}

/// A relay with a certificate answers plain HTTP with a temporary redirect to `https://`.
fn redirects_to_https(response: &tungstenite::http::Response<Option<Vec<u8>>>) -> bool {
    response.status() == tungstenite::http::StatusCode::TEMPORARY_REDIRECT
        && response
            .headers()
            .get(tungstenite::http::header::LOCATION)
            .and_then(|l| l.to_str().ok())
            .is_some_and(|l| l.starts_with("https://"))
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
    /// A `classchat.v1` welcome arrived, so pending sends may go out.
    welcomed: bool,
    /// This connection asked to continue the session.
    resuming: bool,
    /// The relay closed this connection because the session goes on elsewhere.
    continued_elsewhere: bool,
    session: &'a mut Session,
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
                request = requests.recv() => match request {
                    None => {
                        close(&mut ws).await;
                        return Disconnect::Closed;
                    }
                    Some(Request::Send { id, to, text }) => {
                        if self.dialect == Dialect::V1 {
                            self.session.pending.push_back(Pending { id, to, text, written: false });
                        } else if let Err(e) = self.send_seed(&mut ws, id, &to, &text).await {
                            self.events.emit(Event::NotSent { id, to, text });
                            return Disconnect::Lost(e.to_string());
                        }
                    }
                    // Before the welcome the relay does not know this client's role yet.
                    Some(Request::Control(message)) if self.dialect != Dialect::V1 || !self.welcomed => {
                        self.events.emit(Event::ControlNotSent(message));
                    }
                    Some(Request::Control(message)) => {
                        if let Err(e) = ws.send(Message::text(message.encode())).await {
                            self.events.emit(Event::ControlNotSent(message));
                            return Disconnect::Lost(e.to_string());
                        }
                    }
                },
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
            if let Err(e) = self.write_pending(&mut ws).await {
                return Disconnect::Lost(e.to_string());
            }
        }
    }

    /// Handles one read from the socket; `Some` once the connection has ended.
    fn on_frame(&mut self, frame: Option<tungstenite::Result<Message>>) -> Option<Disconnect> {
        match frame {
            Some(Ok(Message::Text(text))) => self.on_text(&text),
            Some(Ok(Message::Close(frame))) => {
                // The session was resumed on another connection (another tab, or this client
                // after a drop the relay had not noticed): reconnecting would take it back.
                self.continued_elsewhere = frame
                    .as_ref()
                    .is_some_and(|f| Close::from_code(u16::from(f.code)) == Some(Close::Replaced));
                return Some(from_close(frame.as_ref()));
            }
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

    /// Writes every pending `classchat.v1` send not yet written on this connection, oldest
    /// first, once the welcome has arrived (so that a resumed session is in place).
    async fn write_pending(&mut self, ws: &mut Socket) -> tungstenite::Result<()> {
        if !self.welcomed {
            return Ok(());
        }
        for pending in self.session.pending.iter_mut().filter(|p| !p.written) {
            let frame = ClientMessage::Send {
                to: pending.to.clone(),
                text: pending.text.clone(),
                id: Some(pending.id.wire()),
            }
            .encode();
            ws.send(Message::text(frame)).await?;
            pending.written = true;
        }
        Ok(())
    }

    /// Sends in the seed's text, which no server confirms: a send counts as confirmed once
    /// written.
    async fn send_seed(
        &self,
        ws: &mut Socket,
        id: SendId,
        to: &Recipient,
        text: &str,
    ) -> tungstenite::Result<()> {
        if self.on_broadcast() {
            // The seed's broadcast server echoes it back to everyone, this client included.
            ws.send(Message::text(text)).await?;
            self.events.emit(Event::Confirmed { id });
            return Ok(());
        }
        ws.send(Message::text(format!("{to}/{text}"))).await?;
        // The seed's addressed server echoes nothing; show the message as sent.
        self.events.emit(Event::Message(Incoming {
            from: self.own_id.clone(),
            to: Some(to.clone()),
            text: text.to_owned(),
            ts: protocol::now_ms(),
            confirms: Some(id),
            ..Incoming::default()
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
                send: None,
                about: None,
            });
            return;
        }
        self.events.emit(Event::Message(Incoming {
            from: None,
            to,
            text: text.to_owned(),
            ts: now,
            ..Incoming::default()
        }));
    }

    fn on_server_message(&mut self, message: ServerMessage) {
        let event = match message {
            ServerMessage::Welcome {
                id,
                clients,
                seq,
                epoch,
                resume,
                recovered,
                ..
            } => {
                self.on_welcome(seq, epoch, resume);
                self.announce(Some(id), Some(clients));
                if self.resuming {
                    // A relay that says nothing did not resume.
                    self.events.emit(Event::Resumed {
                        recovered: recovered.unwrap_or(false),
                    });
                }
                return;
            }
            ServerMessage::Joined { client } => Event::Joined(client),
            ServerMessage::Left { id } => Event::Left { id },
            ServerMessage::Message(m) => {
                self.on_chat(m);
                return;
            }
            ServerMessage::Error {
                code,
                message,
                client_id,
                about,
            } => Event::Refused {
                send: self.refused_send(code, client_id.as_deref(), about.is_some()),
                code,
                message,
                about,
            },
            ServerMessage::Room(modes) => Event::Classroom(Classroom::Modes(modes)),
            ServerMessage::Hands { queue } => Event::Classroom(Classroom::Hands(queue)),
            ServerMessage::Poll {
                poll,
                question,
                options,
            } => Event::Classroom(Classroom::Poll {
                poll,
                question,
                options,
            }),
            ServerMessage::Tally {
                poll,
                counts,
                voters,
            } => Event::Classroom(Classroom::Tally {
                poll,
                counts,
                voters,
            }),
            ServerMessage::PollResult {
                poll,
                counts,
                question,
                options,
            } => Event::Classroom(Classroom::PollResult {
                poll,
                counts,
                question,
                options,
            }),
            ServerMessage::Pinned { text } => Event::Classroom(Classroom::Pinned(text)),
            ServerMessage::Hand { up } => Event::Classroom(Classroom::OwnHand { up }),
        };
        self.events.emit(event);
    }

    fn on_welcome(&mut self, seq: Option<u64>, epoch: Option<String>, resume: Option<String>) {
        if epoch != self.session.epoch {
            // A restarted relay numbers from the start again.
            self.session.last_seq = None;
        }
        self.session.epoch = epoch;
        self.session.resume = resume;
        self.session.welcome_seq = seq;
        self.welcomed = true;
    }

    /// Reports a chat message once: a number already seen is a duplicate (a replay that
    /// overlaps what arrived live, or a resent send confirmed again).
    fn on_chat(&mut self, m: ChatMessage) {
        let confirms = match &m.client_id {
            Some(wire_id) => self.session.take_pending(wire_id),
            None => self.own_echo_without_id(&m),
        };
        if let Some(seq) = m.seq {
            if self.session.last_seq.is_some_and(|last| seq <= last) {
                if let Some(id) = confirms {
                    self.events.emit(Event::Confirmed { id });
                }
                return;
            }
            self.session.last_seq = Some(seq);
        }
        self.events.emit(Event::Message(Incoming {
            from: Some(m.from),
            to: Some(m.to),
            text: m.text,
            ts: m.ts,
            seq: m.seq,
            replay: m.replay,
            confirms,
            from_host: m.role == Some(protocol::Role::Host),
        }));
    }

    /// The send an error answers: the one whose `id` it names, none when it answers a control
    /// message, or else (a relay that names neither) the oldest send written and not yet
    /// answered, since such a relay answers every send, in order, with its echo or an error.
    fn refused_send(
        &mut self,
        code: ErrorCode,
        client_id: Option<&str>,
        answers_control: bool,
    ) -> Option<SendId> {
        if let Some(wire_id) = client_id {
            return self.session.take_pending(wire_id);
        }
        if answers_control {
            return None;
        }
        let answers_a_send = matches!(
            code,
            ErrorCode::BadFormat
                | ErrorCode::EmptyText
                | ErrorCode::UnknownRecipient
                | ErrorCode::BadJson
                | ErrorCode::BadText
                | ErrorCode::RateLimited
                | ErrorCode::Muted
        );
        if !answers_a_send {
            return None;
        }
        let at = self.session.pending.iter().position(|p| p.written)?;
        self.session.pending.remove(at).map(|p| p.id)
    }

    /// A relay without delivery ignores the send's `id` and echoes without `client_id`, in the
    /// order it received them: the oldest written send with this text is the one confirmed.
    fn own_echo_without_id(&mut self, m: &ChatMessage) -> Option<SendId> {
        if m.seq.is_some() || self.own_id.as_deref() != Some(m.from.as_str()) {
            return None;
        }
        let at = self.session.pending.iter().position(|p| {
            // The broadcast room ignores `to` and delivers to everyone.
            p.written && p.text == m.text && (p.to == m.to || m.to == Recipient::Everyone)
        })?;
        self.session.pending.remove(at).map(|p| p.id)
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
