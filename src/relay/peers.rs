//! Who is connected, and where each message goes.
//!
//! [`Peers`] assigns IDs, keeps both rooms and routes a message to the right outboxes. It does
//! no I/O and never waits: a delivery is a `try_send` into the recipient's bounded queue, and a
//! recipient whose queue is full is cut off through its [`KillSwitch`] rather than slowing the
//! sender. Each outgoing frame is encoded once per wire form and shared by reference count.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::frame::{CloseFrame, Utf8Bytes};
use tokio_util::sync::CancellationToken;

use crate::protocol::{
    self, ChatMessage, ClientInfo, ErrorCode, ID_PREFIX, Recipient, ServerMessage,
};

/// Which of the seed's two paths a client connected to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Room {
    /// `/ws_multi_client`: everything to everyone.
    Broadcast,
    /// `/ws_multi_client_dict`: `id/text` to one client (or `*/text` to all).
    Direct,
}

impl Room {
    fn index(self) -> usize {
        match self {
            Self::Broadcast => 0,
            Self::Direct => 1,
        }
    }
}

/// Ends one connection from outside its task, remembering why.
#[derive(Debug, Default)]
pub(crate) struct KillSwitch {
    token: CancellationToken,
    reason: OnceLock<CloseFrame>,
}

impl KillSwitch {
    /// Asks the connection to close with `code` and `reason`; the first call wins.
    pub(crate) fn fire(&self, code: CloseCode, reason: &'static str) {
        // A second reason for the same connection is irrelevant.
        self.reason
            .set(CloseFrame {
                code,
                reason: Utf8Bytes::from_static(reason),
            })
            .ok();
        self.token.cancel();
    }

    /// Resolves once [`fire`](Self::fire) was called.
    pub(crate) async fn fired(&self) {
        self.token.cancelled().await;
    }

    /// The close frame to send, once fired.
    pub(crate) fn reason(&self) -> Option<CloseFrame> {
        self.reason.get().cloned()
    }
}

/// A connected client as the registry holds it.
#[derive(Debug)]
struct Peer {
    info: ClientInfo,
    /// Arrival order, for a stable roster.
    seq: u64,
    outbox: mpsc::Sender<Message>,
    kill: Arc<KillSwitch>,
    muted: bool,
}

/// A roster line for the host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RosterEntry {
    /// ID, connection time and protocol.
    pub info: ClientInfo,
    /// The path it connected to.
    pub room: Room,
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
    rooms: [HashMap<Arc<str>, Peer>; 2],
}

impl Peers {
    fn room(&self, room: Room) -> &HashMap<Arc<str>, Peer> {
        &self.rooms[room.index()]
    }

    fn room_mut(&mut self, room: Room) -> &mut HashMap<Arc<str>, Peer> {
        &mut self.rooms[room.index()]
    }

    fn taken(&self, peer_id: &str) -> bool {
        self.rooms.iter().any(|r| r.contains_key(peer_id))
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
        self.rooms.iter().map(HashMap::len).sum()
    }

    /// Registers a new connection, queues its welcome and tells the room.
    ///
    /// Legacy clients on the addressed path get the seed's `Your ID is: …`; legacy clients on
    /// the broadcast path get nothing, as in the seed.
    pub(crate) fn join(
        &mut self,
        room: Room,
        legacy: bool,
        requested: Option<&str>,
        outbox: mpsc::Sender<Message>,
        kill: Arc<KillSwitch>,
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
            legacy,
        };
        let seq = self.next_seq;
        self.next_seq += 1;
        let key: Arc<str> = Arc::from(peer_id.as_str());
        self.room_mut(room).insert(
            Arc::clone(&key),
            Peer {
                info: info.clone(),
                seq,
                outbox,
                kill,
                muted: false,
            },
        );

