//! What a line typed into `classchat join` means: a chat line (`id/text`, `*/text`), `/help`,
//! or a classroom command (`/hand`, `/vote 2`, and for hosts `/pin`, `/poll`, `/close`,
//! `/mute`, `/unmute`, `/kick`, `/lower`, `/mode`). Pure: no I/O.
//!
//! A line that starts with `/` (or the full-width `／` a Japanese input method types) is always
//! a command, never chat: an unknown one is an error that points to `/help`. Numbers may be
//! typed with full-width digits (`/vote ２`) and poll options split with `|` or `｜`.
//!
//! Try it: `cargo test --lib terminal::commands`.

use crate::protocol::{
    Addressed, ClientMessage, MAX_POLL_OPTIONS, MIN_POLL_OPTIONS, ProtocolError,
};

/// What `/help` prints.
pub const HELP: &str = "\
Commands:
    id/text                    write to one person; */text writes to everyone
    /hand, /hand down          raise or lower your hand
    /vote N                    answer the open poll with option N
    /help                      this list
For the teacher (joined with --host-key):
    /pin TEXT, /pin            pin a message for everyone; /pin alone unpins
    /poll Question? | A | B    open a poll with 2 to 6 options
    /close                     close the open poll and show everyone the result
    /mute ID, /unmute ID       stop or allow someone's messages
    /kick ID                   remove someone from the chat
    /lower ID                  lower someone's hand
    /mode broadcast on|off     whether students may write to everyone
    /mode private on|off       whether students may write privately to each other";

/// A typed line, understood.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Typed<'a> {
    /// A chat message: `id/text` or `*/text`.
    Chat(Addressed<'a>),
    /// `/help`.
    Help,
    /// A classroom command, sent as a control message.
    Command(Command),
}

/// A classroom command, as typed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// `/hand` (up) or `/hand down`.
    Hand {
        /// Raise or lower.
        up: bool,
    },
    /// `/vote N`: the option as numbered on screen, from 1.
    Vote {
        /// The option's number on screen.
        choice: usize,
    },
    /// `/pin TEXT`; an empty text (`/pin` alone) unpins.
    Pin {
        /// What to pin.
        text: String,
    },
    /// `/poll Question? | option | option …`.
    Poll {
        /// The question.
        question: String,
        /// 2 to 6 options.
        options: Vec<String>,
    },
    /// `/close`: closes the open poll.
    Close,
    /// `/mute ID` or `/unmute ID`.
    Mute {
        /// Whom.
        peer_id: String,
        /// Mute or unmute.
        muted: bool,
    },
    /// `/kick ID`.
    Kick {
        /// Whom.
        peer_id: String,
    },
    /// `/lower ID`: lowers someone's hand.
    Lower {
        /// Whose hand.
        peer_id: String,
    },
    /// `/mode broadcast on|off` or `/mode private on|off`.
    Mode {
        /// Which mode.
        mode: Mode,
        /// On or off.
        on: bool,
    },
}

/// The room's two modes, as `/mode` names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// `broadcast`: students may write to everyone.
    Broadcast,
    /// `private`: students may write privately to each other.
    Private,
}

/// The open poll, as far as voting and closing need it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenPoll {
    /// Its number on the relay.
    pub number: u64,
    /// The question.
    pub question: String,
    /// The options, in order.
    pub options: Vec<String>,
}

/// Why a typed line cannot be sent. Each says what to type instead.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    /// A chat line without `id/` in front, or with nothing after it.
    #[error("{0}; /help lists the commands")]
    Chat(#[from] ProtocolError),
    /// A `/word` that is not a command.
    #[error("there is no command /{0}: type /help for the list")]
    Unknown(String),
    /// A known command typed the wrong way; holds how to type it.
    #[error("type it as {0}")]
    Usage(&'static str),
    /// `/poll` without a question.
    #[error("the poll has no question: type /poll Question? | option 1 | option 2")]
    NoQuestion,
    /// `/poll` with too few or too many options.
    #[error(
        "a poll needs {MIN_POLL_OPTIONS} to {MAX_POLL_OPTIONS} options after the question, each after a |; this one has {0}"
    )]
    OptionCount(usize),
    /// `/poll` with an empty option (`a | | b`).
    #[error("option {0} of the poll is empty")]
    EmptyOption(usize),
    /// `/vote` or `/close` while no poll is open.
    #[error("no poll is open")]
    NoPoll,
    /// `/vote N` past the open poll's options.
    #[error("poll {poll} has options 1 to {count}; there is no option {choice}")]
    NoSuchOption {
        /// The poll.
        poll: u64,
        /// How many options it has.
        count: usize,
        /// The number typed.
        choice: usize,
    },
}

