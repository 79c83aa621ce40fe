//! `classchat join`: the chat in a terminal. Lines typed as `id/message` or `*/message` are
//! sent; lines starting with `/` are classroom commands (`/hand`, `/vote 2`, and for a host
//! `/pin`, `/poll`, `/close`, `/mute`, `/kick`, `/lower`, `/mode`; `/help` lists them). Events
//! are printed one per line; a host's messages and name carry [`TEACHER_BADGE`].
//!
//! After a drop the client library continues the session by itself; messages the relay sends
//! again from its history are printed after an [`EARLIER`] divider, and live ones after a
//! [`LIVE`] divider. At the end of input it waits (up to [`LEAVE_PATIENCE`]) for the relay to
//! confirm what was typed before it leaves.
//!
//! Inside: `commands` (what a typed line means; pure) and `classroom` (how modes, pins, polls,
//! hands and refusals are shown; pure).
//!
//! Try it: `cargo run -- join localhost --name 花子`, then type `*/こんにちは` or `/hand`.

mod classroom;
mod commands;

use std::collections::HashSet;
use std::io::Write as _;
use std::time::Duration;

use tokio::io::AsyncBufReadExt as _;
use tokio::time::Instant;

use crate::client::{self, Disconnect, Event, JoinConfig, SendId};
use crate::protocol::{ClientMessage, Recipient, Role, now_ms};
use crate::text::escape_for_terminal as esc;
use commands::Typed;

/// How `join` ended, as the process exit code reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The user left (end of input).
    Left = 0,
    /// The relay refused the join: wrong join code, origin, or full.
    Refused = 3,
    /// Nothing answered at the address, it was not a chat relay, or its certificate is not
    /// trusted.
    Unreachable = 4,
    /// The connection ended and reconnecting was off or could not help.
    Disconnected = 5,
}

impl Outcome {
    fn of(reason: &Disconnect) -> Self {
        match reason {
            Disconnect::Closed => Self::Left,
            Disconnect::WrongJoinCode | Disconnect::OriginRefused | Disconnect::Full => {
                Self::Refused
            }
            Disconnect::Unreachable(_)
            | Disconnect::NotAChat(_)
            | Disconnect::BadAddress(_)
            | Disconnect::UntrustedCertificate(_)
            | Disconnect::BadCaCert(_) => Self::Unreachable,
            Disconnect::Kicked
            | Disconnect::ClosedByRelay(_)
            | Disconnect::HostStopped
            | Disconnect::Lost(_) => Self::Disconnected,
        }
    }
}

/// Printed before messages the relay sends again from its history.
pub const EARLIER: &str = "── earlier messages ──";
/// Printed before the first live line after such messages.
pub const LIVE: &str = "── new messages ──";
/// How long leaving waits for the relay to confirm what was typed.
pub const LEAVE_PATIENCE: Duration = Duration::from_secs(10);

/// Marks a host's name: `[teacher] 先生 → everyone: …`.
pub const TEACHER_BADGE: &str = "[teacher]";

/// Joins `config.url`, printing to stdout and reading lines from stdin until either ends.
pub async fn run(config: JoinConfig) -> Outcome {
    println!("Connecting to {} …", config.url);
    let mut screen = Screen::new(config.host_key.is_some());
    let (handle, mut events) = client::connect(&tokio::runtime::Handle::current(), config, None);
    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    let mut stdin_open = true;
    let mut pending: HashSet<SendId> = HashSet::new();
    // Set at the end of input while sends wait for their confirmation.
    let mut leave_by: Option<Instant> = None;
    loop {
        tokio::select! {
            event = events.recv() => {
                let Some(event) = event else { return Outcome::Left };
                settle(&mut pending, &event);
                if leave_by.is_some() && pending.is_empty() {
                    leave_by = None;
                    handle.close();
                }
                let text = screen.show(&event, now_ms());
                if !text.is_empty() {
                    print_line(&text);
                }
                if let Event::Disconnected { reason, retry_in: None } = &event {
                    return Outcome::of(reason);
                }
            }
            line = lines.next_line(), if stdin_open => match line {
                Ok(Some(line)) => {
                    let line = line.trim_end_matches(['\r', '\n']);
                    if line.trim().is_empty() {
                        continue;
                    }
                    match commands::parse(line) {
                        Ok(Typed::Chat(a)) => {
                            pending.insert(handle.send(a.to, a.text));
                        }
                        Ok(Typed::Help) => print_line(commands::HELP),
                        Ok(Typed::Command(command)) => {
                            match command.into_message(screen.board.open_poll()) {
                                Ok(message) => {
                                    let note = screen.sent_note(&message);
                                    handle.control(message);
                                    if let Some(note) = note {
                                        print_line(&note);
                                    }
                                }
                                Err(e) => eprintln!("Not sent: {e}"),
                            }
                        }
                        Err(e) => eprintln!("Not sent: {e}"),
                    }
                }
                // End of input or an unreadable terminal: leave the chat, once what was typed
                // is confirmed.
                Ok(None) | Err(_) => {
                    stdin_open = false;
                    if pending.is_empty() {
                        handle.close();
                    } else {
                        leave_by = Some(Instant::now() + LEAVE_PATIENCE);
                    }
                }
            },
            () = tokio::time::sleep_until(leave_by.unwrap_or_else(Instant::now)), if leave_by.is_some() => {
                leave_by = None;
                handle.close();
            }
        }
    }
}

