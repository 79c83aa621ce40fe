//! The teacher's controls of the room (issue 13), against a real relay and real clients: the
//! host role on the wire, room modes, mute and removal from a host client, raised hands, quick
//! polls and the pinned message, in both dialects.
//!
//! "Nothing else arrived" is shown with a marker: after the step under test, the host writes
//! to the client, and that message must be the client's very next frame.
//!
//! Run: `cargo test --test classroom`.
// Helpers outside #[test] functions unwrap too: a failed setup should fail the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use classchat::protocol::{ErrorCode, Recipient, Role, RoomModes, ServerMessage, UNPINNED_LINE};
use classchat::relay::{RelayConfig, RelayHandle};
use common::*;
use serde_json::json;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

const KEY: &str = "k3y";
const TEACHER: &str = "tanaka";

async fn relay() -> RelayHandle {
    start_relay(RelayConfig {
        host_token: Some(KEY.to_owned()),
        ..config()
    })
    .await
}

/// A host on the addressed path: reads its welcome (checking its role), the room and the hands.
async fn host(addr: std::net::SocketAddr, name: &str) -> Ws {
    let mut ws = extended(addr, &format!("{DICT}?name={name}&host={KEY}")).await;
    match json_any(&mut ws).await {
        ServerMessage::Welcome { id, role, .. } => {
            assert_eq!(id, name);
            assert_eq!(role, Some(Role::Host));
        }
        other => panic!("expected welcome, got {other:?}"),
    }
    assert!(matches!(json_any(&mut ws).await, ServerMessage::Room(_)));
    assert!(matches!(
        json_any(&mut ws).await,
        ServerMessage::Hands { .. }
    ));
    ws
}

/// A `classchat.v1` student on the addressed path: reads its welcome and the room.
/// A relay with a host and two students, hanako and taro, each past their welcome.
async fn class() -> (RelayHandle, Ws, Ws, Ws) {
    let relay = relay().await;
    let addr = relay.local_addr();
    let teacher = host(addr, TEACHER).await;
    let hanako = student(addr, "hanako").await;
    let taro = student(addr, "taro").await;
    (relay, teacher, hanako, taro)
}

async fn student(addr: std::net::SocketAddr, name: &str) -> Ws {
    let mut ws = extended(addr, &format!("{DICT}?name={name}")).await;
    match json_any(&mut ws).await {
        ServerMessage::Welcome { id, role, .. } => {
            assert_eq!(id, name);
            assert_eq!(role, Some(Role::Student));
        }
        other => panic!("expected welcome, got {other:?}"),
    }
    assert_eq!(
        json_any(&mut ws).await,
        ServerMessage::Room(RoomModes::default())
    );
    ws
}

/// Sends a JSON frame.
async fn control<S>(ws: &mut tokio_tungstenite::WebSocketStream<S>, frame: serde_json::Value)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    send(ws, &frame.to_string()).await;
}

/// The next frame that is neither a roster notice (`joined`, `left`) nor a chat message (the
/// confirmations of a client's own sends among them).
async fn notice(ws: &mut Ws) -> ServerMessage {
    loop {
        match json_any(ws).await {
            ServerMessage::Joined { .. }
            | ServerMessage::Left { .. }
            | ServerMessage::Message(_) => {}
            other => return other,
        }
    }
}

/// The code of the next error frame, skipping roster notices and chat messages.
async fn error_code(ws: &mut Ws) -> ErrorCode {
    match notice(ws).await {
        ServerMessage::Error { code, .. } => code,
        other => panic!("expected an error, got {other:?}"),
    }
}

/// The next frame but roster notices must be the host's marker `text`: nothing else arrived
/// before it.
async fn marker(ws: &mut Ws, text: &str) {
    loop {
        match json_any(ws).await {
            ServerMessage::Joined { .. } | ServerMessage::Left { .. } => {}
            ServerMessage::Message(m) if m.from == TEACHER => {
                assert_eq!(m.text, text);
                return;
            }
            other => panic!("expected the marker {text:?}, got {other:?}"),
        }
    }
}

