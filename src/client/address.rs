//! What a user types to join: `host`, `host:port`, or a full `ws://`, `wss://`, `http://` or
//! `https://` URL (the last two as the join page's link reads: the chat is on the same port).

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
    /// A scheme other than `ws`, `wss`, `http` and `https`.
    #[error("only ws://, wss://, http:// and https:// addresses are supported, not {0}://")]
    UnsupportedScheme(String),
}

/// Turns what the user typed into the WebSocket URL to connect to.
///
/// A bare host gets port 30005; a URL without a path gets the addressed room's path, so
/// `10.0.0.5` becomes `ws://10.0.0.5:30005/ws_multi_client_dict`. `https://` (a relay with a
/// certificate) becomes `wss://`; its port too is 30005 unless typed.
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
    let websocket = match url.scheme() {
        "ws" | "wss" => None,
        "http" => Some("ws"),
        "https" => Some("wss"),
        other => return Err(AddressError::UnsupportedScheme(other.to_owned())),
    };
    if let Some(scheme) = websocket {
        url.set_scheme(scheme)
            .map_err(|()| AddressError::Invalid(input.to_owned()))?;
    }
    if url.host_str().is_none_or(str::is_empty)
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return Err(AddressError::Invalid(input.to_owned()));
    }
    // `url` hides a typed default port (:80, :443) the same way as a missing one; only a port
    // the user left out gets 30005.
    if url.port().is_none() && !typed_default_port(input, &url) {
        url.set_port(Some(DEFAULT_PORT))
            .map_err(|()| AddressError::Invalid(input.to_owned()))?;
    }
    if url.path().is_empty() || url.path() == "/" {
        url.set_path(DIRECT_PATH);
    }
    url.set_fragment(None);
    Ok(url)
}

/// Whether the user typed the scheme's default port (`:80`, or `:443` for `wss`/`https`),
/// which `url` hides the same way as a missing one.
fn typed_default_port(input: &str, url: &Url) -> bool {
    let port = match url.scheme() {
        "wss" => ":443",
        _ => ":80",
    };
    input.match_indices(port).any(|(at, m)| {
        input[at + m.len()..]
            .chars()
            .next()
            .is_none_or(|c| matches!(c, '/' | '?' | '#'))
    })
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
    fn tls_addresses_become_wss() {
        let url = parse_address("wss://chat.school.example").unwrap();
        assert_eq!(
            url.as_str(),
            "wss://chat.school.example:30005/ws_multi_client_dict"
        );
        let url = parse_address("https://10.0.0.5:30005/?code=1234").unwrap();
        assert_eq!(
            url.as_str(),
            "wss://10.0.0.5:30005/ws_multi_client_dict?code=1234"
        );
        let url = parse_address("https://chat.school.example:443").unwrap();
        assert_eq!(url.port_or_known_default(), Some(443));
        assert_eq!(url.scheme(), "wss");
        let url = parse_address("wss://h:1/ws_multi_client").unwrap();
        assert_eq!(url.as_str(), "wss://h:1/ws_multi_client");
    }

    #[test]
    fn empty_port_means_the_default_and_parsing_is_stable() {
        // Found by the join_address fuzz target.
        for input in ["ws://hws://h:1/x", "ws:/,/h://h:1/x"] {
            let url = parse_address(input).unwrap();
            assert_eq!(url.port(), Some(30005), "{input}");
            assert_eq!(parse_address(url.as_str()), Ok(url));
        }
    }

    #[test]
    fn errors() {
        assert_eq!(parse_address(""), Err(AddressError::Empty));
        assert!(matches!(
            parse_address("ftp://h"),
            Err(AddressError::UnsupportedScheme(s)) if s == "ftp"
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
