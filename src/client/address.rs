//! What a user types to join: `host`, `host:port` or a full `ws://` URL.

use url::Url;

use crate::protocol::{DEFAULT_PORT, DIRECT_PATH};

/// Why a typed address is not usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    /// Nothing typed.
    #[error("type the host's address, for example 192.168.1.20 or 192.168.1.20:30005")]
    Empty,
    /// Not a host, host:port or URL.
    #[error("“{0}” is not an address (try 192.168.1.20:30005)")]
    Invalid(String),
    /// `wss://`, `https://` or another scheme this build cannot speak.
    #[error("only ws:// addresses are supported, not {0}://")]
    UnsupportedScheme(String),
}

/// Turns what the user typed into the WebSocket URL to connect to.
///
/// A bare host gets port 30005; a URL without a path gets the addressed room's path, so
/// `10.0.0.5` becomes `ws://10.0.0.5:30005/ws_multi_client_dict`.
pub fn parse_address(input: &str) -> Result<Url, AddressError> {
    let input = input.trim();
    if input.is_empty() {
        return Err(AddressError::Empty);
    }
    let with_scheme = if input.contains("://") {
        input.to_owned()
    } else {
        format!("ws://{input}")
    };
    let mut url = Url::parse(&with_scheme).map_err(|_| AddressError::Invalid(input.to_owned()))?;
    match url.scheme() {
        "ws" => {}
        "http" => {
            url.set_scheme("ws")
                .map_err(|()| AddressError::Invalid(input.to_owned()))?;
        }
        other => return Err(AddressError::UnsupportedScheme(other.to_owned())),
    }
    if url.host_str().is_none_or(str::is_empty)
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return Err(AddressError::Invalid(input.to_owned()));
    }
    // Only a port the user left out gets the default; `url` hides a typed :80 the same way,
    // so look at what was typed.
    if url.port().is_none() && !typed_port(input) {
        url.set_port(Some(DEFAULT_PORT))
            .map_err(|()| AddressError::Invalid(input.to_owned()))?;
    }
    if url.path().is_empty() || url.path() == "/" {
        url.set_path(DIRECT_PATH);
    }
    url.set_fragment(None);
    Ok(url)
}

fn typed_port(input: &str) -> bool {
    let after_scheme = input.split_once("://").map_or(input, |(_, rest)| rest);
    let authority = after_scheme
        .split(['/', '?', '#'])
        .next()
        .unwrap_or_default();
    // After an IPv6 literal's `]`, or anywhere in a plain host.
    let tail = authority.rsplit_once(']').map_or(authority, |(_, t)| t);
    tail.contains(':')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_host_gets_port_and_path() {
        let url = parse_address(" 10.0.0.5 ").unwrap();
        assert_eq!(url.as_str(), "ws://10.0.0.5:30005/ws_multi_client_dict");
    }

    #[test]
    fn host_and_port() {
        let url = parse_address("localhost:4000").unwrap();
        assert_eq!(url.as_str(), "ws://localhost:4000/ws_multi_client_dict");
        let url = parse_address("example.org:80").unwrap();
        assert_eq!(url.port_or_known_default(), Some(80));
        let url = parse_address("[::1]:4000").unwrap();
        assert_eq!(url.as_str(), "ws://[::1]:4000/ws_multi_client_dict");
    }

    #[test]
    fn full_urls_keep_path_and_query() {
        let url = parse_address("ws://h:1/ws_multi_client?code=x").unwrap();
        assert_eq!(url.as_str(), "ws://h:1/ws_multi_client?code=x");
        let url = parse_address("http://h/").unwrap();
        assert_eq!(url.as_str(), "ws://h:30005/ws_multi_client_dict");
    }

    #[test]
    fn errors() {
        assert_eq!(parse_address(""), Err(AddressError::Empty));
        assert!(matches!(
            parse_address("wss://h"),
            Err(AddressError::UnsupportedScheme(s)) if s == "wss"
        ));
        assert!(matches!(
            parse_address("a b"),
            Err(AddressError::Invalid(_))
        ));
        assert!(matches!(
            parse_address("h:99999"),
            Err(AddressError::Invalid(_))
        ));
    }
}