fn queue(message: ServerMessage) -> Vec<String> {
    match message {
        ServerMessage::Hands { queue } => queue.into_iter().map(|h| h.id).collect(),
        other => panic!("expected hands, got {other:?}"),
    }
}

#[tokio::test]
async fn roles_show_in_welcome_joined_and_roster() {
    let relay = relay().await;
    let addr = relay.local_addr();
    let (_seed, seed_id) = legacy_dict(addr).await;
    let mut teacher = host(addr, TEACHER).await;
    let mut hanako = extended(addr, &format!("{DICT}?name=hanako")).await;
    match json_any(&mut hanako).await {
        ServerMessage::Welcome { role, clients, .. } => {
            assert_eq!(role, Some(Role::Student));
            let roles: Vec<(String, Option<Role>)> =
                clients.into_iter().map(|c| (c.id, c.role)).collect();
            assert_eq!(
                roles,
                [
                    (seed_id, Some(Role::Student)),
                    (TEACHER.to_owned(), Some(Role::Host)),
                    ("hanako".to_owned(), Some(Role::Student)),
                ]
            );
        }
        other => panic!("expected welcome, got {other:?}"),
    }
    match json_any(&mut teacher).await {
        ServerMessage::Joined { client } => {
            assert_eq!(client.id, "hanako");
            assert_eq!(client.role, Some(Role::Student));
        }
        other => panic!("expected joined, got {other:?}"),
    }
    // A second host is announced as one.
    let _assistant = host(addr, "suzuki").await;
    match json_any(&mut teacher).await {
        ServerMessage::Joined { client } => assert_eq!(client.role, Some(Role::Host)),
        other => panic!("expected joined, got {other:?}"),
    }
    let roles: Vec<Option<Role>> = relay.clients().iter().map(|c| c.info.role).collect();
    assert_eq!(
        roles,
        [
            Some(Role::Student),
            Some(Role::Host),
            Some(Role::Student),
            Some(Role::Host)
        ]
    );
}

#[tokio::test]
async fn students_get_not_host_for_every_host_control_and_nothing_changes() {
    let relay = relay().await;
    let addr = relay.local_addr();
    let mut teacher = host(addr, TEACHER).await;
    let mut hanako = student(addr, "hanako").await;
    let _taro = student(addr, "taro").await;
    let refused = [
        json!({"type": "room", "student_broadcast": false, "student_private": false}),
        json!({"type": "mute", "id": "taro", "muted": true}),
        json!({"type": "kick", "id": "taro"}),
        json!({"type": "readmit", "id": "taro"}),
        json!({"type": "hand", "id": "taro", "up": false}),
        json!({"type": "poll", "question": "Q?", "options": ["a", "b"]}),
        json!({"type": "poll_close", "poll": 1}),
        json!({"type": "pin", "text": "mine"}),
    ];
    for frame in refused {
        control(&mut hanako, frame.clone()).await;
        assert_eq!(error_code(&mut hanako).await, ErrorCode::NotHost, "{frame}");
    }
    // Taro is neither muted nor removed, and the host heard of no change.
    assert!(relay.clients().iter().all(|c| !c.muted));
    assert!(listed(&relay, "taro"));
    send_json(&mut teacher, TEACHER, "marker").await;
    marker(&mut teacher, "marker").await;
    assert_eq!(relay.room_modes(), RoomModes::default());
}

