//! Joining a chat: [`connect`] gives a [`ClientHandle`] that takes requests and a channel of
//! [`Event`]s, and keeps the connection up (reconnecting with backoff) in a background task.
//!
//! It speaks `classchat.v1` to a classchat relay and falls back to the seed's plain text when
//! the server does not accept the subprotocol (the seed's Tornado server), reading its ID from
//! `Your ID is: …`. Used as is by `classchat join` and by the desktop app.
//!
//! Against a relay that numbers its messages (see *Delivery* in `docs/PROTOCOL.md`) the client
//! also keeps its session across drops: it reconnects with the relay's resume token and the
//! highest message number it has seen, shows each message exactly once (replays included), and
//! sends again, with the same [`SendId`], whatever the relay had not confirmed.
//!
//! Try it: `cargo run -- join localhost --name 花子`.

mod address;
mod link;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::runtime::Handle;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use url::Url;

pub use crate::tls::Trust;
pub use address::{AddressError, parse_address};

use crate::protocol::{
    Addressed, ClientInfo, ClientMessage, ErrorCode, ProtocolError, RaisedHand, Recipient,
    RoomModes,
};

/// How to join.
#[derive(Clone, Debug)]
pub struct JoinConfig {
    /// The WebSocket URL, usually from [`parse_address`].
    pub url: Url,
    /// Nickname to ask for; the relay gives a `clientN` ID when it is taken or invalid.
    pub name: Option<String>,
    /// The host's join code, if it set one.
    pub join_code: Option<String>,
    /// The host key (`?host=`): the relay then treats this client as the host, who may use
    /// the teacher's reserved names.
    pub host_key: Option<String>,
    /// Reconnect after a lost connection (1 s doubling to 30 s).
    pub reconnect: bool,
    /// The certificates a `wss://` relay may show: the system's roots unless told otherwise.
    pub trust: Trust,
    /// Other relays of the same cluster (`classchat serve --cluster`), tried in turn after
    /// `url` when a connection is lost or cannot be made; the session resumes on whichever
    /// answers. Empty: only `url`.
    pub fallbacks: Vec<Url>,
}

impl JoinConfig {
    /// A config for `url` with no name or code that reconnects.
    pub fn new(url: Url) -> Self {
        Self {
            url,
            name: None,
            join_code: None,
            host_key: None,
            reconnect: true,
            trust: Trust::System,
            fallbacks: Vec::new(),
        }
    }
}

/// The client-chosen ID of one [`ClientHandle::send`], unique per handle. The relay's
/// confirmation carries it back (`client_id` on the wire), so the message can be shown as
/// pending until then.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SendId(u64);

impl SendId {
    /// The `id` field this send carries on the wire.
    pub fn wire(self) -> String {
        format!("m{}", self.0)
    }
}

impl std::fmt::Display for SendId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "m{}", self.0)
    }
}

/// A message as this client saw it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Incoming {
    /// The sender's ID; `None` where the server does not say (the seed's servers).
    pub from: Option<String>,
    /// Everyone, one client, or `None` where the server does not say.
    pub to: Option<Recipient>,
    /// The text.
    pub text: String,
    /// Server time in ms since the Unix epoch, or local time where the server sends none.
    pub ts: u64,
    /// The message's number in its room, where the relay numbers them.
    pub seq: Option<u64>,
    /// Sent again from the relay's history: what was said before this client joined, or while
    /// its connection was down. Shown under an "earlier messages" divider.
    pub replay: bool,
    /// On this client's own message: the send it confirms, which is no longer pending.
    pub confirms: Option<SendId>,
    /// Sent by a host: shown with a teacher badge.
    pub from_host: bool,
}

/// What a classchat relay tells about the room beyond chat (see *Classroom controls* in
/// `docs/PROTOCOL.md`). Servers without classroom controls send none of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Classroom {
    /// The room's modes: after the welcome and on every change.
    Modes(RoomModes),
    /// To hosts: the raised hands, oldest first, on every change.
    Hands(Vec<RaisedHand>),
    /// A poll is open (after the welcome too, while it is).
    Poll {
        /// Its number.
        poll: u64,
        /// The question.
        question: String,
        /// The answers, voted for by index.
        options: Vec<String>,
    },
    /// To hosts: the open poll's votes so far.
    Tally {
        /// Which poll.
        poll: u64,
        /// Votes per option.
        counts: Vec<u32>,
        /// How many people voted.
        voters: u32,
    },
    /// A poll closed, with its final counts.
    PollResult {
        /// Which poll.
        poll: u64,
        /// Votes per option.
        counts: Vec<u32>,
        /// The question, when the relay repeats it.
        question: Option<String>,
        /// The options, when the relay repeats them.
        options: Option<Vec<String>>,
    },
    /// The pinned message; empty when nothing is pinned.
    Pinned(String),
    /// This client's own hand went up or down (a host may have lowered it).
    OwnHand {
        /// Up or down.
        up: bool,
    },
}

