//! Saturated routing on `/ws_multi_client_dict`: every client writes `--route-flood-messages`
//! `id/text` messages, each to a randomly chosen other client, as fast as its socket takes them
//! (no window).
//!
//! A text is `from:seq:to:stamp`; the server delivers it bare. The receiver checks that it was
//! meant for it (else *misrouted*) and that the sender's numbers rise (else *out of order*).
//! What has not arrived when nothing moves for 3 s (or at the drain deadline) is *lost* if the
//! server ended the recipient's connection, and *late* otherwise.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{Duration, Instant};

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

use crate::metrics::{CpuSample, CpuUse, Histogram, RssPeak, fmt_rate, round2, round3};
use crate::{Args, DIRECT_PATH, Target, Ws};

/// No progress for this long ends the drain.
const STALL: Duration = Duration::from_secs(3);
/// Longest wait for the last messages after sending stopped.
const DRAIN: Duration = Duration::from_secs(20);
/// A sender flushes after this many messages.
const FLUSH_EVERY: usize = 32;

struct Shared {
    base: Instant,
    n: usize,
    /// Per receiver and sender: the highest sequence number received plus one.
    last: Vec<Cell<u32>>,
    /// Per receiver: messages received for it, in order.
    received: Vec<Cell<u64>>,
    /// Per receiver: messages sent to it.
    addressed: Vec<Cell<u64>>,
    /// Per receiver: whether (and how) the server ended its connection.
    ended: Vec<Cell<bool>>,
    first_end: RefCell<Option<String>>,
    total: Cell<u64>,
    misrouted: Cell<u64>,
    out_of_order: Cell<u64>,
    unexpected: Cell<u64>,
    latency: RefCell<Histogram>,
    last_receive: Cell<Option<Instant>>,
}

async fn receiver(mut stream: SplitStream<Ws>, me: usize, shared: Rc<Shared>) {
    let how = loop {
        let text = match stream.next().await {
            Some(Ok(Message::Text(t))) => t,
            Some(Ok(Message::Close(frame))) => {
                break frame.map_or("close without a code".to_owned(), |f| {
                    format!("close {} {}", u16::from(f.code), f.reason)
                });
            }
            Some(Ok(_)) => continue,
            Some(Err(e)) => break format!("error: {e}"),
            None => break "end of stream".to_owned(),
        };
        let now = Instant::now();
        let mut parts = text.as_str().splitn(4, ':');
        let parsed = (|| {
            let from: usize = parts.next()?.parse().ok()?;
            let seq: u32 = parts.next()?.parse().ok()?;
            let to: usize = parts.next()?.parse().ok()?;
            let stamp: u64 = parts.next()?.parse().ok()?;
            (from < shared.n).then_some((from, seq, to, stamp))
        })();
        let Some((from, seq, to, stamp)) = parsed else {
            shared.unexpected.set(shared.unexpected.get() + 1);
            continue;
        };
        if to != me {
            shared.misrouted.set(shared.misrouted.get() + 1);
            continue;
        }
        let latency = crate::stamp(shared.base).saturating_sub(stamp);
        shared.latency.borrow_mut().record(latency);
        shared.last_receive.set(Some(now));
        let last = &shared.last[me * shared.n + from];
        if seq < last.get() {
            shared.out_of_order.set(shared.out_of_order.get() + 1);
            continue;
        }
        last.set(seq + 1);
        shared.received[me].set(shared.received[me].get() + 1);
        shared.total.set(shared.total.get() + 1);
    };
    shared.ended[me].set(true);
    shared.first_end.borrow_mut().get_or_insert(how);
}

