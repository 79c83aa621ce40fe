//! One task per WebSocket: reads the client's frames, writes its outbox in batches, pings it,
//! and closes it with the right code when it misbehaves, is kicked, or the relay stops.
//!
//! Back-pressure lives here: after routing a message that left some recipient's queue over its
//! bounds, the task stops reading this client's socket until those queues have drained, while
//! it keeps writing this client's own queue. And the stall check: a write that moves no byte
//! for the stall timeout ends the connection; one that moves bytes slowly never does.

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use std::sync::Arc;

use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::{self, Message};

use super::cluster::{Admission, send_key};
use super::limits::RateLimit;
use super::outbox::{Inbox, Outbox, close_frame};
use super::peers::{Arrival, Checked, Resume};
use super::progress::{Metered, Progress};
use super::state::Shared;
use crate::protocol::{
    Addressed, Answers, ClientMessage, Close, Dialect, Endpoint, ErrorCode, ProtocolError,
    Recipient, now_ms,
};

type Socket = WebSocketStream<Metered<TokioIo<Upgraded>>>;

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
    /// The session it asks to continue.
    pub resume: Option<Resume>,
    /// It showed the host key.
    pub host: bool,
    /// Remote address, for logs.
    pub peer_addr: SocketAddr,
    /// Stamped whenever its socket accepts bytes.
    pub progress: Arc<Progress>,
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
    /// Its socket accepted nothing for the stall timeout.
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
    /// Its session's token in a cluster (empty for a seed client or a relay alone).
    token: String,
    outbox: Outbox,
    rate: RateLimit,
    /// Queues this client's last message left over their bounds; its socket is not read until
    /// they drain.
    waiting: Vec<Outbox>,
}

/// Runs one client's connection to its end and removes it from the room.
pub(super) async fn run(mut ws: Socket, accepted: Accepted, shared: &Shared) {
    let config = &shared.config;
    let (outbox, mut inbox) = Outbox::new(config.outbox_len, config.outbox_bytes);
    let token = accepted.resume.as_ref().map(|r| r.token.as_str());
    if shared.peers().is_removed(accepted.name.as_deref(), token) {
        tracing::info!(addr = %accepted.peer_addr, "refused: removed by the host");
        tokio::time::timeout(CLOSE_TIMEOUT, ws.close(Some(close_frame(Close::Kicked))))
            .await
            .ok();
        return;
    }
    let resuming = accepted.resume.is_some();
    let Some(admission) = admit(&mut ws, &accepted, shared).await else {
        return;
    };
    let (joined, delivery, info) = {
        let mut peers = shared.peers();
        let (joined, delivery) = peers.join(Arrival {
            endpoint: accepted.endpoint,
            dialect: accepted.dialect,
            name: accepted.name.as_deref(),
            host: accepted.host,
            resume: accepted.resume,
            claimed: admission.claimed,
            outbox: outbox.clone(),
            now_ms: now_ms(),
        });
        let info = peers.member_info(accepted.endpoint, &joined.peer_id);
        let hand = peers.hand(&joined.peer_id);
        (joined, delivery, info.map(|info| (info, hand)))
    };
    if let (Some(cluster), Some((info, hand))) = (&shared.cluster, info) {
        cluster
            .joined(accepted.endpoint, info, &admission.token, joined.presence)
            .await;
        // A resumed session's hand went up again here: up on every relay too.
        if let Some(since) = hand {
            let raise = ClientMessage::Hand { up: true, id: None };
            cluster
                .control(raise, &joined.peer_id, Some(since), None)
                .await;
        }
    }
    shared.counters.delivered(&delivery);
    shared.counters.connected();
    let peer_id = joined.peer_id;
    tracing::info!(
        peer = %peer_id,
        addr = %accepted.peer_addr,
        endpoint = ?accepted.endpoint,
        dialect = ?accepted.dialect,
        recovered = ?joined.recovered,
        "joined"
    );
    if resuming && joined.recovered == Some(false) {
        tracing::info!(peer = %peer_id, "could not resume its session; joined as new");
    }
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
        token: admission.token,
        outbox,
        rate: RateLimit::new(&shared.config),
        waiting: Vec::new(),
    };
    let end = tokio::select! {
        end = connection.pump(&mut ws, &mut inbox, &accepted.progress) => end,
        () = kill.kill().fired() => End::Killed,
        () = shared.shutdown.cancelled() => End::Shutdown,
    };
    let (delivery, left) = {
        let mut peers = shared.peers();
        let before = peers.presence();
        let delivery = peers.leave(
            connection.endpoint,
            &connection.peer_id,
            joined.conn,
            now_ms(),
        );
        // A connection whose session continued elsewhere leaves nothing.
        let left = (peers.presence() != before).then(|| peers.presence());
        (delivery, left)
    };
    shared.counters.delivered(&delivery);
    if let (Some(cluster), Some(version)) = (&shared.cluster, left) {
        cluster
            .left(
                connection.endpoint,
                &connection.peer_id,
                &connection.token,
                version,
            )
            .await;
    }

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

