//! Load generator for WebSocket relays that speak the seed's plain-text protocol.
//!
//! It measures any server with the seed's two paths (`/ws_multi_client` broadcast,
//! `/ws_multi_client_dict` addressed `id/text`): classchat's relay and the Tornado reference
//! alike. No subprotocol is offered, so classchat answers with the seed's exact texts. The one
//! exception is the reconnect storm (`--scenario storm`), which resumes `classchat.v1`
//! sessions and so measures classchat only.
//!
//! ```text
//! cargo bench --bench load -- --url ws://127.0.0.1:30005 --server-pid 1234 --scenario all
//! ```
//!
//! Each scenario prints readable lines and one `RESULT {json}` line. The generator runs on a
//! single thread so that it takes at most one core from the server it measures; every phase
//! reports the CPU time of both processes (and of the rest of the machine) so it is visible
//! which side was the limit. Every wait is bounded: a lost message is counted, never awaited.

#[path = "load/broadcast.rs"]
mod broadcast;
#[path = "load/connections.rs"]
mod connections;
#[path = "load/flood.rs"]
mod flood;
#[path = "load/metrics.rs"]
mod metrics;
#[path = "load/route_flood.rs"]
mod route_flood;
#[path = "load/routing.rs"]
mod routing;
#[path = "load/storm.rs"]
mod storm;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::{Parser, ValueEnum};
use futures_util::StreamExt as _;
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// A client connection as the generator holds it.
pub type Ws = WebSocketStream<TcpStream>;

/// The seed's broadcast path.
pub const BROADCAST_PATH: &str = "/ws_multi_client";
/// The seed's addressed path.
pub const DIRECT_PATH: &str = "/ws_multi_client_dict";
/// What the seed puts before every broadcast text.
pub const BROADCAST_PREFIX: &str = "The server return anyone's message: ";
/// What the seed's addressed path says first.
pub const WELCOME_PREFIX: &str = "Your ID is: ";

/// How long one connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Scenario {
    Broadcast,
    Routing,
    Connections,
    Slow,
    /// One sender floods the broadcast room with no window.
    Flood,
    /// Every client of the addressed room floods random others with no window.
    RouteFlood,
    /// `classchat.v1` clients all drop with a reset and resume at once (classchat only).
    Storm,
    /// A flood with one slow reader and one stopped reader.
    Stall,
    All,
}

