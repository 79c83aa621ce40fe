//! Idle connections on `/ws_multi_client`: how many the server holds and what each costs it
//! in memory. Every connection is read by its own task, so pings are answered.

use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::metrics::{CpuSample, CpuUse, RssPeak, round2};
use crate::{Args, BROADCAST_PATH, Target};

/// Time given to the server after the last connection, before its memory is read.
const SETTLE: Duration = Duration::from_secs(2);

/// The connections scenario.
pub async fn scenario(args: &Args, target: &Target, rss: &RssPeak) -> anyhow::Result<()> {
    let label = &args.label;
    let n = args.connections;
    let rss_before = rss.now();
    rss.reset();
    let before = CpuSample::now(args.server_pid);
    let start = Instant::now();
    let stop = CancellationToken::new();
    let dropped = std::rc::Rc::new(std::cell::Cell::new(0usize));
    let (held, failed, first_error) =
        crate::connect_many(target, BROADCAST_PATH, n, args.connect_concurrency, |ws| {
            let stop = stop.clone();
            let dropped = std::rc::Rc::clone(&dropped);
            async move {
                let task = tokio::task::spawn_local(async move {
                    let mut ws = ws;
                    tokio::select! {
                        () = stop.cancelled() => {}
                        () = async { while let Some(Ok(_)) = ws.next().await {} } => {
                            dropped.set(dropped.get() + 1);
                        }
                    }
                });
                Ok(task)
            }
        })
        .await;
    let connect_s = start.elapsed().as_secs_f64();
    let after_connect = CpuSample::now(args.server_pid);
    tokio::time::sleep(SETTLE).await;
    let rss_after = rss.now();
    let peak = rss.peak();
    let ok = held.len();
    let still_open = ok.saturating_sub(dropped.get());
    let per_conn = match (rss_before, rss_after) {
        (Some(b), Some(a)) if ok > 0 => Some(round2(a.saturating_sub(b) as f64 / ok as f64)),
        _ => None,
    };
    let cpu = CpuUse::between(&before, &after_connect);
    let kib = |k: Option<u64>| {
        k.map_or("n/a".to_owned(), |k| {
            format!("{:.1} MiB", k as f64 / 1024.0)
        })
    };
    println!(
        "[{label}] connections: {ok} of {n} connected in {connect_s:.2} s ({} still open after {:.0} s){}",
        still_open,
        SETTLE.as_secs_f64(),
        first_error
            .as_ref()
            .map_or(String::new(), |e| format!("; {failed} failed, first: {e}"))
    );
    println!(
        "[{label}] connections: server RSS {} before, {} with {ok} idle clients = {} KiB per connection; {}",
        kib(rss_before),
        kib(rss_after),
        per_conn.map_or("n/a".to_owned(), |k| format!("{k:.1}")),
        cpu.line(ok as u64, "connection"),
    );
    stop.cancel();
    for task in &held {
        task.abort();
    }
    drop(held);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_closed = rss.now();
    println!(
        "[{label}] connections: server RSS {} one second after all closed",
        kib(rss_closed)
    );
    crate::result_line(&json!({
        "label": label,
        "scenario": "connections",
        "connections": {
            "attempted": n,
            "connected": ok,
            "failed": failed,
            "first_error": first_error,
            "still_open": still_open,
            "connect_secs": round2(connect_s),
            "server_rss_before_kib": rss_before,
            "server_rss_after_kib": rss_after,
            "server_rss_closed_kib": rss_closed,
            "server_peak_rss_kib": peak,
            "rss_per_connection_kib": per_conn,
            "cpu": cpu.json(ok as u64),
        },
    }));
    Ok(())
}
