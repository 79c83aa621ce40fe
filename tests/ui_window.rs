//! The window's "reach every student" and reliability features, driven by egui_kittest (no
//! GPU, no display) against real relays on 127.0.0.1 and real mDNS on this machine: rooms
//! found on the network, the announcement, the QR code and join link, the relay counters, the
//! session journal, a failed transcript save, and a relay restart seen by a student.
//!
//! Run: `cargo test --test ui_window`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

mod window;

use classchat::bridge::Backend;
use classchat::discovery::{Browser, announce};
use classchat::relay::{self, RelayConfig, RelayHandle};
use classchat::ui::log::{EntryKind, Room};
use classchat::ui::share::QrCode;
use classchat::ui::state::ConnState;
use classchat::ui::{App, Lang, ModeKind, Settings};
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT as _, Queryable as _};
use window::{
    TIMEOUT, harness as window, log_len, runtime, start_hosting, step_until, stop_hosting,
};

/// English settings that host on a free port under a room name of this test alone.
fn settings(room: &str) -> Settings {
    let mut settings = Settings::for_lang(Lang::En);
    settings.port = "0".to_owned();
    settings.host_name = "Sensei".to_owned();
    settings.room_name = room.to_owned();
    settings
}

/// A fresh, empty directory for this test.
fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("classchat-ui-{name}-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    dir
}

fn shows(harness: &Harness<'_, App>, text: &str) -> bool {
    harness.query_all_by_label_contains(text).next().is_some()
}

/// A window joined to `127.0.0.1:port` as `name`.
fn student(backend: Backend, port: u16, name: &str, code: Option<&str>) -> Harness<'static, App> {
    let mut settings = Settings::for_lang(Lang::En);
    settings.address = format!("127.0.0.1:{port}");
    settings.name = name.to_owned();
    settings.join_code = code.unwrap_or_default().to_owned();
    let harness = window(App::new(backend, settings, None));
    harness.get_by_label("Join").click();
    harness
}

fn own_id(app: &App) -> Option<String> {
    app.chat().and_then(|s| s.own_id.clone())
}

#[test]
fn rooms_found_on_the_network_fill_the_address() {
    let rt = runtime();
    let room = format!("Room 3-A {}", std::process::id());
    let port = 40_000 + (std::process::id() % 20_000) as u16;
    let _announcement = announce(&room, port, true).expect("announce");
    let mut harness = window(App::new(
        Backend::new(rt.handle().clone()),
        settings("unused"),
        None,
    ));
    step_until(&mut harness, "the room in the list", |h| shows(h, &room));
    harness.get_by_label_contains(&room).click();
    harness.step();
    harness.step();

    let address = harness.state().settings.address.clone();
    assert!(address.ends_with(&format!(":{port}")), "{address}");
    assert_eq!(
        harness.get_by_label("Address").value().as_deref(),
        Some(address.as_str())
    );
    // The room needs a code: typing goes straight to the join-code field.
    assert!(
        harness
            .query_all_by_label("Join code")
            .any(|node| node.is_focused()),
        "the join-code field should have focus"
    );
}

