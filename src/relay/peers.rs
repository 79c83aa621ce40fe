//! Who is connected, and where each message goes.
//!
//! [`Peers`] assigns IDs, keeps both rooms and routes a message to the right outboxes. It does
//! no I/O and never waits: a delivery is a `try_send` into the recipient's bounded queue, and a
//! recipient whose queue is full is cut off through its [`KillSwitch`] rather than slowing the
//! sender. Each outgoing frame is encoded once per wire form and shared by reference count.

use std::collections::HashMap;
use std::sync::Arc;

use tokio_tungstenite::tungstenite::Message;

use super::outbox::{Offered, Outbox};
use crate::protocol::{
    self, ChatRef, ClientInfo, Close, Dialect, Endpoint, ErrorCode, ID_PREFIX, Recipient,
    ServerMessage,
};

/// A connected client as the registry holds it.
#[derive(Debug)]
struct Peer {
    info: ClientInfo,
    /// What it speaks; `info.legacy` is the same on the wire.
    dialect: Dialect,
    /// Arrival order, for a stable roster.
    seq: u64,
    outbox: Outbox,
    muted: bool,
}

/// The clients of one endpoint. State kept per room (a history, a sequence counter) belongs
/// here.
#[derive(Debug, Default)]
struct Room {
    members: HashMap<Arc<str>, Peer>,
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
}

impl RouteError {
    /// The extended error code.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::UnknownRecipient(_) => ErrorCode::UnknownRecipient,
            Self::Muted => ErrorCode::Muted,
        }
    }
}

/// What [`Peers::join`] decided.
#[derive(Debug)]
pub(crate) struct Joined {
    /// The ID given.
    pub peer_id: String,
    /// Set when the requested name could not be used.
    pub name_refused: Option<(ErrorCode, String)>,
}

/// Counts of what routing did, for the relay's health counters.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Delivery {
    /// Frames put into outboxes.
    pub delivered: u64,
    /// Recipients cut off because their outbox was full.
    pub dropped_slow: u64,
}

/// Both rooms and the ID counter. Pure: no I/O, no waiting.
#[derive(Debug, Default)]
pub(crate) struct Peers {
    next_number: u64,
    next_seq: u64,
    broadcast: Room,
    direct: Room,
}

impl Peers {
    fn room(&self, endpoint: Endpoint) -> &HashMap<Arc<str>, Peer> {
        match endpoint {
            Endpoint::Broadcast => &self.broadcast.members,
            Endpoint::Direct => &self.direct.members,
        }
    }

    fn room_mut(&mut self, endpoint: Endpoint) -> &mut HashMap<Arc<str>, Peer> {
        match endpoint {
            Endpoint::Broadcast => &mut self.broadcast.members,
            Endpoint::Direct => &mut self.direct.members,
        }
    }

    fn rooms(&self) -> [&HashMap<Arc<str>, Peer>; 2] {
        [&self.broadcast.members, &self.direct.members]
    }

    fn taken(&self, peer_id: &str) -> bool {
        self.rooms().iter().any(|r| r.contains_key(peer_id))
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
        self.rooms().iter().map(|r| r.len()).sum()
    }

