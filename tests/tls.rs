//! The relay with a certificate: `wss://` in both dialects and the join page over `https://`
//! on one port, the client library's trust (a CA file, the host's pinned certificate, and the
//! clear error for a certificate it does not trust), handshakes that fail or stall without
//! disturbing anyone, and `classchat serve` refusing a key that is not the certificate's.
//!
//! Certificates are made at test time with `rcgen`, for `localhost` and `127.0.0.1`.
//!
//! Run: `cargo test --test tls`.
// Helpers outside #[test] functions unwrap too: a failed setup should fail the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[cfg(feature = "gui")]
mod window;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;

use classchat::client::{self, Disconnect, Event, JoinConfig, Trust, parse_address};
use classchat::protocol::{Recipient, SUBPROTOCOL, ServerMessage};
use classchat::relay::{RelayConfig, RelayHandle};
use classchat::tls::{CertificateDer, ServerTls};
use common::*;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::rustls::{ClientConfig, RootCertStore};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::http::HeaderValue;

type Wss = WebSocketStream<TlsStream<TcpStream>>;

/// A self-signed certificate and its key, as PEM files in a directory of their own that goes
/// when the test ends.
struct TestCert {
    dir: PathBuf,
    cert: PathBuf,
    key: PathBuf,
    der: CertificateDer<'static>,
}

impl TestCert {
    /// A certificate for `names`, written to a fresh directory named after `test`.
    fn new(test: &str, names: &[&str]) -> Self {
        let dir = std::env::temp_dir().join(format!("classchat-tls-{test}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let made = rcgen::generate_simple_self_signed(
            names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>(),
        )
        .unwrap();
        let cert = dir.join("cert.pem");
        let key = dir.join("key.pem");
        std::fs::write(&cert, made.cert.pem()).unwrap();
        std::fs::write(&key, made.signing_key.serialize_pem()).unwrap();
        Self {
            dir,
            cert,
            key,
            der: made.cert.der().clone(),
        }
    }

    /// For `localhost` and `127.0.0.1`, the names the tests connect to.
    fn local(test: &str) -> Self {
        Self::new(test, &["localhost", "127.0.0.1"])
    }

    fn server(&self) -> ServerTls {
        ServerTls::load(&self.cert, &self.key).unwrap()
    }

    /// A TLS connector that trusts this certificate alone.
    fn connector(&self) -> TlsConnector {
        let mut roots = RootCertStore::empty();
        roots.add(self.der.clone()).unwrap();
        let config = ClientConfig::builder()
            .with_root_certificates(roots)
            .with_no_client_auth();
        TlsConnector::from(Arc::new(config))
    }
}

impl Drop for TestCert {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.dir).ok();
    }
}

async fn tls_relay(cert: &TestCert) -> RelayHandle {
    start_relay(RelayConfig {
        tls: Some(cert.server()),
        ..config()
    })
    .await
}

/// A TLS connection to the relay, checking its certificate for `localhost`.
async fn tls_stream(addr: SocketAddr, cert: &TestCert) -> TlsStream<TcpStream> {
    tls_stream_for(addr, cert, "localhost").await
}

/// A TLS connection to the relay, checking its certificate for `name`.
async fn tls_stream_for(addr: SocketAddr, cert: &TestCert, name: &str) -> TlsStream<TcpStream> {
    let tcp = TcpStream::connect(addr).await.unwrap();
    let name = ServerName::try_from(name.to_owned()).unwrap();
    tokio::time::timeout(PATIENCE, cert.connector().connect(name, tcp))
        .await
        .expect("the TLS handshake timed out")
        .unwrap()
}

