//! Who is connected, where each message goes, and what each room said lately.
//!
//! [`Peers`] assigns IDs, keeps both rooms and routes a message to the right outboxes. It does
//! no I/O and never waits: routing offers each frame to the recipient's [`Outbox`], which
//! always takes it and says when it is over its bounds, so that the sender's connection can
//! pause (see `outbox`). Each outgoing frame is encoded once per wire form and shared by
//! reference count.
//!
//! Every chat message gets its room's next `seq` and goes into the room's [`History`]. A
//! `classchat.v1` client has a session, named by an unguessable token, that outlives a dropped
//! connection: resuming it gives back the ID and replays what the client missed, and the
//! session remembers which send ids it accepted, so a resent message is confirmed but not
//! delivered twice.
//!
//! The classroom (modes, hands, poll, pin) is kept by [`Classroom`]; this module checks each
//! message against the modes, applies the hosts' control messages and sends the notices.
//!
//! On a relay of a cluster the same registry also lists the other relays' clients (listed and
//! addressable, never queued to), and routing is split in two: [`Peers::check_send`] before
//! the message goes to the cluster, [`Peers::deliver_numbered`] when it comes back with the
//! cluster's `seq` (see `cluster`).

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

use rand::Rng as _;
use tokio_tungstenite::tungstenite::Message;

use super::classroom::{Audience, Classroom, NotAllowed, PollError};
use super::history::{History, Record};
use super::outbox::{Offered, Outbox};
use crate::names;
use crate::protocol::{
    Answers, ChatMessage, ChatRef, ClientInfo, ClientMessage, Close, Dialect, Endpoint, ErrorCode,
    ID_PREFIX, Recipient, Role, RoomModes, ServerMessage,
};

/// How long a session can be resumed after its connection ended.
const RESUME_WINDOW_MS: u64 = 10 * 60 * 1000;
/// Sessions remembered at most; past it, the ones gone longest are forgotten first.
const MAX_SESSIONS: usize = 20_000;
/// Send ids remembered per session, so that a resent one is recognised.
const SENT_IDS: usize = 1_000;
/// How often gone sessions are looked for, at most.
const PRUNE_EVERY_MS: u64 = 60 * 1000;

/// A connected client as the registry holds it.
#[derive(Debug)]
struct Peer {
    info: ClientInfo,
    /// What it speaks; `info.legacy` is the same on the wire.
    dialect: Dialect,
    /// Arrival order, for a stable roster.
    arrival: u64,
    outbox: Outbox,
    muted: bool,
    /// It showed the host key: it may steer the room, and the modes do not bind it.
    host: bool,
    /// The connection that holds this ID now; a resumed session replaces it.
    conn: u64,
    /// Its session's token (`classchat.v1` clients only).
    token: Option<Arc<str>>,
}

impl Peer {
    fn role(&self) -> Role {
        role(self.host)
    }
}

/// What a message carries about its sender's role: `host` for hosts (a teacher badge), nothing
/// for students, whose messages stay as small as before.
fn host_badge(role: Role) -> Option<Role> {
    (role == Role::Host).then_some(Role::Host)
}

fn role(host: bool) -> Role {
    if host { Role::Host } else { Role::Student }
}

/// A client connected to another relay of the cluster, as this relay knows it.
#[derive(Debug)]
struct RemotePeer {
    info: ClientInfo,
    /// Arrival order here, for a stable roster.
    arrival: u64,
    /// The relay it is connected to.
    relay: Arc<str>,
}

/// The clients of one endpoint and what was said there.
#[derive(Debug)]
struct Room {
    members: HashMap<Arc<str>, Peer>,
    /// Clients of other relays of the cluster (empty without a cluster).
    remote: HashMap<Arc<str>, RemotePeer>,
    history: History,
}

/// A `classchat.v1` client's session, which outlives a dropped connection.
#[derive(Debug)]
struct Session {
    peer_id: Arc<str>,
    endpoint: Endpoint,
    /// The connection that holds it now, or held it last.
    conn: u64,
    /// When its last connection ended (ms), while no connection holds it.
    gone_since: Option<u64>,
    sent: SentIds,
    /// When its hand went up, while it is away with its hand up: a resume raises it again.
    hand: Option<u64>,
}

/// The send ids a session's messages carried, newest last, with the `seq` each got.
#[derive(Debug, Default)]
struct SentIds {
    order: VecDeque<Arc<str>>,
    seqs: HashMap<Arc<str>, u64>,
}

impl SentIds {
    fn get(&self, id: &str) -> Option<u64> {
        self.seqs.get(id).copied()
    }

    fn insert(&mut self, id: &str, seq: u64) {
        let id: Arc<str> = Arc::from(id);
        if self.seqs.insert(Arc::clone(&id), seq).is_none() {
            self.order.push_back(id);
        }
        while self.order.len() > SENT_IDS {
            if let Some(old) = self.order.pop_front() {
                self.seqs.remove(&old);
            }
        }
    }
}

/// A roster line for the host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RosterEntry {
    /// ID, connection time and protocol.
    pub info: ClientInfo,
    /// The path it connected to.
    pub endpoint: Endpoint,
    /// Whether the host muted it.
    pub muted: bool,
}

/// Why a message was not delivered; the sender is told.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    /// No client in the room has that ID.
    #[error("no client with ID {0} is connected")]
    UnknownRecipient(String),
    /// The host muted the sender.
    #[error("the host has muted you; your message was not delivered")]
    Muted,
    /// The room's modes do not let the sender write to that recipient.
    #[error("{0}; your message was not delivered")]
    NotAllowed(NotAllowed),
    /// The host's window writes to a relay alone only: in a cluster a message must be
    /// numbered by the cluster.
    #[error("this relay is one of a cluster; write from a client of it")]
    Clustered,
}

impl RouteError {
    /// The extended error code.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::UnknownRecipient(_) => ErrorCode::UnknownRecipient,
            Self::Muted => ErrorCode::Muted,
            Self::NotAllowed(_) => ErrorCode::NotAllowed,
            Self::Clustered => ErrorCode::Unavailable,
        }
    }
}

/// Why a classroom control message was refused; the sender is told.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ControlError {
    /// Only hosts may send it.
    #[error("only the host may do that")]
    NotHost,
    /// No client has that ID.
    #[error("no client with ID {0} is connected")]
    UnknownClient(String),
    /// Readmitting someone who was not removed.
    #[error("{0} was not removed")]
    NotRemoved(String),
    /// A vote or closing for a poll that is not open, or an option it does not have.
    #[error(transparent)]
    Poll(#[from] PollError),
}

impl ControlError {
    /// The extended error code.
    pub(crate) fn code(&self) -> ErrorCode {
        match self {
            Self::NotHost => ErrorCode::NotHost,
            Self::UnknownClient(_) | Self::NotRemoved(_) => ErrorCode::UnknownRecipient,
            Self::Poll(PollError::NotOpen(_)) => ErrorCode::NotAllowed,
            Self::Poll(PollError::NoSuchOption { .. }) => ErrorCode::BadFormat,
        }
    }
}

/// A request to continue a session: `?resume=TOKEN&since=SEQ[&epoch=EPOCH]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Resume {
    /// The session's token, from its `welcome`.
    pub token: String,
    /// The highest `seq` the client received.
    pub since: u64,
    /// The relay epoch the client knew, if it says.
    pub epoch: Option<String>,
}

/// Everything [`Peers::join`] needs about a new connection.
#[derive(Debug)]
pub(crate) struct Arrival<'a> {
    /// The path it connected to.
    pub endpoint: Endpoint,
    /// What it speaks.
    pub dialect: Dialect,
    /// The nickname it asked for.
    pub name: Option<&'a str>,
    /// It showed the host key, so it may take the host's and the teacher's names.
    pub host: bool,
    /// The session it asks to continue.
    pub resume: Option<Resume>,
    /// The ID the cluster already claimed for it; `None` to choose one here (a relay on its
    /// own).
    pub claimed: Option<Claimed>,
    /// Its queue.
    pub outbox: Outbox,
    /// The relay's clock, ms since the Unix epoch.
    pub now_ms: u64,
}

/// An ID a relay of a cluster claimed for a new client before it joins.
#[derive(Debug)]
pub(crate) struct Claimed {
    /// The ID.
    pub peer_id: String,
    /// Why the requested name was not used, if it was not.
    pub name_refused: Option<(ErrorCode, String)>,
    /// The token its session gets (`classchat.v1` clients), already named in the claim.
    pub token: String,
}

/// What [`Peers::join`] decided.
#[derive(Debug)]
pub(crate) struct Joined {
    /// The ID given.
    pub peer_id: String,
    /// This connection's number, to leave with.
    pub conn: u64,
    /// Set when the requested name could not be used.
    pub name_refused: Option<(ErrorCode, String)>,
    /// Set when the client asked to resume: whether it did.
    pub recovered: Option<bool>,
    /// The roster's version after this join, for the cluster's presence messages.
    pub presence: u64,
}

/// What routing or joining queued, for the relay's counters and for back-pressure.
#[derive(Debug, Default)]
pub(crate) struct Delivery {
    /// Frames put into outboxes.
    pub delivered: u64,
    /// Outboxes that are over their bounds after this: the sender waits for them to drain.
    pub congested: Vec<Outbox>,
}

/// What [`Peers::check_send`] decided about a message that may be sent.
#[derive(Debug)]
pub(crate) enum Checked {
    /// The send id was already accepted in this session: the confirmation was repeated.
    Duplicate(Routed),
    /// A new message, to be numbered.
    New {
        /// The message, without its `seq`.
        message: ChatMessage,
        /// What its sender speaks (`None` for the host's window).
        sender: Option<Dialect>,
    },
}

/// What [`Peers::route`] did with an accepted message.
#[derive(Debug)]
pub(crate) struct Routed {
    /// The frames it queued.
    pub delivery: Delivery,
    /// The send id was already accepted in this session: only the confirmation was repeated.
    pub duplicate: bool,
}

