//! The client library against a real relay, and against a tiny seed-like server that knows
//! nothing of `classchat.v1`.
//!
//! Run: `cargo test --test client`.
// Helpers outside #[test] functions unwrap too: a failed setup should fail the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod proxy;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use classchat::client::{
    Classroom, ClientHandle, Disconnect, Event, Incoming, JoinConfig, SendId, connect,
};
use classchat::protocol::{ClientInfo, ClientMessage, ErrorCode, Recipient};
use classchat::relay::RelayConfig;
use common::*;
use futures_util::{SinkExt as _, StreamExt as _};
use proxy::Proxy;
use tokio::net::TcpListener;
use tokio::runtime::Handle;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use url::Url;

fn join_config(addr: SocketAddr, name: Option<&str>, code: Option<&str>) -> JoinConfig {
    JoinConfig {
        name: name.map(str::to_owned),
        join_code: code.map(str::to_owned),
        reconnect: false,
        ..JoinConfig::new(Url::parse(&format!("ws://{addr}{DICT}")).unwrap())
    }
}

type Events = mpsc::UnboundedReceiver<Event>;

/// The next event, classroom notices (room modes, hands, polls, pins) included.
async fn next_any(events: &mut Events) -> Event {
    tokio::time::timeout(PATIENCE, events.recv())
        .await
        .expect("timed out waiting for an event")
        .expect("the client stopped")
}

/// The next event that is not a classroom notice: a relay tells every client the room's modes
/// after its welcome.
async fn next(events: &mut Events) -> Event {
    loop {
        match next_any(events).await {
            Event::Classroom(_) => {}
            other => return other,
        }
    }
}

/// The next event that is not `Connecting`.
async fn next_settled(events: &mut Events) -> Event {
    loop {
        match next(events).await {
            Event::Connecting { .. } => {}
            other => return other,
        }
    }
}

/// Waits for `Connected` and returns its fields.
async fn connected(events: &mut Events) -> (Option<String>, Option<Vec<ClientInfo>>, bool) {
    match next_settled(events).await {
        Event::Connected {
            id,
            clients,
            legacy,
        } => (id, clients, legacy),
        other => panic!("expected Connected, got {other:?}"),
    }
}

/// Like [`connected`], after attempts that failed while the relay was away (on a slow machine
/// there may be several).
async fn reconnected(events: &mut Events) -> (Option<String>, Option<Vec<ClientInfo>>, bool) {
    loop {
        match next(events).await {
            Event::Connected {
                id,
                clients,
                legacy,
            } => return (id, clients, legacy),
            Event::Connecting { .. }
            | Event::Disconnected {
                retry_in: Some(_), ..
            } => {}
            other => panic!("expected Connected, got {other:?}"),
        }
    }
}

async fn incoming(events: &mut Events) -> Incoming {
    match next_settled(events).await {
        Event::Message(m) => m,
        other => panic!("expected a message, got {other:?}"),
    }
}

/// Skips roster and chat events up to the next `Disconnected`, and returns its fields.
async fn disconnected(events: &mut Events) -> (Disconnect, Option<Duration>) {
    loop {
        match next(events).await {
            Event::Disconnected { reason, retry_in } => return (reason, retry_in),
            Event::Joined(_) | Event::Left { .. } | Event::Message(_) => {}
            other => panic!("expected Disconnected, got {other:?}"),
        }
    }
}

/// Like [`disconnected`], skipping `Connecting` too.
async fn disconnected_settled(events: &mut Events) -> (Disconnect, Option<Duration>) {
    match next_settled(events).await {
        Event::Disconnected { reason, retry_in } => (reason, retry_in),
        other => panic!("expected Disconnected, got {other:?}"),
    }
}

/// Asserts the client has stopped for good: its event channel ends.
async fn stops(events: &mut Events) {
    let end = tokio::time::timeout(PATIENCE, events.recv())
        .await
        .expect("the client did not stop");
    assert!(end.is_none(), "unexpected event after the end: {end:?}");
}

fn join(config: JoinConfig) -> (ClientHandle, Events) {
    connect(&Handle::current(), config, None)
}

fn ids(clients: &[ClientInfo]) -> Vec<&str> {
    clients.iter().map(|c| c.id.as_str()).collect()
}

// --- Against the relay ------------------------------------------------------------------------

#[tokio::test]
async fn connecting_reports_the_id_and_everyone_connected() {
    let relay = start_relay(config()).await;
    let (_handle, mut events) = join(join_config(relay.local_addr(), None, None));
    assert_eq!(next(&mut events).await, Event::Connecting { attempt: 1 });
    let (id, clients, legacy) = connected(&mut events).await;
    assert_eq!(id.as_deref(), Some("client0"));
    assert_eq!(ids(&clients.unwrap()), ["client0"]);
    assert!(!legacy);
}

