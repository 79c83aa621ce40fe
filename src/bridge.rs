//! The one place where the window meets the network: [`Backend`] owns the tokio runtime
//! [`Handle`] and starts hosting, joining, transcript saving and other blocking work on it,
//! handing back handles, event channels and [`Promise`]s that the UI polls without ever
//! blocking.
//!
//! The UI imports the network types it needs from here (re-exported below), never from the
//! WebSocket crates.
//!
//! Try it: `cargo run` opens the window; `cargo test --test ui` drives it against a real relay.

use std::path::PathBuf;
use std::sync::{Arc, Weak};
use std::time::Duration;

use poll_promise::Promise;
use tokio::runtime::Handle;
use tokio::sync::mpsc::UnboundedReceiver;

pub use crate::client::{ClientHandle, Disconnect, Event, Incoming, JoinConfig, Waker};
pub use crate::discovery::{Announcement, Browser, DiscoveryError, FoundRoom};
pub use crate::hosting::HostError;
pub use crate::journal::{Journal, JournalError};
pub use crate::protocol::{Addressed, ClientInfo, EVERYONE, ErrorCode, ProtocolError, Recipient};
pub use crate::relay::{RelayHandle, RosterEntry, Stats};

use crate::client::{self, parse_address};
use crate::hosting::{self, HostConfig, Hosting};

/// How often the relay's counters are looked at for the host's window.
const STATS_EVERY: Duration = Duration::from_secs(1);

/// What the host asked for on the start screen.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HostRequest {
    /// TCP port to listen on (0: any free port, for tests).
    pub port: u16,
    /// Join code students must type, if any.
    pub join_code: Option<String>,
    /// The host's own nickname in the chat.
    pub name: Option<String>,
    /// Room name to announce on the local network (`None`: do not announce).
    pub room_name: Option<String>,
    /// Where to start the session journal (`None`: keep no journal).
    pub journal_dir: Option<PathBuf>,
}

/// A relay that started, with the host's own connection to it.
#[derive(Debug)]
pub struct Hosted {
    /// The running relay; dropping it stops the chat (the counter watcher only holds a weak
    /// reference).
    pub relay: Arc<RelayHandle>,
    /// The port it listens on.
    pub port: u16,
    /// The host's own client, connected to `127.0.0.1:port`.
    pub client: ClientHandle,
    /// Events of the host's own client.
    pub events: UnboundedReceiver<Event>,
    /// What students type (`LAN-IPv4:port`).
    pub addresses: Vec<String>,
    /// The announcement on the local network, if one was asked for; dropping it withdraws it.
    pub announcement: Option<Result<Announcement, DiscoveryError>>,
    /// The session journal, if a directory was given.
    pub journal: Option<Result<Journal, JournalError>>,
}

/// How a transcript save ended.
#[derive(Debug)]
pub enum SaveOutcome {
    /// The user cancelled the dialog, or no dialog could be shown.
    Cancelled,
    /// Written to this path.
    Saved(PathBuf),
    /// Writing failed; the log is untouched.
    Failed(String),
}

/// What the save dialog shows.
#[derive(Clone, Debug, Default)]
pub struct SaveDialog {
    /// Window title.
    pub title: String,
    /// Suggested file name.
    pub file_name: String,
    /// Filters as (name, extensions without dots).
    pub filters: Vec<(String, Vec<String>)>,
}

/// Builds the transcript once the user picked a path (so the format can follow the extension).
pub type Render = Box<dyn FnOnce(&std::path::Path) -> String + Send>;

/// Starts network work on the runtime; cheap to clone.
#[derive(Clone, Debug)]
pub struct Backend {
    runtime: Handle,
    /// Where transcripts go without asking (tests and scripted runs); `None` shows a dialog.
    save_path: Option<PathBuf>,
}

impl Backend {
    /// A backend spawning on `runtime` (a multi-thread runtime that outlives the window).
    pub fn new(runtime: Handle) -> Self {
        Self {
            runtime,
            save_path: None,
        }
    }

    /// Saves transcripts to `path` without showing a dialog (for tests and scripted runs).
    #[must_use]
    pub fn with_save_path(mut self, path: PathBuf) -> Self {
        self.save_path = Some(path);
        self
    }

    /// The runtime handle.
    pub fn runtime(&self) -> &Handle {
        &self.runtime
    }

    /// Binds `0.0.0.0:port`, starts the relay and joins it as the host. `wake` is called after
    /// each event of the host's client, when the relay's counters change (looked at every
    /// second) and when the promise is ready.
    pub fn host(&self, request: HostRequest, wake: Waker) -> Promise<Result<Hosted, HostError>> {
        let runtime = self.runtime.clone();
        let (sender, promise) = Promise::new();
        self.runtime.spawn(async move {
            let result = host(&runtime, request, Arc::clone(&wake)).await;
            sender.send(result);
            wake();
        });
        promise
    }