/// Both rooms, the sessions and the ID counter. Pure: no I/O, no waiting.
#[derive(Debug)]
pub(crate) struct Peers {
    next_number: u64,
    next_arrival: u64,
    next_conn: u64,
    broadcast: Room,
    direct: Room,
    /// Comparison keys ([`names::key`]) of every connected ID, so that a name differing only
    /// in case, width or normal form is taken too.
    keys: HashSet<String>,
    /// The same for the clients of other relays of the cluster.
    remote_keys: HashSet<String>,
    /// Counts changes to this relay's own clients: the version of its roster, so that the
    /// other relays of a cluster apply presence messages in order.
    presence: u64,
    sessions: HashMap<Arc<str>, Session>,
    /// Random per relay start: a client's `seq` from another epoch means nothing here.
    epoch: String,
    last_prune_ms: u64,
    /// The host's name: nobody else may take it while the relay runs.
    host_name: Option<String>,
    /// People the host muted, for the rest of the session: by name and by session.
    muted: People,
    /// People the host removed, until the host lets them back: by name and by session.
    removed: People,
    /// Modes, hands, poll and pin, for both rooms.
    classroom: Classroom,
}

/// People recognised across reconnects: by the comparison key of their name, and by their
/// session's token where they have one. A seed client without a name cannot be recognised
/// once it reconnects with a new generated ID.
#[derive(Debug, Default)]
struct People {
    names: HashSet<String>,
    tokens: HashSet<Arc<str>>,
    /// The IDs as they were shown, in the order they were added, for the host's window.
    shown: Vec<String>,
}

impl People {
    fn add(&mut self, peer_id: &str, token: Option<&Arc<str>>) {
        if self.names.insert(names::key(peer_id)) {
            self.shown.push(peer_id.to_owned());
        }
        self.tokens.extend(token.cloned());
    }

    fn remove(&mut self, peer_id: &str, token: Option<&Arc<str>>) {
        let key = names::key(peer_id);
        self.shown.retain(|shown| names::key(shown) != key);
        self.names.remove(&key);
        if let Some(token) = token {
            self.tokens.remove(token);
        }
    }

    fn contains(&self, peer_id: &str, token: Option<&str>) -> bool {
        self.names.contains(&names::key(peer_id)) || token.is_some_and(|t| self.tokens.contains(t))
    }
}

impl Default for Peers {
    fn default() -> Self {
        Self::new(1_000, 4 << 20)
    }
}

impl Peers {
    /// Empty rooms, each keeping `history` messages and about `history_bytes` bytes of them.
    pub(crate) fn new(history: usize, history_bytes: usize) -> Self {
        let room = || Room {
            members: HashMap::new(),
            remote: HashMap::new(),
            history: History::new(history, history_bytes),
        };
        Self {
            next_number: 0,
            next_arrival: 0,
            next_conn: 0,
            broadcast: room(),
            direct: room(),
            keys: HashSet::new(),
            remote_keys: HashSet::new(),
            presence: 0,
            sessions: HashMap::new(),
            epoch: random_hex(8),
            last_prune_ms: 0,
            host_name: None,
            muted: People::default(),
            removed: People::default(),
            classroom: Classroom::default(),
        }
    }

    /// Keeps `name` for the host alone.
    pub(crate) fn reserve_for_host(&mut self, name: Option<String>) {
        self.host_name = name;
    }

    fn room(&self, endpoint: Endpoint) -> &Room {
        match endpoint {
            Endpoint::Broadcast => &self.broadcast,
            Endpoint::Direct => &self.direct,
        }
    }

    fn room_mut(&mut self, endpoint: Endpoint) -> &mut Room {
        match endpoint {
            Endpoint::Broadcast => &mut self.broadcast,
            Endpoint::Direct => &mut self.direct,
        }
    }

    fn rooms(&self) -> [&Room; 2] {
        [&self.broadcast, &self.direct]
    }

    fn taken(&self, peer_id: &str) -> bool {
        let key = names::key(peer_id);
        self.keys.contains(&key) || self.remote_keys.contains(&key)
    }

    fn generated_id(&mut self) -> String {
        loop {
            let candidate = format!("{ID_PREFIX}{}", self.next_number);
            self.next_number += 1;
            if !self.taken(&candidate) {
                return candidate;
            }
        }
    }

    /// Number of connected clients in both rooms.
    pub(crate) fn len(&self) -> usize {
        self.rooms().iter().map(|r| r.members.len()).sum()
    }

    /// The relay's epoch, as `welcome` carries it.
    #[cfg(test)]
    pub(crate) fn epoch(&self) -> &str {
        &self.epoch
    }

    /// Uses the cluster's epoch instead of this relay's own, so that a session resumes on any
    /// relay of the cluster.
    pub(crate) fn set_epoch(&mut self, epoch: String) {
        self.epoch = epoch;
    }

    /// Registers a new connection, queues its welcome (and for `classchat.v1` clients the
    /// history it is owed) and tells the room.
    ///
    /// Seed clients on the addressed path get the seed's `Your ID is: …`; seed clients on
    /// the broadcast path get nothing, as in the seed; neither gets any history.
    pub(crate) fn join(&mut self, arrival: Arrival<'_>) -> (Joined, Delivery) {
        self.prune_sessions(arrival.now_ms);
        let conn = self.next_conn;
        self.next_conn += 1;
        let Arrival {
            endpoint,
            dialect,
            name,
            host,
            resume,
            claimed,
            outbox,
            now_ms,
        } = arrival;
        let mut delivery = Delivery::default();

        let resume = resume.filter(|_| dialect == Dialect::V1);
        let resumable = resume.as_ref().and_then(|r| self.resumable(r, endpoint));
        let recovered = resume.as_ref().map(|_| resumable.is_some());

        let new_peer = NewPeer {
            endpoint,
            dialect,
            host,
            token: None,
            outbox,
            conn,
            now_ms,
        };
        let (peer_id, token, name_refused, announce) = match resumable {
            Some(token) => {
                let (peer_id, announce) = self.reattach(&token, new_peer);
                (peer_id, Some(token), None, announce)
            }
            None => {
                let (peer_id, name_refused, token) = match claimed {
                    Some(c) => (c.peer_id, c.name_refused, c.token),
                    None => {
                        let (peer_id, name_refused) = self.assign_id(name, host);
                        (peer_id, name_refused, random_hex(32))
                    }
                };
                let token = (dialect == Dialect::V1)
                    .then(|| self.new_session(&peer_id, endpoint, conn, token));
                let new_peer = NewPeer {
                    token: token.clone(),
                    ..new_peer
                };
                self.insert(&peer_id, new_peer);
                (Arc::from(peer_id.as_str()), token, name_refused, true)
            }
        };
        // A resumed session raises the hand it left with again.
        let hand_back = token
            .as_ref()
            .and_then(|t| self.sessions.get_mut(t))
            .and_then(|session| session.hand.take())
            .is_some_and(|since| self.classroom.raise_hand(&peer_id, since));

        let room = self.room(endpoint);
        let welcome = dialect.welcome(endpoint, &peer_id, || ServerMessage::Welcome {
            id: peer_id.to_string(),
            clients: roster_of(room),
            seq: Some(room.history.latest()),
            epoch: Some(self.epoch.clone()),
            resume: token.as_deref().map(str::to_owned),
            recovered,
            role: Some(role(host)),
        });
        let greeted = welcome.is_some();
        let refusal = name_refused
            .as_ref()
            .map(|(code, sentence)| dialect.error_frame(*code, sentence, Answers::Other));
        let mut own_frames: Vec<Message> = welcome
            .into_iter()
            .chain(refusal)
            .map(Message::text)
            .collect();
        // The room as it stands, for those greeted (seed clients on the broadcast path get
        // nothing, as in the seed).
        if greeted {
            own_frames.extend(
                self.classroom_now(host)
                    .iter()
                    .filter_map(|notice| dialect.notice(notice))
                    .map(Message::text),
            );
        }
        if dialect == Dialect::V1 {
            let history = &room.history;
            match (recovered, &resume) {
                (Some(true), Some(r)) => own_frames.extend(
                    history
                        .after(r.since)
                        .into_iter()
                        .flatten()
                        .filter(|record| record.concerns(&peer_id))
                        .map(|record| replay_frame(record, &peer_id)),
                ),
                _ => own_frames.extend(history.public().map(|record| replay_frame(record, ""))),
            }
        }
        if let Some(peer) = room.members.get(&peer_id) {
            for frame in own_frames {
                push(peer, frame, &mut delivery);
            }
            if announce {
                let joined = Message::text(
                    ServerMessage::Joined {
                        client: peer.info.clone(),
                    }
                    .encode(),
                );
                push_to_v1(room, Some(&peer_id), &joined, &mut delivery);
            }
        }
        if hand_back {
            self.notify(&self.classroom.hands(), true, Some(&peer_id), &mut delivery);
        }
        // A resumed session whose hand is up (given back, or never down because the new
        // connection came before the old one was gone) is told so.
        if self.classroom.hand(&peer_id).is_some() {
            self.tell(&peer_id, &ServerMessage::Hand { up: true }, &mut delivery);
        }
        // Joining pauses nobody: a queue goes over its bounds by at most the room's notices.
        delivery.congested.clear();
        (
            Joined {
                peer_id: peer_id.to_string(),
                conn,
                name_refused,
                recovered,
                presence: self.presence,
            },
            delivery,
        )
    }