#[tokio::test]
async fn room_modes_reach_everyone_and_refuse_students_in_both_dialects() {
    let (relay, mut teacher, mut hanako, mut taro) = class().await;
    let addr = relay.local_addr();
    let (mut seed, seed_id) = legacy_dict(addr).await;
    let mut seed_list = legacy(addr, LIST).await;

    control(
        &mut teacher,
        json!({"type": "room", "student_broadcast": false, "student_private": true}),
    )
    .await;
    let no_broadcast = ServerMessage::Room(RoomModes {
        student_broadcast: false,
        student_private: true,
    });
    for ws in [&mut teacher, &mut hanako, &mut taro] {
        assert_eq!(notice(ws).await, no_broadcast);
    }
    assert!(!relay.room_modes().student_broadcast);

    // To everyone: refused for students in both dialects and on both paths.
    send_json(&mut hanako, "*", "hi all").await;
    assert_eq!(error_code(&mut hanako).await, ErrorCode::NotAllowed);
    send(&mut seed, "*/hi all").await;
    let line = legacy_error(&mut seed).await;
    assert!(line.contains("everyone"), "{line}");
    send(&mut seed_list, "hi all").await;
    legacy_error(&mut seed_list).await;
    // Privately, to a student or the host: still allowed.
    send_json(&mut hanako, "taro", "psst").await;
    assert_eq!(message_text(&mut taro).await, "psst");
    send(&mut seed, &format!("{TEACHER}/question")).await;
    assert_eq!(message_text(&mut teacher).await, "question");

    // No private messages between students either, set from the window this time.
    relay.set_room_modes(RoomModes {
        student_broadcast: false,
        student_private: false,
    });
    for ws in [&mut teacher, &mut hanako, &mut taro] {
        assert!(matches!(
            notice(ws).await,
            ServerMessage::Room(RoomModes {
                student_private: false,
                ..
            })
        ));
    }
    send_json(&mut hanako, "taro", "psst").await;
    assert_eq!(error_code(&mut hanako).await, ErrorCode::NotAllowed);
    send(&mut seed, "taro/psst").await;
    let line = legacy_error(&mut seed).await;
    assert!(line.contains("private"), "{line}");
    send_json(&mut hanako, TEACHER, "to the teacher").await;
    assert_eq!(message_text(&mut teacher).await, "to the teacher");
    // The host writes to anyone.
    send_json(&mut teacher, "*", "announcement").await;
    assert_eq!(message_text(&mut taro).await, "announcement");
    assert_eq!(text(&mut seed).await, "announcement");
    send_json(&mut teacher, &seed_id, "just you").await;
    assert_eq!(text(&mut seed).await, "just you");
    // Nothing refused reached Taro: the host's marker is his next frame.
    send_json(&mut teacher, "taro", "marker").await;
    marker(&mut taro, "marker").await;
}

/// The text of the next chat message, skipping notices.
async fn message_text(ws: &mut Ws) -> String {
    loop {
        if let ServerMessage::Message(m) = json_any(ws).await {
            return m.text;
        }
    }
}

#[tokio::test]
async fn mute_and_removal_from_a_host_client_hold_across_reconnects() {
    let (relay, mut teacher, mut hanako, mut taro) = class().await;
    let addr = relay.local_addr();

    control(
        &mut teacher,
        json!({"type": "mute", "id": "hanako", "muted": true}),
    )
    .await;
    eventually("hanako is muted", || {
        relay
            .clients()
            .iter()
            .any(|c| c.info.id == "hanako" && c.muted)
    })
    .await;
    send_json(&mut hanako, "*", "noise").await;
    assert_eq!(error_code(&mut hanako).await, ErrorCode::Muted);
    // Reconnecting does not help.
    hanako.close(None).await.unwrap();
    eventually("hanako left", || !listed(&relay, "hanako")).await;
    let mut hanako = student(addr, "hanako").await;
    send_json(&mut hanako, "*", "noise again").await;
    assert_eq!(error_code(&mut hanako).await, ErrorCode::Muted);
    control(
        &mut teacher,
        json!({"type": "mute", "id": "hanako", "muted": false}),
    )
    .await;
    eventually("hanako is unmuted", || {
        relay
            .clients()
            .iter()
            .any(|c| c.info.id == "hanako" && !c.muted)
    })
    .await;
    send_json(&mut hanako, TEACHER, "thank you").await;
    assert_eq!(message_text(&mut teacher).await, "thank you");

    // Removal: closed with 1008, and kept out under the same name until readmitted.
    control(&mut teacher, json!({"type": "kick", "id": "taro"})).await;
    let close = close_frame(&mut taro).await.expect("a close frame");
    assert_eq!(close.code, CloseCode::Policy);
    let mut again = extended(addr, &format!("{DICT}?name=taro")).await;
    let close = close_frame(&mut again).await.expect("a close frame");
    assert_eq!(close.code, CloseCode::Policy);
    control(&mut teacher, json!({"type": "readmit", "id": "taro"})).await;
    // The readmission is applied before the host's next frame is read: the marker proves it.
    send_json(&mut teacher, TEACHER, "readmitted").await;
    marker(&mut teacher, "readmitted").await;
    let _taro = student(addr, "taro").await;

    // Unknown people are errors, not silence.
    for frame in [
        json!({"type": "mute", "id": "nobody", "muted": true}),
        json!({"type": "kick", "id": "nobody"}),
        json!({"type": "readmit", "id": "hanako"}),
    ] {
        control(&mut teacher, frame.clone()).await;
        assert_eq!(
            error_code(&mut teacher).await,
            ErrorCode::UnknownRecipient,
            "{frame}"
        );
    }
}

