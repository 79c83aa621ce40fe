//! The address a student types into the Join screen.
#![no_main]

use classchat::client::parse_address;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &str| {
    if let Ok(url) = parse_address(input) {
        assert!(matches!(url.scheme(), "ws" | "wss"), "{url}");
        assert!(url.port_or_known_default().is_some());
        assert!(url.host_str().is_some_and(|h| !h.is_empty()));
        // The result is stable: parsing it again changes nothing. (A typed :80 or :443 is the
        // one exception: URLs drop the scheme's default port, so it reads as "no port" again.)
        if url.port().is_some() {
            assert_eq!(parse_address(url.as_str()).as_ref(), Ok(&url));
        }
    }
});
