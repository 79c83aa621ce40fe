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
use std::sync::Arc;
use std::time::Duration;

use poll_promise::Promise;
use tokio::runtime::Handle;
use tokio::sync::mpsc::{self, UnboundedReceiver, UnboundedSender};

pub use crate::client::{
    AddressError, Classroom, ClientHandle, Disconnect, Event, Incoming, JoinConfig, SendId, Waker,
};
pub use crate::discovery::{Announcement, Browser, DiscoveryError, FoundRoom};
pub use crate::hosting::HostError;
pub use crate::journal::{
    Entry as JournalEntry, EntryKind as JournalEntryKind, Journal, JournalError,
    Record as JournalRecord, latest as latest_journal, read as read_journal,
};
pub use crate::protocol::{
    Addressed, ClientInfo, ClientMessage, Close, DEFAULT_PORT, EVERYONE, ErrorCode,
    MAX_POLL_OPTIONS, MIN_POLL_OPTIONS, ProtocolError, RaisedHand, Recipient, Role, RoomModes,
    now_ms,
};
pub use crate::relay::{RelayHandle, RosterEntry, Stats};
pub use crate::tls::TlsError;
pub use crate::transcript;

use crate::client::{self, parse_address};
use crate::hosting::{self, HostConfig, Hosting};
use crate::tls::ServerTls;

/// How often the relay's roster and counters are looked at for the host's window.
const WATCH_EVERY: Duration = Duration::from_millis(250);

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
    /// The PEM certificate to serve `https://` and `wss://` with (`None`: plain `http://`).
    pub tls_cert: Option<PathBuf>,
    /// Its PEM private key (`None`: in the certificate's file).
    pub tls_key: Option<PathBuf>,
}

/// A relay that started, with the host's own connection to it.
#[derive(Debug)]
pub struct Hosted {
    /// The running relay; dropping it stops the chat.
    pub relay: Arc<RelayHandle>,
    /// The port it listens on.
    pub port: u16,
    /// The host's own client, connected to `127.0.0.1:port`.
    pub client: ClientHandle,
    /// Events of the host's own client.
    pub events: UnboundedReceiver<Event>,
    /// A second client of the host's in the broadcast room (`/ws_multi_client`), so the host
    /// also sees what students on the course's list client write.
    pub broadcast: Option<(ClientHandle, UnboundedReceiver<Event>)>,
    /// What students type (`LAN-IPv4:port`, or `https://LAN-IPv4:port` with a certificate).
    pub addresses: Vec<String>,
    /// The announcement on the local network, if one was asked for; dropping it withdraws it.
    pub announcement: Option<Result<Announcement, DiscoveryError>>,
    /// The session journal, if a directory was given.
    pub journal: Option<Result<Journal, JournalError>>,
}

/// What the relay's watcher tells the host window; each is sent only when it changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostEvent {
    /// Everyone connected to the relay, with their mute flags.
    Roster(Vec<RosterEntry>),
    /// The relay's counters.
    Stats(Stats),
    /// The people the host removed and has not let back.
    Removed(Vec<String>),
}

/// What the host window asks of its relay.
#[derive(Clone, Debug, PartialEq, Eq)]
enum HostCommand {
    /// Remove a client.
    Kick(String),
    /// Mute or unmute a client.
    SetMuted(String, bool),
    /// Let a removed person back in.
    Readmit(String),
}

/// The window's side of a running relay: kicks and mutes go to the runtime, roster and counter
/// changes come back as [`HostEvent`]s. Nothing here blocks or locks. Dropping it stops the
/// relay, which closes every client with "the host stopped the chat".
#[derive(Debug)]
pub struct HostHandle {
    commands: UnboundedSender<HostCommand>,
    events: UnboundedReceiver<HostEvent>,
}

impl HostHandle {
    /// Removes a client from the chat.
    pub fn kick(&self, peer_id: &str) {
        // Fails only once the relay stopped, when there is no one left to kick.
        self.commands
            .send(HostCommand::Kick(peer_id.to_owned()))
            .ok();
    }

    /// Lets someone the host removed join again.
    pub fn readmit(&self, peer_id: &str) {
        // Fails only once the relay stopped.
        self.commands
            .send(HostCommand::Readmit(peer_id.to_owned()))
            .ok();
    }