/// Why the connection ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Disconnect {
    /// This client closed it.
    Closed,
    /// The host removed this client.
    Kicked,
    /// The relay cut this client off (for example for not reading); the reason as sent.
    ClosedByRelay(String),
    /// The host stopped the chat.
    HostStopped,
    /// The join code was wrong or missing.
    WrongJoinCode,
    /// The relay refuses this origin.
    OriginRefused,
    /// The relay has no room for more clients.
    Full,
    /// Nothing answered at that address.
    Unreachable(String),
    /// Something answered, but not a chat relay.
    NotAChat(String),
    /// The connection broke.
    Lost(String),
    /// The address cannot be used.
    BadAddress(String),
    /// The relay's certificate is not one this client trusts; why (self-signed, expired, made
    /// out for another name).
    UntrustedCertificate(String),
    /// The extra CA certificate file ([`Trust::WithCaFile`]) cannot be used; why, with its
    /// path.
    BadCaCert(String),
}

impl Disconnect {
    /// Whether trying again could help.
    pub fn retryable(&self) -> bool {
        !matches!(
            self,
            Self::Closed
                | Self::Kicked
                | Self::WrongJoinCode
                | Self::OriginRefused
                | Self::BadAddress(_)
                | Self::UntrustedCertificate(_)
                | Self::BadCaCert(_)
        )
    }
}

impl std::fmt::Display for Disconnect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Closed => f.write_str("you left the chat"),
            Self::Kicked => f.write_str("the host removed you from the chat"),
            Self::ClosedByRelay(reason) => write!(f, "the relay closed the connection: {reason}"),
            Self::HostStopped => f.write_str("the host stopped the chat"),
            Self::WrongJoinCode => f.write_str("wrong join code"),
            Self::OriginRefused => f.write_str("the host does not accept this page"),
            Self::Full => f.write_str("the chat is full"),
            Self::Unreachable(addr) => write!(f, "no classchat host at {addr}"),
            Self::NotAChat(addr) => write!(f, "{addr} is not a classchat host"),
            Self::Lost(why) => write!(f, "connection lost: {why}"),
            Self::BadAddress(why) => f.write_str(why),
            Self::UntrustedCertificate(why) => {
                write!(f, "the host's certificate is not trusted: {why}")
            }
            Self::BadCaCert(why) => write!(f, "the CA certificate cannot be used: {why}"),
        }
    }
}

/// What happens on the connection, in order.
///
/// # Own messages
/// The library alone decides what shows as this client's own message; a UI must not add its
/// own line when it sends. A classchat relay echoes every message to its sender, and that echo
/// arrives as an [`Event::Message`] whose `confirms` names the send. The seed's *broadcast*
/// server echoes too (as anyone's message, without a sender), so the library adds nothing and
/// reports [`Event::Confirmed`] once the text is written. The seed's *addressed* server echoes
/// nothing, so the library emits the own message itself, with `confirms` set.
///
/// # Sends
/// Every [`SendId`] returned by [`ClientHandle::send`] ends in exactly one of: an
/// [`Event::Message`] whose `confirms` is that ID, an [`Event::Confirmed`] with that ID (its
/// message was already shown), an [`Event::Refused`] whose `send` is that ID, or an
/// [`Event::NotSent`] with that ID. Until then it is pending.
/// While a relay that can resume is unreachable, sends wait and go out (in order, with their
/// IDs) once the session is back; a relay that already accepted one does not deliver it twice.
///
/// # Replays
/// Messages with `replay` set come from the relay's history: after [`Event::Connected`] to a
/// room that has history, and after [`Event::Resumed`]. Each message is reported once, even when
/// a replay overlaps what was already seen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A connection attempt starts (attempt 1 is the first).
    Connecting {
        /// Attempt number since the last successful connection.
        attempt: u32,
    },
    /// Connected. `legacy` means the server speaks only the seed's text: no roster, no senders.
    Connected {
        /// This client's ID, when the server told it.
        id: Option<String>,
        /// Everyone connected (this client included), when the server tells.
        clients: Option<Vec<ClientInfo>>,
        /// True for a server without `classchat.v1`.
        legacy: bool,
    },
    /// Right after [`Event::Connected`] on a reconnect that asked to continue the session.
    /// `recovered` says whether everything missed follows as replays; when it is false (the relay
    /// restarted, or the gap is no longer in its history) some messages may be missing, and the
    /// user should be told so plainly.
    Resumed {
        /// Whether every missed message follows.
        recovered: bool,
    },
    /// Someone joined.
    Joined(ClientInfo),
    /// Someone left.
    Left {
        /// Who.
        id: String,
    },
    /// A message, this client's own included (as the relay confirmed it).
    Message(Incoming),
    /// A pending send is confirmed, and its message was already reported (on the seed's
    /// broadcast server, or when a resent message had already arrived).
    Confirmed {
        /// The send.
        id: SendId,
    },
    /// The relay refused something this client sent; the connection stays open.
    Refused {
        /// Stable code (`Other` for a legacy server's `Error:` text).
        code: ErrorCode,
        /// The relay's sentence.
        message: String,
        /// When it refused a control message: that message's `type` (`poll`, `vote`, …).
        about: Option<String>,
        /// The send refused, which is no longer pending; `None` for a refusal that answers no
        /// send (`name_taken`) or on the seed's servers.
        send: Option<SendId>,
    },
    /// A message could not be sent because the client is not connected; nothing was lost
    /// silently: the text is handed back.
    NotSent {
        /// The send, which is no longer pending.
        id: SendId,
        /// The recipient it was for.
        to: Recipient,
        /// The text.
        text: String,
    },
    /// A control message ([`ClientHandle::control`]) was not sent: the client is not connected,
    /// or the server has no classroom controls (the seed's).
    ControlNotSent(ClientMessage),
    /// Room modes, hands, polls or the pinned message changed.
    Classroom(Classroom),
    /// The connection ended. `retry_in` is when the next attempt starts, or `None` when the
    /// client has stopped for good.
    Disconnected {
        /// Why.
        reason: Disconnect,
        /// Delay before the next attempt.
        retry_in: Option<Duration>,
    },
}

