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
use window::{harness, log_len, roster_has, runtime, start_hosting, step_until_app, stop_hosting};

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

    // Stopping asks first: Cancel keeps the chat running.
    host.get_by_label("Stop hosting").click();
    for _ in 0..4 {
        host.step();
    }
    host.get_by_label_contains("Stop hosting? Every student is disconnected.");
    host.get_by_label("Cancel").click();
    for _ in 0..4 {
        host.step();
    }
    assert_eq!(host.state().mode(), ModeKind::Hosting);

    // Stopping the chat closes the student's connection with a clear reason, and the host
    // still sees the lesson's log until leaving it.
    stop_hosting(&mut host);
    host.step();
    host.get_by_label("The chat has ended");
    assert!(
        host.query_all_by_label_contains("みなさん、こんにちは")
            .next()
            .is_some(),
        "the log stays on screen after Stop"
    );
    host.get_by_label("Back to start").click();
    host.step();
    assert_eq!(host.state().mode(), ModeKind::Start);
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

    // Once the recipient is written, Tab leaves the box for the next control.
    host.key_press(egui::Key::Tab);
    host.step();
    host.step();
    assert!(!message_box_focused(&host), "Tab moves on after `id/`");
    assert_eq!(composer_text(host.state()), "Sensei/");

    // Esc leaves the box, and the window does not take the focus back.
    host.get_by_label("Message").focus();
    host.step();
    assert!(message_box_focused(&host));
    host.key_press(egui::Key::Escape);
    for _ in 0..3 {
        host.step();
    }
    assert!(!message_box_focused(&host), "Esc leaves the message box");
}

fn message_box_focused(harness: &Harness<'_, App>) -> bool {
    harness.get_by_label("Message").is_focused()
}

/// What a label node says (a label's text is its value in the accessibility tree).
fn node_text(node: &egui_kittest::Node<'_>) -> String {
    use egui_kittest::kittest::NodeT as _;
    let node = node.accesskit_node();
    node.value().or_else(|| node.label()).unwrap_or_default()
}

/// Adds a message from 花子 to everyone straight to the window's log.
fn push_message(harness: &mut Harness<'_, App>, text: &str) {
    let log = harness.state_mut().log_mut().expect("a chat");
    log.push(classchat::ui::log::Entry::new(
        1_700_000_000_000,
        EntryKind::Message {
            from: Some("花子".into()),
            to: Some(Recipient::Everyone),
            text: text.to_owned(),
            own: false,
        },
    ));
}

#[test]
fn long_and_multi_line_messages_show_whole() {
    let rt = runtime();
    let (mut host, _port) = host(&rt, "Sensei");
    let long: String = (0..1000)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    let lines: Vec<String> = (1..=10)
        .map(|i| format!("line {i} of the snippet"))
        .collect();
    let multi = lines.join("\n");
    push_message(&mut host, &long);
    push_message(&mut host, &multi);
    push_message(
        &mut host,
        "資料: https://example.org/lesson?id=7 を見てください 😀👍",
    );
    for _ in 0..4 {
        host.step();
    }
    let message_box = host.get_by_label("Message").rect();
    let window = egui::Rect::from_min_size(egui::Pos2::ZERO, egui::vec2(1100.0, 760.0));
    let body = host
        .ctx
        .fonts_mut(|f| f.row_height(&egui::FontId::proportional(15.0)));
    for (text, min_lines) in [(&long, 8.0), (&multi, 10.0)] {
        let row = host.get_by_label_contains(&text[text.len() - 40..]);
        let label = node_text(&row);
        assert!(
            label.contains(text.as_str()),
            "the whole text is in the row: {label:?}"
        );
        let rect = row.rect();
        assert!(
            rect.height() >= min_lines * body,
            "{} points high for {min_lines} lines",
            rect.height()
        );
        assert!(window.contains_rect(rect), "{rect:?} is inside the window");
        assert!(
            rect.bottom() <= message_box.top(),
            "{rect:?} is above the message box"
        );
    }

    let row = host.get_by_label_contains("https://example.org/lesson?id=7");
    let text = node_text(&row);
    assert!(
        text.contains("を見てください 😀👍"),
        "emoji render (no tofu panic): {text:?}"
    );
    // Right click: the row's menu copies the message.
    row.click_secondary();
    host.step();
    host.step();
    host.get_by_label("Copy message").click();
    host.step();
    let copied = host.output().platform_output.commands.iter().any(|c| {
        matches!(c, egui::OutputCommand::CopyText(t) if t.contains("https://example.org/lesson?id=7"))
    });
    assert!(copied, "Copy message puts the text on the clipboard");
}

