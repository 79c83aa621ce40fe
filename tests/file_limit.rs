//! Hosting raises the process's open-file limit, for `classchat serve` and the window alike
//! (both host through `hosting::host`), so a few hundred students do not run the relay out of
//! sockets. A test binary of its own: it changes a limit of the whole process.
//!
//! Run: `cargo test --test file_limit`.
#![cfg(unix)]
// Helpers outside #[test] functions unwrap too: a failed setup should fail the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::{IpAddr, Ipv4Addr};

use classchat::hosting::{self, HostConfig};
use rlimit::Resource;

#[tokio::test]
async fn hosting_raises_the_open_file_limit() {
    let (_, hard) = rlimit::getrlimit(Resource::NOFILE).unwrap();
    if hard <= 1024 {
        // Nothing to raise to: the check below could not fail. Say so rather than pass.
        panic!("the hard open-file limit is {hard}; this test needs one above 1024");
    }
    // The usual desktop default.
    rlimit::setrlimit(Resource::NOFILE, 1024, hard).unwrap();
    let mut config = HostConfig::new(0);
    config.bind = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let hosting = hosting::host(config).await.unwrap();
    let (soft, _) = rlimit::getrlimit(Resource::NOFILE).unwrap();
    assert!(soft > 1024, "soft limit still {soft}");
    hosting.relay.shutdown().await;
}