#[tokio::test]
async fn hands_queue_for_hosts_oldest_first_and_go_down_when_their_owner_leaves() {
    let (relay, mut teacher, mut hanako, mut taro) = class().await;
    let addr = relay.local_addr();
    let mut jiro = student(addr, "jiro").await;

    control(&mut hanako, json!({"type": "hand", "up": true})).await;
    assert_eq!(queue(notice(&mut teacher).await), ["hanako"]);
    control(&mut taro, json!({"type": "hand", "up": true})).await;
    let hands = notice(&mut teacher).await;
    let ServerMessage::Hands { queue: raised } = hands.clone() else {
        panic!("expected hands, got {hands:?}")
    };
    assert!(raised[0].since <= raised[1].since, "{raised:?}");
    assert_eq!(queue(hands), ["hanako", "taro"]);
    control(&mut jiro, json!({"type": "hand", "up": true})).await;
    assert_eq!(
        queue(notice(&mut teacher).await),
        ["hanako", "taro", "jiro"]
    );

    // A host joining now is told at once.
    let mut assistant = extended(addr, &format!("{DICT}?name=suzuki&host={KEY}")).await;
    assert!(matches!(
        json_any(&mut assistant).await,
        ServerMessage::Welcome { .. }
    ));
    assert!(matches!(
        json_any(&mut assistant).await,
        ServerMessage::Room(_)
    ));
    assert_eq!(
        queue(json_any(&mut assistant).await),
        ["hanako", "taro", "jiro"]
    );

    // The host lowers one; a student lowers its own; one leaves.
    control(
        &mut teacher,
        json!({"type": "hand", "id": "hanako", "up": false}),
    )
    .await;
    assert_eq!(queue(notice(&mut teacher).await), ["taro", "jiro"]);
    assert_eq!(queue(notice(&mut assistant).await), ["taro", "jiro"]);
    control(&mut jiro, json!({"type": "hand", "up": false})).await;
    assert_eq!(queue(notice(&mut teacher).await), ["taro"]);
    taro.close(None).await.unwrap();
    assert_eq!(
        notice(&mut teacher).await,
        ServerMessage::Hands { queue: vec![] }
    );
    // Students never see the queue, only their own hand: Hanako saw hers go up and the
    // teacher lower it, and then the marker is her next frame.
    assert_eq!(notice(&mut hanako).await, ServerMessage::Hand { up: true });
    assert_eq!(notice(&mut hanako).await, ServerMessage::Hand { up: false });
    send_json(&mut teacher, "hanako", "marker").await;
    marker(&mut hanako, "marker").await;
    // A host may not raise someone else's hand.
    control(
        &mut teacher,
        json!({"type": "hand", "id": "jiro", "up": true}),
    )
    .await;
    assert_eq!(error_code(&mut teacher).await, ErrorCode::BadFormat);
}

