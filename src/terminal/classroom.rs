//! How `classchat join` shows the classroom: the room's modes, the pinned message, the poll
//! card, and for hosts the live tally and the queue of raised hands; refusals of control
//! messages in plain words. Pure: the caller passes the clock.
//!
//! Text from others (questions, options, pins, names) is escaped as in chat lines.
//!
//! Try it: `cargo test --lib terminal::classroom`.

use crate::client::Classroom;
use crate::protocol::{ClientMessage, ErrorCode, RaisedHand, RoomModes};
use crate::text::{CONTINUATION_INDENT, escape_for_terminal as esc};

use super::commands::{OpenPoll, command_for};
use super::person;

/// Width of a result bar, in characters.
const BAR_WIDTH: usize = 20;

/// What the terminal remembers of the classroom between events.
#[derive(Debug, Default)]
pub struct Board {
    /// The open poll, from the last `poll` event; `/vote` and `/close` answer it.
    poll: Option<OpenPoll>,
    /// Whether the last hands queue had anyone in it, so that an empty one is told only when
    /// the last hand went down.
    hands_up: bool,
}

impl Board {
    /// The open poll, if any.
    pub fn open_poll(&self) -> Option<&OpenPoll> {
        self.poll.as_ref()
    }

    /// Forgets the open poll after a (re)connection: the relay sends it again after the
    /// welcome while it is open, and a poll that closed meanwhile takes no votes.
    pub fn reconnected(&mut self) {
        self.poll = None;
    }

    /// The line to print for a classroom event (empty for none), remembering what later
    /// commands and events need. `now_ms` is the time, in ms since the Unix epoch.
    pub fn show(&mut self, event: &Classroom, now_ms: u64) -> String {
        match event {
            Classroom::Modes(modes) => modes_line(*modes),
            Classroom::Pinned(text) if text.is_empty() => {
                "The pinned message was removed.".to_owned()
            }
            Classroom::Pinned(text) => format!("Pinned: {}", esc(text)),
            Classroom::Poll {
                poll,
                question,
                options,
            } => {
                let open = OpenPoll {
                    number: *poll,
                    question: question.clone(),
                    options: options.clone(),
                };
                let line = poll_card(&open);
                self.poll = Some(open);
                line
            }
            Classroom::Tally {
                poll,
                counts,
                voters,
            } => {
                let options = self
                    .poll
                    .as_ref()
                    .filter(|p| p.number == *poll)
                    .map(|p| p.options.as_slice());
                tally_line(*poll, counts, *voters, options)
            }
            Classroom::PollResult {
                poll,
                counts,
                question,
                options,
            } => {
                let open = self.poll.take_if(|p| p.number == *poll);
                let question = question
                    .clone()
                    .or_else(|| open.as_ref().map(|p| p.question.clone()));
                let options = options
                    .clone()
                    .or_else(|| open.map(|p| p.options))
                    .unwrap_or_default();
                result_lines(*poll, question.as_deref(), &options, counts)
            }
            Classroom::OwnHand { up: true } => "Your hand is up (the teacher sees it).".to_owned(),
            Classroom::OwnHand { up: false } => "Your hand is down.".to_owned(),
            Classroom::Hands(queue) => {
                let was_up = std::mem::replace(&mut self.hands_up, !queue.is_empty());
                if queue.is_empty() && !was_up {
                    String::new()
                } else {
                    hands_line(queue, now_ms)
                }
            }
        }
    }
}

/// `Room: students may write to everyone: yes; privately to each other: no`.
pub fn modes_line(modes: RoomModes) -> String {
    let yes_no = |on: bool| if on { "yes" } else { "no" };
    format!(
        "Room: students may write to everyone: {}; privately to each other: {}",
        yes_no(modes.student_broadcast),
        yes_no(modes.student_private)
    )
}

