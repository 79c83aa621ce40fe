//! The relay: accepts WebSocket clients on the seed's two paths and passes their messages on.
//!
//! Every caller runs the same [`run`]: `classchat serve` with Ctrl-C as its shutdown, the
//! desktop app through [`start`] and the [`RelayHandle`] it returns, tests with their own
//! signal. The caller binds the listener, so a port already in use is the caller's error to show.
//!
//! Try it: `cargo run -- serve --port 30005`, then `cargo run -- join localhost`.

mod connection;
mod guard;
mod http;
mod peers;
mod web;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use peers::{Room, RosterEntry, RouteError};

use crate::protocol::{HOST_ID, Recipient, now_ms};

/// Limits and options of a relay. `Default` gives the documented defaults.
#[derive(Clone, Debug)]
pub struct RelayConfig {
    /// Largest accepted message in bytes; larger ones close the connection with 1009.
    pub max_message_bytes: usize,
    /// Messages per second each client may send on average (0 = unlimited).
    pub rate_per_sec: f64,
    /// How many messages a client may send in a burst before the rate applies.
    pub rate_burst: u32,
    /// Most clients connected at once; more are refused with HTTP 503.
    pub max_clients: usize,
    /// Frames waiting for one client before it counts as not reading and is cut off.
    pub outbox_len: usize,
    /// Ping interval. A peer silent for two intervals is dropped, and so is one that accepts
    /// none of its pending frames for a whole interval.
    pub heartbeat: Duration,
    /// If set, clients must pass `?code=` with this value (else HTTP 401).
    pub join_code: Option<String>,
    /// If not empty, browsers must send one of these `Origin`s (else HTTP 403).
    pub allowed_origins: Vec<String>,
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
}

impl Default for RelayConfig {
    fn default() -> Self {
        Self {
            max_message_bytes: 64 * 1024,
            rate_per_sec: 5.0,
            rate_burst: 20,
            max_clients: 5_000,
            outbox_len: 128,
            heartbeat: Duration::from_secs(15),
            join_code: None,
            allowed_origins: Vec::new(),
            read_buffer_bytes: 1024,
            send_buffer_bytes: 64 * 1024,
            handshake_timeout: Duration::from_secs(10),
            max_pending_per_address: 64,
            metrics: false,
        }
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
}

/// A snapshot of the relay's health counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Clients connected now.
    pub clients: usize,
    /// Connections accepted since start.
    pub connections: u64,
    /// Chat messages accepted for delivery.
    pub messages: u64,
    /// Frames queued to recipients (one message to 30 clients counts 30).
    pub deliveries: u64,
    /// Handshakes refused (wrong code, full, bad origin, bad request).
    pub refused: u64,
    /// Clients cut off because they did not read.
    pub dropped_slow: u64,
    /// Messages refused by the rate limit.
    pub rate_limited: u64,
}

#[derive(Debug, Default)]
struct Counters {
    connections: AtomicU64,
    messages: AtomicU64,
    deliveries: AtomicU64,
    refused: AtomicU64,
    dropped_slow: AtomicU64,
    rate_limited: AtomicU64,
}

/// State every connection task shares.
#[derive(Debug)]
struct Shared {
    config: RelayConfig,
    /// The registry. A plain mutex: it is held only for lookups and `try_send`s, never across
    /// an `.await`.
    peers: Mutex<peers::Peers>,
    /// Live WebSocket connections, counted at the handshake so the limit is exact.
    live: AtomicUsize,
    counters: Counters,
    shutdown: CancellationToken,
    tasks: TaskTracker,
    guard: guard::AddressGuard,
}

impl Shared {
    fn peers(&self) -> MutexGuard<'_, peers::Peers> {
        // A panic while holding the lock cannot leave the map half-updated in a way that
        // matters more than stopping the relay would.
        self.peers.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn record(&self, delivery: peers::Delivery) {
        self.counters
            .deliveries
            .fetch_add(delivery.delivered, Ordering::Relaxed);
        if delivery.dropped_slow > 0 {
            self.counters
                .dropped_slow
                .fetch_add(delivery.dropped_slow, Ordering::Relaxed);
            tracing::warn!(
                count = delivery.dropped_slow,
                "cut off clients that stopped reading"
            );
        }
    }

    fn stats(&self) -> Stats {
        let c = &self.counters;
        Stats {
            clients: self.peers().len(),
            connections: c.connections.load(Ordering::Relaxed),
            messages: c.messages.load(Ordering::Relaxed),
            deliveries: c.deliveries.load(Ordering::Relaxed),
            refused: c.refused.load(Ordering::Relaxed),
            dropped_slow: c.dropped_slow.load(Ordering::Relaxed),
            rate_limited: c.rate_limited.load(Ordering::Relaxed),
        }
    }
}