#[tokio::test]
async fn two_library_clients_talk_to_each_other() {
    let relay = start_relay(config()).await;
    let addr = relay.local_addr();
    let (alice, mut a_events) = join(join_config(addr, Some("alice"), None));
    assert_eq!(connected(&mut a_events).await.0.as_deref(), Some("alice"));
    let (bob, mut b_events) = join(join_config(addr, Some("bob"), None));
    let (_, clients, _) = connected(&mut b_events).await;
    assert_eq!(ids(&clients.unwrap()), ["alice", "bob"]);
    match next(&mut a_events).await {
        Event::Joined(info) => assert_eq!(info.id, "bob"),
        other => panic!("expected Joined, got {other:?}"),
    }

    let sent = alice.send(Recipient::Client("bob".into()), "こんにちは");
    let got = incoming(&mut b_events).await;
    assert_eq!(got.from.as_deref(), Some("alice"));
    assert_eq!(got.to, Some(Recipient::Client("bob".into())));
    assert_eq!(got.text, "こんにちは");
    assert!(got.ts > 0);
    assert_eq!(got.confirms, None, "only the sender's copy confirms a send");
    assert_eq!(
        incoming(&mut a_events).await,
        Incoming {
            confirms: Some(sent),
            ..got
        },
        "alice sees the relay's confirmation of her send"
    );

    bob.send_line("*/a/b").unwrap();
    let got = incoming(&mut a_events).await;
    assert_eq!(
        (got.from.as_deref(), got.to, got.text.as_str()),
        (Some("bob"), Some(Recipient::Everyone), "a/b")
    );
    assert!(bob.send_line("no slash").is_err());

    // A refusal arrives as an event, names the send it refuses, and the session goes on.
    let refused = alice.send(Recipient::Client("nobody".into()), "x");
    match next(&mut a_events).await {
        Event::Refused { code, send, .. } => {
            assert_eq!(code, ErrorCode::UnknownRecipient);
            assert_eq!(send, Some(refused));
        }
        other => panic!("expected Refused, got {other:?}"),
    }

    bob.close();
    // Alice also got bob's broadcast back; skip it.
    loop {
        match next(&mut a_events).await {
            Event::Left { id } => {
                assert_eq!(id, "bob");
                break;
            }
            Event::Message(_) => {}
            other => panic!("expected Left, got {other:?}"),
        }
    }
    assert_eq!(
        disconnected(&mut b_events).await,
        (Disconnect::Closed, None)
    );
}

#[tokio::test]
async fn nickname_is_used_and_a_taken_one_is_reported() {
    let relay = start_relay(config()).await;
    let addr = relay.local_addr();
    let (_first, mut first_events) = join(join_config(addr, Some("花子"), None));
    assert_eq!(
        connected(&mut first_events).await.0.as_deref(),
        Some("花子")
    );

    let (_second, mut second_events) = join(join_config(addr, Some("花子"), None));
    assert_eq!(
        connected(&mut second_events).await.0.as_deref(),
        Some("client0")
    );
    match next(&mut second_events).await {
        Event::Refused { code, send, .. } => {
            assert_eq!(code, ErrorCode::NameTaken);
            assert_eq!(send, None, "answers no send");
        }
        other => panic!("expected Refused, got {other:?}"),
    }
}

#[tokio::test]
async fn wrong_join_code_stops_without_retrying() {
    let relay = start_relay_with_code("1234").await;
    let addr = relay.local_addr();
    let mut wrong = join_config(addr, None, Some("0000"));
    wrong.reconnect = true;
    let (_handle, mut events) = join(wrong);
    assert_eq!(next(&mut events).await, Event::Connecting { attempt: 1 });
    assert_eq!(
        next(&mut events).await,
        Event::Disconnected {
            reason: Disconnect::WrongJoinCode,
            retry_in: None
        }
    );
    stops(&mut events).await;
    assert_eq!(relay.stats().refused, 1, "exactly one attempt");

    let (_handle, mut events) = join(join_config(addr, None, Some("1234")));
    assert_eq!(connected(&mut events).await.0.as_deref(), Some("client0"));
}

