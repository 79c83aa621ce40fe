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
