//! Measuring: a latency histogram, and CPU time and memory read from `/proc`.

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// Sub-buckets per power of two: values are kept to within 1/64 (about 1.6 %).
const SUB_BITS: u32 = 6;
const SUB: u64 = 1 << SUB_BITS;
const BUCKETS: usize = ((64 - SUB_BITS as usize) + 1) << SUB_BITS;

/// Linux reports process CPU time in these ticks per second (USER_HZ, 100 on every
/// architecture Linux exposes to user space).
const TICKS_PER_SEC: f64 = 100.0;

/// A log-linear histogram of nanosecond values, fixed size whatever the count.
pub struct Histogram {
    counts: Vec<u64>,
    total: u64,
    max: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Self {
            counts: vec![0; BUCKETS],
            total: 0,
            max: 0,
        }
    }
}

fn bucket(v: u64) -> usize {
    if v < SUB {
        return v as usize;
    }
    let exp = 63 - v.leading_zeros();
    let shift = exp - SUB_BITS;
    let mantissa = ((v >> shift) & (SUB - 1)) as usize;
    ((shift as usize + 1) << SUB_BITS) + mantissa
}

/// The middle of a bucket's range.
fn bucket_value(i: usize) -> u64 {
    if (i as u64) < SUB {
        return i as u64;
    }
    let shift = (i >> SUB_BITS) - 1;
    let mantissa = (i as u64) & (SUB - 1);
    let low = (SUB + mantissa) << shift;
    low + ((1u64 << shift) >> 1)
}

impl Histogram {
    pub fn record(&mut self, nanos: u64) {
        self.counts[bucket(nanos)] += 1;
        self.total += 1;
        self.max = self.max.max(nanos);
    }

    /// The value below which `q` (0..=1) of the samples fall, in nanoseconds.
    pub fn quantile(&self, q: f64) -> u64 {
        if self.total == 0 {
            return 0;
        }
        let rank = ((q * self.total as f64).ceil() as u64).clamp(1, self.total);
        let mut seen = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return bucket_value(i).min(self.max);
            }
        }
        self.max
    }

    /// p50, p99 and max in microseconds, as JSON.
    pub fn summary_us(&self) -> Value {
        json!({
            "p50": us(self.quantile(0.50)),
            "p99": us(self.quantile(0.99)),
            "max": us(self.max),
            "samples": self.total,
        })
    }

    /// `p50 … p99 … max …` for a human.
    pub fn line(&self) -> String {
        format!(
            "p50 {} p99 {} max {}",
            fmt_us(self.quantile(0.50)),
            fmt_us(self.quantile(0.99)),
            fmt_us(self.max)
        )
    }
}

fn us(nanos: u64) -> f64 {
    (nanos as f64 / 100.0).round() / 10.0
}

pub fn fmt_us(nanos: u64) -> String {
    if nanos >= 10_000_000 {
        format!("{:.0} ms", nanos as f64 / 1e6)
    } else if nanos >= 1_000_000 {
        format!("{:.2} ms", nanos as f64 / 1e6)
    } else {
        format!("{:.0} µs", nanos as f64 / 1e3)
    }
}

/// Human-readable rate: 1234567 → "1.23 M".
pub fn fmt_rate(per_sec: f64) -> String {
    if per_sec >= 1e6 {
        format!("{:.2} M", per_sec / 1e6)
    } else if per_sec >= 1e3 {
        format!("{:.1} k", per_sec / 1e3)
    } else {
        format!("{per_sec:.0} ")
    }
}

/// Further processes whose CPU time counts as the server's (`--also-pid`).
static ALSO: std::sync::OnceLock<Vec<u32>> = std::sync::OnceLock::new();

/// Counts the CPU time of `pids` as the server's from now on (set once, at start).
pub fn count_also(pids: &[u32]) {
    ALSO.set(pids.to_vec()).ok();
}

/// CPU ticks of the server: `pid` and the processes of [`count_also`].
fn server_ticks(pid: u32) -> Option<u64> {
    let also = ALSO.get().map_or(&[][..], Vec::as_slice);
    std::iter::once(pid)
        .chain(also.iter().copied())
        .map(|pid| cpu_ticks(&pid.to_string()))
        .sum()
}

/// CPU ticks (user + system) of a process: `self` or a PID.
fn cpu_ticks(pid: &str) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may contain spaces; fields follow the last ')'.
    let rest = stat.get(stat.rfind(')')? + 1..)?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state); utime and stime are fields 14 and 15.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// (busy, total) ticks of the whole machine, from the first line of `/proc/stat`.
fn machine_ticks() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().next()?;
    let values: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal (guest time is already in user).
    let total: u64 = values.iter().take(8).sum();
    let idle = values.get(3).copied().unwrap_or(0) + values.get(4).copied().unwrap_or(0);
    Some((total.saturating_sub(idle), total))
}

/// A `/proc/PID/status` field in KiB, such as `VmRSS` or `VmHWM`.
pub fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|line| {
        let value = line.strip_prefix(field)?.strip_prefix(':')?;
        value.split_whitespace().next()?.parse().ok()
    })
}

/// CPU use of the server, this generator and the whole machine at one moment.
#[derive(Clone, Copy)]
pub struct CpuSample {
    at: Instant,
    server: Option<u64>,
    generator: Option<u64>,
    machine: Option<(u64, u64)>,
}

impl CpuSample {
    pub fn now(server_pid: Option<u32>) -> Self {
        Self {
            at: Instant::now(),
            server: server_pid.and_then(server_ticks),
            generator: cpu_ticks("self"),
            machine: machine_ticks(),
        }
    }
}

