//! The classroom as plain data: the room's modes, the raised hands, the poll, the pinned
//! message, this window's own hand and vote, and the host's drafts of a poll and a pin. No egui
//! here: the host's controls and the student's cards are in
//! [`classroom_panel`](super::classroom_panel).
//!
//! [`Classroom::handle`] takes the relay's news and says what to write in the log;
//! [`Classroom::control`] turns a user's [`Action`] into the control message to send.

use std::time::{Duration, Instant};

use super::log::Note;
use crate::bridge::{
    Classroom as News, ClientMessage, JournalRecord, MAX_POLL_OPTIONS, MIN_POLL_OPTIONS,
    RaisedHand, RoomModes,
};

/// How long the cue for a newly raised hand pulses.
pub const HAND_CUE: Duration = Duration::from_secs(8);

/// A classroom action of the user, as data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Host: set the room's modes.
    SetModes(RoomModes),
    /// Raise (`true`) or lower this window's own hand.
    RaiseHand(bool),
    /// Host: lower someone's hand.
    LowerHand(String),
    /// Host: open the poll in the draft.
    OpenPoll,
    /// Host: close the open poll.
    ClosePoll,
    /// Vote for this option of the open poll.
    Vote(usize),
    /// Host: pin the draft's text.
    Pin,
    /// Host: remove the pinned message.
    Unpin,
    /// Host: remove someone (kept out until readmitted).
    Kick(String),
    /// Host: mute or unmute someone.
    SetMuted(String, bool),
}

/// A poll as this window knows it: open, or closed with its result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Poll {
    /// Its number on the relay.
    pub poll: u64,
    /// The question.
    pub question: String,
    /// The answers.
    pub options: Vec<String>,
    /// Votes per answer: the live tally (hosts) or the result; `None` until known.
    pub counts: Option<Vec<u32>>,
    /// How many people voted, while it is open (hosts).
    pub voters: Option<u32>,
    /// Closed: `counts` is the result.
    pub closed: bool,
    /// What this window voted for.
    pub my_vote: Option<usize>,
}

impl Poll {
    /// The most votes any answer has (at least 1, to scale bars).
    pub fn max_count(&self) -> u32 {
        self.counts
            .as_ref()
            .and_then(|c| c.iter().copied().max())
            .unwrap_or(0)
            .max(1)
    }

    /// Votes for answer `index` (0 while unknown).
    pub fn count(&self, index: usize) -> u32 {
        self.counts
            .as_ref()
            .and_then(|c| c.get(index).copied())
            .unwrap_or(0)
    }
}

/// What the host types before opening a poll or pinning.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Drafts {
    /// The poll's question.
    pub question: String,
    /// The poll's answers (between the fewest and most a poll may have).
    pub options: Vec<String>,
    /// The text to pin.
    pub pin: String,
}

impl Default for Drafts {
    fn default() -> Self {
        Self {
            question: String::new(),
            options: vec![String::new(); MIN_POLL_OPTIONS],
            pin: String::new(),
        }
    }
}

impl Drafts {
    /// The poll to open, once the question and at least two answers are filled in (blank
    /// answer fields are left out).
    pub fn poll(&self) -> Option<(String, Vec<String>)> {
        let question = self.question.trim();
        let options: Vec<String> = self
            .options
            .iter()
            .map(|o| o.trim())
            .filter(|o| !o.is_empty())
            .map(str::to_owned)
            .collect();
        let enough = (MIN_POLL_OPTIONS..=MAX_POLL_OPTIONS).contains(&options.len());
        (!question.is_empty() && enough).then(|| (question.to_owned(), options))
    }
}

/// The room as the relay last described it, and this window's part in it.
#[derive(Clone, Debug, Default)]
pub struct Classroom {
    /// Who students may write to.
    pub modes: RoomModes,
    /// Raised hands, oldest first (hosts only receive them).
    pub hands: Vec<RaisedHand>,
    /// When the newest hand went up, for the cue.
    pub new_hand_at: Option<Instant>,
    /// This window's own hand is up.
    pub hand_up: bool,
    /// The own hand before the connection dropped: a resumed session finds it up again.
    hand_before_drop: bool,
    /// The open poll, or the last one with its result.
    pub poll: Option<Poll>,
    /// The pinned message (empty: none).
    pub pinned: String,
    /// The host's drafts.
    pub drafts: Drafts,
    /// People this window's host muted (a joined host has no relay roster to ask).
    pub muted: Vec<String>,
}

impl Classroom {
    /// Whether the cue for a new hand is still on.
    pub fn hand_cue(&self) -> bool {
        self.new_hand_at.is_some_and(|at| at.elapsed() < HAND_CUE)
    }