#[test]
fn hosting_announces_the_room_until_it_stops() {
    let rt = runtime();
    let room = format!("数学 {}", std::process::id());
    let browser = Browser::start(|| {}).expect("browser starts");
    let mut app_settings = settings(&room);
    app_settings.host_code = "4321".to_owned();
    let mut host = window(App::new(
        Backend::new(rt.handle().clone()),
        app_settings,
        None,
    ));
    let port = start_hosting(&mut host);
    let found = |browser: &Browser| {
        browser
            .rooms()
            .into_iter()
            .find(|r| r.name == room && r.port == port)
    };
    let deadline = Instant::now() + TIMEOUT;
    while found(&browser).is_none() {
        assert!(
            Instant::now() < deadline,
            "not announced: {:?}",
            browser.rooms()
        );
        host.step();
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(found(&browser).is_some_and(|r| r.join_code_required));

    stop_hosting(&mut host);
    let deadline = Instant::now() + TIMEOUT;
    while found(&browser).is_some() {
        assert!(Instant::now() < deadline, "still announced after stopping");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn host_shows_the_join_link_and_its_qr_code() {
    let rt = runtime();
    let mut app_settings = settings("qr");
    app_settings.host_code = "482913".to_owned();
    let mut host = window(App::new(
        Backend::new(rt.handle().clone()),
        app_settings,
        None,
    ));
    let port = start_hosting(&mut host);
    let link_end = format!(":{port}/?code=482913");

    let qr = host.get_by_label_contains("QR code of the join link: http://");
    let label = qr.accesskit_node().label().unwrap_or_default();
    assert!(label.ends_with(&link_end), "{label}");
    let small = qr.rect().width();
    assert!(small >= 150.0, "the panel's QR code is {small} points wide");
    let link = label
        .trim_start_matches("QR code of the join link: ")
        .to_owned();
    host.get_by_label(&link);

    host.get_by_label("Copy link").click();
    host.step();
    let copied = host
        .output()
        .platform_output
        .commands
        .iter()
        .any(|c| matches!(c, egui::OutputCommand::CopyText(text) if *text == link));
    assert!(copied, "Copy link should put {link} on the clipboard");
    // The button confirms it, and the status line says so.
    host.step();
    host.step();
    host.get_by_label("Copied ✓");
    assert!(shows(&host, "Copied to the clipboard"));

    // On the projector the code fills most of the window, with the link under it.
    host.get_by_label("Show QR code large").click();
    host.step();
    host.step();
    let large = host
        .get_by_label_contains("QR code of the join link: http://")
        .rect();
    assert!(
        large.width() >= 500.0,
        "the projector's QR code is {large:?}"
    );
    host.get_by_label(&link);
    // Every dark module of the link's code is painted, inside the code's square.
    let code = QrCode::new(&link).expect("a link fits in a QR code");
    let modules = code.dark.iter().filter(|dark| **dark).count();
    let painted = host
        .output()
        .shapes
        .iter()
        .filter(|clipped| match &clipped.shape {
            egui::Shape::Rect(rect) => {
                rect.fill == egui::Color32::BLACK && large.contains_rect(rect.rect)
            }
            _ => false,
        })
        .count();
    assert_eq!(painted, modules);
    host.key_press(egui::Key::Escape);
    host.step();
    host.step();
    assert!(
        shows(&host, "Stop hosting"),
        "Escape leaves the projector view"
    );
}

#[test]
fn relay_counters_follow_messages_and_refusals() {
    let rt = runtime();
    let backend = Backend::new(rt.handle().clone());
    let mut app_settings = settings("counters");
    app_settings.host_code = "1234".to_owned();
    let mut host = window(App::new(backend.clone(), app_settings, None));
    let port = start_hosting(&mut host);
    assert!(shows(&host, "Messages relayed: 0"));
    assert!(shows(&host, "Connections refused: 0"));

    let mut taro = student(backend.clone(), port, "Taro", Some("1234"));
    step_until(&mut taro, "Taro joined", |h| {
        own_id(h.state()).as_deref() == Some("Taro")
    });
    taro.get_by_label("Message").type_text("*/hello");
    taro.step();
    taro.key_press(egui::Key::Enter);
    taro.step();
    step_until(&mut host, "one message relayed", |h| {
        shows(h, "Messages relayed: 1")
    });
    assert!(shows(&host, "2 people connected"));

    let mut intruder = student(backend, port, "Ken", Some("0000"));
    step_until(&mut intruder, "the wrong code refused", |h| {
        h.state().error().is_some()
    });
    step_until(&mut host, "one refusal counted", |h| {
        shows(h, "Connections refused: 1")
    });
    assert_eq!(host.state().relay_stats().map(|s| s.refused), Some(1));
}

/// Hosts in a window keeping its journal in `dir`, writes `text`, stops; returns the number
/// of log lines the host saw.
fn host_a_session(rt: &tokio::runtime::Runtime, dir: &Path, text: &str) -> usize {
    let app = App::new(Backend::new(rt.handle().clone()), settings("journal"), None)
        .with_journal_dir(Some(dir.to_owned()));
    let mut host = window(app);
    start_hosting(&mut host);
    host.get_by_label("Message").type_text(&format!("*/{text}"));
    host.step();
    host.key_press(egui::Key::Enter);
    host.step();
    step_until(&mut host, "the host's message", |h| {
        h.state().chat().is_some_and(|s| s.log.contains_text(text))
    });
    let lines = log_len(host.state());
    stop_hosting(&mut host);
    lines
}

#[test]
fn previous_session_is_offered_viewed_and_saved() {
    let rt = runtime();
    let dir = temp_dir("journal");
    let lines = host_a_session(&rt, &dir, "宿題は金曜日まで");

    // The next start offers it, with the number of lines the host saw.
    let saved = dir.join("transcript.txt");
    let backend = Backend::new(rt.handle().clone()).with_save_path(saved.clone());
    let app = App::new(backend, settings("journal"), None).with_journal_dir(Some(dir.clone()));
    let mut next = window(app);
    step_until(&mut next, "the offer", |h| {
        h.state().previous_chat().is_some()
    });
    next.step();
    next.get_by_label_contains(&format!(", {lines} lines"));

    // Saved from the start screen, which says where.
    next.get_by_label("Save transcript…").click();
    step_until(&mut next, "the transcript saved", |h| {
        shows(h, "Transcript saved to")
    });
    let text = std::fs::read_to_string(&saved).unwrap();
    assert!(text.contains("Sensei → *: 宿題は金曜日まで"), "{text}");

    next.get_by_label("View").click();
    next.step();
    next.step();
    assert_eq!(next.state().mode(), ModeKind::Reviewing);
    assert!(shows(&next, "宿題は金曜日まで"));
    assert!(shows(&next, "(read-only)"));
    next.get_by_label("Save transcript…");

    next.get_by_label("Back to start").click();
    next.step();
    assert_eq!(next.state().mode(), ModeKind::Start);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_journal_that_cannot_be_created_is_a_quiet_note() {
    let rt = runtime();
    let dir = temp_dir("no-journal");
    // A directory cannot be made under a file, even by root.
    let file = dir.join("a-file");
    std::fs::write(&file, "").unwrap();
    let app = App::new(Backend::new(rt.handle().clone()), settings("note"), None)
        .with_journal_dir(Some(file.join("journal")));
    let mut host = window(app);
    start_hosting(&mut host);
    assert!(shows(&host, "No session journal ("));
    assert!(shows(&host, "Stop hosting"));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_failed_save_says_so_and_keeps_the_log() {
    let rt = runtime();
    let dir = temp_dir("save");
    let file = dir.join("a-file");
    std::fs::write(&file, "").unwrap();
    // Not writable for anyone: its "directory" is a file.
    let backend = Backend::new(rt.handle().clone()).with_save_path(file.join("transcript.txt"));
    let mut host = window(App::new(backend, settings("save"), None));
    start_hosting(&mut host);
    let lines = log_len(host.state());

    host.get_by_label("Save transcript…").click();
    step_until(&mut host, "the failure", |h| {
        shows(h, "Could not save the transcript")
    });
    assert!(shows(&host, "(nothing was lost)"));
    assert_eq!(host.state().mode(), ModeKind::Hosting);
    assert!(log_len(host.state()) >= lines);
    // The button is enabled again, for another try.
    assert!(
        !host
            .get_by_label("Save transcript…")
            .accesskit_node()
            .is_disabled()
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_save_without_a_dialog_offers_the_documents_folder() {
    let rt = runtime();
    let documents = temp_dir("documents");
    let backend = Backend::new(rt.handle().clone()).without_dialog(documents.clone());
    let mut host = window(App::new(backend, settings("no-dialog"), None));
    start_hosting(&mut host);

    host.get_by_label("Save transcript…").click();
    step_until(&mut host, "the error", |h| {
        shows(h, "No file dialog could be opened.")
    });
    step_until(&mut host, "the fallback offered", |h| {
        shows(h, "Save to the Documents folder")
    });
    host.step();
    host.get_by_label("Save to the Documents folder").click();
    step_until(&mut host, "the fallback save", |h| {
        shows(h, "Transcript saved to")
    });
    let saved: Vec<PathBuf> = std::fs::read_dir(&documents)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(saved.len(), 1, "{saved:?}");
    assert!(
        shows(&host, &saved[0].display().to_string()),
        "the path is shown"
    );
    assert!(
        std::fs::read_to_string(&saved[0])
            .unwrap()
            .contains("Sensei")
    );
    std::fs::remove_dir_all(&documents).ok();
}

/// Starts a relay on `127.0.0.1:port` (0: any), retrying while the old socket lets go.
fn start_relay(rt: &tokio::runtime::Runtime, port: u16) -> RelayHandle {
    start_relay_with(rt, port, RelayConfig::default())
}

fn start_relay_with(rt: &tokio::runtime::Runtime, port: u16, config: RelayConfig) -> RelayHandle {
    let deadline = Instant::now() + TIMEOUT;
    let listener = loop {
        match rt.block_on(tokio::net::TcpListener::bind(("127.0.0.1", port))) {
            Ok(listener) => break listener,
            Err(e) => {
                assert!(Instant::now() < deadline, "cannot bind port {port}: {e}");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    };
    rt.block_on(async { relay::start(listener, config) })
}

fn with_code(code: &str) -> RelayConfig {
    RelayConfig {
        join_code: Some(code.to_owned()),
        ..RelayConfig::default()
    }
}

#[test]
fn a_changed_join_code_is_asked_for_in_the_chat_and_the_log_stays() {
    let rt = runtime();
    let relay = start_relay_with(&rt, 0, with_code("111111"));
    let port = relay.local_addr().port();
    let mut taro = student(
        Backend::new(rt.handle().clone()),
        port,
        "Taro",
        Some("111111"),
    );
    step_until(&mut taro, "Taro joined", |h| {
        h.state().chat().is_some_and(|s| s.state.connected())
    });
    let rows_before = log_len(taro.state());

    // The host restarts with a new code: the old one is refused.
    rt.block_on(relay.shutdown());
    let relay = start_relay_with(&rt, port, with_code("222222"));
    step_until(&mut taro, "the window asking for the new code", |h| {
        shows(h, "The host changed the join code")
    });
    assert_eq!(taro.state().mode(), ModeKind::Joined, "still in the chat");
    assert!(log_len(taro.state()) >= rows_before, "the log stays");
    let field = taro.get_by_label("Join code");
    assert!(
        field.accesskit_node().is_focused(),
        "the code field has the focus"
    );
    field.type_text("222222");
    taro.step();
    taro.get_by_label("Join again").click();
    step_until(&mut taro, "Taro back in the chat with the new code", |h| {
        h.state().chat().is_some_and(|s| s.state.connected())
    });
    assert!(!shows(&taro, "The host changed the join code"));
    drop(relay);
}

#[test]
fn student_window_reconnects_after_the_relay_restarts() {
    let rt = runtime();
    let relay = start_relay(&rt, 0);
    let port = relay.local_addr().port();
    let mut taro = student(Backend::new(rt.handle().clone()), port, "Taro", None);
    step_until(&mut taro, "Taro joined", |h| {
        h.state().mode() == ModeKind::Joined && own_id(h.state()).as_deref() == Some("Taro")
    });

    rt.block_on(relay.shutdown());
    step_until(&mut taro, "the window saying it reconnects", |h| {
        h.state().chat().is_some_and(|s| {
            matches!(
                s.state,
                ConnState::Waiting { .. } | ConnState::Connecting { .. }
            )
        }) && shows(h, "Reconnecting in")
    });
    // Still in the chat window, not back at the start screen.
    assert_eq!(taro.state().mode(), ModeKind::Joined);
    // While disconnected, Send is disabled with the reason and the roster is greyed out.
    taro.step();
    assert!(taro.get_by_label("Send").accesskit_node().is_disabled());
    assert!(shows(&taro, "Cannot send — "));
    assert!(
        taro.get_by_label("Taro (you)")
            .accesskit_node()
            .is_disabled(),
        "the roster is greyed out"
    );
    // Retries update the status line; the log says it once.
    let retry_at = |app: &App| {
        app.chat().and_then(|s| match s.state {
            ConnState::Waiting { retry_at, .. } => Some(retry_at),
            _ => None,
        })
    };
    let first = retry_at(taro.state());
    step_until(&mut taro, "waiting after a second attempt", |h| {
        retry_at(h.state()).is_some_and(|at| Some(at) != first)
    });
    let lost_rows = taro.state().chat().map_or(0, |s| {
        s.log
            .entries()
            .iter()
            .filter(|e| e.text(Lang::En).contains("Reconnecting"))
            .count()
    });
    assert_eq!(
        lost_rows, 1,
        "one log row for the loss, however many retries"
    );

    let _relay = start_relay(&rt, port);
    step_until(&mut taro, "Taro back in the chat", |h| {
        h.state().chat().is_some_and(|s| s.state.connected())
    });
    assert_eq!(own_id(taro.state()).as_deref(), Some("Taro"));
    taro.get_by_label("Your ID: Taro");
    assert!(shows(&taro, "Connected"));
}

#[test]
fn new_host_strings_are_japanese_in_japanese() {
    let rt = runtime();
    let mut app_settings = Settings::for_lang(Lang::Ja);
    app_settings.port = "0".to_owned();
    let mut host = window(App::new(
        Backend::new(rt.handle().clone()),
        app_settings,
        None,
    ));
    host.step();
    host.get_by_label("部屋の名前");
    host.get_by_label("このネットワークのチャット");
    host.get_by_label("チャットを開始").click();
    step_until(&mut host, "hosting", |h| {
        h.state().mode() == ModeKind::Hosting
    });
    host.step();
    for text in [
        "リンクをコピー",
        "QRコードを大きく表示",
        "サーバーの状態",
        "中継したメッセージ: ",
        "参加用リンクのQRコード: http://",
    ] {
        assert!(shows(&host, text), "missing {text}");
    }
}

#[test]
fn counter_changes_wake_an_idle_host_window() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    let rt = runtime();
    let backend = Backend::new(rt.handle().clone());
    let wakes = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&wakes);
    let request = classchat::bridge::HostRequest {
        join_code: Some("1234".to_owned()),
        ..classchat::bridge::HostRequest::default()
    };
    let promise = backend.host(
        request,
        Arc::new(move || {
            counted.fetch_add(1, Ordering::SeqCst);
        }),
    );
    let mut hosted = promise.block_and_take().expect("hosting starts");
    // Let the host's own joining settle: then nothing wakes the window.
    let mut before = wakes.load(Ordering::SeqCst);
    loop {
        std::thread::sleep(Duration::from_millis(2500));
        let now = wakes.load(Ordering::SeqCst);
        if now == before {
            break;
        }
        before = now;
    }

    // A refused student sends the host's client no event; the counter watcher wakes it.
    let config = classchat::bridge::join_config(
        &format!("127.0.0.1:{}", hosted.port),
        None,
        Some("0000".to_owned()),
        None,
        None,
    )
    .expect("an address");
    let (_client, _events) = backend.join(config, Arc::new(|| {}));
    let deadline = Instant::now() + TIMEOUT;
    let mut refused = 0;
    while refused == 0 || wakes.load(Ordering::SeqCst) == before {
        assert!(Instant::now() < deadline, "the window was not woken");
        std::thread::sleep(Duration::from_millis(50));
        while let Some(event) = hosted.host.try_event() {
            if let classchat::bridge::HostEvent::Stats(stats) = event {
                refused = stats.refused;
            }
        }
    }
}

/// A stand-in for the course's Tornado broadcast server (`scripts/seed_both_server.py`, path
/// `/ws_multi_client`): every text frame goes to every client, the sender included, behind
/// the seed's prefix. It speaks no subprotocol, so the client falls back to the seed's text.
fn seed_broadcast_server(rt: &tokio::runtime::Runtime) -> u16 {
    use futures_util::{SinkExt as _, StreamExt as _};
    use tokio_tungstenite::tungstenite::Message;

    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("a free port");
    let port = listener.local_addr().expect("a local address").port();
    let (everyone, _) = tokio::sync::broadcast::channel::<String>(64);
    rt.spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let everyone = everyone.clone();
            tokio::spawn(async move {
                let Ok(ws) = tokio_tungstenite::accept_async(stream).await else {
                    return;
                };
                let (mut write, mut read) = ws.split();
                let mut lines = everyone.subscribe();
                loop {
                    tokio::select! {
                        frame = read.next() => match frame {
                            Some(Ok(Message::Text(text))) => {
                                let line = format!("The server return anyone's message: {text}");
                                everyone.send(line).ok(); // The sender is subscribed too.
                            }
                            Some(Ok(_)) => {}
                            Some(Err(_)) | None => return,
                        },
                        line = lines.recv() => {
                            let Ok(line) = line else { return };
                            if write.send(Message::text(line)).await.is_err() {
                                return;
                            }
                        }
                    }
                }
            });
        }
    });
    port
}

/// A stand-in for the seed's addressed server (path `/ws_multi_client_dict`) with one client
/// at a time: it greets with `Your ID is: client0` and, like the seed, confirms nothing and
/// drops lines for an ID it does not know (here, every other ID).
fn seed_dict_server(rt: &tokio::runtime::Runtime) -> u16 {
    use futures_util::{SinkExt as _, StreamExt as _};
    use tokio_tungstenite::tungstenite::Message;

    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("a free port");
    let port = listener.local_addr().expect("a local address").port();
    rt.spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
                    return;
                };
                if ws.send(Message::text("Your ID is: client0")).await.is_err() {
                    return;
                }
                while let Some(Ok(_)) = ws.next().await {}
            });
        }
    });
    port
}