    /// The token of the session `resume` may continue on `endpoint`: known, from this
    /// epoch, on the same path, with nothing it missed gone from the history, and its ID
    /// either still its own or free.
    fn resumable(&self, resume: &Resume, endpoint: Endpoint) -> Option<Arc<str>> {
        if resume.epoch.as_deref().is_some_and(|e| e != self.epoch) {
            return None;
        }
        let (token, session) = self.sessions.get_key_value(resume.token.as_str())?;
        if session.endpoint != endpoint {
            return None;
        }
        // Everything after `since` must still be kept.
        let _missed = self.room(endpoint).history.after(resume.since)?;
        let holder = self.room(endpoint).members.get(&session.peer_id);
        let own = holder.is_some_and(|p| p.token.as_deref() == Some(token.as_ref()));
        // A client of another relay of the cluster with this ID is this session itself, moving
        // here: the cluster layer checked that it holds the name.
        (own || !self.keys.contains(&names::key(&session.peer_id))).then(|| Arc::clone(token))
    }

    /// Gives a resumed session its ID on the new connection. Returns the ID and whether the
    /// room must be told it joined (it had left; a takeover of a still-open connection is
    /// silent).
    fn reattach(&mut self, token: &Arc<str>, new: NewPeer) -> (Arc<str>, bool) {
        let Some(session) = self.sessions.get_mut(token) else {
            return (Arc::from(""), false);
        };
        session.conn = new.conn;
        session.gone_since = None;
        let peer_id = Arc::clone(&session.peer_id);
        if let Some(peer) = self.room_mut(new.endpoint).members.get_mut(&peer_id) {
            let old = std::mem::replace(&mut peer.outbox, new.outbox);
            old.kill().fire(Close::Replaced);
            peer.conn = new.conn;
            // The role follows the key the new connection showed.
            peer.host = new.host;
            peer.info.role = Some(role(new.host));
            return (peer_id, false);
        }
        let arrival = NewPeer {
            dialect: Dialect::V1,
            token: Some(Arc::clone(token)),
            ..new
        };
        self.insert(&peer_id, arrival);
        (peer_id, true)
    }

    /// The ID for a new client: the requested name if it is valid and free, else the next
    /// generated one with the reason.
    fn assign_id(
        &mut self,
        requested: Option<&str>,
        host: bool,
    ) -> (String, Option<(ErrorCode, String)>) {
        match requested.map(|name| self.check_name(name, host)) {
            None => (self.generated_id(), None),
            Some(Ok(name)) => (name, None),
            Some(Err(refusal)) => (self.generated_id(), Some(refusal)),
        }
    }

    /// The requested name in its normal form if it is valid, not the host's (unless `host`)
    /// and free here; else the error code and sentence the client is told.
    pub(crate) fn check_name(&self, name: &str, host: bool) -> Result<String, (ErrorCode, String)> {
        let normalized = if host {
            names::normalize_host(name)
        } else {
            names::normalize(name).and_then(|name| match &self.host_name {
                Some(host_name) if names::same(&name, host_name) => Err(names::NameError::Reserved),
                _ => Ok(name),
            })
        };
        match normalized {
            Ok(name) if !self.taken(&name) => Ok(name),
            Ok(name) => Err(name_taken(&name)),
            Err(e) => Err((
                ErrorCode::NameInvalid,
                format!("{e}, so you got a generated ID"),
            )),
        }
    }

    /// Makes the session `token` (the cluster's record of it: its ID and path) resumable
    /// here, as if its client had been connected to this relay and left.
    pub(crate) fn adopt_session(
        &mut self,
        token: &str,
        peer_id: &str,
        endpoint: Endpoint,
        now_ms: u64,
    ) {
        self.sessions
            .entry(Arc::from(token))
            .or_insert_with(|| Session {
                peer_id: Arc::from(peer_id),
                endpoint,
                conn: u64::MAX,
                gone_since: Some(now_ms),
                sent: SentIds::default(),
                hand: None,
            });
    }

    /// Forgets the session `token`: someone else holds its ID in the cluster now.
    pub(crate) fn forget_session(&mut self, token: &str) {
        self.sessions.remove(token);
    }

    /// The session `token`'s ID and path, if this relay knows it.
    pub(crate) fn session(&self, token: &str) -> Option<(String, Endpoint)> {
        self.sessions
            .get(token)
            .map(|s| (s.peer_id.to_string(), s.endpoint))
    }

    fn new_session(
        &mut self,
        peer_id: &str,
        endpoint: Endpoint,
        conn: u64,
        token: String,
    ) -> Arc<str> {
        let token: Arc<str> = Arc::from(token);
        self.sessions.insert(
            Arc::clone(&token),
            Session {
                peer_id: Arc::from(peer_id),
                endpoint,
                conn,
                gone_since: None,
                sent: SentIds::default(),
                hand: None,
            },
        );
        token
    }

    fn insert(&mut self, peer_id: &str, new: NewPeer) {
        let arrival = self.next_arrival;
        self.next_arrival += 1;
        self.presence += 1;
        let key = names::key(peer_id);
        // A session that moved here from another relay is no longer that relay's client.
        if self.room_mut(new.endpoint).remote.remove(peer_id).is_some() {
            self.remote_keys.remove(&key);
        }
        self.keys.insert(key);
        let muted = self.muted.contains(peer_id, new.token.as_deref());
        self.room_mut(new.endpoint).members.insert(
            Arc::from(peer_id),
            Peer {
                info: ClientInfo {
                    id: peer_id.to_owned(),
                    since: new.now_ms,
                    legacy: new.dialect.is_legacy(),
                    role: Some(role(new.host)),
                },
                dialect: new.dialect,
                arrival,
                outbox: new.outbox,
                muted,
                host: new.host,
                conn: new.conn,
                token: new.token,
            },
        );
    }

    /// Forgets sessions gone longer than the resume window, and the oldest gone ones past
    /// [`MAX_SESSIONS`]; at most once a minute.
    fn prune_sessions(&mut self, now_ms: u64) {
        if now_ms.saturating_sub(self.last_prune_ms) < PRUNE_EVERY_MS
            && self.sessions.len() <= MAX_SESSIONS
        {
            return;
        }
        self.last_prune_ms = now_ms;
        self.sessions.retain(|_, s| {
            s.gone_since
                .is_none_or(|gone| now_ms.saturating_sub(gone) < RESUME_WINDOW_MS)
        });
        if self.sessions.len() > MAX_SESSIONS {
            let mut gone: Vec<(u64, Arc<str>)> = self
                .sessions
                .iter()
                .filter_map(|(token, s)| s.gone_since.map(|g| (g, Arc::clone(token))))
                .collect();
            gone.sort_unstable();
            let excess = self.sessions.len() - MAX_SESSIONS;
            for (_, token) in gone.into_iter().take(excess) {
                self.sessions.remove(&token);
            }
        }
    }

    /// The roster line of `peer_id`, one of this relay's clients in `endpoint`'s room.
    pub(crate) fn member_info(&self, endpoint: Endpoint, peer_id: &str) -> Option<ClientInfo> {
        self.room(endpoint)
            .members
            .get(peer_id)
            .map(|p| p.info.clone())
    }

    /// Whether the session `resume` names can continue on `endpoint` here.
    pub(crate) fn can_resume(&self, resume: &Resume, endpoint: Endpoint) -> bool {
        self.resumable(resume, endpoint).is_some()
    }

    /// Removes connection `conn` and tells the room its client left. A connection whose
    /// session was resumed elsewhere no longer holds the ID, and leaves nothing.
    pub(crate) fn leave(
        &mut self,
        endpoint: Endpoint,
        peer_id: &str,
        conn: u64,
        now_ms: u64,
    ) -> Delivery {
        let mut delivery = Delivery::default();
        let room = self.room_mut(endpoint);
        if room.members.get(peer_id).is_none_or(|p| p.conn != conn) {
            return delivery;
        }
        let Some(peer) = room.members.remove(peer_id) else {
            return delivery;
        };
        self.presence += 1;
        self.keys.remove(&names::key(peer_id));
        // A hand goes down when its owner leaves; its session keeps it in case it resumes.
        let hand = self.classroom.lower_hand(peer_id);
        if let Some(session) = peer.token.as_ref().and_then(|t| self.sessions.get_mut(t))
            && session.conn == conn
        {
            session.gone_since = Some(now_ms);
            session.hand = hand;
        }
        let left = Message::text(
            ServerMessage::Left {
                id: peer_id.to_owned(),
            }
            .encode(),
        );
        push_to_v1(self.room(endpoint), None, &left, &mut delivery);
        if hand.is_some() {
            self.notify(&self.classroom.hands(), true, None, &mut delivery);
        }
        delivery.congested.clear();
        delivery
    }

    /// The roster's version: it changes whenever one of this relay's own clients comes or
    /// goes.
    pub(crate) fn presence(&self) -> u64 {
        self.presence
    }

    /// This relay's own clients, for the cluster's presence messages.
    pub(crate) fn local_members(&self) -> Vec<(Endpoint, ClientInfo)> {
        [Endpoint::Broadcast, Endpoint::Direct]
            .into_iter()
            .flat_map(|endpoint| {
                self.room(endpoint)
                    .members
                    .values()
                    .map(move |p| (endpoint, p.info.clone()))
            })
            .collect()
    }

    /// A client joined relay `relay` of the cluster: it joins the roster here, and this
    /// relay's `classchat.v1` clients in its room are told. One this relay already lists (it
    /// moved between relays) changes relay silently.
    pub(crate) fn remote_joined(
        &mut self,
        relay: &str,
        endpoint: Endpoint,
        info: ClientInfo,
    ) -> Delivery {
        let mut delivery = Delivery::default();
        if self.room(endpoint).members.contains_key(info.id.as_str()) {
            return delivery;
        }
        let arrival = self.next_arrival;
        let key = names::key(&info.id);
        if let Some(known) = self.room_mut(endpoint).remote.get_mut(info.id.as_str()) {
            known.relay = Arc::from(relay);
            return delivery;
        }
        self.next_arrival += 1;
        let room = self.room_mut(endpoint);
        let joined = Message::text(
            ServerMessage::Joined {
                client: info.clone(),
            }
            .encode(),
        );
        room.remote.insert(
            Arc::from(info.id.as_str()),
            RemotePeer {
                info,
                arrival,
                relay: Arc::from(relay),
            },
        );
        self.remote_keys.insert(key);
        push_to_v1(self.room(endpoint), None, &joined, &mut delivery);
        delivery.congested.clear();
        delivery
    }

