//! What the window test suites (`tests/ui.rs`, `tests/ui_window.rs`) share: a runtime for the
//! relays and clients, the window in an egui_kittest harness, and stepping it until something
//! holds.

use std::time::{Duration, Instant};

use classchat::ui::{App, ModeKind};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;

/// How long a network step may take before a test fails.
pub const TIMEOUT: Duration = Duration::from_secs(20);

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("relay-rt")
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// The window, driven frame by frame as eframe would: `logic`, then `ui`.
pub fn harness(app: App) -> Harness<'static, App> {
    Harness::builder()
        .with_size(egui::vec2(1100.0, 760.0))
        .build_ui_state(
            |ui, app: &mut App| {
                app.logic(ui.ctx());
                app.ui(ui);
            },
            app,
        )
}

/// Steps the window until `done` holds, sleeping a little between frames so events from the
/// runtime can arrive.
pub fn step_until(
    harness: &mut Harness<'_, App>,
    what: &str,
    done: impl Fn(&Harness<'_, App>) -> bool,
) {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        harness.step();
        if done(harness) {
            return;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// [`step_until`] with a condition on the app alone.
#[allow(dead_code)] // Not every suite needs it.
pub fn step_until_app(harness: &mut Harness<'_, App>, what: &str, done: impl Fn(&App) -> bool) {
    step_until(harness, what, |h| done(h.state()));
}

/// Rows in the log of the window's chat (0 outside a chat).
#[allow(dead_code)] // Not every suite needs it.
pub fn log_len(app: &App) -> usize {
    app.chat().map_or(0, |chat| chat.log.len())
}

/// Clicks Start hosting on the start screen and waits until the host is connected to its own
/// relay; returns the port the relay listens on.
pub fn start_hosting(harness: &mut Harness<'_, App>) -> u16 {
    harness.get_by_label("Start hosting").click();
    step_until_app(harness, "hosting", |app| {
        app.mode() == ModeKind::Hosting && app.chat().is_some_and(|c| c.state.connected())
    });
    harness.state().hosting_port().expect("hosting")
}

/// Clicks Stop hosting, then the same action in the question that follows, and waits until
/// the relay is gone (the window then shows the ended session's log).
#[allow(dead_code)] // Not every suite needs it.
pub fn stop_hosting(harness: &mut Harness<'_, App>) {
    // The header's button (a question closed a moment ago may still be fading out).
    harness
        .query_all_by_label("Stop hosting")
        .next()
        .expect("the header's Stop hosting button")
        .click();
    // The question appears after a sizing frame.
    for _ in 0..4 {
        harness.step();
    }
    let confirm = harness
        .query_all_by_label("Stop hosting")
        .last()
        .expect("the question's Stop hosting button");
    confirm.click();
    step_until_app(harness, "hosting stopped", |app| {
        app.mode() == ModeKind::Reviewing
    });
}

/// Whether `peer_id` is in the window's roster.
#[allow(dead_code)] // Not every suite needs it.
pub fn roster_has(app: &App, peer_id: &str) -> bool {
    app.chat()
        .and_then(|s| s.roster_ids())
        .is_some_and(|ids| ids.iter().any(|id| id == peer_id))
}