#[tokio::test]
async fn join_code_cool_down_answers_429_and_is_reported_as_such_not_as_a_wrong_address() {
    let relay = start_relay_with_code("1234").await;
    let addr = relay.local_addr();
    // Guess until the relay makes this address wait (429), however many guesses that takes.
    let mut guesses = 0;
    // Distinct guesses: the same wrong code again is not counted twice.
    while refused_status(request(addr, &format!("{DICT}?code={guesses:04}"), true)).await == 401 {
        guesses += 1;
        assert!(guesses < 100, "the relay never started a cool-down");
    }
    assert!(guesses >= 1, "the first wrong code is a plain 401");
    // During the cool-down even the right code waits, so guessing gains nothing.
    assert_eq!(
        refused_status(request(addr, &format!("{DICT}?code=1234"), true)).await,
        429
    );

    // Even the right code waits now; the student must be told why, and may try again later.
    let (_handle, mut events) = join(join_config(addr, None, Some("1234")));
    let (reason, retry_in) = disconnected_settled(&mut events).await;
    assert_eq!(retry_in, None);
    assert!(
        !matches!(reason, Disconnect::NotAChat(_)),
        "a cool-down is not a wrong address: {reason:?}"
    );
    assert!(reason.to_string().contains("join code"), "{reason}");
    assert!(reason.retryable(), "the cool-down passes");
    assert!(relay.clients().is_empty());
}

#[tokio::test]
async fn unreachable_port_without_reconnect_reports_unreachable() {
    let addr = {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap()
    };
    let (_handle, mut events) = join(join_config(addr, None, None));
    match next_settled(&mut events).await {
        Event::Disconnected {
            reason: Disconnect::Unreachable(_),
            retry_in: None,
        } => {}
        other => panic!("expected Unreachable, got {other:?}"),
    }
    stops(&mut events).await;
}

#[tokio::test]
async fn kicked_and_host_stopped_end_the_session() {
    let relay = start_relay(config()).await;
    let addr = relay.local_addr();
    let mut config_kicked = join_config(addr, Some("kicked"), None);
    // Being removed by the host is final even when reconnecting is on.
    config_kicked.reconnect = true;
    let (_kicked, mut kicked_events) = join(config_kicked);
    connected(&mut kicked_events).await;
    let (_stopped, mut stopped_events) = join(join_config(addr, Some("stays"), None));
    connected(&mut stopped_events).await;

    assert!(relay.kick("kicked"));
    assert_eq!(
        disconnected(&mut kicked_events).await,
        (Disconnect::Kicked, None)
    );
    stops(&mut kicked_events).await;

    relay.shutdown().await;
    assert_eq!(
        disconnected(&mut stopped_events).await,
        (Disconnect::HostStopped, None)
    );
    stops(&mut stopped_events).await;
}

#[tokio::test]
async fn reconnects_by_itself_to_a_restarted_relay_says_messages_may_be_missing_and_sends_waiting_ones()
 {
    let relay = start_relay(config()).await;
    // The client sees one address; behind it the relay restarts (on another port, so that the
    // test does not wait for the old one to be free).
    let proxy = Proxy::start(relay.local_addr()).await;
    let mut config = join_config(proxy.addr(), Some("taro"), None);
    config.reconnect = true;
    let (handle, mut events) = join(config);
    assert_eq!(connected(&mut events).await.0.as_deref(), Some("taro"));
    let first = handle.send(Recipient::Everyone, "before the restart");
    assert_eq!(confirmation(&mut events, first).await, Some(1));

    relay.shutdown().await;
    assert_eq!(
        disconnected(&mut events).await,
        (Disconnect::HostStopped, Some(Duration::from_secs(1))),
        "the first retry comes after 1 s"
    );

    // While disconnected, what is typed waits for the session to come back.
    let waiting = handle.send(Recipient::Everyone, "anyone?");
    assert_ne!(waiting, first, "every send has its own ID");

    let relay = start_relay(common::config()).await;
    proxy.retarget(relay.local_addr());
    let (id, clients, legacy) = reconnected(&mut events).await;
    assert_eq!(id.as_deref(), Some("taro"));
    assert_eq!(ids(&clients.unwrap()), ["taro"]);
    assert!(!legacy);
    assert!(listed(&relay, "taro"));
    // The new relay knows nothing of the old session: the user must be told.
    assert_eq!(next(&mut events).await, Event::Resumed { recovered: false });
    // The new relay numbers from 1 again, and the client takes its numbers.
    let got = incoming(&mut events).await;
    assert_eq!(
        (got.text.as_str(), got.confirms, got.seq, got.replay),
        ("anyone?", Some(waiting), Some(1), false)
    );

    let late = handle.send(Recipient::Everyone, "back");
    assert_eq!(confirmation(&mut events, late).await, Some(2));
}

