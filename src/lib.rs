//! classchat: a classroom chat whose relay speaks the seed's WebSocket protocol.
//!
//! # Layout
//! Lower layers never import higher ones; docs/ARCHITECTURE.md walks through them.
//! - [`protocol`]: the wire, and nothing else: messages, the two [`protocol::Dialect`]s (seed
//!   text and `classchat.v1` JSON) with their encodings, the seed's two paths
//!   ([`protocol::Endpoint`]) and the close codes ([`protocol::Close`]). No I/O.
//! - [`relay`]: the WebSocket relay. [`relay::run`] is the one accept/stop loop, and
//!   [`relay::start`] spawns it and hands back a [`relay::RelayHandle`]. Inside: `http` (the
//!   handshake and its refusals), `connection` (one task per socket: back-pressure and the stall
//!   check), `peers` (IDs, sessions and resume, routing; pure), `history` (each room's numbered,
//!   bounded history), `classroom` (modes, hands, polls, the pinned message), `outbox` (a
//!   client's queue and its kill switch), `progress` (when a socket last took bytes), `limits`
//!   (rate limits, places, per-address caps, the join-code guard), `state` (what the tasks
//!   share, the counters, `/metrics`).
//! - [`hosting`]: bind, start the relay, the addresses students type, the mDNS announcement:
//!   the one way to host, used by `classchat serve` and the window.
//! - [`client`]: joining a relay (or the seed's Tornado server): a handle for requests and a
//!   stream of events, used by `classchat join` and the desktop app.
//! - [`terminal`]: `classchat join`, the chat in a terminal: `commands` (chat lines and the
//!   classroom's `/` commands) and `classroom` (how modes, polls, hands and pins are shown).
//! - [`lan`]: the addresses students type.
//! - [`journal`]: the host's session journal on disk, so a crash loses at most a second.
//! - [`discovery`]: announcing and finding chats on the LAN (mDNS / DNS-SD).
//! - [`names`]: nickname normalisation, reserved names and the comparison key.
//! - [`text`]: control characters in chat text: what the relay refuses, how screens escape.
//! - [`tls`]: rustls for both sides: the relay's certificate and key ([`tls::ServerTls`]), and
//!   which certificates a `wss://` client trusts ([`tls::Trust`]).
//! - [`transcript`]: transcript export as text and CSV. No egui.
//! - `bridge` (feature `gui`): where the window meets the network, its only door: `Backend`
//!   spawns hosting, joining and saving on the runtime and hands back handles, channels and
//!   promises; a relay watcher sends the host window roster, counter and removal changes as
//!   events and takes its kicks, mutes and readmissions as commands.
//! - `ui` (feature `gui`): the desktop window (eframe/egui), built on `bridge` only: shared
//!   modules (`command`, `i18n`, `state`, widgets) below panels, and `app` above them all.
//!
//! The binary (`src/main.rs`) only parses arguments and wires these together.

#[cfg(feature = "gui")]
pub mod bridge;
pub mod client;
pub mod discovery;
pub mod hosting;
pub mod journal;
pub mod lan;
pub mod names;
pub mod protocol;
pub mod relay;
pub mod terminal;
pub mod text;
pub mod tls;
pub mod transcript;
#[cfg(feature = "gui")]
pub mod ui;
