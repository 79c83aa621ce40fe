//! What every connection task of one relay shares: the config, the peer registry, the limits
//! and the health counters, plus the counters' two outside forms ([`Stats`] for the host's
//! window and the log, [`metrics_text`] for `/metrics`).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::RelayConfig;
use super::cluster::{Cluster, ClusterStats};
use super::limits::{AddressGuard, LogThrottle, address_key};
use super::peers::{Delivery, Peers};

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
    /// The cluster's figures, for a relay of a cluster.
    pub cluster: Option<ClusterStats>,
}

/// The relay's health counters. Every count goes through one of these methods.
#[derive(Debug, Default)]
pub(super) struct Counters {
    connections: AtomicU64,
    messages: AtomicU64,
    deliveries: AtomicU64,
    refused: AtomicU64,
    dropped_slow: AtomicU64,
    rate_limited: AtomicU64,
}

impl Counters {
    /// A WebSocket connection joined.
    pub(super) fn connected(&self) {
        self.connections.fetch_add(1, Ordering::Relaxed);
    }

    /// A connection was refused before it became a WebSocket.
    pub(super) fn refused(&self) {
        self.refused.fetch_add(1, Ordering::Relaxed);
    }

    /// A message was refused by the rate limit.
    pub(super) fn rate_limited(&self) {
        self.rate_limited.fetch_add(1, Ordering::Relaxed);
    }

    /// A client whose socket accepted nothing for the stall timeout was dropped.
    pub(super) fn stalled(&self) {
        self.dropped_slow.fetch_add(1, Ordering::Relaxed);
    }

    /// A chat message was accepted and routed.
    pub(super) fn routed(&self, delivery: &Delivery) {
        self.messages.fetch_add(1, Ordering::Relaxed);
        self.delivered(delivery);
    }

    /// Frames were queued (a chat message, a join or a leave).
    pub(super) fn delivered(&self, delivery: &Delivery) {
        self.deliveries
            .fetch_add(delivery.delivered, Ordering::Relaxed);
    }
}

/// State every connection task shares.
#[derive(Debug)]
pub(super) struct Shared {
    /// Limits and options.
    pub(super) config: RelayConfig,
    /// The registry. A plain mutex: it is held only for lookups and `try_send`s, never across
    /// an `.await`.
    peers: Mutex<Peers>,
    /// Live WebSocket connections, counted at the handshake so the limit is exact.
    pub(super) live: AtomicUsize,
    /// The health counters.
    pub(super) counters: Counters,
    /// Cancelled when the relay stops.
    pub(super) shutdown: CancellationToken,
    /// Every task of the relay, so stopping can wait for them.
    pub(super) tasks: TaskTracker,
    /// Per-address limits at the handshake.
    pub(super) guard: AddressGuard,
    /// Log lines about refused handshakes, one per address and interval.
    pub(super) refusal_log: LogThrottle,
    /// Log lines about rate-limited frames, one per client and interval.
    pub(super) rate_log: LogThrottle,
    /// The cluster this relay belongs to, if any.
    pub(super) cluster: Option<Cluster>,
}

impl Shared {
    pub(super) fn new(config: RelayConfig, mut cluster: Option<Cluster>) -> Arc<Self> {
        let mut peers = Peers::new(config.history, config.history_bytes);
        peers.reserve_for_host(config.host_name.clone());
        if let Some(cluster) = &mut cluster {
            peers.set_epoch(cluster.epoch().to_owned());
            if let Some(classroom) = cluster.take_learned() {
                peers.set_classroom(classroom);
            }
        }
        Arc::new(Self {
            guard: AddressGuard::new(&config),
            refusal_log: LogThrottle::new(config.log_interval),
            rate_log: LogThrottle::new(config.log_interval),
            config,
            peers: Mutex::new(peers),
            live: AtomicUsize::new(0),
            counters: Counters::default(),
            shutdown: CancellationToken::new(),
            tasks: TaskTracker::new(),
            cluster,
        })
    }

    /// A message from `peer` was refused by the rate limit: counted, and logged at most once
    /// per client and interval (the rest are summed up by [`Shared::housekeeping`]).
    pub(super) fn rate_limited(&self, peer: &str) {
        self.counters.rate_limited();
        if self.rate_log.note(peer, Instant::now()) {
            tracing::info!(peer, "rate limit hit (further hits are summed up)");
        }
    }

