//! The relay against real tokio-tungstenite clients, one rule of the relay issue per test (or a
//! few close ones together). Every test starts its own relay on `127.0.0.1:0`.
//!
//! Run: `cargo test --test relay`.
// Helpers outside #[test] functions unwrap too: a failed setup should fail the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use classchat::protocol::{ClientInfo, ErrorCode, Recipient, ServerMessage};
use classchat::relay::{self, Endpoint, RelayConfig, RelayHandle, RouteError};
use common::*;
use futures_util::{SinkExt as _, StreamExt as _};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

fn echo(text: &str) -> String {
    format!("{ECHO}{text}")
}

/// The chat message in a `classchat.v1` frame, as (from, to, text).
fn message(frame: ServerMessage) -> (String, Recipient, String) {
    match frame {
        ServerMessage::Message(m) => {
            assert!(m.ts > 0, "message without a timestamp: {m:?}");
            (m.from, m.to, m.text)
        }
        other => panic!("expected a message, got {other:?}"),
    }
}

fn to(peer_id: &str) -> Recipient {
    Recipient::Client(peer_id.to_owned())
}

// --- 1. Seed compatibility --------------------------------------------------------------------

#[tokio::test]
async fn list_path_echoes_every_message_to_everyone_with_the_seed_text() {
    let relay = start_relay(config()).await;
    let addr = relay.local_addr();
    let mut clients = Vec::new();
    for _ in 0..3 {
        clients.push(legacy(addr, LIST).await);
    }
    // The seed's list path greets nobody, so wait for the relay to register all three.
    eventually("three clients are connected", || relay.clients().len() == 3).await;

    for (sender, body) in [(0, "こんにちは <b>x</b>"), (2, "a/b")] {
        send(&mut clients[sender], body).await;
        for ws in &mut clients {
            assert_eq!(text(ws).await, echo(body), "sender included");
        }
    }
}

#[tokio::test]
async fn dict_path_ids_count_up_from_client0_and_are_never_reused() {
    let relay = start_relay(config()).await;
    let addr = relay.local_addr();
    let (mut c0, id0) = legacy_dict(addr).await;
    let (_c1, id1) = legacy_dict(addr).await;
    assert_eq!((id0.as_str(), id1.as_str()), ("client0", "client1"));

    c0.close(None).await.unwrap();
    eventually("client0 is gone", || !listed(&relay, "client0")).await;
    let (_c2, id2) = legacy_dict(addr).await;
    assert_eq!(id2, "client2", "a freed ID must not be handed out again");
}

#[tokio::test]
async fn dict_path_delivers_to_the_addressed_client_only() {
    let relay = start_relay(config()).await;
    let addr = relay.local_addr();
    let (mut c0, _) = legacy_dict(addr).await;
    let (mut c1, _) = legacy_dict(addr).await;
    let (mut c2, _) = legacy_dict(addr).await;

    send(&mut c0, "client1/hello").await;
    assert_eq!(text(&mut c1).await, "hello");
    // The seed cut the text at a second '/'; the relay keeps it.
    send(&mut c0, "client1/a/b").await;
    assert_eq!(text(&mut c1).await, "a/b");

    // Neither the bystander nor the (legacy) sender got anything: a marker sent after the
    // messages is the next frame each of them sees.
    send(&mut c1, "client2/marker").await;
    assert_eq!(text(&mut c2).await, "marker");
    send(&mut c1, "client0/marker").await;
    assert_eq!(text(&mut c0).await, "marker");

    // As in the seed, a client may address itself.
    send(&mut c2, "client2/note to self").await;
    assert_eq!(text(&mut c2).await, "note to self");
}

#[tokio::test]
async fn list_and_dict_paths_never_see_each_others_messages() {
    let relay = start_relay(config()).await;
    let addr = relay.local_addr();
    let mut list = legacy(addr, LIST).await;
    eventually("the list client is connected", || {
        relay.clients().len() == 1
    })
    .await;
    let (mut d0, id0) = legacy_dict(addr).await;
    let (mut d1, id1) = legacy_dict(addr).await;
    let (mut e, e_id, _) = extended_dict(addr, "").await;

    // List → dict: nothing.
    send(&mut list, "for the list").await;
    assert_eq!(text(&mut list).await, echo("for the list"));
    send(&mut d0, &format!("{id1}/marker")).await;
    assert_eq!(text(&mut d1).await, "marker");
    send(&mut d1, &format!("{id0}/marker")).await;
    assert_eq!(text(&mut d0).await, "marker");
    send_json(&mut e, &id0, "marker").await;
    assert_eq!(text(&mut d0).await, "marker");
    let (_, _, body) = message(json(&mut e).await);
    assert_eq!(
        body, "marker",
        "the extended client saw nothing from the list path"
    );

    // Dict → list: nothing, not even a broadcast to `*`.
    send(&mut d0, "*/for the dict").await;
    assert_eq!(text(&mut d1).await, "for the dict");
    send_json(&mut e, "*", "also for the dict").await;
    assert_eq!(text(&mut d1).await, "also for the dict");
    send(&mut list, "marker").await;
    assert_eq!(text(&mut list).await, echo("marker"));
    assert_eq!(relay.clients().len(), 4);
    assert!(listed(&relay, &e_id));
}

