//! The desktop window (eframe/egui): start screen (with the chats found on the network and the
//! previous session), host panel (addresses, join link and QR code, relay counters), chat log,
//! roster, status bar.
//!
//! [`App`] holds the state and splits each frame into `logic` (drain network events, poll
//! promises) and `ui` (lay out panels, which return `Command`s, user actions as data, applied after
//! layout). Everything network goes through [`crate::bridge`].
//!
//! Modules, from the bottom:
//! - shared, egui-free: `command` (user actions), `i18n` (every sentence), `composer` (the
//!   message box's rules), [`log`] (rows and transcripts), [`state`] (settings and the chats'
//!   plain state), `saving` (one transcript save at a time and what its outcome says);
//! - shared widgets: `widgets`, `log_view` (a log as the central panel), [`share`] (join link
//!   and QR code), `nearby` (chats found on the network), `fonts`;
//! - panels, each built on the shared modules only: `start_screen`, `host_panel`,
//!   `messages_panel`, `roster_panel`, `status_bar`, `top_bar`, `previous`;
//! - `chrome` (fonts, zoom, caret, title), `mode` ([`Launch`], [`ModeKind`]) and `app`: [`App`], the only module that knows every
//!   panel.
//!
//! `tests/ui.rs` and `tests/ui_window.rs` drive the whole window with egui_kittest against real
//! relays.
//!
//! Try it: `cargo run` (or `cargo run -- --host --port 30005`).

mod app;
mod chrome;
mod classroom;
mod classroom_panel;
mod command;
mod composer;
mod fonts;
mod host_panel;
mod i18n;
pub mod log;
mod log_view;
mod messages_panel;
mod mode;
mod nearby;
mod previous;
mod roster_panel;
mod saving;
pub mod share;
mod start_screen;
pub mod state;
mod status_bar;
mod top_bar;
mod widgets;

pub use app::{APP_ID, App};
pub use i18n::Lang;
pub use mode::{Launch, ModeKind};
pub use state::Settings;
