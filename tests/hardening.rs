//! Issue 12, the relay's side: who may connect (Host, Origin, per-address places, join-code
//! guessing), what text it relays (no control characters), how much one sender may send (the
//! byte budget), and the headers every HTTP answer carries. Every test runs a real relay on
//! 127.0.0.1:0; "another machine" is another loopback address (Linux routes all of 127.0.0.0/8
//! to `lo`), which the client socket binds to before connecting.
//!
//! Run: `cargo test --test hardening`.
// Helpers outside #[test] functions unwrap too: a failed setup should fail the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use classchat::protocol::ErrorCode;
use classchat::relay::RelayConfig;
use common::*;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Error as WsError;
use tokio_tungstenite::tungstenite::handshake::client::Request;
use tokio_tungstenite::tungstenite::http::HeaderValue;

type LoWs = WebSocketStream<TcpStream>;

/// Opens a TCP connection to `addr` from the local address `from`.
async fn tcp_from(from: [u8; 4], addr: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket
        .bind(SocketAddr::from((IpAddr::from(from), 0)))
        .unwrap();
    tokio::time::timeout(PATIENCE, socket.connect(addr))
        .await
        .expect("connect timed out")
        .unwrap()
}

/// Runs the handshake from `from`: the socket, or the HTTP status of the refusal.
async fn handshake_from(from: [u8; 4], addr: SocketAddr, request: Request) -> Result<LoWs, u16> {
    let tcp = tcp_from(from, addr).await;
    match tokio::time::timeout(PATIENCE, tokio_tungstenite::client_async(request, tcp))
        .await
        .expect("handshake timed out")
    {
        Ok((ws, _)) => Ok(ws),
        Err(WsError::Http(response)) => Err(response.status().as_u16()),
        Err(e) => panic!("expected a handshake or an HTTP refusal, got {e}"),
    }
}

/// The handshake from 127.0.0.1.
async fn handshake(addr: SocketAddr, request: Request) -> Result<LoWs, u16> {
    handshake_from([127, 0, 0, 1], addr, request).await
}

fn with_header(mut request: Request, name: &'static str, value: &str) -> Request {
    request
        .headers_mut()
        .insert(name, HeaderValue::from_str(value).unwrap());
    request
}

// --- Origin and Host ---------------------------------------------------------------------------

#[tokio::test]
async fn a_page_on_another_site_is_refused_with_403() {
    let relay = start_relay(config()).await;
    let addr = relay.local_addr();
    let evil = with_header(request(addr, DICT, true), "Origin", "https://evil.example");
    assert_eq!(handshake(addr, evil).await.err(), Some(403));
    // Same host, another port: another site too.
    let other_port = format!("http://127.0.0.1:{}", addr.port().wrapping_add(1));
    let other = with_header(request(addr, DICT, true), "Origin", &other_port);
    assert_eq!(handshake(addr, other).await.err(), Some(403));
    assert_eq!(relay.stats().refused, 2);
    assert!(relay.clients().is_empty());
}

#[tokio::test]
async fn the_relays_own_join_page_and_native_clients_get_in() {
    let relay = start_relay(config()).await;
    let addr = relay.local_addr();
    let own = with_header(
        request(addr, DICT, true),
        "Origin",
        &format!("http://{addr}"),
    );
    let _own = handshake(addr, own).await.expect("same origin is accepted");
    // No Origin at all: the desktop app and the terminal client.
    let _native = handshake(addr, request(addr, DICT, true))
        .await
        .expect("no Origin is accepted");
    eventually("both are listed", || relay.clients().len() == 2).await;
}

#[tokio::test]
async fn allow_origin_adds_to_the_own_page() {
    let relay = start_relay(RelayConfig {
        allowed_origins: vec!["https://school.example".into()],
        ..config()
    })
    .await;
    let addr = relay.local_addr();
    let listed = with_header(
        request(addr, DICT, true),
        "Origin",
        "https://school.example",
    );
    handshake(addr, listed).await.expect("listed origin");
    let own = with_header(
        request(addr, DICT, true),
        "Origin",
        &format!("http://{addr}"),
    );
    handshake(addr, own)
        .await
        .expect("own page besides the list");
    let evil = with_header(request(addr, DICT, true), "Origin", "https://evil.example");
    assert_eq!(handshake(addr, evil).await.err(), Some(403));
}