        let mut delivery = Delivery::default();
        let own_frames: Vec<String> = if legacy {
            let mut frames = Vec::new();
            if room == Room::Direct {
                frames.push(protocol::legacy_welcome(&peer_id));
            }
            if let Some((_, sentence)) = &name_refused {
                frames.push(protocol::legacy_error(sentence));
            }
            frames
        } else {
            let mut frames = vec![
                ServerMessage::Welcome {
                    id: peer_id.clone(),
                    clients: self.roster_of(room),
                }
                .encode(),
            ];
            if let Some((code, message)) = &name_refused {
                frames.push(
                    ServerMessage::Error {
                        code: *code,
                        message: message.clone(),
                    }
                    .encode(),
                );
            }
            frames
        };
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
    pub(crate) fn leave(&mut self, room: Room, peer_id: &str) -> Delivery {
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
    fn roster_of(&self, room: Room) -> Vec<ClientInfo> {
        let mut peers: Vec<&Peer> = self.room(room).values().collect();
        peers.sort_by_key(|p| p.seq);
        peers.into_iter().map(|p| p.info.clone()).collect()
    }

    /// Every client in both rooms, for the host.
    pub(crate) fn roster(&self) -> Vec<RosterEntry> {
        let mut all: Vec<(u64, RosterEntry)> = [Room::Broadcast, Room::Direct]
            .into_iter()
            .flat_map(|room| {
                self.room(room).values().map(move |p| {
                    (
                        p.seq,
                        RosterEntry {
                            info: p.info.clone(),
                            room,
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
        self.rooms.iter_mut().find_map(|r| r.get_mut(peer_id))
    }

    /// Cuts a client off with close code 1008. Returns whether it was connected.
    pub(crate) fn kick(&mut self, peer_id: &str) -> bool {
        let Some(peer) = self.find_mut(peer_id) else {
            return false;
        };
        peer.kill.fire(CloseCode::Policy, "removed by the host");
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
    /// sender gets it back as confirmation; a legacy sender gets nothing back, as in the seed.
    pub(crate) fn route(
        &mut self,
        room: Room,
        from: &str,
        to: Recipient,
        text: &str,
        now_ms: u64,
    ) -> Result<Delivery, RouteError> {
        let sender_legacy = match self.room(room).get(from) {
            Some(sender) if sender.muted => return Err(RouteError::Muted),
            Some(sender) => Some(sender.info.legacy),
            // The host writes without a connection.
            None => None,
        };
        let to = match room {
            Room::Broadcast => Recipient::Everyone,
            Room::Direct => to,
        };
        if let Recipient::Client(peer_id) = &to
            && !self.room(room).contains_key(peer_id.as_str())
        {
            return Err(RouteError::UnknownRecipient(peer_id.clone()));
        }
        // Each wire form is encoded at most once, and only if some recipient speaks it.
        let mut frames = Frames {
            room,
            from,
            to: &to,
            text,
            now_ms,
            legacy: None,
            json: None,
        };
        let mut delivery = Delivery::default();
        let peers = self.room(room);
        match &to {
            Recipient::Everyone => {
                // A legacy sender in the addressed room does not get its own `*` back.
                let skip = (room == Room::Direct && sender_legacy == Some(true)).then_some(from);
                for (key, peer) in peers {
                    if skip != Some(key.as_ref()) {
                        push(peer, frames.get(peer.info.legacy), &mut delivery);
                    }
                }
            }
            Recipient::Client(peer_id) => {
                if let Some(peer) = peers.get(peer_id.as_str()) {
                    push(peer, frames.get(peer.info.legacy), &mut delivery);
                }
                // An extended sender gets its message back as confirmation.
                if sender_legacy == Some(false)
                    && peer_id != from
                    && let Some(sender) = peers.get(from)
                {
                    push(sender, frames.get(false), &mut delivery);
                }
            }
        }
        Ok(delivery)
    }

    /// Queues one frame for one client; a full queue cuts the client off.
    pub(crate) fn push_to(
        &self,
        room: Room,
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
        room: Room,
        except: Option<&str>,
        frame: &Message,
        delivery: &mut Delivery,
    ) {
        for (key, peer) in self.room(room) {
            if !peer.info.legacy && except != Some(key.as_ref()) {
                push(peer, frame.clone(), delivery);
            }
        }
    }
}

/// One chat message's outgoing frames, encoded on first use and then shared.
struct Frames<'a> {
    room: Room,
    from: &'a str,
    to: &'a Recipient,
    text: &'a str,
    now_ms: u64,
    legacy: Option<Message>,
    json: Option<Message>,
}

impl Frames<'_> {
    fn get(&mut self, legacy: bool) -> Message {
        let frame = if legacy {
            self.legacy.get_or_insert_with(|| {
                Message::text(match self.room {
                    Room::Broadcast => protocol::legacy_broadcast(self.text),
                    Room::Direct => self.text.to_owned(),
                })
            })
        } else {
            self.json.get_or_insert_with(|| {
                Message::text(
                    ServerMessage::Message(ChatMessage {
                        from: self.from.to_owned(),
                        to: self.to.clone(),
                        text: self.text.to_owned(),
                        ts: self.now_ms,
                    })
                    .encode(),
                )
            })
        };
        frame.clone()
    }
}

fn push(peer: &Peer, frame: Message, delivery: &mut Delivery) {
    match peer.outbox.try_send(frame) {
        Ok(()) => delivery.delivered += 1,
        Err(mpsc::error::TrySendError::Full(_)) => {
            if !peer.kill.token.is_cancelled() {
                delivery.dropped_slow += 1;
                peer.kill
                    .fire(CloseCode::Again, "too slow: messages were not being read");
            }
        }
        // The connection is already ending.
        Err(mpsc::error::TrySendError::Closed(_)) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Client {
        rx: mpsc::Receiver<Message>,
        kill: Arc<KillSwitch>,
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

    fn join(peers: &mut Peers, room: Room, legacy: bool, name: Option<&str>) -> Client {
        join_with_queue(peers, room, legacy, name, 16)
    }

    fn join_with_queue(
        peers: &mut Peers,
        room: Room,
        legacy: bool,
        name: Option<&str>,
        queue: usize,
    ) -> Client {
        let (tx, rx) = mpsc::channel(queue);
        let kill = Arc::new(KillSwitch::default());
        let (joined, _) = peers.join(room, legacy, name, tx, Arc::clone(&kill), 7);
        Client {
            rx,
            kill,
            peer_id: joined.peer_id,
        }
    }

    #[test]
    fn ids_count_up_and_are_never_reused() {
        let mut peers = Peers::default();
        let mut a = join(&mut peers, Room::Direct, true, None);
        let b = join(&mut peers, Room::Direct, true, None);
        assert_eq!(a.peer_id, "client0");
        assert_eq!(b.peer_id, "client1");
        assert_eq!(a.texts(), ["Your ID is: client0"]);
        peers.leave(Room::Direct, "client0");
        let c = join(&mut peers, Room::Direct, true, None);
        assert_eq!(c.peer_id, "client2");
    }

    #[test]
    fn legacy_direct_delivers_text_only_to_recipient() {
        let mut peers = Peers::default();
        let mut a = join(&mut peers, Room::Direct, true, None);
        let mut b = join(&mut peers, Room::Direct, true, None);
        a.texts();
        b.texts();
        peers
            .route(
                Room::Direct,
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
        let _a = join(&mut peers, Room::Direct, true, None);
        assert_eq!(
            peers.route(
                Room::Direct,
                "client0",
                Recipient::Client("x".into()),
                "t",
                1
            ),
            Err(RouteError::UnknownRecipient("x".into()))
        );
        assert!(peers.set_muted("client0", true));
        assert_eq!(
            peers.route(Room::Direct, "client0", Recipient::Everyone, "t", 1),
            Err(RouteError::Muted)
        );
    }

    #[test]
    fn broadcast_reaches_everyone_in_each_form() {
        let mut peers = Peers::default();
        let mut legacy = join(&mut peers, Room::Broadcast, true, None);
        let mut modern = join(&mut peers, Room::Broadcast, false, Some("花子"));
        let mut other_room = join(&mut peers, Room::Direct, true, None);
        legacy.texts();
        modern.texts();
        other_room.texts();
        peers
            .route(Room::Broadcast, "client0", Recipient::Everyone, "hi", 5)
            .unwrap();
        assert_eq!(legacy.texts(), ["The server return anyone's message: hi"]);
        let got = modern.texts();
        assert_eq!(got.len(), 1);
        assert_eq!(
            ServerMessage::parse(&got[0]).unwrap(),
            ServerMessage::Message(ChatMessage {
                from: "client0".into(),
                to: Recipient::Everyone,
                text: "hi".into(),
                ts: 5
            })
        );
        assert!(other_room.texts().is_empty());
    }

    #[test]
    fn extended_sender_gets_confirmation_and_roster_events() {
        let mut peers = Peers::default();
        let mut a = join(&mut peers, Room::Direct, false, Some("a"));
        let welcome = a.texts();
        assert!(welcome[0].contains(r#""type":"welcome""#));
        let mut b = join(&mut peers, Room::Direct, false, Some("a"));
        assert_eq!(b.peer_id, "client0");
        let b_frames = b.texts();
        assert!(b_frames[1].contains("name_taken"), "{b_frames:?}");
        assert!(a.texts()[0].contains(r#""type":"joined""#));
        peers
            .route(
                Room::Direct,
                "a",
                Recipient::Client("client0".into()),
                "x",
                1,
            )
            .unwrap();
        assert_eq!(a.texts().len(), 1);
        assert_eq!(b.texts().len(), 1);
        peers.leave(Room::Direct, "client0");
        assert!(a.texts()[0].contains(r#""type":"left""#));
    }

    #[test]
    fn full_outbox_cuts_off_only_that_client() {
        let mut peers = Peers::default();
        let mut fast = join(&mut peers, Room::Broadcast, true, None);
        let slow = join_with_queue(&mut peers, Room::Broadcast, true, None, 2);
        for i in 0..3 {
            let d = peers
                .route(Room::Broadcast, "client0", Recipient::Everyone, "m", i)
                .unwrap();
            assert_eq!(d.dropped_slow, u64::from(i == 2));
            assert_eq!(fast.texts().len(), 1);
        }
        assert!(slow.kill.token.is_cancelled());
        assert_eq!(slow.kill.reason().unwrap().code, CloseCode::Again);
    }

    #[test]
    fn kick_fires_policy_close() {
        let mut peers = Peers::default();
        let a = join(&mut peers, Room::Direct, false, None);
        assert!(peers.kick("client0"));
        assert!(!peers.kick("nobody"));
        assert_eq!(a.kill.reason().unwrap().code, CloseCode::Policy);
        assert_eq!(
            peers.roster().len(),
            1,
            "kicked clients leave when their task ends"
        );
    }
}
