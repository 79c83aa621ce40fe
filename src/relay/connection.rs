//! One task per WebSocket: reads the client's frames, writes its outbox in batches, pings it,
//! and closes it with the right code when it misbehaves, is kicked, or the relay stops.

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::{self, Message};

use super::limits::RateLimit;
use super::outbox::{Outbox, close_frame};
use super::state::Shared;
use crate::protocol::{
    Addressed, ClientMessage, Close, Dialect, Endpoint, ErrorCode, ProtocolError, Recipient, now_ms,
};

type Socket = WebSocketStream<TokioIo<Upgraded>>;

/// How long a closing handshake may take before the socket is simply dropped.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

/// What the handshake decided about a connection.
#[derive(Debug)]
pub(super) struct Accepted {
    /// Which path it connected to.
    pub endpoint: Endpoint,
    /// `V1` if it negotiated `classchat.v1`.
    pub dialect: Dialect,
    /// Nickname it asked for.
    pub name: Option<String>,
    /// Remote address, for logs.
    pub peer_addr: SocketAddr,
}

/// Why a connection ended.
enum End {
    /// The client closed, or the socket went away.
    Gone,
    /// The client sent a frame over the size limit.
    TooBig,
    /// Nothing heard for two heartbeat intervals.
    Silent,
    /// Kicked, or cut off for not reading.
    Killed,
    /// Its socket accepted nothing for a whole heartbeat interval.
    Stalled,
    /// The relay is stopping.
    Shutdown,
    /// Anything unexpected.
    Failed(tungstenite::Error),
}

/// Everything the connection's loop needs about itself.
struct Connection<'a> {
    shared: &'a Shared,
    endpoint: Endpoint,
    dialect: Dialect,
    peer_id: String,
    outbox: Outbox,
    rate: RateLimit,
}

/// Runs one client's connection to its end and removes it from the room.
pub(super) async fn run(mut ws: Socket, accepted: Accepted, shared: &Shared) {
    let (outbox, mut inbox) = Outbox::new(shared.config.outbox_len);
    let (joined, delivery) = shared.peers().join(
        accepted.endpoint,
        accepted.dialect,
        accepted.name.as_deref(),
        outbox.clone(),
        now_ms(),
    );
    shared.counters.delivered(delivery);
    shared.counters.connected();
    let peer_id = joined.peer_id;
    tracing::info!(
        peer = %peer_id,
        addr = %accepted.peer_addr,
        endpoint = ?accepted.endpoint,
        dialect = ?accepted.dialect,
        "joined"
    );
    if let Some((code, _)) = joined.name_refused {
        tracing::info!(peer = %peer_id, ?code, "requested name refused");
    }

    // The loop borrows the connection; the kill switch is watched through a second handle.
    let kill = outbox.clone();
    let mut connection = Connection {
        shared,
        endpoint: accepted.endpoint,
        dialect: accepted.dialect,
        peer_id,
        outbox,
        rate: RateLimit::new(shared.config.rate_per_sec, shared.config.rate_burst),
    };
    let end = tokio::select! {
        end = connection.pump(&mut ws, &mut inbox) => end,
        () = kill.kill().fired() => End::Killed,
        () = shared.shutdown.cancelled() => End::Shutdown,
    };
    let delivery = shared
        .peers()
        .leave(connection.endpoint, &connection.peer_id);
    shared.counters.delivered(delivery);

    let peer = &connection.peer_id;
    let close = match end {
        End::Gone => {
            tracing::info!(peer = %peer, "left");
            // Flush the reply to the client's close, if it sent one.
            tokio::time::timeout(CLOSE_TIMEOUT, ws.flush()).await.ok();
            return;
        }
        End::Failed(e) => {
            tracing::warn!(peer = %peer, "connection failed: {e}");
            return;
        }
        End::Silent => {
            tracing::info!(peer = %peer, "dropped: no answer to pings");
            return;
        }
        End::Stalled => {
            tracing::info!(peer = %peer, "dropped: not reading");
            shared.counters.stalled();
            return;
        }
        End::TooBig => {
            tracing::info!(peer = %peer, "closed: message over the size limit");
            Close::TooBig
        }
        End::Killed => {
            // Fired means a reason was set first; a kick is the only other way out.
            let close = kill.kill().reason().unwrap_or(Close::Kicked);
            tracing::info!(peer = %peer, code = close.code(), reason = close.reason(), "closed by the relay");
            close
        }
        End::Shutdown => Close::HostStopped,
    };
    // A client that does not read would hold this forever; the timeout ends it.
    tokio::time::timeout(CLOSE_TIMEOUT, ws.close(Some(close_frame(close))))
        .await
        .ok();
}