/// What the terminal prints for each event, and what it remembers to print it.
#[derive(Debug, Default)]
pub struct Screen {
    own_id: Option<String>,
    sections: Sections,
    board: classroom::Board,
    /// Connected now (control messages go out only then).
    connected: bool,
    /// Connected to a server without classroom controls (the seed's).
    legacy: bool,
    /// Joined with a host key, so a refused join may mean a wrong key.
    host_key: bool,
    /// Whether the `/help` hint was given (once, on the first connection).
    hinted: bool,
}

impl Screen {
    /// A screen for a client that joins with a host key (`host_key`) or without.
    pub fn new(host_key: bool) -> Self {
        Self {
            host_key,
            ..Self::default()
        }
    }

    /// The text to print for `event` (lines joined by line feeds; empty for none). `now_ms`
    /// is the time in ms since the Unix epoch, for how long hands have been up.
    pub fn show(&mut self, event: &Event, now_ms: u64) -> String {
        let mut lines: Vec<String> = Vec::new();
        if let Some(divider) = self.sections.before(event) {
            lines.push(divider.to_owned());
        }
        match event {
            Event::Connected { id, legacy, .. } => {
                self.own_id.clone_from(id);
                self.legacy = *legacy;
                self.connected = true;
                self.board.reconnected();
            }
            Event::Connecting { .. } | Event::Disconnected { .. } => self.connected = false,
            _ => {}
        }
        let line = match event {
            Event::Classroom(change) => self.board.show(change, now_ms),
            Event::ControlNotSent(message) => self.not_sent(message),
            Event::Disconnected {
                reason: Disconnect::WrongJoinCode,
                retry_in: None,
            } if self.host_key => "Disconnected: wrong join code or host key.".to_owned(),
            _ => describe(event, self.own_id.as_deref()),
        };
        if !line.is_empty() {
            lines.push(line);
        }
        if let Event::Connected {
            clients: Some(clients),
            legacy: false,
            ..
        } = event
            && !self.hinted
        {
            self.hinted = true;
            let host = clients.iter().any(|c| {
                Some(c.id.as_str()) == self.own_id.as_deref() && c.role == Some(Role::Host)
            });
            lines.push(if host {
                format!("You are a host {TEACHER_BADGE}: you steer the room. Type /help for the commands.")
            } else {
                "Type /help for the commands (raise your hand, vote).".to_owned()
            });
        }
        lines.join("\n")
    }

    /// What to print right after sending `message`: a note for what the relay shows this user
    /// nowhere else, unless the message cannot go out (then [`Event::ControlNotSent`] says so).
    pub fn sent_note(&self, message: &ClientMessage) -> Option<String> {
        if !self.connected || self.legacy {
            return None;
        }
        classroom::sent_note(message, self.board.open_poll())
    }

    /// Why a control message did not go out.
    fn not_sent(&self, message: &ClientMessage) -> String {
        let command = commands::typed_as(message);
        if self.legacy {
            format!("Not sent ({command}): this server has no classroom controls.")
        } else {
            format!("Not sent ({command}): not connected; type it again once the chat is back.")
        }
    }
}

/// Takes a send that is no longer pending out of `pending`.
fn settle(pending: &mut HashSet<SendId>, event: &Event) {
    let settled = match event {
        Event::Message(m) => m.confirms,
        Event::Confirmed { id } | Event::NotSent { id, .. } => Some(*id),
        Event::Refused { send, .. } => *send,
        _ => None,
    };
    if let Some(id) = settled {
        pending.remove(&id);
    }
}

