//! The wire: the seed's plain-text forms and the extended `classchat.v1` JSON messages.
//!
//! Nothing here does I/O. The relay and the client both parse and encode through this module,
//! so the two sides cannot drift apart. See `docs/PROTOCOL.md` for the prose version.
//!
//! ```
//! use classchat::protocol::{Addressed, Recipient};
//! let a = Addressed::parse("client1/a/b").unwrap();
//! assert_eq!(a.to, Recipient::Client("client1".into()));
//! assert_eq!(a.text, "a/b");
//! ```

use serde::{Deserialize, Serialize};

/// Default TCP port, the seed's.
pub const DEFAULT_PORT: u16 = 30005;
/// Path of the broadcast room: every message goes to everyone.
pub const BROADCAST_PATH: &str = "/ws_multi_client";
/// Path of the addressed room: `id/text` goes to one client.
pub const DIRECT_PATH: &str = "/ws_multi_client_dict";
/// The subprotocol a client offers to get JSON frames instead of bare text.
pub const SUBPROTOCOL: &str = "classchat.v1";
/// Prefix of generated IDs, as in the seed.
pub const ID_PREFIX: &str = "client";
/// The ID the relay itself writes as when the host uses "send as host".
pub const HOST_ID: &str = "host";
/// Written in the `to` field (and typed before the `/`) to address everyone.
pub const EVERYONE: &str = "*";
/// Longest nickname, in characters.
pub const MAX_NAME_CHARS: usize = 32;
/// The largest frame classchat's own clients accept. The relay's `welcome` lists every client
/// and must fit in it, which bounds `RelayConfig::max_listed_clients`.
pub const CLIENT_MAX_FRAME_BYTES: usize = 1 << 20;

/// The seed's broadcast echo prefix, exact.
pub const BROADCAST_PREFIX: &str = "The server return anyone's message: ";
/// The seed's welcome prefix, exact.
const WELCOME_PREFIX: &str = "Your ID is: ";
/// Prefix of every plain-text error reply.
pub const ERROR_PREFIX: &str = "Error: ";

/// Who a message is for.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Recipient {
    /// Everyone in the room (`*`).
    Everyone,
    /// One client, by ID.
    Client(String),
}

impl Recipient {
    /// Parses the part before the `/`: `*` is everyone, anything else an ID.
    pub fn from_wire(s: &str) -> Self {
        if s == EVERYONE {
            Self::Everyone
        } else {
            Self::Client(s.to_owned())
        }
    }

    /// The wire form: `*` or the ID.
    pub fn as_wire(&self) -> &str {
        match self {
            Self::Everyone => EVERYONE,
            Self::Client(peer_id) => peer_id,
        }
    }
}

impl std::fmt::Display for Recipient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_wire())
    }
}

impl Serialize for Recipient {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_wire())
    }
}

impl<'de> Deserialize<'de> for Recipient {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(Self::from_wire(&s))
    }
}

/// Milliseconds since the Unix epoch, the wire's timestamp unit.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Why a frame could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    /// The text had no `/` separating the ID from the message.
    #[error("write the message as id/text (for example client1/hello), or */text for everyone")]
    MissingSlash,
    /// Nothing before the `/`.
    #[error("the ID before the / is empty")]
    EmptyRecipient,
    /// Nothing (or only spaces) after the `/`.
    #[error("the message after the / is empty")]
    EmptyText,
    /// A JSON frame that is not a known client message.
    #[error("not a classchat.v1 message: {0}")]
    BadJson(String),
    /// A classroom control message whose values cannot be used; the sentence says why.
    #[error("{0}")]
    BadControl(&'static str),
    /// A poll or pinned text holds a control character other than tab and line feed.
    #[error("{}", crate::text::BAD_TEXT_MESSAGE)]
    ControlCharacters,
}

impl ProtocolError {
    /// The stable machine-readable code sent in extended error frames.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::MissingSlash | Self::EmptyRecipient | Self::BadControl(_) => ErrorCode::BadFormat,
            Self::EmptyText => ErrorCode::EmptyText,
            Self::BadJson(_) => ErrorCode::BadJson,
            Self::ControlCharacters => ErrorCode::BadText,
        }
    }
}

/// A message addressed with the seed's `id/text` form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Addressed<'a> {
    /// Everything before the first `/`.
    pub to: Recipient,
    /// Everything after the first `/`, unchanged (further `/` included).
    pub text: &'a str,
}

impl<'a> Addressed<'a> {
    /// Parses `id/text`. The seed cut the text at a second `/`; this keeps all of it.
    pub fn parse(line: &'a str) -> Result<Self, ProtocolError> {
        let Some((to, text)) = line.split_once('/') else {
            return Err(ProtocolError::MissingSlash);
        };
        if to.is_empty() {
            return Err(ProtocolError::EmptyRecipient);
        }
        if text.trim().is_empty() {
            return Err(ProtocolError::EmptyText);
        }
        Ok(Self {
            to: Recipient::from_wire(to),
            text,
        })
    }
}