#[tokio::test]
async fn resumes_after_an_abrupt_drop_with_the_same_id_and_gets_what_it_missed_once_in_order() {
    let relay = start_relay(config()).await;
    let proxy = Proxy::start(relay.local_addr()).await;
    let mut through_proxy = join_config(proxy.addr(), Some("花子"), None);
    through_proxy.reconnect = true;
    let (hanako, mut h_events) = join(through_proxy);
    assert_eq!(connected(&mut h_events).await.0.as_deref(), Some("花子"));
    let (teacher, mut t_events) = join(join_config(relay.local_addr(), Some("佐藤"), None));
    connected(&mut t_events).await;
    let (taro, mut taro_events) = join(join_config(relay.local_addr(), Some("太郎"), None));
    connected(&mut taro_events).await;

    say(&teacher, &mut t_events, Recipient::Everyone, "before").await;
    let before = message_with_text(&mut h_events, "before").await;
    assert!(!before.replay);

    proxy.down();
    let (reason, retry_in) = disconnected(&mut h_events).await;
    assert!(matches!(reason, Disconnect::Lost(_)), "{reason:?}");
    assert!(retry_in.is_some());

    // Said while 花子 is away: to everyone, to her, and between others (not for her).
    say(&teacher, &mut t_events, Recipient::Everyone, "gap 1").await;
    say(
        &teacher,
        &mut t_events,
        Recipient::Client("花子".into()),
        "gap 2",
    )
    .await;
    say(
        &taro,
        &mut taro_events,
        Recipient::Client("佐藤".into()),
        "not for 花子",
    )
    .await;
    say(&teacher, &mut t_events, Recipient::Everyone, "gap 3").await;

    proxy.up();
    let (id, _, _) = reconnected(&mut h_events).await;
    assert_eq!(id.as_deref(), Some("花子"), "the same ID, at once");
    assert_eq!(
        next(&mut h_events).await,
        Event::Resumed { recovered: true }
    );
    say(&teacher, &mut t_events, Recipient::Everyone, "live").await;

    let seen = messages_until(&mut h_events, "live").await;
    let texts: Vec<(&str, bool)> = seen.iter().map(|m| (m.text.as_str(), m.replay)).collect();
    assert_eq!(
        texts,
        [
            ("gap 1", true),
            ("gap 2", true),
            ("gap 3", true),
            ("live", false)
        ],
        "each missed message exactly once, in order, then live traffic"
    );
    let seqs: Vec<u64> = seen.iter().map(|m| m.seq.unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    assert!(seqs[0] > before.seq.unwrap(), "{seqs:?}");
    drop(hanako);
}

#[tokio::test]
async fn unconfirmed_sends_are_sent_again_after_a_resume_and_delivered_once() {
    let relay = start_relay(config()).await;
    let proxy = Proxy::start(relay.local_addr()).await;
    let mut through_proxy = join_config(proxy.addr(), Some("花子"), None);
    through_proxy.reconnect = true;
    let (hanako, mut h_events) = join(through_proxy);
    connected(&mut h_events).await;
    let (_teacher, mut t_events) = join(join_config(relay.local_addr(), Some("佐藤"), None));
    connected(&mut t_events).await;

    // The relay gets "one", but its confirmation never reaches 花子.
    proxy.hold_replies();
    let one = hanako.send(Recipient::Everyone, "one");
    message_with_text(&mut t_events, "one").await;
    proxy.down();
    let mut settled = Vec::new();
    loop {
        match next(&mut h_events).await {
            Event::Disconnected { retry_in, .. } => {
                assert!(retry_in.is_some());
                break;
            }
            other => settled.extend(settles(&other)),
        }
    }
    assert!(settled.is_empty(), "nothing was confirmed: {settled:?}");
    // Typed while away: waits for the session.
    let two = hanako.send(Recipient::Everyone, "two");

    proxy.up();
    let mut shown = Vec::new();
    let mut resumed = None;
    while !(settled.contains(&one) && settled.contains(&two)) {
        let event = next(&mut h_events).await;
        settled.extend(settles(&event));
        match event {
            Event::Resumed { recovered } => resumed = Some(recovered),
            Event::Message(m) => shown.push(m.text),
            Event::NotSent { .. } => panic!("a send was given up: {event:?}"),
            _ => {}
        }
    }
    assert_eq!(resumed, Some(true));
    assert_eq!(settled, [one, two], "each send confirmed once, in order");
    assert_eq!(shown, ["one", "two"], "each shown once");

    // The others got "one" once: had it been delivered again, it would come before "two".
    hanako.send(Recipient::Everyone, "three");
    let texts: Vec<String> = messages_until(&mut t_events, "three")
        .await
        .into_iter()
        .map(|m| m.text)
        .collect();
    assert_eq!(texts, ["two", "three"]);
}

#[tokio::test]
async fn a_late_joiner_sees_earlier_messages_once_as_replays() {
    let relay = start_relay(config()).await;
    let addr = relay.local_addr();
    let (teacher, mut t_events) = join(join_config(addr, Some("佐藤"), None));
    connected(&mut t_events).await;
    say(&teacher, &mut t_events, Recipient::Everyone, "課題 1").await;
    say(&teacher, &mut t_events, Recipient::Everyone, "課題 2").await;

    let (_late, mut l_events) = join(join_config(addr, Some("遅刻"), None));
    connected(&mut l_events).await;
    say(&teacher, &mut t_events, Recipient::Everyone, "now").await;
    let seen: Vec<(String, bool)> = messages_until(&mut l_events, "now")
        .await
        .into_iter()
        .map(|m| (m.text, m.replay))
        .collect();
    assert_eq!(
        seen,
        [
            ("課題 1".to_owned(), true),
            ("課題 2".to_owned(), true),
            ("now".to_owned(), false)
        ]
    );
}

/// The send an event settles (confirms, refuses or gives back), if any.
fn settles(event: &Event) -> Option<SendId> {
    match event {
        Event::Message(m) => m.confirms,
        Event::Confirmed { id } | Event::NotSent { id, .. } => Some(*id),
        Event::Refused { send, .. } => *send,
        _ => None,
    }
}

/// Waits until `id` is confirmed and returns the confirming message's number.
async fn confirmation(events: &mut Events, id: SendId) -> Option<u64> {
    loop {
        match next(events).await {
            Event::Message(m) if m.confirms == Some(id) => return m.seq,
            Event::Confirmed { id: confirmed } if confirmed == id => return None,
            event @ Event::NotSent { id: given_back, .. } if given_back == id => {
                panic!("{id} was not confirmed: {event:?}")
            }
            event @ Event::Refused { send, .. } if send == Some(id) => {
                panic!("{id} was not confirmed: {event:?}")
            }
            _ => {}
        }
    }
}

/// Sends and waits until the relay has confirmed it.
async fn say(handle: &ClientHandle, events: &mut Events, to: Recipient, text: &str) {
    let id = handle.send(to, text);
    confirmation(events, id).await;
}

/// Skips other events up to the message with this text.
async fn message_with_text(events: &mut Events, text: &str) -> Incoming {
    loop {
        if let Event::Message(m) = next(events).await
            && m.text == text
        {
            return m;
        }
    }
}

/// Every message up to and including the one with this text.
async fn messages_until(events: &mut Events, text: &str) -> Vec<Incoming> {
    let mut seen = Vec::new();
    loop {
        if let Event::Message(m) = next(events).await {
            let last = m.text == text;
            seen.push(m);
            if last {
                return seen;
            }
        }
    }
}

// --- Against a server that speaks only the seed's text ---------------------------------------

/// A stand-in for the seed's Tornado dict server: greets `Your ID is: clientN` (the counter
/// never goes back), routes `id/text` as `message.split('/')[1]` did, drops unknown IDs, and
/// does not accept any subprotocol. Returns its address and the IDs it has greeted.
async fn seed_dict_server() -> (SocketAddr, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let greeted = Arc::new(Mutex::new(Vec::new()));
    let clients: Arc<Mutex<HashMap<String, mpsc::UnboundedSender<String>>>> = Arc::default();
    let greeted_by_server = Arc::clone(&greeted);
    tokio::spawn(async move {
        let mut counter = 0;
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
                continue;
            };
            let id = format!("client{counter}");
            counter += 1;
            greeted_by_server.lock().unwrap().push(id.clone());
            let (tx, mut rx) = mpsc::unbounded_channel();
            clients.lock().unwrap().insert(id.clone(), tx);
            let clients = Arc::clone(&clients);
            tokio::spawn(async move {
                if ws
                    .send(Message::text(format!("Your ID is: {id}")))
                    .await
                    .is_ok()
                {
                    loop {
                        tokio::select! {
                            frame = ws.next() => match frame {
                                Some(Ok(Message::Text(t))) => {
                                    let parts: Vec<&str> = t.split('/').collect();
                                    let target = clients.lock().unwrap().get(parts[0]).cloned();
                                    if let (Some(target), Some(text)) = (target, parts.get(1)) {
                                        target.send((*text).to_owned()).ok();
                                    }
                                }
                                Some(Ok(_)) => {}
                                _ => break,
                            },
                            Some(text) = rx.recv() => {
                                if ws.send(Message::text(text)).await.is_err() {
                                    break;
                                }
                            }
                        }
                    }
                }
                clients.lock().unwrap().remove(&id);
            });
        }
    });
    (addr, greeted)
}

