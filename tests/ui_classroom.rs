//! The classroom in the window, driven by egui_kittest (no GPU, no display) against real relays
//! on 127.0.0.1: the host's hands queue, poll builder and pin, the student's hand button, poll
//! card and pinned banner, room modes near the message box, and a teacher who joins a relay
//! with its host key.
//!
//! Run: `cargo test --test ui_classroom`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod window;

use classchat::bridge::{Backend, RoomModes};
use classchat::relay::{self, RelayConfig};
use classchat::ui::log::EntryKind;
use classchat::ui::{App, Lang, ModeKind, Settings};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use window::{harness, roster_has, runtime, start_hosting, step_until, step_until_app};

fn window(rt: &tokio::runtime::Runtime, settings: Settings) -> Harness<'static, App> {
    harness(App::new(Backend::new(rt.handle().clone()), settings, None))
}

fn shows(harness: &Harness<'_, App>, text: &str) -> bool {
    harness.query_all_by_label_contains(text).next().is_some()
}

/// Focuses the field labelled `label` and types `text` into it.
fn type_into(harness: &mut Harness<'_, App>, label: &str, text: &str) {
    scroll_to(harness, label);
    harness.get_by_label(label).focus();
    harness.step();
    harness.get_by_label(label).type_text(text);
    harness.step();
    harness.step();
}

/// Scrolls the widget labelled `label` into view, as a user would, and lets the scrolling
/// animation finish.
fn scroll_to(harness: &mut Harness<'_, App>, label: &str) {
    harness.get_by_label(label).scroll_to_me();
    for _ in 0..40 {
        harness.step();
    }
}

/// Clicks the widget labelled `label` and runs the frames that apply the click.
fn click(harness: &mut Harness<'_, App>, label: &str) {
    scroll_to(harness, label);
    harness.get_by_label(label).click();
    harness.step();
    harness.step();
}

/// A host window on a free port, its host connected; and the port.
fn host(rt: &tokio::runtime::Runtime) -> (Harness<'static, App>, u16) {
    let mut settings = Settings::for_lang(Lang::En);
    settings.port = "0".to_owned();
    settings.host_name = "Sensei".to_owned();
    let mut host = window(rt, settings);
    let port = start_hosting(&mut host);
    step_until_app(&mut host, "the host in its own roster", |app| {
        roster_has(app, "Sensei")
    });
    click(&mut host, "Class controls");
    (host, port)
}

/// A window joined to `127.0.0.1:port` as `name`, in `lang`, with an optional host key.
fn join(
    rt: &tokio::runtime::Runtime,
    port: u16,
    name: &str,
    lang: Lang,
    host_key: Option<&str>,
) -> Harness<'static, App> {
    let mut settings = Settings::for_lang(lang);
    settings.address = format!("127.0.0.1:{port}");
    settings.name = name.to_owned();
    settings.host_key = host_key.unwrap_or_default().to_owned();
    let mut student = window(rt, settings);
    student.step();
    click(&mut student, lang_join(lang));
    let own = name.to_owned();
    step_until_app(&mut student, "the window joined", move |app| {
        app.mode() == ModeKind::Joined && roster_has(app, &own)
    });
    student
}

fn lang_join(lang: Lang) -> &'static str {
    match lang {
        Lang::En => "Join",
        Lang::Ja => "参加",
    }
}

fn hands(app: &App) -> Vec<String> {
    app.chat()
        .map(|c| c.classroom.hands.iter().map(|h| h.id.clone()).collect())
        .unwrap_or_default()
}

fn log_has(app: &App, needle: &str) -> bool {
    app.chat().is_some_and(|c| c.log.contains_text(needle))
}