/// Where the output is: among messages sent again from the relay's history, or live.
#[derive(Debug, Default)]
struct Sections {
    replaying: bool,
}

impl Sections {
    /// The divider to print before `event`, if it starts a new section.
    fn before(&mut self, event: &Event) -> Option<&'static str> {
        match event {
            Event::Message(m) if m.replay => {
                let starts = !self.replaying;
                self.replaying = true;
                starts.then_some(EARLIER)
            }
            Event::Message(_)
            | Event::Joined(_)
            | Event::Left { .. }
            | Event::Refused { .. }
            | Event::NotSent { .. }
            | Event::ControlNotSent(_)
            | Event::Classroom(_) => {
                let ends = self.replaying;
                self.replaying = false;
                ends.then_some(LIVE)
            }
            Event::Confirmed { .. } => None,
            Event::Connecting { .. }
            | Event::Connected { .. }
            | Event::Resumed { .. }
            | Event::Disconnected { .. } => {
                self.replaying = false;
                None
            }
        }
    }
}

fn print_line(line: &str) {
    let mut out = std::io::stdout().lock();
    // A closed stdout (for example a pipe whose reader left) is not worth failing over.
    writeln!(out, "{line}").ok();
    out.flush().ok();
}

/// One event as a line of text; empty for an event that prints nothing.
pub fn describe(event: &Event, own_id: Option<&str>) -> String {
    match event {
        Event::Connecting { attempt: 1 } => "Connecting…".to_owned(),
        Event::Connecting { attempt } => format!("Connecting (attempt {attempt})…"),
        Event::Connected {
            id,
            clients,
            legacy,
        } => {
            let mut line = match id {
                Some(id) => format!("Connected. Your ID is: {id}"),
                None => "Connected.".to_owned(),
            };
            if *legacy {
                line.push_str("\nThis server speaks only the seed protocol: the list of connected clients is not available.");
            }
            if let Some(clients) = clients {
                let names: Vec<String> = clients
                    .iter()
                    .map(|c| {
                        let name = person(&c.id, c.role == Some(Role::Host));
                        if Some(c.id.as_str()) == own_id {
                            format!("{name} (you)")
                        } else {
                            name
                        }
                    })
                    .collect();
                line.push_str(&format!("\nConnected now: {}", names.join(", ")));
            }
            line
        }
        Event::Resumed { recovered: true } => {
            "Back in the chat where you left it; anything you missed follows.".to_owned()
        }
        Event::Resumed { recovered: false } => {
            "Reconnected, but some messages may be missing: the chat could not be continued where you left it.".to_owned()
        }
        Event::Confirmed { .. } | Event::ControlNotSent(_) | Event::Classroom(_) => String::new(),
        Event::Joined(client) => format!(
            "* {} joined",
            person(&client.id, client.role == Some(Role::Host))
        ),
        Event::Left { id } => format!("* {} left", person(id, false)),
        Event::Message(m) => {
            // Hardening (issue 12): text from others is shown with its control characters escaped.
            let from = person(m.from.as_deref().unwrap_or("(someone)"), m.from_host);
            let text = esc(&m.text);
            match &m.to {
                _ if m.from.is_some() && m.from.as_deref() == own_id => match &m.to {
                    Some(Recipient::Everyone) => format!("you → everyone: {text}"),
                    Some(to) => format!("you → {}: {text}", esc(&to.to_string())),
                    None => format!("you: {text}"),
                },
                Some(Recipient::Everyone) => format!("{from} → everyone: {text}"),
                _ => format!("{from}: {text}"),
            }
        }
        Event::Refused {
            code,
            message,
            about,
            ..
        } => classroom::refusal(*code, about.as_deref(), message),
        Event::NotSent { to, text, .. } => format!(
            "Not sent (not connected): {}/{}",
            esc(to.as_wire()),
            esc(text)
        ),
        Event::Disconnected {
            reason,
            retry_in: Some(delay),
        } => format!(
            "Disconnected: {}. Reconnecting in {} s…",
            esc(&reason.to_string()),
            delay.as_secs()
        ),
        Event::Disconnected { reason, .. } => {
            format!("Disconnected: {}.", esc(&reason.to_string()))
        }
    }
}