#[tokio::test]
async fn falls_back_to_the_seed_protocol_on_a_legacy_only_server() {
    let (addr, greeted) = seed_dict_server().await;
    let (handle, mut events) = join(join_config(addr, None, None));
    let (id, clients, legacy) = connected(&mut events).await;
    assert!(legacy);
    assert_eq!(clients, None, "a seed server has no roster");
    // The refused `classchat.v1` attempt was a complete handshake for the seed server too,
    // so, as with Tornado, it used up one ID; the client has the one of the connection that
    // stayed, which is the last greeted.
    let id = id.expect("the ID from `Your ID is:`");
    assert_eq!(greeted.lock().unwrap().last(), Some(&id));
    assert!(id.starts_with("client"));

    let sent = handle.send(Recipient::Client(id.clone()), "hi");
    // The seed confirms nothing, so the client shows its own message as sent (with its ID),
    // then the server delivers it back (without a sender: the seed does not say).
    let shown = incoming(&mut events).await;
    assert_eq!(
        (shown.from.as_deref(), shown.text.as_str(), shown.confirms),
        (Some(id.as_str()), "hi", Some(sent))
    );
    assert_eq!((shown.seq, shown.replay), (None, false));
    let delivered = incoming(&mut events).await;
    assert_eq!(delivered.from, None);
    assert_eq!(delivered.text, "hi");
    assert_eq!(delivered.to, Some(Recipient::Client(id)));
}

