//! The `classchat` binary end to end: `serve`, `join` and their exit codes.
//!
//! Run: `cargo test --test cli`.
// Helpers outside #[test] functions unwrap too: a failed setup should fail the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::{Child, ExitStatus};
use std::time::{Duration, Instant};

use common::{
    CHILD_PATIENCE as PATIENCE, classchat, join_process as join, serve, serve_command,
    wait_for_line,
};

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

#[test]
fn serve_prints_its_address_and_join_connects() {
    let (_server, url, _out) = serve(&[]);
    let (mut client, out) = join(&[&url]);
    let line = wait_for_line(&out, |l| l.contains("Your ID is:"));
    assert!(line.ends_with("client0"), "{line}");
    // End of input leaves the chat normally.
    drop(client.0.stdin.take());
    assert_eq!(wait_with_timeout(&mut client.0).code(), Some(0));
}

#[test]
fn join_exits_with_3_on_a_wrong_join_code() {
    let (_server, url, _out) = serve(&["--join-code", "1234"]);
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

/// Runs `classchat serve` with `args` and expects clap to refuse them at once.
fn refused_at_start(args: &[&str]) -> String {
    let out = serve_command(0, args).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{args:?} was accepted");
    String::from_utf8(out.stderr).unwrap()
}

#[test]
fn serve_refuses_a_rate_that_is_not_a_number() {
    for rate in ["NaN", "inf", "-1", "-0.5", "fast"] {
        let err = refused_at_start(&["--rate", rate]);
        assert!(
            err.contains("--rate") && err.contains("0 or more"),
            "{rate}: {err}"
        );
    }
}

#[test]
fn serve_refuses_a_heartbeat_that_would_overflow() {
    for secs in ["99999999999999", "18446744073709551615", "0"] {
        let err = refused_at_start(&["--heartbeat-secs", secs]);
        assert!(
            err.contains("--heartbeat-secs") && err.contains("1..=86400"),
            "{secs}: {err}"
        );
    }
    let err = refused_at_start(&["--summary-secs", "18446744073709551615"]);
    assert!(err.contains("--summary-secs"), "{err}");
}

#[test]
fn serve_help_lists_the_hardening_options() {
    let help = classchat().args(["serve", "--help"]).output().unwrap();
    assert!(help.status.success());
    let help = String::from_utf8(help.stdout).unwrap();
    for flag in [
        "--allow-origin",
        "--allow-host",
        "--max-per-address",
        "--rate-bytes",
        "--burst-bytes",
    ] {
        assert!(help.contains(flag), "{flag} missing from:\n{help}");
    }
}

#[test]
fn serve_prints_a_host_command_a_shell_takes_as_it_is() {
    let (_server, url, out) = serve(&["--host-token", "it's mine", "--join-code", "2468"]);
    let line = wait_for_line(&out, |l| l.starts_with("Host in a terminal: "));
    let address = url
        .strip_prefix("ws://")
        .and_then(|a| a.strip_suffix(common::DICT))
        .unwrap();
    assert_eq!(
        line,
        format!(
            r"Host in a terminal: classchat join {address} --host-key 'it'\''s mine' --code 2468"
        )
    );
}
