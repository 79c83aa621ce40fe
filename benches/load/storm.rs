//! Reconnect storm on `/ws_multi_client` with `classchat.v1` clients (classchat only: the seed
//! has no resume).
//!
//! `--clients` clients join, each from its own loopback address (as a class would: the relay
//! limits handshakes per address), and one more client sends `s:<n>:<stamp>` at
//! `--storm-rate` messages per second. After `--storm-before-secs` every receiver drops its
//! connection with a TCP reset (`SO_LINGER` 0, then close) and at once reconnects with
//! `?resume=TOKEN&since=SEQ&epoch=EPOCH` from its last `welcome` and the highest `seq` it got.
//! The sender keeps going for `--storm-after-secs`.
//!
//! Each receiver keeps a bitmap of the sender's messages, so duplicates and gaps are exact.
//! Reported: duplicates and missing messages per client, clients the server cut (a close or
//! reset that the generator did not cause, or a reconnect that failed), how many welcomes said
//! `recovered: true`, and how long after the drop the whole room was caught up: every client
//! had every message the sender had written more than [`LIVE_SLACK`] earlier.

use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::net::{IpAddr, Ipv4Addr};
use std::rc::Rc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt as _, StreamExt as _};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;

use crate::metrics::{CpuSample, CpuUse, Histogram, RssPeak, round2, round3};
use crate::{Args, BROADCAST_PATH, ConnectOptions, Target, Ws};

/// The subprotocol of classchat's JSON dialect.
const SUBPROTOCOL: &str = "classchat.v1";
/// A client has caught up when it holds every message sent more than this long ago.
const LIVE_SLACK: Duration = Duration::from_millis(100);
/// How often the room's progress is checked.
const CHECK: Duration = Duration::from_millis(5);
/// Longest time for one reconnect (all attempts).
const RECONNECT_LIMIT: Duration = Duration::from_secs(15);
/// No progress for this long ends the drain.
const STALL: Duration = Duration::from_secs(3);
/// Longest wait for the last messages after sending stopped.
const DRAIN: Duration = Duration::from_secs(10);

/// The fields of a `classchat.v1` frame this scenario reads; the rest is ignored.
#[derive(Deserialize)]
struct Frame<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(default, borrow)]
    text: Option<Cow<'a, str>>,
    #[serde(default)]
    seq: Option<u64>,
    #[serde(default)]
    replay: Option<bool>,
    #[serde(default)]
    recovered: Option<bool>,
    #[serde(default)]
    resume: Option<String>,
    #[serde(default)]
    epoch: Option<String>,
    #[serde(default)]
    id: Option<String>,
}

