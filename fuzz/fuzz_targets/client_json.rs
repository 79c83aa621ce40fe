//! `classchat.v1` frames from clients, as the relay parses them.
#![no_main]

use classchat::protocol::ClientMessage;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|frame: &str| {
    if let Ok(message) = ClientMessage::parse(frame) {
        // Anything accepted must survive a round trip unchanged.
        assert_eq!(ClientMessage::parse(&message.encode()), Ok(message));
    }
});
