//! Finding chats on the local network with mDNS / DNS-SD, so nobody has to dictate an address.
//!
//! A host announces the service type [`SERVICE_TYPE`] with the instructor's room name as the
//! instance name and these TXT keys:
//!
//! | key | value |
//! |---|---|
//! | `v` | protocol version, `1` |
//! | `path` | the WebSocket path, `/ws_multi_client_dict` |
//! | `code` | `1` if a join code is needed, else `0` |
//!
//! Networks that block multicast simply find nothing; typing the address still works.
//! Try it: host in the app, then `avahi-browse -r _classchat._tcp` on another machine.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};

use mdns_sd::{ServiceDaemon, ServiceEvent, ServiceInfo};

use crate::protocol::DIRECT_PATH;

/// The DNS-SD service type classchat hosts announce.
pub const SERVICE_TYPE: &str = "_classchat._tcp.local.";

/// Why discovery could not start.
#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    /// The mDNS daemon failed (no multicast-capable network, socket errors…).
    #[error("local network discovery is unavailable: {0}")]
    Mdns(#[from] mdns_sd::Error),
}

/// A chat being announced; dropping it withdraws the announcement.
pub struct Announcement {
    daemon: ServiceDaemon,
    fullname: String,
}

impl std::fmt::Debug for Announcement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Announcement")
            .field("fullname", &self.fullname)
            .finish_non_exhaustive()
    }
}

/// Announces a chat named `room_name` on `port` on every network interface.
pub fn announce(
    room_name: &str,
    port: u16,
    join_code_required: bool,
) -> Result<Announcement, DiscoveryError> {
    let daemon = ServiceDaemon::new()?;
    // A host name of its own avoids clashing with the machine's, which may already be announced.
    let host_name = format!("classchat-{:08x}.local.", rand::random::<u32>());
    let properties = [
        ("v", "1"),
        ("path", DIRECT_PATH),
        ("code", if join_code_required { "1" } else { "0" }),
    ];
    let name = room_name.trim();
    let name = if name.is_empty() { "classchat" } else { name };
    let info = ServiceInfo::new(SERVICE_TYPE, name, &host_name, "", port, &properties[..])?
        .enable_addr_auto();
    let fullname = info.get_fullname().to_owned();
    daemon.register(info)?;
    tracing::info!(name, port, "announced on the local network");
    Ok(Announcement { daemon, fullname })
}

impl Drop for Announcement {
    fn drop(&mut self) {
        // Best effort: the daemon may already be gone with the network.
        self.daemon.unregister(&self.fullname).ok();
        self.daemon.shutdown().ok();
    }
}

/// A chat found on the network.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FoundRoom {
    /// The room name the host chose.
    pub name: String,
    /// The announcing host's mDNS host name.
    pub host: String,
    /// Its addresses, IPv4 first.
    pub addresses: Vec<IpAddr>,
    /// The relay's port.
    pub port: u16,
    /// Whether a join code is needed.
    pub join_code_required: bool,
}

impl FoundRoom {
    /// What to put in the Join screen's address field: `ip:port`, preferring a LAN IPv4.
    pub fn address(&self) -> String {
        let best = self
            .addresses
            .iter()
            .find(|ip| ip.is_ipv4() && !ip.is_loopback())
            .or_else(|| self.addresses.iter().find(|ip| ip.is_ipv4()))
            .or_else(|| self.addresses.first());
        match best {
            Some(IpAddr::V6(ip)) => format!("[{ip}]:{}", self.port),
            Some(ip) => format!("{ip}:{}", self.port),
            None => format!("{}:{}", self.host.trim_end_matches('.'), self.port),
        }
    }
}

/// Listens for announced chats in the background.
pub struct Browser {
    daemon: ServiceDaemon,
    rooms: Arc<Mutex<BTreeMap<String, FoundRoom>>>,
}

impl std::fmt::Debug for Browser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Browser").finish_non_exhaustive()
    }
}

impl Browser {
    /// Starts browsing; `wake` is called whenever the list changes.
    pub fn start(wake: impl Fn() + Send + 'static) -> Result<Self, DiscoveryError> {
        let daemon = ServiceDaemon::new()?;
        let events = daemon.browse(SERVICE_TYPE)?;
        let rooms: Arc<Mutex<BTreeMap<String, FoundRoom>>> = Arc::default();
        let found = Arc::clone(&rooms);
        let spawned = std::thread::Builder::new()
            .name("mdns-browse".to_owned())
            .spawn(move || {
                // Ends when the daemon shuts down and closes the channel.
                while let Ok(event) = events.recv() {
                    let changed = {
                        let mut rooms = found.lock().unwrap_or_else(PoisonError::into_inner);
                        apply(&mut rooms, event)
                    };
                    if changed {
                        wake();
                    }
                }
            });
        if let Err(e) = spawned {
            tracing::warn!("could not start the discovery thread: {e}");
        }
        Ok(Self { daemon, rooms })
    }

    /// The chats found so far, by name.
    pub fn rooms(&self) -> Vec<FoundRoom> {
        self.rooms
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .cloned()
            .collect()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        self.daemon.shutdown().ok();
    }
}

fn instance_name(fullname: &str) -> String {
    let name = fullname
        .strip_suffix(SERVICE_TYPE)
        .map_or(fullname, |n| n.trim_end_matches('.'));
    name.replace("\\.", ".").replace("\\\\", "\\")
}

fn apply(rooms: &mut BTreeMap<String, FoundRoom>, event: ServiceEvent) -> bool {
    match event {
        ServiceEvent::ServiceResolved(service) => {
            let mut addresses: Vec<IpAddr> =
                service.addresses.iter().map(|a| a.to_ip_addr()).collect();
            addresses.sort_by_key(|ip| (!ip.is_ipv4(), ip.is_loopback(), *ip));
            addresses.dedup();
            let room = FoundRoom {
                name: instance_name(&service.fullname),
                host: service.host.clone(),
                addresses,
                port: service.port,
                join_code_required: service.get_property_val_str("code") == Some("1"),
            };
            rooms.insert(service.fullname.clone(), room.clone()) != Some(room)
        }
        ServiceEvent::ServiceRemoved(_, fullname) => rooms.remove(&fullname).is_some(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_names_are_unescaped() {
        assert_eq!(
            instance_name("数学 3年A組._classchat._tcp.local."),
            "数学 3年A組"
        );
        assert_eq!(instance_name("a\\.b._classchat._tcp.local."), "a.b");
    }

    #[test]
    fn address_prefers_lan_ipv4() {
        let room = FoundRoom {
            name: "r".into(),
            host: "h.local.".into(),
            addresses: vec![
                "::1".parse().unwrap(),
                "127.0.0.1".parse().unwrap(),
                "192.168.1.20".parse().unwrap(),
            ],
            port: 30005,
            join_code_required: false,
        };
        assert_eq!(room.address(), "192.168.1.20:30005");
    }
}
