//! `classchat join`, the real binary, in a classroom run by `classchat serve`: the host joins
//! with the command `serve` prints, pins, opens a poll, changes the room's modes and closes the
//! poll; a student sees all of it, raises a hand and votes, and is refused the host's commands.
//!
//! Run: `cargo test --test terminal_classroom`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write as _;
use std::sync::mpsc as std_mpsc;

use common::{Running, join_process, serve, wait_for_line};

/// Types `line` into a terminal client.
fn type_line(terminal: &mut Running, line: &str) {
    let stdin = terminal.0.stdin.as_mut().unwrap();
    writeln!(stdin, "{line}").unwrap();
    stdin.flush().unwrap();
}

/// Waits for exactly `line`.
fn expect(out: &std_mpsc::Receiver<String>, line: &str) {
    wait_for_line(out, |l| l == line);
}

#[test]
fn a_host_terminal_runs_a_poll_and_a_student_terminal_raises_a_hand_and_votes() {
    let (_server, url, serve_out) = serve(&["--join-code", "2468"]);
    // The host joins with the command `serve` printed, as it is.
    let hint = wait_for_line(&serve_out, |l| l.starts_with("Host in a terminal: "));
    let args: Vec<&str> = hint
        .strip_prefix("Host in a terminal: classchat join ")
        .unwrap_or_else(|| panic!("{hint}"))
        .split(' ')
        .chain(["--name", "先生"])
        .collect();
    assert!(
        args.contains(&"--host-key") && args.contains(&"2468"),
        "{hint}"
    );
    let (mut host, host_out) = join_process(&args);
    expect(&host_out, "Connected. Your ID is: 先生");
    wait_for_line(&host_out, |l| l.starts_with("You are a host [teacher]"));

    let (mut student, student_out) = join_process(&[&url, "--code", "2468", "--name", "花子"]);
    expect(&student_out, "Connected. Your ID is: 花子");
    expect(&student_out, "Connected now: [teacher] 先生, 花子 (you)");
    expect(
        &student_out,
        "Room: students may write to everyone: yes; privately to each other: yes",
    );
    // The host hears of the student before pinning, so that the pin reaches a live client.
    expect(&host_out, "* 花子 joined");

    type_line(&mut host, "/pin 課題: p.12");
    type_line(&mut host, "/poll 次の授業は? | 月曜 | 火曜");
    expect(&student_out, "Pinned: 課題: p.12");
    expect(
        &student_out,
        "Poll 1: 次の授業は? 1) 月曜 2) 火曜 (answer with /vote N)",
    );

    type_line(&mut student, "/hand");
    // The relay tells the student where its hand is; the vote's note is printed at once.
    expect(&student_out, "Your hand is up (the teacher sees it).");
    type_line(&mut student, "/vote 2");
    expect(
        &student_out,
        "Sent: your vote for 2) 火曜 (another /vote changes it until the poll closes).",
    );
    let hands = wait_for_line(&host_out, |l| l.starts_with("Hands up: "));
    assert!(hands.starts_with("Hands up: 花子 ("), "{hands}");
    expect(
        &host_out,
        "Votes in poll 1 (1 voter): 1) 月曜: 0 2) 火曜: 1",
    );

    // The host's commands are the host's alone.
    type_line(&mut student, "/pin x");
    expect(
        &student_out,
        "Error: only the teacher may use /pin (join with --host-key to be the host).",
    );

    // The teacher's messages carry the badge; a quiet room refuses a student's broadcast.
    type_line(&mut host, "*/はい");
    expect(&student_out, "[teacher] 先生 → everyone: はい");
    type_line(&mut host, "/mode broadcast off");
    expect(
        &student_out,
        "Room: students may write to everyone: no; privately to each other: yes",
    );
    type_line(&mut student, "*/質問です");
    let refused = wait_for_line(&student_out, |l| l.starts_with("Not delivered: "));
    assert!(refused.contains("to everyone"), "{refused}");

    // Closing shows everyone the result, with a bar per option.
    // The teacher lowers the hand; the student sees it go down.
    type_line(&mut host, "/lower 花子");
    expect(&host_out, "Hands up: none");
    expect(&student_out, "Your hand is down.");
    type_line(&mut host, "/close");
    expect(&student_out, "Poll 1 results: 次の授業は? (1 vote)");
    expect(
        &student_out,
        &format!("    1) {}   0  月曜", "░".repeat(20)),
    );
    expect(
        &student_out,
        &format!("    2) {}   1  火曜", "█".repeat(20)),
    );
}