#[tokio::test]
async fn a_host_name_that_is_not_the_relays_is_refused_with_403() {
    let relay = start_relay(config()).await;
    let addr = relay.local_addr();
    let port = addr.port();
    let rebound = format!("evil.example:{port}");
    // DNS rebinding: the attacker's page is same-origin with its own name, which now points
    // at the relay. Host and Origin agree; the name is what gives it away.
    let request_ = with_header(request(addr, DICT, true), "Host", &rebound);
    let request_ = with_header(request_, "Origin", &format!("http://{rebound}"));
    assert_eq!(handshake(addr, request_).await.err(), Some(403));
    let plain = with_header(request(addr, DICT, true), "Host", &rebound);
    assert_eq!(handshake(addr, plain).await.err(), Some(403));
    // The page itself is not served under that name either.
    let head = http_get(addr, "/", &rebound, "").await;
    assert!(head.starts_with("HTTP/1.1 403"), "{head}");
    // Names this machine answers to are fine.
    let local = with_header(
        request(addr, DICT, true),
        "Host",
        &format!("localhost:{port}"),
    );
    handshake(addr, local).await.expect("localhost");
    let mdns = with_header(
        request(addr, DICT, true),
        "Host",
        &format!("pc-12.local:{port}"),
    );
    handshake(addr, mdns).await.expect(".local name");
}

#[tokio::test]
async fn allow_host_admits_a_reverse_proxys_name() {
    let relay = start_relay(RelayConfig {
        allowed_hosts: vec!["chat.school.example".into()],
        ..config()
    })
    .await;
    let addr = relay.local_addr();
    let proxied = with_header(request(addr, DICT, true), "Host", "chat.school.example");
    let proxied = with_header(proxied, "Origin", "https://chat.school.example");
    handshake(addr, proxied).await.expect("allowed host");
}

// --- Live connections per address ----------------------------------------------------------

#[tokio::test]
async fn one_address_cannot_take_every_place() {
    let relay = start_relay(RelayConfig {
        max_clients: 50,
        max_per_address: 10,
        ..config()
    })
    .await;
    let addr = relay.local_addr();
    let mut kept = Vec::new();
    for _ in 0..10 {
        kept.push(handshake(addr, request(addr, DICT, false)).await.unwrap());
    }
    assert_eq!(
        handshake(addr, request(addr, DICT, false)).await.err(),
        Some(429),
        "the 11th from one address"
    );
    let mut other = handshake_from([127, 0, 0, 2], addr, request(addr, DICT, false))
        .await
        .expect("another address still gets in");
    assert!(text(&mut other).await.starts_with("Your ID is: "));
    eventually("eleven are listed", || relay.clients().len() == 11).await;
    // A place given back is a place again.
    drop(kept.pop());
    eventually_async(|| async { handshake(addr, request(addr, DICT, false)).await.is_ok() }).await;
}

#[tokio::test]
async fn max_per_address_zero_means_no_limit() {
    let relay = start_relay(RelayConfig {
        max_clients: 30,
        max_per_address: 0,
        ..config()
    })
    .await;
    let addr = relay.local_addr();
    let mut kept = Vec::new();
    for _ in 0..30 {
        kept.push(handshake(addr, request(addr, DICT, false)).await.unwrap());
    }
    assert_eq!(
        handshake(addr, request(addr, DICT, false)).await.err(),
        Some(503),
        "only the relay-wide limit applies"
    );
}

#[tokio::test]
async fn classchat_v1_clients_are_not_let_in_once_their_welcome_could_not_fit() {
    let relay = start_relay(RelayConfig {
        max_clients: 10,
        max_listed_clients: 3,
        ..config()
    })
    .await;
    let addr = relay.local_addr();
    let mut kept = Vec::new();
    for _ in 0..3 {
        kept.push(handshake(addr, request(addr, DICT, true)).await.unwrap());
    }
    assert_eq!(
        handshake(addr, request(addr, DICT, true)).await.err(),
        Some(503),
        "a fourth welcome would list more than max_listed_clients"
    );
    // Seed clients get no welcome: max_clients alone limits them.
    for _ in 0..7 {
        kept.push(handshake(addr, request(addr, DICT, false)).await.unwrap());
    }
    assert_eq!(
        handshake(addr, request(addr, DICT, false)).await.err(),
        Some(503)
    );
}

