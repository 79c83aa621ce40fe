//! Broadcast on `/ws_multi_client`: one client sends, every client (sender included) receives.
//!
//! A message's text is `phase:seq:stamp[:filler]`; the server sends it back to everyone with the
//! seed's prefix. Receivers check the order, count what arrived and record the latency. Two
//! measured phases: *saturated* (as fast as the server takes it, at most `window` messages not
//! yet received by everyone) and *paced* (`rate` messages per second, open loop).

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::Message;

use crate::metrics::{CpuSample, CpuUse, Histogram, RssPeak, fmt_rate, fmt_us, round2, round3};
use crate::{Args, BROADCAST_PATH, BROADCAST_PREFIX, Target, Ws};

/// No progress for this long ends a phase (plus the stall timeout with non-reading clients);
/// what is missing counts as lost.
const STALL: Duration = Duration::from_secs(3);
/// Longest wait for the last messages after sending stopped.
const DRAIN: Duration = Duration::from_secs(20);
/// Receive buffer asked for on the clients that never read.
const SLOW_RECV_BUFFER: u32 = 4096;

const WARMUP: usize = 0;
const SATURATED: usize = 1;
const PACED: usize = 2;

/// One phase's tallies, updated by every receiver.
struct Phase {
    latency: RefCell<Histogram>,
    /// Deliveries in order.
    received: Cell<u64>,
    /// Deliveries with a sequence number not above the previous one.
    out_of_order: Cell<u64>,
    /// How many receivers got each message.
    done: Vec<Cell<u32>>,
    last_receive: Cell<Option<Instant>>,
}

impl Phase {
    fn new(capacity: usize) -> Self {
        Self {
            latency: RefCell::default(),
            received: Cell::new(0),
            out_of_order: Cell::new(0),
            done: (0..capacity).map(|_| Cell::new(0)).collect(),
            last_receive: Cell::new(None),
        }
    }
}

struct Shared {
    base: Instant,
    receivers: usize,
    phases: [Phase; 3],
    /// Receivers whose connection ended.
    gone: Cell<usize>,
    /// Receivers that have seen a warm-up message.
    warmed: Cell<usize>,
    /// Texts that did not look like ours.
    unexpected: Cell<u64>,
    /// Woken when a message has reached every receiver, or a receiver is gone.
    progress: Notify,
}

impl Shared {
    fn complete(&self, phase: usize, seq: usize) -> bool {
        self.phases[phase].done[seq].get() as usize + self.gone.get() >= self.receivers
    }
}

async fn receiver(mut stream: SplitStream<Ws>, shared: Rc<Shared>) {
    let mut last: [Option<usize>; 3] = [None; 3];
    let mut warmed = false;
    while let Some(frame) = stream.next().await {
        let text = match frame {
            Ok(Message::Text(t)) => t,
            Ok(Message::Close(_)) | Err(_) => break,
            Ok(_) => continue,
        };
        let now = Instant::now();
        let Some((phase, seq, sent)) = parse(text.as_str()) else {
            shared.unexpected.set(shared.unexpected.get() + 1);
            continue;
        };
        if phase == WARMUP {
            if !warmed {
                warmed = true;
                shared.warmed.set(shared.warmed.get() + 1);
                shared.progress.notify_one();
            }
            continue;
        }
        let p = &shared.phases[phase];
        let latency = u64::try_from(now.duration_since(shared.base).as_nanos())
            .unwrap_or(u64::MAX)
            .saturating_sub(sent);
        p.latency.borrow_mut().record(latency);
        p.last_receive.set(Some(now));
        if last[phase].is_some_and(|l| seq <= l) || seq >= p.done.len() {
            p.out_of_order.set(p.out_of_order.get() + 1);
            continue;
        }
        last[phase] = Some(seq);
        p.received.set(p.received.get() + 1);
        let done = &p.done[seq];
        done.set(done.get() + 1);
        if shared.complete(phase, seq) {
            shared.progress.notify_one();
        }
    }
    shared.gone.set(shared.gone.get() + 1);
    shared.progress.notify_one();
}

/// `PREFIX phase:seq:stamp[:filler]` → (phase, seq, stamp).
fn parse(text: &str) -> Option<(usize, usize, u64)> {
    let body = text.strip_prefix(BROADCAST_PREFIX)?;
    let mut parts = body.splitn(4, ':');
    let phase: usize = parts.next()?.parse().ok()?;
    let seq: usize = parts.next()?.parse().ok()?;
    let stamp: u64 = parts.next()?.parse().ok()?;
    (phase <= PACED).then_some((phase, seq, stamp))
}