#[tokio::test]
async fn a_hand_stays_up_when_its_owner_resumes_its_session() {
    let relay = relay().await;
    let addr = relay.local_addr();
    let mut teacher = host(addr, TEACHER).await;
    let mut hanako = extended(addr, &format!("{DICT}?name=hanako")).await;
    let token = match json_any(&mut hanako).await {
        ServerMessage::Welcome {
            resume: Some(token),
            ..
        } => token,
        other => panic!("expected welcome, got {other:?}"),
    };
    control(&mut hanako, json!({"type": "hand", "up": true})).await;
    let first = notice(&mut teacher).await;
    // A new connection resumes the session while the old one is still open: no leave at all.
    let mut back = extended(addr, &format!("{DICT}?name=hanako&resume={token}&since=0")).await;
    assert!(matches!(
        json_any(&mut back).await,
        ServerMessage::Welcome {
            recovered: Some(true),
            ..
        }
    ));
    send_json(&mut teacher, TEACHER, "marker").await;
    marker(&mut teacher, "marker").await;
    // The resumed connection is told its hand is up.
    let mut told = None;
    while told.is_none() {
        if let ServerMessage::Hand { up } = json_any(&mut back).await {
            told = Some(up);
        }
    }
    assert_eq!(told, Some(true));
    // And the hand is still up, in its place: lowering it now is a change.
    control(&mut back, json!({"type": "hand", "up": false})).await;
    assert_eq!(
        notice(&mut teacher).await,
        ServerMessage::Hands { queue: vec![] }
    );
    assert!(matches!(first, ServerMessage::Hands { queue } if queue.len() == 1));
}

#[tokio::test]
async fn one_vote_per_person_a_second_vote_changes_it() {
    let (relay, mut teacher, mut hanako, mut taro) = class().await;
    let addr = relay.local_addr();

    control(
        &mut teacher,
        json!({"type": "poll", "question": "いつ?", "options": ["月", "火", "水"]}),
    )
    .await;
    let asked = ServerMessage::Poll {
        poll: 1,
        question: "いつ?".into(),
        options: vec!["月".into(), "火".into(), "水".into()],
    };
    for ws in [&mut teacher, &mut hanako, &mut taro] {
        assert_eq!(notice(ws).await, asked);
    }
    let tally = |counts: [u32; 3], voters| ServerMessage::Tally {
        poll: 1,
        counts: counts.to_vec(),
        voters,
    };
    control(&mut hanako, json!({"type": "vote", "poll": 1, "option": 0})).await;
    assert_eq!(notice(&mut teacher).await, tally([1, 0, 0], 1));
    control(&mut taro, json!({"type": "vote", "poll": 1, "option": 2})).await;
    assert_eq!(notice(&mut teacher).await, tally([1, 0, 1], 2));
    control(&mut hanako, json!({"type": "vote", "poll": 1, "option": 1})).await;
    assert_eq!(notice(&mut teacher).await, tally([0, 1, 1], 2));
    // Reconnecting under the same name is the same person.
    hanako.close(None).await.unwrap();
    eventually("hanako left", || !listed(&relay, "hanako")).await;
    let mut hanako = extended(addr, &format!("{DICT}?name=hanako")).await;
    assert!(matches!(
        json_any(&mut hanako).await,
        ServerMessage::Welcome { .. }
    ));
    assert!(matches!(
        json_any(&mut hanako).await,
        ServerMessage::Room(_)
    ));
    assert_eq!(
        json_any(&mut hanako).await,
        asked,
        "the open poll after welcome"
    );
    control(&mut hanako, json!({"type": "vote", "poll": 1, "option": 2})).await;
    assert_eq!(notice(&mut teacher).await, tally([0, 0, 2], 2));
    // Bad votes.
    control(&mut hanako, json!({"type": "vote", "poll": 1, "option": 3})).await;
    assert_eq!(error_code(&mut hanako).await, ErrorCode::BadFormat);
    control(&mut hanako, json!({"type": "vote", "poll": 7, "option": 0})).await;
    assert_eq!(error_code(&mut hanako).await, ErrorCode::NotAllowed);
    // Students see no tally: the marker is Taro's next frame.
    send_json(&mut teacher, "taro", "marker").await;
    marker(&mut taro, "marker").await;

    control(&mut teacher, json!({"type": "poll_close", "poll": 1})).await;
    for ws in [&mut teacher, &mut hanako, &mut taro] {
        match notice(ws).await {
            ServerMessage::PollResult { poll, counts, .. } => {
                assert_eq!(poll, 1);
                assert_eq!(counts, [0, 0, 2]);
            }
            other => panic!("expected poll_result, got {other:?}"),
        }
    }
    control(&mut taro, json!({"type": "vote", "poll": 1, "option": 0})).await;
    assert_eq!(error_code(&mut taro).await, ErrorCode::NotAllowed);
    control(&mut teacher, json!({"type": "poll_close", "poll": 1})).await;
    assert_eq!(error_code(&mut teacher).await, ErrorCode::NotAllowed);
    // The next poll has the next number.
    control(
        &mut teacher,
        json!({"type": "poll", "question": "Again?", "options": ["y", "n"]}),
    )
    .await;
    assert!(matches!(
        notice(&mut taro).await,
        ServerMessage::Poll { poll: 2, .. }
    ));
}

