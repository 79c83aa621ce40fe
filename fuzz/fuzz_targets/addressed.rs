//! The seed's `id/text` form, as the relay parses every legacy frame.
#![no_main]

use classchat::protocol::{Addressed, Recipient};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|line: &str| {
    if let Ok(a) = Addressed::parse(line) {
        // What was parsed must be exactly the line again.
        let to = match &a.to {
            Recipient::Everyone => "*",
            Recipient::Client(id) => id.as_str(),
        };
        assert_eq!(format!("{to}/{}", a.text), line);
        assert!(!a.text.trim().is_empty());
    }
});