    /// Takes the relay's news; what to write in the log, if anything.
    pub fn handle(&mut self, news: News) -> Option<Note> {
        match news {
            News::Modes(modes) => {
                let changed = modes != self.modes;
                self.modes = modes;
                changed.then_some(Note::Classroom(JournalRecord::Room {
                    student_broadcast: modes.student_broadcast,
                    student_private: modes.student_private,
                }))
            }
            News::Hands(queue) => {
                let raised = queue
                    .iter()
                    .any(|hand| !self.hands.iter().any(|h| h.id == hand.id));
                if raised {
                    self.new_hand_at = Some(Instant::now());
                }
                self.hands = queue;
                None
            }
            News::Poll {
                poll,
                question,
                options,
            } => {
                // A reconnect is sent the open poll again: keep the vote.
                if self.poll.as_ref().is_some_and(|p| p.poll == poll) {
                    return None;
                }
                let record = JournalRecord::Poll {
                    poll,
                    question: question.clone(),
                    options: options.clone(),
                };
                self.poll = Some(Poll {
                    poll,
                    question,
                    options,
                    counts: None,
                    voters: None,
                    closed: false,
                    my_vote: None,
                });
                Some(Note::Classroom(record))
            }
            News::Tally {
                poll,
                counts,
                voters,
            } => {
                if let Some(open) = self.poll.as_mut().filter(|p| p.poll == poll && !p.closed) {
                    open.counts = Some(counts);
                    open.voters = Some(voters);
                }
                None
            }
            News::PollResult {
                poll,
                counts,
                question,
                options,
            } => {
                let known = self.poll.take().filter(|p| p.poll == poll);
                if known.as_ref().is_some_and(|p| p.closed) {
                    self.poll = known;
                    return None;
                }
                let my_vote = known.as_ref().and_then(|p| p.my_vote);
                let (question, options) = match (question, options, known) {
                    (Some(q), Some(o), _) => (q, o),
                    (q, o, Some(p)) => (q.unwrap_or(p.question), o.unwrap_or(p.options)),
                    (q, o, None) => (q.unwrap_or_default(), o.unwrap_or_default()),
                };
                let record = JournalRecord::PollResult {
                    poll,
                    question: question.clone(),
                    options: options.clone(),
                    counts: counts.clone(),
                };
                self.poll = Some(Poll {
                    poll,
                    question,
                    options,
                    voters: None,
                    counts: Some(counts),
                    closed: true,
                    my_vote,
                });
                Some(Note::Classroom(record))
            }
            News::Pinned(text) => {
                if text == self.pinned {
                    return None;
                }
                self.pinned.clone_from(&text);
                Some(Note::Classroom(JournalRecord::Pinned { text }))
            }
            // The relay says where the own hand is: a host may have lowered it.
            News::OwnHand { up } => {
                self.hand_up = up;
                None
            }
        }
    }

    /// The control message for `action`, updating what this window shows at once (its own
    /// hand, its vote); `None` when there is nothing to send (no poll open, an empty draft).
    pub fn control(&mut self, action: Action) -> Option<ClientMessage> {
        Some(match action {
            Action::SetModes(modes) => ClientMessage::Room {
                student_broadcast: Some(modes.student_broadcast),
                student_private: Some(modes.student_private),
            },
            Action::RaiseHand(up) => {
                self.hand_up = up;
                ClientMessage::Hand { up, id: None }
            }
            Action::LowerHand(peer_id) => ClientMessage::Hand {
                up: false,
                id: Some(peer_id),
            },
            Action::OpenPoll => {
                let (question, options) = self.drafts.poll()?;
                self.drafts.question.clear();
                self.drafts.options = vec![String::new(); MIN_POLL_OPTIONS];
                ClientMessage::Poll { question, options }
            }
            Action::ClosePoll => {
                let poll = self.poll.as_ref().filter(|p| !p.closed)?.poll;
                ClientMessage::PollClose { poll }
            }
            Action::Vote(option) => {
                let open = self.poll.as_mut().filter(|p| !p.closed)?;
                open.my_vote = Some(option);
                ClientMessage::Vote {
                    poll: open.poll,
                    option,
                }
            }
            Action::Pin => {
                let text = self.drafts.pin.trim().to_owned();
                if text.is_empty() {
                    return None;
                }
                self.drafts.pin.clear();
                ClientMessage::Pin { text }
            }
            Action::Unpin => ClientMessage::Pin {
                text: String::new(),
            },
            Action::Kick(id) => ClientMessage::Kick { id },
            Action::SetMuted(id, muted) => {
                self.muted.retain(|m| *m != id);
                if muted {
                    self.muted.push(id.clone());
                }
                ClientMessage::Mute { id, muted }
            }
        })
    }

