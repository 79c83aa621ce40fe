//! Announce a chat and find it again over multicast DNS on this machine's interfaces.
// Helpers outside #[test] functions unwrap too: a failed setup should fail the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use classchat::discovery::{Browser, announce};

fn wait_for(browser: &Browser, what: impl Fn(&[classchat::discovery::FoundRoom]) -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if what(&browser.rooms()) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

#[test]
fn announced_room_is_found_and_withdrawn() {
    let name = format!("数学 3年A組 {}", std::process::id());
    let browser = Browser::start(|| {}).expect("browser starts");
    let announcement = announce(&name, 41234, true).expect("announce");
    assert!(
        wait_for(&browser, |rooms| rooms.iter().any(|r| r.name == name
            && r.port == 41234
            && r.join_code_required
            && !r.addresses.is_empty())),
        "room not found; saw {:?}",
        browser.rooms()
    );
    let found = browser
        .rooms()
        .into_iter()
        .find(|r| r.name == name)
        .unwrap();
    assert!(found.address().ends_with(":41234"), "{}", found.address());
    assert!(
        found.on_my_subnet,
        "a room on this machine is on its subnet: {found:?}"
    );
    drop(announcement);
    assert!(
        wait_for(&browser, |rooms| !rooms.iter().any(|r| r.name == name)),
        "room still listed after the host stopped"
    );
}
