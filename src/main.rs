//! The `classchat` binary: the desktop app by default, `serve` for a headless relay and `join`
//! for a terminal client.
//!
//! With no subcommand the window opens; `--host` or `--join ADDRESS` open it straight into
//! hosting or joining (for desktop shortcuts and the screenshot script).
//!
//! On Windows a release build is a GUI program (no console window on double-click); `serve` and
//! `join` attach to the console of the terminal they were started from, so they still print.
#![cfg_attr(all(windows, not(debug_assertions)), windows_subsystem = "windows")]

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
#[cfg(feature = "gui")]
use classchat::bridge::{Backend, HostRequest};
use classchat::client::{JoinConfig, Trust, parse_address};
use classchat::hosting::{self, HostConfig};
use classchat::protocol::{DEFAULT_PORT, DIRECT_PATH};
use classchat::relay::{ClusterConfig, RelayConfig};
use classchat::terminal;
use classchat::tls::ServerTls;
#[cfg(feature = "gui")]
use classchat::ui::{App, Lang, Launch};

/// Classroom chat: host a chat for your class, or join one.
///
/// Without a subcommand the desktop window opens. `--host` starts hosting at once (with
/// `--port`, `--join-code`, `--name`); `--join ADDRESS` joins at once (with `--name`, `--code`).
#[derive(Parser, Debug)]
#[command(version, about, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<CliCommand>,
    #[command(flatten)]
    window: WindowArgs,
}

/// Options of the desktop window.
#[derive(Args, Debug)]
struct WindowArgs {
    /// Open the window and start hosting a chat at once.
    #[arg(long, conflicts_with = "join")]
    host: bool,
    /// Port to host on (with --host; default 30005).
    #[arg(long, value_name = "PORT", requires = "host")]
    port: Option<u16>,
    /// Join code students must type (with --host).
    #[arg(long, value_name = "CODE", requires = "host")]
    join_code: Option<String>,
    /// Your name in the chat (with --host or --join).
    #[arg(long, value_name = "NAME")]
    name: Option<String>,
    /// Open the window and join the chat at this address at once (`host`, `host:port`, or a
    /// `ws://`, `wss://`, `http://` or `https://` URL).
    #[arg(long, value_name = "ADDRESS")]
    join: Option<String>,
    /// The host's join code (with --join).
    #[arg(long, value_name = "CODE", requires = "join")]
    code: Option<String>,
    /// Language of the window (default: from the system locale, then the last choice).
    #[arg(long, value_enum, value_name = "LANG")]
    lang: Option<LangArg>,
}

/// `--lang` values.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum LangArg {
    /// 日本語.
    Ja,
    /// English.
    En,
}

/// The headless subcommands.
#[derive(Subcommand, Debug)]
enum CliCommand {
    /// Run the chat relay without a window (for a server or a terminal).
    Serve(Box<ServeArgs>),
    /// Join a chat in this terminal: type `id/message`, `*/message`, or `/help` for the
    /// classroom commands (raise your hand, vote; for the host: pin, poll, mute, modes).
    Join(JoinArgs),
}