/// Requests from the handle to the connection task.
#[derive(Debug)]
enum Request {
    Send {
        id: SendId,
        to: Recipient,
        text: String,
    },
    Control(ClientMessage),
}

/// Called after every event, to wake a UI that waits for input.
pub type Waker = Arc<dyn Fn() + Send + Sync>;

/// The sending half of a joined chat. Dropping it (or [`close`](Self::close)) leaves the chat.
#[derive(Debug)]
pub struct ClientHandle {
    requests: mpsc::UnboundedSender<Request>,
    cancel: CancellationToken,
    /// The number of the last [`SendId`] handed out; atomic so that `send` takes `&self`.
    last_send: AtomicU64,
}

impl ClientHandle {
    /// Sends `text` to `to` and returns the ID that marks it pending until it is confirmed
    /// (see [`Event`], *Sends*). Never blocks. When it cannot be sent (not connected to a relay
    /// that can resume), an [`Event::NotSent`] hands the text back.
    pub fn send(&self, to: Recipient, text: impl Into<String>) -> SendId {
        let id = SendId(self.last_send.fetch_add(1, Ordering::Relaxed) + 1);
        // Only fails after the task ended, and then there is nobody to tell.
        self.requests
            .send(Request::Send {
                id,
                to,
                text: text.into(),
            })
            .ok();
        id
    }

    /// Sends a classroom control message: raise a hand, vote, or for hosts set the room's
    /// modes, mute, remove, poll or pin. Never blocks. The relay answers a refusal with
    /// [`Event::Refused`] (its `about` is the message's `type`) and a success with the
    /// [`Event::Classroom`] change it makes; [`Event::ControlNotSent`] when it cannot be sent.
    pub fn control(&self, message: ClientMessage) {
        // Only fails after the task ended, and then there is nobody to tell.
        self.requests.send(Request::Control(message)).ok();
    }

    /// Sends a line typed as `id/message` or `*/message`; see [`send`](Self::send).
    pub fn send_line(&self, line: &str) -> Result<SendId, ProtocolError> {
        let addressed = Addressed::parse(line)?;
        Ok(self.send(addressed.to, addressed.text))
    }

    /// Leaves the chat with a normal close (code 1000).
    pub fn close(&self) {
        self.cancel.cancel();
    }
}

impl Drop for ClientHandle {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

/// Starts joining on `runtime`. Events arrive on the returned receiver; `wake` is called after
/// each one.
pub fn connect(
    runtime: &Handle,
    config: JoinConfig,
    wake: Option<Waker>,
) -> (ClientHandle, mpsc::UnboundedReceiver<Event>) {
    let (request_tx, request_rx) = mpsc::unbounded_channel();
    let (event_tx, event_rx) = mpsc::unbounded_channel();
    let cancel = CancellationToken::new();
    let events = link::Emitter::new(event_tx, wake);
    runtime.spawn(link::run(config, request_rx, events, cancel.clone()));
    (
        ClientHandle {
            requests: request_tx,
            cancel,
            last_send: AtomicU64::new(0),
        },
        event_rx,
    )
}