    /// Registers a new connection, queues its welcome and tells the room.
    ///
    /// Seed clients on the addressed path get the seed's `Your ID is: …`; seed clients on
    /// the broadcast path get nothing, as in the seed.
    pub(crate) fn join(
        &mut self,
        room: Endpoint,
        dialect: Dialect,
        requested: Option<&str>,
        outbox: Outbox,
        now_ms: u64,
    ) -> (Joined, Delivery) {
        let mut name_refused = None;
        let peer_id = match requested {
            Some(name) => match protocol::validate_name(name) {
                Ok(()) if !self.taken(name) => name.to_owned(),
                Ok(()) => {
                    name_refused = Some((
                        ErrorCode::NameTaken,
                        format!("the name {name} is already in use, so you got a generated ID"),
                    ));
                    self.generated_id()
                }
                Err(e) => {
                    name_refused = Some((
                        ErrorCode::NameInvalid,
                        format!("{e}, so you got a generated ID"),
                    ));
                    self.generated_id()
                }
            },
            None => self.generated_id(),
        };
        let info = ClientInfo {
            id: peer_id.clone(),
            since: now_ms,
            legacy: dialect.is_legacy(),
        };
        let seq = self.next_seq;
        self.next_seq += 1;
        let key: Arc<str> = Arc::from(peer_id.as_str());
        self.room_mut(room).insert(
            Arc::clone(&key),
            Peer {
                info: info.clone(),
                dialect,
                seq,
                outbox,
                muted: false,
            },
        );

        let mut delivery = Delivery::default();
        let welcome = dialect.welcome(room, &peer_id, || ServerMessage::Welcome {
            id: peer_id.clone(),
            clients: self.roster_of(room),
            seq: None,
            epoch: None,
            resume: None,
            recovered: None,
        });
        let refusal = name_refused
            .as_ref()
            .map(|(code, sentence)| dialect.error_frame(*code, sentence));
        let own_frames = welcome.into_iter().chain(refusal);
        for frame in own_frames {
            self.push_to(room, &key, Message::text(frame), &mut delivery);
        }
        let joined = Message::text(ServerMessage::Joined { client: info }.encode());
        self.push_to_extended(room, Some(&key), &joined, &mut delivery);
        (
            Joined {
                peer_id,
                name_refused,
            },
            delivery,
        )
    }

    /// Removes a connection and tells the room it left.
    pub(crate) fn leave(&mut self, room: Endpoint, peer_id: &str) -> Delivery {
        let mut delivery = Delivery::default();
        if self.room_mut(room).remove(peer_id).is_some() {
            let left = Message::text(
                ServerMessage::Left {
                    id: peer_id.to_owned(),
                }
                .encode(),
            );
            self.push_to_extended(room, None, &left, &mut delivery);
        }
        delivery
    }

    /// Everyone in `room`, in order of arrival.
    fn roster_of(&self, room: Endpoint) -> Vec<ClientInfo> {
        let mut peers: Vec<&Peer> = self.room(room).values().collect();
        peers.sort_by_key(|p| p.seq);
        peers.into_iter().map(|p| p.info.clone()).collect()
    }

    /// Every client in both rooms, for the host.
    pub(crate) fn roster(&self) -> Vec<RosterEntry> {
        let mut all: Vec<(u64, RosterEntry)> = [Endpoint::Broadcast, Endpoint::Direct]
            .into_iter()
            .flat_map(|endpoint| {
                self.room(endpoint).values().map(move |p| {
                    (
                        p.seq,
                        RosterEntry {
                            info: p.info.clone(),
                            endpoint,
                            muted: p.muted,
                        },
                    )
                })
            })
            .collect();
        all.sort_by_key(|(seq, _)| *seq);
        all.into_iter().map(|(_, e)| e).collect()
    }

    fn find_mut(&mut self, peer_id: &str) -> Option<&mut Peer> {
        [&mut self.broadcast, &mut self.direct]
            .into_iter()
            .find_map(|r| r.members.get_mut(peer_id))
    }

    /// Cuts a client off with close code 1008. Returns whether it was connected.
    pub(crate) fn kick(&mut self, peer_id: &str) -> bool {
        let Some(peer) = self.find_mut(peer_id) else {
            return false;
        };
        peer.outbox.kill().fire(Close::Kicked);
        true
    }

    /// Mutes or unmutes a client. Returns whether it was connected.
    pub(crate) fn set_muted(&mut self, peer_id: &str, muted: bool) -> bool {
        let Some(peer) = self.find_mut(peer_id) else {
            return false;
        };
        peer.muted = muted;
        true
    }