/// `s:<n>:<stamp>` → (n, stamp).
fn parse_text(text: &str) -> Option<(usize, u64)> {
    let mut parts = text.strip_prefix("s:")?.splitn(2, ':');
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

#[derive(Default)]
struct Client {
    /// One bit per sender message received.
    bits: RefCell<Vec<u64>>,
    got: Cell<u32>,
    duplicates: Cell<u32>,
    /// Every message below this number has arrived.
    contiguous: Cell<u32>,
    /// The highest `seq` received.
    last_seq: Cell<u64>,
    replayed: Cell<u32>,
    peer_id: RefCell<String>,
    resume: RefCell<Option<String>>,
    epoch: RefCell<Option<String>>,
    /// From the welcome after the reconnect.
    recovered: Cell<Option<bool>>,
    same_id: Cell<Option<bool>>,
    reconnected: Cell<Option<Instant>>,
    attempts: Cell<u32>,
    /// The server ended the connection (or the reconnect failed): when and how.
    cut: Cell<Option<Instant>>,
    how: RefCell<Option<String>>,
}

struct Shared {
    base: Instant,
    total: usize,
    clients: Vec<Client>,
    /// When each sender message was written.
    sent_at: RefCell<Vec<Instant>>,
    /// Sender messages confirmed by their echo.
    confirmed: Cell<u32>,
    latency: RefCell<Histogram>,
    unexpected: Cell<u64>,
}

impl Shared {
    /// Messages written at or before `t`.
    fn sent_by(&self, t: Instant) -> u32 {
        let sent_at = self.sent_at.borrow();
        sent_at.partition_point(|&s| s <= t) as u32
    }
}

/// The source address of receiver `i`: 127.1.x.y, never the relay's own 127.0.0.1.
fn source_of(target: &Target, i: usize) -> Option<IpAddr> {
    target
        .addr
        .is_ipv4()
        .then(|| IpAddr::V4(Ipv4Addr::new(127, 1, (i / 250) as u8, (i % 250 + 1) as u8)))
}

/// Counts one frame received by receiver `me`.
fn handle(shared: &Shared, me: usize, text: &str) {
    let Ok(frame) = serde_json::from_str::<Frame<'_>>(text) else {
        shared.unexpected.set(shared.unexpected.get() + 1);
        return;
    };
    if frame.kind != "message" {
        return;
    }
    let c = &shared.clients[me];
    let Some((n, stamp)) = frame.text.as_deref().and_then(parse_text) else {
        shared.unexpected.set(shared.unexpected.get() + 1);
        return;
    };
    if n >= shared.total {
        shared.unexpected.set(shared.unexpected.get() + 1);
        return;
    }
    if let Some(seq) = frame.seq {
        c.last_seq.set(c.last_seq.get().max(seq));
    }
    if frame.replay == Some(true) {
        c.replayed.set(c.replayed.get() + 1);
    }
    let mut bits = c.bits.borrow_mut();
    let (word, bit) = (n / 64, 1u64 << (n % 64));
    if bits[word] & bit != 0 {
        c.duplicates.set(c.duplicates.get() + 1);
        return;
    }
    bits[word] |= bit;
    c.got.set(c.got.get() + 1);
    let mut k = c.contiguous.get() as usize;
    while k < shared.total && bits[k / 64] & (1 << (k % 64)) != 0 {
        k += 1;
    }
    c.contiguous.set(k as u32);
    shared
        .latency
        .borrow_mut()
        .record(crate::stamp(shared.base).saturating_sub(stamp));
}

/// Connects a v1 client and reads its welcome (whatever follows is left in the stream).
async fn join(
    target: &Target,
    source: Option<IpAddr>,
    query: Option<String>,
) -> anyhow::Result<(Ws, WelcomeInfo)> {
    let options = ConnectOptions {
        subprotocol: Some(SUBPROTOCOL),
        source,
        query,
        ..ConnectOptions::default()
    };
    let mut ws = crate::connect_with(target, BROADCAST_PATH, &options).await?;
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) => {
                let frame: Frame<'_> = serde_json::from_str(t.as_str())?;
                anyhow::ensure!(frame.kind == "welcome", "expected a welcome, got {t}");
                let info = WelcomeInfo {
                    peer_id: frame.id.unwrap_or_default(),
                    resume: frame.resume,
                    epoch: frame.epoch,
                    recovered: frame.recovered,
                };
                return Ok((ws, info));
            }
            Some(Ok(Message::Close(f))) => anyhow::bail!("closed before the welcome: {f:?}"),
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(e.into()),
            None => anyhow::bail!("closed before the welcome"),
        }
    }
}

struct WelcomeInfo {
    peer_id: String,
    resume: Option<String>,
    epoch: Option<String>,
    recovered: Option<bool>,
}

fn resume_query(c: &Client) -> Option<String> {
    let token = c.resume.borrow().clone()?;
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query.append_pair("resume", &token);
    query.append_pair("since", &c.last_seq.get().to_string());
    if let Some(epoch) = c.epoch.borrow().as_deref() {
        query.append_pair("epoch", epoch);
    }
    Some(query.finish())
}

enum Event {
    Frame(Option<Result<Message, tokio_tungstenite::tungstenite::Error>>),
    Drop,
}

