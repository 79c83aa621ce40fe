//! `classchat.v1` frames from a relay, as the client parses them.
#![no_main]

use classchat::protocol::ServerMessage;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|frame: &str| {
    if let Ok(message) = ServerMessage::parse(frame) {
        assert_eq!(ServerMessage::parse(&message.encode()), Ok(message));
    }
});