    /// Routes a chat message from `from` (a client, or the host) in `room`.
    ///
    /// In the broadcast room every message goes to everyone, sender included, as in the seed.
    /// In the addressed room it goes to the one recipient (or everyone for `*`), and an extended
    /// sender gets it back as confirmation; a seed sender gets nothing back, as in the seed.
    pub(crate) fn route(
        &mut self,
        room: Endpoint,
        from: &str,
        to: Recipient,
        text: &str,
        now_ms: u64,
    ) -> Result<Delivery, RouteError> {
        let sender_dialect = match self.room(room).get(from) {
            Some(sender) if sender.muted => return Err(RouteError::Muted),
            Some(sender) => Some(sender.dialect),
            // The host writes without a connection.
            None => None,
        };
        let to = match room {
            Endpoint::Broadcast => Recipient::Everyone,
            Endpoint::Direct => to,
        };
        if let Recipient::Client(peer_id) = &to
            && !self.room(room).contains_key(peer_id.as_str())
        {
            return Err(RouteError::UnknownRecipient(peer_id.clone()));
        }
        // Each wire form is encoded at most once, and only if some recipient speaks it.
        let mut frames = Frames {
            endpoint: room,
            chat: ChatRef {
                from,
                to: &to,
                text,
                ts: now_ms,
                seq: None,
                replay: false,
                client_id: None,
            },
            seed: None,
            v1: None,
        };
        let mut delivery = Delivery::default();
        let peers = self.room(room);
        match &to {
            Recipient::Everyone => {
                // A seed sender in the addressed room does not get its own `*` back.
                let skip = (room == Endpoint::Direct && sender_dialect == Some(Dialect::Seed))
                    .then_some(from);
                for (key, peer) in peers {
                    if skip != Some(key.as_ref()) {
                        push(peer, frames.get(peer.dialect), &mut delivery);
                    }
                }
            }
            Recipient::Client(peer_id) => {
                if let Some(peer) = peers.get(peer_id.as_str()) {
                    push(peer, frames.get(peer.dialect), &mut delivery);
                }
                // An extended sender gets its message back as confirmation.
                if sender_dialect == Some(Dialect::V1)
                    && peer_id != from
                    && let Some(sender) = peers.get(from)
                {
                    push(sender, frames.get(Dialect::V1), &mut delivery);
                }
            }
        }
        Ok(delivery)
    }

    /// Queues one frame for one client; a full queue cuts the client off.
    pub(crate) fn push_to(
        &self,
        room: Endpoint,
        peer_id: &str,
        frame: Message,
        delivery: &mut Delivery,
    ) {
        let Some(peer) = self.room(room).get(peer_id) else {
            return;
        };
        push(peer, frame, delivery);
    }

    fn push_to_extended(
        &self,
        room: Endpoint,
        except: Option<&str>,
        frame: &Message,
        delivery: &mut Delivery,
    ) {
        for (key, peer) in self.room(room) {
            if peer.dialect == Dialect::V1 && except != Some(key.as_ref()) {
                push(peer, frame.clone(), delivery);
            }
        }
    }
}

/// One chat message's outgoing frames, encoded on first use and then shared.
struct Frames<'a> {
    endpoint: Endpoint,
    chat: ChatRef<'a>,
    seed: Option<Message>,
    v1: Option<Message>,
}

impl Frames<'_> {
    fn get(&mut self, dialect: Dialect) -> Message {
        let slot = match dialect {
            Dialect::Seed => &mut self.seed,
            Dialect::V1 => &mut self.v1,
        };
        slot.get_or_insert_with(|| Message::text(dialect.encode_chat(self.endpoint, self.chat)))
            .clone()
    }
}

