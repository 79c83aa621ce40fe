//! Properties of the parsers that take untrusted input: the seed's `id/text` form, the
//! `classchat.v1` JSON messages and the address a user types.
// Helpers outside #[test] functions unwrap too: a failed setup should fail the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use classchat::client::parse_address;
use classchat::protocol::{
    Addressed, ChatMessage, ClientInfo, ClientMessage, ErrorCode, ProtocolError, Recipient, Role,
    ServerMessage,
};
use proptest::prelude::*;

fn recipient() -> impl Strategy<Value = Recipient> {
    prop_oneof![
        Just(Recipient::Everyone),
        "[^/*]{1,20}".prop_map(Recipient::Client),
    ]
}

proptest! {
    #[test]
    fn addressed_keeps_everything_after_the_first_slash(
        to in "[^/]{1,20}",
        text in ".{0,80}",
    ) {
        let line = format!("{to}/{text}");
        match Addressed::parse(&line) {
            Ok(a) => {
                prop_assert_eq!(a.to.as_wire(), to.as_str());
                prop_assert_eq!(a.text, text.as_str());
            }
            Err(e) => prop_assert_eq!(e, ProtocolError::EmptyText, "only blank text is refused: {:?}", text),
        }
    }

    #[test]
    fn text_without_a_slash_is_refused(line in "[^/]{0,80}") {
        prop_assert_eq!(Addressed::parse(&line), Err(ProtocolError::MissingSlash));
    }

    #[test]
    fn addressed_never_panics(line in any::<String>()) {
        let _ = Addressed::parse(&line);
    }

    #[test]
    fn server_messages_round_trip(
        from in any::<String>(),
        to in recipient(),
        text in any::<String>(),
        ts in any::<u64>(),
        legacy in any::<bool>(),
        seq in any::<Option<u64>>(),
        replay in any::<bool>(),
        client_id in any::<Option<String>>(),
        recovered in any::<Option<bool>>(),
    ) {
        let messages = [
            ServerMessage::Message(ChatMessage {
                from: from.clone(),
                to,
                text: text.clone(),
                ts,
                seq,
                replay,
                client_id: client_id.clone(),
                role: legacy.then_some(Role::Host),
            }),
            ServerMessage::Welcome {
                id: from.clone(),
                clients: vec![ClientInfo { id: from.clone(), since: ts, legacy, role: None }],
                seq,
                epoch: client_id.clone(),
                resume: client_id.clone(),
                recovered,
                role: legacy.then_some(Role::Host),
            },
            ServerMessage::Joined {
                client: ClientInfo { id: text.clone(), since: ts, legacy, role: Some(Role::Student) },
            },
            ServerMessage::Left { id: from },
            ServerMessage::Error { code: ErrorCode::UnknownRecipient, message: text, client_id, about: None },
        ];
        for m in messages {
            prop_assert_eq!(ServerMessage::parse(&m.encode()), Ok(m));
        }
    }

    #[test]
    fn client_messages_round_trip(
        to in recipient(),
        text in ".*\\S.*",
        id in any::<Option<String>>(),
    ) {
        let m = ClientMessage::Send { to, text, id };
        prop_assert_eq!(ClientMessage::parse(&m.encode()), Ok(m));
    }

    #[test]
    fn json_parsers_never_panic(frame in any::<String>()) {
        let _ = ClientMessage::parse(&frame);
        let _ = ServerMessage::parse(&frame);
    }

    #[test]
    fn parsed_addresses_are_ws_urls_with_port_and_path(input in any::<String>()) {
        if let Ok(url) = parse_address(&input) {
            prop_assert_eq!(url.scheme(), "ws");
            prop_assert!(url.port_or_known_default().is_some());
            prop_assert!(url.path().starts_with('/') && url.path().len() > 1);
            prop_assert!(url.host_str().is_some_and(|h| !h.is_empty()));
        }
    }

    #[test]
    fn valid_names_can_be_addressed(name in any::<String>()) {
        if let Ok(name) = classchat::names::normalize(&name) {
            let line = format!("{name}/hi");
            let a = Addressed::parse(&line).expect("a valid name is addressable");
            prop_assert_eq!(a.to, Recipient::Client(name.clone()));
        }
    }
}