    /// A control message was not sent or was refused: undo what [`control`](Self::control)
    /// showed at once.
    pub fn undo(&mut self, message: &str) {
        match message {
            "hand" => self.hand_up = false,
            "vote" => {
                if let Some(poll) = &mut self.poll {
                    poll.my_vote = None;
                }
            }
            _ => {}
        }
    }

    /// The connection dropped: remember the own hand, which a resumed session gets back.
    pub fn connection_lost(&mut self) {
        if self.hand_up {
            self.hand_before_drop = true;
        }
        self.hand_up = false;
        self.hands.clear();
    }

    /// The relay continued the session (`recovered`) or could not: the own hand is up again
    /// only in a continued session.
    pub fn resumed(&mut self, recovered: bool) {
        self.hand_up = recovered && self.hand_before_drop;
        self.hand_before_drop = false;
    }
}

/// The `type` of a control message, as [`Event::Refused`](crate::bridge::Event)'s `about`
/// names it.
pub fn message_type(message: &ClientMessage) -> &'static str {
    match message {
        ClientMessage::Send { .. } => "send",
        ClientMessage::Room { .. } => "room",
        ClientMessage::Mute { .. } => "mute",
        ClientMessage::Kick { .. } => "kick",
        ClientMessage::Readmit { .. } => "readmit",
        ClientMessage::Hand { .. } => "hand",
        ClientMessage::Poll { .. } => "poll",
        ClientMessage::Vote { .. } => "vote",
        ClientMessage::PollClose { .. } => "poll_close",
        ClientMessage::Pin { .. } => "pin",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(classroom: &mut Classroom, poll: u64) -> Option<Note> {
        classroom.handle(News::Poll {
            poll,
            question: "次は?".into(),
            options: vec!["月".into(), "火".into()],
        })
    }

    #[test]
    fn a_vote_is_kept_when_the_open_poll_is_sent_again() {
        let mut classroom = Classroom::default();
        assert!(open(&mut classroom, 4).is_some());
        assert_eq!(
            classroom.control(Action::Vote(1)),
            Some(ClientMessage::Vote { poll: 4, option: 1 })
        );
        // A reconnect: the relay sends the open poll again; nothing new to log.
        assert!(open(&mut classroom, 4).is_none());
        assert_eq!(classroom.poll.as_ref().and_then(|p| p.my_vote), Some(1));
        let result = classroom.handle(News::PollResult {
            poll: 4,
            counts: vec![2, 3],
            question: None,
            options: None,
        });
        assert_eq!(
            result,
            Some(Note::Classroom(JournalRecord::PollResult {
                poll: 4,
                question: "次は?".into(),
                options: vec!["月".into(), "火".into()],
                counts: vec![2, 3],
            }))
        );
        // Closed: no more votes.
        assert_eq!(classroom.control(Action::Vote(0)), None);
    }

    #[test]
    fn a_new_hand_starts_the_cue_and_unchanged_modes_log_nothing() {
        let mut classroom = Classroom::default();
        assert!(!classroom.hand_cue());
        let hand = |id: &str| RaisedHand {
            id: id.into(),
            since: 1,
        };
        classroom.handle(News::Hands(vec![hand("花子")]));
        assert!(classroom.hand_cue());
        classroom.new_hand_at = None;
        // The same queue again, or a hand going down: no cue.
        classroom.handle(News::Hands(vec![hand("花子")]));
        classroom.handle(News::Hands(Vec::new()));
        assert!(!classroom.hand_cue());
        assert_eq!(classroom.handle(News::Modes(RoomModes::default())), None);
        let quiet = RoomModes {
            student_broadcast: false,
            student_private: true,
        };
        assert!(classroom.handle(News::Modes(quiet)).is_some());
    }

    #[test]
    fn a_poll_needs_a_question_and_two_answers() {
        let mut classroom = Classroom::default();
        classroom.drafts.question = "好きな季節は?".into();
        classroom.drafts.options = vec!["春".into(), "  ".into()];
        assert_eq!(classroom.control(Action::OpenPoll), None);
        classroom.drafts.options.push("夏".into());
        assert_eq!(
            classroom.control(Action::OpenPoll),
            Some(ClientMessage::Poll {
                question: "好きな季節は?".into(),
                options: vec!["春".into(), "夏".into()],
            })
        );
        assert!(classroom.drafts.question.is_empty(), "the draft is cleared");
    }
}