fn text(base: Instant, phase: usize, seq: usize, filler: &str) -> Message {
    let stamp = crate::stamp(base);
    if filler.is_empty() {
        Message::text(format!("{phase}:{seq}:{stamp}"))
    } else {
        Message::text(format!("{phase}:{seq}:{stamp}:{filler}"))
    }
}

/// Bytes the kernel holds in the server's send queues towards the given client ports, read
/// from `/proc/net/tcp` (IPv4 loopback).
fn server_send_queue(server_port: u16, client_ports: &[u16]) -> u64 {
    let Ok(table) = std::fs::read_to_string("/proc/net/tcp") else {
        return 0;
    };
    let port_of = |field: &str| {
        field
            .rsplit(':')
            .next()
            .and_then(|p| u16::from_str_radix(p, 16).ok())
    };
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let local = port_of(fields.nth(1)?)?;
            let remote = port_of(fields.next()?)?;
            let queues = fields.nth(1)?;
            (local == server_port && client_ports.contains(&remote))
                .then(|| u64::from_str_radix(queues.split(':').next()?, 16).ok())
                .flatten()
        })
        .sum()
}

/// Samples [`server_send_queue`] every second and keeps the peak, until the handle is dropped.
/// Reading `/proc/net/tcp` with thousands of sockets costs this process (and the kernel)
/// noticeable CPU, so it is sampled seldom, and in both runs of the slow scenario alike.
fn sample_send_queue(server_port: u16, client_ports: Vec<u16>) -> Rc<Cell<u64>> {
    let peak = Rc::new(Cell::new(0));
    let weak = Rc::downgrade(&peak);
    tokio::task::spawn_local(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            let Some(peak) = weak.upgrade() else { break };
            let now = server_send_queue(server_port, &client_ports);
            peak.set(peak.get().max(now));
        }
    });
    peak
}

/// Sizes of one broadcast run.
pub struct Plan {
    pub clients: usize,
    pub max_messages: usize,
    pub secs: f64,
    pub window: usize,
    pub rate: f64,
    pub paced_secs: f64,
    pub payload: usize,
    pub slow_clients: usize,
    /// Watch the server's send queues towards the slow clients (the slow scenario's runs).
    pub sample_send_queue: bool,
    /// No progress for this long ends a phase. With clients that never read, a server that
    /// pauses senders instead of dropping may hold everyone back for its stall timeout first.
    pub patience: Duration,
}

/// What a phase measured.
pub struct PhaseReport {
    pub json: Value,
    pub p99_ns: u64,
    pub lost: u64,
}

/// What a broadcast run measured.
pub struct RunReport {
    pub saturated: PhaseReport,
    pub paced: PhaseReport,
    pub slow_disconnected: Option<usize>,
    pub json: Value,
}

