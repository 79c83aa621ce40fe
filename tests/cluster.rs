//! Several relays on one real NATS server (`nats-server -js`) acting as one chat: messages
//! cross relays in both dialects, one roster, IDs unique cluster-wide, the classroom (a host's
//! controls, raised hands, polls) on every relay and learned by a relay that starts later,
//! churn, a relay killed under traffic, and NATS itself restarted under the relays.
//!
//! Each test starts its own `nats-server` on a free loopback port with a temporary JetStream
//! directory (`NATS_SERVER` names the binary if it is not on `PATH` or in `/usr/sbin`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod churn_suite;
mod common;

use std::net::{SocketAddr, TcpListener as StdListener, TcpStream as StdStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use churn_suite::{Settings, Target, churn, print_figures};
use classchat::client::{self, Event, JoinConfig};
use classchat::protocol::{ClientMessage, ErrorCode, Recipient, RoomModes, ServerMessage};
use classchat::relay::{self, ClusterConfig, RelayConfig, RelayHandle};
use common::{
    DICT, ECHO, LIST, PATIENCE, Ws, close_frame, eventually, extended, extended_dict, json, legacy,
    legacy_dict, listed, send, send_json, send_with_id, served_addr, text,
};
use futures_util::StreamExt as _;
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;

/// How long the cluster may take to notice something (a relay's death takes three seconds of
/// silence; a loaded machine adds to every step).
const CLUSTER_PATIENCE: Duration = Duration::from_secs(30);

/// A `nats-server` with JetStream, killed (and its directory removed) when dropped.
struct Nats {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
}

impl Nats {
    fn start() -> Self {
        let port = free_port();
        let dir = std::env::temp_dir().join(format!(
            "classchat-nats-{}-{port}-{}",
            std::process::id(),
            rand_suffix()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let mut nats = Self {
            child: None,
            port,
            dir,
        };
        nats.restart();
        nats
    }

    fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Starts the server (again) on the same port and directory, and waits until it accepts.
    fn restart(&mut self) {
        let child = Command::new(nats_binary())
            .args([
                "-js",
                "-a",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-sd",
            ])
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nats-server must be installed (apt-get install nats-server)");
        self.child = Some(child);
        let deadline = std::time::Instant::now() + CLUSTER_PATIENCE;
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        while StdStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "nats-server did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills the server (its data stays for a restart).
    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().ok();
            child.wait().ok();
        }
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        self.stop();
        std::fs::remove_dir_all(&self.dir).ok();
    }
}

fn nats_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("NATS_SERVER") {
        return PathBuf::from(path);
    }
    let debian = PathBuf::from("/usr/sbin/nats-server");
    if debian.exists() {
        debian
    } else {
        PathBuf::from("nats-server")
    }
}

fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn rand_suffix() -> u64 {
    use std::hash::{BuildHasher as _, RandomState};
    RandomState::new().hash_one(std::time::SystemTime::now())
}

/// A test relay's settings, in the cluster on `nats`.
fn cluster_config(nats: &Nats, name: &str) -> RelayConfig {
    RelayConfig {
        cluster: Some(ClusterConfig {
            relay_name: Some(name.to_owned()),
            ..ClusterConfig::new(nats.url())
        }),
        ..common::config()
    }
}

/// Starts a relay of the cluster on a free port, on this test's runtime.
async fn relay_in(nats: &Nats, name: &str) -> RelayHandle {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    relay::launch(listener, cluster_config(nats, name))
        .await
        .unwrap()
}

/// A relay on a runtime of its own, so that the test can kill it without any goodbye: its
/// tasks vanish, its sockets close, its heartbeats stop.
struct Doomed {
    runtime: Option<tokio::runtime::Runtime>,
    addr: SocketAddr,
}

impl Doomed {
    async fn start(nats: &Nats, name: &str) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let config = cluster_config(nats, name);
        let handle = runtime
            .spawn(async move {
                let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
                relay::launch(listener, config).await.unwrap()
            })
            .await
            .unwrap();
        let addr = handle.local_addr();
        // Dropping the handle would stop the relay politely; it dies with its runtime instead.
        std::mem::forget(handle);
        Self {
            runtime: Some(runtime),
            addr,
        }
    }

    fn kill(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl Drop for Doomed {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The next chat message, skipping notices, joins and leaves.
async fn message(ws: &mut Ws) -> classchat::protocol::ChatMessage {
    loop {
        match json(ws).await {
            ServerMessage::Message(m) => return m,
            ServerMessage::Joined { .. } | ServerMessage::Left { .. } => {}
            ServerMessage::Error { code, message, .. } => {
                panic!("expected a message, got error {code:?}: {message}")
            }
            _ => {}
        }
    }
}

/// Reads until `peer_id` joins, with the cluster's patience.
async fn until_joined(ws: &mut Ws, peer_id: &str) {
    tokio::time::timeout(CLUSTER_PATIENCE, async {
        loop {
            if let ServerMessage::Joined { client } = json(ws).await
                && client.id == peer_id
            {
                return;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{peer_id} never joined"));
}

/// Reads until `peer_id` leaves, with the cluster's patience.
async fn until_left(ws: &mut Ws, peer_id: &str) {
    tokio::time::timeout(CLUSTER_PATIENCE, async {
        loop {
            if let ServerMessage::Left { id } = json(ws).await
                && id == peer_id
            {
                return;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{peer_id} never left"));
}

/// Waits, polling `relay`, until it lists `peer_id` (or no longer does).
async fn until_listed(relay: &RelayHandle, peer_id: &str, wanted: bool) {
    let deadline = tokio::time::Instant::now() + CLUSTER_PATIENCE;
    while listed(relay, peer_id) != wanted {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{peer_id} listed: expected {wanted}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The welcome's resume token, epoch and seq, read from a fresh `classchat.v1` connection.
async fn join_v1(addr: SocketAddr, name: &str) -> (Ws, String, String, String) {
    let mut ws = extended(addr, &format!("{DICT}?name={name}")).await;
    match json(&mut ws).await {
        ServerMessage::Welcome {
            id,
            resume: Some(token),
            epoch: Some(epoch),
            ..
        } => (ws, id, token, epoch),
        other => panic!("expected a welcome with a session, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_cross_relays_in_both_dialects_with_one_roster() {
    let nats = Nats::start();
    let a = relay_in(&nats, "a").await;
    let b = relay_in(&nats, "b").await;

    let (mut ana, ana_id, _, _) = join_v1(a.local_addr(), "ana").await;
    assert_eq!(ana_id, "ana");
    // Bo joins on the other relay; its welcome lists Ana once the relays have spoken.
    until_listed(&b, "ana", true).await;
    let (mut bo, bo_id, clients) = extended_dict(b.local_addr(), "?name=bo").await;
    assert_eq!(bo_id, "bo");
    assert!(clients.contains(&"ana".to_owned()), "{clients:?}");
    until_joined(&mut ana, "bo").await;

    // classchat.v1 to classchat.v1, across relays, with the sender's confirmation.
    send_json(&mut ana, "bo", "hello from A").await;
    let got = message(&mut bo).await;
    assert_eq!(
        (got.from.as_str(), got.text.as_str()),
        ("ana", "hello from A")
    );
    let echo = message(&mut ana).await;
    assert_eq!(echo.text, "hello from A");
    assert_eq!(echo.seq, got.seq, "one number for the whole cluster");

    // A seed client on B, addressed from A and writing back.
    let (mut seed, seed_id) = legacy_dict(b.local_addr()).await;
    until_joined(&mut ana, &seed_id).await;
    send_json(&mut ana, &seed_id, "to the seed client").await;
    assert_eq!(text(&mut seed).await, "to the seed client");
    assert_eq!(message(&mut ana).await.text, "to the seed client");
    send(&mut seed, "ana/from the seed client").await;
    let got = message(&mut ana).await;
    assert_eq!(
        (got.from.as_str(), got.text.as_str()),
        (seed_id.as_str(), "from the seed client")
    );

    // `*` from B reaches everyone on both relays, once.
    send_json(&mut bo, "*", "everyone").await;
    assert_eq!(message(&mut ana).await.text, "everyone");
    assert_eq!(message(&mut bo).await.text, "everyone");
    assert_eq!(text(&mut seed).await, "everyone");

    // The seed's broadcast path: each relay's client gets the other's message with the echo.
    let mut on_a = legacy(a.local_addr(), LIST).await;
    let mut on_b = legacy(b.local_addr(), LIST).await;
    let in_broadcast = |relay: &RelayHandle| {
        relay
            .clients()
            .iter()
            .filter(|c| c.endpoint == relay::Endpoint::Broadcast)
            .count()
    };
    eventually("both relays list both broadcast clients", || {
        in_broadcast(&a) == 2 && in_broadcast(&b) == 2
    })
    .await;
    send(&mut on_a, "across the broadcast room").await;
    assert_eq!(
        text(&mut on_b).await,
        format!("{ECHO}across the broadcast room")
    );
    assert_eq!(
        text(&mut on_a).await,
        format!("{ECHO}across the broadcast room")
    );

    // One roster: both relays list everyone.
    for relay in [&a, &b] {
        for peer_id in ["ana", "bo", seed_id.as_str()] {
            until_listed(relay, peer_id, true).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_and_generated_ids_are_unique_across_relays() {
    let nats = Nats::start();
    let a = relay_in(&nats, "a").await;
    let b = relay_in(&nats, "b").await;

    let (mut ana, _, _, _) = join_v1(a.local_addr(), "ana").await;
    // The same name, differently written, on the other relay: refused, with a generated ID.
    let mut second = extended(b.local_addr(), &format!("{DICT}?name=ANA")).await;
    let second_id = match json(&mut second).await {
        ServerMessage::Welcome { id, .. } => id,
        other => panic!("expected a welcome, got {other:?}"),
    };
    assert_ne!(second_id.to_lowercase(), "ana");
    match json(&mut second).await {
        ServerMessage::Error { code, .. } => assert_eq!(code, ErrorCode::NameTaken),
        other => panic!("expected name_taken, got {other:?}"),
    }

    // Generated IDs from both relays never collide.
    let mut ids = vec![second_id];
    let mut seeds = Vec::new();
    for i in 0..6 {
        let relay = if i % 2 == 0 { &a } else { &b };
        let (ws, id) = legacy_dict(relay.local_addr()).await;
        ids.push(id);
        seeds.push(ws);
    }
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "{ids:?}");

    // Once Ana leaves, her name is free on the other relay.
    until_listed(&b, "ana", true).await;
    ana.close(None).await.unwrap();
    until_listed(&b, "ana", false).await;
    let (_again, id, _, _) = join_v1(b.local_addr(), "ana").await;
    assert_eq!(id, "ana");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_chats_on_one_nats_server_never_meet() {
    let nats = Nats::start();
    let in_chat = |chat: &str| {
        let mut config = cluster_config(&nats, chat);
        if let Some(cluster) = &mut config.cluster {
            cluster.chat = chat.to_owned();
        }
        config
    };
    let start = |config: RelayConfig| async move {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        relay::launch(listener, config).await.unwrap()
    };
    let math = start(in_chat("math")).await;
    let art = start(in_chat("art")).await;
    let (mut ana_math, id, _, _) = join_v1(math.local_addr(), "ana").await;
    assert_eq!(id, "ana");
    // The same name in the other chat is free, and its roster does not list the first Ana.
    let (mut ana_art, id, _, _) = join_v1(art.local_addr(), "ana").await;
    assert_eq!(id, "ana");
    send_json(&mut ana_art, "*", "art only").await;
    assert_eq!(message(&mut ana_art).await.seq, Some(1));
    send_json(&mut ana_math, "*", "math only").await;
    let got = message(&mut ana_math).await;
    assert_eq!((got.text.as_str(), got.seq), ("math only", Some(1)));
    assert_eq!(math.clients().len(), 1);
    assert_eq!(art.clients().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_relays_clients_leave_and_resume_elsewhere_losing_and_doubling_nothing() {
    let nats = Nats::start();
    let mut doomed = Doomed::start(&nats, "doomed").await;
    let survivor = relay_in(&nats, "survivor").await;

    let (mut xia, _, token, epoch) = join_v1(doomed.addr, "xia").await;
    let (zed, _, _, _) = join_v1(doomed.addr, "zed").await;
    let (mut yan, _, _, _) = join_v1(survivor.local_addr(), "yan").await;
    until_joined(&mut xia, "yan").await;
    until_listed(&survivor, "zed", true).await;

    // Yan writes to Xia without pause; the relay Xia is on dies part-way.
    const COUNT: usize = 120;
    let mut seen_seq = 0;
    let mut received: Vec<String> = Vec::new();
    for i in 0..COUNT {
        send_with_id(&mut yan, "xia", &format!("m{i}"), &format!("y{i}")).await;
    }
    // Xia reads some of them, then her relay dies under her.
    while received.len() < 10 {
        let m = message(&mut xia).await;
        seen_seq = m.seq.unwrap();
        received.push(m.text);
    }
    // Xia has a message of her own in flight, written but not confirmed.
    send_with_id(&mut xia, "yan", "sent as A died", "x1").await;
    doomed.kill();
    // Xia's connection ends.
    loop {
        match tokio::time::timeout(PATIENCE, xia.next()).await.unwrap() {
            Some(Ok(Message::Text(t))) => {
                if let Ok(ServerMessage::Message(m)) = ServerMessage::parse(&t)
                    && m.from == "yan"
                {
                    seen_seq = m.seq.unwrap();
                    received.push(m.text);
                }
            }
            Some(Ok(_)) => {}
            Some(Err(_)) | None => break,
        }
    }
    drop(zed);

    // She resumes on the survivor, keeps her ID, gets what she missed, and sends again.
    let query = format!("{DICT}?resume={token}&since={seen_seq}&epoch={epoch}");
    let mut xia = extended(survivor.local_addr(), &query).await;
    match json(&mut xia).await {
        ServerMessage::Welcome { id, recovered, .. } => {
            assert_eq!(id, "xia");
            assert_eq!(recovered, Some(true));
        }
        other => panic!("expected a welcome, got {other:?}"),
    }
    send_with_id(&mut xia, "yan", "sent as A died", "x1").await;
    while received.len() < COUNT {
        let m = message(&mut xia).await;
        if m.from == "yan" {
            received.push(m.text);
        }
    }
    let expected: Vec<String> = (0..COUNT).map(|i| format!("m{i}")).collect();
    assert_eq!(received, expected, "every message once, in order");

    // Yan gets Xia's message exactly once: the marker after it comes next.
    let mut from_xia = 0;
    loop {
        let m = message(&mut yan).await;
        match (m.from.as_str(), m.text.as_str()) {
            ("xia", "sent as A died") => {
                from_xia += 1;
                send_json(&mut xia, "yan", "marker").await;
            }
            ("xia", "marker") => break,
            _ => {}
        }
    }
    assert_eq!(from_xia, 1);

    // Zed, who did not come back, leaves the roster; his name is free again.
    until_left(&mut yan, "zed").await;
    until_listed(&survivor, "xia", true).await;
    let (_zed_again, id, _, _) = join_v1(survivor.local_addr(), "zed").await;
    assert_eq!(id, "zed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_library_fails_over_to_a_fallback_relay_and_loses_nothing() {
    async fn next(events: &mut tokio::sync::mpsc::UnboundedReceiver<Event>) -> Event {
        let event = tokio::time::timeout(CLUSTER_PATIENCE, events.recv()).await;
        event.expect("an event in time").expect("the client runs")
    }

    let nats = Nats::start();
    let mut doomed = Doomed::start(&nats, "doomed-lib").await;
    let survivor = relay_in(&nats, "survivor-lib").await;
    let url = |addr: SocketAddr| url::Url::parse(&format!("ws://{addr}{DICT}")).unwrap();
    let config = JoinConfig {
        name: Some("xia".to_owned()),
        fallbacks: vec![url(survivor.local_addr())],
        ..JoinConfig::new(url(doomed.addr))
    };
    let (xia, mut events) = client::connect(&tokio::runtime::Handle::current(), config, None);
    while !matches!(next(&mut events).await, Event::Connected { .. }) {}
    let (mut yan, _, _, _) = join_v1(survivor.local_addr(), "yan").await;
    until_listed(&survivor, "xia", true).await;

    // Yan writes to Xia without pause; Xia's relay dies part-way through.
    const COUNT: usize = 60;
    for i in 0..COUNT {
        send_with_id(&mut yan, "xia", &format!("m{i}"), &format!("y{i}")).await;
    }
    let mut received: Vec<String> = Vec::new();
    let mut resumed = None;
    let mut sent_again = None;
    while received.len() < COUNT || resumed.is_none() {
        match next(&mut events).await {
            Event::Message(m) if m.from.as_deref() == Some("yan") => {
                received.push(m.text);
                if received.len() == 10 && resumed.is_none() {
                    // Written as the relay dies: it must arrive once, wherever it lands.
                    sent_again = Some(xia.send(Recipient::Client("yan".to_owned()), "as A died"));
                    doomed.kill();
                }
            }
            Event::Resumed { recovered } => resumed = Some(recovered),
            _ => {}
        }
    }
    assert_eq!(
        resumed,
        Some(true),
        "the session continued on the other relay"
    );
    let expected: Vec<String> = (0..COUNT).map(|i| format!("m{i}")).collect();
    assert_eq!(received, expected, "every message once, in order");
    assert!(sent_again.is_some());

    // Yan gets Xia's message exactly once: the marker written after it comes next.
    xia.send(Recipient::Client("yan".to_owned()), "marker");
    let mut from_xia = Vec::new();
    loop {
        let m = message(&mut yan).await;
        if m.from == "xia" {
            if m.text == "marker" {
                break;
            }
            from_xia.push(m.text);
        }
    }
    assert_eq!(from_xia, ["as A died"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nats_restart_refuses_sends_meanwhile_then_traffic_resumes() {
    let mut nats = Nats::start();
    let a = relay_in(&nats, "a").await;
    let b = relay_in(&nats, "b").await;
    let (mut ana, _, _, _) = join_v1(a.local_addr(), "ana").await;
    let (mut bo, _, _, _) = join_v1(b.local_addr(), "bo").await;
    until_joined(&mut ana, "bo").await;
    send_json(&mut ana, "*", "before").await;
    let before = message(&mut bo).await;
    assert_eq!(before.text, "before");
    assert_eq!(message(&mut ana).await.text, "before");

    nats.stop();
    // A send while NATS is away is refused, not dropped: the sender is told.
    send_with_id(&mut ana, "bo", "during", "d1").await;
    match json(&mut ana).await {
        ServerMessage::Error { code, .. } => assert_eq!(code, ErrorCode::Unavailable),
        other => panic!("expected unavailable, got {other:?}"),
    }
    // A newcomer is turned away with a close code that says to try again.
    let mut newcomer = extended(b.local_addr(), DICT).await;
    let frame = close_frame(&mut newcomer).await.expect("a close frame");
    assert_eq!(u16::from(frame.code), 4001);

    nats.restart();
    // Traffic resumes: the refused message, sent again, arrives once.
    let deadline = tokio::time::Instant::now() + CLUSTER_PATIENCE;
    let mut attempt = 0;
    let delivered = loop {
        assert!(
            tokio::time::Instant::now() < deadline,
            "traffic never resumed"
        );
        attempt += 1;
        send_with_id(&mut ana, "bo", "during", &format!("d{attempt}")).await;
        match json(&mut ana).await {
            ServerMessage::Message(m) => break m,
            ServerMessage::Error { code, .. } => {
                assert_eq!(code, ErrorCode::Unavailable);
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            other => panic!("unexpected {other:?}"),
        }
    };
    let got = message(&mut bo).await;
    assert_eq!((got.text.as_str(), got.seq), ("during", delivered.seq));
    assert!(
        got.seq > before.seq,
        "numbering goes on from before the restart"
    );
    // Nobody left the roster over the outage.
    eventually("both relays list both clients", || {
        listed(&a, "bo") && listed(&b, "ana")
    })
    .await;
    // The history from before the restart is still there for a newcomer.
    let mut late = extended(b.local_addr(), DICT).await;
    let _welcome = json(&mut late).await;
    assert_eq!(message(&mut late).await.text, "before");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn churn_across_relays_delivers_exactly_once_in_order() {
    let nats = Nats::start();
    let a = relay_in(&nats, "a").await;
    let b = relay_in(&nats, "b").await;
    let settings = Settings::from_env();
    println!("two relays on NATS: seed {}", settings.seed);
    let target = Target {
        addrs: vec![a.local_addr(), b.local_addr()],
        roster_slack: Duration::from_secs(2),
    };
    let outcome = churn(&target, &settings, Arc::default()).await;
    let figures = outcome.check(settings.seed);
    print_figures("two relays on NATS", settings.seed, &outcome, &figures);
    assert!(
        figures.owed > 0,
        "the rule never applied: nothing was checked"
    );
    for relay in [&a, &b] {
        eventually("every client is gone from both relays", || {
            relay.clients().is_empty()
        })
        .await;
    }
    let (a_stats, b_stats) = (a.stats(), b.stats());
    let (a_cluster, b_cluster) = (a_stats.cluster.unwrap(), b_stats.cluster.unwrap());
    println!("relay a: {a_stats}; cluster {a_cluster:?}");
    println!("relay b: {b_stats}; cluster {b_cluster:?}");
    // What one relay sent out, the other took in.
    assert_eq!(a_cluster.forwarded_out, b_cluster.forwarded_in);
    assert_eq!(b_cluster.forwarded_out, a_cluster.forwarded_in);
    assert_eq!(a_cluster.relays, 2);
}

/// The relay's `/metrics` page.
fn metrics(addr: SocketAddr) -> String {
    use std::io::{Read as _, Write as _};
    let Ok(mut stream) = StdStream::connect(addr) else {
        return String::new();
    };
    stream.set_read_timeout(Some(PATIENCE)).ok();
    write!(
        stream,
        "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .ok();
    let mut response = String::new();
    stream.read_to_string(&mut response).ok();
    response
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_joins_a_cluster_and_reports_it_in_metrics() {
    let nats = Nats::start();
    let in_process = relay_in(&nats, "in-process").await;
    let (_serve, url, _out) = common::serve_on(
        0,
        &[
            "--cluster",
            &nats.url(),
            "--relay-name",
            "served",
            "--metrics",
        ],
    );
    let addr = served_addr(&url);
    // A client of the served relay shows in the in-process relay's roster.
    let (_ana, _, _, _) = join_v1(addr, "ana").await;
    until_listed(&in_process, "ana", true).await;
    let deadline = tokio::time::Instant::now() + CLUSTER_PATIENCE;
    loop {
        let page = tokio::task::spawn_blocking(move || metrics(addr))
            .await
            .unwrap();
        if page.lines().any(|l| l == "classchat_cluster_relays 2") {
            assert!(
                page.contains("classchat_cluster_nats_connected 1"),
                "{page}"
            );
            assert!(
                page.contains("classchat_cluster_nats_rtt_seconds "),
                "{page}"
            );
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the served relay never saw the other: {page}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn serve_explains_a_nats_server_it_cannot_reach() {
    let unreachable = format!("nats://127.0.0.1:{}", free_port());
    let output = tokio::task::spawn_blocking(move || {
        common::serve_command(0, &["--cluster", &unreachable])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("could not connect to the cluster's NATS server"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hosts_modes_and_moderation_reach_every_relay() {
    let nats = Nats::start();
    let with_key = |name: &str| RelayConfig {
        host_token: Some("k3y".to_owned()),
        ..cluster_config(&nats, name)
    };
    let start = |config: RelayConfig| async move {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        relay::launch(listener, config).await.unwrap()
    };
    let a = start(with_key("a")).await;
    let b = start(with_key("b")).await;
    let mut sensei = extended(a.local_addr(), &format!("{DICT}?name=sensei&host=k3y")).await;
    let (mut stu, _, _, _) = join_v1(b.local_addr(), "stu").await;
    until_joined(&mut sensei, "stu").await;
    until_listed(&b, "sensei", true).await;

    // Students may no longer write to everyone: the student on the other relay is told, and
    // held to it.
    let frame = ClientMessage::Room {
        student_broadcast: Some(false),
        student_private: None,
    }
    .encode();
    send(&mut sensei, &frame).await;
    tokio::time::timeout(CLUSTER_PATIENCE, async {
        loop {
            if let ServerMessage::Room(modes) = common::json_any(&mut stu).await
                && !modes.student_broadcast
            {
                return;
            }
        }
    })
    .await
    .expect("the room's modes never reached the other relay");
    send_json(&mut stu, "*", "to everyone").await;
    assert_eq!(common::json_error(&mut stu).await, ErrorCode::NotAllowed);

    // Muted from the other relay.
    send(
        &mut sensei,
        &ClientMessage::Mute {
            id: "stu".into(),
            muted: true,
        }
        .encode(),
    )
    .await;
    eventually("the student's relay has muted the student", || {
        b.clients().iter().any(|c| c.info.id == "stu" && c.muted)
    })
    .await;
    send_json(&mut stu, "sensei", "a question").await;
    assert_eq!(common::json_error(&mut stu).await, ErrorCode::Muted);

    // Removed from the other relay.
    send(
        &mut sensei,
        &ClientMessage::Kick { id: "stu".into() }.encode(),
    )
    .await;
    let frame = close_frame(&mut stu).await.expect("a close frame");
    assert_eq!(u16::from(frame.code), 1008);
    until_listed(&a, "stu", false).await;
}

/// Reads `ws` until a message `wanted` accepts, with the cluster's patience.
async fn until(ws: &mut Ws, what: &str, wanted: impl Fn(&ServerMessage) -> bool) -> ServerMessage {
    tokio::time::timeout(CLUSTER_PATIENCE, async {
        loop {
            let message = common::json_any(ws).await;
            if wanted(&message) {
                return message;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("never got {what}"))
}

/// Reads a seed client's lines until one starts with `start`.
async fn until_line(ws: &mut Ws, start: &str) -> String {
    tokio::time::timeout(CLUSTER_PATIENCE, async {
        loop {
            let line = text(ws).await;
            if line.starts_with(start) {
                return line;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("never got a line starting {start:?}"))
}

/// The IDs in a `hands` queue, oldest first, if `message` is one.
fn queue(message: &ServerMessage) -> Option<Vec<&str>> {
    match message {
        ServerMessage::Hands { queue } => Some(queue.iter().map(|h| h.id.as_str()).collect()),
        _ => None,
    }
}

/// A relay of the cluster whose hosts show the key `k3y`.
async fn hosted_relay(nats: &Nats, name: &str) -> RelayHandle {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let config = RelayConfig {
        host_token: Some("k3y".to_owned()),
        ..cluster_config(nats, name)
    };
    relay::launch(listener, config).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hands_raised_on_one_relay_queue_for_hosts_on_another_and_go_down_with_their_relay() {
    let nats = Nats::start();
    let a = hosted_relay(&nats, "a").await;
    let mut b = Doomed::start(&nats, "b").await;
    let mut sensei = extended(a.local_addr(), &format!("{DICT}?name=sensei&host=k3y")).await;
    let (mut stu, _, _, _) = join_v1(b.addr, "stu").await;
    let (mut ana, _, _, _) = join_v1(a.local_addr(), "ana").await;
    until_joined(&mut sensei, "stu").await;
    let raise = ClientMessage::Hand { up: true, id: None }.encode();

    // A hand raised on the other relay joins the host's queue, oldest first.
    send(&mut stu, &raise).await;
    until(&mut stu, "the student's own hand up", |m| {
        *m == ServerMessage::Hand { up: true }
    })
    .await;
    until(&mut sensei, "stu's hand in the queue", |m| {
        queue(m) == Some(vec!["stu"])
    })
    .await;
    send(&mut ana, &raise).await;
    let hands = until(&mut sensei, "both hands in the queue", |m| {
        queue(m).is_some_and(|q| q.len() == 2)
    })
    .await;
    let ServerMessage::Hands { queue: raised } = hands else {
        unreachable!()
    };
    assert_eq!(raised[0].id, "stu", "oldest first: {raised:?}");
    assert!(raised[0].since > 0 && raised[0].since <= raised[1].since);

    // The host lowers it from the other relay: its owner sees it go down.
    let lower = ClientMessage::Hand {
        up: false,
        id: Some("stu".into()),
    };
    send(&mut sensei, &lower.encode()).await;
    until(&mut stu, "the student's hand lowered by the host", |m| {
        *m == ServerMessage::Hand { up: false }
    })
    .await;
    until(&mut sensei, "only ana's hand left", |m| {
        queue(m) == Some(vec!["ana"])
    })
    .await;

    // Raised again, it goes down when its relay dies; ana's goes down when she leaves.
    send(&mut stu, &raise).await;
    until(&mut sensei, "stu's hand up again", |m| {
        queue(m) == Some(vec!["ana", "stu"])
    })
    .await;
    b.kill();
    until(&mut sensei, "the dead relay's hand down", |m| {
        queue(m) == Some(vec!["ana"])
    })
    .await;
    drop(ana);
    until(&mut sensei, "no hands", |m| queue(m) == Some(vec![])).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poll_spans_relays_with_one_number_one_vote_each_and_one_result() {
    let nats = Nats::start();
    let a = hosted_relay(&nats, "a").await;
    let b = hosted_relay(&nats, "b").await;
    let mut sensei = extended(a.local_addr(), &format!("{DICT}?name=sensei&host=k3y")).await;
    let mut tutor = extended(b.local_addr(), &format!("{DICT}?name=tutor&host=k3y")).await;
    let (mut hanako, _, _, _) = join_v1(a.local_addr(), "hanako").await;
    let (mut taro, _, _, _) = join_v1(b.local_addr(), "taro").await;
    let (mut seed, _) = legacy_dict(b.local_addr()).await;

    let open = ClientMessage::Poll {
        question: "Day?".into(),
        options: vec!["Mon".into(), "Tue".into()],
    };
    send(&mut sensei, &open.encode()).await;
    for ws in [&mut tutor, &mut hanako, &mut taro] {
        until(
            ws,
            "poll 1",
            |m| matches!(m, ServerMessage::Poll { poll: 1, question, .. } if question == "Day?"),
        )
        .await;
    }
    assert_eq!(
        until_line(&mut seed, "Poll ").await,
        "Poll 1: Day? 1) Mon 2) Tue"
    );

    // Votes from both relays; taro changes his mind: still one vote.
    let vote = |option| ClientMessage::Vote { poll: 1, option }.encode();
    send(&mut hanako, &vote(0)).await;
    send(&mut taro, &vote(1)).await;
    send(&mut taro, &vote(0)).await;
    let final_tally = ServerMessage::Tally {
        poll: 1,
        counts: vec![2, 0],
        voters: 2,
    };
    for host in [&mut sensei, &mut tutor] {
        until(host, "the same tally on both relays", |m| *m == final_tally).await;
    }

    // Closed on one relay: the same result everywhere.
    send(&mut sensei, &ClientMessage::PollClose { poll: 1 }.encode()).await;
    for ws in [&mut sensei, &mut tutor, &mut hanako, &mut taro] {
        let result = until(ws, "the result", |m| {
            matches!(m, ServerMessage::PollResult { .. })
        })
        .await;
        assert!(
            matches!(&result, ServerMessage::PollResult { poll: 1, counts, .. } if counts == &[2, 0]),
            "{result:?}"
        );
    }
    assert_eq!(
        until_line(&mut seed, "Poll ").await,
        "Poll 1 results: Day? 1) Mon: 2 2) Tue: 0"
    );
    send(&mut taro, &vote(1)).await;
    assert_eq!(common::json_error(&mut taro).await, ErrorCode::NotAllowed);

    // The next poll, opened on the other relay, has the next number everywhere.
    send(&mut tutor, &open.encode()).await;
    until(&mut sensei, "poll 2 from the other relay", |m| {
        matches!(m, ServerMessage::Poll { poll: 2, .. })
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_started_later_learns_the_modes_pin_poll_and_hands() {
    let nats = Nats::start();
    let a = hosted_relay(&nats, "a").await;
    let mut sensei = extended(a.local_addr(), &format!("{DICT}?name=sensei&host=k3y")).await;
    let (mut stu, _, _, _) = join_v1(a.local_addr(), "stu").await;
    let modes = ClientMessage::Room {
        student_broadcast: Some(false),
        student_private: None,
    };
    let pin = ClientMessage::Pin {
        text: "課題: p.12".into(),
    };
    let open = ClientMessage::Poll {
        question: "Q?".into(),
        options: vec!["x".into(), "y".into()],
    };
    for control in [modes, pin, open] {
        send(&mut sensei, &control.encode()).await;
    }
    until(&mut stu, "the poll", |m| {
        matches!(m, ServerMessage::Poll { poll: 1, .. })
    })
    .await;
    send(
        &mut stu,
        &ClientMessage::Hand { up: true, id: None }.encode(),
    )
    .await;
    send(
        &mut stu,
        &ClientMessage::Vote { poll: 1, option: 1 }.encode(),
    )
    .await;
    // Everything applied on the first relay before the second starts.
    until(&mut sensei, "the vote", |m| {
        matches!(m, ServerMessage::Tally { voters: 1, .. })
    })
    .await;

    let b = hosted_relay(&nats, "b").await;
    let mut late = extended(b.local_addr(), DICT).await;
    assert!(matches!(
        common::json_any(&mut late).await,
        ServerMessage::Welcome { .. }
    ));
    let closed = RoomModes {
        student_broadcast: false,
        student_private: true,
    };
    assert_eq!(
        common::json_any(&mut late).await,
        ServerMessage::Room(closed)
    );
    assert_eq!(
        common::json_any(&mut late).await,
        ServerMessage::Pinned {
            text: "課題: p.12".into()
        }
    );
    assert!(matches!(
        common::json_any(&mut late).await,
        ServerMessage::Poll { poll: 1, .. }
    ));
    let mut host = extended(b.local_addr(), &format!("{DICT}?name=tutor&host=k3y")).await;
    let after_welcome: Vec<ServerMessage> = {
        assert!(matches!(
            common::json_any(&mut host).await,
            ServerMessage::Welcome { .. }
        ));
        let mut notices = Vec::new();
        for _ in 0..5 {
            notices.push(common::json_any(&mut host).await);
        }
        notices
    };
    assert!(
        queue(&after_welcome[3]) == Some(vec!["stu"]),
        "{after_welcome:?}"
    );
    assert_eq!(
        after_welcome[4],
        ServerMessage::Tally {
            poll: 1,
            counts: vec![0, 1],
            voters: 1
        }
    );
}