/// In a cluster, claims the client's ID cluster-wide before it joins; a relay that cannot
/// reach the cluster closes the connection (4001) and returns `None`.
async fn admit(ws: &mut Socket, accepted: &Accepted, shared: &Shared) -> Option<Admission> {
    let Some(cluster) = &shared.cluster else {
        return Some(Admission {
            claimed: None,
            token: String::new(),
        });
    };
    let admitted = cluster
        .admit(
            shared,
            accepted.endpoint,
            accepted.dialect,
            accepted.name.as_deref(),
            accepted.host,
            accepted.resume.as_ref(),
        )
        .await;
    match admitted {
        Ok(admission) => Some(admission),
        Err(e) => {
            tracing::info!(addr = %accepted.peer_addr, "refused: {e}");
            let close = close_frame(Close::Unavailable);
            tokio::time::timeout(CLOSE_TIMEOUT, ws.close(Some(close)))
                .await
                .ok();
            None
        }
    }
}

impl Connection<'_> {
    /// Reads, writes and pings until the connection should end.
    async fn pump(&mut self, ws: &mut Socket, inbox: &mut Inbox, progress: &Progress) -> End {
        let config = &self.shared.config;
        let (heartbeat, stall) = (config.heartbeat, config.stall);
        let mut ping = tokio::time::interval_at(Instant::now() + heartbeat, heartbeat);
        let mut last_heard = Instant::now();
        let batch_max = config.outbox_len.max(1);
        loop {
            let paused = !self.waiting.is_empty();
            tokio::select! {
                frame = ws.next(), if !paused => {
                    last_heard = Instant::now();
                    match frame {
                        Some(Ok(Message::Text(text))) => self.on_text(&text).await,
                        Some(Ok(Message::Binary(_))) => {
                            let why = "only text messages are relayed";
                            self.reply_error(ErrorCode::BinaryUnsupported, why, Answers::Other);
                        }
                        Some(Ok(Message::Close(_))) | None => return End::Gone,
                        Some(Ok(_)) => {}
                        Some(Err(tungstenite::Error::Capacity(_))) => return End::TooBig,
                        Some(Err(e)) if is_quiet(&e) => return End::Gone,
                        Some(Err(e)) => return End::Failed(e),
                    }
                }
                Some(first) = inbox.recv() => {
                    let written = watched(write_batch(ws, first, inbox, batch_max), progress, stall).await;
                    inbox.wake_senders();
                    match written {
                        Some(Ok(())) => {}
                        Some(Err(e)) => return ended(e),
                        None => return End::Stalled,
                    }
                }
                () = drained(&mut self.waiting, stall), if paused => {
                    // Time spent waiting for others is not this client's silence.
                    last_heard = Instant::now();
                }
                _ = ping.tick() => {
                    if !paused && last_heard.elapsed() >= heartbeat * 2 {
                        return End::Silent;
                    }
                    match watched(ws.send(Message::Ping(bytes::Bytes::new())), progress, stall).await {
                        Some(Ok(())) => {}
                        Some(Err(e)) => return ended(e),
                        None => return End::Stalled,
                    }
                }
            }
        }
    }

    async fn on_text(&mut self, text: &str) {
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
                Ok(ClientMessage::Send { to, text, id }) => {
                    return self.deliver(to, &text, id.as_deref()).await;
                }
                Ok(control) => return self.control(control, text.len()).await,
                Err(e) => Err(e),
            },
        };
        match parsed {
            Ok((to, body)) => self.deliver(to, body, None).await,
            // A frame that does not parse may have been meant as anything.
            Err(e) => self.reply_error(e.code(), &e.to_string(), Answers::Other),
        }
    }

    async fn deliver(&mut self, to: Recipient, text: &str, client_id: Option<&str>) {
        let shared = self.shared;
        if !self.rate.allow(text.len()) {
            shared.rate_limited(&self.peer_id);
            self.reply_error(
                ErrorCode::RateLimited,
                "too many messages too fast; this one was not delivered",
                Answers::Send(client_id),
            );
            return;
        }
        // Control characters never reach anyone's screen.
        if crate::text::has_forbidden_controls(text) {
            self.reply_error(
                ErrorCode::BadText,
                crate::text::BAD_TEXT_MESSAGE,
                Answers::Send(client_id),
            );
            return;
        }
        tracing::debug!(peer = %self.peer_id, to = %to, text, "message");
        if shared.cluster.is_some() {
            return self.publish(to, text, client_id).await;
        }
        let routed =
            shared
                .peers()
                .route(self.endpoint, &self.peer_id, to, text, client_id, now_ms());
        match routed {
            Ok(routed) => {
                if !routed.duplicate {
                    shared.counters.routed(&routed.delivery);
                }
                self.wait_for(routed.delivery.congested);
            }
            Err(e) => self.reply_error(e.code(), &e.to_string(), Answers::Send(client_id)),
        }
    }

    /// Sends a checked message through the cluster: the room's stream numbers it, and every
    /// relay (this one too) delivers it when it reads it back. A send id the stream already
    /// has is confirmed again; a message the cluster cannot take is refused (`unavailable`),
    /// never dropped silently.
    async fn publish(&mut self, to: Recipient, text: &str, client_id: Option<&str>) {
        let shared = self.shared;
        let Some(cluster) = &shared.cluster else {
            return;
        };
        let checked =
            shared
                .peers()
                .check_send(self.endpoint, &self.peer_id, to, text, client_id, now_ms());
        let (message, sender) = match checked {
            Ok(Checked::New { message, sender }) => (message, sender),
            Ok(Checked::Duplicate(routed)) => {
                self.wait_for(routed.delivery.congested);
                return;
            }
            Err(e) => {
                self.reply_error(e.code(), &e.to_string(), Answers::Send(client_id));
                return;
            }
        };
        let key = message
            .client_id
            .as_deref()
            .filter(|_| !self.token.is_empty())
            .map(|id| send_key(&self.token, id));
        match cluster.publish(self.endpoint, message, sender, key).await {
            Ok(ack) if ack.duplicate => {
                let delivery =
                    shared
                        .peers()
                        .confirm_seq(self.endpoint, &self.peer_id, ack.sequence);
                shared.counters.delivered(&delivery);
            }
            Ok(_) => {}
            Err(e) => {
                tracing::info!(peer = %self.peer_id, "not sent: {e}");
                self.reply_error(
                    ErrorCode::Unavailable,
                    "the chat cannot reach its cluster just now; your message was not \
                     delivered, send it again shortly",
                    Answers::Send(client_id),
                );
            }
        }
    }

    /// Applies a classroom control message (`room`, `mute`, `hand`, `poll`, …); `bytes` is
    /// its frame's size, which counts against the rate limit like a message.
    async fn control(&mut self, message: ClientMessage, bytes: usize) {
        let shared = self.shared;
        let answers = Answers::Control(message.kind());
        if !self.rate.allow(bytes) {
            shared.rate_limited(&self.peer_id);
            self.reply_error(
                ErrorCode::RateLimited,
                "too many messages too fast; this one was not delivered",
                answers,
            );
            return;
        }
        // Moderation is worth a line in the log, like the window's buttons; the rest is chatter.
        let moderation = matches!(
            message,
            ClientMessage::Mute { .. } | ClientMessage::Kick { .. } | ClientMessage::Readmit { .. }
        )
        .then(|| format!("{message:?}"));
        tracing::debug!(peer = %self.peer_id, ?message, "control");
        // The other relays of a cluster apply what applied here, with the hand's time and the
        // poll's number as they are here.
        let carried = shared.cluster.as_ref().map(|_| message.clone());
        let (done, since, poll) = {
            let mut peers = shared.peers();
            let done = peers.control(&self.peer_id, message, now_ms());
            let whose = match &carried {
                Some(ClientMessage::Hand { up: true, id }) => id.as_deref().or(Some(&self.peer_id)),
                _ => None,
            };
            let since = whose.and_then(|whose| peers.hand(whose));
            let poll = matches!(carried, Some(ClientMessage::Poll { .. }))
                .then(|| peers.poll_number())
                .flatten();
            (done, since, poll)
        };
        match done {
            Ok(delivery) => {
                shared.counters.delivered(&delivery);
                if let (Some(cluster), Some(message)) = (&shared.cluster, carried) {
                    cluster.control(message, &self.peer_id, since, poll).await;
                }
                if let Some(what) = moderation {
                    tracing::info!(host = %self.peer_id, what, "moderation by a host client");
                }
            }
            Err(e) => self.reply_error(e.code(), &e.to_string(), answers),
        }
    }

    /// Remembers queues to wait for before reading this client's next frame. Its own queue is
    /// among them when it does not read its echoes; the loop keeps writing it meanwhile.
    fn wait_for(&mut self, congested: Vec<Outbox>) {
        for outbox in congested {
            if !self.waiting.iter().any(|w| w.same(&outbox)) {
                self.waiting.push(outbox);
            }
        }
    }

    /// Tells this client its frame was refused: `Error: …` or an extended error frame.
    fn reply_error(&self, code: ErrorCode, message: &str, answers: Answers<'_>) {
        // Its own queue is drained by this task; going over its bounds by one frame is fine.
        self.outbox.offer(Message::text(
            self.dialect.error_frame(code, message, answers),
        ));
    }
}