/// A stand-in for the seed's Tornado broadcast server: no greeting, no subprotocol, and every
/// text frame goes to everyone, the sender included, as `The server return anyone's message: …`.
async fn seed_broadcast_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (everyone, _) = tokio::sync::broadcast::channel::<String>(64);
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
                continue;
            };
            let tx = everyone.clone();
            let mut rx = everyone.subscribe();
            tokio::spawn(async move {
                loop {
                    tokio::select! {
                        frame = ws.next() => match frame {
                            Some(Ok(Message::Text(t))) => {
                                tx.send(format!("{ECHO}{t}")).ok();
                            }
                            Some(Ok(_)) => {}
                            _ => break,
                        },
                        Ok(text) = rx.recv() => {
                            if ws.send(Message::text(text)).await.is_err() {
                                break;
                            }
                        }
                    }
                }
            });
        }
    });
    addr
}

#[tokio::test]
async fn on_the_seeds_broadcast_server_an_own_message_is_shown_once_from_the_servers_echo() {
    let addr = seed_broadcast_server().await;
    let mut config = join_config(addr, None, None);
    config.url = Url::parse(&format!("ws://{addr}{LIST}")).unwrap();
    let (handle, mut events) = join(config);
    let (id, _, legacy) = connected(&mut events).await;
    assert!(legacy);
    assert_eq!(id, None, "the broadcast server says no ID");

    let sent = handle.send(Recipient::Everyone, "hello");
    // Written is as confirmed as the seed gets; the library adds no line of its own...
    assert_eq!(next(&mut events).await, Event::Confirmed { id: sent });
    // ...because the server's echo is the one line.
    let echo = incoming(&mut events).await;
    assert_eq!(
        (echo.text.as_str(), echo.to, echo.confirms),
        ("hello", Some(Recipient::Everyone), None)
    );
    let marker = handle.send(Recipient::Everyone, "marker");
    assert_eq!(next(&mut events).await, Event::Confirmed { id: marker });
    assert_eq!(
        incoming(&mut events).await.text,
        "marker",
        "nothing else came in between"
    );
}

#[tokio::test]
async fn a_session_continued_on_another_connection_stops_instead_of_taking_it_back() {
    use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
    use tokio_tungstenite::tungstenite::protocol::CloseFrame;
    use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

    // A relay that welcomes, then says the session went on elsewhere (close code 4000).
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(Mutex::new(0));
    let counter = Arc::clone(&accepted);
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            *counter.lock().unwrap() += 1;
            // The callback's error type is tokio-tungstenite's.
            #[allow(clippy::result_large_err)]
            let offer_v1 = |_: &Request, mut response: Response| {
                response
                    .headers_mut()
                    .insert("Sec-WebSocket-Protocol", "classchat.v1".parse().unwrap());
                Ok(response)
            };
            let mut ws = tokio_tungstenite::accept_hdr_async(stream, offer_v1)
                .await
                .unwrap();
            let welcome =
                r#"{"type":"welcome","id":"花子","clients":[],"seq":0,"epoch":"e","resume":"t"}"#;
            ws.send(Message::text(welcome)).await.unwrap();
            ws.close(Some(CloseFrame {
                code: CloseCode::from(4000),
                reason: "this session continued on another connection".into(),
            }))
            .await
            .ok();
        }
    });
    let mut config = join_config(addr, Some("花子"), None);
    config.reconnect = true;
    let (_handle, mut events) = join(config);
    connected(&mut events).await;
    let (reason, retry_in) = disconnected(&mut events).await;
    assert_eq!(retry_in, None, "no reconnect: {reason:?}");
    assert!(
        reason.to_string().contains("another connection"),
        "{reason}"
    );
    stops(&mut events).await;
    assert_eq!(*accepted.lock().unwrap(), 1, "exactly one connection");
}

