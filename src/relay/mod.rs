//! The relay: accepts WebSocket clients on the seed's two paths and passes their messages on.
//!
//! Every caller runs the same accept-and-stop loop: [`run`] with a shutdown future of its own
//! (tests), or [`start`], which spawns it and returns a [`RelayHandle`] whose drop is the
//! shutdown (`classchat serve` and the window, both through [`crate::hosting`]). The caller
//! binds the listener, so a port already in use is the caller's error to show.
//!
//! Inside: `http` takes a TCP connection through the WebSocket handshake, `connection` runs
//! one client's socket, `peers` keeps the rooms and routes, `outbox` queues each client's
//! frames, `limits` holds every limit and `state` what all tasks share. With
//! [`RelayConfig::cluster`], `cluster` makes the relay one of several on a NATS server.
//!
//! Try it: `cargo run -- serve --port 30005`, then `cargo run -- join localhost`.

mod classroom;
mod cluster;
mod connection;
mod history;
mod http;
mod limits;
mod outbox;
mod peers;
mod progress;
mod state;
mod web;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt as _;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub use crate::protocol::Endpoint;
pub use classroom::NotAllowed;
pub use cluster::{ClusterConfig, ClusterError, ClusterStats};
pub(crate) use peers::random_hex;
pub use peers::{RosterEntry, RouteError};
pub use state::{Stats, metrics_text};

use state::Shared;

use crate::protocol::{CLIENT_MAX_FRAME_BYTES, HOST_ID, Recipient, RoomModes, now_ms};
use crate::tls::ServerTls;

/// Limits and options of a relay. `Default` gives the documented defaults.
#[derive(Clone, Debug)]
pub struct RelayConfig {
    /// Largest accepted message in bytes; larger ones close the connection with 1009.
    pub max_message_bytes: usize,
    /// Messages per second each client may send on average (0 = unlimited).
    pub rate_per_sec: f64,
    /// How many messages a client may send in a burst before the rate applies.
    pub rate_burst: u32,
    /// Bytes of chat text per second each client may send on average (0 = unlimited);
    /// refused like the message rate (`rate_limited`).
    pub rate_bytes_per_sec: u64,
    /// How many bytes a client may send in a burst before the byte rate applies.
    pub rate_bytes_burst: u64,
    /// Most clients connected at once; more are refused with HTTP 503.
    pub max_clients: usize,
    /// Most clients connected at once when a `classchat.v1` client asks to join; beyond it
    /// that client is refused with HTTP 503. Its `welcome` lists everyone in the room and must
    /// fit in [`CLIENT_MAX_FRAME_BYTES`]; seed clients get no welcome, so only `max_clients`
    /// limits them. At most [`max_clients_limit`].
    pub max_listed_clients: usize,
    /// Most live WebSockets from one address (an IPv6 /64 counts as one); more are refused
    /// with HTTP 429 (0 = no limit).
    pub max_per_address: u32,
    /// Frames waiting for one client beyond which whoever writes to it is paused.
    pub outbox_len: usize,
    /// Bytes waiting for one client beyond which whoever writes to it is paused.
    pub outbox_bytes: usize,
    /// A client whose socket accepts no bytes at all for this long while frames wait for it
    /// is cut off with 1013. It is also the longest a stopped reader delays its senders.
    pub stall: Duration,
    /// Messages each room keeps for late joiners and resuming clients.
    pub history: usize,
    /// Bytes of message text (and IDs) each room's history keeps at most.
    pub history_bytes: usize,
    /// Ping interval. A peer silent for two intervals is dropped.
    pub heartbeat: Duration,
    /// If set, clients must pass `?code=` with this value (else HTTP 401).
    pub join_code: Option<String>,
    /// If set, a client passing `?host=` with this value is the host: it may take the
    /// teacher's reserved names. A wrong value is refused like a wrong join code.
    pub host_token: Option<String>,
    /// The host's name, reserved for the host while the relay runs.
    pub host_name: Option<String>,
    /// Origins accepted besides the relay's own (an `Origin` whose host and port equal the
    /// request's `Host`); any other `Origin` is refused with HTTP 403. No `Origin` at all
    /// (native clients) is accepted.
    pub allowed_origins: Vec<String>,
    /// Host names accepted in `Host` besides IP literals, `localhost`, this machine's name and
    /// `.local` names (for a reverse proxy); any other is refused with HTTP 403, which stops
    /// DNS rebinding.
    pub allowed_hosts: Vec<String>,
    /// Distinct wrong join codes from one address (a repeated one counts once) that start its
    /// cool-down.
    pub wrong_codes_per_address: u32,
    /// How long an address waits (HTTP 429) after that many wrong codes.
    pub code_cooldown: Duration,
    /// Wrong join codes per minute from all addresses together before each further wrong
    /// code waits a second for its answer (0 = no budget).
    pub wrong_code_budget: u32,
    /// Refusals and rate-limited frames are logged once per address (or client) per interval,
    /// with a count of the rest.
    pub log_interval: Duration,
    /// tungstenite's read buffer per connection, in bytes.
    pub read_buffer_bytes: usize,
    /// The kernel's send buffer per connection, in bytes (0 = the system's automatic sizing).
    /// A fixed, modest buffer means a client that stops reading fills its outbox, and is cut
    /// off, after a few thousand chat messages rather than after megabytes.
    pub send_buffer_bytes: usize,
    /// Time allowed for a client to send its HTTP request.
    pub handshake_timeout: Duration,
    /// Connections from one address that may be in their HTTP phase at once.
    pub max_pending_per_address: u32,
    /// Serve the health counters at `/metrics` in the Prometheus text format.
    pub metrics: bool,
    /// Serve TLS on the port (`https://` and `wss://`) with this certificate; `None`: plain
    /// `http://` and `ws://`.
    pub tls: Option<ServerTls>,
    /// Run as one relay of a cluster on a NATS server ([`launch`] or [`run`] connect to it).
    pub cluster: Option<ClusterConfig>,
}

