//! What the window is doing ([`Mode`]) and what the command line asked it to do at start
//! ([`Launch`]).

use poll_promise::Promise;

use super::command::Command;
use super::state::{Chat, HostChat, Settings};
use crate::bridge::{HostError, HostRequest, HostStarted};

/// What the command line asked the window to do at start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Launch {
    /// Start hosting at once.
    Host(HostRequest),
    /// Join at once.
    Join {
        /// Address as typed.
        address: String,
        /// Name to ask for.
        name: Option<String>,
        /// Join code.
        join_code: Option<String>,
    },
}

impl Launch {
    /// Fills `settings` from the command line and says what to do with them.
    pub fn into_command(self, settings: &mut Settings) -> Command {
        match self {
            Launch::Host(request) => {
                settings.port = request.port.to_string();
                settings.host_code = request.join_code.unwrap_or_default();
                settings.code_typed();
                if let Some(name) = request.name {
                    settings.host_name = name;
                }
                Command::StartHosting
            }
            Launch::Join {
                address,
                name,
                join_code,
            } => {
                settings.address = address;
                settings.name = name.unwrap_or_default();
                settings.join_code = join_code.unwrap_or_default();
                Command::Join
            }
        }
    }
}

/// What the window is doing.
#[derive(Default)]
pub enum Mode {
    /// The start screen.
    #[default]
    Start,
    /// Binding the port and starting the relay.
    StartingHost(Box<Promise<Result<HostStarted, HostError>>>),
    /// Hosting a chat.
    Hosting(Box<HostChat>),
    /// Joined (or joining: until the first connection the start screen shows a spinner).
    Joined(Box<Chat>),
    /// Viewing the previous session's transcript (read-only).
    Reviewing,
}

/// Which [`Mode`], without its data (for tests and the title).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModeKind {
    /// Start screen.
    Start,
    /// Starting the relay.
    StartingHost,
    /// Hosting.
    Hosting,
    /// Trying to join for the first time.
    Joining,
    /// Joined.
    Joined,
    /// Viewing the previous session.
    Reviewing,
}

impl Mode {
    /// The hosted chat, when hosting.
    pub fn host(&self) -> Option<&HostChat> {
        match self {
            Self::Hosting(host) => Some(host),
            _ => None,
        }
    }

    /// The chat session, when hosting or joined.
    pub fn chat(&self) -> Option<&Chat> {
        match self {
            Self::Hosting(host) => Some(&host.chat),
            Self::Joined(chat) => Some(chat),
            Self::Start | Self::StartingHost(_) | Self::Reviewing => None,
        }
    }

    /// The chat session, to change it.
    pub fn chat_mut(&mut self) -> Option<&mut Chat> {
        match self {
            Self::Hosting(host) => Some(&mut host.chat),
            Self::Joined(chat) => Some(chat),
            Self::Start | Self::StartingHost(_) | Self::Reviewing => None,
        }
    }

    /// Applies a host's or student's classroom command: kicks and mutes go through the relay
    /// when hosting and as the host's control messages when joined with the host key (the relay
    /// treats both alike); hands, votes, polls, pins and modes always go as control messages.
    /// Only the hosting window lists the removed, so only it readmits.
    pub fn steer(&mut self, command: Command) {
        match (self, command) {
            (Self::Hosting(host), Command::Kick(peer_id)) => host.kick(peer_id),
            (Self::Hosting(host), Command::SetMuted(peer_id, muted)) => {
                host.set_muted(peer_id, muted);
            }
            (Self::Hosting(host), Command::Readmit(peer_id)) => host.host.readmit(&peer_id),
            (Self::Joined(chat), Command::Kick(peer_id)) => chat.kick(peer_id),
            (Self::Joined(chat), Command::SetMuted(peer_id, muted)) => {
                chat.set_muted(peer_id, muted);
            }
            (mode, Command::Classroom(action)) => {
                if let Some(chat) = mode.chat_mut() {
                    chat.classroom_action(action);
                }
            }
            _ => {}
        }
    }
}