/// Joins `address`, sends `line` and returns how many log rows carry `text` once the line had
/// time to come back (once or twice).
fn rows_after_sending(
    rt: &tokio::runtime::Runtime,
    address: String,
    line: &str,
    text: &str,
) -> usize {
    let mut settings = Settings::for_lang(Lang::En);
    settings.address = address;
    let mut student = window(App::new(Backend::new(rt.handle().clone()), settings, None));
    student.get_by_label("Join").click();
    step_until(&mut student, "connected to the seed server", |h| {
        h.state().chat().is_some_and(|c| c.state.connected())
    });

    student.get_by_label("Message").type_text(line);
    student.step();
    student.key_press(egui::Key::Enter);
    step_until(&mut student, "the line in the log", |h| {
        h.state().chat().is_some_and(|c| c.log.contains_text(text))
    });
    // Give a second copy time to arrive, were there one.
    let settle = Instant::now() + Duration::from_millis(500);
    while Instant::now() < settle {
        student.step();
        std::thread::sleep(Duration::from_millis(20));
    }
    student.state().chat().map_or(0, |c| {
        c.log
            .entries()
            .iter()
            .filter(|row| {
                matches!(&row.kind, EntryKind::Message { text: row_text, .. } if row_text.contains(text))
            })
            .count()
    })
}