/// A scripted `classchat.v1` server: for each connection, in turn, records the request's
/// query, sends the frames of the next script, then drops the TCP connection without a close
/// frame (or, for the last script, keeps it open).
async fn scripted_v1_server(scripts: Vec<Vec<String>>) -> (SocketAddr, Arc<Mutex<Vec<String>>>) {
    use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let queries = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&queries);
    tokio::spawn(async move {
        let count = scripts.len();
        for (n, script) in scripts.into_iter().enumerate() {
            let (stream, _) = listener.accept().await.unwrap();
            let seen = Arc::clone(&seen);
            // The callback's error type is tokio-tungstenite's.
            #[allow(clippy::result_large_err)]
            let record_and_offer_v1 = move |request: &Request, mut response: Response| {
                let query = request.uri().query().unwrap_or_default().to_owned();
                seen.lock().unwrap().push(query);
                response
                    .headers_mut()
                    .insert("Sec-WebSocket-Protocol", "classchat.v1".parse().unwrap());
                Ok(response)
            };
            let mut ws = tokio_tungstenite::accept_hdr_async(stream, record_and_offer_v1)
                .await
                .unwrap();
            for frame in script {
                ws.send(Message::text(frame)).await.unwrap();
            }
            if n + 1 == count {
                // Keep the last connection open until the test ends.
                while ws.next().await.is_some() {}
            }
            // Dropping the stream ends the TCP connection without a close frame.
        }
    });
    (addr, queries)
}