/// The seed's broadcast echo: `The server return anyone's message: <text>`.
pub fn legacy_broadcast(text: &str) -> String {
    format!("{BROADCAST_PREFIX}{text}")
}

/// The text inside the seed's broadcast echo, if `text` is one.
pub fn strip_legacy_broadcast(text: &str) -> Option<&str> {
    text.strip_prefix(BROADCAST_PREFIX)
}

/// The seed's greeting on the addressed path: `Your ID is: <id>`.
pub fn legacy_welcome(peer_id: &str) -> String {
    format!("{WELCOME_PREFIX}{peer_id}")
}

/// Reads the ID out of the seed's greeting, if `text` is one.
pub fn parse_legacy_welcome(text: &str) -> Option<&str> {
    text.strip_prefix(WELCOME_PREFIX)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// A plain-text error reply: `Error: <sentence>`.
pub fn legacy_error(message: &str) -> String {
    format!("{ERROR_PREFIX}{message}")
}

/// Which of the seed's two paths a client connected to. The path decides what a seed client
/// sends and sees; `classchat.v1` clients see the same on both.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// [`BROADCAST_PATH`]: everything to everyone.
    Broadcast,
    /// [`DIRECT_PATH`]: `id/text` to one client (or `*/text` to all).
    Direct,
}

impl Endpoint {
    /// The endpoint served at `path`, if any.
    pub fn from_path(path: &str) -> Option<Self> {
        match path {
            BROADCAST_PATH => Some(Self::Broadcast),
            DIRECT_PATH => Some(Self::Direct),
            _ => None,
        }
    }
}

/// The two wire dialects: the seed's plain text, or the `classchat.v1` JSON subprotocol. Every
/// difference in what the two see is decided here.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// The course's plain text, spoken by the seed's browser page and Tornado server.
    Seed,
    /// [`SUBPROTOCOL`] JSON frames.
    V1,
}

impl Dialect {
    /// The dialect a [`ClientInfo::legacy`] flag on the wire stands for.
    pub fn from_legacy(legacy: bool) -> Self {
        if legacy { Self::Seed } else { Self::V1 }
    }

    /// The wire's `legacy` flag for this dialect.
    pub fn is_legacy(self) -> bool {
        self == Self::Seed
    }

    /// The first frame a new client gets, if its dialect has one: the seed greets only on the
    /// addressed path. `v1` builds the JSON welcome, and is called only when it is needed.
    pub fn welcome(
        self,
        endpoint: Endpoint,
        peer_id: &str,
        v1: impl FnOnce() -> ServerMessage,
    ) -> Option<String> {
        match (self, endpoint) {
            (Self::Seed, Endpoint::Broadcast) => None,
            (Self::Seed, Endpoint::Direct) => Some(legacy_welcome(peer_id)),
            (Self::V1, _) => Some(v1().encode()),
        }
    }

    /// A refusal the connection survives: `Error: <sentence>`, or a JSON error frame that says
    /// which of the client's frames it `answers`.
    pub fn error_frame(self, code: ErrorCode, message: &str, answers: Answers<'_>) -> String {
        match self {
            Self::Seed => legacy_error(message),
            Self::V1 => {
                let (client_id, about) = match answers {
                    Answers::Other => (None, None),
                    Answers::Send(id) => (id.map(str::to_owned), None),
                    Answers::Control(kind) => (None, Some(kind.to_owned())),
                };
                ServerMessage::Error {
                    code,
                    message: message.to_owned(),
                    client_id,
                    about,
                }
                .encode()
            }
        }
    }

    /// One delivered chat message: the seed's echo text on the broadcast path, the bare text on
    /// the addressed path, or a JSON message frame.
    pub fn encode_chat(self, endpoint: Endpoint, message: ChatRef<'_>) -> String {
        match (self, endpoint) {
            (Self::Seed, Endpoint::Broadcast) => legacy_broadcast(message.text),
            (Self::Seed, Endpoint::Direct) => message.text.to_owned(),
            // Serializing a plain struct cannot fail: every key is a string.
            (Self::V1, _) => serde_json::to_string(&message).unwrap_or_default(),
        }
    }

    /// A classroom notice (`room`, `hands`, `poll`, `tally`, `poll_result`, `pinned`) as this
    /// dialect sees it: the JSON frame, or for the seed a plain line for the poll, its result
    /// and the pinned message, and nothing for the rest.
    pub fn notice(self, notice: &ServerMessage) -> Option<String> {
        match self {
            Self::V1 => Some(notice.encode()),
            Self::Seed => seed_notice(notice),
        }
    }
}

