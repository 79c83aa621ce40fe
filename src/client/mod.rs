//! Joining a relay.