#[test]
fn a_line_sent_to_the_seed_broadcast_server_shows_once() {
    let rt = runtime();
    let port = seed_broadcast_server(&rt);
    let address = format!("ws://127.0.0.1:{port}/ws_multi_client");
    let rows = rows_after_sending(&rt, address, "*/hello seed", "hello seed");
    assert_eq!(rows, 1, "one line sent, one row shown");
}

#[test]
fn a_line_sent_to_the_seed_dict_server_shows_once() {
    let rt = runtime();
    let port = seed_dict_server(&rt);
    let address = format!("ws://127.0.0.1:{port}/ws_multi_client_dict");
    let rows = rows_after_sending(&rt, address, "client9/hello dict", "hello dict");
    assert_eq!(rows, 1, "one line sent, one row shown");
}

#[test]
fn host_mutes_and_kicks_through_the_bridge() {
    let rt = runtime();
    let backend = Backend::new(rt.handle().clone());
    let mut host = window(App::new(backend.clone(), settings("moderation"), None));
    let port = start_hosting(&mut host);
    let mut taro = student(backend, port, "Taro", None);
    step_until(&mut taro, "Taro joined", |h| own_id(h.state()).is_some());
    step_until(&mut host, "Taro in the host's roster", |h| shows(h, "Kick"));

    // The roster's mute flags come back from the bridge's relay watcher.
    // Each row's buttons say whom they are for.
    host.get_by_label("Mute Taro").click();
    step_until(&mut host, "Taro muted", |h| shows(h, "(muted)"));
    // A muted student learns it when sending, and keeps the text.
    taro.get_by_label("Message").focus();
    taro.step();
    taro.get_by_label("Message")
        .type_text("*/can I ask something?");
    taro.step();
    taro.key_press(egui::Key::Enter);
    step_until(&mut taro, "the muted banner", |h| {
        shows(h, "The host has muted you")
    });
    assert_eq!(
        taro.state()
            .chat()
            .map(|c| c.composer.text.clone())
            .as_deref(),
        Some("*/can I ask something?"),
        "the refused text is back in the box"
    );
    host.get_by_label("Unmute Taro").click();
    step_until(&mut host, "Taro unmuted", |h| !shows(h, "(muted)"));
    assert!(shows(&host, "You muted Taro"), "the log records the mute");
    assert!(shows(&host, "You unmuted Taro"));

    // Kick asks first; cancelling keeps Taro, and the question blocks the rows behind it.
    host.get_by_label("Kick Taro").click();
    for _ in 0..4 {
        host.step();
    }
    assert!(shows(&host, "Remove Taro from the chat?"));
    host.get_by_label("Cancel").click();
    host.step();
    host.step();
    assert!(!shows(&host, "Remove Taro from the chat?"));
    std::thread::sleep(Duration::from_millis(300));
    host.step();
    assert!(shows(&host, "Kick"), "Taro is still there after Cancel");
    assert_eq!(own_id(taro.state()).as_deref(), Some("Taro"));

    host.get_by_label("Kick Taro").click();
    for _ in 0..4 {
        host.step();
    }
    // The question's own button is plain "Kick".
    host.get_by_label("Kick").click();
    step_until(&mut host, "Taro gone", |h| !shows(h, "Kick"));
    assert!(shows(&host, "You removed Taro from the chat"));
}