/// The plain line a seed client gets for a classroom notice, if any.
fn seed_notice(notice: &ServerMessage) -> Option<String> {
    match notice {
        ServerMessage::Poll {
            poll,
            question,
            options,
        } => Some(format!(
            "Poll {poll}: {question} {}",
            numbered(options, None)
        )),
        ServerMessage::PollResult {
            poll,
            counts,
            question,
            options,
        } => {
            let question = question.as_deref().unwrap_or_default();
            let options = options.as_deref().unwrap_or_default();
            Some(format!(
                "Poll {poll} results: {question} {}",
                numbered(options, Some(counts))
            ))
        }
        ServerMessage::Pinned { text } if text.is_empty() => Some(UNPINNED_LINE.to_owned()),
        ServerMessage::Pinned { text } => Some(format!("{PINNED_PREFIX}{text}")),
        _ => None,
    }
}

/// `1) Monday 2) Tuesday`, with `: 4` after each option when `counts` are given.
fn numbered(options: &[String], counts: Option<&[u32]>) -> String {
    let mut line = String::new();
    for (index, option) in options.iter().enumerate() {
        if index > 0 {
            line.push(' ');
        }
        line.push_str(&format!("{}) {option}", index + 1));
        if let Some(count) = counts.and_then(|c| c.get(index)) {
            line.push_str(&format!(": {count}"));
        }
    }
    line
}

/// What a seed client's line for the pinned message starts with.
pub const PINNED_PREFIX: &str = "Pinned: ";
/// The line a seed client gets when the host unpins the message.
pub const UNPINNED_LINE: &str = "The pinned message was removed";

/// A chat message by reference, encoded exactly like [`ServerMessage::Message`] without copying
/// its strings.
#[derive(Clone, Copy, Debug, Serialize)]
#[serde(tag = "type", rename = "message")]
pub struct ChatRef<'a> {
    /// The sender's ID.
    pub from: &'a str,
    /// The recipient.
    pub to: &'a Recipient,
    /// The text.
    pub text: &'a str,
    /// When the relay accepted it, in milliseconds since the Unix epoch.
    pub ts: u64,
    /// Its number in the room.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    /// Sent again from the room's history.
    #[serde(skip_serializing_if = "is_false")]
    pub replay: bool,
    /// On the sender's own copy: the `id` of its `send`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<&'a str>,
    /// `host` on a host's messages.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
}

/// Why a connection was closed: every close code the relay sends or the client reads, with
/// its reason text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Close {
    /// 1000: the client left.
    Left,
    /// 1001: the host stopped the chat.
    HostStopped,
    /// 1008: the host removed the client.
    Kicked,
    /// 1009: a message over the size limit.
    TooBig,
    /// 1013: the client's socket took nothing for the stall timeout.
    TooSlow,
    /// 4000: the session was resumed on another connection; this one must not reconnect.
    Replaced,
    /// 4001: a relay of a cluster cannot reach the cluster's NATS server just now; try again.
    Unavailable,
}

impl Close {
    /// The RFC 6455 close code.
    pub fn code(self) -> u16 {
        match self {
            Self::Left => 1000,
            Self::HostStopped => 1001,
            Self::Kicked => 1008,
            Self::TooBig => 1009,
            Self::TooSlow => 1013,
            Self::Replaced => 4000,
            Self::Unavailable => 4001,
        }
    }

    /// The reason sent with the code.
    pub fn reason(self) -> &'static str {
        match self {
            Self::Left => "bye",
            Self::HostStopped => "the host stopped the chat",
            Self::Kicked => "removed by the host",
            Self::TooBig => "message too big",
            Self::TooSlow => "too slow: messages were not being read",
            Self::Replaced => "this session continued on another connection",
            Self::Unavailable => "the chat is briefly unavailable; try again shortly",
        }
    }

    /// What a received close code means to a client. 1012 (service restart) counts as the host
    /// stopping.
    pub fn from_code(code: u16) -> Option<Self> {
        match code {
            1000 => Some(Self::Left),
            1001 | 1012 => Some(Self::HostStopped),
            1008 => Some(Self::Kicked),
            1009 => Some(Self::TooBig),
            1013 => Some(Self::TooSlow),
            4000 => Some(Self::Replaced),
            4001 => Some(Self::Unavailable),
            _ => None,
        }
    }
}

/// Stable error codes of extended error frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Text without `id/` in front.
    BadFormat,
    /// Nothing to send.
    EmptyText,
    /// No client has that ID.
    UnknownRecipient,
    /// A binary frame; only text is relayed.
    BinaryUnsupported,
    /// The JSON was not a known message.
    BadJson,
    /// Too many messages too fast; this one was not delivered.
    RateLimited,
    /// The host muted this client; nothing it sends is delivered.
    Muted,
    /// The requested nickname is in use; a generated ID was given.
    NameTaken,
    /// The requested nickname is not allowed; a generated ID was given.
    NameInvalid,
    /// The text holds a control character other than tab and line feed; nothing was delivered.
    BadText,
    /// A classroom control message from a client that is not a host.
    NotHost,
    /// The room's modes do not let this client write to that recipient, or the poll it
    /// answers is not open.
    NotAllowed,
    /// A relay of a cluster cannot reach the cluster just now; the message was not delivered
    /// and may be sent again.
    Unavailable,
    /// A code this version does not know.
    #[serde(other)]
    Other,
}

