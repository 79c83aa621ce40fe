//! The addresses students on the local network can reach this machine at.

use std::net::Ipv4Addr;

/// Every non-loopback, non-link-local IPv4 address of this machine, sorted.
pub fn ipv4_addresses() -> Vec<Ipv4Addr> {
    let Ok(interfaces) = if_addrs::get_if_addrs() else {
        return Vec::new();
    };
    let mut found: Vec<Ipv4Addr> = interfaces
        .into_iter()
        .filter_map(|iface| match iface.ip() {
            std::net::IpAddr::V4(ip) if !ip.is_loopback() && !ip.is_link_local() => Some(ip),
            _ => None,
        })
        .collect();
    found.sort();
    found.dedup();
    found
}

/// What students type to join a relay on `port`: `ADDRESS:PORT` for every LAN address, or
/// `localhost:PORT` when the machine has none.
pub fn join_addresses(port: u16) -> Vec<String> {
    let addresses = ipv4_addresses();
    if addresses.is_empty() {
        return vec![format!("localhost:{port}")];
    }
    addresses.iter().map(|ip| format!("{ip}:{port}")).collect()
}