/// A `wss://` WebSocket on `path`, offering `classchat.v1` when `extended`, with `origin` if
/// given.
async fn wss_with(
    addr: SocketAddr,
    cert: &TestCert,
    path: &str,
    extended: bool,
    origin: Option<&str>,
) -> Result<Wss, tokio_tungstenite::tungstenite::Error> {
    let mut request = format!("wss://localhost:{}{path}", addr.port())
        .into_client_request()
        .unwrap();
    if extended {
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            HeaderValue::from_static(SUBPROTOCOL),
        );
    }
    if let Some(origin) = origin {
        request
            .headers_mut()
            .insert("Origin", HeaderValue::from_str(origin).unwrap());
    }
    let stream = tls_stream(addr, cert).await;
    tokio::time::timeout(PATIENCE, tokio_tungstenite::client_async(request, stream))
        .await
        .expect("the WebSocket handshake timed out")
        .map(|(ws, _)| ws)
}

async fn wss(addr: SocketAddr, cert: &TestCert, path: &str, extended: bool) -> Wss {
    wss_with(addr, cert, path, extended, None).await.unwrap()
}

/// A `wss://` client in the seed's plain text on the dict path, with its ID.
async fn seed_client(addr: SocketAddr, cert: &TestCert) -> (Wss, String) {
    let mut ws = wss(addr, cert, DICT, false).await;
    let greeting = text(&mut ws).await;
    let id = greeting.strip_prefix("Your ID is: ").unwrap().to_owned();
    (ws, id)
}

/// A `wss://` client speaking `classchat.v1` on the dict path, with its ID.
async fn v1_client(addr: SocketAddr, cert: &TestCert, query: &str) -> (Wss, String) {
    let mut ws = wss(addr, cert, &format!("{DICT}{query}"), true).await;
    match json(&mut ws).await {
        ServerMessage::Welcome { id, .. } => (ws, id),
        other => panic!("expected welcome, got {other:?}"),
    }
}

#[tokio::test]
async fn wss_joins_in_both_dialects_and_they_talk() {
    let cert = TestCert::local("dialects");
    let relay = tls_relay(&cert).await;
    let addr = relay.local_addr();
    let (mut seed, seed_id) = seed_client(addr, &cert).await;
    let (mut v1, v1_id) = v1_client(addr, &cert, "?name=hanako").await;
    assert_eq!(v1_id, "hanako");

    // v1 → seed: the seed client gets the bare text.
    send_json(&mut v1, &seed_id, "こんにちは").await;
    assert_eq!(text(&mut seed).await, "こんにちは");
    // seed → v1: `id/text` arrives as a v1 message from the seed client.
    send(&mut seed, &format!("{v1_id}/hello")).await;
    loop {
        // Skip the notices of others joining and the sender's own echo.
        if let ServerMessage::Message(message) = json_any(&mut v1).await
            && message.from == seed_id
        {
            assert_eq!(message.text, "hello");
            assert_eq!(message.to, Recipient::Client(v1_id.clone()));
            break;
        }
    }
}

/// `GET /` over TLS (checking the certificate for `name`) with `Host: host:port`; the whole
/// answer.
async fn https_get(addr: SocketAddr, cert: &TestCert, name: &str, host: &str) -> String {
    let mut stream = tls_stream_for(addr, cert, name).await;
    let request = format!(
        "GET / HTTP/1.1\r\nHost: {host}:{}\r\nConnection: close\r\n\r\n",
        addr.port()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(PATIENCE, stream.read_to_end(&mut answer))
        .await
        .unwrap()
        .ok(); // A peer that closes without close_notify still sent the whole answer.
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn the_join_page_is_served_over_https() {
    let cert = TestCert::local("page");
    let relay = tls_relay(&cert).await;
    let addr = relay.local_addr();
    let answer = https_get(addr, &cert, "localhost", "localhost").await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("<html"), "{answer}");
    // The page's own origin, now https://, may open the chat; another site still may not.
    let own = format!("https://localhost:{}", addr.port());
    let from_page = wss_with(addr, &cert, DICT, true, Some(&own)).await;
    assert!(from_page.is_ok(), "{:?}", from_page.err());
    match wss_with(addr, &cert, DICT, true, Some("https://evil.example")).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 403);
        }
        other => panic!("expected 403, got {:?}", other.map(|_| ())),
    }
}