    /// A connection from `peer_addr` was refused before it became a WebSocket: counted, and
    /// logged at most once per address and interval.
    pub(super) fn refused(&self, peer_addr: SocketAddr, why: &str) {
        self.counters.refused();
        let key = address_key(peer_addr.ip()).to_string();
        if self.refusal_log.note(&key, Instant::now()) {
            tracing::info!(%peer_addr, "refused: {why} (more from this address are summed up)");
        }
    }

    /// Work on a schedule, until the relay stops: forgets addresses the join-code guard no
    /// longer needs, and logs the counts the log throttles held back.
    pub(super) async fn housekeeping(&self) {
        // Each key's interval ends at its own time: look every second, so a summary comes at
        // most a second late.
        let every = self
            .config
            .log_interval
            .clamp(Duration::from_millis(100), Duration::from_secs(1));
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let now = Instant::now();
            self.guard.prune(now);
            for (address, count) in self.refusal_log.flush(now) {
                tracing::info!(%address, count, "refused {count} more handshakes from this address");
            }
            for (peer, count) in self.rate_log.flush(now) {
                tracing::info!(peer, count, "rate limit hit {count} more times");
            }
        }
    }

    pub(super) fn peers(&self) -> MutexGuard<'_, Peers> {
        // A panic while holding the lock cannot leave the map half-updated in a way that
        // matters more than stopping the relay would.
        self.peers.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn stats(&self) -> Stats {
        let c = &self.counters;
        Stats {
            clients: self.peers().len(),
            connections: c.connections.load(Ordering::Relaxed),
            messages: c.messages.load(Ordering::Relaxed),
            deliveries: c.deliveries.load(Ordering::Relaxed),
            refused: c.refused.load(Ordering::Relaxed),
            dropped_slow: c.dropped_slow.load(Ordering::Relaxed),
            rate_limited: c.rate_limited.load(Ordering::Relaxed),
            cluster: self.cluster.as_ref().map(Cluster::stats),
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
        push_metric(&mut out, name, kind, help, &value.to_string());
    }
    if let Some(cluster) = &stats.cluster {
        let rows: [(&str, &str, &str, String); 5] = [
            (
                "classchat_cluster_relays",
                "gauge",
                "Relays of the cluster seen alive, this one included.",
                cluster.relays.to_string(),
            ),
            (
                "classchat_cluster_nats_connected",
                "gauge",
                "1 while this relay is connected to the cluster's NATS server.",
                u8::from(cluster.connected).to_string(),
            ),
            (
                "classchat_cluster_nats_rtt_seconds",
                "gauge",
                "The last round trip to the NATS server.",
                format!("{:.6}", cluster.nats_rtt_us as f64 / 1e6),
            ),
            (
                "classchat_cluster_forwarded_out_total",
                "counter",
                "Chat messages this relay published to the cluster.",
                cluster.forwarded_out.to_string(),
            ),
            (
                "classchat_cluster_forwarded_in_total",
                "counter",
                "Chat messages from other relays delivered here.",
                cluster.forwarded_in.to_string(),
            ),
        ];
        for (name, kind, help, value) in rows {
            push_metric(&mut out, name, kind, help, &value);
        }
    }
    out
}

fn push_metric(out: &mut String, name: &str, kind: &str, help: &str, value: &str) {
    out.push_str(&format!(
        "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n"
    ));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_relay_of_a_cluster_reports_the_cluster_in_metrics() {
        let alone = metrics_text(&Stats::default());
        assert!(!alone.contains("classchat_cluster_"));
        let stats = Stats {
            cluster: Some(ClusterStats {
                relays: 3,
                connected: true,
                nats_rtt_us: 250,
                forwarded_out: 7,
                forwarded_in: 11,
            }),
            ..Stats::default()
        };
        let text = metrics_text(&stats);
        for line in [
            "classchat_cluster_relays 3",
            "classchat_cluster_nats_connected 1",
            "classchat_cluster_nats_rtt_seconds 0.000250",
            "classchat_cluster_forwarded_out_total 7",
            "classchat_cluster_forwarded_in_total 11",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "{line} missing from:\n{text}"
            );
        }
    }
}