    /// Starts joining `config.url`; events arrive on the receiver, `wake` after each.
    pub fn join(
        &self,
        config: JoinConfig,
        wake: Waker,
    ) -> (ClientHandle, UnboundedReceiver<Event>) {
        client::connect(&self.runtime, config, Some(wake))
    }

    /// Runs blocking work (disk, network interfaces, mDNS sockets) on the runtime's blocking
    /// threads; `wake` is called once the answer is ready.
    pub fn run_blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
        wake: Waker,
    ) -> Promise<T> {
        let (sender, promise) = Promise::new();
        self.runtime.spawn_blocking(move || {
            sender.send(work());
            wake();
        });
        promise
    }

    /// Shows a save dialog and writes the transcript `render` builds for the chosen path. The
    /// dialog runs on the runtime, so the window keeps repainting.
    pub fn save_transcript(
        &self,
        dialog: SaveDialog,
        render: Render,
        wake: Waker,
    ) -> Promise<SaveOutcome> {
        let (sender, promise) = Promise::new();
        if let Some(path) = self.save_path.clone() {
            self.runtime.spawn(async move {
                sender.send(write_transcript(path, render).await);
                wake();
            });
            return promise;
        }
        self.runtime.spawn(async move {
            let mut files = rfd::AsyncFileDialog::new()
                .set_title(dialog.title)
                .set_file_name(dialog.file_name);
            for (name, extensions) in &dialog.filters {
                files = files.add_filter(name, extensions);
            }
            // With no desktop portal and no zenity, rfd returns `None` at once: "cancelled".
            let outcome = match files.save_file().await {
                None => SaveOutcome::Cancelled,
                Some(file) => write_transcript(file.path().to_path_buf(), render).await,
            };
            sender.send(outcome);
            wake();
        });
        promise
    }
}

/// Writes off the async workers: a slow disk must not stall the relay.
async fn write_transcript(path: PathBuf, render: Render) -> SaveOutcome {
    let written = tokio::task::spawn_blocking(move || {
        let text = render(&path);
        std::fs::write(&path, text).map(|()| path)
    })
    .await;
    match written {
        Ok(Ok(path)) => SaveOutcome::Saved(path),
        Ok(Err(e)) => SaveOutcome::Failed(e.to_string()),
        Err(e) => SaveOutcome::Failed(e.to_string()),
    }
}

async fn host(runtime: &Handle, request: HostRequest, wake: Waker) -> Result<Hosted, HostError> {
    let mut config = HostConfig::new(request.port);
    config.relay.join_code = request.join_code.clone();
    config.announce_as = request.room_name;
    let Hosting {
        relay,
        port,
        addresses,
        announcement,
    } = hosting::host(config).await?;
    let relay = Arc::new(relay);
    tokio::spawn(watch_stats(Arc::downgrade(&relay), Arc::clone(&wake)));
    let url = parse_address(&format!("127.0.0.1:{port}")).map_err(|_| HostError::Stopped)?;
    let config = JoinConfig {
        url,
        name: request.name,
        join_code: request.join_code,
        reconnect: true,
    };
    let (client, events) = client::connect(runtime, config, Some(wake));
    // The journal's file is a blocking system call; keep it off the async workers.
    let journal = match request.journal_dir {
        Some(dir) => Some(
            tokio::task::spawn_blocking(move || Journal::create(&dir))
                .await
                .map_err(|_| HostError::Stopped)?,
        ),
        None => None,
    };
    Ok(Hosted {
        relay,
        port,
        client,
        events,
        addresses,
        announcement,
        journal,
    })
}

/// Wakes the window when the relay's counters change, until the relay is dropped. Refusals
/// and rate limits reach the host's window as no event, and repainting every second just in
/// case costs more than this look at a few atomics.
async fn watch_stats(relay: Weak<RelayHandle>, wake: Waker) {
    let mut every = tokio::time::interval(STATS_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut shown = None;
    loop {
        every.tick().await;
        let Some(stats) = relay.upgrade().map(|relay| relay.stats()) else {
            return;
        };
        if shown.replace(stats) != Some(stats) {
            wake();
        }
    }
}

/// Parses what the user typed as an address into a join config.
pub fn join_config(
    address: &str,
    name: Option<String>,
    join_code: Option<String>,
) -> Result<JoinConfig, crate::client::AddressError> {
    Ok(JoinConfig {
        url: parse_address(address)?,
        name,
        join_code,
        reconnect: true,
    })
}