/// Load benchmark for seed-compatible WebSocket servers.
#[derive(Parser, Debug)]
#[command(name = "load", args_override_self = true)]
pub struct Args {
    /// Base URL of the server (no path).
    #[arg(long, default_value = "ws://127.0.0.1:30005")]
    pub url: String,
    /// PID of the server process, to read its CPU time and memory from /proc.
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// Another relay of the same chat (a cluster), repeatable: connections alternate between
    /// `--url` and these.
    #[arg(long = "also-url", value_name = "URL")]
    pub also_urls: Vec<String>,
    /// Another process of the server side (a relay of the cluster, the NATS server),
    /// repeatable: its CPU time counts as the server's.
    #[arg(long = "also-pid", value_name = "PID")]
    pub also_pids: Vec<u32>,
    /// Which scenario to run.
    #[arg(long, value_enum, default_value_t = Scenario::All)]
    scenario: Scenario,
    /// Clients in the broadcast, routing and slow scenarios.
    #[arg(long, default_value_t = 1000)]
    pub clients: usize,
    /// Most messages the broadcast sender sends in the saturated phase.
    #[arg(long, default_value_t = 20_000)]
    pub messages: usize,
    /// Longest sending time of a saturated phase, in seconds.
    #[arg(long, default_value_t = 5.0)]
    pub secs: f64,
    /// Messages in flight (sent, not yet received by every client) at saturation.
    #[arg(long, default_value_t = 64)]
    pub window: usize,
    /// Messages per second of the paced broadcast phase.
    #[arg(long, default_value_t = 20.0)]
    pub rate: f64,
    /// Duration of the paced broadcast phase, in seconds.
    #[arg(long, default_value_t = 5.0)]
    pub paced_secs: f64,
    /// Most messages each routing client sends to its partner.
    #[arg(long, default_value_t = 2_000)]
    pub route_messages: usize,
    /// Messages in flight per routing client.
    #[arg(long, default_value_t = 32)]
    pub route_window: usize,
    /// Idle clients in the connections scenario.
    #[arg(long, default_value_t = 10_000)]
    pub connections: usize,
    /// Clients that never read, in the slow scenario.
    #[arg(long, default_value_t = 5)]
    pub slow_clients: usize,
    /// Filler bytes per message in the slow scenario (both of its runs), so that the kernel's
    /// send queue towards a non-reading client (autotuned up to `tcp_wmem`'s maximum, 4 MiB by
    /// default) fills within the run and the server has to decide what to do.
    #[arg(long, default_value_t = 4096)]
    pub slow_payload: usize,
    /// Filler bytes per message in the broadcast and routing scenarios.
    #[arg(long, default_value_t = 0)]
    pub payload: usize,
    /// Messages the flood sender writes, with no window (flood scenario).
    #[arg(long, default_value_t = 10_000)]
    pub flood_messages: usize,
    /// Longest sending time of a flood (flood, route-flood and stall scenarios), in seconds.
    #[arg(long, default_value_t = 60.0)]
    pub flood_secs: f64,
    /// Messages each client writes to random others, with no window (route-flood scenario).
    #[arg(long, default_value_t = 200)]
    pub route_flood_messages: usize,
    /// Messages per second of the storm's sender.
    #[arg(long, default_value_t = 200.0)]
    pub storm_rate: f64,
    /// Seconds the storm's sender sends before every client drops.
    #[arg(long, default_value_t = 2.0)]
    pub storm_before_secs: f64,
    /// Seconds the storm's sender keeps sending after the drop.
    #[arg(long, default_value_t = 5.0)]
    pub storm_after_secs: f64,
    /// Messages of each flood in the stall scenario (a calibration flood, then the measured
    /// one with the slow and the stopped reader).
    #[arg(long, default_value_t = 5_000)]
    pub stall_messages: usize,
    /// Filler bytes per message in the stall scenario, so that its floods outgrow what the
    /// kernel buffers for the stopped reader (a server with nothing waiting for a client has
    /// no reason to cut it).
    #[arg(long, default_value_t = 200)]
    pub stall_payload: usize,
    /// The server's stall timeout (`classchat serve --stall-secs`), for the report.
    #[arg(long, default_value_t = 5.0)]
    pub stall_secs: f64,
    /// The slow reader's pace as a fraction of the calibration flood's pace.
    #[arg(long, default_value_t = 0.1)]
    pub slow_read_fraction: f64,
    /// Connections opened at once.
    #[arg(long, default_value_t = 64)]
    pub connect_concurrency: usize,
    /// Name of the server in the output.
    #[arg(long, default_value = "server")]
    pub label: String,
    /// Hard limit for the whole run, in seconds.
    #[arg(long, default_value_t = 540.0)]
    pub deadline_secs: f64,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

/// Where the server is.
#[derive(Clone, Debug)]
pub struct Target {
    pub addr: SocketAddr,
    pub base: String,
    /// Further relays of the same chat; connections take turns, `addr` first.
    others: Vec<(SocketAddr, String)>,
    /// How many connections were opened, to pick the next relay.
    opened: std::rc::Rc<std::cell::Cell<usize>>,
}

impl Target {
    async fn parse(url: &str, also: &[String]) -> anyhow::Result<Self> {
        let first = Self::parse_one(url).await?;
        let mut others = Vec::new();
        for url in also {
            let other = Self::parse_one(url).await?;
            others.push((other.addr, other.base));
        }
        Ok(Self { others, ..first })
    }

    /// The relay the next connection goes to.
    fn next(&self) -> (SocketAddr, &str) {
        let n = self.opened.get();
        self.opened.set(n + 1);
        match n % (self.others.len() + 1) {
            0 => (self.addr, &self.base),
            i => self
                .others
                .get(i - 1)
                .map_or((self.addr, self.base.as_str()), |(a, b)| (*a, b.as_str())),
        }
    }