/// Connects, warms up, runs both phases and reports.
pub async fn run(
    args: &Args,
    target: &Target,
    rss: &RssPeak,
    plan: &Plan,
    name: &str,
) -> anyhow::Result<RunReport> {
    let label = &args.label;
    let t_connect = Instant::now();
    let (clients, failed, first_error) = crate::connect_many(
        target,
        BROADCAST_PATH,
        plan.clients,
        args.connect_concurrency,
        |ws| async move { Ok(ws) },
    )
    .await;
    println!(
        "[{label}] {name}: {} of {} clients connected in {:.2} s{}",
        clients.len(),
        plan.clients,
        t_connect.elapsed().as_secs_f64(),
        first_error.map_or(String::new(), |e| format!(" ({failed} failed: {e})"))
    );
    if clients.is_empty() {
        anyhow::bail!("no client could connect");
    }
    let mut slow = Vec::with_capacity(plan.slow_clients);
    for _ in 0..plan.slow_clients {
        let ws = tokio::time::timeout(
            Duration::from_secs(10),
            crate::connect(target, BROADCAST_PATH, Some(SLOW_RECV_BUFFER)),
        )
        .await
        .context("slow client connect timed out")??;
        slow.push(ws);
    }
    let slow_ports: Vec<u16> = slow
        .iter()
        .filter_map(|ws| ws.get_ref().local_addr().ok())
        .map(|a| a.port())
        .collect();
    let send_queue_peak = plan
        .sample_send_queue
        .then(|| sample_send_queue(target.addr.port(), slow_ports));

    let capacity = plan
        .max_messages
        .max((plan.rate * plan.paced_secs).ceil() as usize)
        + 1;
    let shared = Rc::new(Shared {
        base: Instant::now(),
        receivers: clients.len(),
        phases: [Phase::new(64), Phase::new(capacity), Phase::new(capacity)],
        gone: Cell::new(0),
        warmed: Cell::new(0),
        unexpected: Cell::new(0),
        progress: Notify::new(),
    });
    let mut sink = None;
    let mut tasks = Vec::with_capacity(clients.len());
    for ws in clients {
        let (tx, rx) = ws.split();
        sink.get_or_insert(tx);
        tasks.push(tokio::task::spawn_local(receiver(rx, Rc::clone(&shared))));
    }
    let mut sink = sink.context("no sender")?;
    let filler = crate::filler(plan.payload);

    // Warm up until every receiver is known to be registered.
    let warm_start = Instant::now();
    let mut warm_seq = 0;
    while shared.warmed.get() + shared.gone.get() < shared.receivers
        && warm_start.elapsed() < Duration::from_secs(15)
        && warm_seq < 60
    {
        sink.send(text(shared.base, WARMUP, warm_seq, "")).await?;
        warm_seq += 1;
        tokio::time::timeout(Duration::from_millis(250), async {
            while shared.warmed.get() + shared.gone.get() < shared.receivers {
                shared.progress.notified().await;
            }
        })
        .await
        .ok();
    }
    println!(
        "[{label}] {name}: warm-up: {} of {} receivers reached",
        shared.warmed.get(),
        shared.receivers
    );
    // Let the warm-up deliveries drain.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let saturated = saturated_phase(args, rss, plan, &shared, &mut sink, &filler, name).await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let paced = paced_phase(args, rss, plan, &shared, &mut sink, &filler, name).await?;

    let slow_queue_peak = send_queue_peak.map(|p| p.get());
    if let Some(bytes) = slow_queue_peak.filter(|_| !slow.is_empty()) {
        println!(
            "[{label}] {name}: the kernel held at most {:.2} MiB in the server's send queues to the {} non-reading clients",
            bytes as f64 / 1_048_576.0,
            plan.slow_clients
        );
    }
    let slow_disconnected = if slow.is_empty() {
        None
    } else {
        let mut count = 0;
        for ws in slow {
            if was_disconnected(ws).await {
                count += 1;
            }
        }
        println!(
            "[{label}] {name}: {count} of {} non-reading clients had been disconnected by the server",
            plan.slow_clients
        );
        Some(count)
    };
    drop(sink);
    for task in &tasks {
        task.abort();
    }
    let json = json!({
        "clients": shared.receivers,
        "slow_clients": plan.slow_clients,
        "payload_bytes": plan.payload,
        "window": plan.window,
        "saturated": saturated.json,
        "paced": paced.json,
        "slow_disconnected": slow_disconnected,
        "slow_server_send_queue_peak_bytes": slow_queue_peak,
        "unexpected_texts": shared.unexpected.get(),
        "receivers_gone": shared.gone.get(),
    });
    Ok(RunReport {
        saturated,
        paced,
        slow_disconnected,
        json,
    })
}

#[allow(clippy::too_many_arguments)]
async fn saturated_phase(
    args: &Args,
    rss: &RssPeak,
    plan: &Plan,
    shared: &Shared,
    sink: &mut SplitSink<Ws, Message>,
    filler: &str,
    name: &str,
) -> anyhow::Result<PhaseReport> {
    let phase = &shared.phases[SATURATED];
    let max = phase.done.len() - 1;
    rss.reset();
    let before = CpuSample::now(args.server_pid);
    let start = Instant::now();
    let send_until = start + Duration::from_secs_f64(plan.secs);
    let mut sent = 0;
    let mut complete = 0;
    let mut stalled = false;
    loop {
        while complete < sent && shared.complete(SATURATED, complete) {
            complete += 1;
        }
        if sent >= max || Instant::now() >= send_until {
            break;
        }
        let room = plan.window.saturating_sub(sent - complete).min(max - sent);
        if room > 0 {
            for _ in 0..room {
                sink.feed(text(shared.base, SATURATED, sent, filler))
                    .await?;
                sent += 1;
            }
            sink.flush().await?;
        } else if tokio::time::timeout(plan.patience, shared.progress.notified())
            .await
            .is_err()
        {
            stalled = true;
            break;
        }
    }
    let send_end = Instant::now();
    let drain_until = send_end + DRAIN;
    while complete < sent && !stalled && Instant::now() < drain_until {
        if shared.complete(SATURATED, complete) {
            complete += 1;
        } else if tokio::time::timeout(plan.patience, shared.progress.notified())
            .await
            .is_err()
        {
            stalled = true;
        }
    }
    let after = CpuSample::now(args.server_pid);
    let peak = rss.peak();
    report(
        args,
        shared,
        SATURATED,
        name,
        "saturated",
        start,
        sent,
        stalled,
        &before,
        &after,
        peak,
        json!({ "send_secs": round3(send_end.duration_since(start).as_secs_f64()) }),
    )
}