/// `Poll 4: 次の授業は? 1) 月曜 2) 火曜 (answer with /vote N)`, like the seed's line.
pub fn poll_card(poll: &OpenPoll) -> String {
    format!(
        "Poll {}: {}{} (answer with /vote N)",
        poll.number,
        esc(&poll.question),
        numbered(&poll.options)
    )
}

/// For hosts: `Votes in poll 4 (3 voters): 1) 月曜: 2 2) 火曜: 1`.
pub fn tally_line(poll: u64, counts: &[u32], voters: u32, options: Option<&[String]>) -> String {
    let voters = match voters {
        1 => "1 voter".to_owned(),
        n => format!("{n} voters"),
    };
    let mut line = format!("Votes in poll {poll} ({voters}):");
    for (i, count) in counts.iter().enumerate() {
        match options.and_then(|o| o.get(i)) {
            Some(label) => line.push_str(&format!(" {}) {}: {count}", i + 1, esc(label))),
            None => line.push_str(&format!(" {}) {count}", i + 1)),
        }
    }
    line
}

/// The closed poll's result: a header, then one line per option with a bar.
pub fn result_lines(
    poll: u64,
    question: Option<&str>,
    options: &[String],
    counts: &[u32],
) -> String {
    // Summed wide: the counts come from the relay.
    let total: u64 = counts.iter().map(|&c| u64::from(c)).sum();
    let votes = if total == 1 { "vote" } else { "votes" };
    let mut out = match question {
        Some(q) => format!("Poll {poll} results: {} ({total} {votes})", esc(q)),
        None => format!("Poll {poll} results ({total} {votes})"),
    };
    for (i, &count) in counts.iter().enumerate() {
        // Rounded share of the bar: a u32 times 20 cannot overflow a u64.
        let share = (u64::from(count) * BAR_WIDTH as u64 + total / 2)
            .checked_div(total)
            .unwrap_or(0);
        let filled = usize::try_from(share).unwrap_or(BAR_WIDTH).min(BAR_WIDTH);
        let bar = format!("{}{}", "█".repeat(filled), "░".repeat(BAR_WIDTH - filled));
        let label = options.get(i).map(|o| esc(o)).unwrap_or_default();
        out.push_str(&format!(
            "\n{CONTINUATION_INDENT}{}) {bar} {count:>3}  {label}",
            i + 1
        ));
    }
    out
}

/// For hosts: `Hands up: 花子 (2 min), client3 (5 s)`, oldest first; `Hands up: none`.
pub fn hands_line(queue: &[RaisedHand], now_ms: u64) -> String {
    if queue.is_empty() {
        return "Hands up: none".to_owned();
    }
    let hands: Vec<String> = queue
        .iter()
        .map(|h| {
            format!(
                "{} ({})",
                person(&h.id, false),
                waited(now_ms.saturating_sub(h.since))
            )
        })
        .collect();
    format!("Hands up: {}", hands.join(", "))
}

/// What to tell the user right after sending `message`, for the commands whose effect the
/// relay shows them nowhere else (students never see the tally; the own hand comes back as
/// [`Classroom::OwnHand`]). A refusal, if one comes, follows it.
pub fn sent_note(message: &ClientMessage, open: Option<&OpenPoll>) -> Option<String> {
    match message {
        ClientMessage::Vote { option, .. } => {
            let label = open
                .and_then(|p| p.options.get(*option))
                .map(|o| format!(" {}", esc(o)))
                .unwrap_or_default();
            Some(format!(
                "Sent: your vote for {}){label} (another /vote changes it until the poll closes).",
                option + 1
            ))
        }
        ClientMessage::Mute { id, muted: true } => Some(format!(
            "Sent: mute {} (their messages are refused until /unmute).",
            person(id, false)
        )),
        ClientMessage::Mute { id, muted: false } => {
            Some(format!("Sent: unmute {}.", person(id, false)))
        }
        _ => None,
    }
}