/// A person's ID as the terminal shows it: escaped, and a host's after [`TEACHER_BADGE`].
/// Anyone else's ID that starts with a bracket has it escaped, so that no name (such as
/// `[teacher] 田中`) can pass for the badge.
fn person(peer_id: &str, host: bool) -> String {
    let mut chars = peer_id.chars();
    match chars.next() {
        _ if host => format!("{TEACHER_BADGE} {}", esc(peer_id)),
        Some(c @ ('[' | '［')) => format!("\\u{{{:x}}}{}", u32::from(c), esc(chars.as_str())),
        _ => esc(peer_id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::Classroom;
    use crate::protocol::ClientInfo;

    fn connected(id: &str, role: Role, legacy: bool) -> Event {
        Event::Connected {
            id: Some(id.to_owned()),
            clients: (!legacy).then(|| {
                vec![ClientInfo {
                    id: id.to_owned(),
                    since: 0,
                    legacy: false,
                    role: Some(role),
                }]
            }),
            legacy,
        }
    }

    #[test]
    fn a_host_is_told_so_once_and_a_student_where_the_commands_are() {
        let mut host = Screen::new(true);
        let first = host.show(&connected("先生", Role::Host, false), 0);
        assert_eq!(
            first.lines().last(),
            Some("You are a host [teacher]: you steer the room. Type /help for the commands.")
        );
        let again = host.show(&connected("先生", Role::Host, false), 0);
        assert!(!again.contains("/help"), "{again}");
        let mut student = Screen::new(false);
        let first = student.show(&connected("花子", Role::Student, false), 0);
        assert!(first.ends_with("\nType /help for the commands (raise your hand, vote)."));
        // The seed's server has no classroom: no hint.
        let mut seed = Screen::new(false);
        assert!(
            !seed
                .show(&connected("client0", Role::Student, true), 0)
                .contains("/help")
        );
    }

    #[test]
    fn a_control_message_not_sent_says_why() {
        let hand = ClientMessage::Hand { up: true, id: None };
        let mut screen = Screen::new(false);
        screen.show(&connected("client0", Role::Student, true), 0);
        assert_eq!(
            screen.show(&Event::ControlNotSent(hand.clone()), 0),
            "Not sent (/hand): this server has no classroom controls."
        );
        let mut screen = Screen::new(false);
        screen.show(&connected("花子", Role::Student, false), 0);
        assert_eq!(
            screen.show(&Event::ControlNotSent(hand), 0),
            "Not sent (/hand): not connected; type it again once the chat is back."
        );
    }

    #[test]
    fn a_vote_is_noted_only_when_it_can_go_out() {
        let vote = ClientMessage::Vote { poll: 1, option: 0 };
        let mut screen = Screen::new(false);
        assert_eq!(screen.sent_note(&vote), None, "not connected yet");
        screen.show(&connected("花子", Role::Student, false), 0);
        assert!(screen.sent_note(&vote).is_some());
        // A hand needs no note: the relay tells where it is.
        assert_eq!(
            screen.sent_note(&ClientMessage::Hand { up: true, id: None }),
            None
        );
        screen.show(
            &Event::Disconnected {
                reason: Disconnect::Lost("gone".to_owned()),
                retry_in: Some(Duration::from_secs(1)),
            },
            0,
        );
        assert_eq!(screen.sent_note(&vote), None, "while reconnecting");
        let mut seed = Screen::new(false);
        seed.show(&connected("client0", Role::Student, true), 0);
        assert_eq!(
            seed.sent_note(&vote),
            None,
            "no classroom on the seed's server"
        );
    }

    #[test]
    fn a_refused_join_with_a_host_key_may_be_the_key() {
        let refused = Event::Disconnected {
            reason: Disconnect::WrongJoinCode,
            retry_in: None,
        };
        assert_eq!(
            Screen::new(true).show(&refused, 0),
            "Disconnected: wrong join code or host key."
        );
        assert_eq!(
            Screen::new(false).show(&refused, 0),
            "Disconnected: wrong join code."
        );
    }

    #[test]
    fn a_poll_from_before_a_reconnection_is_forgotten() {
        let mut screen = Screen::new(false);
        screen.show(&connected("花子", Role::Student, false), 0);
        screen.show(
            &Event::Classroom(Classroom::Poll {
                poll: 1,
                question: "Done?".to_owned(),
                options: vec!["yes".to_owned(), "no".to_owned()],
            }),
            0,
        );
        assert!(screen.board.open_poll().is_some());
        screen.show(&connected("花子", Role::Student, false), 0);
        assert_eq!(
            screen.board.open_poll(),
            None,
            "the relay sends it again if open"
        );
    }
}