// --- 2. Errors --------------------------------------------------------------------------------

#[tokio::test]
async fn bad_legacy_messages_get_an_error_reply_deliver_nothing_and_keep_the_connection() {
    let relay = start_relay(config()).await;
    let addr = relay.local_addr();
    let (mut c0, _) = legacy_dict(addr).await;
    let (mut c1, _) = legacy_dict(addr).await;

    for bad in ["hello", "nobody/hi", "client1/", "client1/   ", "/x"] {
        send(&mut c0, bad).await;
        legacy_error(&mut c0).await;
    }
    c0.send(Message::binary(vec![1, 2, 3])).await.unwrap();
    legacy_error(&mut c0).await;

    send(&mut c0, "client1/ok").await;
    assert_eq!(text(&mut c1).await, "ok", "nothing bad reached client1");
    assert_eq!(
        relay.stats().messages,
        1,
        "only the valid message was accepted"
    );
}

#[tokio::test]
async fn bad_messages_on_the_list_path_get_an_error_reply() {
    let relay = start_relay(config()).await;
    let addr = relay.local_addr();
    let mut a = legacy(addr, LIST).await;
    let mut b = legacy(addr, LIST).await;
    eventually("both are connected", || relay.clients().len() == 2).await;

    send(&mut a, "").await;
    legacy_error(&mut a).await;
    send(&mut a, "  ").await;
    legacy_error(&mut a).await;
    a.send(Message::binary(b"x".to_vec())).await.unwrap();
    legacy_error(&mut a).await;

    send(&mut a, "ok").await;
    assert_eq!(text(&mut a).await, echo("ok"));
    assert_eq!(text(&mut b).await, echo("ok"), "nothing bad reached b");
}

#[tokio::test]
async fn unknown_recipient_error_names_the_id() {
    let relay = start_relay(config()).await;
    let (mut c0, _) = legacy_dict(relay.local_addr()).await;
    send(&mut c0, "client9/hi").await;
    let reply = legacy_error(&mut c0).await;
    assert!(reply.contains("client9"), "{reply}");
}

#[tokio::test]
async fn oversize_messages_close_the_connection_with_1009() {
    let relay = start_relay(RelayConfig {
        max_message_bytes: 1024,
        ..config()
    })
    .await;
    let addr = relay.local_addr();
    let (mut c0, _) = legacy_dict(addr).await;
    let (mut c1, _) = legacy_dict(addr).await;
    let (mut e, _, _) = extended_dict(addr, "").await;

    // Exactly the limit still passes.
    let at_limit = format!("client1/{}", "y".repeat(1024 - "client1/".len()));
    send(&mut c0, &at_limit).await;
    assert_eq!(text(&mut c1).await.len(), 1024 - "client1/".len());

    send(&mut c0, &format!("client1/{}", "x".repeat(2000))).await;
    let frame = close_frame(&mut c0).await.expect("a close frame");
    assert_eq!(frame.code, CloseCode::Size);

    send_json(&mut e, "client1", &"z".repeat(2000)).await;
    let frame = loop {
        match frame_or_close(&mut e).await {
            Some(frame) => break frame,
            None => continue,
        }
    };
    assert_eq!(frame.code, CloseCode::Size);

    // The big messages reached nobody: the next thing client1 sees is the host's marker.
    eventually("both senders are gone", || relay.clients().len() == 1).await;
    relay.send_as_host(to("client1"), "marker").unwrap();
    assert_eq!(text(&mut c1).await, "marker");
}

/// Reads one frame from an extended client: `Some(close)` for a close frame, `None` for
/// anything else (the `joined`/`left` frames that precede it).
async fn frame_or_close(
    ws: &mut Ws,
) -> Option<tokio_tungstenite::tungstenite::protocol::CloseFrame> {
    match frame(ws).await {
        Some(Ok(Message::Close(frame))) => Some(frame.expect("a close frame with a code")),
        Some(Ok(_)) => None,
        other => panic!("expected a close frame, got {other:?}"),
    }
}