    async fn parse_one(url: &str) -> anyhow::Result<Self> {
        let parsed = url::Url::parse(url).with_context(|| format!("bad --url {url}"))?;
        if parsed.scheme() != "ws" {
            bail!("--url must start with ws:// (loopback only, no TLS)");
        }
        let host = parsed.host_str().context("--url has no host")?.to_owned();
        let port = parsed
            .port_or_known_default()
            .context("--url has no port")?;
        let addr = tokio::net::lookup_host((host.as_str(), port))
            .await?
            .next()
            .with_context(|| format!("cannot resolve {host}"))?;
        if !addr.ip().is_loopback() {
            bail!("the benchmark runs on loopback only, {addr} is not");
        }
        Ok(Self {
            addr,
            base: format!("ws://{}", addr),
            others: Vec::new(),
            opened: std::rc::Rc::default(),
        })
    }
}

/// How to open one connection.
#[derive(Clone, Debug, Default)]
pub struct ConnectOptions {
    /// A small socket receive buffer, in bytes (the kernel doubles it).
    pub recv_buffer: Option<u32>,
    /// The WebSocket subprotocol to offer.
    pub subprotocol: Option<&'static str>,
    /// Local address to connect from. Every loopback address works on Linux, so clients can
    /// come from different addresses like a real class (the relay limits handshakes per
    /// address).
    pub source: Option<std::net::IpAddr>,
    /// Query string after the path, without the `?`.
    pub query: Option<String>,
}

/// Opens a WebSocket to `path`, optionally with a small socket receive buffer.
pub async fn connect(target: &Target, path: &str, recv_buffer: Option<u32>) -> anyhow::Result<Ws> {
    let options = ConnectOptions {
        recv_buffer,
        ..ConnectOptions::default()
    };
    connect_with(target, path, &options).await
}

/// Opens a WebSocket to `path` as `options` say.
pub async fn connect_with(
    target: &Target,
    path: &str,
    options: &ConnectOptions,
) -> anyhow::Result<Ws> {
    let (addr, base) = target.next();
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    if let Some(bytes) = options.recv_buffer {
        socket.set_recv_buffer_size(bytes)?;
    }
    if let Some(ip) = options.source {
        socket.bind(SocketAddr::new(ip, 0))?;
    }
    let stream = socket.connect(addr).await?;
    stream.set_nodelay(true)?;
    let config = WebSocketConfig::default()
        .read_buffer_size(16 * 1024)
        .write_buffer_size(16 * 1024);
    let url = match &options.query {
        Some(query) => format!("{base}{path}?{query}"),
        None => format!("{base}{path}"),
    };
    let mut request = url.into_client_request()?;
    if let Some(protocol) = options.subprotocol {
        request
            .headers_mut()
            .insert("Sec-WebSocket-Protocol", HeaderValue::from_static(protocol));
    }
    let (ws, _response) =
        tokio_tungstenite::client_async_with_config(request, stream, Some(config)).await?;
    Ok(ws)
}

/// Opens `n` connections, `concurrency` at a time, each bounded by [`CONNECT_TIMEOUT`].
/// `prepare` runs on each fresh connection (e.g. to read a welcome) before it counts.
/// Returns the connections in order, the failures and the first error.
pub async fn connect_many<T, F, Fut>(
    target: &Target,
    path: &str,
    n: usize,
    concurrency: usize,
    prepare: F,
) -> (Vec<T>, usize, Option<String>)
where
    F: Fn(Ws) -> Fut,
    Fut: Future<Output = anyhow::Result<T>>,
{
    let results: Vec<anyhow::Result<T>> = futures_util::stream::iter(0..n)
        .map(|_| async {
            let attempt = async { prepare(connect(target, path, None).await?).await };
            match tokio::time::timeout(CONNECT_TIMEOUT, attempt).await {
                Ok(result) => result,
                Err(_) => bail!("connect timed out"),
            }
        })
        .buffered(concurrency.max(1))
        .collect()
        .await;
    let mut ok = Vec::with_capacity(n);
    let mut failed = 0;
    let mut first_error = None;
    for r in results {
        match r {
            Ok(c) => ok.push(c),
            Err(e) => {
                failed += 1;
                first_error.get_or_insert_with(|| format!("{e:#}"));
            }
        }
    }
    (ok, failed, first_error)
}

/// Reads the seed's `Your ID is: …` welcome.
pub async fn read_welcome(mut ws: Ws) -> anyhow::Result<(Ws, String)> {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) => {
                let id = t
                    .as_str()
                    .strip_prefix(WELCOME_PREFIX)
                    .with_context(|| format!("expected a welcome, got {:?}", t.as_str()))?
                    .to_owned();
                return Ok((ws, id));
            }
            Some(Ok(Message::Close(_))) | None => bail!("closed before the welcome"),
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(e.into()),
        }
    }
}