    /// Mutes or unmutes a client.
    pub fn set_muted(&self, peer_id: &str, muted: bool) {
        // Fails only once the relay stopped.
        self.commands
            .send(HostCommand::SetMuted(peer_id.to_owned(), muted))
            .ok();
    }

    /// The next roster or counter change, if one is waiting.
    pub fn try_event(&mut self) -> Option<HostEvent> {
        self.events.try_recv().ok()
    }
}

/// Hosting as the window sees it: a handle instead of the relay, and what did not start as
/// [`HostNote`]s.
#[derive(Debug)]
pub struct HostStarted {
    /// The running relay; dropping it stops the chat.
    pub host: HostHandle,
    /// The port it listens on.
    pub port: u16,
    /// The host's own client, connected to `127.0.0.1:port`.
    pub client: ClientHandle,
    /// Events of the host's own client.
    pub events: UnboundedReceiver<Event>,
    /// The host's listener in the broadcast room (`/ws_multi_client`) and its events.
    pub broadcast: Option<(ClientHandle, UnboundedReceiver<Event>)>,
    /// What students type (`LAN-IPv4:port`, or `https://LAN-IPv4:port` with a certificate).
    pub addresses: Vec<String>,
    /// The announcement on the local network; dropping it withdraws it.
    pub announcement: Option<Announcement>,
    /// The session journal, when it could be created.
    pub journal: Option<Journal>,
    /// What did not start, though hosting works.
    pub notes: Vec<HostNote>,
}

impl HostStarted {
    /// Hands the relay to a watcher task on the runtime (call it there).
    fn watch(hosted: Hosted, wake: Waker) -> Self {
        let (command_sender, commands) = mpsc::unbounded_channel();
        let (event_sender, events) = mpsc::unbounded_channel();
        tokio::spawn(watch_relay(hosted.relay, commands, event_sender, wake));
        let mut notes = Vec::new();
        let announcement = match hosted.announcement {
            Some(Err(e)) => {
                notes.push(HostNote::NotAnnounced(e.to_string()));
                None
            }
            other => other.and_then(Result::ok),
        };
        let journal = match hosted.journal {
            Some(Err(e)) => {
                notes.push(HostNote::NoJournal(e.to_string()));
                None
            }
            other => other.and_then(Result::ok),
        };
        Self {
            host: HostHandle {
                commands: command_sender,
                events,
            },
            port: hosted.port,
            client: hosted.client,
            events: hosted.events,
            broadcast: hosted.broadcast,
            addresses: hosted.addresses,
            announcement,
            journal,
            notes,
        }
    }
}

/// Something that did not start with hosting, shown quietly on the host panel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostNote {
    /// The chat is not announced on the local network, for this reason.
    NotAnnounced(String),
    /// No session journal is kept, for this reason.
    NoJournal(String),
    /// The session journal cannot be written just now (a full disk, say), for this reason.
    JournalFailing(String),
    /// The session journal reached its size limit: only its newest part is kept.
    JournalTrimmed,
}

/// How a transcript save ended.
#[derive(Debug)]
pub enum SaveOutcome {
    /// The user cancelled the dialog.
    Cancelled,
    /// No dialog could be shown (no desktop portal, no zenity): the window offers
    /// [`Backend::save_to_documents`] instead.
    NoDialog,
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
    /// Act as if no save dialog could be shown, and use this folder as the documents folder
    /// (tests).
    no_dialog: Option<PathBuf>,
}

impl Backend {
    /// A backend spawning on `runtime` (a multi-thread runtime that outlives the window).
    pub fn new(runtime: Handle) -> Self {
        Self {
            runtime,
            save_path: None,
            no_dialog: None,
        }
    }

    /// Saves transcripts to `path` without showing a dialog (for tests and scripted runs).
    #[must_use]
    pub fn with_save_path(mut self, path: PathBuf) -> Self {
        self.save_path = Some(path);
        self
    }

    /// Acts as if no save dialog could be shown, with `documents` as the documents folder
    /// (for tests of the fallback).
    #[must_use]
    pub fn without_dialog(mut self, documents: PathBuf) -> Self {
        self.no_dialog = Some(documents);
        self
    }

