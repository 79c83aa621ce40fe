//! The relay: accepts WebSocket clients on the seed's two paths and passes their messages on.
//!
//! Every caller runs the same accept-and-stop loop: [`run`] with a shutdown future of its own
//! (tests), or [`start`], which spawns it and returns a [`RelayHandle`] whose drop is the
//! shutdown (`classchat serve` and the window, both through [`crate::hosting`]). The caller
//! binds the listener, so a port already in use is the caller's error to show.
//!
//! Inside: `http` takes a TCP connection through the WebSocket handshake, `connection` runs
//! one client's socket, `peers` keeps the rooms and routes, `outbox` queues each client's
//! frames, `limits` holds every limit and `state` what all tasks share.
//!
//! Try it: `cargo run -- serve --port 30005`, then `cargo run -- join localhost`.

mod connection;
mod http;
mod limits;
mod outbox;
mod peers;
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
pub use peers::{RosterEntry, RouteError};
pub use state::{Stats, metrics_text};

use state::Shared;

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

/// Runs a relay on `listener` until `shutdown` resolves, then closes every client with 1001
/// and returns once no task of the relay is left.
pub async fn run(
    listener: TcpListener,
    config: RelayConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<(), RelayError> {
    serve(listener, Shared::new(config), shutdown).await
}

/// Starts [`run`] on the current tokio runtime and returns its handle. Dropping the handle
/// stops the relay.
///
/// # Panics
/// Outside a tokio runtime, like `tokio::spawn`.
#[must_use = "dropping the handle stops the relay"]
pub fn start(listener: TcpListener, config: RelayConfig) -> RelayHandle {
    let local_addr = listener
        .local_addr()
        .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
    let shared = Shared::new(config);
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
        () = shutdown => Ok(()),
    };
    shared.shutdown.cancel();
    shared.tasks.close();
    shared.tasks.wait().await;
    tracing::info!("relay stopped");
    result
}

async fn accept(listener: TcpListener, shared: Arc<Shared>) -> Result<(), RelayError> {
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
            .route(Endpoint::Direct, HOST_ID, to, text, now_ms())?;
        self.shared.counters.routed(delivery);
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