#[derive(Args, Debug)]
struct ServeArgs {
    /// Address to listen on (0.0.0.0: every network of this machine).
    #[arg(long, default_value = "0.0.0.0")]
    bind: IpAddr,
    /// TCP port.
    #[arg(long, default_value_t = DEFAULT_PORT)]
    port: u16,
    /// Require this join code (clients pass `?code=`).
    #[arg(long)]
    join_code: Option<String>,
    /// The host key: a client that passes `?host=TOKEN` is a host and may steer the room
    /// (modes, mute, remove, polls, pin). Without it a fresh key is made and printed at start,
    /// with a join link that carries it.
    #[arg(long, value_name = "TOKEN")]
    host_token: Option<String>,
    /// Also accept browser pages from this Origin, e.g. `https://school.example`
    /// (repeatable). The relay's own join page is always accepted, and so are programs that
    /// send no Origin; any other web page is refused (403).
    #[arg(long = "allow-origin", value_name = "ORIGIN")]
    allow_origins: Vec<String>,
    /// Also answer to this host name, e.g. behind a reverse proxy (repeatable). IP
    /// addresses, `localhost`, this machine's name and `.local` names always work; any other
    /// name in `Host` is refused (403), which stops DNS rebinding.
    #[arg(long = "allow-host", value_name = "NAME")]
    allow_hosts: Vec<String>,
    /// Most clients connected at once. The app and the join page are let in only while
    /// fewer than 5021 are connected: their welcome frame lists everyone and must fit in
    /// 1 MiB. Seed clients (no subprotocol) get no welcome, so this alone limits them.
    #[arg(long, default_value_t = RelayConfig::default().max_clients)]
    max_clients: usize,
    /// Most connections from one address (an IPv6 /64 counts as one); more get 429. Leave
    /// room for a classroom behind one NAT (0: no limit).
    #[arg(long, default_value_t = RelayConfig::default().max_per_address)]
    max_per_address: u32,
    /// Largest message in bytes; larger ones close the connection (1009).
    #[arg(long, default_value_t = RelayConfig::default().max_message_bytes)]
    max_message_bytes: usize,
    /// Messages per second each client may send (0: unlimited).
    #[arg(long, default_value_t = RelayConfig::default().rate_per_sec, value_parser = parse_rate,
          allow_negative_numbers = true)]
    rate: f64,
    /// Messages a client may send in a burst.
    #[arg(long, default_value_t = RelayConfig::default().rate_burst)]
    burst: u32,
    /// Bytes of text per second each client may send (0: unlimited); over it, messages are
    /// refused like over --rate.
    #[arg(long, value_name = "BYTES", default_value_t = RelayConfig::default().rate_bytes_per_sec)]
    rate_bytes: u64,
    /// Bytes a client may send in a burst before --rate-bytes applies.
    #[arg(long, value_name = "BYTES", default_value_t = RelayConfig::default().rate_bytes_burst)]
    burst_bytes: u64,
    /// Frames queued for one client beyond which those writing to it are paused.
    #[arg(long, default_value_t = RelayConfig::default().outbox_len)]
    outbox: usize,
    /// Seconds a client's socket may take no bytes at all, while messages wait for it, before
    /// it is cut off (1013). Also the longest a stopped reader delays those writing to it.
    #[arg(long, default_value_t = RelayConfig::default().stall.as_secs(), value_parser = clap::value_parser!(u64).range(1..=3600))]
    stall_secs: u64,
    /// Messages each room keeps for late joiners and resuming clients (0: no history).
    #[arg(long, default_value_t = RelayConfig::default().history)]
    history: usize,
    /// Bytes of message text each room's history keeps at most.
    #[arg(long, default_value_t = RelayConfig::default().history_bytes)]
    history_bytes: usize,
    /// Seconds between pings, 1 to 86400; a client silent for two intervals is dropped.
    #[arg(long, default_value_t = RelayConfig::default().heartbeat.as_secs(),
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    heartbeat_secs: u64,
    /// Read buffer per connection, in bytes.
    #[arg(long, default_value_t = RelayConfig::default().read_buffer_bytes)]
    read_buffer: usize,
    /// Room name announced on the local network (mDNS), shown in the app's Join screen.
    #[arg(long, default_value = "classchat")]
    room_name: String,
    /// Do not announce the chat on the local network.
    #[arg(long)]
    no_announce: bool,
    /// Serve the health counters at /metrics (Prometheus text format).
    #[arg(long)]
    metrics: bool,
    /// Seconds between summary lines in the log, up to 86400 (0: none).
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(0..=86_400))]
    summary_secs: u64,
    /// Serve TLS with this PEM certificate chain (the relay's certificate first): the chat at
    /// `wss://`, the join page at `https://`, on the same port. Needs --tls-key.
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert; a key that does not belong to it is refused at start.
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Run as one relay of a cluster: relays on the same NATS server (with JetStream, `-js`)
    /// act as one chat. Several servers may be given, separated by commas.
    #[arg(long, value_name = "nats://HOST:PORT")]
    cluster: Option<String>,
    /// Which chat of the NATS server this relay serves (default `main`): relays of one chat
    /// share rooms, roster and IDs; several chats (classes) can share one NATS server.
    #[arg(
        long,
        value_name = "NAME",
        default_value = "main",
        requires = "cluster"
    )]
    cluster_chat: String,
    /// This relay's name in the cluster's logs and metrics (default: the machine's name).
    #[arg(long, value_name = "NAME", requires = "cluster")]
    relay_name: Option<String>,
    /// A NATS credentials file (.creds) for --cluster.
    #[arg(long, value_name = "FILE", requires = "cluster")]
    nats_creds: Option<std::path::PathBuf>,
    /// A NATS user for --cluster, with --nats-password.
    #[arg(long, value_name = "USER", requires_all = ["cluster", "nats_password"])]
    nats_user: Option<String>,
    /// The NATS user's password (prefer --nats-creds: a command line is visible to others
    /// on the machine).
    #[arg(long, value_name = "PASSWORD", requires = "nats_user")]
    nats_password: Option<String>,
    /// Copies JetStream keeps of the cluster's streams and buckets: 1 for one NATS server,
    /// 3 for a three-node NATS cluster.
    #[arg(long, default_value_t = 1, requires = "cluster",
          value_parser = clap::value_parser!(u64).range(1..=5))]
    nats_replicas: u64,
}