fn end_of(frame: Option<Result<Message, tokio_tungstenite::tungstenite::Error>>) -> String {
    match frame {
        Some(Ok(Message::Close(Some(f)))) => format!("close {} {}", u16::from(f.code), f.reason),
        Some(Ok(Message::Close(None))) => "close without a code".to_owned(),
        Some(Err(e)) => format!("error: {e}"),
        _ => "end of stream".to_owned(),
    }
}

async fn receiver(
    mut ws: Ws,
    me: usize,
    source: Option<IpAddr>,
    target: Target,
    shared: Rc<Shared>,
    mut drop_signal: watch::Receiver<bool>,
) {
    let c = &shared.clients[me];
    let mut dropped = false;
    loop {
        let event = tokio::select! {
            frame = ws.next() => Event::Frame(frame),
            _ = drop_signal.changed(), if !dropped => Event::Drop,
        };
        match event {
            Event::Frame(Some(Ok(Message::Text(t)))) => handle(&shared, me, t.as_str()),
            Event::Frame(Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Binary(_)))) => {}
            Event::Frame(Some(Ok(Message::Frame(_)))) => {}
            Event::Frame(other) => {
                c.cut.set(Some(Instant::now()));
                *c.how.borrow_mut() = Some(end_of(other));
                return;
            }
            Event::Drop => {
                dropped = true;
                // A TCP reset, as when a laptop's Wi-Fi goes: SO_LINGER 0, then close.
                socket2::SockRef::from(ws.get_ref())
                    .set_linger(Some(Duration::ZERO))
                    .ok();
                drop(ws);
                let give_up = Instant::now() + RECONNECT_LIMIT;
                let mut last_error = String::new();
                let rejoined = loop {
                    c.attempts.set(c.attempts.get() + 1);
                    let attempt = tokio::time::timeout_at(
                        give_up.into(),
                        join(&target, source, resume_query(c)),
                    )
                    .await;
                    match attempt {
                        Ok(Ok(joined)) => break Some(joined),
                        Ok(Err(e)) => last_error = format!("{e:#}"),
                        Err(_) => break None,
                    }
                    if Instant::now() >= give_up {
                        break None;
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                };
                let Some((new_ws, info)) = rejoined else {
                    c.cut.set(Some(Instant::now()));
                    *c.how.borrow_mut() = Some(format!("reconnect failed: {last_error}"));
                    return;
                };
                ws = new_ws;
                c.reconnected.set(Some(Instant::now()));
                c.recovered.set(Some(info.recovered == Some(true)));
                c.same_id.set(Some(*c.peer_id.borrow() == info.peer_id));
                *c.resume.borrow_mut() = info.resume;
                *c.epoch.borrow_mut() = info.epoch;
            }
        }
    }
}