/// The counters in the Prometheus text exposition format.
pub fn metrics_text(stats: &Stats) -> String {
    let rows: [(&str, &str, &str, u64); 7] = [
        (
            "classchat_clients",
            "gauge",
            "Clients connected now.",
            stats.clients as u64,
        ),
        (
            "classchat_connections_total",
            "counter",
            "Connections accepted.",
            stats.connections,
        ),
        (
            "classchat_messages_total",
            "counter",
            "Chat messages accepted for delivery.",
            stats.messages,
        ),
        (
            "classchat_deliveries_total",
            "counter",
            "Frames queued to recipients.",
            stats.deliveries,
        ),
        (
            "classchat_refused_total",
            "counter",
            "Connections refused at the handshake.",
            stats.refused,
        ),
        (
            "classchat_dropped_slow_total",
            "counter",
            "Clients cut off for not reading.",
            stats.dropped_slow,
        ),
        (
            "classchat_rate_limited_total",
            "counter",
            "Messages refused by the rate limit.",
            stats.rate_limited,
        ),
    ];
    let mut out = String::new();
    for (name, kind, help, value) in rows {
        out.push_str(&format!(
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n"
        ));
    }
    out
}

impl std::fmt::Display for Stats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} clients, {} connections, {} messages, {} deliveries, {} refused, {} dropped for slowness, {} rate-limited",
            self.clients,
            self.connections,
            self.messages,
            self.deliveries,
            self.refused,
            self.dropped_slow,
            self.rate_limited
        )
    }
}

/// Runs a relay on `listener` until `shutdown` resolves, then closes every client with 1001
/// and returns once no task of the relay is left.
pub async fn run(
    listener: TcpListener,
    config: RelayConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<(), RelayError> {
    let shared = new_shared(config);
    let token = shared.shutdown.clone();
    let serving = serve(listener, Arc::clone(&shared));
    tokio::pin!(serving);
    let result = tokio::select! {
        result = &mut serving => result,
        () = shutdown => Ok(()),
    };
    token.cancel();
    drain(&shared).await;
    result
}

/// Starts a relay on the current tokio runtime and returns its handle. Dropping the handle
/// stops the relay.
///
/// # Panics
/// Outside a tokio runtime, like `tokio::spawn`.
#[must_use = "dropping the handle stops the relay"]
pub fn start(listener: TcpListener, config: RelayConfig) -> RelayHandle {
    let local_addr = listener
        .local_addr()
        .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
    let shared = new_shared(config);
    let task_shared = Arc::clone(&shared);
    let task = tokio::spawn(async move {
        let result = tokio::select! {
            result = serve(listener, Arc::clone(&task_shared)) => result,
            () = task_shared.shutdown.cancelled() => Ok(()),
        };
        task_shared.shutdown.cancel();
        drain(&task_shared).await;
        if let Err(e) = result {
            tracing::error!("relay stopped: {e}");
        }
    });
    RelayHandle {
        shared,
        local_addr,
        task: Some(task),
    }
}

fn new_shared(config: RelayConfig) -> Arc<Shared> {
    Arc::new(Shared {
        config,
        peers: Mutex::default(),
        live: AtomicUsize::new(0),
        counters: Counters::default(),
        shutdown: CancellationToken::new(),
        tasks: TaskTracker::new(),
        guard: guard::AddressGuard::default(),
    })
}

async fn serve(listener: TcpListener, shared: Arc<Shared>) -> Result<(), RelayError> {
    let addr = listener
        .local_addr()
        .map_or_else(|_| "?".to_owned(), |a| a.to_string());
    tracing::info!(%addr, "relay listening");
    loop {
        let (stream, peer_addr) = match listener.accept().await {
            Ok(accepted) => accepted,
            // Out of file descriptors and similar: wait a moment instead of spinning.
            Err(e) if is_transient(&e) => {
                tracing::warn!("accept failed, retrying: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
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

async fn drain(shared: &Shared) {
    shared.tasks.close();
    shared.tasks.wait().await;
    tracing::info!("relay stopped");
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

    /// Disconnects a client (close code 1008). Returns whether it was connected.
    pub fn kick(&self, peer_id: &str) -> bool {
        let kicked = self.shared.peers().kick(peer_id);
        if kicked {
            tracing::info!(peer = peer_id, "kicked by the host");
        }
        kicked
    }

    /// Mutes or unmutes a client. Returns whether it was connected.
    pub fn set_muted(&self, peer_id: &str, muted: bool) -> bool {
        let found = self.shared.peers().set_muted(peer_id, muted);
        if found {
            tracing::info!(peer = peer_id, muted, "mute changed by the host");
        }
        found
    }

    /// Sends `text` into the addressed room as `host`.
    pub fn send_as_host(&self, to: Recipient, text: &str) -> Result<(), RouteError> {
        let delivery = self
            .shared
            .peers()
            .route(Room::Direct, HOST_ID, to, text, now_ms())?;
        self.shared
            .counters
            .messages
            .fetch_add(1, Ordering::Relaxed);
        self.shared.record(delivery);
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