    /// A client of relay `relay` left: this relay's `classchat.v1` clients in its room are
    /// told. Nothing happens if it is listed on another relay now.
    pub(crate) fn remote_left(
        &mut self,
        relay: &str,
        endpoint: Endpoint,
        peer_id: &str,
    ) -> Delivery {
        let mut delivery = Delivery::default();
        let room = self.room_mut(endpoint);
        if room
            .remote
            .get(peer_id)
            .is_none_or(|p| p.relay.as_ref() != relay)
        {
            return delivery;
        }
        room.remote.remove(peer_id);
        self.remote_keys.remove(&names::key(peer_id));
        let left = Message::text(
            ServerMessage::Left {
                id: peer_id.to_owned(),
            }
            .encode(),
        );
        push_to_v1(self.room(endpoint), None, &left, &mut delivery);
        // Its hand goes down with it, as its own relay lowered it (or died).
        if self.classroom.lower_hand(peer_id).is_some() {
            self.notify(&self.classroom.hands(), true, None, &mut delivery);
        }
        delivery.congested.clear();
        delivery
    }

    /// Relay `relay` said who its clients are now (`None`: it is gone): the roster here
    /// follows, with a `joined` or `left` for each difference.
    pub(crate) fn remote_sync(
        &mut self,
        relay: &str,
        members: Option<Vec<(Endpoint, ClientInfo)>>,
    ) -> Delivery {
        let members = members.unwrap_or_default();
        let mut delivery = Delivery::default();
        for endpoint in [Endpoint::Broadcast, Endpoint::Direct] {
            let listed: HashSet<&str> = members
                .iter()
                .filter(|(e, _)| *e == endpoint)
                .map(|(_, info)| info.id.as_str())
                .collect();
            let gone: Vec<Arc<str>> = self
                .room(endpoint)
                .remote
                .iter()
                .filter(|(id, p)| p.relay.as_ref() == relay && !listed.contains(id.as_ref()))
                .map(|(id, _)| Arc::clone(id))
                .collect();
            for peer_id in gone {
                let left = self.remote_left(relay, endpoint, &peer_id);
                delivery.delivered += left.delivered;
            }
        }
        for (endpoint, info) in members {
            let joined = self.remote_joined(relay, endpoint, info);
            delivery.delivered += joined.delivered;
        }
        delivery
    }

    /// Every client in both rooms, for the host.
    pub(crate) fn roster(&self) -> Vec<RosterEntry> {
        let mut all: Vec<(u64, RosterEntry)> = [Endpoint::Broadcast, Endpoint::Direct]
            .into_iter()
            .flat_map(|endpoint| {
                let room = self.room(endpoint);
                let local = room.members.values().map(move |p| {
                    (
                        p.arrival,
                        RosterEntry {
                            info: p.info.clone(),
                            endpoint,
                            muted: p.muted,
                        },
                    )
                });
                let remote = room.remote.values().map(move |p| {
                    (
                        p.arrival,
                        RosterEntry {
                            info: p.info.clone(),
                            endpoint,
                            muted: false,
                        },
                    )
                });
                local.chain(remote)
            })
            .collect();
        all.sort_by_key(|(arrival, _)| *arrival);
        all.into_iter().map(|(_, e)| e).collect()
    }

    fn find_mut(&mut self, peer_id: &str) -> Option<&mut Peer> {
        [&mut self.broadcast, &mut self.direct]
            .into_iter()
            .find_map(|r| r.members.get_mut(peer_id))
    }

    /// Cuts a client off with close code 1008, and keeps them out (by name, and by session)
    /// until [`readmit`](Self::readmit). Returns whether it was connected.
    pub(crate) fn kick(&mut self, peer_id: &str) -> bool {
        let Some(peer) = self.find_mut(peer_id) else {
            return false;
        };
        peer.outbox.kill().fire(Close::Kicked);
        let token = peer.token.clone();
        self.removed.add(peer_id, token.as_ref());
        if let Some(token) = &token {
            // A removed session cannot be resumed either.
            self.sessions.remove(token);
        }
        true
    }

    /// Lets a removed person join again. Returns whether they were removed.
    pub(crate) fn readmit(&mut self, peer_id: &str) -> bool {
        let was = self.removed.names.contains(&names::key(peer_id));
        self.removed.remove(peer_id, None);
        was
    }

    /// The people the host removed and has not let back, by the ID they had.
    pub(crate) fn removed(&self) -> Vec<String> {
        self.removed.shown.clone()
    }

    /// Whether someone asking for `name`, or resuming the session `token`, was removed by
    /// the host.
    pub(crate) fn is_removed(&self, name: Option<&str>, token: Option<&str>) -> bool {
        name.is_some_and(|n| self.removed.names.contains(&names::key(n)))
            || token.is_some_and(|t| self.removed.tokens.contains(t))
    }

    /// Mutes or unmutes a client, for the rest of the session: a muted person stays muted
    /// after reconnecting. Returns whether it was connected.
    pub(crate) fn set_muted(&mut self, peer_id: &str, muted: bool) -> bool {
        let Some(peer) = self.find_mut(peer_id) else {
            return false;
        };
        peer.muted = muted;
        let token = peer.token.clone();
        if muted {
            self.muted.add(peer_id, token.as_ref());
        } else {
            self.muted.remove(peer_id, token.as_ref());
        }
        true
    }

    /// Routes a chat message from `from` (a client, or the host) in `endpoint`'s room, giving
    /// it the room's next `seq` and keeping it in the history.
    ///
    /// In the broadcast room every message goes to everyone, sender included, as in the seed.
    /// In the addressed room it goes to the one recipient (or everyone for `*`), and a
    /// `classchat.v1` sender gets it back as confirmation, with its send id as `client_id`; a
    /// seed sender gets nothing back, as in the seed. A send id this session already used is
    /// confirmed again and not delivered.
    pub(crate) fn route(
        &mut self,
        endpoint: Endpoint,
        from: &str,
        to: Recipient,
        text: &str,
        client_id: Option<&str>,
        now_ms: u64,
    ) -> Result<Routed, RouteError> {
        match self.check_send(endpoint, from, to, text, client_id, now_ms)? {
            Checked::Duplicate(routed) => Ok(routed),
            Checked::New { message, sender } => Ok(Routed {
                delivery: self.deliver_numbered(endpoint, None, message, sender),
                duplicate: false,
            }),
        }
    }

    /// The checks [`route`](Self::route) makes before a message is numbered: the sender is
    /// not muted, the recipient is in the room (here or on another relay of the cluster), the
    /// modes allow it, and the send id is new in this session (else the confirmation is
    /// repeated).
    pub(crate) fn check_send(
        &mut self,
        endpoint: Endpoint,
        from: &str,
        to: Recipient,
        text: &str,
        client_id: Option<&str>,
        now_ms: u64,
    ) -> Result<Checked, RouteError> {
        let (sender_dialect, token, sender_role) = match self.room(endpoint).members.get(from) {
            Some(sender) if sender.muted => return Err(RouteError::Muted),
            Some(sender) => (Some(sender.dialect), sender.token.clone(), sender.role()),
            // The host writes without a connection.
            None => (None, None, Role::Host),
        };
        let to = match endpoint {
            Endpoint::Broadcast => Recipient::Everyone,
            Endpoint::Direct => to,
        };
        let client_id = client_id.filter(|_| token.is_some());
        if let (Some(id), Some(token)) = (client_id, &token)
            && let Some(seq) = self.sessions.get(token).and_then(|s| s.sent.get(id))
        {
            let chat = ChatRef {
                from,
                to: &to,
                text,
                ts: now_ms,
                seq: Some(seq),
                replay: false,
                client_id: Some(id),
                role: host_badge(sender_role),
            };
            return Ok(Checked::Duplicate(self.confirm_again(endpoint, chat)));
        }
        let audience = match &to {
            Recipient::Everyone => Audience::Everyone,
            Recipient::Client(peer_id) => {
                let room = self.room(endpoint);
                let host = match (
                    room.members.get(peer_id.as_str()),
                    room.remote.get(peer_id.as_str()),
                ) {
                    (Some(peer), _) => peer.host,
                    (None, Some(remote)) => remote.info.role == Some(Role::Host),
                    (None, None) => return Err(RouteError::UnknownRecipient(peer_id.clone())),
                };
                // Writing to oneself bothers nobody.
                if host || peer_id == from {
                    Audience::Host
                } else {
                    Audience::Student
                }
            }
        };
        self.classroom
            .may_send(sender_role, audience)
            .map_err(RouteError::NotAllowed)?;
        let mut message = ChatMessage::new(from, to, text, now_ms);
        message.client_id = client_id.map(str::to_owned);
        message.role = host_badge(sender_role);
        Ok(Checked::New {
            message,
            sender: sender_dialect,
        })
    }