#[allow(clippy::too_many_arguments)]
async fn paced_phase(
    args: &Args,
    rss: &RssPeak,
    plan: &Plan,
    shared: &Shared,
    sink: &mut SplitSink<Ws, Message>,
    filler: &str,
    name: &str,
) -> anyhow::Result<PhaseReport> {
    let phase = &shared.phases[PACED];
    let count = ((plan.rate * plan.paced_secs).round() as usize).min(phase.done.len() - 1);
    let interval = Duration::from_secs_f64(1.0 / plan.rate.max(0.001));
    rss.reset();
    let before = CpuSample::now(args.server_pid);
    let start = Instant::now();
    for seq in 0..count {
        let due = start + interval.mul_f64(seq as f64);
        tokio::time::sleep_until(due.into()).await;
        sink.send(text(shared.base, PACED, seq, filler)).await?;
    }
    let drain_until = Instant::now() + DRAIN;
    let mut complete = 0;
    let mut stalled = false;
    while complete < count && Instant::now() < drain_until {
        if shared.complete(PACED, complete) {
            complete += 1;
        } else if tokio::time::timeout(plan.patience, shared.progress.notified())
            .await
            .is_err()
        {
            stalled = true;
            break;
        }
    }
    let after = CpuSample::now(args.server_pid);
    let peak = rss.peak();
    report(
        args,
        shared,
        PACED,
        name,
        "paced",
        start,
        count,
        stalled,
        &before,
        &after,
        peak,
        json!({ "rate_msgs_per_sec": plan.rate }),
    )
}

#[allow(clippy::too_many_arguments)]
fn report(
    args: &Args,
    shared: &Shared,
    index: usize,
    name: &str,
    phase_name: &str,
    start: Instant,
    sent: usize,
    stalled: bool,
    before: &CpuSample,
    after: &CpuSample,
    peak_rss_kib: Option<u64>,
    extra: Value,
) -> anyhow::Result<PhaseReport> {
    let phase = &shared.phases[index];
    let received = phase.received.get();
    let expected = sent as u64 * shared.receivers as u64;
    let lost = expected.saturating_sub(received);
    let active_s = phase
        .last_receive
        .get()
        .map_or(0.0, |t| t.saturating_duration_since(start).as_secs_f64());
    let rate = if active_s > 0.0 {
        received as f64 / active_s
    } else {
        0.0
    };
    let cpu = CpuUse::between(before, after);
    let latency = phase.latency.borrow();
    println!(
        "[{}] {name} {phase_name}: {sent} msgs x {} receivers: {received} deliveries in {:.2} s = {}deliveries/s; latency {}; lost {lost}{}",
        args.label,
        shared.receivers,
        active_s,
        fmt_rate(rate),
        latency.line(),
        if stalled { " (stalled)" } else { "" }
    );
    println!(
        "[{}] {name} {phase_name}: {}; server peak RSS {}",
        args.label,
        cpu.line(received, "delivery"),
        peak_rss_kib.map_or("n/a".to_owned(), |k| format!(
            "{:.1} MiB",
            k as f64 / 1024.0
        ))
    );
    let json = json!({
        "messages_sent": sent,
        "deliveries": received,
        "expected": expected,
        "lost": lost,
        "out_of_order": phase.out_of_order.get(),
        "stalled": stalled,
        "secs": round3(active_s),
        "deliveries_per_sec": round2(rate),
        "latency_us": latency.summary_us(),
        "cpu": cpu.json(received),
        "server_peak_rss_kib": peak_rss_kib,
        "extra": extra,
    });
    Ok(PhaseReport {
        json,
        p99_ns: latency.quantile(0.99),
        lost,
    })
}