#[test]
fn a_raised_hand_shows_in_the_host_queue_with_a_cue_and_can_be_lowered() {
    let rt = runtime();
    let (mut host, port) = host(&rt);
    let mut student = join(&rt, port, "Hanako", Lang::En, None);
    assert!(shows(&host, "No hands up"));

    click(&mut student, "✋ Raise hand");
    assert!(shows(&student, "Your hand is up"));
    step_until_app(&mut host, "the hand in the host's queue", |app| {
        hands(app) == ["Hanako"]
    });
    host.step();
    // The cue: a badge with the count, lit while the hand is fresh, and the window title.
    assert!(shows(&host, "✋ 1 hand up"));
    assert!(host.state().chat().unwrap().classroom.hand_cue());
    assert!(
        host.state().title().starts_with("✋1 "),
        "{}",
        host.state().title()
    );

    click(&mut host, "Lower");
    step_until_app(&mut host, "the queue empty again", |app| {
        hands(app).is_empty()
    });
    host.step();
    assert!(shows(&host, "No hands up"));
    assert!(!host.state().title().contains('✋'));
    // The relay tells the student the teacher lowered their hand.
    step_until_app(&mut student, "the student's hand down", |app| {
        app.chat().is_some_and(|c| !c.classroom.hand_up)
    });
    student.step();
    assert!(shows(&student, "✋ Raise hand"));

    // The student raises and lowers a hand of their own accord too.
    click(&mut student, "✋ Raise hand");
    step_until_app(&mut host, "raised again", |app| hands(app) == ["Hanako"]);
    click(&mut student, "Lower my hand");
    step_until_app(&mut host, "lowered by the student", |app| {
        hands(app).is_empty()
    });
    assert!(shows(&student, "✋ Raise hand"));
}

#[test]
fn a_poll_from_the_builder_shows_votes_in_the_bar_chart_and_the_result_everywhere() {
    let rt = runtime();
    let (mut host, port) = host(&rt);
    let mut student = join(&rt, port, "Taro", Lang::En, None);

    // Open stays disabled until there is a question and two answers.
    type_into(&mut host, "Question", "Next lesson?");
    type_into(&mut host, "Option 1", "Monday");
    click(&mut host, "Open poll");
    assert!(host.state().chat().unwrap().classroom.poll.is_none());
    click(&mut host, "Add option");
    type_into(&mut host, "Option 2", "Tuesday");
    type_into(&mut host, "Option 3", "Friday");
    click(&mut host, "Open poll");

    step_until(&mut student, "the poll card", |h| shows(h, "Next lesson?"));
    click(&mut student, "Tuesday");
    assert!(shows(&student, "You voted: Tuesday"));
    step_until(&mut host, "the vote in the chart", |h| {
        shows(h, "Tuesday: 1 vote") && shows(h, "1 person voted")
    });
    assert!(shows(&host, "Monday: 0 votes"));

    // A changed vote moves the bar.
    click(&mut student, "Friday");
    step_until(&mut host, "the changed vote", |h| {
        shows(h, "Friday: 1 vote") && shows(h, "Tuesday: 0 votes")
    });

    click(&mut host, "Close poll");
    step_until(&mut student, "the result on the student's card", |h| {
        shows(h, "Friday: 1 vote") && h.query_all_by_label("Monday").next().is_none()
    });
    let line = "Poll 1 results: Next lesson? 1) Monday: 0 2) Tuesday: 0 3) Friday: 1";
    step_until_app(&mut host, "the result in the host's log", |app| {
        log_has(app, line)
    });
    assert!(log_has(student.state(), line));
    // The result stays on the host's panel, above a fresh builder.
    host.step();
    assert!(shows(&host, "Result: Next lesson?"));
    assert!(shows(&host, "Open poll"));
    // The transcript has the poll as a readable line.
    let transcript = host.state().chat().unwrap().log.to_text();
    assert!(
        transcript.contains("  # Poll 1 opened: Next lesson? 1) Monday 2) Tuesday 3) Friday"),
        "{transcript}"
    );
    assert!(transcript.contains(&format!("  # {line}")), "{transcript}");
}

#[test]
fn a_pin_shows_as_a_banner_for_the_student_and_unpins() {
    let rt = runtime();
    let (mut host, port) = host(&rt);
    let mut student = join(&rt, port, "Ken", Lang::En, None);

    type_into(&mut host, "Text to pin", "Homework: p.12");
    click(&mut host, "Pin");
    step_until(&mut student, "the pinned banner", |h| {
        shows(h, "📌 Pinned:") && shows(h, "Homework: p.12")
    });
    step_until(&mut host, "the pin on the host's panel", |h| {
        shows(h, "Unpin")
    });
    // A student who joins later sees it at once.
    let mut late = join(&rt, port, "Mika", Lang::En, None);
    step_until(&mut late, "the banner for a late joiner", |h| {
        shows(h, "Homework: p.12")
    });

    click(&mut host, "Unpin");
    step_until(&mut student, "the banner gone", |h| !shows(h, "📌 Pinned:"));
    assert!(log_has(student.state(), "The pinned message was removed"));
}