#[tokio::test]
async fn bad_extended_messages_get_stable_error_codes() {
    let relay = start_relay(config()).await;
    let addr = relay.local_addr();
    let (mut a, _, _) = extended_dict(addr, "?name=a").await;
    let (mut b, _, _) = extended_dict(addr, "?name=b").await;
    assert!(matches!(json(&mut a).await, ServerMessage::Joined { .. }));

    let cases = [
        ("not json", ErrorCode::BadJson),
        ("b/seed style", ErrorCode::BadJson),
        (r#"{"type":"send","to":"b"}"#, ErrorCode::BadJson),
        (
            r#"{"type":"shout","to":"b","text":"x"}"#,
            ErrorCode::BadJson,
        ),
        (
            r#"{"type":"send","to":"nobody","text":"x"}"#,
            ErrorCode::UnknownRecipient,
        ),
        (
            r#"{"type":"send","to":"b","text":""}"#,
            ErrorCode::EmptyText,
        ),
        (
            r#"{"type":"send","to":"b","text":"  "}"#,
            ErrorCode::EmptyText,
        ),
        (
            r#"{"type":"send","to":"","text":"x"}"#,
            ErrorCode::BadFormat,
        ),
    ];
    for (frame, code) in cases {
        send(&mut a, frame).await;
        assert_eq!(json_error(&mut a).await, code, "for {frame}");
    }
    a.send(Message::binary(vec![0xff])).await.unwrap();
    assert_eq!(json_error(&mut a).await, ErrorCode::BinaryUnsupported);

    // The wire form of the codes is stable.
    send(&mut a, "not json").await;
    let raw = text(&mut a).await;
    assert!(raw.contains(r#""type":"error""#), "{raw}");
    assert!(raw.contains(r#""code":"bad_json""#), "{raw}");

    send_json(&mut a, "b", "ok").await;
    assert_eq!(
        message(json(&mut b).await),
        ("a".into(), to("b"), "ok".into())
    );
    assert_eq!(message(json(&mut a).await).2, "ok", "confirmation");
}

// --- 3. Extended protocol ---------------------------------------------------------------------

#[tokio::test]
async fn extended_clients_get_welcome_joined_message_and_left() {
    let relay = start_relay(config()).await;
    let addr = relay.local_addr();
    let (mut a, a_id, roster) = extended_dict(addr, "?name=alice").await;
    assert_eq!(a_id, "alice");
    assert_eq!(roster, ["alice"]);

    let (mut b, b_id, roster) = extended_dict(addr, "").await;
    assert_eq!(b_id, "client0");
    assert_eq!(
        roster,
        ["alice", "client0"],
        "everyone, in order of arrival"
    );
    match json(&mut a).await {
        ServerMessage::Joined {
            client: ClientInfo {
                id, since, legacy, ..
            },
        } => {
            assert_eq!(id, "client0");
            assert!(since > 0);
            assert!(!legacy);
        }
        other => panic!("expected joined, got {other:?}"),
    }

    send_json(&mut a, "client0", "hi").await;
    assert_eq!(
        message(json(&mut b).await),
        ("alice".into(), to("client0"), "hi".into())
    );
    assert_eq!(
        message(json(&mut a).await),
        ("alice".into(), to("client0"), "hi".into()),
        "the sender gets its message back as confirmation"
    );

    send_json(&mut b, "*", "みなさん").await;
    for ws in [&mut a, &mut b] {
        assert_eq!(
            message(json(ws).await),
            ("client0".into(), Recipient::Everyone, "みなさん".into())
        );
    }

    b.close(None).await.unwrap();
    assert_eq!(json(&mut a).await, ServerMessage::Left { id: b_id });
}

#[tokio::test]
async fn legacy_and_extended_clients_in_one_room_talk_both_ways() {
    let relay = start_relay(config()).await;
    let addr = relay.local_addr();
    let (mut old, old_id) = legacy_dict(addr).await;
    let mut new = extended(addr, &format!("{DICT}?name=%E8%8A%B1%E5%AD%90")).await;
    match json(&mut new).await {
        ServerMessage::Welcome { id, clients, .. } => {
            assert_eq!(id, "花子");
            let flags: Vec<(&str, bool)> =
                clients.iter().map(|c| (c.id.as_str(), c.legacy)).collect();
            assert_eq!(flags, [(old_id.as_str(), true), ("花子", false)]);
        }
        other => panic!("expected welcome, got {other:?}"),
    }

    // Legacy → extended: JSON with the sender's ID.
    send(&mut old, "花子/こんにちは").await;
    assert_eq!(
        message(json(&mut new).await),
        (old_id.clone(), to("花子"), "こんにちは".into())
    );

    // Extended → legacy: bare text.
    send_json(&mut new, &old_id, "やあ").await;
    assert_eq!(text(&mut old).await, "やあ");
    assert_eq!(message(json(&mut new).await).2, "やあ");

    // Extended broadcast reaches the legacy client as bare text.
    send_json(&mut new, "*", "みんな").await;
    assert_eq!(text(&mut old).await, "みんな");
    assert_eq!(
        message(json(&mut new).await),
        ("花子".into(), Recipient::Everyone, "みんな".into())
    );

    // Legacy broadcast with `*/`: the extended client gets it, the legacy sender does not get
    // it back (the seed confirms nothing).
    send(&mut old, "*/all").await;
    assert_eq!(
        message(json(&mut new).await),
        (old_id.clone(), Recipient::Everyone, "all".into())
    );
    send_json(&mut new, &old_id, "marker").await;
    assert_eq!(text(&mut old).await, "marker");

    old.close(None).await.unwrap();
    loop {
        match json(&mut new).await {
            ServerMessage::Left { id } => {
                assert_eq!(id, old_id);
                break;
            }
            ServerMessage::Message(_) => {}
            other => panic!("expected left, got {other:?}"),
        }
    }
}

// --- 4. Nicknames -----------------------------------------------------------------------------

#[tokio::test]
async fn percent_encoded_japanese_nickname_becomes_the_id() {
    let relay = start_relay(config()).await;
    let addr = relay.local_addr();
    let (_e, id, _) = extended_dict(addr, "?name=%E8%8A%B1%E5%AD%90").await;
    assert_eq!(id, "花子");
    let mut old = legacy(addr, &format!("{DICT}?name=%E5%A4%AA%E9%83%8E")).await;
    assert_eq!(text(&mut old).await, "Your ID is: 太郎");
    assert!(listed(&relay, "花子") && listed(&relay, "太郎"));
}

#[tokio::test]
async fn taken_nickname_gets_the_next_generated_id_and_name_taken() {
    let relay = start_relay(config()).await;
    let addr = relay.local_addr();
    let (_first, id, _) = extended_dict(addr, "?name=%E8%8A%B1%E5%AD%90").await;
    assert_eq!(id, "花子");

    let (mut second, id, _) = extended_dict(addr, "?name=%E8%8A%B1%E5%AD%90").await;
    assert_eq!(id, "client0");
    assert_eq!(json_error(&mut second).await, ErrorCode::NameTaken);

    let mut third = legacy(addr, &format!("{DICT}?name=%E8%8A%B1%E5%AD%90")).await;
    assert_eq!(text(&mut third).await, "Your ID is: client1");
    legacy_error(&mut third).await;
}

#[tokio::test]
async fn invalid_nicknames_get_a_generated_id_and_name_invalid() {
    let relay = start_relay(config()).await;
    let addr = relay.local_addr();
    let too_long = "%E3%81%82".repeat(33); // "あ" × 33
    let names = ["a%2Fb", too_long.as_str(), "client7", "host", "%2A"];
    // Keep every connection open so the roster below still holds them.
    let mut open = Vec::new();
    for (n, name) in names.iter().enumerate() {
        let (mut ws, id, _) = extended_dict(addr, &format!("?name={name}")).await;
        assert_eq!(id, format!("client{n}"), "for {name}");
        assert_eq!(
            json_error(&mut ws).await,
            ErrorCode::NameInvalid,
            "for {name}"
        );
        open.push(ws);
    }
    let ids: Vec<String> = relay.clients().into_iter().map(|c| c.info.id).collect();
    assert_eq!(ids, ["client0", "client1", "client2", "client3", "client4"]);
}

// --- 5. Join code, capacity, origin ---------------------------------------------------------

#[tokio::test]
async fn join_code_is_checked_at_the_handshake() {
    let relay = start_relay_with_code("1234").await;
    let addr = relay.local_addr();
    assert_eq!(refused_status(request(addr, DICT, true)).await, 401);
    assert_eq!(
        refused_status(request(addr, &format!("{DICT}?code=4321"), true)).await,
        401
    );
    assert_eq!(
        refused_status(request(addr, &format!("{LIST}?code="), false)).await,
        401
    );
    assert_eq!(relay.stats().refused, 3);

    let (_e, id, _) = extended_dict(addr, "?code=1234&name=x").await;
    assert_eq!(id, "x");
    let (_old, id) = legacy_dict_at(addr, &format!("{DICT}?code=1234")).await;
    assert_eq!(id, "client0");
}

async fn legacy_dict_at(addr: std::net::SocketAddr, path: &str) -> (Ws, String) {
    let mut ws = legacy(addr, path).await;
    let greeting = text(&mut ws).await;
    let id = greeting.strip_prefix("Your ID is: ").unwrap().to_owned();
    (ws, id)
}

#[tokio::test]
async fn a_full_relay_refuses_with_503_until_a_place_is_free() {
    let relay = start_relay(RelayConfig {
        max_clients: 2,
        ..config()
    })
    .await;
    let addr = relay.local_addr();
    let (mut a, _, _) = extended_dict(addr, "").await;
    let (_b, _, _) = extended_dict(addr, "").await;
    assert_eq!(refused_status(request(addr, DICT, true)).await, 503);
    assert_eq!(refused_status(request(addr, LIST, false)).await, 503);

    a.close(None).await.unwrap();
    let deadline = Instant::now() + PATIENCE;
    loop {
        match tokio_tungstenite::connect_async(request(addr, DICT, true)).await {
            Ok(_) => break,
            Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            Err(e) => panic!("the freed place was never given back: {e}"),
        }
    }
}

// --- 6. Rate limit ----------------------------------------------------------------------------

#[tokio::test]
async fn excess_messages_are_refused_not_delivered_and_the_connection_stays() {
    let relay = start_relay(RelayConfig {
        // Practically no refill during the test: exactly the burst gets through.
        rate_per_sec: 0.01,
        rate_burst: 3,
        ..config()
    })
    .await;
    let addr = relay.local_addr();
    let mut a = legacy(addr, LIST).await;
    let mut b = legacy(addr, LIST).await;
    eventually("both are connected", || relay.clients().len() == 2).await;

    for i in 0..6 {
        send(&mut a, &format!("m{i}")).await;
    }
    for i in 0..3 {
        assert_eq!(text(&mut a).await, echo(&format!("m{i}")));
    }
    for _ in 3..6 {
        legacy_error(&mut a).await;
    }
    for i in 0..3 {
        assert_eq!(text(&mut b).await, echo(&format!("m{i}")));
    }
    send(&mut b, "marker").await;
    assert_eq!(text(&mut b).await, echo("marker"), "m3..m5 never reached b");
    assert_eq!(text(&mut a).await, echo("marker"), "a is still connected");
    assert_eq!(relay.stats().rate_limited, 3);

    // Extended clients get the code.
    let (mut e, _, _) = extended_dict(addr, "").await;
    for _ in 0..3 {
        send_json(&mut e, "*", "x").await;
        message(json(&mut e).await);
    }
    send_json(&mut e, "*", "x").await;
    assert_eq!(json_error(&mut e).await, ErrorCode::RateLimited);
}

// --- 7. A client that never reads -------------------------------------------------------------

/// A healthy client's frames, read by a task of its own so that it never falls behind.
struct Reader {
    name: &'static str,
    rx: mpsc::UnboundedReceiver<String>,
    extended: bool,
    /// Chat messages seen so far.
    got: usize,
    /// IDs in `left` frames seen so far.
    left: Vec<String>,
}

impl Reader {
    fn spawn<S>(name: &'static str, mut stream: S, extended: bool) -> Self
    where
        S: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>>
            + Unpin
            + Send
            + 'static,
    {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Some(Ok(frame)) = stream.next().await {
                if let Message::Text(t) = frame
                    && tx.send(t.to_string()).is_err()
                {
                    break;
                }
            }
        });
        Self {
            name,
            rx,
            extended,
            got: 0,
            left: Vec::new(),
        }
    }

    /// Reads until `n` chat messages were seen, checking each is the next in order.
    async fn catch_up(&mut self, n: usize, payload_len: usize) {
        while self.got < n {
            let raw = tokio::time::timeout(PATIENCE, self.rx.recv())
                .await
                .unwrap_or_else(|_| panic!("{} stalled at message {}", self.name, self.got))
                .unwrap_or_else(|| panic!("{} was disconnected at {}", self.name, self.got));
            let body = if self.extended {
                match ServerMessage::parse(&raw).unwrap() {
                    ServerMessage::Message(m) => m.text,
                    ServerMessage::Left { id } => {
                        self.left.push(id);
                        continue;
                    }
                    _ => continue,
                }
            } else {
                raw.strip_prefix(ECHO).unwrap().to_owned()
            };
            let seq = format!("{:06}:", self.got);
            assert!(
                body.starts_with(&seq) && body.len() == payload_len,
                "{}: expected message {seq} of {payload_len} bytes, got {:?}… ({} bytes)",
                self.name,
                &body[..body.len().min(12)],
                body.len()
            );
            self.got += 1;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_reads_is_cut_off_and_everyone_else_gets_everything_in_order() {
    const OUTBOX: usize = 16;
    /// Healthy readers stay within this many messages of the sender, well under `OUTBOX`,
    /// so only the non-reader can ever fill its queue.
    const WINDOW: usize = 4;
    const MAX_MESSAGES: usize = 3_000;
    let relay = start_relay(RelayConfig {
        outbox_len: OUTBOX,
        ..config()
    })
    .await;
    let addr = relay.local_addr();

    let (never_reads, slow_id) = join_never_reading(&relay).await;

    let (mut sink, sender_stream) = legacy(addr, LIST).await.split();
    let plain = legacy(addr, LIST).await;
    let json_client = extended(addr, LIST).await;
    eventually("everyone is connected", || relay.clients().len() == 4).await;
    let mut readers = [
        Reader::spawn("sender", sender_stream, false),
        Reader::spawn("plain", plain, false),
        Reader::spawn("extended", json_client, true),
    ];

    let filler = "x".repeat(16 * 1024);
    let payload_len = "000000:".len() + filler.len();
    let mut sent = 0;
    let mut stop_at = None;
    while sent < MAX_MESSAGES && Some(sent) != stop_at {
        sink.send(Message::text(format!("{sent:06}:{filler}")))
            .await
            .unwrap();
        sent += 1;
        for reader in &mut readers {
            reader
                .catch_up(sent.saturating_sub(WINDOW), payload_len)
                .await;
        }
        // Once the non-reader is cut off, a few more show that the room carries on.
        if stop_at.is_none() && relay.stats().dropped_slow > 0 {
            stop_at = Some(sent + 10);
        }
    }
    assert!(stop_at.is_some(), "the non-reader was never cut off");
    for reader in &mut readers {
        reader.catch_up(sent, payload_len).await;
        assert_eq!(reader.got, sent, "{} missed messages", reader.name);
    }
    eventually("the extended client hears that the non-reader left", || {
        while let Ok(raw) = readers[2].rx.try_recv() {
            if let Ok(ServerMessage::Left { id }) = ServerMessage::parse(&raw) {
                readers[2].left.push(id);
            }
        }
        readers[2].left.contains(&slow_id)
    })
    .await;

    // Bounded by construction: the non-reader is gone from the registry (so its queue is
    // freed), only it was counted as slow, and every message was accepted exactly once.
    let stats = relay.stats();
    assert!(!listed(&relay, &slow_id));
    assert_eq!(relay.clients().len(), 3);
    assert_eq!(stats.clients, 3);
    assert_eq!(stats.dropped_slow, 1, "only the non-reader was cut off");
    assert_eq!(stats.messages, sent as u64);
    println!(
        "non-reader cut off after about {} messages of {payload_len} bytes; {}",
        sent - 10,
        rss()
    );
    drop(never_reads);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_whose_socket_accepts_nothing_for_the_stall_timeout_is_cut_off() {
    // An outbox this deep never pushes back here, so only the stall check can end the
    // non-reader.
    let relay = start_relay(RelayConfig {
        outbox_len: 100_000,
        stall: Duration::from_millis(500),
        ..config()
    })
    .await;
    let addr = relay.local_addr();
    let (never_reads, slow_id) = join_never_reading(&relay).await;

    let (mut sink, mut echoes) = legacy(addr, LIST).await.split();
    let drain = tokio::spawn(async move { while let Some(Ok(_)) = echoes.next().await {} });
    // 64 × 16 KiB is far more than the relay's fixed send buffer and the tiny receive buffer.
    let filler = "x".repeat(16 * 1024);
    for n in 0..64 {
        sink.send(Message::text(format!("{n}:{filler}")))
            .await
            .unwrap();
    }
    eventually("the stalled client is cut off", || {
        !listed(&relay, &slow_id)
    })
    .await;
    let stats = relay.stats();
    assert_eq!(
        stats.dropped_slow, 1,
        "it was counted as dropped for slowness"
    );
    assert_eq!(relay.clients().len(), 1, "the sender is still connected");
    sink.send(Message::text("still here")).await.unwrap();
    eventually("the sender's message is relayed", || {
        relay.stats().messages == 65
    })
    .await;
    drop(never_reads);
    drain.abort();
}

/// The first client of an empty relay that never reads: a tiny receive buffer, a handshake,
/// then never polled again. Returns its socket (keep it alive) and its ID.
async fn join_never_reading(relay: &RelayHandle) -> (WebSocketStream<TcpStream>, String) {
    let addr = relay.local_addr();
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let stream = socket.connect(addr).await.unwrap();
    let (never_reads, _) = tokio_tungstenite::client_async(request(addr, LIST, false), stream)
        .await
        .unwrap();
    eventually("the non-reader is connected", || relay.clients().len() == 1).await;
    let slow_id = relay.clients()[0].info.id.clone();
    (never_reads, slow_id)
}

/// This process's resident memory, for the log only (the relay runs in-process).
fn rss() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .map(|l| l.split_whitespace().skip(1).collect::<Vec<_>>().join(" "))
        })
        .map_or_else(|| "RSS unknown".to_owned(), |rss| format!("RSS {rss}"))
}

// --- 8. Heartbeat -----------------------------------------------------------------------------

// A peer that stops answering pings is tested in tests/faults.rs, with the room talking on.

// --- 9. Host controls -------------------------------------------------------------------------

#[tokio::test]
async fn host_sees_everyone_and_can_mute_send_and_kick() {
    let relay = start_relay(config()).await;
    let addr = relay.local_addr();
    let (mut old, old_id) = legacy_dict(addr).await;
    let (mut new, new_id, _) = extended_dict(addr, "?name=taro").await;
    let mut list = legacy(addr, LIST).await;
    eventually("three clients", || relay.clients().len() == 3).await;

    let roster: Vec<(String, Endpoint, bool, bool)> = relay
        .clients()
        .into_iter()
        .map(|c| (c.info.id, c.endpoint, c.info.legacy, c.muted))
        .collect();
    assert_eq!(
        roster[..2],
        [
            (old_id.clone(), Endpoint::Direct, true, false),
            (new_id.clone(), Endpoint::Direct, false, false),
        ]
    );
    assert_eq!((roster[2].1, roster[2].2), (Endpoint::Broadcast, true));
    let list_id = roster[2].0.clone();

    // Mute: refused with an error, delivered nowhere.
    assert!(relay.set_muted(&old_id, true));
    assert!(relay.clients()[0].muted);
    send(&mut old, &format!("{new_id}/spam")).await;
    legacy_error(&mut old).await;
    assert!(relay.set_muted(&new_id, true));
    send_json(&mut new, &old_id, "spam").await;
    assert_eq!(json_error(&mut new).await, ErrorCode::Muted);
    assert!(!relay.set_muted("nobody", true));

    // Send as host; the markers also show the muted messages went nowhere.
    relay.send_as_host(to(&new_id), "from the front").unwrap();
    assert_eq!(
        message(json(&mut new).await),
        ("host".into(), to(&new_id), "from the front".into())
    );
    relay.send_as_host(Recipient::Everyone, "全員へ").unwrap();
    assert_eq!(text(&mut old).await, "全員へ");
    assert_eq!(
        message(json(&mut new).await),
        ("host".into(), Recipient::Everyone, "全員へ".into())
    );
    assert_eq!(
        relay.send_as_host(to("nobody"), "x"),
        Err(RouteError::UnknownRecipient("nobody".into()))
    );

    // Unmuted, messages flow again.
    assert!(relay.set_muted(&old_id, false));
    send(&mut old, &format!("{new_id}/back")).await;
    assert_eq!(message(json(&mut new).await).2, "back");

    // Kick: close 1008 for the client, `left` for the room.
    assert!(relay.kick(&old_id));
    assert_eq!(close_frame(&mut old).await.unwrap().code, CloseCode::Policy);
    assert_eq!(
        json(&mut new).await,
        ServerMessage::Left { id: old_id.clone() }
    );
    eventually("the kicked client is gone", || !listed(&relay, &old_id)).await;
    assert!(relay.kick(&list_id));
    assert_eq!(
        close_frame(&mut list).await.unwrap().code,
        CloseCode::Policy
    );
    assert!(!relay.kick("nobody"));
}

// --- 10. Graceful shutdown --------------------------------------------------------------------

async fn assert_closed_with_1001(ws: &mut Ws) {
    let frame = close_frame(ws).await.expect("a close frame");
    assert_eq!(frame.code, CloseCode::Away);
    assert!(!frame.reason.is_empty(), "the close frame gives a reason");
}

#[tokio::test]
async fn shutdown_closes_every_client_with_1001_and_frees_the_port() {
    let relay = start_relay(RelayConfig {
        // An idle HTTP connection must not hold the shutdown up for this long.
        handshake_timeout: Duration::from_secs(60),
        ..config()
    })
    .await;
    let addr = relay.local_addr();
    let mut list = legacy(addr, LIST).await;
    let (mut old, _) = legacy_dict(addr).await;
    let (mut new, _, _) = extended_dict(addr, "").await;
    let _idle = TcpStream::connect(addr).await.unwrap();
    eventually("three clients", || relay.clients().len() == 3).await;

    tokio::time::timeout(PATIENCE, relay.shutdown())
        .await
        .expect("shutdown hung");
    for ws in [&mut list, &mut old, &mut new] {
        assert_closed_with_1001(ws).await;
    }
    TcpListener::bind(addr)
        .await
        .expect("the port is free again");
}

#[tokio::test]
async fn run_returns_after_its_shutdown_future_and_closes_everyone_with_1001() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(relay::run(listener, config(), async {
        stopped.await.ok();
    }));
    let (mut old, _) = legacy_dict(addr).await;
    let (mut new, _, _) = extended_dict(addr, "").await;

    stop.send(()).unwrap();
    tokio::time::timeout(PATIENCE, server)
        .await
        .expect("run hung")
        .unwrap()
        .unwrap();
    for ws in [&mut old, &mut new] {
        assert_closed_with_1001(ws).await;
    }
    TcpListener::bind(addr)
        .await
        .expect("the port is free again");
}

#[tokio::test]
async fn dropping_the_handle_stops_the_relay() {
    let relay = start_relay(config()).await;
    let addr = relay.local_addr();
    let (mut old, _) = legacy_dict(addr).await;
    drop(relay);
    assert_closed_with_1001(&mut old).await;
}

// --- HTTP side --------------------------------------------------------------------------------

#[tokio::test]
async fn plain_http_gets_a_readable_answer() {
    let relay = start_relay(config()).await;
    let addr = relay.local_addr();
    for (path, status) in [("/", "200"), ("/nope", "404"), (DICT, "426")] {
        let mut tcp = TcpStream::connect(addr).await.unwrap();
        tcp.write_all(
            format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await
        .unwrap();
        let mut response = String::new();
        tokio::time::timeout(PATIENCE, tcp.read_to_string(&mut response))
            .await
            .unwrap()
            .unwrap();
        assert!(
            response.starts_with(&format!("HTTP/1.1 {status}")),
            "{path}: {response}"
        );
    }
}

#[tokio::test]
async fn only_the_host_may_take_the_teachers_names_and_its_own() {
    let relay = start_relay(RelayConfig {
        host_token: Some("k3y".to_owned()),
        host_name: Some("田中先生".to_owned()),
        ..config()
    })
    .await;
    let addr = relay.local_addr();
    // A student posing as the teacher, in any spelling, gets a generated ID and is told why.
    for posing in [
        "先生",
        "Teacher",
        "ｔｅａｃｈｅｒ",
        "田中先生",
        "先生\u{200b}",
    ] {
        let query = format!("?name={}", urlencode(posing));
        let (mut ws, id, _) = extended_dict(addr, &query).await;
        assert!(id.starts_with("client"), "{posing:?} was given as {id}");
        assert_eq!(
            json_error(&mut ws).await,
            ErrorCode::NameInvalid,
            "{posing:?}"
        );
    }
    // The host, with its key, takes its name.
    let query = format!("?name={}&host=k3y", urlencode("田中先生"));
    let (_host, id, _) = extended_dict(addr, &query).await;
    assert_eq!(id, "田中先生");
    // A wrong host key is refused like a wrong join code.
    let status = refused_status(request(addr, &format!("{DICT}?host=guess"), true)).await;
    assert_eq!(status, 401);
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn a_muted_person_stays_muted_after_reconnecting() {
    let relay = start_relay(config()).await;
    let addr = relay.local_addr();
    let (mut teacher, _, _) = extended_dict(addr, "?name=tanaka").await;
    let (hanako, id, _) = extended_dict(addr, "?name=hanako").await;
    assert!(relay.set_muted(&id, true));
    drop(hanako);
    eventually("hanako left", || !listed(&relay, "hanako")).await;
    // Back under the same name (any case): still muted.
    let (mut again, id, _) = extended_dict(addr, "?name=Hanako").await;
    assert!(
        relay.clients().iter().any(|c| c.info.id == id && c.muted),
        "the roster shows the mute"
    );
    send_json(&mut again, "*", "can anyone hear me").await;
    assert_eq!(json_error(&mut again).await, ErrorCode::Muted);
    assert!(relay.set_muted(&id, false));
    send_json(&mut again, "*", "now?").await;
    loop {
        match json(&mut teacher).await {
            ServerMessage::Joined { .. } | ServerMessage::Left { .. } => {}
            ServerMessage::Message(m) => {
                assert_eq!(m.text, "now?", "the muted line never came");
                break;
            }
            other => panic!("expected the unmuted message, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_removed_person_cannot_come_back_until_the_host_allows_it() {
    let relay = start_relay(config()).await;
    let addr = relay.local_addr();
    let (_teacher, _, _) = extended_dict(addr, "?name=tanaka").await;
    let (mut hanako, id, _) = extended_dict(addr, "?name=hanako").await;
    assert!(relay.kick(&id));
    let close = close_frame(&mut hanako).await.expect("a close frame");
    assert_eq!(u16::from(close.code), 1008);
    eventually("hanako left", || !listed(&relay, "hanako")).await;

    // Reconnecting under the name (in another width) is closed at once with 1008.
    let mut back = extended(addr, &format!("{DICT}?name=ｈａｎａｋｏ")).await;
    let close = close_frame(&mut back).await.expect("a close frame");
    assert_eq!(u16::from(close.code), 1008);
    assert!(!listed(&relay, "ｈａｎａｋｏ") && !listed(&relay, "hanako"));

    assert!(relay.readmit("hanako"));
    let (_back, id, _) = extended_dict(addr, "?name=hanako").await;
    assert_eq!(id, "hanako", "let back in by the host");
}