    /// Numbers a checked message (the room's next `seq`, or `seq` as the cluster gave it),
    /// keeps it in the history and queues it for this relay's recipients. `sender` is what
    /// the sender speaks (`None` for the host's window). A cluster `seq` this room already has
    /// is a repeat and delivers nothing.
    pub(crate) fn deliver_numbered(
        &mut self,
        endpoint: Endpoint,
        seq: Option<u64>,
        message: ChatMessage,
        sender: Option<Dialect>,
    ) -> Delivery {
        let mut delivery = Delivery::default();
        let history = &mut self.room_mut(endpoint).history;
        let record = match seq {
            None => history.push(message),
            Some(seq) if seq <= history.latest() => return delivery,
            Some(seq) => history.push_at(seq, message),
        };
        let message = &record.message;
        let from = message.from.as_str();
        let client_id = message.client_id.as_deref();
        let token = self
            .room(endpoint)
            .members
            .get(from)
            .and_then(|p| p.token.clone());
        if let (Some(id), Some(token)) = (client_id, &token)
            && let Some(session) = self.sessions.get_mut(token)
        {
            session.sent.insert(id, record.seq);
        }

        let room = self.room(endpoint);
        // Each wire form is encoded at most once, and only if some recipient speaks it.
        let mut frames = Frames {
            endpoint,
            chat: ChatRef {
                from,
                to: &message.to,
                text: &message.text,
                ts: message.ts,
                seq: Some(record.seq),
                replay: false,
                client_id: None,
                role: message.role,
            },
            own_id: client_id,
            seed: None,
            v1: None,
            own: None,
        };
        let members = &room.members;
        match &message.to {
            Recipient::Everyone => {
                // A seed sender in the addressed room does not get its own `*` back.
                let skip =
                    (endpoint == Endpoint::Direct && sender == Some(Dialect::Seed)).then_some(from);
                for (key, peer) in members {
                    if skip != Some(key.as_ref()) {
                        let own = key.as_ref() == from;
                        push(peer, frames.get(peer.dialect, own), &mut delivery);
                    }
                }
            }
            Recipient::Client(peer_id) => {
                if let Some(peer) = members.get(peer_id.as_str()) {
                    let own = peer_id == from;
                    push(peer, frames.get(peer.dialect, own), &mut delivery);
                }
                // A `classchat.v1` sender gets its message back as confirmation.
                if sender == Some(Dialect::V1)
                    && peer_id != from
                    && let Some(sender) = members.get(from)
                {
                    push(sender, frames.get(Dialect::V1, true), &mut delivery);
                }
            }
        }
        delivery
    }

    /// Confirms again to `from` the message the room numbered `seq` (the cluster found its
    /// send id was already used), if this relay has it; delivers nothing.
    pub(crate) fn confirm_seq(&self, endpoint: Endpoint, from: &str, seq: u64) -> Delivery {
        let room = self.room(endpoint);
        let Some(record) = room
            .history
            .after(seq.saturating_sub(1))
            .and_then(|mut records| records.next())
            .filter(|r| r.seq == seq && r.message.from == from)
        else {
            return Delivery::default();
        };
        let message = &record.message;
        let chat = ChatRef {
            from,
            to: &message.to,
            text: &message.text,
            ts: message.ts,
            seq: Some(seq),
            replay: false,
            client_id: message.client_id.as_deref(),
            role: message.role,
        };
        self.confirm_again(endpoint, chat).delivery
    }

    /// Applies a classroom control message from `from` (a client, or the host's window). A
    /// student may raise and lower its own hand and vote; everything else needs a host. Sends
    /// the notices the change calls for. A `send` is not a control message and does nothing
    /// here: [`route`](Self::route) takes it.
    pub(crate) fn control(
        &mut self,
        from: &str,
        message: ClientMessage,
        now_ms: u64,
    ) -> Result<Delivery, ControlError> {
        let sender = self.rooms().into_iter().find_map(|r| r.members.get(from));
        let host = sender.is_none_or(|p| p.host);
        let mut delivery = Delivery::default();
        match message {
            ClientMessage::Send { .. } => {}
            ClientMessage::Hand { up, id } => {
                let whose = id.unwrap_or_else(|| from.to_owned());
                if whose != from && !host {
                    return Err(ControlError::NotHost);
                }
                let changed = if up {
                    self.classroom.raise_hand(&whose, now_ms)
                } else {
                    self.classroom.lower_hand(&whose).is_some()
                };
                if changed {
                    self.notify(&self.classroom.hands(), true, None, &mut delivery);
                    // The owner sees its own hand follow, also when a host lowered it.
                    self.tell(&whose, &ServerMessage::Hand { up }, &mut delivery);
                }
            }
            ClientMessage::Vote { poll, option } => {
                let tally = self.classroom.vote(poll, names::key(from), option)?;
                self.notify(&tally, true, None, &mut delivery);
            }
            _ if !host => return Err(ControlError::NotHost),
            ClientMessage::Room {
                student_broadcast,
                student_private,
            } => {
                if self.classroom.set_modes(student_broadcast, student_private) {
                    self.notify(&self.classroom.room(), false, None, &mut delivery);
                }
            }
            ClientMessage::Mute { id, muted } => {
                if !self.set_muted(&id, muted)
                    && !self.moderate_remote(&id, &Moderation::Mute(muted))
                {
                    return Err(ControlError::UnknownClient(id));
                }
            }
            ClientMessage::Kick { id } => {
                if !self.kick(&id) && !self.moderate_remote(&id, &Moderation::Remove) {
                    return Err(ControlError::UnknownClient(id));
                }
            }
            ClientMessage::Readmit { id } => {
                if !self.readmit(&id) {
                    return Err(ControlError::NotRemoved(id));
                }
            }
            ClientMessage::Poll { question, options } => {
                let (closed, opened) = self.classroom.open_poll(question, options);
                for notice in closed.iter().chain([&opened]) {
                    self.notify(notice, false, None, &mut delivery);
                }
            }
            ClientMessage::PollClose { poll } => {
                let result = self.classroom.close_poll(poll)?;
                self.notify(&result, false, None, &mut delivery);
            }
            ClientMessage::Pin { text } => {
                if self.classroom.pin(text) {
                    self.notify(&self.classroom.pinned(), false, None, &mut delivery);
                }
            }
        }
        // Notices are few and small, and a control message pauses nobody.
        delivery.congested.clear();
        Ok(delivery)
    }

    /// Applies a classroom control that another relay of the cluster applied: as the host's,
    /// with the vote's `voter`, the raised hand's `since` and the poll's `number` as that relay
    /// gave them. What does not apply here (a client this relay does not know, a poll already
    /// closed) is ignored, so that a control heard twice changes nothing the second time.
    pub(crate) fn control_from_cluster(
        &mut self,
        message: ClientMessage,
        voter: Option<&str>,
        since: Option<u64>,
        number: Option<u64>,
        now_ms: u64,
    ) -> Delivery {
        let mut delivery = Delivery::default();
        match (message, voter, number) {
            (ClientMessage::Vote { poll, option }, Some(voter), _) => {
                if let Ok(tally) = self.classroom.vote(poll, names::key(voter), option) {
                    self.notify(&tally, true, None, &mut delivery);
                }
            }
            (ClientMessage::Poll { question, options }, _, Some(number)) => {
                if let Some((closed, opened)) =
                    self.classroom.open_numbered(number, question, options)
                {
                    for notice in closed.iter().chain([&opened]) {
                        self.notify(notice, false, None, &mut delivery);
                    }
                }
            }
            (ClientMessage::Vote { .. } | ClientMessage::Poll { .. }, _, _) => {}
            (message, _, _) => {
                delivery = self
                    .control("", message, since.unwrap_or(now_ms))
                    .unwrap_or_default();
            }
        }
        delivery.congested.clear();
        delivery
    }

    /// When `peer_id`'s hand went up, if it is up.
    pub(crate) fn hand(&self, peer_id: &str) -> Option<u64> {
        self.classroom.hand(peer_id)
    }

    /// The open poll's number, if one is open.
    pub(crate) fn poll_number(&self) -> Option<u64> {
        self.classroom.poll_number()
    }

    /// The classroom as it stands, for a relay of the cluster that starts later.
    pub(crate) fn classroom(&self) -> &Classroom {
        &self.classroom
    }

    /// Takes the classroom another relay of the cluster had, at start (before any client).
    pub(crate) fn set_classroom(&mut self, classroom: Classroom) {
        self.classroom = classroom;
    }

    /// Remembers a host's decision about a client of another relay of the cluster (whose
    /// relay applies it), so that it holds here too should the client come here. Returns
    /// whether such a client is listed.
    fn moderate_remote(&mut self, peer_id: &str, moderation: &Moderation) -> bool {
        if !self.rooms().iter().any(|r| r.remote.contains_key(peer_id)) {
            return false;
        }
        match moderation {
            Moderation::Mute(true) => self.muted.add(peer_id, None),
            Moderation::Mute(false) => self.muted.remove(peer_id, None),
            Moderation::Remove => self.removed.add(peer_id, None),
        }
        true
    }

    /// The room's modes.
    pub(crate) fn modes(&self) -> RoomModes {
        self.classroom.modes()
    }

    /// Sets the room's modes (for the host's window) and tells everyone if they changed.
    pub(crate) fn set_modes(&mut self, modes: RoomModes) -> Delivery {
        let mut delivery = Delivery::default();
        if self
            .classroom
            .set_modes(Some(modes.student_broadcast), Some(modes.student_private))
        {
            self.notify(&self.classroom.room(), false, None, &mut delivery);
        }
        delivery.congested.clear();
        delivery
    }

    /// What a joining client is told about the room after its welcome: the modes, the pinned
    /// message and the open poll; and for a host the hands and the poll's tally.
    fn classroom_now(&self, host: bool) -> Vec<ServerMessage> {
        let room = &self.classroom;
        let mut notices = vec![room.room()];
        notices.extend(room.has_pin().then(|| room.pinned()));
        notices.extend(room.poll());
        if host {
            notices.push(room.hands());
            notices.extend(room.tally());
        }
        notices
    }

    /// Sends `notice` to one client, on whichever paths it is connected, if its dialect has
    /// a form of it.
    fn tell(&self, peer_id: &str, notice: &ServerMessage, delivery: &mut Delivery) {
        for room in self.rooms() {
            if let Some(peer) = room.members.get(peer_id)
                && let Some(frame) = peer.dialect.notice(notice)
            {
                push(peer, Message::text(frame), delivery);
            }
        }
    }

