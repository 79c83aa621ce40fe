//! `classchat join`: the chat in a terminal. Lines typed as `id/message` or `*/message` are
//! sent; events are printed one per line.
//!
//! After a drop the client library continues the session by itself; messages the relay sends
//! again from its history are printed after an [`EARLIER`] divider, and live ones after a
//! [`LIVE`] divider. At the end of input it waits (up to [`LEAVE_PATIENCE`]) for the relay to
//! confirm what was typed before it leaves.
//!
//! Try it: `cargo run -- join localhost --name 花子`, then type `*/こんにちは`.

use std::collections::HashSet;
use std::io::Write as _;
use std::time::Duration;

use tokio::io::AsyncBufReadExt as _;
use tokio::time::Instant;

use crate::client::{self, Disconnect, Event, JoinConfig, SendId};
use crate::protocol::{Addressed, Recipient};
use crate::text::escape_for_terminal as esc;

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

/// Joins `config.url`, printing to stdout and reading lines from stdin until either ends.
pub async fn run(config: JoinConfig) -> Outcome {
    println!("Connecting to {} …", config.url);
    let (handle, mut events) = client::connect(&tokio::runtime::Handle::current(), config, None);
    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    let mut stdin_open = true;
    let mut own_id: Option<String> = None;
    let mut sections = Sections::default();
    let mut pending: HashSet<SendId> = HashSet::new();
    // Set at the end of input while sends wait for their confirmation.
    let mut leave_by: Option<Instant> = None;
    loop {
        tokio::select! {
            event = events.recv() => {
                let Some(event) = event else { return Outcome::Left };
                if let Some(divider) = sections.before(&event) {
                    print_line(divider);
                }
                settle(&mut pending, &event);
                if leave_by.is_some() && pending.is_empty() {
                    leave_by = None;
                    handle.close();
                }
                if let Event::Disconnected { reason, retry_in: None } = &event {
                    print_line(&describe(&event, own_id.as_deref()));
                    return Outcome::of(reason);
                }
                if let Event::Connected { id, .. } = &event {
                    own_id.clone_from(id);
                }
                let line = describe(&event, own_id.as_deref());
                if !line.is_empty() {
                    print_line(&line);
                }
            }
            line = lines.next_line(), if stdin_open => match line {
                Ok(Some(line)) => {
                    let line = line.trim_end_matches(['\r', '\n']);
                    if line.trim().is_empty() {
                        continue;
                    }
                    match Addressed::parse(line) {
                        Ok(a) => {
                            pending.insert(handle.send(a.to, a.text));
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
                        if Some(c.id.as_str()) == own_id {
                            format!("{} (you)", c.id)
                        } else {
                            c.id.clone()
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
        Event::Joined(client) => format!("* {} joined", esc(&client.id)),
        Event::Left { id } => format!("* {} left", esc(id)),
        Event::Message(m) => {
            // Hardening (issue 12): text from others is shown with its control characters escaped.
            let from = esc(m.from.as_deref().unwrap_or("(someone)"));
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
        Event::Refused { message, .. } => format!("Error: {}", esc(message)),
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