    /// The user's documents folder: `XDG_DOCUMENTS_DIR`, else `Documents` in the home folder
    /// when it exists, else the home folder.
    pub fn documents_dir(&self) -> Option<PathBuf> {
        if let Some(dir) = &self.no_dialog {
            return Some(dir.clone());
        }
        if let Some(dir) = std::env::var_os("XDG_DOCUMENTS_DIR").filter(|d| !d.is_empty()) {
            return Some(PathBuf::from(dir));
        }
        let home = ["HOME", "USERPROFILE"]
            .iter()
            .find_map(|key| std::env::var_os(key).filter(|d| !d.is_empty()))
            .map(PathBuf::from)?;
        let documents = home.join("Documents");
        Some(if documents.is_dir() { documents } else { home })
    }

    /// Writes the transcript into the documents folder as `file_name`, without a dialog (the
    /// fallback when none can be shown). An existing file is not overwritten: a number is added.
    pub fn save_to_documents(
        &self,
        file_name: &str,
        render: Render,
        wake: Waker,
    ) -> Promise<SaveOutcome> {
        let (sender, promise) = Promise::new();
        let Some(dir) = self.documents_dir() else {
            sender.send(SaveOutcome::Failed("no home folder".to_owned()));
            return promise;
        };
        let path = free_path(&dir, file_name);
        self.runtime.spawn(async move {
            sender.send(write_transcript(path, render).await);
            wake();
        });
        promise
    }

    /// The runtime handle.
    pub fn runtime(&self) -> &Handle {
        &self.runtime
    }

