//! Churn: hundreds of clients join and leave at random while they chat, some in the seed's plain
//! text on both paths and some in `classchat.v1`. Nothing may be lost, duplicated, reordered or
//! misdelivered, and once everyone has left the relay must hold nothing for them.
//!
//! Run: `cargo test --test churn -- --nocapture` (about 15 s of churn). The long form, with a
//! memory line every 10 s: `CLASSCHAT_CHURN_SECS=600 cargo test --release --test churn --
//! --nocapture`. `CLASSCHAT_CHURN_SEED=<n>` replays the random choices of an earlier run (the
//! seed is printed); timing on a loaded machine still varies.
//!
//! The rule checked, for every message: it must reach, exactly once and in its sender's order,
//! every intended recipient that was connected for the whole of its send. A client counts as
//! connected from the moment it knew it had joined (its welcome, greeting or first echo) until
//! it sent a *barrier*, a message to itself whose return proves that everything queued for it
//! earlier has arrived. A send lasts from the moment it was written until the sender saw the
//! relay accept it (its own copy, the seed's broadcast echo, or, for a seed client on the
//! addressed path, a message to itself sent right after it). Messages outside those windows may
//! or may not arrive, but if they do it is once, in order and only to a client they were for.
// Helpers outside #[test] functions unwrap too: a failed setup should fail the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod churn_suite;
mod common;

use std::io::{Read as _, Write as _};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use churn_suite::{Progress, Settings, Target, churn, print_figures};
use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn churn_delivers_exactly_once_in_order_and_leaves_nothing_behind() {
    let settings = Settings::from_env();
    println!("in-process relay: seed {}", settings.seed);
    let relay = start_relay(config()).await;
    let baseline = relay.tasks();
    let outcome = churn(
        &Target::relay(relay.local_addr()),
        &settings,
        Arc::default(),
    )
    .await;
    let figures = outcome.check(settings.seed);
    print_figures("in-process relay", settings.seed, &outcome, &figures);
    assert!(
        figures.owed > 0,
        "the rule never applied: nothing was checked"
    );

    eventually("every client is gone from the relay", || {
        relay.clients().is_empty()
    })
    .await;
    eventually("every connection task has ended", || {
        relay.tasks() == baseline
    })
    .await;
    let stats = relay.stats();
    println!("in-process relay: {stats}");
    assert_eq!(stats.clients, 0);
    assert_eq!(
        stats.dropped_slow, 0,
        "nobody was slow enough to be cut off"
    );
    assert_eq!(stats.connections as usize, figures.clients);
}

// --- Memory, with the relay as its own process ------------------------------------------------

/// Starts `classchat serve` with no rate limit and `/metrics`; returns it and its address.
fn serve_relay() -> (Running, SocketAddr, std::sync::mpsc::Receiver<String>) {
    let (relay, url, out) = serve(&["--rate", "0", "--metrics", "--summary-secs", "0"]);
    let addr = served_addr(&url);
    (relay, addr, out)
}

/// VmRSS and VmHWM of a process, in KiB.
fn memory(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// File descriptors the process has open: a leaked socket shows here.
fn open_files(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, Iterator::count)
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

/// The relay's `classchat_clients` gauge, read from `/metrics`.
fn clients_gauge(addr: SocketAddr) -> Option<u64> {
    let mut stream = std::net::TcpStream::connect(addr).ok()?;
    stream.set_read_timeout(Some(PATIENCE)).ok()?;
    write!(
        stream,
        "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    response
        .lines()
        .find_map(|l| l.strip_prefix("classchat_clients "))
        .and_then(|v| v.trim().parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn churn_against_classchat_serve_reports_its_memory() {
    /// A leak bigger than this over a run is not noise.
    const SLACK_MIB: u64 = 64;
    let settings = Settings::from_env();
    println!("classchat serve: seed {}", settings.seed);
    // The output is kept, so that the relay never blocks on a full pipe.
    let (relay, addr, _out) = serve_relay();
    let pid = relay.0.id();
    let (start_rss, _) = memory(pid);
    let start_files = open_files(pid);
    println!("memory: start RSS {}", mib(start_rss));

    let progress = Arc::new(Progress::default());
    let sampler_progress = Arc::clone(&progress);
    let sampler = tokio::spawn(async move {
        use std::sync::atomic::Ordering::Relaxed;
        let began = Instant::now();
        let mut peak = 0;
        let mut last_line = Instant::now();
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        loop {
            tick.tick().await;
            let (rss, hwm) = memory(pid);
            peak = peak.max(rss);
            if last_line.elapsed() >= Duration::from_secs(10) {
                last_line = Instant::now();
                println!(
                    "memory: {:>4.0} s  RSS {:>9}  HWM {:>9}  open files {:>4}  clients now {:>3}, \
                     so far {}",
                    began.elapsed().as_secs_f64(),
                    mib(rss),
                    mib(hwm),
                    open_files(pid),
                    sampler_progress.live.load(Relaxed),
                    sampler_progress.started.load(Relaxed)
                );
            }
            if sampler_progress.started.load(Relaxed) > 0
                && sampler_progress.live.load(Relaxed) == 0
            {
                return peak;
            }
        }
    });

    let outcome = churn(&Target::relay(addr), &settings, Arc::clone(&progress)).await;
    let peak_rss = sampler.await.unwrap();
    let figures = outcome.check(settings.seed);
    print_figures("classchat serve", settings.seed, &outcome, &figures);

    let deadline = Instant::now() + PATIENCE;
    while clients_gauge(addr) != Some(0) {
        assert!(
            Instant::now() < deadline,
            "the relay still counts clients: {:?}",
            clients_gauge(addr)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Every socket is closed again: the subprocess's counterpart of `tasks()`.
    while open_files(pid) > start_files {
        assert!(
            Instant::now() < deadline + PATIENCE,
            "the relay keeps {} files open, {start_files} at the start",
            open_files(pid)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (end_rss, hwm) = memory(pid);
    println!(
        "memory: start RSS {}, peak RSS {} (HWM {}), after everyone left {}; open files {} at \
         the start, {} at the end",
        mib(start_rss),
        mib(peak_rss),
        mib(hwm),
        mib(end_rss),
        start_files,
        open_files(pid)
    );
    assert!(
        end_rss < start_rss + SLACK_MIB * 1024,
        "the relay kept {} after everyone left (started at {})",
        mib(end_rss),
        mib(start_rss)
    );
}