#[tokio::test]
async fn the_relay_answers_to_its_certificates_name_and_no_other() {
    // No --allow-host needed for the name the certificate is made out for; another name is
    // refused as before (DNS rebinding).
    let cert = TestCert::new("cert-name", &["chat.school.example"]);
    let relay = tls_relay(&cert).await;
    let addr = relay.local_addr();
    let answer = https_get(addr, &cert, "chat.school.example", "chat.school.example").await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let answer = https_get(addr, &cert, "chat.school.example", "rebound.example").await;
    assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
}

#[tokio::test]
async fn plain_http_on_the_tls_port_is_sent_to_https() {
    let cert = TestCert::local("redirect");
    let relay = tls_relay(&cert).await;
    let addr = relay.local_addr();
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "GET /?code=1234 HTTP/1.1\r\nHost: localhost:{}\r\nConnection: close\r\n\r\n",
        addr.port()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    tokio::time::timeout(PATIENCE, stream.read_to_string(&mut answer))
        .await
        .unwrap()
        .unwrap();
    // Temporary, so that a browser does not remember it for a later plain-HTTP lesson.
    assert!(answer.starts_with("HTTP/1.1 307"), "{answer}");
    let location = format!("location: https://localhost:{}/?code=1234\r\n", addr.port());
    assert!(answer.to_ascii_lowercase().contains(&location), "{answer}");
    // The page itself is never sent in plain text.
    assert!(!answer.contains("<html"), "{answer}");
}

type Events = mpsc::UnboundedReceiver<Event>;

/// The next event that is not about the room (modes, hands, polls, pins).
async fn next(events: &mut Events) -> Event {
    loop {
        let event = tokio::time::timeout(PATIENCE, events.recv())
            .await
            .expect("timed out waiting for an event")
            .expect("the client stopped");
        if !matches!(event, Event::Classroom(_)) {
            return event;
        }
    }
}

/// Waits for `Connected` and returns this client's ID.
async fn connected(events: &mut Events) -> String {
    loop {
        match next(events).await {
            Event::Connecting { .. } => {}
            Event::Connected { id: Some(id), .. } => return id,
            other => panic!("expected Connected, got {other:?}"),
        }
    }
}

fn join(address: &str, name: &str, trust: Trust) -> JoinConfig {
    JoinConfig {
        name: Some(name.to_owned()),
        trust,
        ..JoinConfig::new(parse_address(address).unwrap())
    }
}

#[tokio::test]
async fn the_client_library_joins_with_the_ca_cert_and_talks() {
    let cert = TestCert::local("client");
    let relay = tls_relay(&cert).await;
    let port = relay.local_addr().port();
    let trust = Trust::WithCaFile(cert.cert.clone());
    // What the join page's link says and what `wss://` says both work.
    let (a, mut a_events) = client::connect(
        &tokio::runtime::Handle::current(),
        join(&format!("https://localhost:{port}"), "aoi", trust.clone()),
        None,
    );
    let (_b, mut b_events) = client::connect(
        &tokio::runtime::Handle::current(),
        join(&format!("wss://127.0.0.1:{port}"), "ben", trust),
        None,
    );
    assert_eq!(connected(&mut a_events).await, "aoi");
    assert_eq!(connected(&mut b_events).await, "ben");
    // A bare `host:port` (plain ws:// at first) is sent on to wss:// by the relay.
    let (_c, mut c_events) = client::connect(
        &tokio::runtime::Handle::current(),
        join(
            &format!("localhost:{port}"),
            "chika",
            Trust::WithCaFile(cert.cert.clone()),
        ),
        None,
    );
    assert_eq!(connected(&mut c_events).await, "chika");
    a.send(Recipient::Client("ben".to_owned()), "over TLS");
    loop {
        if let Event::Message(message) = next(&mut b_events).await {
            assert_eq!(message.text, "over TLS");
            assert_eq!(message.from.as_deref(), Some("aoi"));
            break;
        }
    }
}