/// Retries `attempt` until it returns true; fails after [`PATIENCE`].
async fn eventually_async<F, Fut>(mut attempt: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + PATIENCE;
    while !attempt().await {
        assert!(Instant::now() < deadline, "timed out");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

// --- Control characters ------------------------------------------------------------------------

const CONTROL_TEXTS: [&str; 5] = [
    "\u{1b}[2J\u{1b}[H先生 → everyone: テストは中止",
    "\u{1b}]52;c;ZXZpbA==\u{7}",
    "line\rover",
    "a\u{85}b",
    "nul\u{0}",
];

#[tokio::test]
async fn seed_text_with_control_characters_is_refused_and_not_delivered() {
    let relay = start_relay(config()).await;
    let addr = relay.local_addr();
    let (mut a, _) = legacy_dict(addr).await;
    let (mut b, b_id) = legacy_dict(addr).await;
    for bad in CONTROL_TEXTS {
        send(&mut a, &format!("{b_id}/{bad}")).await;
        let reply = legacy_error(&mut a).await;
        assert!(reply.contains("control characters"), "{reply}");
    }
    // Tab and line feed are text.
    send(&mut a, &format!("{b_id}/col1\tcol2\nline 2")).await;
    assert_eq!(
        text(&mut b).await,
        "col1\tcol2\nline 2",
        "nothing before it"
    );
    assert_eq!(relay.stats().messages, 1);
}

#[tokio::test]
async fn v1_text_with_control_characters_gets_bad_text_and_is_not_delivered() {
    let relay = start_relay(config()).await;
    let addr = relay.local_addr();
    let (mut a, _, _) = extended_dict(addr, "").await;
    let (mut b, b_id, _) = extended_dict(addr, "").await;
    // `a` hears `b` join first.
    let _joined = json(&mut a).await;
    for bad in CONTROL_TEXTS {
        send_json(&mut a, &b_id, bad).await;
        assert_eq!(json_error(&mut a).await, ErrorCode::BadText);
        send_json(&mut a, "*", bad).await;
        assert_eq!(json_error(&mut a).await, ErrorCode::BadText);
    }
    send_json(&mut a, &b_id, "marker").await;
    match json(&mut b).await {
        classchat::protocol::ServerMessage::Message(m) => assert_eq!(m.text, "marker"),
        other => panic!("expected the marker first, got {other:?}"),
    }
    // The broadcast room refuses the same.
    let mut seed = legacy(addr, LIST).await;
    send(&mut seed, "\u{1b}[31mred").await;
    legacy_error(&mut seed).await;
    send(&mut seed, "plain").await;
    assert_eq!(text(&mut seed).await, format!("{ECHO}plain"));
}

// --- Byte budget -------------------------------------------------------------------------------

#[tokio::test]
async fn a_burst_of_large_frames_is_refused_past_the_byte_budget() {
    let relay = start_relay(RelayConfig {
        rate_per_sec: 0.0,
        // Practically no refill during the test: exactly the burst gets through.
        rate_bytes_per_sec: 1024,
        rate_bytes_burst: 256 * 1024,
        ..config()
    })
    .await;
    let addr = relay.local_addr();
    let mut sender = legacy(addr, LIST).await;
    let mut other = legacy(addr, LIST).await;
    eventually("both are connected", || relay.clients().len() == 2).await;
    let big = "x".repeat(60_000);
    for _ in 0..10 {
        send(&mut sender, &big).await;
    }
    let expected = format!("{ECHO}{big}");
    // 4 × 60,000 bytes fit in 256 KiB; the fifth would need half a minute of refill.
    for i in 0..4 {
        assert!(text(&mut sender).await == expected, "frame {i} delivered");
    }
    for _ in 4..10 {
        let reply = legacy_error(&mut sender).await;
        assert!(reply.contains("too fast"), "{reply}");
    }
    for _ in 0..4 {
        assert!(text(&mut other).await == expected);
    }
    assert_eq!(relay.stats().rate_limited, 6);
    // Small messages still fit in what is left of the budget, for everyone.
    send(&mut sender, "still here").await;
    assert_eq!(text(&mut other).await, format!("{ECHO}still here"));

    // classchat.v1 clients get the rate-limit code.
    let (mut e, _, _) = extended_dict(addr, "").await;
    for _ in 0..5 {
        send_json(&mut e, "*", &big).await;
    }
    let mut codes = Vec::new();
    for _ in 0..5 {
        if let classchat::protocol::ServerMessage::Error { code, .. } = json(&mut e).await {
            codes.push(code);
        }
    }
    assert_eq!(codes, vec![ErrorCode::RateLimited]);
}

// --- Join codes --------------------------------------------------------------------------------

fn with_code(addr: SocketAddr, code: &str) -> Request {
    request(addr, &format!("{DICT}?code={code}"), true)
}

#[tokio::test]
async fn a_right_code_works_again_after_the_cool_down() {
    let relay = start_relay(RelayConfig {
        join_code: Some("2468".into()),
        wrong_codes_per_address: 2,
        code_cooldown: Duration::from_secs(1),
        ..config()
    })
    .await;
    let addr = relay.local_addr();
    for wrong in ["0000", "1111"] {
        assert_eq!(
            handshake(addr, with_code(addr, wrong)).await.err(),
            Some(401)
        );
    }
    // Cooling down: even the right code waits.
    assert_eq!(
        handshake(addr, with_code(addr, "2468")).await.err(),
        Some(429)
    );
    // Another address is not affected.
    handshake_from([127, 0, 0, 2], addr, with_code(addr, "2468"))
        .await
        .expect("another address");
    eventually_async(|| async { handshake(addr, with_code(addr, "2468")).await.is_ok() }).await;
}

#[tokio::test]
async fn typos_before_a_success_do_not_count_against_the_address() {
    let relay = start_relay(RelayConfig {
        join_code: Some("2468".into()),
        wrong_codes_per_address: 2,
        code_cooldown: Duration::from_secs(3600),
        ..config()
    })
    .await;
    let addr = relay.local_addr();
    // One student mistypes, then gets it right; a classmate behind the same NAT mistypes too.
    assert_eq!(
        handshake(addr, with_code(addr, "2469")).await.err(),
        Some(401)
    );
    handshake(addr, with_code(addr, "2468")).await.unwrap();
    assert_eq!(
        handshake(addr, with_code(addr, "2486")).await.err(),
        Some(401)
    );
    handshake(addr, with_code(addr, "2468"))
        .await
        .expect("not locked out: only one wrong code since the last right one");
}

#[tokio::test]
async fn past_the_relay_wide_budget_wrong_codes_from_anywhere_wait() {
    let relay = start_relay(RelayConfig {
        join_code: Some("2468".into()),
        wrong_code_budget: 3,
        ..config()
    })
    .await;
    let addr = relay.local_addr();
    for i in 1..=3 {
        assert_eq!(
            handshake_from([127, 0, 0, i], addr, with_code(addr, "0000"))
                .await
                .err(),
            Some(401)
        );
    }
    // A fresh address, one wrong code: under its own limit, but over the relay's budget.
    let started = Instant::now();
    assert_eq!(
        handshake_from([127, 0, 0, 4], addr, with_code(addr, "0000"))
            .await
            .err(),
        Some(401)
    );
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "the answer waited ({:?})",
        started.elapsed()
    );
    // The right code is not held up.
    handshake_from([127, 0, 0, 5], addr, with_code(addr, "2468"))
        .await
        .expect("right code");
}

// --- HTTP answers ------------------------------------------------------------------------------

/// Sends one HTTP request with `Host: host` (and `extra` header lines) and returns the whole
/// answer.
async fn http_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    host: &str,
    extra: &str,
) -> String {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(
        format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\n{extra}Connection: close\r\nContent-Length: 0\r\n\r\n")
            .as_bytes(),
    )
    .await
    .unwrap();
    let mut response = String::new();
    tokio::time::timeout(PATIENCE, tcp.read_to_string(&mut response))
        .await
        .unwrap()
        .unwrap();
    response
}

