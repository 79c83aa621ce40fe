//! The desktop window (eframe/egui): start screen (with the chats found on the network and the
//! previous session), host panel (addresses, join link and QR code, relay counters), chat log,
//! roster, status bar.
//!
//! [`App`] holds the state and splits each frame into `logic` (drain network events, poll
//! promises) and `ui` (lay out panels, which return commands applied after layout). The log and
//! the message box are modelled in egui-free modules ([`log`], [`composer`]) that are unit
//! tested; `tests/ui.rs` drives the whole window with egui_kittest against a real relay.
//!
//! Try it: `cargo run` (or `cargo run -- --host --port 30005`).

pub mod app;
pub mod composer;
pub mod fonts;
pub mod host_panel;
pub mod i18n;
pub mod log;
pub mod messages_panel;
pub mod previous;
pub mod rooms;
pub mod roster_panel;
pub mod share;
pub mod start_screen;
pub mod state;
pub mod status_bar;

pub use app::{APP_ID, App, Command, Launch, ModeKind};
pub use i18n::Lang;
pub use state::Settings;
