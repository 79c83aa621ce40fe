//! What the relays of a cluster say to each other through NATS: the subjects, streams and
//! buckets they use, and the JSON on them. Pure: no I/O.
//!
//! Every name carries the chat's name (`--cluster-chat`, default `main`), so several chats
//! share one NATS server without meeting:
//!
//! - `classchat.<chat>.<room>.msg` (JetStream streams `CLASSCHAT_<chat>_BROADCAST` and
//!   `…_DIRECT`): every accepted chat message, as [`Published`]. The stream's sequence is the
//!   room's `seq`.
//! - `classchat.<chat>.presence` (plain NATS): [`Presence`], each relay's clients, as they come
//!   and go and once a second in full.
//! - `classchat.<chat>.control` (plain NATS): [`Control`], a classroom control (modes,
//!   moderation, hands, polls, votes, the pin), applied on every relay.
//! - `classchat.<chat>.classroom` (plain NATS request): a relay that starts asks the others
//!   for the classroom as it stands; one answers with it whole (the relay's `Classroom`, as
//!   JSON).
//! - Key-value buckets `classchat_<chat>_names` (who holds each ID, [`NameClaim`]),
//!   `…_sessions` (each resume token's ID and room, [`SessionRecord`]) and `…_state` (the
//!   chat's epoch and the next free block of generated IDs).

use serde::{Deserialize, Serialize};

use crate::protocol::{ChatMessage, ClientInfo, ClientMessage, Endpoint};

/// The key of the chat's epoch in the state bucket.
pub(super) const EPOCH_KEY: &str = "epoch";
/// The key of the first generated-ID number no relay has taken yet, in the state bucket.
pub(super) const NEXT_ID_KEY: &str = "next-id";

/// Whether `chat` can name a chat: 1 to 32 ASCII letters, digits, `-` or `_` (it becomes
/// part of subjects, stream and bucket names).
pub(super) fn valid_chat_name(chat: &str) -> bool {
    (1..=32).contains(&chat.len())
        && chat
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The NATS names of one chat.
#[derive(Clone, Debug)]
pub(super) struct Names {
    chat: String,
}

impl Names {
    /// The names of the chat `chat` (see [`valid_chat_name`]).
    pub(super) fn new(chat: &str) -> Self {
        Self {
            chat: chat.to_owned(),
        }
    }

    /// The JetStream stream holding `room`'s messages.
    pub(super) fn stream(&self, room: Room) -> String {
        let room = match room {
            Room::Broadcast => "BROADCAST",
            Room::Direct => "DIRECT",
        };
        format!("CLASSCHAT_{}_{room}", self.chat)
    }

    /// The subject `room`'s messages are published on.
    pub(super) fn subject(&self, room: Room) -> String {
        let room = match room {
            Room::Broadcast => "broadcast",
            Room::Direct => "direct",
        };
        format!("classchat.{}.{room}.msg", self.chat)
    }

    /// The subject relays announce their clients on.
    pub(super) fn presence(&self) -> String {
        format!("classchat.{}.presence", self.chat)
    }

    /// The subject classroom controls travel on.
    pub(super) fn control(&self) -> String {
        format!("classchat.{}.control", self.chat)
    }

    /// The subject a starting relay asks the others for the classroom on.
    pub(super) fn classroom(&self) -> String {
        format!("classchat.{}.classroom", self.chat)
    }

    /// The bucket `what` (`names`: who holds each ID, keyed by [`name_key`]; `sessions`: each
    /// session's ID and room, keyed by its resume token; `state`: the epoch and ID counter).
    pub(super) fn bucket(&self, what: &str) -> String {
        format!("classchat_{}_{what}", self.chat)
    }
}

/// A room (an endpoint) as the cluster names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum Room {
    /// The broadcast path.
    Broadcast,
    /// The addressed path.
    Direct,
}

impl Room {
    /// Both rooms.
    pub(super) const ALL: [Room; 2] = [Room::Broadcast, Room::Direct];

    /// Its place in per-room arrays.
    pub(super) fn index(self) -> usize {
        match self {
            Self::Broadcast => 0,
            Self::Direct => 1,
        }
    }
}

impl From<Endpoint> for Room {
    fn from(endpoint: Endpoint) -> Self {
        match endpoint {
            Endpoint::Broadcast => Self::Broadcast,
            Endpoint::Direct => Self::Direct,
        }
    }
}

impl From<Room> for Endpoint {
    fn from(room: Room) -> Self {
        match room {
            Room::Broadcast => Self::Broadcast,
            Room::Direct => Self::Direct,
        }
    }
}

/// A chat message one relay accepted, as every relay reads it from the room's stream.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Published {
    /// The message, without its `seq` (the stream gives it).
    #[serde(flatten)]
    pub message: ChatMessage,
    /// Whether its sender speaks the seed's text (`None`: the host's window).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender_legacy: Option<bool>,
    /// The relay that accepted it.
    pub relay: String,
}

