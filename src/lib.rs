//! classchat: a classroom chat whose relay speaks the seed's WebSocket protocol.
//!
//! # Layout
//! - [`protocol`]: the wire messages, plain-text (seed) and `classchat.v1` JSON. No I/O.
//! - [`relay`]: the WebSocket relay behind `classchat serve` and the app's host mode.
//! - [`client`]: joining a relay (or the seed's Tornado server): a handle for commands and a
//!   stream of events, used by `classchat join` and the desktop app.
//! - [`terminal`]: `classchat join`, the chat in a terminal.
//! - [`lan`]: the addresses students type.
//! - [`discovery`]: announcing and finding chats on the LAN (mDNS / DNS-SD).

pub mod client;
pub mod discovery;
pub mod lan;
pub mod protocol;
pub mod relay;
pub mod terminal;