/// Understands one typed line (without its line ending).
pub fn parse(line: &str) -> Result<Typed<'_>, InputError> {
    let Some(rest) = line.trim_start().strip_prefix(['/', '／']) else {
        return Ok(Typed::Chat(Addressed::parse(line)?));
    };
    let (word, args) = rest
        .split_once(char::is_whitespace)
        .map_or((rest, ""), |(word, args)| (word, args.trim()));
    let word = word.to_lowercase();
    let command = match word.as_str() {
        "help" => return Ok(Typed::Help),
        "hand" => match args.to_lowercase().as_str() {
            "" | "up" => Command::Hand { up: true },
            "down" => Command::Hand { up: false },
            _ => {
                return Err(InputError::Usage(
                    "/hand to raise it, /hand down to lower it",
                ));
            }
        },
        "vote" => Command::Vote {
            choice: number(args).ok_or(InputError::Usage(
                "/vote N, with N the option's number in the poll, e.g. /vote 2",
            ))?,
        },
        "pin" => Command::Pin {
            text: args.to_owned(),
        },
        "poll" => poll(args)?,
        "close" if args.is_empty() => Command::Close,
        "close" => return Err(InputError::Usage("/close, with nothing after it")),
        "mute" | "unmute" => Command::Mute {
            peer_id: peer_id(args, "/mute ID or /unmute ID, e.g. /mute 花子")?,
            muted: word == "mute",
        },
        "kick" => Command::Kick {
            peer_id: peer_id(args, "/kick ID, e.g. /kick client3")?,
        },
        "lower" => Command::Lower {
            peer_id: peer_id(args, "/lower ID, e.g. /lower 花子")?,
        },
        "mode" => mode(args)?,
        _ => return Err(InputError::Unknown(word)),
    };
    Ok(Typed::Command(command))
}

impl Command {
    /// The control message this command sends; voting and closing need the open poll.
    pub fn into_message(self, open: Option<&OpenPoll>) -> Result<ClientMessage, InputError> {
        Ok(match self {
            Self::Hand { up } => ClientMessage::Hand { up, id: None },
            Self::Vote { choice } => {
                let poll = open.ok_or(InputError::NoPoll)?;
                let count = poll.options.len();
                if !(1..=count).contains(&choice) {
                    return Err(InputError::NoSuchOption {
                        poll: poll.number,
                        count,
                        choice,
                    });
                }
                ClientMessage::Vote {
                    poll: poll.number,
                    option: choice - 1,
                }
            }
            Self::Pin { text } => ClientMessage::Pin { text },
            Self::Poll { question, options } => ClientMessage::Poll { question, options },
            Self::Close => ClientMessage::PollClose {
                poll: open.ok_or(InputError::NoPoll)?.number,
            },
            Self::Mute { peer_id, muted } => ClientMessage::Mute { id: peer_id, muted },
            Self::Kick { peer_id } => ClientMessage::Kick { id: peer_id },
            Self::Lower { peer_id } => ClientMessage::Hand {
                up: false,
                id: Some(peer_id),
            },
            Self::Mode { mode, on } => ClientMessage::Room {
                student_broadcast: (mode == Mode::Broadcast).then_some(on),
                student_private: (mode == Mode::Private).then_some(on),
            },
        })
    }
}

/// What a user types to send `message`, for messages about it (`/close` for `poll_close`).
pub fn typed_as(message: &ClientMessage) -> &'static str {
    match message {
        ClientMessage::Hand { id: Some(_), .. } => "/lower",
        ClientMessage::Mute { muted: false, .. } => "/unmute",
        other => command_for(other.kind()),
    }
}

/// The command that sends a control message of type `kind` (a refusal's `about`).
pub fn command_for(kind: &str) -> &'static str {
    match kind {
        "hand" => "/hand",
        "vote" => "/vote",
        "pin" => "/pin",
        "poll" => "/poll",
        "poll_close" => "/close",
        "mute" => "/mute",
        "kick" => "/kick",
        "room" => "/mode",
        _ => "that command",
    }
}

fn poll(args: &str) -> Result<Command, InputError> {
    let mut parts = args.split(['|', '｜']).map(str::trim);
    let question = parts.next().unwrap_or_default();
    if question.is_empty() {
        return Err(InputError::NoQuestion);
    }
    let options: Vec<String> = parts.map(str::to_owned).collect();
    if !(MIN_POLL_OPTIONS..=MAX_POLL_OPTIONS).contains(&options.len()) {
        return Err(InputError::OptionCount(options.len()));
    }
    if let Some(empty) = options.iter().position(String::is_empty) {
        return Err(InputError::EmptyOption(empty + 1));
    }
    Ok(Command::Poll {
        question: question.to_owned(),
        options,
    })
}