/// One connected client as the roster shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientInfo {
    /// The client's ID (a nickname or `clientN`).
    pub id: String,
    /// When it connected, in milliseconds since the Unix epoch (server clock).
    pub since: u64,
    /// True for a client speaking the seed's plain text rather than `classchat.v1`.
    #[serde(default)]
    pub legacy: bool,
    /// Host or student (absent from relays without classroom controls).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
}

/// What a client may do in the room: a host steers it, a student takes part.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Connected with the host key: may send the classroom control messages.
    Host,
    /// Everyone else.
    Student,
}

/// Who students may write to; hosts may always write to anyone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomModes {
    /// Students may write to everyone (`*`, and anything in the broadcast room).
    pub student_broadcast: bool,
    /// Students may write privately to other students.
    pub student_private: bool,
}

impl Default for RoomModes {
    /// An open room: students may write to everyone and to each other.
    fn default() -> Self {
        Self {
            student_broadcast: true,
            student_private: true,
        }
    }
}

/// One raised hand in the host's queue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RaisedHand {
    /// Whose hand.
    pub id: String,
    /// When it went up, in milliseconds since the Unix epoch.
    pub since: u64,
}

/// A chat message as the relay delivers it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// The sender's ID.
    pub from: String,
    /// The recipient, or `*` for everyone.
    pub to: Recipient,
    /// The text, unchanged.
    pub text: String,
    /// When the relay accepted it, in milliseconds since the Unix epoch.
    pub ts: u64,
    /// Its number in the room (absent from servers without delivery guarantees).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    /// Sent again from the room's history: to a late joiner, or after a resume.
    #[serde(default, skip_serializing_if = "is_false")]
    pub replay: bool,
    /// On the sender's own copy: the `id` its `send` carried, confirming it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// `host` on a host's messages (clients show a teacher badge); absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
}

impl ChatMessage {
    /// A message with no delivery fields (`seq`, `replay`, `client_id`).
    pub fn new(from: impl Into<String>, to: Recipient, text: impl Into<String>, ts: u64) -> Self {
        Self {
            from: from.into(),
            to,
            text: text.into(),
            ts,
            seq: None,
            replay: false,
            client_id: None,
            role: None,
        }
    }
}

// Serde's `skip_serializing_if` takes a reference.
fn is_false(b: &bool) -> bool {
    !*b
}

/// Which of a client's frames an error frame answers, so that the client can tell a refused
/// send (no longer pending) from a refused control message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answers<'a> {
    /// Neither: a refused name, a binary frame, a frame that is not JSON.
    Other,
    /// A `send`, with the `id` it carried.
    Send(Option<&'a str>),
    /// A control message, by its `type`.
    Control(&'static str),
}

/// Frames the relay sends to `classchat.v1` clients.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// First frame after connecting.
    Welcome {
        /// The ID this connection has.
        id: String,
        /// Everyone connected, this client included, in order of arrival.
        clients: Vec<ClientInfo>,
        /// The room's latest message number (0 before the first).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seq: Option<u64>,
        /// Changes whenever the relay starts: numbers from another epoch mean nothing here.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        epoch: Option<String>,
        /// The token to resume this session with after a drop.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        resume: Option<String>,
        /// Present when the client asked to resume: whether everything it missed follows.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        recovered: Option<bool>,
        /// This client's own role.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        role: Option<Role>,
    },
    /// Someone connected.
    Joined {
        /// Who.
        client: ClientInfo,
    },
    /// Someone left.
    Left {
        /// Who.
        id: String,
    },
    /// A chat message; the sender gets its own messages back as confirmation.
    Message(ChatMessage),
    /// Something this client sent was refused; its connection stays open.
    Error {
        /// Stable code.
        code: ErrorCode,
        /// A sentence for people.
        message: String,
        /// When a `send` with an `id` was refused: that `id`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client_id: Option<String>,
        /// When a control message was refused: its `type` (`poll`, `vote`, …).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        about: Option<String>,
    },
    /// The room's modes: after `welcome` and whenever a host changes them.
    Room(RoomModes),
    /// To hosts: the raised hands, oldest first, after `welcome` and on every change.
    Hands {
        /// The queue.
        queue: Vec<RaisedHand>,
    },
    /// A host opened a poll; also sent after `welcome` while it is open.
    Poll {
        /// Its number, from the relay's counter.
        poll: u64,
        /// The question.
        question: String,
        /// The answers to choose from (2 to 6), answered by index.
        options: Vec<String>,
    },
    /// To hosts: the open poll's votes so far, on every vote.
    Tally {
        /// Which poll.
        poll: u64,
        /// Votes per option, in the options' order.
        counts: Vec<u32>,
        /// How many people voted.
        voters: u32,
    },
    /// A host closed a poll: the final counts.
    PollResult {
        /// Which poll.
        poll: u64,
        /// Votes per option, in the options' order.
        counts: Vec<u32>,
        /// The question, repeated for clients that joined after it was asked.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        question: Option<String>,
        /// The options, repeated likewise.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        options: Option<Vec<String>>,
    },
    /// The pinned message (empty: nothing is pinned): after `welcome` while one is pinned, and
    /// whenever a host changes it.
    Pinned {
        /// The text.
        text: String,
    },
    /// To the hand's owner: their own hand went up or down, by their own `hand` or because a
    /// host lowered it; also after a `welcome` that gave a resumed session its raised hand back.
    Hand {
        /// Up or down.
        up: bool,
    },
}