#[derive(Args, Debug)]
struct JoinArgs {
    /// The host: `host`, `host:port`, or a `ws://`, `wss://`, `http://` or `https://` URL.
    address: String,
    /// Nickname to ask for (Japanese welcome; no `/`).
    #[arg(long)]
    name: Option<String>,
    /// The host's join code.
    #[arg(long)]
    code: Option<String>,
    /// The relay's host key (printed by `classchat serve`): join as a host, who may steer the
    /// room with /pin, /poll, /close, /mute, /kick, /lower and /mode.
    #[arg(long, value_name = "KEY")]
    host_key: Option<String>,
    /// Exit when the connection ends instead of reconnecting.
    #[arg(long)]
    no_reconnect: bool,
    /// For a `wss://` or `https://` address: also trust the certificates in this PEM file
    /// (the host's self-signed certificate, or the school's own CA), besides the system's.
    #[arg(long, value_name = "PEM")]
    ca_cert: Option<PathBuf>,
    /// Another relay of the same cluster (`serve --cluster`), tried when the connection to
    /// the address is lost or cannot be made; the chat continues there. May be repeated.
    #[arg(long = "fallback", value_name = "ADDRESS")]
    fallbacks: Vec<String>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let Some(command) = cli.command else {
        return run_window(cli.window);
    };
    attach_parent_console();
    let filter = match command {
        CliCommand::Serve(_) => "info",
        CliCommand::Join(_) => "warn",
    };
    init_logging(filter);
    let Some(runtime) = build_runtime() else {
        return ExitCode::FAILURE;
    };
    let code = match command {
        CliCommand::Serve(args) => match runtime.block_on(serve(*args)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("classchat: {e:#}");
                ExitCode::FAILURE
            }
        },
        CliCommand::Join(args) => join(&runtime, args),
    };
    // Stdin is read on a blocking thread that only ends with the next line; do not wait for it.
    runtime.shutdown_timeout(Duration::from_secs(1));
    code
}

/// A build without the `gui` feature is the relay and terminal client only.
#[cfg(not(feature = "gui"))]
fn run_window(_: WindowArgs) -> ExitCode {
    eprintln!("classchat: this build has no window; use `classchat serve` or `classchat join`");
    ExitCode::from(2)
}