#[tokio::test]
async fn bad_polls_and_pins_are_refused_with_their_codes() {
    let relay = relay().await;
    let addr = relay.local_addr();
    let mut teacher = host(addr, TEACHER).await;
    let mut hanako = student(addr, "hanako").await;
    for frame in [
        json!({"type": "poll", "question": "Q?", "options": ["only one"]}),
        json!({"type": "poll", "question": "Q?", "options": ["1", "2", "3", "4", "5", "6", "7"]}),
        json!({"type": "poll", "question": "", "options": ["a", "b"]}),
        json!({"type": "poll", "question": "Q?", "options": ["a", " "]}),
    ] {
        control(&mut teacher, frame.clone()).await;
        assert_eq!(
            error_code(&mut teacher).await,
            ErrorCode::BadFormat,
            "{frame}"
        );
    }
    for frame in [
        json!({"type": "poll", "question": "Q\u{1b}[2J", "options": ["a", "b"]}),
        json!({"type": "poll", "question": "Q?", "options": ["a", "b\r"]}),
        json!({"type": "pin", "text": "look\u{7}"}),
    ] {
        control(&mut teacher, frame.clone()).await;
        assert_eq!(
            error_code(&mut teacher).await,
            ErrorCode::BadText,
            "{frame}"
        );
    }
    // Nothing reached the students.
    send_json(&mut teacher, "hanako", "marker").await;
    marker(&mut hanako, "marker").await;
}

#[tokio::test]
async fn seed_clients_see_polls_and_results_as_plain_lines() {
    let relay = relay().await;
    let addr = relay.local_addr();
    let mut teacher = host(addr, TEACHER).await;
    let (mut seed, seed_id) = legacy_dict(addr).await;
    let mut seed_list = legacy(addr, LIST).await;
    let mut hanako = student(addr, "hanako").await;

    control(
        &mut teacher,
        json!({"type": "poll", "question": "Which day?", "options": ["Mon", "Tue"]}),
    )
    .await;
    let line = "Poll 1: Which day? 1) Mon 2) Tue";
    assert_eq!(text(&mut seed).await, line);
    assert_eq!(text(&mut seed_list).await, line);
    assert!(matches!(
        notice(&mut hanako).await,
        ServerMessage::Poll { .. }
    ));
    // A seed client joining now gets the question after its greeting.
    let mut late = legacy(addr, DICT).await;
    assert!(text(&mut late).await.starts_with("Your ID is: "));
    assert_eq!(text(&mut late).await, line);

    control(&mut hanako, json!({"type": "vote", "poll": 1, "option": 1})).await;
    control(&mut teacher, json!({"type": "poll_close", "poll": 1})).await;
    let result = "Poll 1 results: Which day? 1) Mon: 0 2) Tue: 1";
    assert_eq!(text(&mut seed).await, result, "no tally, no JSON");
    assert_eq!(text(&mut seed_list).await, result);
    assert_eq!(text(&mut late).await, result);
    // Seed clients still chat as before.
    send_json(&mut teacher, &seed_id, "plain").await;
    assert_eq!(text(&mut seed).await, "plain");
}