impl ServerMessage {
    /// Encodes as one JSON text frame.
    pub fn encode(&self) -> String {
        // Serializing these plain structs cannot fail: every key is a string.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Decodes a JSON text frame.
    pub fn parse(text: &str) -> Result<Self, ProtocolError> {
        serde_json::from_str(text).map_err(|e| ProtocolError::BadJson(e.to_string()))
    }
}

/// Frames `classchat.v1` clients send to the relay.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    /// Deliver `text` to `to` (an ID, or `*` for everyone).
    Send {
        /// Recipient.
        to: Recipient,
        /// The text.
        text: String,
        /// A client-chosen ID, unique in its session, that the confirmation carries back as
        /// `client_id`; a send resent with an ID the relay already accepted is not delivered
        /// twice.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
    },
    /// Host only: sets the room's modes; an absent field stays as it is.
    Room {
        /// Students may write to everyone.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        student_broadcast: Option<bool>,
        /// Students may write privately to other students.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        student_private: Option<bool>,
    },
    /// Host only: mutes or unmutes a person, also after they reconnect.
    Mute {
        /// Whom.
        id: String,
        /// Muted or not.
        muted: bool,
    },
    /// Host only: removes a person (close 1008) and keeps them out until readmitted.
    Kick {
        /// Whom.
        id: String,
    },
    /// Host only: lets a removed person join again.
    Readmit {
        /// Whom.
        id: String,
    },
    /// Raises or lowers this client's hand; a host lowers someone else's by giving `id`.
    Hand {
        /// Up or down.
        up: bool,
        /// Whose hand (hosts only, and only to lower it); absent: the sender's own.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
    },
    /// Host only: opens a poll (closing any open one).
    Poll {
        /// The question.
        question: String,
        /// 2 to 6 answers.
        options: Vec<String>,
    },
    /// Answers the open poll; a second vote replaces the first.
    Vote {
        /// Which poll.
        poll: u64,
        /// The chosen option's index, from 0.
        option: usize,
    },
    /// Host only: closes a poll and tells everyone the result.
    PollClose {
        /// Which poll.
        poll: u64,
    },
    /// Host only: pins a message for everyone; an empty text unpins.
    Pin {
        /// The text.
        text: String,
    },
}

/// Fewest options a poll may have.
pub const MIN_POLL_OPTIONS: usize = 2;
/// Most options a poll may have.
pub const MAX_POLL_OPTIONS: usize = 6;

impl ClientMessage {
    /// Encodes as one JSON text frame.
    pub fn encode(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Its `type` on the wire.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Send { .. } => "send",
            Self::Room { .. } => "room",
            Self::Mute { .. } => "mute",
            Self::Kick { .. } => "kick",
            Self::Readmit { .. } => "readmit",
            Self::Hand { .. } => "hand",
            Self::Poll { .. } => "poll",
            Self::Vote { .. } => "vote",
            Self::PollClose { .. } => "poll_close",
            Self::Pin { .. } => "pin",
        }
    }

    /// Decodes a JSON text frame, refusing an empty text.
    pub fn parse(text: &str) -> Result<Self, ProtocolError> {
        let msg: Self =
            serde_json::from_str(text).map_err(|e| ProtocolError::BadJson(e.to_string()))?;
        match &msg {
            Self::Send { to, .. } if to.as_wire().is_empty() => Err(ProtocolError::EmptyRecipient),
            Self::Send { text, .. } if text.trim().is_empty() => Err(ProtocolError::EmptyText),
            Self::Send { .. } | Self::Room { .. } | Self::Vote { .. } | Self::PollClose { .. } => {
                Ok(msg)
            }
            Self::Mute { id, .. } | Self::Kick { id } | Self::Readmit { id } if id.is_empty() => {
                Err(ProtocolError::EmptyRecipient)
            }
            Self::Mute { .. } | Self::Kick { .. } | Self::Readmit { .. } => Ok(msg),
            Self::Hand {
                up: true,
                id: Some(_),
            } => Err(ProtocolError::BadControl(
                "only its owner raises a hand; a host may only lower someone's",
            )),
            Self::Hand { id: Some(id), .. } if id.is_empty() => Err(ProtocolError::EmptyRecipient),
            Self::Hand { .. } => Ok(msg),
            Self::Poll { question, options } => {
                check_poll(question, options)?;
                Ok(msg)
            }
            Self::Pin { text } if crate::text::has_forbidden_controls(text) => {
                Err(ProtocolError::ControlCharacters)
            }
            Self::Pin { .. } => Ok(msg),
        }
    }
}

