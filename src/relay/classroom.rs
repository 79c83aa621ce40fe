//! The teacher's controls of the room: who students may write to, the raised hands, the quick
//! poll and the pinned message.
//!
//! [`Classroom`] is pure state with no I/O and no idea who is connected: `peers` asks it
//! whether a message may go, changes it on a host's control message, and sends the notices it
//! builds (`room`, `hands`, `poll`, `tally`, `poll_result`, `pinned`) to the right clients.
//! One classroom spans both paths of a relay: a class is everyone connected to it.
//!
//! Try it: `cargo test --lib relay::classroom`.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::protocol::{RaisedHand, Role, RoomModes, ServerMessage};

/// Who a student's message is for, as far as the room's modes care.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Audience {
    /// Everyone in the room (`*`, or anything in the broadcast room).
    Everyone,
    /// A host, privately.
    Host,
    /// Another student, privately.
    Student,
}

/// Why the room's modes refused a student's message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NotAllowed {
    /// `student_broadcast` is off.
    #[error("the host has turned off messages from students to everyone")]
    Broadcast,
    /// `student_private` is off.
    #[error("the host has turned off private messages between students")]
    Private,
}

/// Why a vote or a poll's closing was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PollError {
    /// No poll with that number is open.
    #[error("poll {0} is not open")]
    NotOpen(u64),
    /// The option's index is past the poll's options.
    #[error("poll {poll} has no option {option}")]
    NoSuchOption {
        /// The poll.
        poll: u64,
        /// The index asked for.
        option: usize,
    },
}

/// The open poll.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Poll {
    number: u64,
    question: String,
    options: Vec<String>,
    /// Each voter's choice, by the comparison key of their name: one vote per person, and a
    /// person who reconnects under the same name keeps theirs.
    votes: HashMap<String, usize>,
}

impl Poll {
    fn counts(&self) -> Vec<u32> {
        let mut counts = vec![0_u32; self.options.len()];
        for &option in self.votes.values() {
            if let Some(count) = counts.get_mut(option) {
                *count = count.saturating_add(1);
            }
        }
        counts
    }

    fn announcement(&self) -> ServerMessage {
        ServerMessage::Poll {
            poll: self.number,
            question: self.question.clone(),
            options: self.options.clone(),
        }
    }

    fn tally(&self) -> ServerMessage {
        ServerMessage::Tally {
            poll: self.number,
            counts: self.counts(),
            voters: u32::try_from(self.votes.len()).unwrap_or(u32::MAX),
        }
    }

    fn result(self) -> ServerMessage {
        ServerMessage::PollResult {
            poll: self.number,
            counts: self.counts(),
            question: Some(self.question),
            options: Some(self.options),
        }
    }
}

/// The room's modes, hands, poll and pin. A relay of a cluster sends it whole (as JSON) to a
/// relay that starts later.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct Classroom {
    modes: RoomModes,
    /// Raised hands, oldest first.
    hands: Vec<RaisedHand>,
    poll: Option<Poll>,
    /// Polls opened so far: the next one is number `polls_opened + 1`.
    polls_opened: u64,
    /// The pinned text; empty when nothing is pinned.
    pin: String,
}

impl Classroom {
    /// The current modes.
    pub(crate) fn modes(&self) -> RoomModes {
        self.modes
    }

    /// Changes the modes given; returns whether anything changed.
    pub(crate) fn set_modes(
        &mut self,
        student_broadcast: Option<bool>,
        student_private: Option<bool>,
    ) -> bool {
        let before = self.modes;
        self.modes.student_broadcast = student_broadcast.unwrap_or(before.student_broadcast);
        self.modes.student_private = student_private.unwrap_or(before.student_private);
        self.modes != before
    }

    /// The `room` notice.
    pub(crate) fn room(&self) -> ServerMessage {
        ServerMessage::Room(self.modes)
    }