/// A refusal from the relay, in plain words; `about` is the refused control message's type.
pub fn refusal(code: ErrorCode, about: Option<&str>, message: &str) -> String {
    match (code, about) {
        (ErrorCode::NotHost, Some(about)) => {
            // Anyone may raise and lower their own hand: a refused `hand` lowered someone else's.
            let command = if about == "hand" {
                "/lower"
            } else {
                command_for(about)
            };
            format!(
                "Error: only the teacher may use {command} (join with --host-key to be the host)."
            )
        }
        (ErrorCode::NotHost, None) => "Error: only the teacher may do that.".to_owned(),
        (ErrorCode::NotAllowed, Some("vote")) => {
            format!("Error: your vote was not counted: {}.", esc(message))
        }
        (ErrorCode::NotAllowed, Some(about)) => format!(
            "Error: {} was not done: {}.",
            command_for(about),
            esc(message)
        ),
        // A message the room's modes do not allow: the relay says which mode.
        (ErrorCode::NotAllowed, None) => format!("Not delivered: {}.", esc(message)),
        _ => format!("Error: {}", esc(message)),
    }
}

/// ` 1) 月曜 2) 火曜`.
fn numbered(options: &[String]) -> String {
    options
        .iter()
        .enumerate()
        .map(|(i, o)| format!(" {}) {}", i + 1, esc(o)))
        .collect()
}