/// Expects the client to give up at once with [`Disconnect::UntrustedCertificate`], and
/// returns its reason.
async fn refuses_the_certificate(events: &mut Events) -> String {
    loop {
        match next(events).await {
            Event::Connecting { attempt: 1 } => {}
            Event::Disconnected {
                reason: Disconnect::UntrustedCertificate(why),
                retry_in,
            } => {
                assert_eq!(retry_in, None, "an untrusted certificate is not retried");
                return why;
            }
            other => panic!("expected an untrusted certificate, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_client_that_does_not_trust_the_certificate_is_told_so_and_others_go_on() {
    let cert = TestCert::local("untrusted");
    let relay = tls_relay(&cert).await;
    let addr = relay.local_addr();
    let (mut seed, seed_id) = seed_client(addr, &cert).await;

    // The system's roots know nothing of a self-signed certificate. `reconnect` is on: the
    // client still stops, since trying again cannot help.
    let (_c, mut events) = client::connect(
        &tokio::runtime::Handle::current(),
        join(
            &format!("wss://localhost:{}", addr.port()),
            "x",
            Trust::System,
        ),
        None,
    );
    let why = refuses_the_certificate(&mut events).await;
    assert!(why.contains("--ca-cert"), "{why}");
    assert!(
        Disconnect::UntrustedCertificate(why)
            .to_string()
            .contains("certificate is not trusted")
    );

    // Another certificate file does not make this one trusted.
    let other = TestCert::local("untrusted-other");
    let (_d, mut events) = client::connect(
        &tokio::runtime::Handle::current(),
        join(
            &format!("wss://localhost:{}", addr.port()),
            "y",
            Trust::WithCaFile(other.cert.clone()),
        ),
        None,
    );
    refuses_the_certificate(&mut events).await;

    // A client that opens TCP and never says hello holds up no one either.
    let _silent = TcpStream::connect(addr).await.unwrap();
    let (mut v1, _) = v1_client(addr, &cert, "").await;
    send_json(&mut v1, &seed_id, "still here").await;
    assert_eq!(text(&mut seed).await, "still here");
}

#[tokio::test]
async fn a_certificate_for_another_name_is_refused_with_that_reason() {
    let cert = TestCert::new("wrong-name", &["chat.school.example"]);
    let relay = tls_relay(&cert).await;
    let (_c, mut events) = client::connect(
        &tokio::runtime::Handle::current(),
        join(
            &format!("wss://localhost:{}", relay.local_addr().port()),
            "x",
            Trust::WithCaFile(cert.cert.clone()),
        ),
        None,
    );
    let why = refuses_the_certificate(&mut events).await;
    assert!(why.contains("another name"), "{why}");
}

#[tokio::test]
async fn a_pinned_certificate_is_trusted_whatever_its_name_and_no_other() {
    // The host's window joins its own relay on 127.0.0.1 with a certificate for the school's
    // name.
    let cert = TestCert::new("pinned", &["chat.school.example"]);
    let relay = tls_relay(&cert).await;
    let address = format!("wss://127.0.0.1:{}", relay.local_addr().port());
    let (_host, mut events) = client::connect(
        &tokio::runtime::Handle::current(),
        join(&address, "花子", Trust::Pinned(cert.der.clone())),
        None,
    );
    assert_eq!(connected(&mut events).await, "花子");

    let other = TestCert::local("pinned-other");
    let (_c, mut events) = client::connect(
        &tokio::runtime::Handle::current(),
        join(&address, "x", Trust::Pinned(other.der.clone())),
        None,
    );
    refuses_the_certificate(&mut events).await;
}

#[tokio::test]
async fn an_unreadable_ca_file_is_a_clear_error() {
    let cert = TestCert::local("bad-ca");
    let relay = tls_relay(&cert).await;
    let missing = cert.dir.join("missing.pem");
    let (_c, mut events) = client::connect(
        &tokio::runtime::Handle::current(),
        join(
            &format!("wss://localhost:{}", relay.local_addr().port()),
            "x",
            Trust::WithCaFile(missing.clone()),
        ),
        None,
    );
    loop {
        match next(&mut events).await {
            Event::Connecting { .. } => {}
            Event::Disconnected {
                reason: Disconnect::BadCaCert(why),
                retry_in: None,
            } => {
                assert!(why.contains(&missing.display().to_string()), "{why}");
                break;
            }
            other => panic!("expected BadCaCert, got {other:?}"),
        }
    }
}

// --- The binary ------------------------------------------------------------------------------

/// Runs `classchat serve --tls-cert cert --tls-key key` and returns its exit code and stderr;
/// it must exit by itself.
fn serve_refused(cert: &Path, key: &Path) -> (Option<i32>, String) {
    let out = serve_command(
        0,
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
    )
    .stdout(Stdio::null())
    .output()
    .unwrap();
    (out.status.code(), String::from_utf8(out.stderr).unwrap())
}

#[test]
fn serve_refuses_a_key_that_is_not_the_certificates() {
    let cert = TestCert::local("mismatch");
    let other = TestCert::local("mismatch-other");
    let (code, stderr) = serve_refused(&cert.cert, &other.key);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "the private key in {} does not belong to the certificate in {}",
            other.key.display(),
            cert.cert.display()
        )),
        "{stderr}"
    );
}

