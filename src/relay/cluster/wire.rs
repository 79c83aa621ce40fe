//! What the relays of a cluster say to each other through NATS: the subjects, streams and
//! buckets they use, and the JSON on them. Pure: no I/O.
//!
//! - `classchat.<room>.msg` (JetStream streams `CLASSCHAT_BROADCAST`, `CLASSCHAT_DIRECT`): every
//!   accepted chat message, as [`Published`]. The stream's sequence is the room's `seq`.
//! - `classchat.presence` (plain NATS): [`Presence`], each relay's clients, as they come and
//!   go and once a second in full.
//! - Key-value buckets: `classchat_names` (who holds each ID, [`NameClaim`]),
//!   `classchat_sessions` (each resume token's ID and room, [`SessionRecord`]) and
//!   `classchat_state` (the cluster's epoch and the next free block of generated IDs).

use serde::{Deserialize, Serialize};

use crate::protocol::{ChatMessage, ClientInfo, Endpoint};

/// The subject relays announce their clients on.
pub(super) const PRESENCE_SUBJECT: &str = "classchat.presence";
/// Who holds each ID, keyed by [`name_key`].
pub(super) const NAMES_BUCKET: &str = "classchat_names";
/// Each session's ID and room, keyed by its resume token.
pub(super) const SESSIONS_BUCKET: &str = "classchat_sessions";
/// The cluster's epoch and ID counter.
pub(super) const STATE_BUCKET: &str = "classchat_state";
/// The key of the cluster's epoch in [`STATE_BUCKET`].
pub(super) const EPOCH_KEY: &str = "epoch";
/// The key of the first generated-ID number no relay has taken yet, in [`STATE_BUCKET`].
pub(super) const NEXT_ID_KEY: &str = "next-id";

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

    /// The JetStream stream holding the room's messages.
    pub(super) fn stream(self) -> &'static str {
        match self {
            Self::Broadcast => "CLASSCHAT_BROADCAST",
            Self::Direct => "CLASSCHAT_DIRECT",
        }
    }

    /// The subject its messages are published on.
    pub(super) fn subject(self) -> &'static str {
        match self {
            Self::Broadcast => "classchat.broadcast.msg",
            Self::Direct => "classchat.direct.msg",
        }
    }

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
        /// Everyone connected to it.
        members: Vec<Member>,
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

/// The key of an ID in [`NAMES_BUCKET`]: its comparison key ([`crate::names::key`]) in
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