#[test]
fn shift_enter_adds_a_line_and_enter_sends_both() {
    let rt = runtime();
    let (mut host, _port) = host(&rt, "Sensei");
    type_into(&mut host, "Message", "*/fn main() {");
    host.key_press_modifiers(egui::Modifiers::SHIFT, egui::Key::Enter);
    host.step();
    host.get_by_label("Message")
        .type_text("    println!(\"hi\");");
    host.step();
    assert_eq!(
        composer_text(host.state()),
        "*/fn main() {\n    println!(\"hi\");"
    );
    host.key_press(egui::Key::Enter);
    host.step();
    step_until_app(&mut host, "both lines as one message", |app| {
        app.chat().is_some_and(|s| {
            s.log.entries().iter().any(|e| {
                matches!(&e.kind, EntryKind::Message { own: true, text, .. }
                    if text == "fn main() {\n    println!(\"hi\");")
            })
        })
    });
    assert_eq!(composer_text(host.state()), "");
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
            log.push(classchat::ui::log::Entry::new(
                1_700_000_000_000 + i,
                EntryKind::Message {
                    from: Some("花子".into()),
                    to: Some(Recipient::Everyone),
                    text: format!("メッセージ {i} with some text that is long enough to matter"),
                    own: false,
                },
            ));
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

#[test]
fn a_small_window_keeps_half_its_width_for_the_log() {
    let rt = runtime();
    let (mut host, port) = host(&rt, "Sensei");
    let _student = join(&rt, port, "Taro");
    step_until_app(&mut host, "the student in the roster", |app| {
        roster_has(app, "Taro")
    });
    host.set_size(egui::vec2(800.0, 600.0));
    push_message(&mut host, &"wrap ".repeat(300));
    for _ in 0..4 {
        host.step();
    }
    // A long message wraps at the log's width, less the row's padding and the scroll bar.
    let row = host.get_by_label_contains("wrap wrap wrap");
    let width = row.rect().width();
    assert!(
        width + 30.0 >= 400.0,
        "the log is about {width} points wide"
    );

    // At 640×480 the header's rows do not overlap and the message box stays in the window.
    host.set_size(egui::vec2(640.0, 480.0));
    for _ in 0..4 {
        host.step();
    }
    let id = host.get_by_label("Your ID: Sensei").rect();
    let stop = host.get_by_label("Stop hosting").rect();
    assert!(!id.intersects(stop), "{id:?} overlaps {stop:?}");
    let window = egui::Rect::from_min_size(egui::Pos2::ZERO, egui::vec2(640.0, 480.0));
    assert!(window.contains_rect(host.get_by_label("Send").rect()));
    assert!(window.contains_rect(host.get_by_label("Message").rect()));
}

#[test]
fn zoom_keys_change_the_zoom_and_it_is_remembered() {
    let rt = runtime();
    let mut first = window(&rt, english());
    first.step();
    first.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Plus);
    first.step();
    first.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Plus);
    first.step();
    first.step();
    let zoomed = first.state().settings.zoom_percent;
    assert!(zoomed > 100, "Ctrl+ zooms in: {zoomed}%");

    // The next start (settings restored) opens at the same zoom.
    let mut next = window(&rt, first.state().settings.clone());
    next.step();
    next.step();
    let factor = next.ctx.zoom_factor();
    assert!((factor * 100.0 - f32::from(zoomed)).abs() < 0.6, "{factor}");
    next.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Num0);
    next.step();
    next.step();
    assert_eq!(next.state().settings.zoom_percent, 100, "Ctrl 0 resets");
}