    /// Sends `notice` to every client of both rooms (hosts only, when `hosts_only`) but
    /// `except`, in each one's dialect; a seed client gets only the notices it has a line for.
    fn notify(
        &self,
        notice: &ServerMessage,
        hosts_only: bool,
        except: Option<&str>,
        delivery: &mut Delivery,
    ) {
        // Each form is encoded at most once.
        let mut seed: Option<Option<Message>> = None;
        let mut v1: Option<Option<Message>> = None;
        for room in self.rooms() {
            for (key, peer) in &room.members {
                if (hosts_only && !peer.host) || except == Some(key.as_ref()) {
                    continue;
                }
                let slot = match peer.dialect {
                    Dialect::Seed => &mut seed,
                    Dialect::V1 => &mut v1,
                };
                let frame =
                    slot.get_or_insert_with(|| peer.dialect.notice(notice).map(Message::text));
                if let Some(frame) = frame {
                    push(peer, frame.clone(), delivery);
                }
            }
        }
    }

    /// Repeats the confirmation of a send the session already made, delivering nothing.
    fn confirm_again(&self, endpoint: Endpoint, chat: ChatRef<'_>) -> Routed {
        let mut delivery = Delivery::default();
        if let Some(sender) = self.room(endpoint).members.get(chat.from) {
            let frame = Message::text(Dialect::V1.encode_chat(endpoint, chat));
            push(sender, frame, &mut delivery);
        }
        Routed {
            delivery,
            duplicate: true,
        }
    }
}

/// A host's decision about a client, for [`Peers::moderate_remote`].
enum Moderation {
    Mute(bool),
    Remove,
}

/// What [`Peers::insert`] needs besides the ID.
struct NewPeer {
    endpoint: Endpoint,
    dialect: Dialect,
    host: bool,
    token: Option<Arc<str>>,
    outbox: Outbox,
    conn: u64,
    now_ms: u64,
}

/// What a client whose requested name is in use is told.
pub(crate) fn name_taken(name: &str) -> (ErrorCode, String) {
    (
        ErrorCode::NameTaken,
        format!("the name {name} is already in use, so you got a generated ID"),
    )
}

/// Everyone in `room` (here and on the cluster's other relays), in order of arrival.
fn roster_of(room: &Room) -> Vec<ClientInfo> {
    let mut peers: Vec<(u64, &ClientInfo)> = room
        .members
        .values()
        .map(|p| (p.arrival, &p.info))
        .chain(room.remote.values().map(|p| (p.arrival, &p.info)))
        .collect();
    peers.sort_by_key(|(arrival, _)| *arrival);
    peers.into_iter().map(|(_, info)| info.clone()).collect()
}

/// Queues `frame` for every `classchat.v1` client of `room` but `except`.
fn push_to_v1(room: &Room, except: Option<&str>, frame: &Message, delivery: &mut Delivery) {
    for (key, peer) in &room.members {
        if peer.dialect == Dialect::V1 && except != Some(key.as_ref()) {
            push(peer, frame.clone(), delivery);
        }
    }
}

/// A kept message sent again, marked `replay`; `client_id` only on the sender's own copy.
fn replay_frame(record: &Record, peer_id: &str) -> Message {
    let message = &record.message;
    let own = message.from == peer_id;
    let chat = ChatRef {
        from: &message.from,
        to: &message.to,
        text: &message.text,
        ts: message.ts,
        seq: Some(record.seq),
        replay: true,
        client_id: message.client_id.as_deref().filter(|_| own),
        role: message.role,
    };
    Message::text(Dialect::V1.encode_chat(Endpoint::Direct, chat))
}

/// One chat message's outgoing frames, encoded on first use and then shared.
struct Frames<'a> {
    endpoint: Endpoint,
    chat: ChatRef<'a>,
    /// The sender's send id, for its own copy.
    own_id: Option<&'a str>,
    seed: Option<Message>,
    v1: Option<Message>,
    own: Option<Message>,
}

impl Frames<'_> {
    /// The frame for a recipient speaking `dialect`; `own` for the sender's own copy.
    fn get(&mut self, dialect: Dialect, own: bool) -> Message {
        let (slot, chat) = match (dialect, own && self.own_id.is_some()) {
            (Dialect::Seed, _) => (&mut self.seed, self.chat),
            (Dialect::V1, false) => (&mut self.v1, self.chat),
            (Dialect::V1, true) => (
                &mut self.own,
                ChatRef {
                    client_id: self.own_id,
                    ..self.chat
                },
            ),
        };
        let endpoint = self.endpoint;
        slot.get_or_insert_with(|| Message::text(dialect.encode_chat(endpoint, chat)))
            .clone()
    }
}

fn push(peer: &Peer, frame: Message, delivery: &mut Delivery) {
    match peer.outbox.offer(frame) {
        Offered::Queued => delivery.delivered += 1,
        Offered::Congested => {
            delivery.delivered += 1;
            delivery.congested.push(peer.outbox.clone());
        }
        Offered::Ending => {}
    }
}