#[test]
fn room_modes_stop_a_student_writing_to_everyone_and_say_why_in_japanese() {
    let rt = runtime();
    let (mut host, port) = host(&rt);
    let mut student = join(&rt, port, "花子", Lang::Ja, None);

    click(&mut host, "Students may write to everyone");
    step_until_app(&mut student, "the room's modes", |app| {
        !app.chat().unwrap().classroom.modes.student_broadcast
    });
    student.step();
    assert!(shows(&student, "全員へのメッセージは止められています"));

    // The window keeps a line it knows will be refused, and says why.
    type_into(&mut student, "メッセージ", "*/みなさん");
    student.key_press(egui::Key::Enter);
    student.step();
    student.step();
    assert!(shows(&student, "先生が全員へのメッセージを止めています"));
    assert_eq!(student.state().chat().unwrap().composer.text, "*/みなさん");

    // A send that races the change is refused by the relay: the reason shows in Japanese, not
    // the relay's English sentence.
    let chat = student.state_mut().chat_mut().unwrap();
    chat.classroom.modes = RoomModes::default();
    student.key_press(egui::Key::Enter);
    student.step();
    student.step();
    step_until_app(&mut student, "the refusal", |app| {
        log_has(
            app,
            "届きませんでした: 先生が全員へのメッセージを止めています",
        )
    });
    assert!(!log_has(student.state(), "turned off"));
    assert_eq!(student.state().chat().unwrap().composer.text, "*/みなさん");

    // Writing to the teacher is still allowed, and the teacher's reply carries the badge.
    type_into(&mut host, "Message", "花子/はい、どうぞ");
    host.key_press(egui::Key::Enter);
    host.step();
    host.step();
    step_until_app(&mut student, "the teacher's reply", |app| {
        app.chat().unwrap().log.entries().iter().any(|e| {
            e.from_host
                && matches!(&e.kind, EntryKind::Message { text, .. } if text == "はい、どうぞ")
        })
    });
}

#[test]
fn a_teacher_with_the_host_key_steers_a_served_relay_from_the_join_screen() {
    let rt = runtime();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind(("127.0.0.1", 0)))
        .unwrap();
    let port = listener.local_addr().unwrap().port();
    let config = RelayConfig {
        host_token: Some("k3y-for-tests".to_owned()),
        ..RelayConfig::default()
    };
    let _relay = rt.block_on(async { relay::start(listener, config) });

    let mut student = join(&rt, port, "Aki", Lang::En, None);
    assert!(!shows(&student, "Teacher's controls"));
    let mut teacher = join(&rt, port, "Mori", Lang::En, Some("k3y-for-tests"));
    teacher.step();
    assert!(teacher.state().chat().unwrap().is_host());
    assert!(shows(&teacher, "Teacher's controls"));
    // Others see the teacher badge in their roster.
    step_until_app(&mut student, "the teacher in the roster", |app| {
        roster_has(app, "Mori")
    });
    student.step();
    assert!(shows(&student, "Teacher"));

    click(&mut student, "✋ Raise hand");
    step_until_app(&mut teacher, "the hand", |app| hands(app) == ["Aki"]);
    type_into(&mut teacher, "Text to pin", "Quiet work until 10:30");
    click(&mut teacher, "Pin");
    step_until(&mut student, "the pin", |h| {
        shows(h, "Quiet work until 10:30")
    });

    // Mute from the roster goes to the relay as the host's `mute`.
    click(&mut teacher, "Mute Aki");
    type_into(&mut student, "Message", "Mori/hello");
    student.key_press(egui::Key::Enter);
    student.step();
    student.step();
    step_until_app(&mut student, "the muted refusal", |app| {
        app.chat().unwrap().muted
    });
}
