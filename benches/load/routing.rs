//! Routing on `/ws_multi_client_dict`: clients in pairs, each writing `peerID/from:seq:stamp`
//! to its partner, at most `route_window` messages in flight per client.
//!
//! The server delivers the part after the `/`; the receiver checks that it came from its
//! partner (else it is *misrouted*), that sequence numbers rise, and records the latency.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{Duration, Instant};

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::json;
use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::Message;

use crate::metrics::{CpuSample, CpuUse, Histogram, RssPeak, fmt_rate, round2, round3};
use crate::{Args, DIRECT_PATH, Target, Ws};

/// No progress for this long ends a sender or the drain; what is missing counts as lost.
const STALL: Duration = Duration::from_secs(3);
/// Longest wait for the last messages after sending stopped.
const DRAIN: Duration = Duration::from_secs(20);

struct Shared {
    base: Instant,
    /// Messages each client received from its partner, in order.
    received: Vec<Cell<u64>>,
    /// One per client: woken when its partner received something.
    wake: Vec<Notify>,
    latency: RefCell<Histogram>,
    total: Cell<u64>,
    misrouted: Cell<u64>,
    out_of_order: Cell<u64>,
    unexpected: Cell<u64>,
    gone: Cell<usize>,
    last_receive: Cell<Option<Instant>>,
}

fn partner(i: usize) -> usize {
    i ^ 1
}

async fn receiver(mut stream: SplitStream<Ws>, me: usize, shared: Rc<Shared>) {
    let mut last: Option<u64> = None;
    while let Some(frame) = stream.next().await {
        let text = match frame {
            Ok(Message::Text(t)) => t,
            Ok(Message::Close(_)) | Err(_) => break,
            Ok(_) => continue,
        };
        let now = Instant::now();
        let mut parts = text.as_str().splitn(4, ':');
        let parsed = (|| {
            let from: usize = parts.next()?.parse().ok()?;
            let seq: u64 = parts.next()?.parse().ok()?;
            let stamp: u64 = parts.next()?.parse().ok()?;
            Some((from, seq, stamp))
        })();
        let Some((from, seq, stamp)) = parsed else {
            shared.unexpected.set(shared.unexpected.get() + 1);
            continue;
        };
        if from != partner(me) {
            shared.misrouted.set(shared.misrouted.get() + 1);
            continue;
        }
        let latency = u64::try_from(now.duration_since(shared.base).as_nanos())
            .unwrap_or(u64::MAX)
            .saturating_sub(stamp);
        shared.latency.borrow_mut().record(latency);
        shared.last_receive.set(Some(now));
        if last.is_some_and(|l| seq <= l) {
            shared.out_of_order.set(shared.out_of_order.get() + 1);
            continue;
        }
        last = Some(seq);
        shared.received[me].set(shared.received[me].get() + 1);
        shared.total.set(shared.total.get() + 1);
        shared.wake[partner(me)].notify_one();
    }
    shared.gone.set(shared.gone.get() + 1);
    // The partner would wait in vain for this client to receive.
    shared.wake[partner(me)].notify_one();
}

/// Sends up to `max` messages to the partner, counting them in `count`, then keeps the
/// connection open until the task is aborted.
#[allow(clippy::too_many_arguments)]
async fn sender(
    mut sink: SplitSink<Ws, Message>,
    me: usize,
    peer_id: String,
    shared: Rc<Shared>,
    max: u64,
    window: u64,
    until: Instant,
    filler: Rc<str>,
    count: Rc<Cell<u64>>,
) {
    let mut sent = 0u64;
    let mut stalled = false;
    while sent < max && Instant::now() < until && !stalled {
        let acked = shared.received[partner(me)].get();
        let room = window
            .saturating_sub(sent - acked.min(sent))
            .min(max - sent);
        if room == 0 {
            stalled = tokio::time::timeout(STALL, shared.wake[me].notified())
                .await
                .is_err();
            continue;
        }
        for _ in 0..room {
            let stamp = crate::stamp(shared.base);
            let text = if filler.is_empty() {
                format!("{peer_id}/{me}:{sent}:{stamp}")
            } else {
                format!("{peer_id}/{me}:{sent}:{stamp}:{filler}")
            };
            if sink.feed(Message::text(text)).await.is_err() {
                stalled = true;
                break;
            }
            sent += 1;
            count.set(sent);
        }
        if sink.flush().await.is_err() {
            break;
        }
    }
    // Keep the connection open until the run ends: the sink is dropped with the task.
    std::future::pending::<()>().await;
}