    /// Whether someone in `role` may write to `audience`. Hosts always may; students as the
    /// modes say.
    pub(crate) fn may_send(&self, role: Role, audience: Audience) -> Result<(), NotAllowed> {
        match (role, audience) {
            (Role::Host, _) | (Role::Student, Audience::Host) => Ok(()),
            (Role::Student, Audience::Everyone) if !self.modes.student_broadcast => {
                Err(NotAllowed::Broadcast)
            }
            (Role::Student, Audience::Student) if !self.modes.student_private => {
                Err(NotAllowed::Private)
            }
            (Role::Student, _) => Ok(()),
        }
    }

    /// Raises `peer_id`'s hand, keeping its place (and time) if it is already up. Returns
    /// whether the queue changed.
    pub(crate) fn raise_hand(&mut self, peer_id: &str, since: u64) -> bool {
        if self.hand(peer_id).is_some() {
            return false;
        }
        // Keep the queue in time order even when a resumed hand comes back with an old time.
        let at = self.hands.partition_point(|h| h.since <= since);
        self.hands.insert(
            at,
            RaisedHand {
                id: peer_id.to_owned(),
                since,
            },
        );
        true
    }

    /// Lowers `peer_id`'s hand. Returns when it went up, if it was up.
    pub(crate) fn lower_hand(&mut self, peer_id: &str) -> Option<u64> {
        let at = self.hands.iter().position(|h| h.id == peer_id)?;
        Some(self.hands.remove(at).since)
    }

    /// When `peer_id`'s hand went up, if it is up.
    pub(crate) fn hand(&self, peer_id: &str) -> Option<u64> {
        self.hands.iter().find(|h| h.id == peer_id).map(|h| h.since)
    }

    /// The `hands` notice, for hosts.
    pub(crate) fn hands(&self) -> ServerMessage {
        ServerMessage::Hands {
            queue: self.hands.clone(),
        }
    }

    /// Opens a new poll with the next number. An open poll is closed first: its result is
    /// returned along with the new poll's announcement.
    pub(crate) fn open_poll(
        &mut self,
        question: String,
        options: Vec<String>,
    ) -> (Option<ServerMessage>, ServerMessage) {
        self.start_poll(self.polls_opened + 1, question, options)
    }

    /// Opens poll `number`, as another relay of the cluster numbered it, closing the open one
    /// first as [`open_poll`](Self::open_poll) does. Nothing happens (`None`) for a number
    /// already opened here, so that one poll heard twice opens once.
    pub(crate) fn open_numbered(
        &mut self,
        number: u64,
        question: String,
        options: Vec<String>,
    ) -> Option<(Option<ServerMessage>, ServerMessage)> {
        (number > self.polls_opened).then(|| self.start_poll(number, question, options))
    }

    fn start_poll(
        &mut self,
        number: u64,
        question: String,
        options: Vec<String>,
    ) -> (Option<ServerMessage>, ServerMessage) {
        let closed = self.poll.take().map(Poll::result);
        self.polls_opened = number;
        let poll = Poll {
            number,
            question,
            options,
            votes: HashMap::new(),
        };
        let announcement = poll.announcement();
        self.poll = Some(poll);
        (closed, announcement)
    }

    /// The open poll's number, if one is open.
    pub(crate) fn poll_number(&self) -> Option<u64> {
        self.poll.as_ref().map(|p| p.number)
    }

    /// Records `voter`'s choice (a name's comparison key) in poll `number`, replacing any
    /// earlier one. Returns the new `tally`.
    pub(crate) fn vote(
        &mut self,
        number: u64,
        voter: String,
        option: usize,
    ) -> Result<ServerMessage, PollError> {
        let poll = self.open(number)?;
        if option >= poll.options.len() {
            return Err(PollError::NoSuchOption {
                poll: number,
                option,
            });
        }
        poll.votes.insert(voter, option);
        Ok(poll.tally())
    }

