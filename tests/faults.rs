//! Faults: peers that vanish or go silent, abuse of the HTTP handshake, and a relay restart
//! under connected clients. In each case an ordinary pair of clients keeps chatting through the
//! trouble, and the relay must free whatever the fault held.
//!
//! Abusive connections come from 127.0.0.2, so that the per-address limits they run into are
//! not the ordinary clients' (127.0.0.1): that the ordinary clients still get in is part of
//! what is checked.
//!
//! Run: `cargo test --test faults`.
// Helpers outside #[test] functions unwrap too: a failed setup should fail the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write as _;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use classchat::client::{self, Disconnect, Event, JoinConfig};
use classchat::protocol::{ErrorCode, Recipient, ServerMessage};
use classchat::relay::{RelayConfig, RelayHandle};
use common::*;
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::MaybeTlsStream;
use url::Url;

/// Where abusive connections come from.
const ABUSER: [u8; 4] = [127, 0, 0, 2];

/// Two ordinary clients on the addressed path, one in the seed's text and one in
/// `classchat.v1`, that pass messages back and forth while something goes wrong elsewhere.
struct Pair {
    seed: Ws,
    seed_id: String,
    ext: Ws,
    ext_id: String,
    /// Round trips completed.
    rounds: u32,
    /// IDs the extended client heard leave.
    left: Vec<String>,
}

impl Pair {
    async fn join(addr: SocketAddr) -> Self {
        let (seed, seed_id) = legacy_dict(addr).await;
        let (ext, ext_id, _) = extended_dict(addr, "").await;
        Self {
            seed,
            seed_id,
            ext,
            ext_id,
            rounds: 0,
            left: Vec::new(),
        }
    }

    /// The next chat message the extended client gets, as (from, to, text). Joins and leaves
    /// are noted on the way; copies of messages it sent to `other`, and refusals because
    /// `other` is gone, are skipped.
    async fn ext_message(&mut self, other: Option<&str>) -> (String, String, String) {
        loop {
            match json(&mut self.ext).await {
                ServerMessage::Joined { .. } => {}
                ServerMessage::Left { id } => self.left.push(id),
                ServerMessage::Message(m) if Some(m.to.as_wire()) == other => {}
                ServerMessage::Message(m) => return (m.from, m.to.as_wire().to_owned(), m.text),
                ServerMessage::Error {
                    code: ErrorCode::UnknownRecipient,
                    ..
                } if other.is_some() => {}
                other => panic!("unexpected frame: {other:?}"),
            }
        }
    }

    /// One message each way, each checked to arrive; with `other`, also one to that client.
    async fn round(&mut self, other: Option<&str>) {
        let n = self.rounds;
        let (seed_id, ext_id) = (self.seed_id.clone(), self.ext_id.clone());
        if let Some(other) = other {
            send_json(&mut self.ext, other, &format!("are you there? {n}")).await;
        }
        send(&mut self.seed, &format!("{ext_id}/ping {n}")).await;
        assert_eq!(
            self.ext_message(other).await,
            (seed_id.clone(), ext_id.clone(), format!("ping {n}"))
        );
        send_json(&mut self.ext, &seed_id, &format!("pong {n}")).await;
        assert_eq!(
            self.ext_message(other).await,
            (ext_id, seed_id, format!("pong {n}")),
            "the sender's copy"
        );
        assert_eq!(text(&mut self.seed).await, format!("pong {n}"));
        self.rounds += 1;
    }

    /// Chats until `peer_id` is reported gone, also writing to it if `write_to_it`; returns
    /// how long that took. Fails after [`PATIENCE`].
    async fn chat_until_left(&mut self, peer_id: &str, write_to_it: bool) -> Duration {
        let began = Instant::now();
        let mut written = 0;
        while !self.left.iter().any(|id| id == peer_id) {
            assert!(
                began.elapsed() < PATIENCE,
                "{peer_id} was never reported gone ({} rounds meanwhile)",
                self.rounds
            );
            // A few messages only: enough to be queued, never enough to fill its buffers
            // (then it would be cut off as slow, not as silent).
            let write = write_to_it && written < 20;
            written += usize::from(write);
            self.round(write.then_some(peer_id)).await;
        }
        began.elapsed()
    }
}

