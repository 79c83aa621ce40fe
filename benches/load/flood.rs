//! Floods on `/ws_multi_client`: one client writes messages as fast as its socket takes them,
//! with no window (open loop), and every client (the sender included) receives them.
//!
//! Unlike the saturated broadcast, nothing holds the sender back except the server (through
//! TCP), so a server that cannot keep up has to either slow the sender down or drop something.
//! Every receiver checks the order and counts what it got; what never arrives is counted, not
//! awaited:
//!
//! - *lost*: messages a receiver skipped (a later one arrived first), plus everything a receiver
//!   whose connection the server ended did not get;
//! - *late*: messages a receiver that is still connected had not got when the run ended (no
//!   progress for 3 s, or the drain deadline).
//!
//! The stall scenario runs a calibration flood, then the same flood with one client that reads
//! at a tenth of the calibration's pace and one that stops reading, and reports whether the
//! slow one got everything and when the server cut the stopped one (from `/proc/net/tcp`).

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::Message;

use crate::metrics::{CpuSample, CpuUse, Histogram, RssPeak, fmt_rate, round2, round3};
use crate::{Args, BROADCAST_PATH, BROADCAST_PREFIX, Target, Ws};

/// No progress for this long ends a drain (plus the stall timeout in the stall scenario); what
/// is missing counts as late.
const STALL: Duration = Duration::from_secs(3);
/// Longest wait for the last messages after sending stopped.
const DRAIN: Duration = Duration::from_secs(20);
/// The sender flushes after this many messages (the socket takes them as fast as it can).
const FLUSH_EVERY: usize = 64;
/// Receive buffer of the slow and the stopped reader, so that their pace reaches the server
/// within the run instead of being absorbed by the kernel (autotuned up to `tcp_rmem`'s max).
const SPECIAL_RECV_BUFFER: u32 = 4096;
/// How often the stopped reader's sockets are looked up in `/proc/net/tcp`.
const SOCKET_SAMPLE: Duration = Duration::from_millis(50);

/// One receiving client.
#[derive(Default)]
struct Receiver {
    /// The next flood sequence number expected; everything below arrived or was skipped.
    next: Cell<u32>,
    /// Messages of the current round received in order.
    got: Cell<u32>,
    /// Messages of the current round skipped (a later one arrived first).
    skipped: Cell<u32>,
    /// The last round whose warm-up reached this receiver.
    warmed: Cell<u32>,
    /// When and how the connection ended.
    ended: Cell<Option<Instant>>,
    how: RefCell<Option<String>>,
    /// Stop reading after the next warm-up, until [`Tally::look`] is notified.
    stop_reading: Cell<bool>,
    /// Read at most this many messages per second, from this moment.
    pace: Cell<Option<(Instant, f64)>>,
}

struct Tally {
    base: Instant,
    receivers: Vec<Receiver>,
    /// The round being measured; messages of other rounds are ignored.
    round: Cell<u32>,
    out_of_order: Cell<u64>,
    unexpected: Cell<u64>,
    latency: RefCell<Histogram>,
    last_receive: Cell<Option<Instant>>,
    /// Woken on a warm-up.
    progress: Notify,
    /// Lets a stopped reader read again.
    look: Notify,
}

impl Tally {
    fn new(capacity: usize) -> Self {
        Self {
            base: Instant::now(),
            receivers: (0..capacity).map(|_| Receiver::default()).collect(),
            round: Cell::new(0),
            out_of_order: Cell::new(0),
            unexpected: Cell::new(0),
            latency: RefCell::default(),
            last_receive: Cell::new(None),
            progress: Notify::new(),
            look: Notify::new(),
        }
    }
}

enum Parsed {
    Warmup(u32),
    Flood(u32, u32, u64),
}

/// `PREFIX w<round>:<n>` or `PREFIX f<round>:<seq>:<stamp>`.
fn parse(text: &str) -> Option<Parsed> {
    let body = text.strip_prefix(BROADCAST_PREFIX)?;
    let mut parts = body.splitn(4, ':');
    let head = parts.next()?;
    let round: u32 = head.get(1..)?.parse().ok()?;
    match head.as_bytes().first()? {
        b'w' => Some(Parsed::Warmup(round)),
        b'f' => {
            let seq = parts.next()?.parse().ok()?;
            let stamp = parts.next()?.parse().ok()?;
            Some(Parsed::Flood(round, seq, stamp))
        }
        _ => None,
    }
}