    /// Closes poll `number`. Returns its `poll_result`.
    pub(crate) fn close_poll(&mut self, number: u64) -> Result<ServerMessage, PollError> {
        self.open(number)?;
        self.poll
            .take()
            .map(Poll::result)
            .ok_or(PollError::NotOpen(number))
    }

    fn open(&mut self, number: u64) -> Result<&mut Poll, PollError> {
        self.poll
            .as_mut()
            .filter(|p| p.number == number)
            .ok_or(PollError::NotOpen(number))
    }

    /// The open poll's announcement, for a client that joins while it is open.
    pub(crate) fn poll(&self) -> Option<ServerMessage> {
        self.poll.as_ref().map(Poll::announcement)
    }

    /// The open poll's `tally`, for a host that joins while it is open.
    pub(crate) fn tally(&self) -> Option<ServerMessage> {
        self.poll.as_ref().map(Poll::tally)
    }

    /// Pins `text` (empty: unpins). Returns whether it changed.
    pub(crate) fn pin(&mut self, text: String) -> bool {
        if self.pin == text {
            return false;
        }
        self.pin = text;
        true
    }

    /// The `pinned` notice, whatever is pinned (an empty text says nothing is).
    pub(crate) fn pinned(&self) -> ServerMessage {
        ServerMessage::Pinned {
            text: self.pin.clone(),
        }
    }