// --- Peers that vanish ------------------------------------------------------------------------

/// Drops a client with a TCP reset instead of a close: no close frame, no FIN.
fn reset(ws: Ws) {
    let MaybeTlsStream::Plain(stream) = ws.get_ref() else {
        panic!("not a plain TCP stream");
    };
    socket2::SockRef::from(stream)
        .set_linger(Some(Duration::ZERO))
        .unwrap();
    drop(ws);
}

#[tokio::test]
async fn a_peer_that_vanishes_with_a_reset_is_freed_at_once_and_the_room_keeps_talking() {
    // Longer than any wait here: only the reset itself can explain the relay noticing.
    let (relay, mut pair, baseline) = relay_with_a_pair(PATIENCE * 3).await;
    let addr = relay.local_addr();

    let (seed_peer, seed_peer_id) = legacy_dict(addr).await;
    let (ext_peer, ext_peer_id, _) = extended_dict(addr, "").await;
    pair.round(None).await;
    // Nothing is written to the first, so the relay must notice on its own; the second is
    // written to while it goes.
    reset(seed_peer);
    let seed_took = pair.chat_until_left(&seed_peer_id, false).await;
    reset(ext_peer);
    let ext_took = pair.chat_until_left(&ext_peer_id, true).await;
    println!(
        "reset peers reported gone after {seed_took:?} (seed) and {ext_took:?} (classchat.v1); \
         {} round trips meanwhile",
        pair.rounds
    );

    assert!(!listed(&relay, &seed_peer_id) && !listed(&relay, &ext_peer_id));
    only_the_pair_is_left(&relay, &mut pair, baseline).await;
}

/// A relay with this heartbeat, a chatting pair in it, and its task count with the pair.
async fn relay_with_a_pair(heartbeat: Duration) -> (RelayHandle, Pair, usize) {
    let relay = start_relay(RelayConfig {
        heartbeat,
        ..config()
    })
    .await;
    let pair = Pair::join(relay.local_addr()).await;
    let baseline = relay.tasks();
    (relay, pair, baseline)
}

/// Every other connection's task has ended and the pair still talks.
async fn only_the_pair_is_left(relay: &RelayHandle, pair: &mut Pair, baseline: usize) {
    eventually("the other connection tasks have ended", || {
        relay.tasks() == baseline
    })
    .await;
    pair.round(None).await;
    assert_eq!(relay.clients().len(), 2);
}

#[tokio::test]
async fn a_peer_that_stops_answering_is_freed_within_the_heartbeat_and_the_room_keeps_talking() {
    let heartbeat = Duration::from_millis(300);
    let (relay, mut pair, baseline) = relay_with_a_pair(heartbeat).await;
    let addr = relay.local_addr();

    // Joins like any client, then is never polled again: it reads nothing, so it answers no
    // ping, and the messages written to it meanwhile pile up unread.
    let (silent, silent_id) = legacy_dict(addr).await;
    let took = pair.chat_until_left(&silent_id, true).await;
    println!(
        "silent peer reported gone {took:?} after it joined (heartbeat {heartbeat:?}); {} round \
         trips meanwhile",
        pair.rounds
    );

    assert!(!listed(&relay, &silent_id));
    only_the_pair_is_left(&relay, &mut pair, baseline).await;
    assert_eq!(relay.stats().dropped_slow, 0, "it was silent, not slow");
    drop(silent);
}

// --- Handshake abuse --------------------------------------------------------------------------

/// A TCP connection to `addr` from `ip`.
async fn connect_from(ip: [u8; 4], addr: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::from((ip, 0))).unwrap();
    socket.connect(addr).await.unwrap()
}

