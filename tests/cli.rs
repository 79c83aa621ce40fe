//! The `classchat` binary end to end: `serve`, `join` and their exit codes.
//!
//! Run: `cargo test --test cli`.
// Helpers outside #[test] functions unwrap too: a failed setup should fail the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead as _, BufReader, Read};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const PATIENCE: Duration = Duration::from_secs(20);

fn classchat() -> Command {
    Command::new(env!("CARGO_BIN_EXE_classchat"))
}

/// Kills the child when the test ends, passing or not.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.kill().ok();
        self.0.wait().ok();
    }
}

/// Lines of a child's output, read on a thread so that waiting for one can time out.
fn lines(output: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("child-output".into())
        .spawn(move || {
            for line in BufReader::new(output).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        })
        .unwrap();
    rx
}

/// Waits for a line matching `wanted` and returns it.
fn wait_for_line(rx: &mpsc::Receiver<String>, wanted: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + PATIENCE;
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) if wanted(&line) => return line,
            Ok(line) => seen.push(line),
            Err(e) => panic!("no such line ({e}); saw {seen:?}"),
        }
    }
}

fn wait_with_timeout(child: &mut Child) -> ExitStatus {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "the process did not exit");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Starts `classchat serve` on a port the system picks and returns it with its join URL.
fn serve(extra: &[&str]) -> (Running, String) {
    let mut child = classchat()
        .args(["serve", "--bind", "127.0.0.1", "--port", "0"])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let out = lines(child.stdout.take().unwrap());
    let line = wait_for_line(&out, |l| l.trim_start().starts_with("ws://127.0.0.1:"));
    let url = line.trim().to_owned();
    assert!(url.ends_with("/ws_multi_client_dict"), "{url}");
    (Running(child), url)
}

/// Runs `classchat join` with stdin kept open (end of input means "leave").
fn join(args: &[&str]) -> (Running, mpsc::Receiver<String>) {
    let mut child = classchat()
        .arg("join")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let out = lines(child.stdout.take().unwrap());
    (Running(child), out)
}

#[test]
fn serve_prints_its_address_and_join_connects() {
    let (_server, url) = serve(&[]);
    let (mut client, out) = join(&[&url]);
    let line = wait_for_line(&out, |l| l.contains("Your ID is:"));
    assert!(line.ends_with("client0"), "{line}");
    // End of input leaves the chat normally.
    drop(client.0.stdin.take());
    assert_eq!(wait_with_timeout(&mut client.0).code(), Some(0));
}

#[test]
fn join_exits_with_3_on_a_wrong_join_code() {
    let (_server, url) = serve(&["--join-code", "1234"]);
    let (mut client, _out) = join(&[&url, "--code", "0000"]);
    assert_eq!(wait_with_timeout(&mut client.0).code(), Some(3));
}

#[test]
fn join_exits_with_4_when_nothing_answers() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let (mut client, _out) = join(&[&format!("127.0.0.1:{port}"), "--no-reconnect"]);
    assert_eq!(wait_with_timeout(&mut client.0).code(), Some(4));
}

#[test]
fn help_and_version() {
    let help = classchat().arg("--help").output().unwrap();
    assert!(help.status.success());
    let help = String::from_utf8(help.stdout).unwrap();
    assert!(help.contains("serve") && help.contains("join"), "{help}");

    let version = classchat().arg("--version").output().unwrap();
    assert!(version.status.success());
    let version = String::from_utf8(version.stdout).unwrap();
    assert!(version.contains(env!("CARGO_PKG_VERSION")), "{version}");
}