#[test]
fn serve_wants_both_the_certificate_and_the_key() {
    for args in [["--tls-cert", "cert.pem"], ["--tls-key", "key.pem"]] {
        let out = serve_command(0, &args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?} was accepted");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(stderr.contains("--tls-"), "{stderr}");
    }
}

#[test]
fn serve_names_the_file_it_cannot_use() {
    let cert = TestCert::local("unreadable");
    let missing = cert.dir.join("missing.pem");
    let (code, stderr) = serve_refused(&missing, &cert.key);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("cannot read {}", missing.display())),
        "{stderr}"
    );

    let empty = cert.dir.join("empty.pem");
    std::fs::write(&empty, "").unwrap();
    let (code, stderr) = serve_refused(&empty, &cert.key);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("{} holds no PEM certificate", empty.display())),
        "{stderr}"
    );
    let (code, stderr) = serve_refused(&cert.cert, &empty);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("{} holds no PEM private key", empty.display())),
        "{stderr}"
    );
}

#[test]
fn serve_with_a_certificate_prints_wss_and_https_and_join_uses_them() {
    let cert = TestCert::local("cli");
    let mut child = serve_command(
        0,
        &[
            "--tls-cert",
            cert.cert.to_str().unwrap(),
            "--tls-key",
            cert.key.to_str().unwrap(),
        ],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    let out = lines(child.stdout.take().unwrap());
    let _server = Running(child);
    let url = wait_for_line(&out, |l| l.trim_start().starts_with("wss://127.0.0.1:"));
    let url = url.trim().to_owned();
    let page = wait_for_line(&out, |l| l.starts_with("Browser join page:"));
    assert!(page.contains("https://127.0.0.1:"), "{page}");

    let (mut client, joined) = join_process(&[&url, "--ca-cert", cert.cert.to_str().unwrap()]);
    let line = wait_for_line(&joined, |l| l.contains("Your ID is:"));
    assert!(line.ends_with("client0"), "{line}");
    drop(client.0.stdin.take());
    client.0.wait().unwrap();

    // Without the certificate the terminal client says why and stops with exit code 4, though
    // its input is still open and it would reconnect after other failures.
    let (mut untrusted, said) = join_process(&[&url]);
    let line = wait_for_line(&said, |l| l.contains("certificate"));
    assert!(line.contains("certificate is not trusted"), "{line}");
    let deadline = std::time::Instant::now() + CHILD_PATIENCE;
    let status = loop {
        if let Some(status) = untrusted.0.try_wait().unwrap() {
            break status;
        }
        assert!(std::time::Instant::now() < deadline, "join did not exit");
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(4));
}

// --- The window ------------------------------------------------------------------------------

/// Hosting with a certificate from the window's start screen.
#[cfg(feature = "gui")]
mod window_hosting {
    use classchat::bridge::Backend;
    use classchat::ui::{App, Lang, ModeKind, Settings};
    use egui_kittest::Harness;
    use egui_kittest::kittest::Queryable as _;

    use super::*;

    /// A host window on a free port with `cert` and `key` typed into the start screen's
    /// fields.
    fn host_with(rt: &tokio::runtime::Runtime, cert: &Path, key: &Path) -> Harness<'static, App> {
        let mut host = window::harness(App::new(
            Backend::new(rt.handle().clone()),
            Settings {
                port: "0".to_owned(),
                host_name: "Sensei".to_owned(),
                ..Settings::for_lang(Lang::En)
            },
            None,
        ));
        for (label, path) in [("Certificate", cert), ("Private key", key)] {
            host.get_by_label(label).focus();
            host.step();
            host.get_by_label(label).type_text(path.to_str().unwrap());
            host.step();
        }
        host
    }

    #[test]
    fn the_window_hosts_with_a_certificate_and_shares_https_links() {
        let rt = window::runtime();
        let cert = TestCert::local("window");
        let mut host = host_with(&rt, &cert.cert, &cert.key);
        // The host's own client joins its relay on 127.0.0.1 over wss://.
        let port = window::start_hosting(&mut host);
        host.get_by_label_contains("QR code of the join link: https://");

        // A student with the certificate joins the https:// address the host shows.
        let (_student, mut events) = rt.block_on(async {
            client::connect(
                &tokio::runtime::Handle::current(),
                join(
                    &format!("https://localhost:{port}"),
                    "hanako",
                    Trust::WithCaFile(cert.cert.clone()),
                ),
                None,
            )
        });
        assert_eq!(rt.block_on(connected(&mut events)), "hanako");
    }

    /// A student window that joins `address`, with `ca` typed into the Join card's
    /// "Trusted certificate" field when given.
    fn student_with(
        rt: &tokio::runtime::Runtime,
        address: &str,
        ca: Option<&Path>,
    ) -> Harness<'static, App> {
        let mut student = window::harness(App::new(
            Backend::new(rt.handle().clone()),
            Settings {
                address: address.to_owned(),
                name: "hanako".to_owned(),
                ..Settings::for_lang(Lang::En)
            },
            None,
        ));
        if let Some(ca) = ca {
            student.get_by_label("Trusted certificate").focus();
            student.step();
            student
                .get_by_label("Trusted certificate")
                .type_text(ca.to_str().unwrap());
            student.step();
        }
        student.get_by_label("Join").click();
        student
    }

    #[test]
    fn a_student_window_joins_a_self_signed_host_with_its_certificate_and_is_told_without() {
        let rt = window::runtime();
        let cert = TestCert::local("window-student");
        let mut host = host_with(&rt, &cert.cert, &cert.key);
        let port = window::start_hosting(&mut host);
        let address = format!("https://localhost:{port}");

        let mut untrusting = student_with(&rt, &address, None);
        window::step_until_app(&mut untrusting, "the refusal", |app| app.error().is_some());
        untrusting.get_by_label_contains("not trusted");
        assert_eq!(untrusting.state().mode(), ModeKind::Start);

        let mut trusting = student_with(&rt, &address, Some(&cert.cert));
        window::step_until_app(&mut trusting, "hanako joined over wss", |app| {
            app.chat().is_some_and(|c| c.state.connected())
        });
        assert_eq!(
            trusting
                .state()
                .chat()
                .and_then(|c| c.own_id.clone())
                .as_deref(),
            Some("hanako")
        );
    }

    #[test]
    fn the_window_says_when_the_key_is_not_the_certificates() {
        let rt = window::runtime();
        let cert = TestCert::local("window-mismatch");
        let other = TestCert::local("window-mismatch-other");
        let mut host = host_with(&rt, &cert.cert, &other.key);
        host.get_by_label("Start hosting").click();
        window::step_until_app(&mut host, "the error", |app| app.error().is_some());
        host.get_by_label_contains("does not belong to the certificate");
        assert_eq!(host.state().mode(), ModeKind::Start);
    }
}