#[test]
fn switching_language_rewrites_the_logs_own_lines() {
    let rt = runtime();
    let (mut host, port) = host(&rt, "Sensei");
    let _taro = join(&rt, port, "Taro");
    let _hana = join(&rt, port, "Hana");
    step_until_app(&mut host, "both students in the roster", |app| {
        roster_has(app, "Taro") && roster_has(app, "Hana")
    });
    host.step();
    // Two students arriving share one row.
    host.get_by_label_contains("2 people joined: Taro, Hana");
    host.get_by_label("日本語").click();
    for _ in 0..3 {
        host.step();
    }
    host.get_by_label_contains("2 人が参加しました: Taro, Hana");
    assert!(
        host.query_all_by_label_contains("people joined")
            .next()
            .is_none(),
        "no English line is left in the log"
    );
}

#[test]
fn a_lecture_hall_roster_is_searchable_and_lays_out_only_what_shows() {
    let rt = runtime();
    let (mut host, _port) = host(&rt, "Sensei");
    {
        let chat = host.state_mut().chat_mut().expect("a chat");
        let roster = chat.roster.as_mut().expect("a roster");
        for i in 0..1000 {
            roster.push(classchat::bridge::ClientInfo {
                id: format!("student{i:04}"),
                since: 1_700_000_000_000,
                legacy: false,
                role: None,
            });
        }
    }
    for _ in 0..3 {
        host.step();
    }
    host.get_by_label_contains("People (1001)");
    let laid_out = host.query_all_by_label_contains("student0").count();
    assert!(
        (5..200).contains(&laid_out),
        "{laid_out} roster rows laid out for 1,001 people"
    );
    host.get_by_label("Search names").focus();
    host.step();
    host.get_by_label("Search names").type_text("0999");
    for _ in 0..3 {
        host.step();
    }
    host.get_by_label("student0999");
    assert!(host.query_all_by_label("student0998").next().is_none());
    // Suggestions under the message box follow what is typed, not the first names.
    type_into(&mut host, "Message", "student099");
    host.get_by_label("student0990/");
    host.get_by_label("… +2");
    assert!(host.query_all_by_label("student0001/").next().is_none());
}

#[test]
fn the_caret_stops_blinking_when_the_user_is_idle() {
    let rt = runtime();
    let (mut host, _port) = host(&rt, "Sensei");
    host.get_by_label("Message").focus();
    host.step();
    let blinking = |h: &Harness<'_, App>| h.ctx.global_style().visuals.text_cursor.blink;
    assert!(blinking(&host), "the caret blinks while the user works");
    // Six seconds without input (a step is a quarter of a second).
    for _ in 0..24 {
        host.step();
    }
    assert!(
        !blinking(&host),
        "a steady caret lets the idle window sleep"
    );
    assert!(message_box_focused(&host), "the box keeps the focus");
    host.get_by_label("Message").type_text("x");
    host.step();
    assert!(blinking(&host), "typing wakes the caret");
}

#[test]
fn a_link_in_the_log_opens_in_the_browser() {
    let rt = runtime();
    let (mut host, _port) = host(&rt, "Sensei");
    let url = "https://example.org/lesson/12";
    push_message(&mut host, url);
    for _ in 0..3 {
        host.step();
    }
    // The row ends with the link: click just inside its right end.
    let rect = host.get_by_label_contains(url).rect();
    let pos = egui::pos2(rect.right() - 4.0, rect.center().y);
    host.hover_at(pos);
    host.step();
    for pressed in [true, false] {
        host.event(egui::Event::PointerButton {
            pos,
            button: egui::PointerButton::Primary,
            pressed,
            modifiers: egui::Modifiers::NONE,
        });
    }
    host.step();
    let opened = host
        .output()
        .platform_output
        .commands
        .iter()
        .any(|c| matches!(c, egui::OutputCommand::OpenUrl(open) if open.url == url));
    assert!(opened, "clicking the link opens it");
    // Clicking the sender instead writes to them, it opens nothing.
    assert_ne!(composer_text(host.state()), "花子/");
}