impl Default for RelayConfig {
    fn default() -> Self {
        Self {
            max_message_bytes: 64 * 1024,
            rate_per_sec: 5.0,
            rate_burst: 20,
            rate_bytes_per_sec: 64 * 1024,
            rate_bytes_burst: 256 * 1024,
            max_clients: 5_000,
            max_listed_clients: max_clients_limit(),
            max_per_address: 64,
            outbox_len: 128,
            outbox_bytes: 256 * 1024,
            stall: Duration::from_secs(5),
            history: 1_000,
            history_bytes: 4 * 1024 * 1024,
            heartbeat: Duration::from_secs(15),
            join_code: None,
            host_token: None,
            host_name: None,
            allowed_origins: Vec::new(),
            allowed_hosts: Vec::new(),
            wrong_codes_per_address: limits::MAX_WRONG_CODES,
            code_cooldown: Duration::from_secs(30),
            wrong_code_budget: 100,
            log_interval: Duration::from_secs(10),
            read_buffer_bytes: 1024,
            send_buffer_bytes: 64 * 1024,
            handshake_timeout: Duration::from_secs(10),
            max_pending_per_address: 64,
            metrics: false,
            tls: None,
            cluster: None,
        }
    }
}

/// The most bytes one client takes in the `welcome` frame's `clients` list: a 32-character
/// ID of 4-byte characters, a 20-digit time, its role and the JSON around them.
pub const WELCOME_BYTES_PER_CLIENT: usize = 208;
/// Room in the `welcome` frame for everything but the `clients` list.
const WELCOME_OVERHEAD: usize = 4 * 1024;
/// The longest heartbeat interval accepted: a day.
pub const MAX_HEARTBEAT: Duration = Duration::from_secs(24 * 60 * 60);

/// The largest `max_listed_clients` whose `welcome` frame still fits the clients' frame limit.
pub const fn max_clients_limit() -> usize {
    (CLIENT_MAX_FRAME_BYTES - WELCOME_OVERHEAD) / WELCOME_BYTES_PER_CLIENT
}