async fn receive(mut stream: SplitStream<Ws>, me: usize, tally: Rc<Tally>) {
    let r = &tally.receivers[me];
    let mut paced_reads = 0u64;
    let how = loop {
        let frame = match stream.next().await {
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
        match parse(frame.as_str()) {
            Some(Parsed::Warmup(round)) => {
                if r.warmed.get() != round {
                    r.warmed.set(round);
                    tally.progress.notify_one();
                }
                if r.stop_reading.get() && round == tally.round.get() {
                    r.stop_reading.set(false);
                    tally.look.notified().await;
                }
            }
            Some(Parsed::Flood(round, seq, stamp)) => {
                if round != tally.round.get() {
                    continue;
                }
                let next = r.next.get();
                if seq < next {
                    tally.out_of_order.set(tally.out_of_order.get() + 1);
                    continue;
                }
                r.skipped.set(r.skipped.get() + (seq - next));
                r.next.set(seq + 1);
                r.got.set(r.got.get() + 1);
                if let Some((since, rate)) = r.pace.get() {
                    paced_reads += 1;
                    let due = since + Duration::from_secs_f64(paced_reads as f64 / rate);
                    if due > now {
                        tokio::time::sleep_until(due.into()).await;
                    }
                } else {
                    let latency = u64::try_from(now.duration_since(tally.base).as_nanos())
                        .unwrap_or(u64::MAX)
                        .saturating_sub(stamp);
                    tally.latency.borrow_mut().record(latency);
                    tally.last_receive.set(Some(now));
                }
            }
            None => tally.unexpected.set(tally.unexpected.get() + 1),
        }
    };
    r.ended.set(Some(Instant::now()));
    *r.how.borrow_mut() = Some(how);
}

/// The clients of a flood and the sender's half of the first one.
struct Room {
    tally: Rc<Tally>,
    sink: SplitSink<Ws, Message>,
    /// Receivers counted as healthy: `0..healthy`.
    healthy: usize,
    /// Receivers connected so far.
    connected: usize,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Room {
    async fn open(
        args: &Args,
        target: &Target,
        clients: usize,
        extra: usize,
        name: &str,
    ) -> anyhow::Result<Self> {
        let t_connect = Instant::now();
        let (conns, failed, first_error) = crate::connect_many(
            target,
            BROADCAST_PATH,
            clients,
            args.connect_concurrency,
            |ws| async move { Ok(ws) },
        )
        .await;
        println!(
            "[{}] {name}: {} of {clients} clients connected in {:.2} s{}",
            args.label,
            conns.len(),
            t_connect.elapsed().as_secs_f64(),
            first_error.map_or(String::new(), |e| format!(" ({failed} failed: {e})"))
        );
        let healthy = conns.len();
        let tally = Rc::new(Tally::new(healthy + extra));
        let mut sink = None;
        let mut tasks = Vec::with_capacity(healthy + extra);
        for (i, ws) in conns.into_iter().enumerate() {
            let (tx, rx) = ws.split();
            sink.get_or_insert(tx);
            tasks.push(tokio::task::spawn_local(receive(rx, i, Rc::clone(&tally))));
        }
        let sink = sink.context("no client could connect")?;
        Ok(Self {
            tally,
            sink,
            healthy,
            connected: healthy,
            tasks,
        })
    }

    /// Adds a client with a small receive buffer; returns its index and its local port.
    async fn add_special(&mut self, target: &Target) -> anyhow::Result<(usize, u16)> {
        let ws = tokio::time::timeout(
            Duration::from_secs(10),
            crate::connect(target, BROADCAST_PATH, Some(SPECIAL_RECV_BUFFER)),
        )
        .await
        .context("connect timed out")??;
        let port = ws.get_ref().local_addr()?.port();
        let index = self.connected;
        anyhow::ensure!(index < self.tally.receivers.len(), "no room for another");
        self.connected += 1;
        let (_tx, rx) = ws.split();
        // The write half is dropped: these clients only read. A split sink that is dropped does
        // not close the connection.
        self.tasks.push(tokio::task::spawn_local(receive(
            rx,
            index,
            Rc::clone(&self.tally),
        )));
        Ok((index, port))
    }

    /// Sends warm-ups of `round` until every connected receiver still open has seen one.
    async fn warm_up(&mut self, round: u32) -> anyhow::Result<usize> {
        let tally = Rc::clone(&self.tally);
        let waiting = || {
            tally.receivers[..self.connected]
                .iter()
                .filter(|r| r.ended.get().is_none() && r.warmed.get() != round)
                .count()
        };
        tally.round.set(round);
        let start = Instant::now();
        let mut n = 0;
        while waiting() > 0 && start.elapsed() < Duration::from_secs(15) && n < 60 {
            self.sink
                .send(Message::text(format!("w{round}:{n}")))
                .await?;
            n += 1;
            tokio::time::timeout(Duration::from_millis(250), async {
                while waiting() > 0 {
                    tally.progress.notified().await;
                }
            })
            .await
            .ok();
        }
        let missing = waiting();
        // Let the warm-up deliveries drain.
        tokio::time::sleep(Duration::from_millis(300)).await;
        Ok(missing)
    }

    fn close(self) {
        drop(self.sink);
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// What one flood round measured.
struct RoundReport {
    json: Value,
    /// Messages per second each healthy receiver got.
    per_receiver_rate: f64,
    sent: u64,
    start: Instant,
}

/// Sends `messages` as fast as the socket takes them, then waits (bounded) until every
/// receiver in `wait_for` has them all; reports the healthy receivers.
#[allow(clippy::too_many_arguments)]
async fn flood_round(
    args: &Args,
    rss: &RssPeak,
    room: &mut Room,
    round: u32,
    messages: usize,
    drain: Duration,
    patience: Duration,
    wait_for: &[usize],
    filler: &str,
    name: &str,
) -> anyhow::Result<RoundReport> {
    let label = &args.label;
    let tally = Rc::clone(&room.tally);
    tally.round.set(round);
    for r in &tally.receivers {
        r.next.set(0);
        r.got.set(0);
        r.skipped.set(0);
    }
    *tally.latency.borrow_mut() = Histogram::default();
    tally.last_receive.set(None);
    let healthy: Vec<usize> = (0..room.healthy)
        .filter(|&i| tally.receivers[i].ended.get().is_none())
        .collect();
    let waited: Vec<usize> = healthy
        .iter()
        .copied()
        .chain(wait_for.iter().copied())
        .filter(|&i| tally.receivers[i].ended.get().is_none())
        .collect();

    rss.reset();
    let before = CpuSample::now(args.server_pid);
    let start = Instant::now();
    let send_until = start + Duration::from_secs_f64(args.flood_secs.max(0.1));
    let sent = Cell::new(0u64);
    let sink = &mut room.sink;
    let sending = async {
        for seq in 0..messages {
            let stamp = crate::stamp(tally.base);
            let text = if filler.is_empty() {
                format!("f{round}:{seq}:{stamp}")
            } else {
                format!("f{round}:{seq}:{stamp}:{filler}")
            };
            sink.feed(Message::text(text)).await?;
            sent.set(sent.get() + 1);
            if seq % FLUSH_EVERY == FLUSH_EVERY - 1 {
                sink.flush().await?;
            }
        }
        sink.flush().await?;
        anyhow::Ok(())
    };
    let send_outcome = tokio::time::timeout_at(send_until.into(), sending).await;
    let send_end = Instant::now();
    let send_note = match send_outcome {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(format!("the sender's connection failed: {e}")),
        Err(_) => Some(format!(
            "sending stopped after {:.0} s (--flood-secs)",
            args.flood_secs
        )),
    };
    let sent = sent.get();
    let target = u32::try_from(sent).unwrap_or(u32::MAX);

    // Bounded drain: done when every waited-for receiver has everything or has ended.
    let accounted = |set: &[usize]| -> u64 {
        set.iter()
            .map(|&i| {
                let r = &tally.receivers[i];
                if r.ended.get().is_some() {
                    u64::from(target)
                } else {
                    u64::from(r.next.get())
                }
            })
            .sum()
    };
    let progress = || -> u64 {
        waited
            .iter()
            .map(|&i| u64::from(tally.receivers[i].got.get()))
            .sum()
    };
    let drain_until = send_end + drain;
    let mut last_progress = (progress(), Instant::now());
    let mut drain_note = None;
    while accounted(&waited) < u64::from(target) * waited.len() as u64 {
        let now = Instant::now();
        if now >= drain_until {
            drain_note = Some(format!(
                "drain deadline ({:.0} s) reached",
                drain.as_secs_f64()
            ));
            break;
        }
        let p = progress();
        if p != last_progress.0 {
            last_progress = (p, now);
        } else if now.duration_since(last_progress.1) > patience {
            drain_note = Some(format!("no progress for {:.0} s", patience.as_secs_f64()));
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let after = CpuSample::now(args.server_pid);
    let peak = rss.peak();

    let mut delivered = 0u64;
    let mut skipped = 0u64;
    let mut lost_cut = 0u64;
    let mut late = 0u64;
    let mut cut = 0usize;
    let mut cut_how: Option<String> = None;
    for &i in &healthy {
        let r = &tally.receivers[i];
        delivered += u64::from(r.got.get());
        skipped += u64::from(r.skipped.get());
        let missing = u64::from(target.saturating_sub(r.next.get()));
        if r.ended.get().is_some() {
            cut += 1;
            lost_cut += missing;
            if cut_how.is_none() {
                cut_how.clone_from(&r.how.borrow());
            }
        } else {
            late += missing;
        }
    }
    let expected = sent * healthy.len() as u64;
    let lost = skipped + lost_cut;
    let active_s = tally
        .last_receive
        .get()
        .map_or(0.0, |t| t.saturating_duration_since(start).as_secs_f64());
    let rate = if active_s > 0.0 {
        delivered as f64 / active_s
    } else {
        0.0
    };
    let cpu = CpuUse::between(&before, &after);
    let latency = tally.latency.borrow();
    let pct = |x: u64| {
        if expected == 0 {
            0.0
        } else {
            x as f64 * 100.0 / expected as f64
        }
    };
    println!(
        "[{label}] {name}: {sent} of {messages} msgs sent in {:.2} s, no window{}",
        send_end.duration_since(start).as_secs_f64(),
        send_note
            .as_ref()
            .map_or(String::new(), |n| format!(" ({n})"))
    );
    println!(
        "[{label}] {name}: {delivered} of {expected} deliveries to {} receivers in {active_s:.2} s = {}deliveries/s; lost {lost} ({:.2} %: {skipped} skipped, {lost_cut} on {cut} connections the server ended{}), late {late} ({:.2} %){}",
        healthy.len(),
        fmt_rate(rate),
        pct(lost),
        cut_how
            .as_ref()
            .map_or(String::new(), |h| format!(", first: {h}")),
        pct(late),
        drain_note
            .as_ref()
            .map_or(String::new(), |n| format!("; {n}")),
    );
    println!(
        "[{label}] {name}: latency {}; {}; server peak RSS {}",
        latency.line(),
        cpu.line(delivered, "delivery"),
        peak.map_or("n/a".to_owned(), |k| format!(
            "{:.1} MiB",
            k as f64 / 1024.0
        ))
    );
    let json = json!({
        "receivers": healthy.len(),
        "messages": messages,
        "messages_sent": sent,
        "send_secs": round3(send_end.duration_since(start).as_secs_f64()),
        "send_note": send_note,
        "expected": expected,
        "deliveries": delivered,
        "lost": lost,
        "lost_pct": round3(pct(lost)),
        "skipped": skipped,
        "lost_on_cut": lost_cut,
        "receivers_cut": cut,
        "first_cut": cut_how,
        "late": late,
        "drain_note": drain_note,
        "out_of_order": tally.out_of_order.get(),
        "unexpected_texts": tally.unexpected.get(),
        "secs": round3(active_s),
        "deliveries_per_sec": round2(rate),
        "latency_us": latency.summary_us(),
        "cpu": cpu.json(delivered),
        "server_peak_rss_kib": peak,
    });
    Ok(RoundReport {
        json,
        per_receiver_rate: if healthy.is_empty() {
            0.0
        } else {
            rate / healthy.len() as f64
        },
        sent,
        start,
    })
}

/// The flood scenario.
pub async fn scenario(args: &Args, target: &Target, rss: &RssPeak) -> anyhow::Result<()> {
    let mut room = Room::open(args, target, args.clients, 0, "flood").await?;
    let missing = room.warm_up(1).await?;
    println!(
        "[{}] flood: warm-up reached {} of {} receivers",
        args.label,
        room.healthy - missing,
        room.healthy
    );
    let report = flood_round(
        args,
        rss,
        &mut room,
        2,
        args.flood_messages,
        DRAIN,
        STALL,
        &[],
        "",
        "flood",
    )
    .await?;
    let hwm = args
        .server_pid
        .and_then(|pid| crate::metrics::status_kib(pid, "VmHWM"));
    room.close();
    crate::result_line(&json!({
        "label": args.label,
        "scenario": "flood",
        "flood": report.json,
        "server_vmhwm_kib": hwm,
    }));
    Ok(())
}

/// One socket's row in `/proc/net/tcp`: state, send queue, receive queue.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct SocketRow {
    state: u8,
    tx: u64,
    rx: u64,
}

/// Looks up the rows of the connection between `server_port` and `client_port` (IPv4
/// loopback): the server's end and the client's end.
fn socket_rows(server_port: u16, client_port: u16) -> (Option<SocketRow>, Option<SocketRow>) {
    let Ok(table) = std::fs::read_to_string("/proc/net/tcp") else {
        return (None, None);
    };
    let port_of = |field: &str| {
        field
            .rsplit(':')
            .next()
            .and_then(|p| u16::from_str_radix(p, 16).ok())
    };
    let mut server_end = None;
    let mut client_end = None;
    for line in table.lines().skip(1) {
        let mut fields = line.split_whitespace();
        let (Some(local), Some(remote), Some(state), Some(queues)) = (
            fields.nth(1).and_then(port_of),
            fields.next().and_then(port_of),
            fields.next().and_then(|s| u8::from_str_radix(s, 16).ok()),
            fields.next(),
        ) else {
            continue;
        };
        let (tx, rx) = queues.split_once(':').unwrap_or(("0", "0"));
        let row = SocketRow {
            state,
            tx: u64::from_str_radix(tx, 16).unwrap_or(0),
            rx: u64::from_str_radix(rx, 16).unwrap_or(0),
        };
        if local == server_port && remote == client_port {
            server_end = Some(row);
        } else if local == client_port && remote == server_port {
            client_end = Some(row);
        }
    }
    (server_end, client_end)
}

/// TCP state `ESTABLISHED` in `/proc/net/tcp`.
const ESTABLISHED: u8 = 1;

/// What the socket watcher saw of the stopped reader's connection.
#[derive(Default)]
struct Watch {
    /// The last moment the bytes queued towards it (server send queue plus client receive
    /// queue) grew: after this, its socket accepted nothing.
    last_growth: Cell<Option<Instant>>,
    /// The first moment the server's end was no longer established (closed or reset).
    cut: Cell<Option<Instant>>,
    /// The state then (hex, as in `/proc/net/tcp`), or `gone`.
    cut_state: RefCell<Option<String>>,
    peak_queued: Cell<u64>,
    stop: Cell<bool>,
}

fn watch_socket(server_port: u16, client_port: u16) -> Rc<Watch> {
    let watch = Rc::new(Watch::default());
    // If the very first look finds it full (or gone), its socket stopped before the watch began.
    watch.last_growth.set(Some(Instant::now()));
    let w = Rc::clone(&watch);
    tokio::task::spawn_local(async move {
        let mut tick = tokio::time::interval(SOCKET_SAMPLE);
        let mut queued = None;
        while !w.stop.get() {
            tick.tick().await;
            let (server_end, client_end) = socket_rows(server_port, client_port);
            let now = Instant::now();
            match server_end {
                Some(row) if row.state == ESTABLISHED => {
                    let total = row.tx + client_end.map_or(0, |c| c.rx);
                    if queued.is_none_or(|q| total > q) {
                        w.last_growth.set(Some(now));
                    }
                    queued = Some(total);
                    w.peak_queued.set(w.peak_queued.get().max(total));
                }
                other => {
                    w.cut.set(Some(now));
                    *w.cut_state.borrow_mut() =
                        Some(other.map_or("gone".to_owned(), |r| format!("{:02X}", r.state)));
                    break;
                }
            }
        }
    });
    watch
}

/// The stall scenario: a slow reader and a stopped reader during a flood.
pub async fn stall_scenario(args: &Args, target: &Target, rss: &RssPeak) -> anyhow::Result<()> {
    let label = &args.label;
    let filler = crate::filler(args.stall_payload);
    let mut room = Room::open(args, target, args.clients, 2, "stall").await?;
    room.warm_up(1).await?;
    let calibration = flood_round(
        args,
        rss,
        &mut room,
        2,
        args.stall_messages,
        DRAIN,
        STALL,
        &[],
        &filler,
        "stall/calibration",
    )
    .await?;
    let pace = calibration.per_receiver_rate * args.slow_read_fraction;
    anyhow::ensure!(pace > 0.0, "the calibration flood delivered nothing");

    let (slow, _) = room.add_special(target).await?;
    let (stopped, stopped_port) = room.add_special(target).await?;
    room.tally.receivers[stopped].stop_reading.set(true);
    let missing = room.warm_up(3).await?;
    if missing > 0 {
        println!("[{label}] stall: warm-up did not reach {missing} receivers");
    }
    println!(
        "[{label}] stall: calibration pace {:.0} msgs/s per receiver; the slow reader reads {:.0} msgs/s, the stopped one reads nothing",
        calibration.per_receiver_rate, pace
    );
    let watch = watch_socket(target.addr.port(), stopped_port);
    room.tally.receivers[slow]
        .pace
        .set(Some((Instant::now(), pace)));
    // The slow reader needs up to stall_messages / pace to read everything.
    let drain = DRAIN + Duration::from_secs_f64(args.stall_messages as f64 / pace);
    let measured = flood_round(
        args,
        rss,
        &mut room,
        4,
        args.stall_messages,
        drain,
        // The server may hold everyone back for one stall timeout.
        STALL + Duration::from_secs_f64(args.stall_secs.max(0.0)),
        &[slow],
        &filler,
        "stall/with-slow-and-stopped",
    )
    .await?;
    watch.stop.set(true);

    let tally = Rc::clone(&room.tally);
    let s = &tally.receivers[slow];
    let slow_got = s.got.get();
    let slow_cut = s.ended.get().is_some();
    // Let the stopped reader read again, to learn how its connection ended.
    tally.look.notify_one();
    let st = &tally.receivers[stopped];
    let look_until = Instant::now() + Duration::from_secs(5);
    while st.ended.get().is_none() && Instant::now() < look_until {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let stopped_how = st
        .how
        .borrow()
        .clone()
        .unwrap_or_else(|| "still open 5 s after the flood".to_owned());
    let since = |t: Option<Instant>| {
        t.map(|t| round3(t.saturating_duration_since(measured.start).as_secs_f64()))
    };
    let stall_started = since(watch.last_growth.get());
    let cut_at = since(watch.cut.get());
    let cut_after_stall = match (watch.last_growth.get(), watch.cut.get()) {
        (Some(a), Some(b)) => Some(round3(b.saturating_duration_since(a).as_secs_f64())),
        _ => None,
    };
    let within = cut_after_stall.map(|c| c <= args.stall_secs + 1.0);
    println!(
        "[{label}] stall: slow reader got {slow_got} of {} ({}); stopped reader's socket took its last bytes at {} s, the server ended it at {} s ({}) = {} after the stall began (target <= {:.0} s); then it read: {stopped_how}",
        measured.sent,
        if slow_cut {
            "then the server ended it"
        } else {
            "still connected"
        },
        stall_started.map_or("n/a".to_owned(), |t| format!("{t:.2}")),
        cut_at.map_or("never".to_owned(), |t| format!("{t:.2}")),
        watch
            .cut_state
            .borrow()
            .clone()
            .unwrap_or_else(|| "-".to_owned()),
        cut_after_stall.map_or("n/a".to_owned(), |t| format!("{t:.2} s")),
        args.stall_secs + 1.0,
    );
    room.close();
    crate::result_line(&json!({
        "label": label,
        "scenario": "stall",
        "calibration": calibration.json,
        "flood": measured.json,
        "slow_read_msgs_per_sec": round2(pace),
        "payload_bytes": args.stall_payload,
        "slow": {
            "sent": measured.sent,
            "got": slow_got,
            "skipped": s.skipped.get(),
            "lost": measured.sent.saturating_sub(u64::from(slow_got)),
            "cut": slow_cut,
            "how": s.how.borrow().clone(),
        },
        "stopped": {
            "stall_began_s": stall_started,
            "cut_s": cut_at,
            "cut_after_stall_s": cut_after_stall,
            "server_socket_state": watch.cut_state.borrow().clone(),
            "peak_queued_bytes": watch.peak_queued.get(),
            "how": stopped_how,
            "stall_secs": args.stall_secs,
            "cut_within_stall_plus_1s": within,
        },
    }));
    Ok(())
}
