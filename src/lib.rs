//! classchat: a classroom chat whose relay speaks the seed's WebSocket protocol.
//!
//! # Layout
//! - [`protocol`]: the wire messages, plain-text (seed) and `classchat.v1` JSON. No I/O.
//! - [`relay`]: the WebSocket relay behind `classchat serve` and the app's host mode.
//! - [`client`]: joining a relay (or the seed's Tornado server): a handle for commands and a
//!   stream of events, used by `classchat join` and the desktop app.
//! - [`terminal`]: `classchat join`, the chat in a terminal.
//! - [`lan`]: the addresses students type.
//! - [`journal`]: the host's session journal on disk, so a crash loses at most a second.
//! - [`discovery`]: announcing and finding chats on the LAN (mDNS / DNS-SD).
//! - [`names`]: nickname normalisation, reserved names and the comparison key.
//! - [`text`]: control characters in chat text: what the relay refuses, how screens escape.
//! - [`transcript`]: transcript export as text and CSV. No egui.
//! - `bridge` (feature `gui`): where the window meets the network, its only door: `Backend`
//!   spawns hosting, joining and saving on the runtime and hands back handles, channels and
//!   promises; a relay watcher sends the host window roster and counter changes as events and
//!   takes its kicks and mutes as commands.
//! - `ui` (feature `gui`): the desktop window (eframe/egui), built on `bridge` only: shared
//!   modules (`command`, `i18n`, `state`, widgets) below panels, and `app` above them all.

#[cfg(feature = "gui")]
pub mod bridge;
pub mod client;
pub mod discovery;
pub mod journal;
pub mod lan;
pub mod names;
pub mod protocol;
pub mod relay;
pub mod terminal;
pub mod text;
pub mod transcript;
#[cfg(feature = "gui")]
pub mod ui;