/// `len` random hexadecimal digits: the relay's epoch, session tokens and host keys.
pub(crate) fn random_hex(len: usize) -> String {
    let mut rng = rand::rng();
    (0..len)
        .map(|_| char::from_digit(rng.random_range(0..16), 16).unwrap_or('0'))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::protocol::HOST_ID;
    use crate::relay::outbox::Inbox;

    struct Client {
        inbox: Inbox,
        outbox: Outbox,
        peer_id: String,
        conn: u64,
        welcome: Option<ServerMessage>,
    }

    impl Client {
        fn texts(&mut self) -> Vec<String> {
            let mut out = Vec::new();
            while let Some(m) = self.inbox.try_recv() {
                out.push(m.into_text().unwrap().to_string());
            }
            out
        }

        fn messages(&mut self) -> Vec<ChatMessage> {
            self.texts()
                .iter()
                .filter_map(|t| match ServerMessage::parse(t) {
                    Ok(ServerMessage::Message(m)) => Some(m),
                    _ => None,
                })
                .collect()
        }

        fn token(&self) -> String {
            match &self.welcome {
                Some(ServerMessage::Welcome {
                    resume: Some(token),
                    ..
                }) => token.clone(),
                other => panic!("no resume token in {other:?}"),
            }
        }
    }

    fn join(peers: &mut Peers, room: Endpoint, legacy: bool, name: Option<&str>) -> Client {
        arrive(peers, room, Dialect::from_legacy(legacy), name, None)
    }

    /// A `classchat.v1` client on the addressed path asking to resume `token` after `since`.
    fn resume(
        peers: &mut Peers,
        name: Option<&str>,
        token: &str,
        since: u64,
        epoch: Option<&str>,
    ) -> Client {
        let resume = Resume {
            token: token.to_owned(),
            since,
            epoch: epoch.map(str::to_owned),
        };
        arrive(peers, Endpoint::Direct, Dialect::V1, name, Some(resume))
    }

    fn arrive(
        peers: &mut Peers,
        endpoint: Endpoint,
        dialect: Dialect,
        name: Option<&str>,
        resume: Option<Resume>,
    ) -> Client {
        arrive_as(peers, endpoint, dialect, name, resume, false)
    }

    /// A client arriving, as a host or a student; its welcome is kept aside.
    fn arrive_as(
        peers: &mut Peers,
        endpoint: Endpoint,
        dialect: Dialect,
        name: Option<&str>,
        resume: Option<Resume>,
        host: bool,
    ) -> Client {
        // A host's queue holds the notices of a whole test (hands, tallies) unread.
        let (outbox, inbox) = Outbox::new(if host { 64 } else { 16 }, 1 << 20);
        let (joined, _) = peers.join(Arrival {
            endpoint,
            dialect,
            name,
            host,
            resume,
            claimed: None,
            outbox: outbox.clone(),
            now_ms: 7,
        });
        let mut client = Client {
            inbox,
            outbox,
            peer_id: joined.peer_id,
            conn: joined.conn,
            welcome: None,
        };
        if dialect == Dialect::V1 {
            // Keep the welcome aside and leave the rest (replays, refusals) to the test.
            let first = client.inbox.try_recv().expect("welcome");
            client.welcome = ServerMessage::parse(first.to_text().unwrap()).ok();
        }
        client
    }

    /// A `classchat.v1` host in the addressed room, its welcome and notices read.
    fn host(peers: &mut Peers, name: &str) -> Client {
        let mut client = arrive_as(peers, Endpoint::Direct, Dialect::V1, Some(name), None, true);
        client.texts();
        client
    }

    fn notices(client: &mut Client) -> Vec<ServerMessage> {
        client
            .texts()
            .iter()
            .map(|t| ServerMessage::parse(t).unwrap())
            .collect()
    }

    fn say(peers: &mut Peers, endpoint: Endpoint, from: &str, to: Recipient, text: &str) -> u64 {
        peers.route(endpoint, from, to, text, None, 1).unwrap();
        peers.room(endpoint).history.latest()
    }

    #[test]
    fn ids_count_up_and_are_never_reused() {
        let mut peers = Peers::default();
        let mut a = join(&mut peers, Endpoint::Direct, true, None);
        let b = join(&mut peers, Endpoint::Direct, true, None);
        assert_eq!(a.peer_id, "client0");
        assert_eq!(b.peer_id, "client1");
        assert_eq!(a.texts(), ["Your ID is: client0"]);
        peers.leave(Endpoint::Direct, "client0", a.conn, 8);
        let c = join(&mut peers, Endpoint::Direct, true, None);
        assert_eq!(c.peer_id, "client2");
    }

    #[test]
    fn legacy_direct_delivers_text_only_to_recipient() {
        let mut peers = Peers::default();
        let mut a = join(&mut peers, Endpoint::Direct, true, None);
        let mut b = join(&mut peers, Endpoint::Direct, true, None);
        a.texts();
        b.texts();
        say(
            &mut peers,
            Endpoint::Direct,
            "client0",
            Recipient::Client("client1".into()),
            "a/b",
        );
        assert_eq!(b.texts(), ["a/b"]);
        assert!(a.texts().is_empty());
    }

    #[test]
    fn unknown_recipient_and_muted_are_errors() {
        let mut peers = Peers::default();
        let _a = join(&mut peers, Endpoint::Direct, true, None);
        let routed = peers.route(
            Endpoint::Direct,
            "client0",
            Recipient::Client("x".into()),
            "t",
            None,
            1,
        );
        assert_eq!(
            routed.map(|_| ()),
            Err(RouteError::UnknownRecipient("x".into()))
        );
        assert!(peers.set_muted("client0", true));
        let routed = peers.route(
            Endpoint::Direct,
            "client0",
            Recipient::Everyone,
            "t",
            None,
            1,
        );
        assert_eq!(routed.map(|_| ()), Err(RouteError::Muted));
    }

    #[test]
    fn broadcast_reaches_everyone_in_each_form_with_a_seq_for_v1() {
        let mut peers = Peers::default();
        let mut legacy = join(&mut peers, Endpoint::Broadcast, true, None);
        let mut modern = join(&mut peers, Endpoint::Broadcast, false, Some("花子"));
        let mut other_room = join(&mut peers, Endpoint::Direct, true, None);
        legacy.texts();
        modern.texts();
        other_room.texts();
        peers
            .route(
                Endpoint::Broadcast,
                "client0",
                Recipient::Everyone,
                "hi",
                None,
                5,
            )
            .unwrap();
        assert_eq!(legacy.texts(), ["The server return anyone's message: hi"]);
        let mut expected = ChatMessage::new("client0", Recipient::Everyone, "hi", 5);
        expected.seq = Some(1);
        assert_eq!(modern.messages(), [expected]);
        assert!(other_room.texts().is_empty());
    }

    #[test]
    fn extended_sender_gets_confirmation_and_roster_events() {
        let mut peers = Peers::default();
        let mut a = join(&mut peers, Endpoint::Direct, false, Some("a"));
        a.texts();
        let mut b = join(&mut peers, Endpoint::Direct, false, Some("A"));
        assert_eq!(
            b.peer_id, "client0",
            "a name differing only in case is taken"
        );
        let b_frames = b.texts();
        assert!(b_frames[0].contains("name_taken"), "{b_frames:?}");
        assert!(a.texts()[0].contains(r#""type":"joined""#));
        peers
            .route(
                Endpoint::Direct,
                "a",
                Recipient::Client("client0".into()),
                "x",
                Some("m1"),
                1,
            )
            .unwrap();
        let confirmation = a.messages();
        assert_eq!(confirmation.len(), 1);
        assert_eq!(confirmation[0].client_id.as_deref(), Some("m1"));
        let received = b.messages();
        assert_eq!(received.len(), 1);
        assert_eq!(
            received[0].client_id, None,
            "only the sender sees its send id"
        );
        peers.leave(Endpoint::Direct, "client0", b.conn, 2);
        assert!(a.texts()[0].contains(r#""type":"left""#));
    }

    #[test]
    fn a_resent_send_id_is_confirmed_again_but_not_delivered_twice() {
        let mut peers = Peers::default();
        let mut a = join(&mut peers, Endpoint::Direct, false, Some("a"));
        let mut b = join(&mut peers, Endpoint::Direct, false, Some("b"));
        a.texts();
        b.texts();
        for _ in 0..2 {
            peers
                .route(
                    Endpoint::Direct,
                    "a",
                    Recipient::Everyone,
                    "once",
                    Some("m7"),
                    1,
                )
                .unwrap();
        }
        assert_eq!(b.messages().len(), 1);
        let confirmations = a.messages();
        assert_eq!(confirmations.len(), 2);
        assert_eq!(
            confirmations[0].seq, confirmations[1].seq,
            "the same message"
        );
        assert_eq!(peers.direct.history.latest(), 1);
    }

    #[test]
    fn a_late_joiner_gets_the_public_history_and_no_private_messages() {
        let mut peers = Peers::default();
        let _a = join(&mut peers, Endpoint::Direct, false, Some("a"));
        let _b = join(&mut peers, Endpoint::Direct, false, Some("b"));
        say(
            &mut peers,
            Endpoint::Direct,
            "a",
            Recipient::Everyone,
            "assignment: page 12",
        );
        say(
            &mut peers,
            Endpoint::Direct,
            "a",
            Recipient::Client("b".into()),
            "secret",
        );
        say(
            &mut peers,
            Endpoint::Direct,
            "b",
            Recipient::Everyone,
            "thanks",
        );
        let mut late = join(&mut peers, Endpoint::Direct, false, Some("late"));
        let replayed = late.messages();
        let texts: Vec<&str> = replayed.iter().map(|m| m.text.as_str()).collect();
        assert_eq!(texts, ["assignment: page 12", "thanks"]);
        assert!(replayed.iter().all(|m| m.replay));
        let mut seed = join(&mut peers, Endpoint::Direct, true, None);
        assert_eq!(
            seed.texts(),
            ["Your ID is: client0"],
            "seed clients see no change"
        );
    }

    #[test]
    fn resume_replays_what_was_missed_once_with_the_same_id() {
        let mut peers = Peers::default();
        let mut a = join(&mut peers, Endpoint::Direct, false, Some("a"));
        let _b = join(&mut peers, Endpoint::Direct, false, Some("b"));
        let since = say(
            &mut peers,
            Endpoint::Direct,
            "b",
            Recipient::Everyone,
            "before",
        );
        a.texts();
        let token = a.token();
        peers.leave(Endpoint::Direct, "a", a.conn, 9);
        say(
            &mut peers,
            Endpoint::Direct,
            "b",
            Recipient::Everyone,
            "gap 1",
        );
        say(
            &mut peers,
            Endpoint::Direct,
            "b",
            Recipient::Client("b".into()),
            "not for a",
        );
        say(
            &mut peers,
            Endpoint::Direct,
            "b",
            Recipient::Everyone,
            "gap 2",
        );
        let epoch = peers.epoch().to_owned();
        let mut back = resume(&mut peers, None, &token, since, Some(&epoch));
        assert_eq!(back.peer_id, "a");
        assert!(matches!(
            back.welcome,
            Some(ServerMessage::Welcome {
                recovered: Some(true),
                ..
            })
        ));
        let texts: Vec<String> = back.messages().into_iter().map(|m| m.text).collect();
        assert_eq!(texts, ["gap 1", "gap 2"]);
    }

    #[test]
    fn resume_takes_over_a_connection_still_open_without_a_left() {
        let mut peers = Peers::default();
        let a = join(&mut peers, Endpoint::Direct, false, Some("a"));
        let mut b = join(&mut peers, Endpoint::Direct, false, Some("b"));
        b.texts();
        let back = resume(&mut peers, None, &a.token(), 0, None);
        assert_eq!(back.peer_id, "a");
        assert_eq!(a.outbox.kill().reason(), Some(Close::Replaced));
        // The old connection's end changes nothing: the new one holds the ID.
        peers.leave(Endpoint::Direct, "a", a.conn, 9);
        assert_eq!(peers.len(), 2);
        assert!(b.texts().is_empty(), "nobody saw a leave or a join");
    }

    #[test]
    fn resume_fails_plainly_when_the_gap_fell_out_or_the_epoch_changed() {
        let mut peers = Peers::new(2, 1 << 20);
        let a = join(&mut peers, Endpoint::Direct, false, Some("a"));
        let token = a.token();
        peers.leave(Endpoint::Direct, "a", a.conn, 9);
        for text in ["1", "2", "3"] {
            say(
                &mut peers,
                Endpoint::Direct,
                "host",
                Recipient::Everyone,
                text,
            );
        }
        let back = resume(&mut peers, Some("a"), &token, 0, None);
        assert!(matches!(
            back.welcome,
            Some(ServerMessage::Welcome {
                recovered: Some(false),
                ..
            })
        ));
        let again = resume(&mut peers, None, &token, 3, Some("another"));
        assert!(matches!(
            again.welcome,
            Some(ServerMessage::Welcome {
                recovered: Some(false),
                ..
            })
        ));
    }

    fn remote(id: &str) -> ClientInfo {
        ClientInfo {
            id: id.to_owned(),
            since: 1,
            legacy: false,
            role: Some(Role::Student),
        }
    }

    #[test]
    fn another_relays_clients_join_the_roster_and_leave_it_with_their_relay() {
        let mut peers = Peers::default();
        let mut ana = join(&mut peers, Endpoint::Direct, false, Some("ana"));
        ana.texts();
        peers.remote_joined("r2", Endpoint::Direct, remote("bo"));
        assert!(matches!(
            notices(&mut ana)[..],
            [ServerMessage::Joined { ref client }] if client.id == "bo"
        ));
        assert!(peers.roster().iter().any(|e| e.info.id == "bo"));
        // Bo's name is taken here too, and Ana may write to Bo.
        assert!(peers.check_name("BO", false).is_err());
        let checked = peers.check_send(
            Endpoint::Direct,
            "ana",
            Recipient::Client("bo".into()),
            "hi",
            None,
            2,
        );
        assert!(matches!(checked, Ok(Checked::New { .. })));
        // A heartbeat listing the same clients changes nothing; the relay's end drops Bo.
        peers.remote_sync("r2", Some(vec![(Endpoint::Direct, remote("bo"))]));
        assert!(ana.texts().is_empty());
        peers.remote_sync("r2", None);
        assert!(matches!(
            notices(&mut ana)[..],
            [ServerMessage::Left { ref id }] if id == "bo"
        ));
        let checked = peers.check_send(
            Endpoint::Direct,
            "ana",
            Recipient::Client("bo".into()),
            "hi",
            None,
            3,
        );
        assert_eq!(
            checked.err(),
            Some(RouteError::UnknownRecipient("bo".into()))
        );
    }

    #[test]
    fn a_message_numbered_by_the_cluster_is_delivered_once_and_kept() {
        let mut peers = Peers::default();
        let mut ana = join(&mut peers, Endpoint::Direct, false, Some("ana"));
        let message = ChatMessage::new("bo", Recipient::Everyone, "hello", 2);
        let first = peers.deliver_numbered(
            Endpoint::Direct,
            Some(7),
            message.clone(),
            Some(Dialect::V1),
        );
        assert_eq!(first.delivered, 1);
        let again = peers.deliver_numbered(Endpoint::Direct, Some(7), message, Some(Dialect::V1));
        assert_eq!(
            again.delivered, 0,
            "a repeat of the same seq delivers nothing"
        );
        let got = ana.messages();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].seq, Some(7));
        assert_eq!(peers.room(Endpoint::Direct).history.latest(), 7);
    }

    #[test]
    fn a_session_known_to_the_cluster_resumes_here_with_its_id() {
        let mut peers = Peers::default();
        let message = ChatMessage::new("bo", Recipient::Client("xia".into()), "missed", 2);
        peers.remote_joined("r2", Endpoint::Direct, remote("xia"));
        peers.deliver_numbered(Endpoint::Direct, Some(1), message, Some(Dialect::V1));
        peers.adopt_session("abc", "xia", Endpoint::Direct, 5);
        let mut xia = resume(&mut peers, None, "abc", 0, None);
        assert_eq!(xia.peer_id, "xia");
        let replayed = xia.messages();
        assert_eq!(replayed.len(), 1);
        assert!(replayed[0].replay);
        // Xia is this relay's client now, not the other relay's.
        peers.remote_sync("r2", None);
        assert!(peers.roster().iter().any(|e| e.info.id == "xia"));
    }

    #[test]
    fn a_congested_outbox_is_reported_and_nothing_is_dropped() {
        let mut peers = Peers::default();
        let _sender = join(&mut peers, Endpoint::Broadcast, true, None);
        let (outbox, mut inbox) = Outbox::new(2, 1 << 20);
        peers.join(Arrival {
            endpoint: Endpoint::Broadcast,
            dialect: Dialect::Seed,
            name: None,
            host: false,
            resume: None,
            claimed: None,
            outbox: outbox.clone(),
            now_ms: 1,
        });
        let mut congested = 0;
        for i in 0..5 {
            let routed = peers
                .route(
                    Endpoint::Broadcast,
                    "client0",
                    Recipient::Everyone,
                    "m",
                    None,
                    i,
                )
                .unwrap();
            congested += routed
                .delivery
                .congested
                .iter()
                .filter(|o| o.same(&outbox))
                .count();
        }
        assert_eq!(congested, 3, "every message past the bound says so");
        assert_eq!(
            outbox.kill().reason(),
            None,
            "nobody is cut for a full queue"
        );
        let mut received = 0;
        while inbox.try_recv().is_some() {
            received += 1;
        }
        assert_eq!(received, 5);
    }

    #[test]
    fn names_are_compared_by_their_normal_form() {
        let mut peers = Peers::default();
        let _a = join(&mut peers, Endpoint::Direct, false, Some("が"));
        let mut b = join(
            &mut peers,
            Endpoint::Direct,
            false,
            Some("\u{304b}\u{3099}"),
        );
        assert_eq!(
            b.peer_id, "client0",
            "the decomposed spelling is the same name"
        );
        assert!(b.texts()[0].contains("name_taken"));
        let mut c = join(&mut peers, Endpoint::Direct, false, Some("ｈｏｓｔ"));
        assert!(c.texts()[0].contains("name_invalid"));
    }

    #[test]
    fn roles_show_in_welcome_and_roster_and_the_room_follows_the_welcome() {
        let mut peers = Peers::default();
        let teacher = host(&mut peers, "tanaka");
        assert!(matches!(
            teacher.welcome,
            Some(ServerMessage::Welcome {
                role: Some(Role::Host),
                ..
            })
        ));
        let mut student = join(&mut peers, Endpoint::Direct, false, Some("hanako"));
        match &student.welcome {
            Some(ServerMessage::Welcome { role, clients, .. }) => {
                assert_eq!(*role, Some(Role::Student));
                let roles: Vec<_> = clients.iter().map(|c| c.role).collect();
                assert_eq!(roles, [Some(Role::Host), Some(Role::Student)]);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            notices(&mut student),
            [ServerMessage::Room(RoomModes::default())]
        );
    }

    #[test]
    fn modes_refuse_students_but_never_hosts() {
        let mut peers = Peers::default();
        let _teacher = host(&mut peers, "tanaka");
        let _a = join(&mut peers, Endpoint::Direct, false, Some("a"));
        let _b = join(&mut peers, Endpoint::Direct, false, Some("b"));
        let quiet = RoomModes {
            student_broadcast: false,
            student_private: false,
        };
        peers.set_modes(quiet);
        let send = |peers: &mut Peers, from: &str, to: Recipient| {
            peers
                .route(Endpoint::Direct, from, to, "x", None, 1)
                .map(|_| ())
        };
        assert_eq!(
            send(&mut peers, "a", Recipient::Everyone),
            Err(RouteError::NotAllowed(NotAllowed::Broadcast))
        );
        assert_eq!(
            send(&mut peers, "a", Recipient::Client("b".into())),
            Err(RouteError::NotAllowed(NotAllowed::Private))
        );
        assert_eq!(
            send(&mut peers, "a", Recipient::Client("tanaka".into())),
            Ok(())
        );
        assert_eq!(send(&mut peers, "tanaka", Recipient::Everyone), Ok(()));
        assert_eq!(
            send(&mut peers, "tanaka", Recipient::Client("b".into())),
            Ok(())
        );
        assert_eq!(send(&mut peers, HOST_ID, Recipient::Everyone), Ok(()));
        assert_eq!(
            peers.direct.history.latest(),
            4,
            "refused sends took no number"
        );
    }

    #[test]
    fn students_get_not_host_for_controls_but_may_raise_hands_and_vote() {
        let mut peers = Peers::default();
        let mut teacher = host(&mut peers, "tanaka");
        let _a = join(&mut peers, Endpoint::Direct, false, Some("a"));
        teacher.texts();
        let pin = ClientMessage::Pin { text: "x".into() };
        assert_eq!(
            peers.control("a", pin.clone(), 1).map(|_| ()),
            Err(ControlError::NotHost)
        );
        let lower = ClientMessage::Hand {
            up: false,
            id: Some("tanaka".into()),
        };
        assert_eq!(
            peers.control("a", lower, 1).map(|_| ()),
            Err(ControlError::NotHost)
        );
        peers
            .control("a", ClientMessage::Hand { up: true, id: None }, 50)
            .unwrap();
        assert_eq!(
            notices(&mut teacher),
            [ServerMessage::Hands {
                queue: vec![crate::protocol::RaisedHand {
                    id: "a".into(),
                    since: 50
                }]
            }]
        );
        assert!(peers.control("tanaka", pin, 1).is_ok());
    }

    #[test]
    fn a_hand_goes_down_on_leave_and_comes_back_on_resume() {
        let mut peers = Peers::default();
        let mut teacher = host(&mut peers, "tanaka");
        let a = join(&mut peers, Endpoint::Direct, false, Some("a"));
        let b = join(&mut peers, Endpoint::Direct, false, Some("b"));
        for (who, at) in [("a", 10), ("b", 20)] {
            peers
                .control(who, ClientMessage::Hand { up: true, id: None }, at)
                .unwrap();
        }
        teacher.texts();
        peers.leave(Endpoint::Direct, "a", a.conn, 30);
        peers.leave(Endpoint::Direct, "b", b.conn, 30);
        assert_eq!(
            peers.classroom.hands(),
            ServerMessage::Hands { queue: vec![] }
        );
        let back = resume(&mut peers, None, &a.token(), 0, None);
        assert_eq!(back.peer_id, "a");
        assert_eq!(peers.classroom.hand("a"), Some(10), "its place kept");
        assert_eq!(peers.classroom.hand("b"), None, "b left for good");
        let last = notices(&mut teacher).pop();
        assert!(
            matches!(&last, Some(ServerMessage::Hands { queue }) if queue.len() == 1),
            "{last:?}"
        );
    }

    #[test]
    fn controls_from_the_cluster_count_once_and_a_remote_hand_leaves_with_its_owner() {
        let mut peers = Peers::default();
        let mut teacher = host(&mut peers, "tanaka");
        peers.remote_joined("r2", Endpoint::Direct, remote("xia"));
        let raise = ClientMessage::Hand {
            up: true,
            id: Some("xia".into()),
        };
        let open = ClientMessage::Poll {
            question: "Q?".into(),
            options: vec!["x".into(), "y".into()],
        };
        let vote = ClientMessage::Vote { poll: 4, option: 1 };
        // Each heard twice, as after a starting relay's snapshot.
        for _ in 0..2 {
            peers.control_from_cluster(raise.clone(), None, Some(5), None, 99);
            peers.control_from_cluster(open.clone(), None, None, Some(4), 99);
            peers.control_from_cluster(vote.clone(), Some("XIA"), None, None, 99);
        }
        assert_eq!(peers.hand("xia"), Some(5), "queued at its own relay's time");
        assert_eq!(peers.poll_number(), Some(4), "the opening relay's number");
        assert_eq!(
            peers.classroom.tally(),
            Some(ServerMessage::Tally {
                poll: 4,
                counts: vec![0, 1],
                voters: 1
            })
        );
        teacher.texts();
        peers.remote_sync("r2", None);
        assert_eq!(peers.hand("xia"), None, "down with its relay");
        let last = notices(&mut teacher).pop();
        assert_eq!(last, Some(ServerMessage::Hands { queue: vec![] }));
    }

    #[test]
    fn kick_fires_policy_close() {
        let mut peers = Peers::default();
        let a = join(&mut peers, Endpoint::Direct, false, None);
        assert!(peers.kick("client0"));
        assert!(!peers.kick("nobody"));
        assert_eq!(a.outbox.kill().reason(), Some(Close::Kicked));
        assert_eq!(
            peers.roster().len(),
            1,
            "kicked clients leave when their task ends"
        );
    }
}