/// The routing scenario.
pub async fn scenario(args: &Args, target: &Target, rss: &RssPeak) -> anyhow::Result<()> {
    let label = &args.label;
    let n = args.clients & !1;
    let t_connect = Instant::now();
    let (clients, failed, first_error) = crate::connect_many(
        target,
        DIRECT_PATH,
        n,
        args.connect_concurrency,
        crate::read_welcome,
    )
    .await;
    println!(
        "[{label}] routing: {} of {n} clients connected and got their ID in {:.2} s{}",
        clients.len(),
        t_connect.elapsed().as_secs_f64(),
        first_error.map_or(String::new(), |e| format!(" ({failed} failed: {e})"))
    );
    // Pairs need both halves: drop an odd one out.
    let n = clients.len() & !1;
    if n == 0 {
        anyhow::bail!("too few clients connected");
    }
    let shared = Rc::new(Shared {
        base: Instant::now(),
        received: (0..n).map(|_| Cell::new(0)).collect(),
        wake: (0..n).map(|_| Notify::new()).collect(),
        latency: RefCell::default(),
        total: Cell::new(0),
        misrouted: Cell::new(0),
        out_of_order: Cell::new(0),
        unexpected: Cell::new(0),
        gone: Cell::new(0),
        last_receive: Cell::new(None),
    });
    let ids: Vec<String> = clients.iter().take(n).map(|(_, id)| id.clone()).collect();
    let mut sinks = Vec::with_capacity(n);
    let mut readers = Vec::with_capacity(n);
    for (i, (ws, _)) in clients.into_iter().take(n).enumerate() {
        let (tx, rx) = ws.split();
        sinks.push(tx);
        readers.push(tokio::task::spawn_local(receiver(
            rx,
            i,
            Rc::clone(&shared),
        )));
    }
    let filler: Rc<str> = Rc::from(crate::filler(args.payload));
    let max = args.route_messages as u64;
    let window = args.route_window.max(1) as u64;

    rss.reset();
    let before = CpuSample::now(args.server_pid);
    let start = Instant::now();
    let until = start + Duration::from_secs_f64(args.secs);
    let sent_counts: Vec<Rc<Cell<u64>>> = (0..n).map(|_| Rc::new(Cell::new(0))).collect();
    let mut senders = Vec::with_capacity(n);
    for (i, sink) in sinks.into_iter().enumerate() {
        let shared = Rc::clone(&shared);
        let peer_id = ids[partner(i)].clone();
        let filler = Rc::clone(&filler);
        let count = Rc::clone(&sent_counts[i]);
        senders.push(tokio::task::spawn_local(sender(
            sink, i, peer_id, shared, max, window, until, filler, count,
        )));
    }
    // Wait until sending stopped and everything sent arrived, or nothing moves any more.
    let mut last_total = 0;
    let mut last_progress = Instant::now();
    let hard_end = until + DRAIN;
    loop {
        tokio::time::sleep(Duration::from_millis(5)).await;
        let sent: u64 = sent_counts.iter().map(|c| c.get()).sum();
        let total = shared.total.get();
        let now = Instant::now();
        if total != last_total {
            last_total = total;
            last_progress = now;
        }
        let sending_over = now >= until || sent_counts.iter().all(|c| c.get() >= max);
        if (sending_over && total + shared.misrouted.get() >= sent)
            || now.duration_since(last_progress) > STALL
            || now >= hard_end
        {
            break;
        }
    }
    let after = CpuSample::now(args.server_pid);
    let peak = rss.peak();
    let sent: u64 = sent_counts.iter().map(|c| c.get()).sum();
    for task in senders.iter().chain(readers.iter()) {
        task.abort();
    }
    let routed = shared.total.get();
    let lost = sent.saturating_sub(routed + shared.misrouted.get() + shared.out_of_order.get());
    let active_s = shared
        .last_receive
        .get()
        .map_or(0.0, |t| t.saturating_duration_since(start).as_secs_f64());
    let rate = if active_s > 0.0 {
        routed as f64 / active_s
    } else {
        0.0
    };
    let cpu = CpuUse::between(&before, &after);
    let latency = shared.latency.borrow();
    println!(
        "[{label}] routing: {n} clients in pairs: {sent} sent, {routed} routed in {:.2} s = {}routed/s; latency {}; lost {lost}, misrouted {}, out of order {}",
        active_s,
        fmt_rate(rate),
        latency.line(),
        shared.misrouted.get(),
        shared.out_of_order.get(),
    );
    println!(
        "[{label}] routing: {}; server peak RSS {}",
        cpu.line(routed, "message"),
        peak.map_or("n/a".to_owned(), |k| format!(
            "{:.1} MiB",
            k as f64 / 1024.0
        ))
    );
    crate::result_line(&json!({
        "label": label,
        "scenario": "routing",
        "routing": {
            "clients": n,
            "window": window,
            "payload_bytes": args.payload,
            "sent": sent,
            "routed": routed,
            "lost": lost,
            "misrouted": shared.misrouted.get(),
            "out_of_order": shared.out_of_order.get(),
            "unexpected_texts": shared.unexpected.get(),
            "receivers_gone": shared.gone.get(),
            "secs": round3(active_s),
            "routed_per_sec": round2(rate),
            "latency_us": latency.summary_us(),
            "cpu": cpu.json(routed),
            "server_peak_rss_kib": peak,
        },
    }));
    Ok(())
}