/// A small xorshift generator: the choice of recipients only has to be spread out.
fn next_random(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[allow(clippy::too_many_arguments)]
async fn sender(
    mut sink: SplitSink<Ws, Message>,
    me: usize,
    ids: Rc<Vec<String>>,
    shared: Rc<Shared>,
    max: usize,
    until: Instant,
    count: Rc<Cell<u64>>,
) {
    let n = ids.len();
    let mut state = 0x9E37_79B9_7F4A_7C15_u64 ^ (me as u64 + 1).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    let sending = async {
        for seq in 0..max {
            // Any client but this one.
            let to = (me + 1 + (next_random(&mut state) % (n as u64 - 1)) as usize) % n;
            let stamp = crate::stamp(shared.base);
            let text = format!("{}/{me}:{seq}:{to}:{stamp}", ids[to]);
            sink.feed(Message::text(text)).await?;
            shared.addressed[to].set(shared.addressed[to].get() + 1);
            count.set(count.get() + 1);
            if seq % FLUSH_EVERY == FLUSH_EVERY - 1 {
                sink.flush().await?;
            }
        }
        sink.flush().await?;
        anyhow::Ok(())
    };
    tokio::time::timeout_at(until.into(), sending).await.ok();
    // Keep the connection open until the run ends: the sink is dropped with the task.
    std::future::pending::<()>().await;
}

/// The route-flood scenario.
pub async fn scenario(args: &Args, target: &Target, rss: &RssPeak) -> anyhow::Result<()> {
    let label = &args.label;
    let t_connect = Instant::now();
    let (clients, failed, first_error) = crate::connect_many(
        target,
        DIRECT_PATH,
        args.clients,
        args.connect_concurrency,
        crate::read_welcome,
    )
    .await;
    let n = clients.len();
    println!(
        "[{label}] route-flood: {n} of {} clients connected and got their ID in {:.2} s{}",
        args.clients,
        t_connect.elapsed().as_secs_f64(),
        first_error.map_or(String::new(), |e| format!(" ({failed} failed: {e})"))
    );
    anyhow::ensure!(n >= 2, "too few clients connected");
    let shared = Rc::new(Shared {
        base: Instant::now(),
        n,
        last: (0..n * n).map(|_| Cell::new(0)).collect(),
        received: (0..n).map(|_| Cell::new(0)).collect(),
        addressed: (0..n).map(|_| Cell::new(0)).collect(),
        ended: (0..n).map(|_| Cell::new(false)).collect(),
        first_end: RefCell::default(),
        total: Cell::new(0),
        misrouted: Cell::new(0),
        out_of_order: Cell::new(0),
        unexpected: Cell::new(0),
        latency: RefCell::default(),
        last_receive: Cell::new(None),
    });
    let ids: Rc<Vec<String>> = Rc::new(clients.iter().map(|(_, id)| id.clone()).collect());
    let mut sinks = Vec::with_capacity(n);
    let mut tasks = Vec::with_capacity(2 * n);
    for (i, (ws, _)) in clients.into_iter().enumerate() {
        let (tx, rx) = ws.split();
        sinks.push(tx);
        tasks.push(tokio::task::spawn_local(receiver(
            rx,
            i,
            Rc::clone(&shared),
        )));
    }
    let max = args.route_flood_messages;

    rss.reset();
    let before = CpuSample::now(args.server_pid);
    let start = Instant::now();
    let until = start + Duration::from_secs_f64(args.flood_secs.max(0.1));
    let counts: Vec<Rc<Cell<u64>>> = (0..n).map(|_| Rc::new(Cell::new(0))).collect();
    for (i, sink) in sinks.into_iter().enumerate() {
        tasks.push(tokio::task::spawn_local(sender(
            sink,
            i,
            Rc::clone(&ids),
            Rc::clone(&shared),
            max,
            until,
            Rc::clone(&counts[i]),
        )));
    }
    let sent_total = || counts.iter().map(|c| c.get()).sum::<u64>();
    let mut send_end = None;
    let mut last_progress = (0, Instant::now());
    let mut note = None;
    loop {
        tokio::time::sleep(Duration::from_millis(10)).await;
        let now = Instant::now();
        let sent = sent_total();
        if send_end.is_none() && (sent >= (max * n) as u64 || now >= until) {
            send_end = Some(now);
        }
        let accounted = shared.total.get() + shared.misrouted.get() + shared.out_of_order.get();
        if send_end.is_some() && accounted >= sent {
            break;
        }
        if accounted != last_progress.0 {
            last_progress = (accounted, now);
        } else if now.duration_since(last_progress.1) > STALL {
            note = Some("no progress for 3 s");
            break;
        }
        if send_end.is_some_and(|e| now >= e + DRAIN) {
            note = Some("drain deadline (20 s) reached");
            break;
        }
    }
    let after = CpuSample::now(args.server_pid);
    let peak = rss.peak();
    let sent = sent_total();
    for task in &tasks {
        task.abort();
    }
    let routed = shared.total.get();
    let mut lost = 0u64;
    let mut late = 0u64;
    let mut cut = 0usize;
    for i in 0..n {
        let missing = shared.addressed[i]
            .get()
            .saturating_sub(shared.received[i].get());
        if shared.ended[i].get() {
            cut += 1;
            lost += missing;
        } else {
            late += missing;
        }
    }
    let active_s = shared
        .last_receive
        .get()
        .map_or(0.0, |t| t.saturating_duration_since(start).as_secs_f64());
    let rate = if active_s > 0.0 {
        routed as f64 / active_s
    } else {
        0.0
    };
    let send_s = send_end.map_or(0.0, |e| e.saturating_duration_since(start).as_secs_f64());
    let cpu = CpuUse::between(&before, &after);
    let latency = shared.latency.borrow();
    let first_end = shared.first_end.borrow().clone();
    println!(
        "[{label}] route-flood: {n} clients, {sent} of {} msgs sent to random others in {send_s:.2} s, no window; {routed} routed in {active_s:.2} s = {}msgs/s; lost {lost} (on {cut} connections the server ended{}), late {late}, misrouted {}, out of order {}{}",
        max * n,
        fmt_rate(rate),
        first_end
            .as_ref()
            .map_or(String::new(), |h| format!(", first: {h}")),
        shared.misrouted.get(),
        shared.out_of_order.get(),
        note.map_or(String::new(), |n| format!("; {n}")),
    );
    println!(
        "[{label}] route-flood: latency {}; {}; server peak RSS {}",
        latency.line(),
        cpu.line(routed, "message"),
        peak.map_or("n/a".to_owned(), |k| format!(
            "{:.1} MiB",
            k as f64 / 1024.0
        ))
    );
    let hwm = args
        .server_pid
        .and_then(|pid| crate::metrics::status_kib(pid, "VmHWM"));
    crate::result_line(&json!({
        "label": label,
        "scenario": "route-flood",
        "server_vmhwm_kib": hwm,
        "route_flood": {
            "clients": n,
            "messages_per_client": max,
            "sent": sent,
            "send_secs": round3(send_s),
            "routed": routed,
            "lost": lost,
            "late": late,
            "receivers_cut": cut,
            "first_cut": first_end,
            "misrouted": shared.misrouted.get(),
            "out_of_order": shared.out_of_order.get(),
            "unexpected_texts": shared.unexpected.get(),
            "drain_note": note,
            "secs": round3(active_s),
            "routed_per_sec": round2(rate),
            "latency_us": latency.summary_us(),
            "cpu": cpu.json(routed),
            "server_peak_rss_kib": peak,
        },
    }));
    Ok(())
}