#[test]
fn the_host_sees_the_broadcast_room_too() {
    use futures_util::SinkExt as _;
    use tokio_tungstenite::tungstenite::Message;

    let rt = runtime();
    let mut host = window(App::new(
        Backend::new(rt.handle().clone()),
        settings("both-rooms"),
        None,
    ));
    let port = start_hosting(&mut host);
    // A student on the course's list client: plain text on `/ws_multi_client`.
    let url = format!("ws://127.0.0.1:{port}/ws_multi_client");
    let (mut ws, _) = rt
        .block_on(tokio_tungstenite::connect_async(url))
        .expect("the broadcast room answers");
    // Give the host's listener time to be in the room before the line is sent.
    std::thread::sleep(Duration::from_millis(500));
    rt.block_on(ws.send(Message::text("hello from the list client")))
        .expect("sent");
    step_until(&mut host, "the broadcast line in the host's log", |h| {
        h.state().chat().is_some_and(|c| {
            c.log.entries().iter().any(|e| {
                e.room == Room::Broadcast && e.text(Lang::En) == "hello from the list client"
            })
        })
    });
    host.step();
    assert!(shows(&host, "[broadcast room]"), "the row names its room");

    // The host's own line to everyone shows once, not once per room.
    host.get_by_label("Message")
        .type_text("*/both rooms hear this");
    host.step();
    host.key_press(egui::Key::Enter);
    host.step();
    step_until(&mut host, "the host's line", |h| {
        h.state()
            .chat()
            .is_some_and(|c| c.log.contains_text("both rooms hear this"))
    });
    // Time for a copy from the other room, if the relay passed it on.
    std::thread::sleep(Duration::from_millis(500));
    for _ in 0..3 {
        host.step();
    }
    drop(ws);
    let copies = host.state().chat().map_or(0, |c| {
        c.log
            .entries()
            .iter()
            .filter(|e| e.text(Lang::En).contains("both rooms hear this"))
            .count()
    });
    assert_eq!(copies, 1, "the host's line shows once");
}

