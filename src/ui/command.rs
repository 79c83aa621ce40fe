//! [`Command`]: what the user did, as data. Panels push commands while they lay out;
//! [`App`](super::App) applies them after layout, sending network work to the bridge.

use super::classroom::Action;
use super::i18n::Lang;

/// A user action, produced during layout and applied after it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub enum Command {
    /// Start hosting with the start screen's settings.
    StartHosting,
    /// Join with the start screen's settings.
    Join,
    /// Join the same chat again with the new join code typed in the chat window (the host
    /// changed it; the log stays).
    Rejoin,
    /// Give up a join or host attempt that has not finished.
    Cancel,
    /// Stop hosting or leave; back to the start screen.
    Leave,
    /// Send what is in the message box.
    Send,
    /// Put `id/` in the message box.
    WriteTo(String),
    /// Complete the ID in the message box (Tab).
    Complete,
    /// Host: remove a client.
    Kick(String),
    /// Host: mute or unmute a client.
    SetMuted(String, bool),
    /// Host: let a removed person join again.
    Readmit(String),
    /// Save the log to a file.
    SaveTranscript,
    /// Switch the language.
    SetLang(Lang),
    /// Make a random six-digit join code.
    GenerateCode,
    /// Put text on the clipboard.
    Copy(String),
    /// Open an http(s) link in the system browser.
    OpenUrl(String),
    /// Scroll the log to the end.
    JumpToBottom,
    /// Fill the address with a chat found on the local network.
    PickNearby {
        /// The chat's `ip:port`.
        address: String,
        /// Whether it asks for a join code (focus goes to that field).
        join_code_required: bool,
    },
    /// Host: show or hide the QR code filling the window.
    ShowProjector(bool),
    /// Show the previous session's transcript.
    ViewPrevious,
    /// Ask the user before doing something that cannot be undone.
    Ask(Confirm),
    /// Close the question without doing anything.
    Dismiss,
    /// Host: stop the chat (after the user confirmed); its log stays on screen.
    StopHosting,
    /// Save the transcript into the documents folder (no dialog could be shown).
    SaveToDocuments,
    /// Raise a hand, vote, or (hosts) steer the room: modes, hands, the poll, the pin.
    Classroom(Action),
    /// Choose a certificate or key file for TLS (hosting, or joining), with a file dialog.
    PickTlsFile(TlsFile),
}

/// Which file of hosting with TLS a dialog picks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsFile {
    /// The PEM certificate (chain).
    Cert,
    /// Its PEM private key.
    Key,
    /// Joining: a certificate to trust besides the system's.
    Ca,
}

/// A question the window asks before acting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Confirm {
    /// Remove this client from the chat?
    Kick(String),
    /// Stop hosting?
    Stop,
    /// No save dialog could be shown: save into the documents folder?
    NoDialog,
}
