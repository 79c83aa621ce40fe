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
//!
//! Anyone on the LAN can announce, so the browser lists at most [`MAX_ROOMS`] rooms and marks
//! each with [`FoundRoom::on_my_subnet`]: a room announced from outside this machine's own
//! subnets is suspicious (or at least not the classroom's).
//! Try it: host in the app, then `avahi-browse -r _classchat._tcp` on another machine.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};

use mdns_sd::{ServiceDaemon, ServiceEvent, ServiceInfo};

use crate::protocol::DIRECT_PATH;

/// The DNS-SD service type classchat hosts announce.
pub const SERVICE_TYPE: &str = "_classchat._tcp.local.";

/// Most rooms the browser keeps; announcements beyond it are ignored until one goes.
pub const MAX_ROOMS: usize = 50;

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
    /// Whether one of its addresses is on a subnet of this machine (or is this machine).
    /// A room that is not may be announced by someone else to lure students away.
    pub on_my_subnet: bool,
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
                    // Read per event: the machine may change networks while the window is open.
                    let nets = local_networks();
                    let changed = {
                        let mut rooms = found.lock().unwrap_or_else(PoisonError::into_inner);
                        apply(&mut rooms, event, &nets)
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

/// One network of this machine: an address and its netmask.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LocalNet {
    /// The machine's address on it.
    pub ip: IpAddr,
    /// Its netmask (same family as `ip`).
    pub netmask: IpAddr,
}

/// This machine's networks, from its interfaces.
pub fn local_networks() -> Vec<LocalNet> {
    let Ok(interfaces) = if_addrs::get_if_addrs() else {
        return Vec::new();
    };
    interfaces
        .into_iter()
        .map(|iface| match iface.addr {
            if_addrs::IfAddr::V4(v4) => LocalNet {
                ip: IpAddr::V4(v4.ip),
                netmask: IpAddr::V4(v4.netmask),
            },
            if_addrs::IfAddr::V6(v6) => LocalNet {
                ip: IpAddr::V6(v6.ip),
                netmask: IpAddr::V6(v6.netmask),
            },
        })
        .collect()
}

/// Whether `addr` is this machine or on one of `nets`.
pub fn on_subnet(addr: IpAddr, nets: &[LocalNet]) -> bool {
    if addr.is_loopback() {
        return true;
    }
    nets.iter().any(|net| match (addr, net.ip, net.netmask) {
        (IpAddr::V4(a), IpAddr::V4(ip), IpAddr::V4(mask)) => {
            u32::from(a) & u32::from(mask) == u32::from(ip) & u32::from(mask)
        }
        (IpAddr::V6(a), IpAddr::V6(ip), IpAddr::V6(mask)) => {
            u128::from(a) & u128::from(mask) == u128::from(ip) & u128::from(mask)
        }
        _ => false,
    })
}

fn apply(rooms: &mut BTreeMap<String, FoundRoom>, event: ServiceEvent, nets: &[LocalNet]) -> bool {
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
                on_my_subnet: service
                    .addresses
                    .iter()
                    .any(|a| on_subnet(a.to_ip_addr(), nets)),
            };
            if rooms.len() >= MAX_ROOMS && !rooms.contains_key(service.fullname.as_str()) {
                return false;
            }
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
            on_my_subnet: true,
        };
        assert_eq!(room.address(), "192.168.1.20:30005");
    }

    fn nets() -> Vec<LocalNet> {
        vec![
            LocalNet {
                ip: "192.168.1.7".parse().unwrap(),
                netmask: "255.255.255.0".parse().unwrap(),
            },
            LocalNet {
                ip: "fd00:1:2:3::7".parse().unwrap(),
                netmask: "ffff:ffff:ffff:ffff::".parse().unwrap(),
            },
        ]
    }

    #[test]
    fn rooms_off_the_subnet_are_told_apart() {
        let nets = nets();
        assert!(on_subnet("192.168.1.200".parse().unwrap(), &nets));
        assert!(on_subnet("127.0.0.1".parse().unwrap(), &nets));
        assert!(on_subnet("fd00:1:2:3::99".parse().unwrap(), &nets));
        assert!(!on_subnet("192.168.2.1".parse().unwrap(), &nets));
        assert!(!on_subnet("10.0.0.1".parse().unwrap(), &nets));
        assert!(!on_subnet("fd00:1:2:4::1".parse().unwrap(), &nets));
    }

    fn resolved(name: &str, ip: &str) -> ServiceEvent {
        let info = ServiceInfo::new(
            SERVICE_TYPE,
            name,
            "h.local.",
            ip,
            30005,
            &[("code", "0")][..],
        )
        .unwrap();
        ServiceEvent::ServiceResolved(Box::new(info.as_resolved_service()))
    }

    #[test]
    fn the_list_is_capped_and_marks_the_subnet() {
        let nets = nets();
        let mut rooms = BTreeMap::new();
        assert!(apply(&mut rooms, resolved("near", "192.168.1.20"), &nets));
        assert!(apply(&mut rooms, resolved("far", "10.9.8.7"), &nets));
        let near = rooms.values().find(|r| r.name == "near").unwrap();
        let far = rooms.values().find(|r| r.name == "far").unwrap();
        assert!(near.on_my_subnet);
        assert!(!far.on_my_subnet);
        for i in 0..MAX_ROOMS + 20 {
            apply(
                &mut rooms,
                resolved(&format!("room {i}"), "192.168.1.30"),
                &nets,
            );
        }
        assert_eq!(rooms.len(), MAX_ROOMS);
        // A room already listed still gets its updates.
        assert!(apply(&mut rooms, resolved("far", "192.168.1.99"), &nets));
        assert!(
            rooms
                .values()
                .find(|r| r.name == "far")
                .unwrap()
                .on_my_subnet
        );
    }
}