/// How many log rows are a message with exactly `text`.
fn message_rows(app: &App, text: &str) -> usize {
    app.chat().map_or(0, |chat| {
        chat.log
            .entries()
            .iter()
            .filter(|e| matches!(&e.kind, EntryKind::Message { text: t, .. } if t == text))
            .count()
    })
}

/// Where in the log the first row containing `needle` is.
fn row_index(app: &App, needle: &str) -> Option<usize> {
    app.chat()?
        .log
        .entries()
        .iter()
        .position(|e| match &e.kind {
            EntryKind::Message { text, .. } => text.contains(needle),
            EntryKind::Notice(text) | EntryKind::Error(text) => text.contains(needle),
            EntryKind::Note(note) => note.text(Lang::En).contains(needle),
        })
}

/// A library client on the relay's addressed path, for writing into the chat from a test.
fn other_client(
    rt: &tokio::runtime::Runtime,
    port: u16,
    name: &str,
) -> (
    classchat::client::ClientHandle,
    tokio::sync::mpsc::UnboundedReceiver<classchat::client::Event>,
) {
    let url = classchat::client::parse_address(&format!("127.0.0.1:{port}")).expect("an address");
    let mut config = classchat::client::JoinConfig::new(url);
    config.name = Some(name.to_owned());
    classchat::client::connect(rt.handle(), config, None)
}

