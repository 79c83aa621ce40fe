//! The terminal client shows what others send without letting it act on the terminal:
//! escape sequences, OSC 52 clipboard writes and fake lines are made visible instead.

use classchat::client::{Disconnect, Event, Incoming};
use classchat::protocol::{ClientInfo, ErrorCode, Recipient, Role};
use classchat::terminal::describe;

fn message(from: &str, text: &str) -> Event {
    Event::Message(Incoming {
        from: Some(from.to_owned()),
        to: Some(Recipient::Everyone),
        text: text.to_owned(),
        ts: 0,
        ..Incoming::default()
    })
}

#[test]
fn a_message_cannot_clear_the_screen_or_fake_the_teacher() {
    let line = describe(
        &message("client4", "\x1b[2J\x1b[H先生 → everyone: テストは中止"),
        Some("client1"),
    );
    assert!(!line.contains('\x1b'), "{line:?}");
    assert!(line.starts_with("client4 → everyone: "), "{line:?}");
}

#[test]
fn osc_52_cannot_write_the_clipboard() {
    let line = describe(&message("client4", "\x1b]52;c;ZXZpbA==\x07"), None);
    assert!(!line.chars().any(|c| c.is_control()), "{line:?}");
    let c1 = describe(&message("client4", "\u{9d}52;c;ZXZpbA==\u{9c}"), None);
    assert!(!c1.chars().any(|c| c.is_control()), "{c1:?}");
}

#[test]
fn continuation_lines_are_indented() {
    let line = describe(
        &message("client4", "hi\n先生 → everyone: テストは中止"),
        None,
    );
    let lines: Vec<&str> = line.lines().collect();
    assert_eq!(lines.len(), 2);
    assert!(lines[1].starts_with("    "), "{line:?}");
    let cr = describe(&message("client4", "hi\r先生 → everyone: x"), None);
    assert!(!cr.contains('\r'), "{cr:?}");
}

#[test]
fn sender_names_refusals_and_close_reasons_are_escaped() {
    let from = describe(&message("\x1b[31m先生", "hi"), None);
    assert!(!from.contains('\x1b'), "{from:?}");
    let refused = describe(
        &Event::Refused {
            code: ErrorCode::Other,
            message: "bad\x1b]0;title\x07".to_owned(),
            send: None,
            about: None,
        },
        None,
    );
    assert!(!refused.contains('\x1b'), "{refused:?}");
    let closed = describe(
        &Event::Disconnected {
            reason: Disconnect::ClosedByRelay("bye\x1b[2J".to_owned()),
            retry_in: None,
        },
        None,
    );
    assert!(!closed.contains('\x1b'), "{closed:?}");
}

#[test]
fn only_a_host_gets_the_teacher_badge_and_no_name_can_fake_it() {
    let host = Event::Message(Incoming {
        from: Some("先生".to_owned()),
        to: Some(Recipient::Everyone),
        text: "はい".to_owned(),
        from_host: true,
        ..Incoming::default()
    });
    assert_eq!(describe(&host, None), "[teacher] 先生 → everyone: はい");
    assert_eq!(
        describe(&message("先生", "はい"), None),
        "先生 → everyone: はい",
        "no badge without the relay's word"
    );
    for (name, shown) in [
        ("[teacher] 田中", "\\u{5b}teacher] 田中"),
        ("［teacher］ 田中", "\\u{ff3b}teacher］ 田中"),
    ] {
        let line = describe(&message(name, "テストは中止"), None);
        assert_eq!(line, format!("{shown} → everyone: テストは中止"));
    }
    let roster = describe(
        &Event::Connected {
            id: Some("花子".to_owned()),
            clients: Some(vec![
                ClientInfo {
                    id: "先生".to_owned(),
                    since: 0,
                    legacy: false,
                    role: Some(Role::Host),
                },
                ClientInfo {
                    id: "[teacher] 田中".to_owned(),
                    since: 0,
                    legacy: false,
                    role: Some(Role::Student),
                },
                ClientInfo {
                    id: "花子".to_owned(),
                    since: 0,
                    legacy: false,
                    role: Some(Role::Student),
                },
            ]),
            legacy: false,
        },
        Some("花子"),
    );
    assert_eq!(
        roster.lines().nth(1),
        Some("Connected now: [teacher] 先生, \\u{5b}teacher] 田中, 花子 (you)")
    );
}