/// A [`RelayConfig`] the relay cannot run with.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ConfigError {
    /// So many listed clients that the `welcome` frame, which lists them all, could exceed
    /// the clients' frame limit.
    #[error(
        "at most {limit} listed clients: the welcome frame lists every client and must fit \
         in 1 MiB (asked for {max_listed_clients})"
    )]
    TooManyListed {
        /// What was asked for.
        max_listed_clients: usize,
        /// The largest that fits.
        limit: usize,
    },
    /// A rate that is not a finite number of zero or more.
    #[error("the message rate must be a number of messages per second, 0 or more (got {0})")]
    BadRate(f64),
    /// The cluster named by [`RelayConfig::cluster`] could not be joined.
    #[error("{0}")]
    Cluster(String),
    /// A heartbeat of zero, or longer than a day.
    #[error("the heartbeat must be between 1 second and 1 day (got {0:?})")]
    BadHeartbeat(Duration),
}

impl RelayConfig {
    /// Checks the values a relay cannot run with: `max_listed_clients` above
    /// [`max_clients_limit`], a NaN, infinite or negative rate, a heartbeat of zero or over
    /// [`MAX_HEARTBEAT`].
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.max_listed_clients > max_clients_limit() {
            return Err(ConfigError::TooManyListed {
                max_listed_clients: self.max_listed_clients,
                limit: max_clients_limit(),
            });
        }
        if !self.rate_per_sec.is_finite() || self.rate_per_sec < 0.0 {
            return Err(ConfigError::BadRate(self.rate_per_sec));
        }
        if self.heartbeat.is_zero() || self.heartbeat > MAX_HEARTBEAT {
            return Err(ConfigError::BadHeartbeat(self.heartbeat));
        }
        Ok(())
    }
}

/// Why the relay could not run.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// The listening socket failed.
    #[error("could not accept connections on {addr}: {source}")]
    Accept {
        /// The address listened on.
        addr: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The relay could not join its cluster.
    #[error(transparent)]
    Cluster(#[from] ClusterError),
}

/// Runs a relay on `listener` until `shutdown` resolves, then closes every client with 1001
/// and returns once no task of the relay is left.
pub async fn run(
    listener: TcpListener,
    config: RelayConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<(), RelayError> {
    let cluster = join_cluster(&config).await?;
    serve(listener, Shared::new(config, cluster), shutdown).await
}

/// Connects to the cluster's NATS server when `config` names one.
async fn join_cluster(config: &RelayConfig) -> Result<Option<cluster::Cluster>, ClusterError> {
    match &config.cluster {
        Some(cluster) => {
            let joined = cluster::Cluster::connect(cluster.clone(), config.history).await?;
            Ok(Some(joined))
        }
        None => Ok(None),
    }
}

/// Like [`start`], but first joins the cluster when `config` names one, and returns once
/// this relay has read the rooms' history from it.
pub async fn launch(listener: TcpListener, config: RelayConfig) -> Result<RelayHandle, RelayError> {
    let cluster = join_cluster(&config).await?;
    let handle = spawn(listener, Shared::new(config, cluster));
    if let Some(cluster) = &handle.shared.cluster {
        cluster.catch_up().await;
    }
    Ok(handle)
}

/// Starts [`run`] on the current tokio runtime and returns its handle. Dropping the handle
/// stops the relay. A relay of a cluster needs [`launch`], which connects first; `start`
/// runs it alone.
///
/// # Panics
/// Outside a tokio runtime, like `tokio::spawn`.
#[must_use = "dropping the handle stops the relay"]
pub fn start(listener: TcpListener, config: RelayConfig) -> RelayHandle {
    if config.cluster.is_some() {
        tracing::warn!("this relay runs alone: joining a cluster needs relay::launch");
    }
    spawn(listener, Shared::new(config, None))
}

fn spawn(listener: TcpListener, shared: Arc<Shared>) -> RelayHandle {
    let local_addr = listener
        .local_addr()
        .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
    let stop = shared.shutdown.clone().cancelled_owned();
    let task = tokio::spawn(serve(listener, Arc::clone(&shared), stop).map(|result| {
        if let Err(e) = result {
            tracing::error!("relay stopped: {e}");
        }
    }));
    RelayHandle {
        shared,
        local_addr,
        task: Some(task),
    }
}

/// Accepts until `shutdown` resolves or accepting fails, then cancels every connection and
/// waits for their tasks: the one place the relay starts and stops.
async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), RelayError> {
    let result = tokio::select! {
        result = accept(listener, Arc::clone(&shared)) => result,
        () = shared.housekeeping() => Ok(()),
        () = in_cluster(&shared) => Ok(()),
        () = shutdown => Ok(()),
    };
    shared.shutdown.cancel();
    shared.tasks.close();
    shared.tasks.wait().await;
    if let Some(cluster) = &shared.cluster {
        cluster.bye().await;
    }
    tracing::info!("relay stopped");
    result
}

async fn accept(listener: TcpListener, shared: Arc<Shared>) -> Result<(), RelayError> {
    let addr = listener
        .local_addr()
        .map_or_else(|_| "?".to_owned(), |a| a.to_string());
    tracing::info!(%addr, "relay listening");
    let mut backoff = limits::Backoff::default();
    loop {
        let (stream, peer_addr) = match listener.accept().await {
            Ok(accepted) => {
                if let Some(failures) = backoff.succeeded() {
                    tracing::info!(failures, "accepting connections again");
                }
                accepted
            }
            // Out of file descriptors and similar: wait, longer each time, instead of
            // spinning, and say so once per episode rather than once per attempt.
            Err(e) if is_transient(&e) => {
                let (wait, first) = backoff.failed();
                if first {
                    tracing::warn!("accept failed ({e}); retrying with a back-off of up to 1 s");
                }
                tokio::time::sleep(wait).await;
                continue;
            }
            Err(source) => return Err(RelayError::Accept { addr, source }),
        };
        let shared_for_task = Arc::clone(&shared);
        shared
            .tasks
            .spawn(http::serve_tcp(stream, peer_addr, shared_for_task));
    }
}

/// The cluster's background work, or nothing for a relay alone.
async fn in_cluster(shared: &Shared) {
    match &shared.cluster {
        Some(cluster) => cluster::run(cluster, shared).await,
        None => std::future::pending().await,
    }
}

fn is_transient(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        e.kind(),
        ConnectionAborted | ConnectionReset | Interrupted | WouldBlock | OutOfMemory
    ) || is_out_of_descriptors(e)
}