fn mode(args: &str) -> Result<Command, InputError> {
    const USAGE: &str = "/mode broadcast on|off or /mode private on|off";
    let words: Vec<String> = args.split_whitespace().map(str::to_lowercase).collect();
    let [mode, on] = words.as_slice() else {
        return Err(InputError::Usage(USAGE));
    };
    let mode = match mode.as_str() {
        "broadcast" => Mode::Broadcast,
        "private" => Mode::Private,
        _ => return Err(InputError::Usage(USAGE)),
    };
    let on = match on.as_str() {
        "on" => true,
        "off" => false,
        _ => return Err(InputError::Usage(USAGE)),
    };
    Ok(Command::Mode { mode, on })
}

/// A person's ID: the rest of the line, since IDs may hold spaces.
fn peer_id(args: &str, usage: &'static str) -> Result<String, InputError> {
    if args.is_empty() {
        return Err(InputError::Usage(usage));
    }
    Ok(args.to_owned())
}

/// A number from 1 typed with ASCII or full-width digits.
fn number(text: &str) -> Option<usize> {
    let ascii: String = text
        .chars()
        .map(|c| match c {
            '０'..='９' => {
                char::from_u32(u32::from(c) - u32::from('０') + u32::from('0')).unwrap_or(c)
            }
            _ => c,
        })
        .collect();
    ascii.parse().ok().filter(|&n| n >= 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Recipient;

    fn command(line: &str) -> Command {
        match parse(line) {
            Ok(Typed::Command(c)) => c,
            other => panic!("{line}: {other:?}"),
        }
    }

    fn poll_of(number: u64, options: &[&str]) -> OpenPoll {
        OpenPoll {
            number,
            question: "次の授業は?".to_owned(),
            options: options.iter().map(|&o| o.to_owned()).collect(),
        }
    }

    #[test]
    fn chat_lines_are_still_chat() {
        assert_eq!(
            parse("*/みなさん/こんにちは"),
            Ok(Typed::Chat(Addressed {
                to: Recipient::Everyone,
                text: "みなさん/こんにちは",
            }))
        );
        assert!(matches!(parse("花子/ /hand"), Ok(Typed::Chat(a)) if a.text == " /hand"));
        assert_eq!(
            parse("hello"),
            Err(InputError::Chat(ProtocolError::MissingSlash))
        );
    }

    #[test]
    fn everyone_can_raise_a_hand_vote_and_ask_for_help() {
        assert_eq!(parse("/help"), Ok(Typed::Help));
        assert_eq!(parse("  /HELP  "), Ok(Typed::Help));
        assert_eq!(command("/hand"), Command::Hand { up: true });
        assert_eq!(command("/hand up"), Command::Hand { up: true });
        assert_eq!(command("/hand down"), Command::Hand { up: false });
        assert_eq!(command("/vote 2"), Command::Vote { choice: 2 });
        // What a Japanese input method types: a full-width slash and digits.
        assert_eq!(command("／vote　２"), Command::Vote { choice: 2 });
        assert_eq!(command("／hand"), Command::Hand { up: true });
    }

    #[test]
    fn host_commands() {
        assert_eq!(
            command("/pin 課題: p.12 https://example.com/a1"),
            Command::Pin {
                text: "課題: p.12 https://example.com/a1".to_owned()
            }
        );
        assert_eq!(
            command("/pin"),
            Command::Pin {
                text: String::new()
            }
        );
        assert_eq!(
            command("/poll 次の授業は? | 月曜 | 火曜｜水曜"),
            Command::Poll {
                question: "次の授業は?".to_owned(),
                options: vec!["月曜".to_owned(), "火曜".to_owned(), "水曜".to_owned()],
            }
        );
        assert_eq!(command("/close"), Command::Close);
        assert_eq!(
            command("/mute 花子"),
            Command::Mute {
                peer_id: "花子".to_owned(),
                muted: true
            }
        );
        assert_eq!(
            command("/unmute 山田 太郎"),
            Command::Mute {
                peer_id: "山田 太郎".to_owned(),
                muted: false
            }
        );
        assert_eq!(
            command("/kick client3"),
            Command::Kick {
                peer_id: "client3".to_owned()
            }
        );
        assert_eq!(
            command("/lower 花子"),
            Command::Lower {
                peer_id: "花子".to_owned()
            }
        );
        assert_eq!(
            command("/mode broadcast off"),
            Command::Mode {
                mode: Mode::Broadcast,
                on: false
            }
        );
        assert_eq!(
            command("/mode Private ON"),
            Command::Mode {
                mode: Mode::Private,
                on: true
            }
        );
    }

    #[test]
    fn unknown_commands_point_to_help_and_are_never_chat() {
        for (line, word) in [
            ("/hnad", "hnad"),
            ("/", ""),
            ("/ hello", ""),
            ("／質問 x", "質問"),
        ] {
            let e = parse(line).unwrap_err();
            assert_eq!(e, InputError::Unknown(word.to_owned()), "{line}");
            assert!(e.to_string().contains("/help"), "{e}");
        }
    }

    #[test]
    fn bad_arguments_say_how_to_type_the_command() {
        for line in [
            "/hand sideways",
            "/vote",
            "/vote two",
            "/vote 0",
            "/vote -1",
            "/vote 1.5",
            "/close 3",
            "/mute",
            "/unmute   ",
            "/kick",
            "/lower",
            "/mode",
            "/mode broadcast",
            "/mode loud on",
            "/mode private maybe",
            "/mode private on now",
        ] {
            let e = parse(line).unwrap_err();
            assert!(
                matches!(e, InputError::Usage(_)),
                "{line}: {e:?} is not a usage"
            );
            assert!(e.to_string().starts_with("type it as /"), "{line}: {e}");
        }
    }

    #[test]
    fn a_poll_needs_a_question_and_two_to_six_options() {
        assert_eq!(parse("/poll"), Err(InputError::NoQuestion));
        assert_eq!(parse("/poll | 月曜 | 火曜"), Err(InputError::NoQuestion));
        assert_eq!(parse("/poll 次の授業は?"), Err(InputError::OptionCount(0)));
        assert_eq!(
            parse("/poll 次の授業は? | 月曜"),
            Err(InputError::OptionCount(1))
        );
        assert_eq!(
            parse("/poll q | 1 | 2 | 3 | 4 | 5 | 6 | 7"),
            Err(InputError::OptionCount(7))
        );
        assert_eq!(parse("/poll q | a | | b"), Err(InputError::EmptyOption(2)));
        assert_eq!(parse("/poll q | a | b |"), Err(InputError::EmptyOption(3)));
        let e = parse("/poll 次の授業は? | 月曜").unwrap_err().to_string();
        assert!(e.contains("2 to 6 options") && e.contains("has 1"), "{e}");
        assert!(matches!(
            command("/poll q | 1 | 2 | 3 | 4 | 5 | 6"),
            Command::Poll { options, .. } if options.len() == 6
        ));
    }

    #[test]
    fn a_vote_is_sent_from_zero_for_the_open_poll() {
        let open = poll_of(4, &["月曜", "火曜", "水曜"]);
        assert_eq!(
            command("/vote 2").into_message(Some(&open)),
            Ok(ClientMessage::Vote { poll: 4, option: 1 })
        );
        assert_eq!(
            command("/vote 4").into_message(Some(&open)),
            Err(InputError::NoSuchOption {
                poll: 4,
                count: 3,
                choice: 4
            })
        );
        assert_eq!(
            command("/vote 1").into_message(None),
            Err(InputError::NoPoll)
        );
        assert_eq!(
            command("/close").into_message(Some(&open)),
            Ok(ClientMessage::PollClose { poll: 4 })
        );
        assert_eq!(
            command("/close").into_message(None),
            Err(InputError::NoPoll)
        );
    }

    #[test]
    fn commands_become_the_wire_messages() {
        let cases = [
            ("/hand", ClientMessage::Hand { up: true, id: None }),
            (
                "/hand down",
                ClientMessage::Hand {
                    up: false,
                    id: None,
                },
            ),
            (
                "/lower 花子",
                ClientMessage::Hand {
                    up: false,
                    id: Some("花子".to_owned()),
                },
            ),
            (
                "/pin",
                ClientMessage::Pin {
                    text: String::new(),
                },
            ),
            (
                "/mode private off",
                ClientMessage::Room {
                    student_broadcast: None,
                    student_private: Some(false),
                },
            ),
            (
                "/mode broadcast on",
                ClientMessage::Room {
                    student_broadcast: Some(true),
                    student_private: None,
                },
            ),
            (
                "/unmute 花子",
                ClientMessage::Mute {
                    id: "花子".to_owned(),
                    muted: false,
                },
            ),
            (
                "/kick client3",
                ClientMessage::Kick {
                    id: "client3".to_owned(),
                },
            ),
        ];
        for (line, expected) in cases {
            let message = command(line).into_message(None).unwrap();
            assert_eq!(message, expected, "{line}");
            // Each command is named back to the user the way it was typed.
            let word = line.split(' ').next().unwrap();
            assert_eq!(typed_as(&message), word, "{line}");
        }
    }
}