    /// Whether a message is pinned, so that a joining client is told.
    pub(crate) fn has_pin(&self) -> bool {
        !self.pin.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queue(room: &Classroom) -> Vec<(String, u64)> {
        match room.hands() {
            ServerMessage::Hands { queue } => queue.into_iter().map(|h| (h.id, h.since)).collect(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn modes_decide_what_students_may_send_and_hosts_may_send_anything() {
        let mut room = Classroom::default();
        for audience in [Audience::Everyone, Audience::Host, Audience::Student] {
            assert_eq!(room.may_send(Role::Student, audience), Ok(()));
        }
        assert!(room.set_modes(Some(false), None));
        assert!(!room.set_modes(Some(false), None), "no change");
        assert_eq!(
            room.may_send(Role::Student, Audience::Everyone),
            Err(NotAllowed::Broadcast)
        );
        assert_eq!(room.may_send(Role::Student, Audience::Student), Ok(()));
        room.set_modes(None, Some(false));
        assert_eq!(
            room.may_send(Role::Student, Audience::Student),
            Err(NotAllowed::Private)
        );
        assert_eq!(room.may_send(Role::Student, Audience::Host), Ok(()));
        for audience in [Audience::Everyone, Audience::Host, Audience::Student] {
            assert_eq!(room.may_send(Role::Host, audience), Ok(()));
        }
        assert_eq!(
            room.room(),
            ServerMessage::Room(RoomModes {
                student_broadcast: false,
                student_private: false
            })
        );
    }

    #[test]
    fn hands_queue_oldest_first_and_keep_their_place() {
        let mut room = Classroom::default();
        assert!(room.raise_hand("b", 20));
        assert!(room.raise_hand("a", 10), "an older hand coming back");
        assert!(room.raise_hand("c", 30));
        assert!(!room.raise_hand("b", 40), "already up: keeps its place");
        assert_eq!(
            queue(&room),
            [("a".into(), 10), ("b".into(), 20), ("c".into(), 30)]
        );
        assert_eq!(room.lower_hand("b"), Some(20));
        assert_eq!(room.lower_hand("b"), None);
        assert_eq!(room.hand("c"), Some(30));
        assert_eq!(queue(&room), [("a".into(), 10), ("c".into(), 30)]);
    }

    #[test]
    fn one_vote_per_person_changeable_until_closed() {
        let mut room = Classroom::default();
        let (closed, poll) = room.open_poll("Day?".into(), vec!["Mon".into(), "Tue".into()]);
        assert_eq!(closed, None);
        assert!(matches!(poll, ServerMessage::Poll { poll: 1, .. }));
        room.vote(1, "hanako".into(), 0).unwrap();
        let tally = room.vote(1, "hanako".into(), 1).unwrap();
        assert_eq!(
            tally,
            ServerMessage::Tally {
                poll: 1,
                counts: vec![0, 1],
                voters: 1
            }
        );
        room.vote(1, "taro".into(), 1).unwrap();
        assert_eq!(
            room.vote(1, "taro".into(), 2),
            Err(PollError::NoSuchOption { poll: 1, option: 2 })
        );
        assert_eq!(room.vote(2, "taro".into(), 0), Err(PollError::NotOpen(2)));
        assert_eq!(room.close_poll(2), Err(PollError::NotOpen(2)));
        let result = room.close_poll(1).unwrap();
        assert!(
            matches!(&result, ServerMessage::PollResult { poll: 1, counts, .. } if counts == &[0, 2])
        );
        assert_eq!(room.vote(1, "late".into(), 0), Err(PollError::NotOpen(1)));
        assert_eq!(room.poll(), None);
    }

    #[test]
    fn a_new_poll_closes_the_open_one_and_numbers_count_up() {
        let mut room = Classroom::default();
        room.open_poll("A?".into(), vec!["x".into(), "y".into()]);
        room.vote(1, "k".into(), 1).unwrap();
        let (closed, poll) = room.open_poll("B?".into(), vec!["x".into(), "y".into()]);
        assert!(
            matches!(closed, Some(ServerMessage::PollResult { poll: 1, counts, .. }) if counts == [0, 1])
        );
        assert!(matches!(poll, ServerMessage::Poll { poll: 2, .. }));
        assert_eq!(
            room.tally(),
            Some(ServerMessage::Tally {
                poll: 2,
                counts: vec![0, 0],
                voters: 0
            })
        );
    }

    #[test]
    fn a_poll_numbered_elsewhere_opens_once_and_numbering_goes_on_from_it() {
        let mut room = Classroom::default();
        let (closed, poll) = room
            .open_numbered(3, "A?".into(), vec!["x".into(), "y".into()])
            .unwrap();
        assert_eq!(closed, None);
        assert!(matches!(poll, ServerMessage::Poll { poll: 3, .. }));
        room.vote(3, "k".into(), 0).unwrap();
        assert!(
            room.open_numbered(3, "A?".into(), vec!["x".into(), "y".into()])
                .is_none(),
            "heard twice"
        );
        assert_eq!(room.poll_number(), Some(3), "votes kept");
        let (closed, poll) = room.open_poll("B?".into(), vec!["x".into(), "y".into()]);
        assert!(matches!(
            closed,
            Some(ServerMessage::PollResult { poll: 3, .. })
        ));
        assert!(matches!(poll, ServerMessage::Poll { poll: 4, .. }));
    }

    #[test]
    fn the_whole_classroom_reads_back_as_written() {
        let mut room = Classroom::default();
        room.set_modes(Some(false), None);
        room.raise_hand("ana", 7);
        room.open_poll("Q?".into(), vec!["x".into(), "y".into()]);
        room.vote(1, "bo".into(), 1).unwrap();
        room.pin("p.12".into());
        let json = serde_json::to_string(&room).unwrap();
        let back: Classroom = serde_json::from_str(&json).unwrap();
        assert_eq!(back.modes(), room.modes());
        assert_eq!(back.hands(), room.hands());
        assert_eq!(back.tally(), room.tally());
        assert_eq!(back.pinned(), room.pinned());
    }

    #[test]
    fn pin_and_unpin() {
        let mut room = Classroom::default();
        assert!(!room.has_pin());
        assert!(room.pin("課題: p.12".into()));
        assert!(!room.pin("課題: p.12".into()), "unchanged");
        assert!(room.has_pin());
        assert!(room.pin(String::new()));
        assert_eq!(
            room.pinned(),
            ServerMessage::Pinned {
                text: String::new()
            }
        );
        assert!(!room.has_pin());
    }
}