#[tokio::test]
async fn a_pinned_message_reaches_everyone_and_late_joiners_in_both_dialects() {
    let relay = relay().await;
    let addr = relay.local_addr();
    let mut teacher = host(addr, TEACHER).await;
    let mut hanako = student(addr, "hanako").await;
    let (mut seed, _) = legacy_dict(addr).await;

    let pin = "課題: p.12 (https://example.com/a1)";
    control(&mut teacher, json!({"type": "pin", "text": pin})).await;
    let pinned = ServerMessage::Pinned { text: pin.into() };
    assert_eq!(notice(&mut teacher).await, pinned);
    assert_eq!(notice(&mut hanako).await, pinned);
    assert_eq!(text(&mut seed).await, format!("Pinned: {pin}"));

    // Late joiners get it right after welcome (and the room), or after `Your ID is: …`.
    let mut late = extended(addr, &format!("{DICT}?name=late")).await;
    assert!(matches!(
        json_any(&mut late).await,
        ServerMessage::Welcome { .. }
    ));
    assert!(matches!(json_any(&mut late).await, ServerMessage::Room(_)));
    assert_eq!(json_any(&mut late).await, pinned);
    let (mut late_seed, late_id) = legacy_dict(addr).await;
    assert_eq!(text(&mut late_seed).await, format!("Pinned: {pin}"));
    send_json(&mut teacher, &late_id, "marker").await;
    assert_eq!(text(&mut late_seed).await, "marker");

    // Unpinning reaches everyone; later joiners get nothing.
    control(&mut teacher, json!({"type": "pin", "text": ""})).await;
    let unpinned = ServerMessage::Pinned {
        text: String::new(),
    };
    assert_eq!(notice(&mut hanako).await, unpinned);
    assert_eq!(text(&mut seed).await, UNPINNED_LINE);
    let (mut later, later_id) = legacy_dict(addr).await;
    send_json(&mut teacher, &later_id, "marker").await;
    assert_eq!(text(&mut later).await, "marker");
    let mut later_v1 = student(addr, "later").await;
    send_json(&mut teacher, "later", "marker").await;
    marker(&mut later_v1, "marker").await;
}

#[tokio::test]
async fn the_room_is_told_after_welcome_with_the_current_modes() {
    let relay = relay().await;
    let addr = relay.local_addr();
    let quiet = RoomModes {
        student_broadcast: false,
        student_private: false,
    };
    relay.set_room_modes(quiet);
    let mut ws = extended(addr, &format!("{DICT}?name=hanako")).await;
    assert!(matches!(
        json_any(&mut ws).await,
        ServerMessage::Welcome { .. }
    ));
    assert_eq!(json_any(&mut ws).await, ServerMessage::Room(quiet));
    // The host's own "send as host" is never held back by the modes.
    relay
        .send_as_host(Recipient::Client("hanako".into()), "from the window")
        .unwrap();
    assert_eq!(message_text(&mut ws).await, "from the window");
}

#[test]
fn serve_prints_the_host_key_and_a_join_link_that_makes_a_host() {
    let (_child, url, out) = serve(&["--host-token", "s3cret"]);
    let link = wait_for_line(&out, |l| l.contains("?host="));
    assert!(link.trim_end().ends_with("/?host=s3cret"), "{link}");
    let addr: std::net::SocketAddr = url
        .trim_start_matches("ws://")
        .trim_end_matches(DICT)
        .parse()
        .unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut ws = extended(addr, &format!("{DICT}?host=s3cret")).await;
        assert!(matches!(
            json_any(&mut ws).await,
            ServerMessage::Welcome {
                role: Some(Role::Host),
                ..
            }
        ));
    });
    // Without the option a fresh key is made and printed.
    let (_child, _, out) = serve(&[]);
    let link = wait_for_line(&out, |l| l.contains("?host="));
    let key = link.trim_end().rsplit("?host=").next().unwrap();
    assert_eq!(key.len(), 32, "{link}");
}