/// Reads until the relay closes the connection (a reset counts) and returns what it sent.
async fn until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0; 4096];
    loop {
        let read = tokio::time::timeout(PATIENCE, stream.read(&mut buf))
            .await
            .expect("the relay never closed the connection");
        match read {
            Ok(0) | Err(_) => return got,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
}

/// The first line of an HTTP answer, for messages.
fn status_line(got: &[u8]) -> String {
    if got.is_empty() {
        return "(no answer)".to_owned();
    }
    let text = String::from_utf8_lossy(got);
    text.lines().next().unwrap_or_default().to_owned()
}

/// A WebSocket handshake request to the addressed path, all but the blank line that ends it.
fn upgrade_lines(addr: SocketAddr) -> String {
    format!(
        "GET {DICT} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
    )
}

/// Whether the relay took the connection for a WebSocket.
fn upgraded(got: &[u8]) -> bool {
    got.starts_with(b"HTTP/1.1 101")
}

/// Writes `bytes` while the relay reads; stops quietly when it closes. Returns what it sent
/// back before closing.
async fn write_then_read(mut stream: TcpStream, bytes: Vec<u8>) -> Vec<u8> {
    let (mut reader, mut writer) = stream.split();
    let writing = async {
        // The relay may close before everything is written: that is the point.
        writer.write_all(&bytes).await.ok();
    };
    let reading = async {
        let mut got = Vec::new();
        let mut buf = [0; 4096];
        loop {
            let read = tokio::time::timeout(PATIENCE, reader.read(&mut buf))
                .await
                .expect("the relay never closed the connection");
            match read {
                Ok(0) | Err(_) => return got,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    };
    let ((), got) = tokio::join!(writing, reading);
    got
}

/// Sends a request head one byte at a time, never finishing it, until the relay hangs up.
/// Returns how long the relay listened and what it answered.
async fn slowloris(addr: SocketAddr) -> (Duration, Vec<u8>) {
    // Taken before connecting, so that the relay's clock for this request cannot start earlier.
    let began = Instant::now();
    let mut stream = connect_from(ABUSER, addr).await;
    stream
        .write_all(format!("GET {DICT} HTTP/1.1\r\nHost: {addr}\r\nX-Slow: ").as_bytes())
        .await
        .unwrap();
    let mut got = Vec::new();
    let mut buf = [0; 1024];
    loop {
        assert!(
            began.elapsed() < PATIENCE,
            "the slow request was never cut off"
        );
        tokio::select! {
            read = stream.read(&mut buf) => match read {
                Ok(0) | Err(_) => return (began.elapsed(), got),
                Ok(n) => got.extend_from_slice(&buf[..n]),
            },
            () = tokio::time::sleep(Duration::from_millis(50)) => {
                if stream.write_all(b"a").await.is_err() {
                    got.extend(until_closed(&mut stream).await);
                    return (began.elapsed(), got);
                }
            }
        }
    }
}

#[tokio::test]
async fn a_request_sent_slowly_is_cut_off_at_the_handshake_timeout_while_others_chat() {
    const SLOW: usize = 4;
    let handshake_timeout = Duration::from_secs(1);
    let relay = start_relay(RelayConfig {
        handshake_timeout,
        max_pending_per_address: SLOW as u32,
        ..config()
    })
    .await;
    let addr = relay.local_addr();
    let slow: Vec<_> = (0..SLOW).map(|_| tokio::spawn(slowloris(addr))).collect();
    eventually("the slow requests are being read", || {
        relay.tasks() == SLOW || slow.iter().all(|t| t.is_finished())
    })
    .await;

    // Their address is at its limit of unfinished requests; this one is not.
    let mut pair = Pair::join(addr).await;
    pair.round(None).await;

    for task in slow {
        let (lasted, got) = task.await.unwrap();
        println!(
            "slow request cut off after {lasted:?}: {}",
            status_line(&got)
        );
        assert!(!upgraded(&got));
        assert!(
            lasted >= handshake_timeout,
            "cut off after {lasted:?}, before the handshake timeout: not by it"
        );
    }
    pair.round(None).await;
    eventually("only the pair's tasks are left", || relay.tasks() == 2).await;
}

/// A relay that gives a client 1 s to send its HTTP request.
async fn short_handshake_relay() -> RelayHandle {
    start_relay(RelayConfig {
        handshake_timeout: Duration::from_secs(1),
        ..config()
    })
    .await
}

#[tokio::test]
async fn garbage_instead_of_http_is_answered_and_closed_while_others_chat() {
    let relay = short_handshake_relay().await;
    let seed: u64 = rand::random();
    println!("garbage seed {seed}");
    let mut rng = StdRng::seed_from_u64(seed);
    let mut garbage = Vec::new();
    // Random bytes, random bytes after a plausible start, and text that never ends a line.
    for _ in 0..3 {
        let len = rng.random_range(1..8 * 1024);
        garbage.push((0..len).map(|_| rng.random::<u8>()).collect::<Vec<u8>>());
    }
    let mut plausible = b"GET /ws_multi_client_dict HTTP/1.1\r\n".to_vec();
    plausible.extend((0..4096).map(|_| rng.random::<u8>()));
    garbage.push(plausible);
    garbage.push(vec![b'A'; 256 * 1024]);
    abuse_while_others_chat(&relay, garbage, "garbage").await;
}

/// Sends each payload from the abuser's address while a pair chats: none may be upgraded, the
/// pair keeps talking, and no task is left behind.
async fn abuse_while_others_chat(relay: &RelayHandle, payloads: Vec<Vec<u8>>, what: &str) {
    let addr = relay.local_addr();
    let tasks: Vec<_> = payloads
        .into_iter()
        .map(|bytes| {
            tokio::spawn(async move {
                let stream = connect_from(ABUSER, addr).await;
                write_then_read(stream, bytes).await
            })
        })
        .collect();

    let mut pair = Pair::join(addr).await;
    pair.round(None).await;
    for task in tasks {
        let got = task.await.unwrap();
        println!("{what} answered with {}", status_line(&got));
        assert!(!upgraded(&got), "{}", status_line(&got));
    }
    pair.round(None).await;
    eventually("only the pair's tasks are left", || relay.tasks() == 2).await;
}

#[tokio::test]
async fn huge_request_heads_are_refused_while_others_chat() {
    let relay = short_handshake_relay().await;
    let addr = relay.local_addr();
    let upgrade = upgrade_lines(addr);
    // A valid handshake but for one 64 KiB header; the same with a thousand small headers; and
    // one that never stops sending headers.
    let one_big = format!("{upgrade}X-Big: {}\r\n\r\n", "b".repeat(64 * 1024));
    let many = format!(
        "{upgrade}{}\r\n",
        (0..1000)
            .map(|i| format!("X-{i}: v\r\n"))
            .collect::<String>()
    );
    let endless = format!(
        "{upgrade}{}",
        (0..100_000)
            .map(|i| format!("X-{i}: v\r\n"))
            .collect::<String>()
    );
    let heads = [one_big, many, endless].map(String::into_bytes).to_vec();
    abuse_while_others_chat(&relay, heads, "huge request head").await;

    // Still within the limit, the same handshake is accepted.
    let mut stream = connect_from(ABUSER, addr).await;
    let got = write_then_read_head(&mut stream, format!("{upgrade}X-Small: s\r\n\r\n")).await;
    assert!(upgraded(&got), "{}", status_line(&got));
}

/// Writes a request head and reads the answer's head, leaving the connection open.
async fn write_then_read_head(stream: &mut TcpStream, head: String) -> Vec<u8> {
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut got = Vec::new();
    let mut buf = [0; 1024];
    while !got.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = tokio::time::timeout(PATIENCE, stream.read(&mut buf))
            .await
            .expect("no answer")
            .unwrap();
        assert!(n > 0, "closed: {}", status_line(&got));
        got.extend_from_slice(&buf[..n]);
    }
    got
}

#[tokio::test]
async fn connections_from_one_address_beyond_its_limit_are_closed_while_others_chat() {
    const LIMIT: u32 = 4;
    const EXCESS: u64 = 8;
    let handshake_timeout = Duration::from_secs(5);
    let relay = start_relay(RelayConfig {
        handshake_timeout,
        max_pending_per_address: LIMIT,
        ..config()
    })
    .await;
    let addr = relay.local_addr();

    // Connections that say nothing at all hold the address's places...
    let began = Instant::now();
    let mut idle = Vec::new();
    for _ in 0..LIMIT {
        idle.push(connect_from(ABUSER, addr).await);
    }
    eventually("the idle connections are held", || {
        relay.tasks() == LIMIT as usize
    })
    .await;
    // ...so more from there are closed at once, without an answer, while those are held.
    for _ in 0..EXCESS {
        let mut extra = connect_from(ABUSER, addr).await;
        let got = until_closed(&mut extra).await;
        assert!(got.is_empty(), "{}", status_line(&got));
        for held in &idle {
            let mut buf = [0; 1];
            assert!(
                matches!(held.try_read(&mut buf), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
                "an idle connection ended before the one over the limit: that one was let in"
            );
        }
    }
    assert_eq!(relay.stats().refused, EXCESS);

    // Another address is not affected.
    let mut pair = Pair::join(addr).await;
    pair.round(None).await;

    // The handshake timeout ends the idle ones too, which frees the address.
    for mut held in idle {
        let got = until_closed(&mut held).await;
        assert!(!upgraded(&got));
    }
    let lasted = began.elapsed();
    println!("idle connections were closed after {lasted:?}");
    assert!(
        lasted >= handshake_timeout,
        "closed before the handshake timeout"
    );
    pair.round(None).await;
    eventually("only the pair's tasks are left", || relay.tasks() == 2).await;

    let stream = connect_from(ABUSER, addr).await;
    let (mut ws, _) = tokio_tungstenite::client_async(request(addr, DICT, false), stream)
        .await
        .unwrap();
    assert!(text(&mut ws).await.starts_with("Your ID is: "));
    assert_eq!(relay.clients().len(), 3);
}

#[tokio::test]
async fn handshakes_abandoned_halfway_leave_no_place_taken() {
    const PLACES: usize = 2;
    let relay = start_relay(RelayConfig {
        max_clients: PLACES,
        handshake_timeout: Duration::from_secs(1),
        ..config()
    })
    .await;
    let addr = relay.local_addr();
    let upgrade = format!("{}\r\n", upgrade_lines(addr));
    for i in 0..20 {
        let mut stream = connect_from(ABUSER, addr).await;
        stream.write_all(upgrade.as_bytes()).await.unwrap();
        if i % 2 == 0 {
            // Gone before the answer: a reset right after the request.
            socket2::SockRef::from(&stream)
                .set_linger(Some(Duration::ZERO))
                .unwrap();
        }
        drop(stream);
    }
    eventually("the abandoned connections are gone", || relay.tasks() == 0).await;
    let mut pair = Pair::join(addr).await;
    pair.round(None).await;
    assert_eq!(relay.clients().len(), PLACES);
}

#[tokio::test]
async fn an_idle_connection_after_a_plain_http_request_is_closed_by_the_timeout() {
    let handshake_timeout = Duration::from_secs(1);
    let relay = start_relay(RelayConfig {
        handshake_timeout,
        ..config()
    })
    .await;
    let addr = relay.local_addr();
    let began = Instant::now();
    let mut stream = connect_from(ABUSER, addr).await;
    let got = write_then_read_head(
        &mut stream,
        format!("GET /no-such-page HTTP/1.1\r\nHost: {addr}\r\n\r\n"),
    )
    .await;
    assert!(got.starts_with(b"HTTP/1.1 404"), "{}", status_line(&got));
    // The connection stays open for another request, but not forever.
    until_closed(&mut stream).await;
    println!(
        "idle connection closed {:?} after it connected",
        began.elapsed()
    );
    eventually("its task has ended", || relay.tasks() == 0).await;
}

/// A masked client text frame, as a browser would send it.
fn client_text_frame(text: &str) -> Vec<u8> {
    let payload = text.as_bytes();
    assert!(payload.len() < 126);
    let mask = [0x12, 0x34, 0x56, 0x78];
    let mut frame = vec![0x81, 0x80 | payload.len() as u8];
    frame.extend_from_slice(&mask);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    frame
}

#[tokio::test]
async fn a_frame_sent_together_with_the_handshake_is_not_lost() {
    let relay = start_relay(config()).await;
    let addr = relay.local_addr();
    let mut pair = Pair::join(addr).await;
    let mut bytes = format!("{}\r\n", upgrade_lines(addr)).into_bytes();
    bytes.extend(client_text_frame(&format!("{}/early bird", pair.ext_id)));
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(&bytes).await.unwrap();
    let (from, _, text) = pair.ext_message(None).await;
    assert_eq!(text, "early bird");
    assert!(from.starts_with("client"), "{from}");
    drop(stream);
}

// --- Relay restart ----------------------------------------------------------------------------

type Events = mpsc::UnboundedReceiver<Event>;

/// Skips events until one matches `wanted`, and returns it.
async fn event_where(events: &mut Events, wanted: impl Fn(&Event) -> bool) -> Event {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    let mut seen = Vec::new();
    loop {
        let event = tokio::time::timeout_at(deadline, events.recv())
            .await
            .unwrap_or_else(|_| panic!("no such event; saw {seen:?}"))
            .expect("the client stopped");
        if wanted(&event) {
            return event;
        }
        seen.push(event);
    }
}

fn connected_as(event: &Event, name: &str) -> bool {
    matches!(event, Event::Connected { id: Some(id), .. } if id == name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn library_and_terminal_clients_reconnect_by_themselves_after_a_restart_with_their_names() {
    let relay = start_relay(config()).await;
    let addr = relay.local_addr();
    let url = format!("ws://{addr}{DICT}");
    let mut library_config = JoinConfig::new(Url::parse(&url).unwrap());
    library_config.name = Some("taro".to_owned());
    let (library, mut events) =
        client::connect(&tokio::runtime::Handle::current(), library_config, None);
    event_where(&mut events, |e| connected_as(e, "taro")).await;
    let (mut terminal, out) = join_process(&[&url, "--name", "花子"]);
    wait_for_line(&out, |l| l == "Connected. Your ID is: 花子");
    eventually("both are connected", || relay.clients().len() == 2).await;

    relay.shutdown().await;
    let event = event_where(&mut events, |e| matches!(e, Event::Disconnected { .. })).await;
    assert!(
        matches!(
            &event,
            Event::Disconnected {
                reason: Disconnect::HostStopped,
                retry_in: Some(_)
            }
        ),
        "{event:?}"
    );
    let line = wait_for_line(&out, |l| l.starts_with("Disconnected:"));
    assert!(
        line.starts_with("Disconnected: the host stopped the chat. Reconnecting in"),
        "{line}"
    );

    // A new relay on the same port; nobody tells the clients.
    let relay = start_relay_at(addr, config()).await;
    event_where(&mut events, |e| connected_as(e, "taro")).await;
    wait_for_line(&out, |l| l == "Connected. Your ID is: 花子");
    eventually("both are back", || {
        listed(&relay, "taro") && listed(&relay, "花子")
    })
    .await;

    // And they talk, both ways.
    library.send(Recipient::Client("花子".to_owned()), "おかえり");
    wait_for_line(&out, |l| l == "taro: おかえり");
    let stdin = terminal.0.stdin.as_mut().unwrap();
    writeln!(stdin, "taro/ただいま").unwrap();
    stdin.flush().unwrap();
    let event = event_where(
        &mut events,
        |e| matches!(e, Event::Message(m) if m.from.as_deref() == Some("花子")),
    )
    .await;
    let Event::Message(m) = event else {
        unreachable!()
    };
    assert_eq!(m.text, "ただいま");
    assert_eq!(m.to, Some(Recipient::Client("taro".to_owned())));
    relay.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_restart_a_nickname_someone_else_took_gives_a_generated_id_and_says_so() {
    let relay = start_relay(config()).await;
    let addr = relay.local_addr();
    let (_terminal, out) = join_process(&[&format!("ws://{addr}{DICT}"), "--name", "花子"]);
    wait_for_line(&out, |l| l == "Connected. Your ID is: 花子");
    relay.shutdown().await;
    wait_for_line(&out, |l| l.starts_with("Disconnected:"));

    // Hold the port with a listener that hangs up at once until the terminal's back-off has
    // grown to 2 s, so the other client takes the name first however slow this machine is.
    let blocker = TcpListener::bind(addr).await.unwrap();
    let hang_up = tokio::spawn(async move {
        loop {
            if let Ok((stream, _)) = blocker.accept().await {
                drop(stream);
            }
        }
    });
    wait_for_line(&out, |l| l.contains("Reconnecting in 2 s"));
    hang_up.abort();
    hang_up.await.unwrap_err();
    let relay = start_relay_at(addr, config()).await;
    let (_squatter, squatter_id, _) = extended_dict(addr, "?name=%E8%8A%B1%E5%AD%90").await;
    assert_eq!(squatter_id, "花子", "the other client got the free name");
    let line = wait_for_line(&out, |l| l.starts_with("Connected. Your ID is: "));
    let id = line.trim_start_matches("Connected. Your ID is: ");
    assert!(id.starts_with("client"), "{line}");
    let line = wait_for_line(&out, |l| l.starts_with("Error: "));
    assert!(line.contains("花子"), "{line}");
    eventually("both are listed", || {
        listed(&relay, "花子") && listed(&relay, id)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn library_and_terminal_clients_reconnect_after_the_relay_process_is_killed() {
    let (mut relay, url, _relay_out) = serve(&[]);
    let addr = served_addr(&url);
    let mut library_config = JoinConfig::new(Url::parse(&url).unwrap());
    library_config.name = Some("taro".to_owned());
    let (library, mut events) =
        client::connect(&tokio::runtime::Handle::current(), library_config, None);
    event_where(&mut events, |e| connected_as(e, "taro")).await;
    let (_terminal, out) = join_process(&[&url, "--name", "花子"]);
    wait_for_line(&out, |l| l == "Connected. Your ID is: 花子");

    // No close frame, no goodbye: the process is gone.
    relay.0.kill().unwrap();
    relay.0.wait().unwrap();
    let event = event_where(&mut events, |e| matches!(e, Event::Disconnected { .. })).await;
    assert!(
        matches!(
            &event,
            Event::Disconnected {
                reason: Disconnect::Lost(_),
                retry_in: Some(_)
            }
        ),
        "{event:?}"
    );
    let line = wait_for_line(&out, |l| l.starts_with("Disconnected:"));
    assert!(line.contains("Reconnecting in"), "{line}");

    let (_relay, _, _relay_out) = serve_on(addr.port(), &[]);
    event_where(&mut events, |e| connected_as(e, "taro")).await;
    wait_for_line(&out, |l| l == "Connected. Your ID is: 花子");
    library.send(Recipient::Client("花子".to_owned()), "無事？");
    wait_for_line(&out, |l| l == "taro: 無事？");
}
