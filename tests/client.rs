//! The client library against a real relay, and against a tiny seed-like server that knows
//! nothing of `classchat.v1`.
//!
//! Run: `cargo test --test client`.
// Helpers outside #[test] functions unwrap too: a failed setup should fail the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use classchat::client::{ClientHandle, Disconnect, Event, Incoming, JoinConfig, connect};
use classchat::protocol::{ClientInfo, ErrorCode, Recipient};
use common::*;
use futures_util::{SinkExt as _, StreamExt as _};
use tokio::net::TcpListener;
use tokio::runtime::Handle;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use url::Url;

fn join_config(addr: SocketAddr, name: Option<&str>, code: Option<&str>) -> JoinConfig {
    JoinConfig {
        url: Url::parse(&format!("ws://{addr}{DICT}")).unwrap(),
        name: name.map(str::to_owned),
        join_code: code.map(str::to_owned),
        host_key: None,
        reconnect: false,
    }
}

type Events = mpsc::UnboundedReceiver<Event>;

async fn next(events: &mut Events) -> Event {
    tokio::time::timeout(PATIENCE, events.recv())
        .await
        .expect("timed out waiting for an event")
        .expect("the client stopped")
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

    alice.send(Recipient::Client("bob".into()), "こんにちは");
    let got = incoming(&mut b_events).await;
    assert_eq!(got.from.as_deref(), Some("alice"));
    assert_eq!(got.to, Some(Recipient::Client("bob".into())));
    assert_eq!(got.text, "こんにちは");
    assert!(got.ts > 0);
    assert_eq!(
        incoming(&mut a_events).await,
        got,
        "alice sees the relay's confirmation"
    );

    bob.send_line("*/a/b").unwrap();
    let got = incoming(&mut a_events).await;
    assert_eq!(
        (got.from.as_deref(), got.to, got.text.as_str()),
        (Some("bob"), Some(Recipient::Everyone), "a/b")
    );
    assert!(bob.send_line("no slash").is_err());

    // A refusal arrives as an event and the session goes on.
    alice.send(Recipient::Client("nobody".into()), "x");
    match next(&mut a_events).await {
        Event::Refused { code, .. } => assert_eq!(code, ErrorCode::UnknownRecipient),
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
        Event::Refused { code, .. } => assert_eq!(code, ErrorCode::NameTaken),
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
    while refused_status(request(addr, &format!("{DICT}?code=0000"), true)).await == 401 {
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
async fn reconnects_by_itself_to_a_new_relay_on_the_same_port_and_keeps_its_nickname() {
    let relay = start_relay(config()).await;
    let addr = relay.local_addr();
    let mut config = join_config(addr, Some("taro"), None);
    config.reconnect = true;
    let (handle, mut events) = join(config);
    assert_eq!(connected(&mut events).await.0.as_deref(), Some("taro"));

    relay.shutdown().await;
    assert_eq!(
        disconnected(&mut events).await,
        (Disconnect::HostStopped, Some(Duration::from_secs(1))),
        "the first retry comes after 1 s"
    );

    // While disconnected, a message is handed back rather than lost.
    handle.send(Recipient::Everyone, "anyone?");
    loop {
        match next(&mut events).await {
            Event::NotSent { to, text } => {
                assert_eq!((to, text.as_str()), (Recipient::Everyone, "anyone?"));
                break;
            }
            // Only if this machine stalled past the first retry.
            Event::Connecting { .. } | Event::Disconnected { .. } => {}
            other => panic!("expected NotSent, got {other:?}"),
        }
    }

    let relay = start_relay_at(addr, common::config()).await;
    let (id, clients, legacy) = connected(&mut events).await;
    assert_eq!(id.as_deref(), Some("taro"));
    assert_eq!(ids(&clients.unwrap()), ["taro"]);
    assert!(!legacy);
    assert!(listed(&relay, "taro"));

    handle.send(Recipient::Everyone, "back");
    assert_eq!(incoming(&mut events).await.text, "back");
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

    handle.send(Recipient::Client(id.clone()), "hi");
    // The seed confirms nothing, so the client shows its own message as sent (with its ID),
    // then the server delivers it back (without a sender: the seed does not say).
    let shown = incoming(&mut events).await;
    assert_eq!(
        (shown.from.as_deref(), shown.text.as_str()),
        (Some(id.as_str()), "hi")
    );
    let delivered = incoming(&mut events).await;
    assert_eq!(delivered.from, None);
    assert_eq!(delivered.text, "hi");
    assert_eq!(delivered.to, Some(Recipient::Client(id)));
}