/// The desktop app: the runtime lives here, the window gets a handle to it.
#[cfg(feature = "gui")]
fn run_window(args: WindowArgs) -> ExitCode {
    init_logging("warn");
    let Some(runtime) = build_runtime() else {
        return ExitCode::FAILURE;
    };
    let backend = Backend::new(runtime.handle().clone());
    let lang = args.lang.map(|lang| match lang {
        LangArg::Ja => Lang::Ja,
        LangArg::En => Lang::En,
    });
    let launch = if args.host {
        Some(Launch::Host(HostRequest {
            port: args.port.unwrap_or(DEFAULT_PORT),
            join_code: args.join_code.filter(|c| !c.is_empty()),
            name: args.name,
            ..HostRequest::default()
        }))
    } else {
        args.join.map(|address| Launch::Join {
            address,
            name: args.name,
            join_code: args.code.filter(|c| !c.is_empty()),
        })
    };
    let mut viewport = egui::ViewportBuilder::default()
        .with_title("classchat")
        .with_app_id(classchat::ui::APP_ID)
        .with_inner_size([1120.0, 720.0])
        .with_min_inner_size([760.0, 480.0]);
    match eframe::icon_data::from_png_bytes(include_bytes!("../assets/icon/classchat-256.png")) {
        Ok(icon) => viewport = viewport.with_icon(icon),
        Err(e) => tracing::warn!("could not load the window icon: {e}"),
    }
    let options = eframe::NativeOptions {
        viewport,
        ..eframe::NativeOptions::default()
    };
    let result = eframe::run_native(
        "classchat",
        options,
        Box::new(move |cc| {
            Ok(Box::new(App::from_creation_context(
                cc, backend, lang, launch,
            )))
        }),
    );
    // Dropped relay and client tasks get a moment to send their close frames.
    runtime.shutdown_timeout(Duration::from_secs(2));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("classchat: the window could not open: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The background runtime for the relay and clients; two workers leave the UI a core.
fn build_runtime() -> Option<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("relay-rt")
        .enable_all()
        .build()
        .inspect_err(|e| eprintln!("classchat: could not start: {e}"))
        .ok()
}

fn init_logging(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(ServerTls::load(cert, key)?),
        _ => None,
    };
    let tls_on = tls.is_some();
    let (ws, http) = if tls_on {
        ("wss", "https")
    } else {
        ("ws", "http")
    };
    let relay = RelayConfig {
        max_message_bytes: args.max_message_bytes,
        rate_per_sec: args.rate,
        rate_burst: args.burst,
        rate_bytes_per_sec: args.rate_bytes,
        rate_bytes_burst: args.burst_bytes,
        max_clients: args.max_clients,
        max_per_address: args.max_per_address,
        outbox_len: args.outbox,
        stall: Duration::from_secs(args.stall_secs),
        history: args.history,
        history_bytes: args.history_bytes,
        heartbeat: Duration::from_secs(args.heartbeat_secs.max(1)),
        join_code: args.join_code.filter(|c| !c.is_empty()),
        host_token: Some(
            args.host_token
                .filter(|t| !t.is_empty())
                .unwrap_or_else(hosting::new_host_key),
        ),
        allowed_origins: args.allow_origins,
        allowed_hosts: args.allow_hosts,
        read_buffer_bytes: args.read_buffer.max(256),
        metrics: args.metrics,
        tls,
        cluster: args.cluster.map(|url| ClusterConfig {
            chat: args.cluster_chat,
            relay_name: args.relay_name,
            credentials: args.nats_creds,
            user: args.nats_user,
            password: args.nats_password,
            replicas: usize::try_from(args.nats_replicas).unwrap_or(1),
            ..ClusterConfig::new(url)
        }),
        ..RelayConfig::default()
    };
    let join_code = relay.join_code.clone();
    let host_token = relay.host_token.clone().unwrap_or_default();
    let config = HostConfig {
        bind: args.bind,
        port: args.port,
        relay,
        announce_as: (!args.no_announce).then_some(args.room_name),
    };
    let hosting = match hosting::host(config).await {
        Ok(hosting) => hosting,
        // Its own sentence says what to do.
        Err(e @ hosting::HostError::Config(_)) => return Err(e.into()),
        Err(e) => {
            return Err(anyhow::Error::new(e).context(format!(
                "could not listen on {}:{} (is another program using the port? try --port)",
                args.bind, args.port
            )));
        }
    };
    println!("classchat relay running. Students join with one of:");
    for address in &hosting.addresses {
        println!("  {ws}://{address}{DIRECT_PATH}");
    }
    if let Some(code) = &join_code {
        println!("Join code: {code}");
    }
    let first = hosting
        .addresses
        .first()
        .map_or("localhost", String::as_str);
    println!("Browser join page: {http}://{first}/");
    // The key is a query value: percent-encode it so that any token makes a working link.
    let key = url::form_urlencoded::byte_serialize(host_token.as_bytes()).collect::<String>();
    println!("Host key: {host_token}");
    let code = join_code.as_deref().map_or_else(String::new, |code| {
        let code = url::form_urlencoded::byte_serialize(code.as_bytes()).collect::<String>();
        format!("&code={code}")
    });
    println!("Host join page (keep it to yourself): {http}://{first}/?host={key}{code}");
    let code_arg = join_code
        .as_deref()
        .map_or_else(String::new, |code| format!(" --code {}", shell_word(code)));
    // A bare address means plain ws://; with a certificate the scheme says TLS.
    let address = if tls_on {
        format!("https://{first}")
    } else {
        first.to_owned()
    };

    println!(
        "Host in a terminal: classchat join {address} --host-key {}{code_arg}",
        shell_word(&host_token)
    );
    if let Some(Err(e)) = &hosting.announcement {
        tracing::warn!("{e}");
    }
    println!("Press Ctrl-C to stop.");
    let mut summary = (args.summary_secs > 0).then(|| {
        let every = Duration::from_secs(args.summary_secs);
        tokio::time::interval_at(tokio::time::Instant::now() + every, every)
    });
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        tokio::select! {
            signal = &mut ctrl_c => {
                if let Err(e) = signal {
                    tracing::warn!("cannot wait for Ctrl-C ({e}); stopping");
                }
                break;
            }
            _ = async {
                match summary.as_mut() {
                    Some(interval) => interval.tick().await,
                    None => std::future::pending().await,
                }
            } => tracing::info!("summary: {}", hosting.relay.stats()),
        }
    }
    println!("Stopping: closing every connection…");
    hosting.relay.shutdown().await;
    Ok(())
}