/// The storm scenario.
pub async fn scenario(args: &Args, target: &Target, rss: &RssPeak) -> anyhow::Result<()> {
    let label = &args.label;
    let rate = args.storm_rate.max(1.0);
    let total = (rate * (args.storm_before_secs + args.storm_after_secs)).round() as usize;
    let drop_after = Duration::from_secs_f64(args.storm_before_secs);
    let n = args.clients;
    let shared = Rc::new(Shared {
        base: Instant::now(),
        total,
        clients: (0..n)
            .map(|_| Client {
                bits: RefCell::new(vec![0; total.div_ceil(64)]),
                ..Client::default()
            })
            .collect(),
        sent_at: RefCell::new(Vec::with_capacity(total)),
        confirmed: Cell::new(0),
        latency: RefCell::default(),
        unexpected: Cell::new(0),
    });

    // Join everyone, each from its own address.
    let t_connect = Instant::now();
    let joined: Vec<anyhow::Result<(Ws, WelcomeInfo)>> = futures_util::stream::iter(0..n)
        .map(|i| {
            let source = source_of(target, i);
            async move {
                tokio::time::timeout(Duration::from_secs(10), join(target, source, None))
                    .await
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("connect timed out")))
            }
        })
        .buffered(args.connect_concurrency.max(1))
        .collect()
        .await;
    let (drop_tx, drop_rx) = watch::channel(false);
    let mut tasks = Vec::with_capacity(n + 2);
    let mut failed = 0;
    let mut first_error = None;
    let mut with_token = 0;
    let mut members = Vec::with_capacity(n);
    for (i, joined) in joined.into_iter().enumerate() {
        match joined {
            Ok((ws, info)) => {
                let c = &shared.clients[i];
                *c.peer_id.borrow_mut() = info.peer_id;
                with_token += usize::from(info.resume.is_some());
                *c.resume.borrow_mut() = info.resume;
                *c.epoch.borrow_mut() = info.epoch;
                members.push(i);
                tasks.push(tokio::task::spawn_local(receiver(
                    ws,
                    i,
                    source_of(target, i),
                    target.clone(),
                    Rc::clone(&shared),
                    drop_rx.clone(),
                )));
            }
            Err(e) => {
                failed += 1;
                first_error.get_or_insert_with(|| format!("{e:#}"));
                shared.clients[i].cut.set(Some(Instant::now()));
            }
        }
    }
    println!(
        "[{label}] storm: {} of {n} classchat.v1 clients joined in {:.2} s, {with_token} with a resume token{}",
        members.len(),
        t_connect.elapsed().as_secs_f64(),
        first_error
            .as_ref()
            .map_or(String::new(), |e| format!(" ({failed} failed: {e})"))
    );
    anyhow::ensure!(!members.is_empty(), "no client could join");

    // The sender: its own address, and it reads its own echoes (the confirmations).
    let sender_source = target
        .addr
        .is_ipv4()
        .then_some(IpAddr::V4(Ipv4Addr::new(127, 2, 0, 1)));
    let (sender_ws, _) = join(target, sender_source, None).await?;
    let (mut sink, mut echoes) = sender_ws.split();
    {
        let shared = Rc::clone(&shared);
        tasks.push(tokio::task::spawn_local(async move {
            while let Some(Ok(frame)) = echoes.next().await {
                let Message::Text(t) = frame else { continue };
                let Ok(f) = serde_json::from_str::<Frame<'_>>(t.as_str()) else {
                    continue;
                };
                if f.kind == "message" && f.text.as_deref().and_then(parse_text).is_some() {
                    shared.confirmed.set(shared.confirmed.get() + 1);
                }
            }
        }));
    }
    // Give the last joins a moment to be announced to everyone before the clock starts.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let start = Instant::now();
    let interval = Duration::from_secs_f64(1.0 / rate);
    let sending = {
        let shared = Rc::clone(&shared);
        async move {
            for k in 0..total {
                tokio::time::sleep_until((start + interval.mul_f64(k as f64)).into()).await;
                let stamp = crate::stamp(shared.base);
                let frame = json!({
                    "type": "send",
                    "to": "*",
                    "text": format!("s:{k}:{stamp}"),
                    "id": format!("m{k}"),
                });
                sink.send(Message::text(frame.to_string())).await?;
                shared.sent_at.borrow_mut().push(Instant::now());
            }
            anyhow::Ok(sink)
        }
    };
    let sender = tokio::task::spawn_local(sending);

    // Before the drop: how often the room is "caught up" by the same measure, as a baseline.
    let mut checks_before = 0u32;
    let mut live_before = 0u32;
    // A client that was cut stays behind: the room is not caught up without it.
    let min_contiguous = |shared: &Shared| {
        members
            .iter()
            .map(|&i| shared.clients[i].contiguous.get())
            .min()
            .unwrap_or(0)
    };
    let drop_at = start + drop_after;
    let live_from = start + Duration::from_millis(500);
    while Instant::now() < drop_at {
        tokio::time::sleep(CHECK).await;
        let now = Instant::now();
        if now >= live_from {
            checks_before += 1;
            let due = shared.sent_by(now.checked_sub(LIVE_SLACK).unwrap_or(now));
            if min_contiguous(&shared) >= due {
                live_before += 1;
            }
        }
    }

    rss.reset();
    let before = CpuSample::now(args.server_pid);
    let dropped_at = Instant::now();
    let sent_at_drop = shared.sent_by(dropped_at);
    let cut_before_drop = members
        .iter()
        .filter(|&&i| shared.clients[i].cut.get().is_some())
        .count();
    let overflows_before = crate::metrics::listen_overflows();
    drop_tx.send(true).ok();
    println!(
        "[{label}] storm: {sent_at_drop} messages sent; {cut_before_drop} clients already cut by the server; the other {} reset their connection and resume now",
        members.len() - cut_before_drop
    );

    let mut all_back = None;
    let mut overflows = None;
    let mut gap_filled = None;
    let mut caught_up = None;
    let end_of_sending = start + Duration::from_secs_f64(total as f64 / rate);
    let limit = end_of_sending.max(dropped_at + RECONNECT_LIMIT) + DRAIN;
    let mut last_progress = (0u64, Instant::now());
    let mut note = None;
    loop {
        tokio::time::sleep(CHECK).await;
        let now = Instant::now();
        let back = members.iter().all(|&i| {
            let c = &shared.clients[i];
            c.reconnected.get().is_some() || c.cut.get().is_some()
        });
        if back && all_back.is_none() {
            all_back = Some(now);
            overflows = overflows_before
                .zip(crate::metrics::listen_overflows())
                .map(|(a, b)| b.saturating_sub(a));
        }
        let min = min_contiguous(&shared);
        if gap_filled.is_none() && back && min >= sent_at_drop {
            gap_filled = Some(now);
        }
        let due = shared.sent_by(now.checked_sub(LIVE_SLACK).unwrap_or(now));
        if caught_up.is_none() && back && min >= due {
            caught_up = Some(now);
        }
        let sent = shared.sent_at.borrow().len();
        let everyone_done = members.iter().all(|&i| {
            let c = &shared.clients[i];
            c.cut.get().is_some() || c.contiguous.get() as usize >= sent
        });
        if sender.is_finished() && everyone_done && back {
            break;
        }
        let got: u64 = members
            .iter()
            .map(|&i| u64::from(shared.clients[i].got.get()))
            .sum();
        if got != last_progress.0 || !sender.is_finished() {
            last_progress = (got, now);
        } else if now.duration_since(last_progress.1) > STALL {
            note = Some("no progress for 3 s after the sender finished");
            break;
        }
        if now >= limit {
            note = Some("deadline reached");
            break;
        }
    }
    let after = CpuSample::now(args.server_pid);
    let peak = rss.peak();
    let sent = shared.sent_at.borrow().len() as u32;
    let sender_error = if sender.is_finished() {
        match sender.await {
            Ok(Ok(_sink)) => None,
            Ok(Err(e)) => Some(format!("{e:#}")),
            Err(e) => Some(format!("{e}")),
        }
    } else {
        sender.abort();
        Some("still sending at the deadline".to_owned())
    };
    for task in &tasks {
        task.abort();
    }

    let mut missing_total = 0u64;
    let mut missing_clients = 0usize;
    let mut missing_max = 0u32;
    let mut dup_total = 0u64;
    let mut dup_clients = 0usize;
    let mut cut = 0usize;
    let mut first_cut = None;
    let mut recovered = 0usize;
    let mut not_recovered = 0usize;
    let mut same_id = 0usize;
    let mut replayed = 0u64;
    let mut attempts = 0u64;
    let mut reconnect_ms = Histogram::default();
    for &i in &members {
        let c = &shared.clients[i];
        let missing = sent.saturating_sub(c.got.get());
        if missing > 0 {
            missing_clients += 1;
            missing_total += u64::from(missing);
            missing_max = missing_max.max(missing);
        }
        if c.duplicates.get() > 0 {
            dup_clients += 1;
            dup_total += u64::from(c.duplicates.get());
        }
        if c.cut.get().is_some() {
            cut += 1;
            if first_cut.is_none() {
                first_cut.clone_from(&c.how.borrow());
            }
        }
        match c.recovered.get() {
            Some(true) => recovered += 1,
            Some(false) => not_recovered += 1,
            None => {}
        }
        same_id += usize::from(c.same_id.get() == Some(true));
        replayed += u64::from(c.replayed.get());
        attempts += u64::from(c.attempts.get());
        if let Some(t) = c.reconnected.get() {
            reconnect_ms
                .record(u64::try_from(t.duration_since(dropped_at).as_nanos()).unwrap_or(u64::MAX));
        }
    }
    let secs = |t: Option<Instant>| t.map(|t| round3(t.duration_since(dropped_at).as_secs_f64()));
    let cpu = CpuUse::between(&before, &after);
    let latency = shared.latency.borrow();
    let m = members.len();
    println!(
        "[{label}] storm: {sent} messages at {rate:.0}/s to {m} clients; after the drop: all back {} s, gap filled {} s, caught up {} s (every client has all sent > {} ms before; before the drop that held in {:.0} % of checks){}",
        secs(all_back).map_or("never".to_owned(), |s| format!("{s:.2}")),
        secs(gap_filled).map_or("never".to_owned(), |s| format!("{s:.2}")),
        secs(caught_up).map_or("never".to_owned(), |s| format!("{s:.2}")),
        LIVE_SLACK.as_millis(),
        if checks_before == 0 {
            0.0
        } else {
            f64::from(live_before) * 100.0 / f64::from(checks_before)
        },
        note.map_or(String::new(), |n| format!("; {n}")),
    );
    println!(
        "[{label}] storm: missing {missing_total} on {missing_clients} clients (max {missing_max}), duplicates {dup_total} on {dup_clients} clients, cut {cut}{}; welcomes recovered: {recovered} true, {not_recovered} false; same ID {same_id}; {replayed} replayed frames; {attempts} connection attempts",
        first_cut
            .as_ref()
            .map_or(String::new(), |h| format!(" (first: {h})")),
    );
    println!(
        "[{label}] storm: latency {}; reconnect {} ({} connections dropped by a full accept queue, machine-wide); {}; server peak RSS {}",
        latency.line(),
        reconnect_ms.line(),
        overflows.map_or("n/a".to_owned(), |o| o.to_string()),
        cpu.line(u64::from(sent) * m as u64, "delivery"),
        peak.map_or("n/a".to_owned(), |k| format!(
            "{:.1} MiB",
            k as f64 / 1024.0
        ))
    );
    crate::result_line(&json!({
        "label": label,
        "scenario": "storm",
        "storm": {
            "clients": m,
            "join_failed": failed,
            "rate_msgs_per_sec": rate,
            "messages_sent": sent,
            "sent_at_drop": sent_at_drop,
            "confirmed": shared.confirmed.get(),
            "sender_error": sender_error,
            "all_back_s": secs(all_back),
            "gap_filled_s": secs(gap_filled),
            "caught_up_s": secs(caught_up),
            "live_slack_ms": LIVE_SLACK.as_millis() as u64,
            "live_before_pct": if checks_before == 0 { None } else { Some(round2(f64::from(live_before) * 100.0 / f64::from(checks_before))) },
            "missing": missing_total,
            "clients_missing": missing_clients,
            "missing_max": missing_max,
            "duplicates": dup_total,
            "clients_with_duplicates": dup_clients,
            "cut": cut,
            "cut_before_drop": cut_before_drop,
            "first_cut": first_cut,
            "recovered_true": recovered,
            "recovered_false": not_recovered,
            "same_id": same_id,
            "replayed_frames": replayed,
            "connection_attempts": attempts,
            "listen_overflows": overflows,
            "reconnect_us": reconnect_ms.summary_us(),
            "latency_us": latency.summary_us(),
            "unexpected_frames": shared.unexpected.get(),
            "note": note,
            "cpu": cpu.json(u64::from(sent) * m as u64),
            "server_peak_rss_kib": peak,
        },
    }));
    Ok(())
}