async fn http_get(addr: SocketAddr, path: &str, host: &str, extra: &str) -> String {
    http_request(addr, "GET", path, host, extra).await
}

fn header<'a>(response: &'a str, name: &str) -> Option<&'a str> {
    let head = response.split("\r\n\r\n").next()?;
    head.lines().find_map(|line| {
        let (k, v) = line.split_once(':')?;
        k.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

#[tokio::test]
async fn every_answer_carries_the_security_headers() {
    let relay = start_relay(RelayConfig {
        join_code: Some("2468".into()),
        ..config()
    })
    .await;
    let addr = relay.local_addr();
    let host = addr.to_string();
    let answers = [
        http_get(addr, "/", &host, "").await,
        http_get(addr, "/app.js", &host, "").await,
        http_get(addr, "/no-such-page", &host, "").await,
        http_get(addr, DICT, &host, "").await,
        // A refused handshake: wrong join code.
        http_get(
            addr,
            &format!("{DICT}?code=0000"),
            &host,
            "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n",
        )
        .await,
    ];
    for (answer, status) in answers.iter().zip(["200", "200", "404", "426", "401"]) {
        assert!(
            answer.starts_with(&format!("HTTP/1.1 {status}")),
            "{answer}"
        );
        let csp = header(answer, "Content-Security-Policy").unwrap_or_else(|| panic!("{answer}"));
        assert!(csp.contains("default-src 'self'"), "{csp}");
        assert!(
            csp.contains(&format!("connect-src 'self' ws://{host} wss://{host}")),
            "{csp}"
        );
        assert!(
            !csp.contains("ws: ") && !csp.contains("wss:;"),
            "no wildcard scheme: {csp}"
        );
        assert_eq!(header(answer, "X-Content-Type-Options"), Some("nosniff"));
        assert_eq!(header(answer, "Referrer-Policy"), Some("no-referrer"));
    }
}

#[tokio::test]
async fn the_code_check_tells_a_wrong_code_from_a_full_chat_and_counts_as_a_guess() {
    let relay = start_relay(RelayConfig {
        join_code: Some("2468".into()),
        wrong_codes_per_address: 2,
        code_cooldown: Duration::from_secs(3600),
        max_clients: 1,
        ..config()
    })
    .await;
    let addr = relay.local_addr();
    let host = addr.to_string();
    let own = format!("Origin: http://{host}\r\n");
    let check = |code: &'static str, extra: String| {
        let host = host.clone();
        async move {
            http_request(
                addr,
                "POST",
                &format!("/api/check?code={code}"),
                &host,
                &extra,
            )
            .await
        }
    };
    let ok = check("2468", own.clone()).await;
    assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
    assert!(ok.contains(r#""reason":"ok""#), "{ok}");
    let wrong = check("0000", own.clone()).await;
    assert!(wrong.starts_with("HTTP/1.1 401"), "{wrong}");
    assert!(wrong.contains(r#""reason":"wrong_code""#), "{wrong}");
    // Another site cannot spend the student's guesses.
    let foreign = check("0000", "Origin: https://evil.example\r\n".into()).await;
    assert!(foreign.starts_with("HTTP/1.1 403"), "{foreign}");
    // GET (an image tag) does not count either.
    let get = http_get(addr, "/api/check?code=0000", &host, "").await;
    assert!(get.starts_with("HTTP/1.1 405"), "{get}");
    // Full: one place, taken.
    let _only = handshake(addr, with_code(addr, "2468")).await.unwrap();
    eventually("the place is taken", || relay.clients().len() == 1).await;
    let full = check("2468", own.clone()).await;
    assert!(full.starts_with("HTTP/1.1 503"), "{full}");
    assert!(full.contains(r#""reason":"full""#), "{full}");
    // The right codes started the count again; two wrong ones in a row (the 403 and 405 did
    // not count) start the cool-down.
    for code in ["1111", "2222"] {
        let wrong = check(code, own.clone()).await;
        assert!(wrong.starts_with("HTTP/1.1 401"), "{wrong}");
    }
    let cooling = check("2468", own).await;
    assert!(cooling.starts_with("HTTP/1.1 429"), "{cooling}");
    assert!(cooling.contains(r#""reason":"cooling_down""#), "{cooling}");
}

// --- Log flooding ------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_refused_frames_and_handshakes_prints_a_few_log_lines() {
    let mut child = serve_command(0, &["--rate", "1", "--burst", "1", "--join-code", "2468"])
        .env("RUST_LOG", "info")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let out = lines(child.stdout.take().unwrap());
    let log = lines(child.stderr.take().unwrap());
    let _server = Running(child);
    let url = wait_for_line(&out, |l| l.trim_start().starts_with("ws://127.0.0.1:"));
    let addr: SocketAddr = url
        .trim()
        .trim_start_matches("ws://")
        .trim_end_matches(DICT)
        .parse()
        .unwrap();

    // 2,000 frames from one client: one gets through, the rest are refused.
    let mut flooder = handshake(addr, with_code(addr, "2468")).await.unwrap();
    let _welcome = json(&mut flooder).await;
    const FLOOD: usize = 2_000;
    for batch in 0..FLOOD / 100 {
        for _ in 0..100 {
            send_json(&mut flooder, "*", "spam").await;
        }
        // Read the answers so the flooder is not cut off for not reading.
        for i in 0..100 {
            let frame = json(&mut flooder).await;
            if batch > 0 || i > 0 {
                assert!(
                    matches!(frame, classchat::protocol::ServerMessage::Error { .. }),
                    "{frame:?}"
                );
            }
        }
    }
    // 300 refused handshakes from one address: wrong codes, then the cool-down's 429s.
    for _ in 0..300 {
        let status = handshake(addr, with_code(addr, "0000")).await.err();
        assert!(matches!(status, Some(401 | 429)), "{status:?}");
    }
    // A marker: a client joining from elsewhere logs a line after everything above.
    let _marker = handshake_from([127, 0, 0, 2], addr, with_code(addr, "2468&name=Marker"))
        .await
        .unwrap();
    let mut seen = Vec::new();
    let deadline = Instant::now() + CHILD_PATIENCE;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = log
            .recv_timeout(left)
            .unwrap_or_else(|e| panic!("no marker line ({e}); saw {} lines", seen.len()));
        if line.contains("joined") && line.contains("Marker") {
            break;
        }
        seen.push(line);
    }
    let rate_lines = seen.iter().filter(|l| l.contains("rate limit")).count();
    let refusal_lines = seen.iter().filter(|l| l.contains("refused")).count();
    assert!(
        (1..=3).contains(&rate_lines),
        "{rate_lines} rate-limit lines for {FLOOD} refused frames"
    );
    assert!(
        (1..=3).contains(&refusal_lines),
        "{refusal_lines} refusal lines for 300 refused handshakes"
    );
    assert!(seen.len() < 30, "{} log lines: {seen:#?}", seen.len());
    // What was held back is summed up once the interval (10 s) is over.
    let mut summaries = (false, false);
    let deadline = Instant::now() + CHILD_PATIENCE;
    while summaries != (true, true) {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = log
            .recv_timeout(left)
            .unwrap_or_else(|e| panic!("no summary lines ({e}): {summaries:?}"));
        summaries.0 |= line.contains("rate limit hit") && line.contains("more times");
        summaries.1 |= line.contains("more handshakes from this address");
    }
}

// --- A stale code retried is not a guess (issue 15) ----------------------------------------------

#[tokio::test]
async fn retrying_the_same_wrong_code_never_locks_the_address_out_but_guessing_does() {
    let relay = start_relay(RelayConfig {
        join_code: Some("2468".into()),
        code_cooldown: Duration::from_secs(3600),
        ..config()
    })
    .await;
    let addr = relay.local_addr();
    // A page or app retrying the code the host has since changed: refused every time, never
    // cooled down, and the student who then types the new code gets in at once.
    for _ in 0..20 {
        assert_eq!(
            handshake(addr, with_code(addr, "1357")).await.err(),
            Some(401)
        );
    }
    let mut ws = handshake(addr, with_code(addr, "2468"))
        .await
        .expect("the right code after 20 retries of one stale code");
    assert!(
        matches!(
            json(&mut ws).await,
            classchat::protocol::ServerMessage::Welcome { .. }
        ),
        "welcomed"
    );

    // Guessing distinct codes still starts the cool-down, with repeats in between: the last
    // distinct one starts it.
    let most = config().wrong_codes_per_address;
    for i in 1..=most {
        let guess = format!("{:04}", 9000 + i);
        let tries = if i < most { 2 } else { 1 };
        for _ in 0..tries {
            assert_eq!(
                handshake(addr, with_code(addr, &guess)).await.err(),
                Some(401),
                "guess {i}"
            );
        }
    }
    assert_eq!(
        handshake(addr, with_code(addr, "2468")).await.err(),
        Some(429),
        "distinct wrong codes cool the address down"
    );
}