/// `text` as one word for a POSIX shell, so that a printed command can be pasted as it is.
fn shell_word(text: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_.,:@%+=/".contains(c);
    if !text.is_empty() && text.chars().all(plain) {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

/// `--rate`: a finite number of messages per second, 0 or more.
fn parse_rate(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(rate) if rate.is_finite() && rate >= 0.0 => Ok(rate),
        _ => Err(format!(
            "`{text}` is not a rate: give messages per second as a number, 0 or more (0: \
             unlimited)"
        )),
    }
}

fn join(runtime: &tokio::runtime::Runtime, args: JoinArgs) -> ExitCode {
    let url = match parse_address(&args.address) {
        Ok(url) => url,
        Err(e) => {
            eprintln!("classchat: {e}");
            return ExitCode::from(terminal::Outcome::Unreachable as u8);
        }
    };
    let mut fallbacks = Vec::new();
    for address in &args.fallbacks {
        match parse_address(address) {
            // The same room on every relay.
            Ok(mut fallback) => {
                fallback.set_path(url.path());
                fallbacks.push(fallback);
            }
            Err(e) => {
                eprintln!("classchat: --fallback {address}: {e}");
                return ExitCode::from(terminal::Outcome::Unreachable as u8);
            }
        }
    }
    let config = JoinConfig {
        url,
        name: args.name,
        join_code: args.code,
        host_key: args.host_key.filter(|k| !k.is_empty()),
        reconnect: !args.no_reconnect,
        trust: args.ca_cert.map_or(Trust::System, Trust::WithCaFile),
        fallbacks,
    };
    let outcome = runtime.block_on(terminal::run(config));
    ExitCode::from(outcome as u8)
}

/// Lets `serve` and `join` print to the terminal that started a GUI-subsystem build.
#[cfg(windows)]
#[allow(unsafe_code)]
fn attach_parent_console() {
    use windows_sys::Win32::System::Console::{ATTACH_PARENT_PROCESS, AttachConsole};
    // SAFETY: AttachConsole takes a process ID and has no memory-safety preconditions; it
    // fails harmlessly when there is no parent console.
    unsafe {
        AttachConsole(ATTACH_PARENT_PROCESS);
    }
}

#[cfg(not(windows))]
fn attach_parent_console() {}
