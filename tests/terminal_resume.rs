//! `classchat join`, the real binary, against a relay that keeps history: what the relay sends
//! again (to a late joiner, and after a drop) is printed once, after a divider, and the client
//! resumes a dropped connection by itself.
//!
//! Run: `cargo test --test terminal_resume`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod proxy;

use std::io::Write as _;
use std::sync::mpsc as std_mpsc;
use std::time::{Duration, Instant};

use classchat::protocol::{Recipient, ServerMessage};
use classchat::terminal::{EARLIER, LIVE};
use common::*;
use proxy::Proxy;

/// Sends to `to` as a raw `classchat.v1` client and waits for the relay's confirmation.
async fn say(ws: &mut Ws, to: &str, text: &str) {
    send_json(ws, to, text).await;
    loop {
        if let ServerMessage::Message(m) = json(ws).await
            && m.text == text
        {
            return;
        }
    }
}

/// Every output line up to and including the first that `last` accepts; fails after
/// [`CHILD_PATIENCE`]. Blocks, so it runs where the runtime allows blocking.
fn lines_until(out: &std_mpsc::Receiver<String>, last: impl Fn(&str) -> bool) -> Vec<String> {
    tokio::task::block_in_place(|| {
        let deadline = Instant::now() + CHILD_PATIENCE;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match out.recv_timeout(left) {
                Ok(line) => {
                    let done = last(&line);
                    seen.push(line);
                    if done {
                        return seen;
                    }
                }
                Err(e) => panic!("no such line ({e}); saw {seen:?}"),
            }
        }
    })
}

/// The lines that show messages, and the dividers between them.
fn shown(lines: &[String]) -> Vec<&str> {
    lines
        .iter()
        .map(String::as_str)
        .filter(|l| *l == EARLIER || *l == LIVE || l.starts_with("tanaka"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_terminal_prints_earlier_messages_once_after_a_divider_and_resumes_after_a_drop() {
    let relay = start_relay(config()).await;
    let proxy = Proxy::start(relay.local_addr()).await;
    let (mut teacher, _, _) = extended_dict(relay.local_addr(), "?name=tanaka").await;
    say(&mut teacher, "*", "課題 1").await;
    say(&mut teacher, "*", "課題 2").await;

    // A late joiner sees the room's history first, under a divider, then live messages.
    let url = format!("ws://{}{DICT}", proxy.addr());
    let (mut terminal, out) = join_process(&[&url, "--name", "花子"]);
    let joined = lines_until(&out, |l| l == "Connected. Your ID is: 花子");
    assert!(shown(&joined).is_empty(), "{joined:?}");
    eventually("花子 is listed", || listed(&relay, "花子")).await;
    say(&mut teacher, "*", "live 1").await;
    let seen = lines_until(&out, |l| l == "tanaka → everyone: live 1");
    assert_eq!(
        shown(&seen),
        [
            EARLIER,
            "tanaka → everyone: 課題 1",
            "tanaka → everyone: 課題 2",
            LIVE,
            "tanaka → everyone: live 1"
        ]
    );

    // Wi-Fi goes: while 花子 is away the teacher writes to everyone and to her.
    proxy.down();
    lines_until(&out, |l| l.starts_with("Disconnected:"));
    say(&mut teacher, "*", "gap 1").await;
    say(&mut teacher, "花子", "gap 2").await;
    proxy.up();

    let back = lines_until(&out, |l| l.starts_with("Back in the chat"));
    assert!(
        back.iter().any(|l| l == "Connected. Your ID is: 花子"),
        "the same ID: {back:?}"
    );
    assert!(
        !back.iter().any(|l| l.contains("may be missing")),
        "{back:?}"
    );
    say(&mut teacher, "*", "live 2").await;
    let seen = lines_until(&out, |l| l == "tanaka → everyone: live 2");
    assert_eq!(
        shown(&seen),
        [
            EARLIER,
            "tanaka → everyone: gap 1",
            "tanaka: gap 2",
            LIVE,
            "tanaka → everyone: live 2"
        ],
        "each missed message once, after the divider"
    );

    // What is typed just before leaving still arrives: leaving waits for the confirmation.
    let mut stdin = terminal.0.stdin.take().unwrap();
    writeln!(stdin, "tanaka/さようなら").unwrap();
    drop(stdin);
    loop {
        if let ServerMessage::Message(m) = json(&mut teacher).await
            && m.text == "さようなら"
        {
            assert_eq!(m.to, Recipient::Client("tanaka".into()));
            break;
        }
    }
    let exited = tokio::task::block_in_place(|| {
        let deadline = Instant::now() + CHILD_PATIENCE;
        loop {
            if let Some(status) = terminal.0.try_wait().unwrap() {
                return Some(status);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    });
    assert_eq!(exited.and_then(|s| s.code()), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_relay_restart_the_terminal_says_plainly_that_messages_may_be_missing() {
    let relay = start_relay(config()).await;
    // The relay restarts behind one address (on another port, so that the test does not wait
    // for the old one to be free).
    let proxy = Proxy::start(relay.local_addr()).await;
    let url = format!("ws://{}{DICT}", proxy.addr());
    let (_terminal, out) = join_process(&[&url, "--name", "花子"]);
    lines_until(&out, |l| l == "Connected. Your ID is: 花子");
    relay.shutdown().await;
    lines_until(&out, |l| l.starts_with("Disconnected:"));
    let relay = start_relay(config()).await;
    proxy.retarget(relay.local_addr());
    let line = lines_until(&out, |l| l.contains("some messages may be missing"));
    assert!(
        line.iter().any(|l| l == "Connected. Your ID is: 花子"),
        "{line:?}"
    );
}