/// Reads what a non-reading client was sent, to learn whether the server closed it: a close
/// frame, end of stream or reset means yes; data still flowing after a quiet second means no.
async fn was_disconnected(mut ws: Ws) -> bool {
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        let left = until.saturating_duration_since(Instant::now());
        let wait = left.min(Duration::from_secs(1));
        if wait.is_zero() {
            return false;
        }
        match tokio::time::timeout(wait, ws.next()).await {
            Ok(Some(Ok(Message::Close(_)))) | Ok(None) | Ok(Some(Err(_))) => return true,
            Ok(Some(Ok(_))) => {}
            Err(_) => return false,
        }
    }
}

fn plan(args: &Args, slow_clients: usize, payload: usize, sample_send_queue: bool) -> Plan {
    Plan {
        clients: args.clients,
        max_messages: args.messages,
        secs: args.secs,
        window: args.window.max(1),
        rate: args.rate,
        paced_secs: args.paced_secs,
        payload,
        slow_clients,
        sample_send_queue,
        patience: if slow_clients > 0 {
            STALL + Duration::from_secs_f64(args.stall_secs.max(0.0))
        } else {
            STALL
        },
    }
}

/// The broadcast scenario.
pub async fn scenario(args: &Args, target: &Target, rss: &RssPeak) -> anyhow::Result<()> {
    let run = run(
        args,
        target,
        rss,
        &plan(args, 0, args.payload, false),
        "broadcast",
    )
    .await?;
    crate::result_line(&json!({
        "label": args.label,
        "scenario": "broadcast",
        "broadcast": run.json,
    }));
    Ok(())
}

/// The slow-client scenario: the same broadcast without and with clients that never read.
pub async fn slow_scenario(args: &Args, target: &Target, rss: &RssPeak) -> anyhow::Result<()> {
    let label = &args.label;
    let baseline = run(
        args,
        target,
        rss,
        &plan(args, 0, args.slow_payload, true),
        "slow/baseline",
    )
    .await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let loaded = run(
        args,
        target,
        rss,
        &plan(args, args.slow_clients, args.slow_payload, true),
        "slow/with-slow",
    )
    .await?;
    let change = |a: u64, b: u64| {
        if a == 0 {
            None
        } else {
            Some(round2((b as f64 - a as f64) / a as f64 * 100.0))
        }
    };
    let sat_change = change(baseline.saturated.p99_ns, loaded.saturated.p99_ns);
    let paced_change = change(baseline.paced.p99_ns, loaded.paced.p99_ns);
    let hwm = args
        .server_pid
        .and_then(|pid| crate::metrics::status_kib(pid, "VmHWM"));
    println!(
        "[{label}] slow: healthy p99 saturated {} -> {} ({}), paced {} -> {} ({}); lost {} -> {} / {} -> {}; {} of {} slow clients disconnected; server VmHWM {}",
        fmt_us(baseline.saturated.p99_ns),
        fmt_us(loaded.saturated.p99_ns),
        sat_change.map_or("n/a".to_owned(), |c| format!("{c:+.1} %")),
        fmt_us(baseline.paced.p99_ns),
        fmt_us(loaded.paced.p99_ns),
        paced_change.map_or("n/a".to_owned(), |c| format!("{c:+.1} %")),
        baseline.saturated.lost,
        loaded.saturated.lost,
        baseline.paced.lost,
        loaded.paced.lost,
        loaded.slow_disconnected.unwrap_or(0),
        args.slow_clients,
        hwm.map_or("n/a".to_owned(), |k| format!(
            "{:.1} MiB",
            k as f64 / 1024.0
        )),
    );
    crate::result_line(&json!({
        "label": label,
        "scenario": "slow",
        "slow_clients": args.slow_clients,
        "payload_bytes": args.slow_payload,
        "baseline": baseline.json,
        "with_slow": loaded.json,
        "p99_change_pct": { "saturated": sat_change, "paced": paced_change },
        "slow_disconnected": loaded.slow_disconnected,
        "slow_server_send_queue_peak_bytes": loaded.json.get("slow_server_send_queue_peak_bytes"),
        "server_vmhwm_kib": hwm,
    }));
    Ok(())
}