fn push(peer: &Peer, frame: Message, delivery: &mut Delivery) {
    match peer.outbox.offer(frame) {
        Offered::Queued => delivery.delivered += 1,
        Offered::CutOff => delivery.dropped_slow += 1,
        Offered::Ending => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use tokio::sync::mpsc;

    use crate::protocol::ChatMessage;

    struct Client {
        rx: mpsc::Receiver<Message>,
        outbox: Outbox,
        peer_id: String,
    }

    impl Client {
        fn texts(&mut self) -> Vec<String> {
            let mut out = Vec::new();
            while let Ok(m) = self.rx.try_recv() {
                out.push(m.into_text().unwrap().to_string());
            }
            out
        }
    }

    fn join(peers: &mut Peers, room: Endpoint, legacy: bool, name: Option<&str>) -> Client {
        join_with_queue(peers, room, legacy, name, 16)
    }

    fn join_with_queue(
        peers: &mut Peers,
        room: Endpoint,
        legacy: bool,
        name: Option<&str>,
        queue: usize,
    ) -> Client {
        let (outbox, rx) = Outbox::new(queue);
        let dialect = Dialect::from_legacy(legacy);
        let (joined, _) = peers.join(room, dialect, name, outbox.clone(), 7);
        Client {
            rx,
            outbox,
            peer_id: joined.peer_id,
        }
    }

    #[test]
    fn ids_count_up_and_are_never_reused() {
        let mut peers = Peers::default();
        let mut a = join(&mut peers, Endpoint::Direct, true, None);
        let b = join(&mut peers, Endpoint::Direct, true, None);
        assert_eq!(a.peer_id, "client0");
        assert_eq!(b.peer_id, "client1");
        assert_eq!(a.texts(), ["Your ID is: client0"]);
        peers.leave(Endpoint::Direct, "client0");
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
        peers
            .route(
                Endpoint::Direct,
                "client0",
                Recipient::Client("client1".into()),
                "a/b",
                1,
            )
            .unwrap();
        assert_eq!(b.texts(), ["a/b"]);
        assert!(a.texts().is_empty());
    }

    #[test]
    fn unknown_recipient_and_muted_are_errors() {
        let mut peers = Peers::default();
        let _a = join(&mut peers, Endpoint::Direct, true, None);
        assert_eq!(
            peers.route(
                Endpoint::Direct,
                "client0",
                Recipient::Client("x".into()),
                "t",
                1
            ),
            Err(RouteError::UnknownRecipient("x".into()))
        );
        assert!(peers.set_muted("client0", true));
        assert_eq!(
            peers.route(Endpoint::Direct, "client0", Recipient::Everyone, "t", 1),
            Err(RouteError::Muted)
        );
    }

    #[test]
    fn broadcast_reaches_everyone_in_each_form() {
        let mut peers = Peers::default();
        let mut legacy = join(&mut peers, Endpoint::Broadcast, true, None);
        let mut modern = join(&mut peers, Endpoint::Broadcast, false, Some("花子"));
        let mut other_room = join(&mut peers, Endpoint::Direct, true, None);
        legacy.texts();
        modern.texts();
        other_room.texts();
        peers
            .route(Endpoint::Broadcast, "client0", Recipient::Everyone, "hi", 5)
            .unwrap();
        assert_eq!(legacy.texts(), ["The server return anyone's message: hi"]);
        let got = modern.texts();
        assert_eq!(got.len(), 1);
        assert_eq!(
            ServerMessage::parse(&got[0]).unwrap(),
            ServerMessage::Message(ChatMessage::new("client0", Recipient::Everyone, "hi", 5))
        );
        assert!(other_room.texts().is_empty());
    }

    #[test]
    fn extended_sender_gets_confirmation_and_roster_events() {
        let mut peers = Peers::default();
        let mut a = join(&mut peers, Endpoint::Direct, false, Some("a"));
        let welcome = a.texts();
        assert!(welcome[0].contains(r#""type":"welcome""#));
        let mut b = join(&mut peers, Endpoint::Direct, false, Some("a"));
        assert_eq!(b.peer_id, "client0");
        let b_frames = b.texts();
        assert!(b_frames[1].contains("name_taken"), "{b_frames:?}");
        assert!(a.texts()[0].contains(r#""type":"joined""#));
        peers
            .route(
                Endpoint::Direct,
                "a",
                Recipient::Client("client0".into()),
                "x",
                1,
            )
            .unwrap();
        assert_eq!(a.texts().len(), 1);
        assert_eq!(b.texts().len(), 1);
        peers.leave(Endpoint::Direct, "client0");
        assert!(a.texts()[0].contains(r#""type":"left""#));
    }

    #[test]
    fn full_outbox_cuts_off_only_that_client() {
        let mut peers = Peers::default();
        let mut fast = join(&mut peers, Endpoint::Broadcast, true, None);
        let slow = join_with_queue(&mut peers, Endpoint::Broadcast, true, None, 2);
        for i in 0..3 {
            let d = peers
                .route(Endpoint::Broadcast, "client0", Recipient::Everyone, "m", i)
                .unwrap();
            assert_eq!(d.dropped_slow, u64::from(i == 2));
            assert_eq!(fast.texts().len(), 1);
        }
        assert!(slow.outbox.kill().reason().is_some());
        assert_eq!(slow.outbox.kill().reason(), Some(Close::TooSlow));
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
