//! Hosting a chat: bind the port, start the relay, work out the addresses students type and
//! announce the chat on the LAN. `classchat serve` and the window's host mode both call
//! [`host`], so the two cannot drift apart.
//!
//! Try it: `cargo run -- serve --port 0` prints what [`Hosting`] holds.

use std::net::{IpAddr, Ipv4Addr};

use crate::discovery::{self, Announcement, DiscoveryError};
use crate::relay::{self, RelayConfig, RelayHandle};

/// What to host.
#[derive(Clone, Debug)]
pub struct HostConfig {
    /// Address to listen on (unspecified: every network of this machine).
    pub bind: IpAddr,
    /// TCP port (0: any free port, for tests).
    pub port: u16,
    /// The relay's limits and options, the join code among them.
    pub relay: RelayConfig,
    /// Room name to announce on the local network (`None`: do not announce).
    pub announce_as: Option<String>,
}

impl HostConfig {
    /// Every network of this machine, on `port`, with the default relay and no announcement.
    pub fn new(port: u16) -> Self {
        Self {
            bind: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            port,
            relay: RelayConfig::default(),
            announce_as: None,
        }
    }
}

/// A running chat. Dropping it stops the relay and withdraws the announcement.
#[derive(Debug)]
#[must_use = "dropping it stops the chat"]
pub struct Hosting {
    /// The running relay.
    pub relay: RelayHandle,
    /// The port it listens on.
    pub port: u16,
    /// What students type (`address:port`), LAN IPv4 addresses first.
    pub addresses: Vec<String>,
    /// The announcement on the local network, if one was asked for; dropping it withdraws it.
    pub announcement: Option<Result<Announcement, DiscoveryError>>,
}

/// Why hosting did not start.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// Another program listens on the port.
    #[error("port {0} is already in use")]
    PortInUse(u16),
    /// Listening failed for another reason.
    #[error("cannot listen on port {port}: {source}")]
    Listen {
        /// The port asked for.
        port: u16,
        /// The cause.
        source: std::io::Error,
    },
    /// The background task ended without an answer (the runtime is shutting down).
    #[error("the background runtime stopped")]
    Stopped,
    /// The relay's limits cannot work (see [`RelayConfig::validate`]).
    #[error("{0}")]
    Config(#[from] relay::ConfigError),
    /// The certificate or its key cannot be used.
    #[error("{0}")]
    Tls(#[from] crate::tls::TlsError),
}

/// A fresh, unguessable host key for [`RelayConfig::host_token`].
pub fn new_host_key() -> String {
    relay::random_hex(32)
}

/// Connections the kernel may hold before the relay accepts them. The standard library's 128
/// drops SYNs when a whole class reconnects at once (after a Wi-Fi hiccup), and every dropped
/// one waits a second for its retry; the kernel caps it at `net.core.somaxconn`.
const LISTEN_BACKLOG: u32 = 1024;

/// A listening socket on `addr` with [`LISTEN_BACKLOG`].
fn listen(addr: std::net::SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    // As the standard library does: a restarted relay can take its port back at once.
    #[cfg(unix)]
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

/// Binds, starts the relay on the current runtime, and announces it when asked.
pub async fn host(config: HostConfig) -> Result<Hosting, HostError> {
    config.relay.validate()?;
    raise_file_limit();
    let listener = match listen(std::net::SocketAddr::new(config.bind, config.port)) {
        Ok(listener) => listener,
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
            return Err(HostError::PortInUse(config.port));
        }
        Err(source) => {
            return Err(HostError::Listen {
                port: config.port,
                source,
            });
        }
    };
    let port = listener.local_addr().map_or(config.port, |a| a.port());
    let code_required = config.relay.join_code.is_some();
    // The only way launching fails is a cluster that cannot be joined.
    let relay = relay::launch(listener, config.relay)
        .await
        .map_err(|e| relay::ConfigError::Cluster(e.to_string()))?;
    let (bind, room_name) = (config.bind, config.announce_as);
    // Interface enumeration and the mDNS daemon's sockets are blocking system calls; keep them
    // off the async workers.
    let (addresses, announcement) = tokio::task::spawn_blocking(move || {
        let addresses = if bind.is_unspecified() {
            crate::lan::join_addresses(port)
        } else {
            vec![format!("{bind}:{port}")]
        };
        let announcement = room_name.map(|room| discovery::announce(&room, port, code_required));
        (addresses, announcement)
    })
    .await
    .map_err(|_| HostError::Stopped)?;
    Ok(Hosting {
        relay,
        port,
        addresses,
        announcement,
    })
}

/// A relay for a whole school needs more sockets than the usual soft limit of 1024. Both
/// `serve` and the window host through [`host`], so both get it.
pub fn raise_file_limit() {
    #[cfg(unix)]
    if let Err(e) = rlimit::increase_nofile_limit(u64::MAX) {
        tracing::warn!("could not raise the open-file limit: {e}");
    }
}