/// How long a hand has been up: `12 s`, `3 min`, `1 h 5 min`.
fn waited(ms: u64) -> String {
    let secs = ms / 1000;
    match secs {
        0..60 => format!("{secs} s"),
        60..3600 => format!("{} min", secs / 60),
        _ => format!("{} h {} min", secs / 3600, secs % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn poll(number: u64) -> Classroom {
        Classroom::Poll {
            poll: number,
            question: "次の授業は?".to_owned(),
            options: vec!["月曜".to_owned(), "火曜".to_owned(), "水曜".to_owned()],
        }
    }

    #[test]
    fn modes_and_pins() {
        let mut board = Board::default();
        assert_eq!(
            board.show(
                &Classroom::Modes(RoomModes {
                    student_broadcast: true,
                    student_private: false,
                }),
                0
            ),
            "Room: students may write to everyone: yes; privately to each other: no"
        );
        assert_eq!(
            board.show(&Classroom::Pinned("課題: p.12".to_owned()), 0),
            "Pinned: 課題: p.12"
        );
        assert_eq!(
            board.show(&Classroom::Pinned(String::new()), 0),
            "The pinned message was removed."
        );
        // A pin cannot drive the terminal.
        let line = board.show(&Classroom::Pinned("\x1b[2J見て".to_owned()), 0);
        assert!(!line.contains('\x1b'), "{line:?}");
    }

    #[test]
    fn a_poll_is_shown_numbered_from_one_and_remembered_until_its_result() {
        let mut board = Board::default();
        assert_eq!(
            board.show(&poll(4), 0),
            "Poll 4: 次の授業は? 1) 月曜 2) 火曜 3) 水曜 (answer with /vote N)"
        );
        assert_eq!(board.open_poll().map(|p| p.number), Some(4));
        assert_eq!(
            board.show(
                &Classroom::Tally {
                    poll: 4,
                    counts: vec![0, 1, 0],
                    voters: 1,
                },
                0
            ),
            "Votes in poll 4 (1 voter): 1) 月曜: 0 2) 火曜: 1 3) 水曜: 0"
        );
        let result = board.show(
            &Classroom::PollResult {
                poll: 4,
                counts: vec![1, 3, 0],
                question: None,
                options: None,
            },
            0,
        );
        let lines: Vec<&str> = result.lines().collect();
        assert_eq!(lines[0], "Poll 4 results: 次の授業は? (4 votes)");
        assert_eq!(
            lines[1],
            format!("    1) {}{}   1  月曜", "█".repeat(5), "░".repeat(15))
        );
        assert_eq!(
            lines[2],
            format!("    2) {}{}   3  火曜", "█".repeat(15), "░".repeat(5))
        );
        assert_eq!(lines[3], format!("    3) {}   0  水曜", "░".repeat(20)));
        // Counts a relay could send without making the sum overflow.
        let huge = result_lines(1, None, &[], &[u32::MAX, u32::MAX]);
        assert!(huge.contains(&"█".repeat(10)), "{huge}");
        assert_eq!(board.open_poll(), None, "a closed poll takes no votes");
    }

    #[test]
    fn a_result_for_a_poll_never_seen_uses_what_the_relay_repeats() {
        let mut board = Board::default();
        let result = board.show(
            &Classroom::PollResult {
                poll: 2,
                counts: vec![0, 0],
                question: Some("Done?".to_owned()),
                options: Some(vec!["yes".to_owned(), "no".to_owned()]),
            },
            0,
        );
        assert!(
            result.starts_with("Poll 2 results: Done? (0 votes)\n"),
            "{result}"
        );
        assert!(result.ends_with("0  no"), "{result}");
    }

    #[test]
    fn hands_oldest_first_with_how_long_they_waited() {
        let mut board = Board::default();
        assert_eq!(
            board.show(&Classroom::Hands(Vec::new()), 0),
            "",
            "nothing to tell"
        );
        let queue = vec![
            RaisedHand {
                id: "花子".to_owned(),
                since: 1_000,
            },
            RaisedHand {
                id: "client3".to_owned(),
                since: 116_000,
            },
        ];
        assert_eq!(
            board.show(&Classroom::Hands(queue), 126_000),
            "Hands up: 花子 (2 min), client3 (10 s)"
        );
        assert_eq!(
            board.show(&Classroom::Hands(Vec::new()), 0),
            "Hands up: none"
        );
        assert_eq!(waited(3_900_000), "1 h 5 min");
    }

    #[test]
    fn what_the_relay_shows_nowhere_else_is_noted_when_sent() {
        let open = OpenPoll {
            number: 4,
            question: "次の授業は?".to_owned(),
            options: vec!["月曜".to_owned(), "火曜".to_owned()],
        };
        let note = |m: ClientMessage| sent_note(&m, Some(&open));
        assert_eq!(
            note(ClientMessage::Vote { poll: 4, option: 1 }).as_deref(),
            Some("Sent: your vote for 2) 火曜 (another /vote changes it until the poll closes).")
        );
        assert_eq!(note(ClientMessage::Hand { up: true, id: None }), None);
        assert!(
            note(ClientMessage::Mute {
                id: "花子".to_owned(),
                muted: true
            })
            .is_some_and(|n| n.starts_with("Sent: mute 花子 "))
        );
        // Pins, polls, modes and a lowered hand show up as the relay's own lines.
        assert_eq!(
            note(ClientMessage::Pin {
                text: "x".to_owned()
            }),
            None
        );
        assert_eq!(
            note(ClientMessage::Hand {
                up: false,
                id: Some("花子".to_owned())
            }),
            None
        );
    }

    #[test]
    fn refusals_say_why() {
        assert_eq!(
            refusal(ErrorCode::NotHost, Some("pin"), "only the host may do that"),
            "Error: only the teacher may use /pin (join with --host-key to be the host)."
        );
        assert!(refusal(ErrorCode::NotHost, Some("hand"), "x").contains("/lower"));
        assert!(refusal(ErrorCode::NotHost, Some("poll_close"), "x").contains("/close"));
        assert_eq!(
            refusal(ErrorCode::NotAllowed, Some("vote"), "poll 3 is not open"),
            "Error: your vote was not counted: poll 3 is not open."
        );
        assert_eq!(
            refusal(
                ErrorCode::NotAllowed,
                None,
                "the host has turned off messages from students to everyone; your message was not delivered"
            ),
            "Not delivered: the host has turned off messages from students to everyone; your message was not delivered."
        );
        assert_eq!(
            refusal(ErrorCode::Muted, None, "you are\x1b muted"),
            "Error: you are\\u{1b} muted"
        );
    }
}