/// Nanoseconds since `base`, the timestamp carried in messages.
pub fn stamp(base: Instant) -> u64 {
    u64::try_from(base.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// A run of `n` filler characters.
pub fn filler(n: usize) -> String {
    "x".repeat(n)
}

/// Prints the machine-readable summary line.
pub fn result_line(value: &serde_json::Value) {
    println!("RESULT {value}");
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    // Thousands of clients need as many descriptors: raise the soft limit to the hard one.
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) if (limit as usize) < args.connections + 100 => println!(
            "warning: only {limit} open files allowed (raise `ulimit -Hn`); the connections scenario will fall short"
        ),
        Ok(_) => {}
        Err(e) => println!("warning: cannot raise the open-file limit: {e}"),
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, run(args))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let target = Target::parse(&args.url, &args.also_urls).await?;
    metrics::count_also(&args.also_pids);
    let deadline = Instant::now() + Duration::from_secs_f64(args.deadline_secs.max(1.0));
    let rss = metrics::RssPeak::start(args.server_pid);
    println!(
        "[{}] load generator: server {} pid {}, one thread; CPU figures from /proc",
        args.label,
        target.base,
        args.server_pid
            .map_or("unknown".to_owned(), |p| p.to_string())
    );
    let scenarios: &[Scenario] = match args.scenario {
        // The storm speaks `classchat.v1`, which only classchat understands: ask for it by name.
        Scenario::All => &[
            Scenario::Broadcast,
            Scenario::Routing,
            Scenario::Slow,
            Scenario::Connections,
            Scenario::Flood,
            Scenario::RouteFlood,
            Scenario::Stall,
        ],
        ref one => std::slice::from_ref(one),
    };
    let mut failures = 0;
    for scenario in scenarios {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            println!("[{}] deadline reached, {scenario:?} skipped", args.label);
            failures += 1;
            continue;
        }
        let outcome = tokio::time::timeout(left, async {
            match scenario {
                Scenario::Broadcast => broadcast::scenario(&args, &target, &rss).await,
                Scenario::Routing => routing::scenario(&args, &target, &rss).await,
                Scenario::Slow => broadcast::slow_scenario(&args, &target, &rss).await,
                Scenario::Connections => connections::scenario(&args, &target, &rss).await,
                Scenario::Flood => flood::scenario(&args, &target, &rss).await,
                Scenario::RouteFlood => route_flood::scenario(&args, &target, &rss).await,
                Scenario::Storm => storm::scenario(&args, &target, &rss).await,
                Scenario::Stall => flood::stall_scenario(&args, &target, &rss).await,
                Scenario::All => Ok(()),
            }
        })
        .await;
        match outcome {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                failures += 1;
                println!("[{}] {scenario:?} failed: {e:#}", args.label);
            }
            Err(_) => {
                failures += 1;
                println!(
                    "[{}] {scenario:?} stopped at the global deadline",
                    args.label
                );
            }
        }
        // Let the server settle (closed sockets, freed memory) between scenarios.
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    if failures > 0 {
        bail!("{failures} scenario(s) did not complete");
    }
    Ok(())
}