fn welcome_frame(seq: u64, epoch: &str, recovered: Option<bool>) -> String {
    let recovered = recovered.map_or(String::new(), |r| format!(r#","recovered":{r}"#));
    format!(
        r#"{{"type":"welcome","id":"花子","clients":[],"seq":{seq},"epoch":"{epoch}","resume":"tok-{epoch}"{recovered}}}"#
    )
}

fn message_frame(seq: u64, text: &str, replay: bool) -> String {
    format!(
        r#"{{"type":"message","from":"tanaka","to":"*","text":"{text}","ts":1,"seq":{seq},"replay":{replay}}}"#
    )
}

#[tokio::test]
async fn resumes_with_token_since_and_epoch_and_reports_each_number_once_per_epoch() {
    let (addr, queries) = scripted_v1_server(vec![
        vec![
            welcome_frame(5, "e1", None),
            message_frame(5, "five", true),
            message_frame(6, "six", false),
            // A replay overlapping what arrived live.
            message_frame(6, "six", true),
            message_frame(7, "seven", false),
        ],
        vec![
            welcome_frame(8, "e1", Some(true)),
            message_frame(7, "seven", true),
            message_frame(8, "eight", true),
        ],
        // The relay restarted: its numbers start again.
        vec![
            welcome_frame(0, "e2", Some(false)),
            message_frame(1, "one", false),
        ],
    ])
    .await;
    let mut config = join_config(addr, Some("花子"), Some("1234"));
    config.reconnect = true;
    let (_handle, mut events) = join(config);

    connected(&mut events).await;
    let texts: Vec<String> = messages_until(&mut events, "seven")
        .await
        .into_iter()
        .map(|m| m.text)
        .collect();
    assert_eq!(texts, ["five", "six", "seven"]);
    assert!(matches!(
        disconnected(&mut events).await,
        (Disconnect::Lost(_), Some(_))
    ));
    connected(&mut events).await;
    assert_eq!(next(&mut events).await, Event::Resumed { recovered: true });
    let eight = incoming(&mut events).await;
    assert_eq!(
        (eight.text.as_str(), eight.seq, eight.replay),
        ("eight", Some(8), true)
    );
    disconnected(&mut events).await;
    connected(&mut events).await;
    assert_eq!(next(&mut events).await, Event::Resumed { recovered: false });
    assert_eq!(incoming(&mut events).await.seq, Some(1), "a new epoch");

    let queries = queries.lock().unwrap().clone();
    let pairs = |q: &str| -> Vec<(String, String)> {
        url::form_urlencoded::parse(q.as_bytes())
            .into_owned()
            .collect()
    };
    let expected = |extra: &[(&str, &str)]| -> Vec<(String, String)> {
        [("name", "花子"), ("code", "1234")]
            .iter()
            .chain(extra)
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };
    assert_eq!(pairs(&queries[0]), expected(&[]));
    assert_eq!(
        pairs(&queries[1]),
        expected(&[("resume", "tok-e1"), ("since", "7"), ("epoch", "e1")])
    );
    assert_eq!(
        pairs(&queries[2]),
        expected(&[("resume", "tok-e1"), ("since", "8"), ("epoch", "e1")])
    );
}

#[tokio::test]
async fn a_refused_send_is_settled_by_its_refusal_and_the_next_one_by_its_echo() {
    let relay = start_relay(config()).await;
    let (handle, mut events) = join(join_config(relay.local_addr(), Some("花子"), None));
    connected(&mut events).await;
    let bad = handle.send(Recipient::Everyone, "bell\u{7}");
    let good = handle.send(Recipient::Everyone, "fine");
    match next(&mut events).await {
        Event::Refused { code, send, .. } => {
            assert_eq!(code, ErrorCode::BadText);
            assert_eq!(send, Some(bad));
        }
        other => panic!("expected Refused, got {other:?}"),
    }
    let echo = incoming(&mut events).await;
    assert_eq!((echo.text.as_str(), echo.confirms), ("fine", Some(good)));
}

/// Waits for a classroom event that `pick` accepts, skipping the rest.
async fn classroom<T>(events: &mut Events, pick: impl Fn(Classroom) -> Option<T>) -> T {
    loop {
        if let Event::Classroom(c) = next_any(events).await
            && let Some(found) = pick(c)
        {
            return found;
        }
    }
}

#[tokio::test]
async fn a_host_client_steers_the_room_and_a_student_sees_it_with_a_teacher_badge() {
    let relay = start_relay(RelayConfig {
        host_token: Some("k3y".to_owned()),
        ..config()
    })
    .await;
    let addr = relay.local_addr();
    let (teacher, mut t_events) = join(JoinConfig {
        host_key: Some("k3y".to_owned()),
        ..join_config(addr, Some("先生"), None)
    });
    connected(&mut t_events).await;
    let (student, mut s_events) = join(join_config(addr, Some("花子"), None));
    connected(&mut s_events).await;

    // A student's control message is refused as such and settles none of its sends.
    let pending = student.send(Recipient::Everyone, "after the refusal");
    student.control(ClientMessage::Pin {
        text: "mine".to_owned(),
    });
    let mut refused = None;
    let mut confirmed = false;
    while refused.is_none() || !confirmed {
        match next(&mut s_events).await {
            Event::Refused {
                code, about, send, ..
            } => refused = Some((code, about, send)),
            Event::Message(m) if m.confirms == Some(pending) => confirmed = true,
            _ => {}
        }
    }
    assert_eq!(
        refused,
        Some((ErrorCode::NotHost, Some("pin".to_owned()), None))
    );
    assert!(
        !message_with_text(&mut t_events, "after the refusal")
            .await
            .from_host
    );

    // The host raises nothing but sees the student's hand, pins, and opens a poll.
    student.control(ClientMessage::Hand { up: true, id: None });
    let queue = classroom(&mut t_events, |c| match c {
        Classroom::Hands(q) if !q.is_empty() => Some(q),
        _ => None,
    })
    .await;
    assert_eq!(queue[0].id, "花子");
    teacher.control(ClientMessage::Pin {
        text: "課題: p.12".to_owned(),
    });
    let pinned = classroom(&mut s_events, |c| match c {
        Classroom::Pinned(text) => Some(text),
        _ => None,
    })
    .await;
    assert_eq!(pinned, "課題: p.12");
    teacher.control(ClientMessage::Poll {
        question: "Done?".to_owned(),
        options: vec!["yes".to_owned(), "no".to_owned()],
    });
    let poll = classroom(&mut s_events, |c| match c {
        Classroom::Poll { poll, .. } => Some(poll),
        _ => None,
    })
    .await;
    student.control(ClientMessage::Vote { poll, option: 1 });
    let counts = classroom(&mut t_events, |c| match c {
        Classroom::Tally { counts, .. } => Some(counts),
        _ => None,
    })
    .await;
    assert_eq!(counts, [0, 1]);

    // The host's message carries the badge; the student's does not.
    teacher.send(Recipient::Everyone, "はい");
    let m = message_with_text(&mut s_events, "はい").await;
    assert!(m.from_host);
}

#[tokio::test]
async fn control_messages_to_a_seed_server_are_handed_back() {
    let (addr, _) = seed_dict_server().await;
    let (handle, mut events) = join(join_config(addr, None, None));
    connected(&mut events).await;
    handle.control(ClientMessage::Hand { up: true, id: None });
    loop {
        if let Event::ControlNotSent(m) = next(&mut events).await {
            assert_eq!(m, ClientMessage::Hand { up: true, id: None });
            break;
        }
    }
}