#[test]
fn a_late_student_sees_earlier_messages_once_under_a_divider() {
    let rt = runtime();
    let relay = start_relay(&rt, 0);
    let port = relay.local_addr().port();
    let (teacher, _events) = other_client(&rt, port, "tanaka");
    teacher.send(
        classchat::protocol::Recipient::Everyone,
        "課題は12ページです",
    );
    teacher.send(
        classchat::protocol::Recipient::Everyone,
        "see https://example.com/a1",
    );
    rt.block_on(async {
        let deadline = Instant::now() + TIMEOUT;
        while relay.stats().messages < 2 {
            assert!(
                Instant::now() < deadline,
                "the teacher's messages were not relayed"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });

    let mut taro = student(Backend::new(rt.handle().clone()), port, "Taro", None);
    step_until(&mut taro, "the earlier messages", |h| {
        message_rows(h.state(), "see https://example.com/a1") == 1
    });
    let app = taro.state();
    assert_eq!(message_rows(app, "課題は12ページです"), 1);
    let divider = row_index(app, "earlier messages").expect("an earlier-messages divider");
    let first = row_index(app, "課題は12ページです").expect("the first earlier message");
    assert!(
        divider < first,
        "the divider stands above the earlier messages"
    );

    teacher.send(classchat::protocol::Recipient::Everyone, "now live");
    step_until(&mut taro, "the live message", |h| {
        message_rows(h.state(), "now live") == 1
    });
    let app = taro.state();
    let live_divider = row_index(app, "new messages").expect("a new-messages divider");
    assert!(live_divider > first && live_divider < row_index(app, "now live").unwrap_or(0));
    assert_eq!(message_rows(app, "課題は12ページです"), 1, "shown once");
}

// tungstenite's handshake callback has this error type by its signature.
#[allow(clippy::result_large_err)]
/// A `classchat.v1` relay stand-in that welcomes one client and confirms its sends only when
/// the test says so (a send id arriving on `confirm` is echoed back as confirmed).
fn slow_confirming_relay(
    rt: &tokio::runtime::Runtime,
) -> (u16, tokio::sync::mpsc::UnboundedSender<()>) {
    use futures_util::{SinkExt as _, StreamExt as _};
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};

    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("a free port");
    let port = listener.local_addr().expect("a local address").port();
    let (confirm, mut confirms) = tokio::sync::mpsc::unbounded_channel::<()>();
    rt.spawn(async move {
        let Ok((stream, _)) = listener.accept().await else {
            return;
        };
        let offer_v1 = |_: &Request, mut response: Response| {
            response.headers_mut().insert(
                "Sec-WebSocket-Protocol",
                classchat::protocol::SUBPROTOCOL.parse().expect("a header value"),
            );
            Ok(response)
        };
        let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(stream, offer_v1).await else {
            return;
        };
        let welcome = r#"{"type":"welcome","id":"Taro","clients":[{"id":"Taro","since":0,"legacy":false}],"seq":0,"epoch":"e1","resume":"t1"}"#;
        if ws.send(Message::text(welcome)).await.is_err() {
            return;
        }
        let mut sent = Vec::new();
        // Once asked, every send is confirmed, also one still on its way when asked.
        let mut confirming = false;
        let mut seq = 0;
        loop {
            tokio::select! {
                frame = ws.next() => match frame {
                    Some(Ok(Message::Text(text))) => {
                        if let Ok(classchat::protocol::ClientMessage::Send { to, text, id }) =
                            classchat::protocol::ClientMessage::parse(&text)
                        {
                            sent.push((to, text, id));
                        }
                    }
                    Some(Ok(_)) => {}
                    _ => return,
                },
                Some(()) = confirms.recv() => confirming = true,
            }
            if !confirming {
                continue;
            }
            for (to, text, id) in sent.drain(..) {
                seq += 1;
                let mut echo = classchat::protocol::ChatMessage::new("Taro", to, text, 1);
                echo.seq = Some(seq);
                echo.client_id = id;
                let frame = classchat::protocol::ServerMessage::Message(echo).encode();
                if ws.send(Message::text(frame)).await.is_err() {
                    return;
                }
            }
        }
    });
    (port, confirm)
}

#[test]
fn a_sent_message_is_shown_pending_until_the_relay_confirms_it() {
    let rt = runtime();
    let (port, confirm) = slow_confirming_relay(&rt);
    let mut taro = student(Backend::new(rt.handle().clone()), port, "Taro", None);
    step_until(&mut taro, "Taro joined", |h| {
        h.state().chat().is_some_and(|s| s.state.connected())
    });
    taro.get_by_label("Message").type_text("*/質問があります");
    taro.step();
    taro.key_press(egui::Key::Enter);
    step_until(&mut taro, "the pending line", |h| {
        h.state().chat().is_some_and(|s| s.pending.len() == 1) && shows(h, "Sending…")
    });
    assert_eq!(
        message_rows(taro.state(), "質問があります"),
        0,
        "not in the log yet"
    );

    confirm.send(()).expect("the stand-in is running");
    step_until(&mut taro, "the message in the log", |h| {
        message_rows(h.state(), "質問があります") == 1
    });
    step_until(&mut taro, "the message confirmed", |h| {
        h.state().chat().is_some_and(|s| s.pending.is_empty())
    });
    assert!(!shows(&taro, "Sending…"));
}

#[test]
fn after_a_relay_restart_the_window_says_messages_may_be_missing() {
    let rt = runtime();
    let relay = start_relay(&rt, 0);
    let port = relay.local_addr().port();
    let mut taro = student(Backend::new(rt.handle().clone()), port, "Taro", None);
    step_until(&mut taro, "Taro joined", |h| {
        h.state().chat().is_some_and(|s| s.state.connected())
    });
    rt.block_on(relay.shutdown());
    step_until(&mut taro, "the window noticing", |h| {
        h.state().chat().is_some_and(|s| !s.state.connected())
    });
    let _relay = start_relay(&rt, port);
    step_until(&mut taro, "the warning after reconnecting", |h| {
        h.state().chat().is_some_and(|s| s.state.connected())
            && shows(h, "some messages may be missing")
    });
}