/// Waits until every queue in `waiting` is within its bounds again (or its client gone). A
/// recipient that stops reading is cut by its own connection after the stall timeout; should
/// that not happen (its task is stuck elsewhere), it is cut from here after twice as long.
async fn drained(waiting: &mut Vec<Outbox>, stall: std::time::Duration) {
    while let Some(outbox) = waiting.last() {
        if tokio::time::timeout(stall * 2, outbox.uncongested())
            .await
            .is_err()
        {
            outbox.kill().fire(Close::TooSlow);
        }
        waiting.pop();
    }
}

/// Runs a write, ending it (`None`) once the socket has accepted no byte for `stall`. A write
/// that moves bytes, however slowly, runs to its end.
async fn watched<T>(
    write: impl std::future::Future<Output = T>,
    progress: &Progress,
    stall: std::time::Duration,
) -> Option<T> {
    progress.mark();
    tokio::pin!(write);
    loop {
        let deadline = progress.last() + stall;
        tokio::select! {
            done = &mut write => return Some(done),
            () = tokio::time::sleep_until(deadline) => {
                if progress.last() + stall <= Instant::now() {
                    return None;
                }
            }
        }
    }
}

/// Writes `first` and whatever else is already queued (up to `max` frames) with one flush.
async fn write_batch(
    ws: &mut Socket,
    first: Message,
    inbox: &mut Inbox,
    max: usize,
) -> Result<(), tungstenite::Error> {
    ws.feed(first).await?;
    for _ in 1..max {
        let Some(next) = inbox.try_recv() else { break };
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