/// CPU spent between two samples.
pub struct CpuUse {
    pub wall_s: f64,
    pub server_s: Option<f64>,
    pub generator_s: Option<f64>,
    /// Busy cores of the whole machine, averaged.
    pub machine_busy_cores: Option<f64>,
    /// Cores used by processes other than the server and this generator (noise).
    pub other_cores: Option<f64>,
}

impl CpuUse {
    pub fn between(a: &CpuSample, b: &CpuSample) -> Self {
        let wall_s = b.at.duration_since(a.at).as_secs_f64().max(1e-9);
        let secs =
            |x: Option<u64>, y: Option<u64>| Some(y?.saturating_sub(x?) as f64 / TICKS_PER_SEC);
        let server_s = secs(a.server, b.server);
        let generator_s = secs(a.generator, b.generator);
        let (machine_busy_cores, machine_cores_total) = match (a.machine, b.machine) {
            (Some((busy_a, total_a)), Some((busy_b, total_b))) => {
                let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
                let total = total_b.saturating_sub(total_a).max(1) as f64;
                let busy = busy_b.saturating_sub(busy_a) as f64;
                (Some(busy / total * cores), Some(cores))
            }
            _ => (None, None),
        };
        let other_cores = match (machine_busy_cores, machine_cores_total) {
            (Some(busy), Some(_)) => {
                let ours = server_s.unwrap_or(0.0) + generator_s.unwrap_or(0.0);
                Some((busy - ours / wall_s).max(0.0))
            }
            _ => None,
        };
        Self {
            wall_s,
            server_s,
            generator_s,
            machine_busy_cores,
            other_cores,
        }
    }

    /// JSON with CPU per unit of work (`per` units, e.g. deliveries) in µs.
    pub fn json(&self, per: u64) -> Value {
        let per_unit = |s: Option<f64>| s.filter(|_| per > 0).map(|s| round2(s * 1e6 / per as f64));
        json!({
            "wall_s": round3(self.wall_s),
            "server_cpu_s": self.server_s.map(round3),
            "server_cpu_us_per_unit": per_unit(self.server_s),
            "server_cores": self.server_s.map(|s| round2(s / self.wall_s)),
            "generator_cpu_s": self.generator_s.map(round3),
            "generator_cpu_us_per_unit": per_unit(self.generator_s),
            "generator_cores": self.generator_s.map(|s| round2(s / self.wall_s)),
            "machine_busy_cores": self.machine_busy_cores.map(round2),
            "other_cores": self.other_cores.map(round2),
        })
    }

    /// One line for a human.
    pub fn line(&self, per: u64, unit: &str) -> String {
        let per_unit = |s: Option<f64>| match s {
            Some(s) if per > 0 => format!("{:.2} µs/{unit}", s * 1e6 / per as f64),
            _ => "n/a".to_owned(),
        };
        let cores =
            |s: Option<f64>| s.map_or("n/a".to_owned(), |s| format!("{:.2}", s / self.wall_s));
        format!(
            "server CPU {} cores ({}), generator CPU {} cores ({}), machine busy {} cores, others {}",
            cores(self.server_s),
            per_unit(self.server_s),
            cores(self.generator_s),
            per_unit(self.generator_s),
            self.machine_busy_cores
                .map_or("n/a".to_owned(), |c| format!("{c:.2}")),
            self.other_cores
                .map_or("n/a".to_owned(), |c| format!("{c:.2}")),
        )
    }
}

pub fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

pub fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// Samples the server's VmRSS every 20 ms on the local task set and keeps the peak since the
/// last [`reset`](Self::reset).
#[derive(Clone)]
pub struct RssPeak {
    peak: Rc<Cell<u64>>,
    pid: Option<u32>,
}

impl RssPeak {
    /// Starts sampling; the sampler stops when every clone of the handle is dropped.
    pub fn start(pid: Option<u32>) -> Self {
        let peak = Rc::new(Cell::new(0));
        let weak = Rc::downgrade(&peak);
        if let Some(pid) = pid {
            tokio::task::spawn_local(async move {
                let mut tick = tokio::time::interval(Duration::from_millis(20));
                loop {
                    tick.tick().await;
                    let Some(peak) = weak.upgrade() else { break };
                    if let Some(rss) = status_kib(pid, "VmRSS") {
                        peak.set(peak.get().max(rss));
                    }
                }
            });
        }
        Self { peak, pid }
    }

    pub fn reset(&self) {
        self.peak.set(self.now().unwrap_or(0));
    }

    pub fn now(&self) -> Option<u64> {
        status_kib(self.pid?, "VmRSS")
    }

    pub fn peak(&self) -> Option<u64> {
        self.pid?;
        Some(self.peak.get().max(self.now().unwrap_or(0)))
    }
}

/// The machine's count of connections dropped because a listening socket's accept queue was
/// full (`TcpExt: ListenOverflows` in `/proc/net/netstat`). The client's SYN is then
/// retransmitted after 1 s, so a burst of reconnects that overflows the queue waits that long.
pub fn listen_overflows() -> Option<u64> {
    let netstat = std::fs::read_to_string("/proc/net/netstat").ok()?;
    let mut lines = netstat.lines().filter(|l| l.starts_with("TcpExt:"));
    let names = lines.next()?;
    let values = lines.next()?;
    let index = names
        .split_whitespace()
        .position(|n| n == "ListenOverflows")?;
    values.split_whitespace().nth(index)?.parse().ok()
}
