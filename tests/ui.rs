//! The desktop window driven by egui_kittest (no GPU, no display) against a real relay on
//! 127.0.0.1: a host window and a student window in the same test talk over WebSockets.
//!
//! Run: `cargo test --test ui`.

use std::time::{Duration, Instant};

mod window;

use classchat::bridge::{Backend, Disconnect, Recipient};
use classchat::ui::log::EntryKind;
use classchat::ui::state::ConnState;
use classchat::ui::{App, Lang, ModeKind, Settings};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use window::{harness, log_len, runtime, start_hosting, step_until_app};

fn english() -> Settings {
    Settings::for_lang(Lang::En)
}

fn window(rt: &tokio::runtime::Runtime, settings: Settings) -> Harness<'static, App> {
    harness(App::new(Backend::new(rt.handle().clone()), settings, None))
}

/// Focuses the field labelled `label`, selects what is in it and types `text` over it.
fn type_into(harness: &mut Harness<'_, App>, label: &str, text: &str) {
    harness.get_by_label(label).focus();
    harness.step();
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    harness.step();
    harness.get_by_label(label).type_text(text);
    harness.step();
    harness.step();
}

fn roster_has(app: &App, peer_id: &str) -> bool {
    app.chat()
        .and_then(|s| s.roster_ids())
        .is_some_and(|ids| ids.iter().any(|id| id == peer_id))
}

fn composer_text(app: &App) -> String {
    app.chat()
        .map(|s| s.composer.text.clone())
        .unwrap_or_default()
}

/// Types `line` into the message box and presses Enter: a hint containing `hint` shows and the
/// line stays in the box.
fn refused_with_hint(host: &mut Harness<'_, App>, line: &str, hint: &str) {
    type_into(host, "Message", line);
    host.key_press(egui::Key::Enter);
    host.step();
    host.step();
    host.get_by_label_contains(hint);
    assert_eq!(composer_text(host.state()), line);
}

/// Starts hosting from the start screen on a free port; returns the window and the port.
fn host(rt: &tokio::runtime::Runtime, name: &str) -> (Harness<'static, App>, u16) {
    let mut settings = english();
    settings.port = "0".to_owned();
    settings.host_name = name.to_owned();
    let mut host = window(rt, settings);
    let port = start_hosting(&mut host);
    let own = name.to_owned();
    step_until_app(&mut host, "the host in its own roster", move |app| {
        roster_has(app, &own)
    });
    (host, port)
}

/// Joins `127.0.0.1:port` from the start screen as `name`.
fn join(rt: &tokio::runtime::Runtime, port: u16, name: &str) -> Harness<'static, App> {
    let mut student = window(rt, english());
    type_into(&mut student, "Address", &format!("127.0.0.1:{port}"));
    type_into(&mut student, "Name (optional)", name);
    student.get_by_label("Join").click();
    let own = name.to_owned();
    step_until_app(&mut student, "the student connected", move |app| {
        app.mode() == ModeKind::Joined && roster_has(app, &own)
    });
    student
}

#[test]
fn host_and_student_chat_over_a_real_relay() {
    let rt = runtime();
    let (mut host, port) = host(&rt, "Sensei");
    host.get_by_label("Your ID: Sensei");
    // Roster and counters arrive as separate events from the relay's watcher.
    step_until_app(&mut host, "the counters show the host", |app| {
        app.relay_stats().is_some_and(|s| s.clients == 1)
    });
    assert!(
        host.query_all_by_label_contains("1 person connected")
            .count()
            >= 1
    );

    let mut student = join(&rt, port, "Taro");
    student.get_by_label("Your ID: Taro");
    assert!(roster_has(student.state(), "Sensei"));
    step_until_app(&mut host, "the student in the host's roster", |app| {
        roster_has(app, "Taro")
    });
    host.get_by_label("Sensei (you)");

    // Clicking a roster entry prefills `id/`.
    host.get_by_label("Taro").click();
    host.step();
    host.step();
    assert_eq!(composer_text(host.state()), "Taro/");

    // A private message typed as `id/text` arrives in the other window's log.
    host.get_by_label("Message").type_text("hello 花子, a/b");
    host.step();
    host.key_press(egui::Key::Enter);
    host.step();
    step_until_app(&mut student, "the message in the student's log", |app| {
        app.chat().is_some_and(|s| {
            s.log.entries().iter().any(|e| {
                e.kind
                    == EntryKind::Message {
                        from: Some("Sensei".into()),
                        to: Some(Recipient::Client("Taro".into())),
                        text: "hello 花子, a/b".into(),
                        own: false,
                    }
            })
        })
    });
    // The host sees its own message confirmed, marked as its own.
    step_until_app(&mut host, "the host's own message", |app| {
        app.chat().is_some_and(|s| {
            s.log
                .entries()
                .iter()
                .any(|e| matches!(&e.kind, EntryKind::Message { own: true, text, .. } if text == "hello 花子, a/b"))
        })
    });

    // The student answers everyone.
    type_into(&mut student, "Message", "*/みなさん、こんにちは");
    student.key_press(egui::Key::Enter);
    student.step();
    step_until_app(&mut host, "the broadcast in the host's log", |app| {
        app.chat()
            .is_some_and(|s| s.log.contains_text("みなさん、こんにちは"))
    });

    // Stopping the chat closes the student's connection with a clear reason.
    host.get_by_label("Stop hosting").click();
    step_until_app(&mut host, "the start screen", |app| {
        app.mode() == ModeKind::Start
    });
    step_until_app(&mut student, "the student disconnected", |app| {
        app.chat().is_some_and(|s| match &s.state {
            ConnState::Waiting { reason, .. } | ConnState::Stopped(reason) => {
                *reason == Disconnect::HostStopped
            }
            _ => false,
        })
    });
    assert!(
        student
            .query_all_by_label_contains("the host stopped the chat")
            .count()
            >= 1
    );
}