/// One client of a relay, in a presence message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Member {
    /// Its room.
    pub room: Room,
    /// Its roster line.
    pub client: ClientInfo,
}

/// What a relay says about its clients. `version` counts the changes to them, so that a
/// message older than what a relay already applied is ignored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(super) enum Presence {
    /// The relay is alive, and these are all its clients (once a second).
    Alive {
        /// The relay's ID.
        relay: String,
        /// Its roster's version.
        version: u64,
        /// Everyone connected to it; left out when the list would not fit in one NATS
        /// message, and then the joins and leaves alone keep the rosters.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        members: Option<Vec<Member>>,
    },
    /// A client joined the relay.
    Joined {
        /// The relay's ID.
        relay: String,
        /// Its roster's version after the join.
        version: u64,
        /// Who joined.
        member: Member,
    },
    /// A client left the relay.
    Left {
        /// The relay's ID.
        relay: String,
        /// Its roster's version after the leave.
        version: u64,
        /// The room it left.
        room: Room,
        /// Its ID.
        id: String,
    },
    /// The relay is stopping.
    Bye {
        /// The relay's ID.
        relay: String,
    },
}

impl Presence {
    /// The relay it is about.
    pub(super) fn relay(&self) -> &str {
        match self {
            Self::Alive { relay, .. }
            | Self::Joined { relay, .. }
            | Self::Left { relay, .. }
            | Self::Bye { relay } => relay,
        }
    }
}

/// A classroom control that one relay applied, for the others to apply too.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Control {
    /// The relay the client who gave it is connected to.
    pub relay: String,
    /// What the client sent; a hand always names its owner (`id`).
    pub message: ClientMessage,
    /// For a vote: the voter's ID (one vote per person, by its comparison key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voter: Option<String>,
    /// For a raised hand: when it went up, so that every relay queues it in the same place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<u64>,
    /// For a poll: the number the opening relay gave it, so that one poll has one number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub poll: Option<u64>,
}

impl Control {
    /// Whether `message` is carried to every relay: every classroom control (modes, mute,
    /// removal, readmission, hands, polls, votes and the pin); a chat message is not one.
    pub(super) fn carried(message: &ClientMessage) -> bool {
        !matches!(message, ClientMessage::Send { .. })
    }
}

/// Who holds an ID: the relay its client is connected to, and the client's session (empty for
/// a seed client), which may take the ID over on another relay when it resumes there.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct NameClaim {
    /// The relay's ID.
    pub relay: String,
    /// The session's resume token, or empty.
    pub token: String,
}

/// A session as the cluster remembers it, so that it resumes on any relay.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct SessionRecord {
    /// Its ID.
    pub id: String,
    /// Its room.
    pub room: Room,
}

/// The key of an ID in the names bucket: its comparison key ([`crate::names::key`]) in
/// hexadecimal, since bucket keys allow only a few ASCII characters.
pub(super) fn name_key(peer_id: &str) -> String {
    crate::names::key(peer_id)
        .bytes()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Recipient;

    #[test]
    fn each_chat_has_names_of_its_own() {
        let names = Names::new("math-7b");
        assert_eq!(names.stream(Room::Direct), "CLASSCHAT_math-7b_DIRECT");
        assert_eq!(
            names.subject(Room::Broadcast),
            "classchat.math-7b.broadcast.msg"
        );
        assert_eq!(names.bucket("names"), "classchat_math-7b_names");
        assert!(valid_chat_name("math-7b"));
        for bad in ["", "a.b", "a b", "数学", "*", &"x".repeat(33)] {
            assert!(!valid_chat_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn names_differing_in_case_or_width_share_a_key_of_plain_ascii() {
        assert_eq!(name_key("Ana"), name_key("ana"));
        assert_eq!(name_key("ＡＮＡ"), name_key("ana"));
        let key = name_key("さくら");
        assert!(key.bytes().all(|b| b.is_ascii_hexdigit()), "{key}");
    }

    #[test]
    fn a_published_message_reads_back_as_written() {
        let mut message = ChatMessage::new("ana", Recipient::Client("bo".into()), "hi", 5);
        message.client_id = Some("7".into());
        let published = Published {
            message,
            sender_legacy: Some(false),
            relay: "r1".into(),
        };
        let json = serde_json::to_string(&published).unwrap();
        assert_eq!(serde_json::from_str::<Published>(&json).unwrap(), published);
    }

    #[test]
    fn presence_messages_name_their_relay() {
        let bye = Presence::Bye { relay: "r2".into() };
        let json = serde_json::to_string(&bye).unwrap();
        assert_eq!(json, r#"{"type":"bye","relay":"r2"}"#);
        assert_eq!(
            serde_json::from_str::<Presence>(&json).unwrap().relay(),
            "r2"
        );
    }
}