impl Connection<'_> {
    /// Reads, writes and pings until the connection should end.
    async fn pump(&mut self, ws: &mut Socket, inbox: &mut mpsc::Receiver<Message>) -> End {
        let heartbeat = self.shared.config.heartbeat;
        let mut ping = tokio::time::interval_at(Instant::now() + heartbeat, heartbeat);
        let mut last_heard = Instant::now();
        let batch_max = self.shared.config.outbox_len.max(1);
        loop {
            tokio::select! {
                frame = ws.next() => {
                    last_heard = Instant::now();
                    match frame {
                        Some(Ok(Message::Text(text))) => self.on_text(&text),
                        Some(Ok(Message::Binary(_))) => {
                            self.reply_error(ErrorCode::BinaryUnsupported, "only text messages are relayed");
                        }
                        Some(Ok(Message::Close(_))) | None => return End::Gone,
                        Some(Ok(_)) => {}
                        Some(Err(tungstenite::Error::Capacity(_))) => return End::TooBig,
                        Some(Err(e)) if is_quiet(&e) => return End::Gone,
                        Some(Err(e)) => return End::Failed(e),
                    }
                }
                Some(first) = inbox.recv() => {
                    // A peer that accepts nothing for a whole heartbeat is as good as gone; the
                    // timer only starts if the write cannot finish at once.
                    match tokio::time::timeout(heartbeat, write_batch(ws, first, inbox, batch_max)).await {
                        Ok(Ok(())) => {}
                        Ok(Err(e)) => return ended(e),
                        Err(_) => return End::Stalled,
                    }
                }
                _ = ping.tick() => {
                    if last_heard.elapsed() >= heartbeat * 2 {
                        return End::Silent;
                    }
                    match tokio::time::timeout(heartbeat, ws.send(Message::Ping(bytes::Bytes::new()))).await {
                        Ok(Ok(())) => {}
                        Ok(Err(e)) => return ended(e),
                        Err(_) => return End::Stalled,
                    }
                }
            }
        }
    }

    fn on_text(&mut self, text: &str) {
        let parsed = match self.dialect {
            Dialect::Seed => match self.endpoint {
                Endpoint::Broadcast => {
                    if text.trim().is_empty() {
                        Err(ProtocolError::EmptyText)
                    } else {
                        Ok((Recipient::Everyone, text))
                    }
                }
                Endpoint::Direct => Addressed::parse(text).map(|a| (a.to, a.text)),
            },
            Dialect::V1 => match ClientMessage::parse(text) {
                Ok(ClientMessage::Send { to, text, .. }) => {
                    return self.deliver(to, &text);
                }
                Err(e) => Err(e),
            },
        };
        match parsed {
            Ok((to, body)) => self.deliver(to, body),
            Err(e) => self.reply_error(e.code(), &e.to_string()),
        }
    }

    fn deliver(&mut self, to: Recipient, text: &str) {
        let shared = self.shared;
        if !self.rate.allow() {
            shared.counters.rate_limited();
            tracing::info!(peer = %self.peer_id, "rate limit hit");
            self.reply_error(
                ErrorCode::RateLimited,
                "too many messages too fast; this one was not delivered",
            );
            return;
        }
        tracing::debug!(peer = %self.peer_id, to = %to, text, "message");
        let routed = shared
            .peers()
            .route(self.endpoint, &self.peer_id, to, text, now_ms());
        match routed {
            Ok(delivery) => shared.counters.routed(delivery),
            Err(e) => self.reply_error(e.code(), &e.to_string()),
        }
    }

    /// Tells this client its frame was refused: `Error: …` or an extended error frame.
    fn reply_error(&self, code: ErrorCode, message: &str) {
        // A full outbox cuts this client off; the cut-off is not counted as a slow reader's.
        self.outbox
            .offer(Message::text(self.dialect.error_frame(code, message)));
    }
}

/// Writes `first` and whatever else is already queued (up to `max` frames) with one flush.
async fn write_batch(
    ws: &mut Socket,
    first: Message,
    inbox: &mut mpsc::Receiver<Message>,
    max: usize,
) -> Result<(), tungstenite::Error> {
    ws.feed(first).await?;
    for _ in 1..max {
        let Ok(next) = inbox.try_recv() else { break };
        ws.feed(next).await?;
    }
    ws.flush().await
}

/// Errors that just mean the peer went away.
fn is_quiet(e: &tungstenite::Error) -> bool {
    use tungstenite::error::ProtocolError as P;
    matches!(
        e,
        tungstenite::Error::ConnectionClosed
            | tungstenite::Error::AlreadyClosed
            | tungstenite::Error::Io(_)
            | tungstenite::Error::Protocol(P::ResetWithoutClosingHandshake)
    )
}

fn ended(e: tungstenite::Error) -> End {
    if is_quiet(&e) {
        End::Gone
    } else {
        End::Failed(e)
    }
}