/// EMFILE and ENFILE: the process or system ran out of file descriptors, which passes.
#[cfg(unix)]
fn is_out_of_descriptors(e: &std::io::Error) -> bool {
    matches!(e.raw_os_error(), Some(23 | 24))
}

#[cfg(not(unix))]
fn is_out_of_descriptors(_: &std::io::Error) -> bool {
    false
}

/// The running relay, as the desktop app's host mode holds it. Dropping it stops the relay.
#[derive(Debug)]
#[must_use = "dropping the handle stops the relay"]
pub struct RelayHandle {
    shared: Arc<Shared>,
    local_addr: SocketAddr,
    task: Option<JoinHandle<()>>,
}

impl RelayHandle {
    /// The address the relay listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Everyone connected, in order of arrival.
    pub fn clients(&self) -> Vec<RosterEntry> {
        self.shared.peers().roster()
    }

    /// Disconnects a client (close code 1008) and keeps them out, by name and by session, until
    /// [`readmit`](Self::readmit). Returns whether it was connected.
    pub fn kick(&self, peer_id: &str) -> bool {
        let kicked = self.shared.peers().kick(peer_id);
        if kicked {
            tracing::info!(peer = peer_id, "kicked by the host");
        }
        kicked
    }

    /// The people the host removed and has not let back, by the ID they had.
    pub fn removed(&self) -> Vec<String> {
        self.shared.peers().removed()
    }

    /// Lets someone the host removed join again. Returns whether they were removed.
    pub fn readmit(&self, peer_id: &str) -> bool {
        let readmitted = self.shared.peers().readmit(peer_id);
        if readmitted {
            tracing::info!(peer = peer_id, "let back in by the host");
        }
        readmitted
    }