#[test]
fn invalid_input_is_refused_with_a_hint_and_kept() {
    let rt = runtime();
    let (mut host, _port) = host(&rt, "Sensei");
    let before = log_len(host.state());

    refused_with_hint(&mut host, "no slash here", "Write id/message");

    // An ID nobody has.
    refused_with_hint(&mut host, "Ken/hi", "Nobody with the ID “Ken” is connected");

    // Nothing after the slash.
    refused_with_hint(&mut host, "Sensei/   ", "Type a message after the /");

    // Nothing was sent: no new log rows arrive.
    std::thread::sleep(Duration::from_millis(200));
    host.step();
    assert_eq!(log_len(host.state()), before);
}

#[test]
fn tab_completes_ids() {
    let rt = runtime();
    let (mut host, port) = host(&rt, "Sensei");
    let _student = join(&rt, port, "Taro");
    step_until_app(&mut host, "the student in the roster", |app| {
        roster_has(app, "Taro")
    });
    type_into(&mut host, "Message", "ta");
    host.key_press(egui::Key::Tab);
    host.step();
    host.step();
    assert_eq!(composer_text(host.state()), "Taro/");
    // The suggestion buttons do the same.
    type_into(&mut host, "Message", "s");
    host.get_by_label("Sensei/").click();
    host.step();
    host.step();
    assert_eq!(composer_text(host.state()), "Sensei/");
}

#[test]
fn port_in_use_is_explained() {
    let rt = runtime();
    let taken = std::net::TcpListener::bind(("0.0.0.0", 0)).unwrap();
    let port = taken.local_addr().unwrap().port();
    let mut settings = english();
    settings.port = port.to_string();
    let mut host = window(&rt, settings);
    host.get_by_label("Start hosting").click();
    step_until_app(&mut host, "the error", |app| app.error().is_some());
    host.get_by_label_contains(&format!("Port {port} is already in use — pick another"));
    assert_eq!(host.state().mode(), ModeKind::Start);
}

#[test]
fn joining_nothing_says_so() {
    let rt = runtime();
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind(("127.0.0.1", 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut student = window(&rt, english());
    type_into(&mut student, "Address", &format!("127.0.0.1:{port}"));
    student.get_by_label("Join").click();
    step_until_app(&mut student, "the error", |app| app.error().is_some());
    student.get_by_label_contains(&format!("No classchat host at 127.0.0.1:{port}"));
    assert_eq!(student.state().mode(), ModeKind::Start);
}

#[test]
fn japanese_window() {
    let rt = runtime();
    let mut app = window(&rt, Settings::for_lang(Lang::Ja));
    app.step();
    app.get_by_label("チャットを開始");
    app.get_by_label("English").click();
    app.step();
    app.step();
    app.get_by_label("Start hosting");
    assert_eq!(app.state().settings.lang, Lang::En);
}

#[test]
fn a_hundred_thousand_messages_stay_smooth() {
    let rt = runtime();
    let (mut host, _port) = host(&rt, "Sensei");
    {
        let log = host.state_mut().log_mut().unwrap();
        for i in 0..100_000u64 {
            log.push(classchat::ui::log::Entry {
                ts: 1_700_000_000_000 + i,
                kind: EntryKind::Message {
                    from: Some("花子".into()),
                    to: Some(Recipient::Everyone),
                    text: format!("メッセージ {i} with some text that is long enough to matter"),
                    own: false,
                },
            });
        }
    }
    host.step();
    let start = Instant::now();
    for _ in 0..10 {
        host.step();
    }
    let per_frame = start.elapsed() / 10;
    assert!(
        per_frame < Duration::from_millis(100),
        "a frame took {per_frame:?}"
    );
    // The newest message is in view (stuck to the bottom).
    host.get_by_label_contains("メッセージ 99999 ");
}