    /// Binds `0.0.0.0:port`, starts the relay and joins it as the host. `wake` is called after
    /// each event of the host's client, when the relay's roster or counters change (looked at
    /// every 250 ms) and when the promise is ready.
    pub fn host(
        &self,
        request: HostRequest,
        wake: Waker,
    ) -> Promise<Result<HostStarted, HostError>> {
        let runtime = self.runtime.clone();
        let (sender, promise) = Promise::new();
        self.runtime.spawn(async move {
            let result = host(&runtime, request, Arc::clone(&wake)).await;
            sender.send(result.map(|hosted| HostStarted::watch(hosted, Arc::clone(&wake))));
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

    /// Shows an open-file dialog on the runtime (the window keeps repainting) and answers the
    /// chosen path, or `None` when the user cancelled or no dialog could be shown.
    pub fn pick_file(&self, dialog: SaveDialog, wake: Waker) -> Promise<Option<PathBuf>> {
        let (sender, promise) = Promise::new();
        if self.no_dialog.is_some() || self.save_path.is_some() {
            sender.send(None);
            wake();
            return promise;
        }
        self.runtime.spawn(async move {
            let mut files = rfd::AsyncFileDialog::new().set_title(dialog.title);
            for (name, extensions) in &dialog.filters {
                files = files.add_filter(name, extensions);
            }
            sender.send(files.pick_file().await.map(|f| f.path().to_path_buf()));
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
        if self.no_dialog.is_some() {
            sender.send(SaveOutcome::NoDialog);
            wake();
            return promise;
        }
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
            // With no desktop portal and no zenity, rfd returns `None` at once; nobody
            // cancels a dialog that fast, so that means no dialog was shown.
            let asked = std::time::Instant::now();
            let outcome = match files.save_file().await {
                None if asked.elapsed() < NO_DIALOG_WITHIN => SaveOutcome::NoDialog,
                None => SaveOutcome::Cancelled,
                Some(file) => write_transcript(file.path().to_path_buf(), render).await,
            };
            sender.send(outcome);
            wake();
        });
        promise
    }
}

/// A save dialog that answers "no file" faster than this was never shown.
const NO_DIALOG_WITHIN: std::time::Duration = std::time::Duration::from_millis(300);

/// `dir/file_name`, or `dir/stem (2).ext` and so on when that exists.
fn free_path(dir: &std::path::Path, file_name: &str) -> PathBuf {
    let first = dir.join(file_name);
    if !first.exists() {
        return first;
    }
    let name = std::path::Path::new(file_name);
    let stem = name
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("transcript");
    let ext = name.extension().and_then(|s| s.to_str());
    (2..1000)
        .map(|n| match ext {
            Some(ext) => dir.join(format!("{stem} ({n}).{ext}")),
            None => dir.join(format!("{stem} ({n})")),
        })
        .find(|path| !path.exists())
        .unwrap_or(first)
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
    let tls = match request.tls_cert {
        Some(cert) => {
            let key = request.tls_key.unwrap_or_else(|| cert.clone());
            // Reading files blocks.
            let loaded = tokio::task::spawn_blocking(move || ServerTls::load(&cert, &key))
                .await
                .map_err(|_| HostError::Stopped)??;
            Some(loaded)
        }
        None => None,
    };
    let mut config = HostConfig::new(request.port);
    config.relay.tls = tls.clone();
    config.relay.join_code = request.join_code.clone();
    // The window's own client is the host: only it may take the host's name.
    let host_key = hosting::new_host_key();
    config.relay.host_token = Some(host_key.clone());
    config.relay.host_name = request.name.clone();
    config.announce_as = request.room_name;
    let Hosting {
        relay,
        port,
        addresses,
        announcement,
    } = hosting::host(config).await?;
    let relay = Arc::new(relay);
    // With a certificate, students type `https://` addresses; the host's own clients join on
    // loopback, where the certificate's name cannot match, so they trust exactly it.
    let (scheme, trust, addresses) = match &tls {
        Some(tls) => (
            "wss",
            client::Trust::Pinned(tls.certificate().clone()),
            addresses.iter().map(|a| format!("https://{a}")).collect(),
        ),
        None => ("ws", client::Trust::System, addresses),
    };
    let url =
        parse_address(&format!("{scheme}://127.0.0.1:{port}")).map_err(|_| HostError::Stopped)?;
    // The listener in the broadcast room takes a generated ID (the host's name is taken by the
    // host's own client) and never writes.
    let broadcast = parse_address(&format!("{scheme}://127.0.0.1:{port}/ws_multi_client"))
        .ok()
        .map(|url| {
            let config = JoinConfig {
                url,
                name: None,
                join_code: request.join_code.clone(),
                host_key: None,
                reconnect: true,
                trust: trust.clone(),
                fallbacks: Vec::new(),
            };
            client::connect(runtime, config, Some(Arc::clone(&wake)))
        });
    let config = JoinConfig {
        url,
        name: request.name,
        join_code: request.join_code,
        host_key: Some(host_key),
        reconnect: true,
        trust,
        fallbacks: Vec::new(),
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
        broadcast,
        addresses,
        announcement,
        journal,
    })
}

/// Tells the window about roster and counter changes, and applies its kicks and mutes, until
/// the window drops its [`HostHandle`]; then dropping `relay` stops the chat. Refusals and rate
/// limits reach the host's own client as no event, and the window holds no lock on the relay,
/// so a look at the peer table every 250 ms here replaces one per frame there.
async fn watch_relay(
    relay: Arc<RelayHandle>,
    mut commands: UnboundedReceiver<HostCommand>,
    events: UnboundedSender<HostEvent>,
    wake: Waker,
) {
    let mut every = tokio::time::interval(WATCH_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut roster_shown = None;
    let mut stats_shown = None;
    let mut removed_shown = Vec::new();
    loop {
        tokio::select! {
            command = commands.recv() => match command {
                None => return,
                // An unknown ID (the client just left) needs no answer: the roster shows it.
                Some(HostCommand::Kick(peer_id)) => _ = relay.kick(&peer_id),
                Some(HostCommand::SetMuted(peer_id, muted)) => _ = relay.set_muted(&peer_id, muted),
                Some(HostCommand::Readmit(peer_id)) => _ = relay.readmit(&peer_id),
            },
            _ = every.tick() => {}
        }
        let mut changed = false;
        let roster = relay.clients();
        if roster_shown.as_ref() != Some(&roster) {
            roster_shown = Some(roster.clone());
            changed |= events.send(HostEvent::Roster(roster)).is_ok();
        }
        let stats = relay.stats();
        if stats_shown.replace(stats) != Some(stats) {
            changed |= events.send(HostEvent::Stats(stats)).is_ok();
        }
        let removed = relay.removed();
        if removed != removed_shown {
            removed_shown.clone_from(&removed);
            changed |= events.send(HostEvent::Removed(removed)).is_ok();
        }
        if changed {
            wake();
        }
    }
}

/// Parses what the user typed as an address into a join config; `host_key` makes the client a
/// host of a relay that was given that key (`classchat serve --host-token`).
pub fn join_config(
    address: &str,
    name: Option<String>,
    join_code: Option<String>,
    host_key: Option<String>,
    ca_cert: Option<PathBuf>,
) -> Result<JoinConfig, AddressError> {
    Ok(JoinConfig {
        url: parse_address(address)?,
        name,
        join_code,
        host_key,
        reconnect: true,
        trust: ca_cert.map_or(client::Trust::System, client::Trust::WithCaFile),
        fallbacks: Vec::new(),
    })
}