    /// Mutes or unmutes a client. Returns whether it was connected.
    pub fn set_muted(&self, peer_id: &str, muted: bool) -> bool {
        let found = self.shared.peers().set_muted(peer_id, muted);
        if found {
            tracing::info!(peer = peer_id, muted, "mute changed by the host");
        }
        found
    }

    /// The room's modes: whether students may write to everyone, and to each other.
    pub fn room_modes(&self) -> RoomModes {
        self.shared.peers().modes()
    }

    /// Sets the room's modes; every `classchat.v1` client is sent the new `room` notice if
    /// they changed. Hosts may always write to anyone.
    pub fn set_room_modes(&self, modes: RoomModes) {
        let delivery = self.shared.peers().set_modes(modes);
        self.shared.counters.delivered(&delivery);
        tracing::info!(
            student_broadcast = modes.student_broadcast,
            student_private = modes.student_private,
            "room modes set by the host"
        );
    }

    /// Sends `text` into the addressed room as `host`.
    pub fn send_as_host(&self, to: Recipient, text: &str) -> Result<(), RouteError> {
        // A message numbered here would take a number the cluster gives another.
        if self.shared.cluster.is_some() {
            return Err(RouteError::Clustered);
        }
        // The host's window never waits: a queue it congests is drained by its reader, and the
        // stall check cuts a reader that stops.
        let routed =
            self.shared
                .peers()
                .route(Endpoint::Direct, HOST_ID, to, text, None, now_ms())?;
        self.shared.counters.routed(&routed.delivery);
        Ok(())
    }

    /// Tasks the relay is running: one per open TCP connection, whatever its phase. Zero once
    /// everyone has left.
    pub fn tasks(&self) -> usize {
        self.shared.tasks.len()
    }

    /// The health counters.
    pub fn stats(&self) -> Stats {
        self.shared.stats()
    }

    /// Closes every client with 1001 and waits until the relay's tasks are gone.
    pub async fn shutdown(mut self) {
        self.shared.shutdown.cancel();
        if let Some(task) = self.task.take() {
            // A panicked relay task has nothing left to clean up.
            task.await.ok();
        }
    }
}

impl Drop for RelayHandle {
    fn drop(&mut self) {
        self.shared.shutdown.cancel();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{ClientInfo, ServerMessage};

    #[test]
    fn the_largest_welcome_fits_the_clients_frame_limit() {
        let widest = "\u{20bb7}".repeat(crate::protocol::MAX_NAME_CHARS);
        assert_eq!(widest.len(), 128);
        let clients = (0..max_clients_limit())
            .map(|_| ClientInfo {
                id: widest.clone(),
                since: u64::MAX,
                legacy: false,
                role: Some(crate::protocol::Role::Student),
            })
            .collect();
        let welcome = ServerMessage::Welcome {
            id: widest.clone(),
            clients,
            seq: Some(u64::MAX),
            epoch: Some("f".repeat(8)),
            resume: Some("f".repeat(32)),
            recovered: Some(false),
            role: Some(crate::protocol::Role::Student),
        }
        .encode();
        assert!(welcome.len() <= CLIENT_MAX_FRAME_BYTES, "{}", welcome.len());
    }

    #[test]
    fn validate_refuses_what_cannot_work() {
        let ok = RelayConfig::default();
        assert_eq!(ok.validate(), Ok(()));
        let seed_scale = RelayConfig {
            max_clients: 20_000,
            ..RelayConfig::default()
        };
        assert_eq!(seed_scale.validate(), Ok(()), "seed clients get no welcome");
        let too_many = RelayConfig {
            max_listed_clients: max_clients_limit() + 1,
            ..RelayConfig::default()
        };
        assert!(matches!(
            too_many.validate(),
            Err(ConfigError::TooManyListed { .. })
        ));
        for rate in [f64::NAN, f64::INFINITY, -1.0] {
            let bad = RelayConfig {
                rate_per_sec: rate,
                ..RelayConfig::default()
            };
            assert!(matches!(bad.validate(), Err(ConfigError::BadRate(_))));
        }
        let huge = RelayConfig {
            heartbeat: Duration::MAX,
            ..RelayConfig::default()
        };
        assert!(matches!(huge.validate(), Err(ConfigError::BadHeartbeat(_))));
    }
}