/// A poll needs a question and 2 to 6 options, none blank, none with control characters.
fn check_poll(question: &str, options: &[String]) -> Result<(), ProtocolError> {
    if !(MIN_POLL_OPTIONS..=MAX_POLL_OPTIONS).contains(&options.len()) {
        return Err(ProtocolError::BadControl("a poll needs 2 to 6 options"));
    }
    if question.trim().is_empty() {
        return Err(ProtocolError::BadControl("the poll's question is empty"));
    }
    if options.iter().any(|o| o.trim().is_empty()) {
        return Err(ProtocolError::BadControl("a poll option is empty"));
    }
    let texts = std::iter::once(question).chain(options.iter().map(String::as_str));
    if texts.into_iter().any(crate::text::has_forbidden_controls) {
        return Err(ProtocolError::ControlCharacters);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addressed_keeps_everything_after_first_slash() {
        let a = Addressed::parse("client1/a/b").unwrap();
        assert_eq!(a.to, Recipient::Client("client1".into()));
        assert_eq!(a.text, "a/b");
        let a = Addressed::parse("*/みなさん").unwrap();
        assert_eq!(a.to, Recipient::Everyone);
        assert_eq!(a.text, "みなさん");
    }

    #[test]
    fn addressed_errors() {
        assert_eq!(Addressed::parse("hello"), Err(ProtocolError::MissingSlash));
        assert_eq!(Addressed::parse("/x"), Err(ProtocolError::EmptyRecipient));
        assert_eq!(Addressed::parse("client1/"), Err(ProtocolError::EmptyText));
        assert_eq!(
            Addressed::parse("client1/  "),
            Err(ProtocolError::EmptyText)
        );
    }

    #[test]
    fn seed_texts_are_exact() {
        assert_eq!(
            legacy_broadcast("hi"),
            "The server return anyone's message: hi"
        );
        assert_eq!(legacy_welcome("client0"), "Your ID is: client0");
        assert_eq!(parse_legacy_welcome("Your ID is: client7"), Some("client7"));
        assert_eq!(parse_legacy_welcome("hello"), None);
    }

    #[test]
    fn server_message_round_trip() {
        let m = ServerMessage::Message(ChatMessage::new(
            "花子",
            Recipient::Everyone,
            "<b>こんにちは</b>",
            1,
        ));
        let json = m.encode();
        assert!(json.contains(r#""type":"message""#), "{json}");
        assert!(json.contains(r#""to":"*""#), "{json}");
        // Servers without delivery fields send none, and old clients see no new keys.
        for absent in ["seq", "replay", "client_id"] {
            assert!(!json.contains(absent), "{json}");
        }
        assert_eq!(ServerMessage::parse(&json).unwrap(), m);
    }

    #[test]
    fn client_message_parse() {
        let m = ClientMessage::parse(r#"{"type":"send","to":"client2","text":"x/y"}"#).unwrap();
        assert_eq!(
            m,
            ClientMessage::Send {
                to: Recipient::Client("client2".into()),
                text: "x/y".into(),
                id: None,
            }
        );
        let with_id =
            ClientMessage::parse(r#"{"type":"send","to":"*","text":"hi","id":"m1"}"#).unwrap();
        assert!(matches!(with_id, ClientMessage::Send { id: Some(id), .. } if id == "m1"));
        assert!(matches!(
            ClientMessage::parse(r#"{"type":"send","to":"a","text":" "}"#),
            Err(ProtocolError::EmptyText)
        ));
        assert!(matches!(
            ClientMessage::parse("not json"),
            Err(ProtocolError::BadJson(_))
        ));
    }

    #[test]
    fn each_dialect_encodes_a_chat_message_as_before() {
        let to = Recipient::Client("花子".to_owned());
        let chat = ChatRef {
            from: "client0",
            to: &to,
            text: "hi",
            ts: 5,
            seq: Some(7),
            replay: true,
            client_id: Some("m1"),
            role: Some(Role::Host),
        };
        let owned = ServerMessage::Message(ChatMessage {
            from: "client0".to_owned(),
            to: to.clone(),
            text: "hi".to_owned(),
            ts: 5,
            seq: Some(7),
            replay: true,
            client_id: Some("m1".to_owned()),
            role: Some(Role::Host),
        });
        for endpoint in [Endpoint::Broadcast, Endpoint::Direct] {
            assert_eq!(Dialect::V1.encode_chat(endpoint, chat), owned.encode());
        }
        assert_eq!(
            Dialect::Seed.encode_chat(Endpoint::Broadcast, chat),
            legacy_broadcast("hi")
        );
        assert_eq!(Dialect::Seed.encode_chat(Endpoint::Direct, chat), "hi");
    }

    #[test]
    fn each_dialect_has_its_welcome_and_errors() {
        let roster = || ServerMessage::Welcome {
            id: "c".to_owned(),
            clients: vec![],
            seq: Some(3),
            epoch: None,
            resume: None,
            recovered: None,
            role: None,
        };
        assert_eq!(
            Dialect::Seed.welcome(Endpoint::Broadcast, "c", roster),
            None
        );
        assert_eq!(
            Dialect::Seed
                .welcome(Endpoint::Direct, "c", roster)
                .as_deref(),
            Some("Your ID is: c")
        );
        assert!(
            Dialect::V1
                .welcome(Endpoint::Broadcast, "c", roster)
                .is_some_and(|w| w.starts_with(r#"{"type":"welcome""#))
        );
        assert_eq!(
            Dialect::Seed.error_frame(ErrorCode::Muted, "no", Answers::Send(Some("m1"))),
            "Error: no"
        );
        assert_eq!(
            Dialect::V1.error_frame(ErrorCode::Muted, "no", Answers::Other),
            r#"{"type":"error","code":"muted","message":"no"}"#
        );
        assert_eq!(
            Dialect::V1.error_frame(ErrorCode::Muted, "no", Answers::Send(Some("m1"))),
            r#"{"type":"error","code":"muted","message":"no","client_id":"m1"}"#
        );
        assert_eq!(
            Dialect::V1.error_frame(ErrorCode::NotHost, "no", Answers::Control("pin")),
            r#"{"type":"error","code":"not_host","message":"no","about":"pin"}"#
        );
        assert!(Dialect::Seed.is_legacy() && !Dialect::V1.is_legacy());
        assert_eq!(Dialect::from_legacy(true), Dialect::Seed);
    }

    #[test]
    fn classroom_control_messages_parse_with_their_wire_names() {
        let cases = [
            (
                r#"{"type":"room","student_broadcast":false,"student_private":true}"#,
                ClientMessage::Room {
                    student_broadcast: Some(false),
                    student_private: Some(true),
                },
            ),
            (
                r#"{"type":"mute","id":"花子","muted":true}"#,
                ClientMessage::Mute {
                    id: "花子".into(),
                    muted: true,
                },
            ),
            (
                r#"{"type":"kick","id":"a"}"#,
                ClientMessage::Kick { id: "a".into() },
            ),
            (
                r#"{"type":"readmit","id":"a"}"#,
                ClientMessage::Readmit { id: "a".into() },
            ),
            (
                r#"{"type":"hand","up":true}"#,
                ClientMessage::Hand { up: true, id: None },
            ),
            (
                r#"{"type":"hand","id":"a","up":false}"#,
                ClientMessage::Hand {
                    up: false,
                    id: Some("a".into()),
                },
            ),
            (
                r#"{"type":"poll","question":"Q?","options":["x","y"]}"#,
                ClientMessage::Poll {
                    question: "Q?".into(),
                    options: vec!["x".into(), "y".into()],
                },
            ),
            (
                r#"{"type":"vote","poll":3,"option":1}"#,
                ClientMessage::Vote { poll: 3, option: 1 },
            ),
            (
                r#"{"type":"poll_close","poll":3}"#,
                ClientMessage::PollClose { poll: 3 },
            ),
            (
                r#"{"type":"pin","text":""}"#,
                ClientMessage::Pin {
                    text: String::new(),
                },
            ),
        ];
        for (wire, expected) in cases {
            assert_eq!(ClientMessage::parse(wire).as_ref(), Ok(&expected), "{wire}");
            assert_eq!(ClientMessage::parse(&expected.encode()), Ok(expected));
        }
    }

    #[test]
    fn bad_classroom_controls_are_typed_errors() {
        let one = r#"{"type":"poll","question":"Q","options":["x"]}"#;
        let seven = r#"{"type":"poll","question":"Q","options":["1","2","3","4","5","6","7"]}"#;
        let blank = r#"{"type":"poll","question":" ","options":["x","y"]}"#;
        let blank_option = r#"{"type":"poll","question":"Q","options":["x",""]}"#;
        for bad in [one, seven, blank, blank_option] {
            let e = ClientMessage::parse(bad).unwrap_err();
            assert_eq!(e.code(), ErrorCode::BadFormat, "{bad}: {e}");
        }
        for bad in [
            r#"{"type":"poll","question":"Q\u001b[2J","options":["x","y"]}"#,
            r#"{"type":"poll","question":"Q","options":["x","y\r"]}"#,
            r#"{"type":"pin","text":"a\u0085b"}"#,
        ] {
            assert_eq!(
                ClientMessage::parse(bad),
                Err(ProtocolError::ControlCharacters),
                "{bad}"
            );
        }
        assert_eq!(
            ClientMessage::parse(r#"{"type":"hand","id":"a","up":true}"#)
                .unwrap_err()
                .code(),
            ErrorCode::BadFormat
        );
        assert_eq!(
            ClientMessage::parse(r#"{"type":"kick","id":""}"#),
            Err(ProtocolError::EmptyRecipient)
        );
        assert!(matches!(
            ClientMessage::parse(r#"{"type":"vote","poll":1,"option":-1}"#),
            Err(ProtocolError::BadJson(_))
        ));
    }

    #[test]
    fn classroom_notices_have_their_wire_names_and_seed_lines() {
        let room = ServerMessage::Room(RoomModes {
            student_broadcast: false,
            student_private: true,
        });
        assert_eq!(
            room.encode(),
            r#"{"type":"room","student_broadcast":false,"student_private":true}"#
        );
        let hands = ServerMessage::Hands {
            queue: vec![RaisedHand {
                id: "a".into(),
                since: 5,
            }],
        };
        assert_eq!(
            hands.encode(),
            r#"{"type":"hands","queue":[{"id":"a","since":5}]}"#
        );
        let poll = ServerMessage::Poll {
            poll: 2,
            question: "Day?".into(),
            options: vec!["Mon".into(), "Tue".into()],
        };
        assert_eq!(
            poll.encode(),
            r#"{"type":"poll","poll":2,"question":"Day?","options":["Mon","Tue"]}"#
        );
        let tally = ServerMessage::Tally {
            poll: 2,
            counts: vec![1, 0],
            voters: 1,
        };
        assert_eq!(
            tally.encode(),
            r#"{"type":"tally","poll":2,"counts":[1,0],"voters":1}"#
        );
        let result = ServerMessage::PollResult {
            poll: 2,
            counts: vec![3, 1],
            question: Some("Day?".into()),
            options: Some(vec!["Mon".into(), "Tue".into()]),
        };
        assert!(
            result
                .encode()
                .starts_with(r#"{"type":"poll_result","poll":2,"counts":[3,1]"#)
        );
        let pinned = ServerMessage::Pinned {
            text: "p.12".into(),
        };
        assert_eq!(pinned.encode(), r#"{"type":"pinned","text":"p.12"}"#);
        for notice in [&room, &hands, &poll, &tally, &result, &pinned] {
            assert_eq!(ServerMessage::parse(&notice.encode()).as_ref(), Ok(notice));
            assert_eq!(Dialect::V1.notice(notice), Some(notice.encode()));
        }
        assert_eq!(
            Dialect::Seed.notice(&poll).as_deref(),
            Some("Poll 2: Day? 1) Mon 2) Tue")
        );
        assert_eq!(
            Dialect::Seed.notice(&result).as_deref(),
            Some("Poll 2 results: Day? 1) Mon: 3 2) Tue: 1")
        );
        assert_eq!(
            Dialect::Seed.notice(&pinned).as_deref(),
            Some("Pinned: p.12")
        );
        assert_eq!(
            Dialect::Seed
                .notice(&ServerMessage::Pinned {
                    text: String::new()
                })
                .as_deref(),
            Some(UNPINNED_LINE)
        );
        for quiet in [&room, &hands, &tally] {
            assert_eq!(Dialect::Seed.notice(quiet), None, "{quiet:?}");
        }
    }

    #[test]
    fn roles_are_optional_on_the_wire() {
        let old = r#"{"id":"a","since":1,"legacy":false}"#;
        let info: ClientInfo = serde_json::from_str(old).unwrap();
        assert_eq!(info.role, None);
        let host = ClientInfo {
            role: Some(Role::Host),
            ..info
        };
        assert_eq!(
            serde_json::to_string(&host).unwrap(),
            r#"{"id":"a","since":1,"legacy":false,"role":"host"}"#
        );
    }

    #[test]
    fn close_codes_round_trip() {
        for close in [
            Close::Left,
            Close::HostStopped,
            Close::Kicked,
            Close::TooBig,
            Close::TooSlow,
            Close::Replaced,
            Close::Unavailable,
        ] {
            assert_eq!(Close::from_code(close.code()), Some(close));
        }
        assert_eq!(Close::from_code(1012), Some(Close::HostStopped));
        assert_eq!(Close::from_code(4999), None);
    }
}
