//! classchat: a classroom chat whose relay speaks the seed's WebSocket protocol.
//!
//! # Layout
//! - [`protocol`]: the wire messages, plain-text (seed) and `classchat.v1` JSON. No I/O.
//! - [`relay`]: the WebSocket relay behind `classchat serve` and the app's host mode.
//! - [`client`]: joining a relay (or the seed's Tornado server): a handle for commands and a
//!   stream of events, used by `classchat join` and the desktop app.

pub mod client;
pub mod protocol;
pub mod relay;
