//! Plain state of the window: settings, the chat session and its connection state. No egui
//! widgets here; [`Chat::handle`] turns network events into state and log rows.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc::UnboundedReceiver;

use super::classroom::{self, Action, Classroom};
use super::command::TlsFile;
use super::composer::{self, Forbidden, InputError};
use super::i18n::Lang;
use super::log::{Entry, EntryKind, Log, Note, Room, RowHeights, local_time};
use super::share::{self, QrCode};
use crate::bridge::{
    AddressError, Announcement, ClientHandle, ClientInfo, Disconnect, ErrorCode, Event, HostEvent,
    HostHandle, HostNote, HostRequest, HostStarted, JoinConfig, Journal, Recipient, Role,
    RosterEntry, SendId, Stats,
};

/// Hosting again within this time of the last hosting keeps a generated join code: a restart
/// of the same lesson, not a new one.
pub const RESTART_GAP: Duration = Duration::from_secs(20 * 60);

/// What the start screen remembers between runs (eframe persistence).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Port to host on, as typed.
    pub port: String,
    /// Join code the host asks for (empty: none).
    pub host_code: String,
    /// Whether `host_code` was made by Generate rather than typed. A generated code serves
    /// one lesson: hosting again soon after (a restart) keeps it, so students are not locked
    /// out; a later session gets a fresh one, so last lesson's code does not open this one.
    pub host_code_generated: bool,
    /// When the window last hosted with the generated code (ms since the Unix epoch).
    pub host_code_hosted_ms: Option<u64>,
    /// The host's name in the chat.
    pub host_name: String,
    /// The room name announced on the local network (what students see on their Join card).
    pub room_name: String,
    /// Address to join, as typed.
    pub address: String,
    /// Name to join with (empty: let the relay choose).
    pub name: String,
    /// Join code to join with.
    pub join_code: String,
    /// The host key to join with, making this window a host of the relay (empty: a
    /// student). A secret: not kept between runs.
    #[serde(skip)]
    pub host_key: String,
    /// Language of the window.
    pub lang: Lang,
    /// The window's zoom in percent (Ctrl+ / Ctrl− / Ctrl 0), kept for the next start.
    pub zoom_percent: u16,
    /// Host with TLS: the PEM certificate file, as typed or picked (empty: plain `http://`).
    pub tls_cert: String,
    /// Its PEM private key file (empty: in the certificate's file).
    pub tls_key: String,
    /// Join over TLS trusting this PEM certificate file too (a classroom's self-signed
    /// certificate, or the school's own authority); empty: the system's certificates only.
    pub ca_cert: String,
}

impl Default for Settings {
    fn default() -> Self {
        Self::for_lang(Lang::from_env())
    }
}

impl Settings {
    /// What Start hosting asks for; `None` when the port is not a number from 0 to 65535.
    pub fn host_request(&self, journal_dir: Option<PathBuf>) -> Option<HostRequest> {
        Some(HostRequest {
            port: self.port.trim().parse().ok()?,
            join_code: self.host_join_code(),
            name: non_empty(&self.host_name),
            room_name: Some(self.room_name.clone()),
            journal_dir,
            // One file may hold both; whichever is missing is looked for in the other.
            tls_cert: non_empty(&self.tls_cert)
                .or_else(|| non_empty(&self.tls_key))
                .map(PathBuf::from),
            tls_key: non_empty(&self.tls_key)
                .or_else(|| non_empty(&self.tls_cert))
                .map(PathBuf::from),
        })
    }

    /// The join code the host asks for, if any.
    pub fn host_join_code(&self) -> Option<String> {
        non_empty(&self.host_code)
    }

    /// What Join connects to, or why the address cannot be joined.
    pub fn join_config(&self) -> Result<JoinConfig, AddressError> {
        crate::bridge::join_config(
            &self.address,
            non_empty(&self.name),
            non_empty(&self.join_code),
            non_empty(&self.host_key),
            non_empty(&self.ca_cert).map(PathBuf::from),
        )
    }

    /// What joining again with `code` connects to (the code is then remembered for the next
    /// start, like one typed on the start screen); `None` for an empty code.
    pub fn join_with_code(&mut self, code: &str) -> Option<Result<JoinConfig, AddressError>> {
        let code = code.trim();
        if code.is_empty() {
            return None;
        }
        code.clone_into(&mut self.join_code);
        Some(self.join_config())
    }

    /// The path field a file dialog for `which` fills.
    pub fn file_field(&mut self, which: TlsFile) -> &mut String {
        match which {
            TlsFile::Cert => &mut self.tls_cert,
            TlsFile::Key => &mut self.tls_key,
            TlsFile::Ca => &mut self.ca_cert,
        }
    }

    /// Makes a random six-digit join code for hosting.
    pub fn generate_code(&mut self) {
        use rand::Rng as _;
        let code: u32 = rand::rng().random_range(0..1_000_000);
        self.host_code = format!("{code:06}");
        self.host_code_generated = true;
        self.host_code_hosted_ms = None;
    }

    /// Hosting starts at `now_ms`: a generated code last hosted with more than
    /// [`RESTART_GAP`] ago (another lesson) is replaced by a fresh one; one hosted with just
    /// before (the host stopped, or the app was closed or crashed, and starts again) is kept,
    /// so the students' code still works. A typed code is kept, and an empty one still means
    /// no code.
    pub fn code_for_new_session(&mut self, now_ms: u64) {
        let stale = self
            .host_code_hosted_ms
            .is_some_and(|then| now_ms.saturating_sub(then) > RESTART_GAP.as_millis() as u64);
        if self.host_code_generated && stale {
            self.generate_code();
        }
        self.still_hosting(now_ms);
    }

    /// Hosting goes on at `now_ms` (called while hosting and when it stops).
    pub fn still_hosting(&mut self, now_ms: u64) {
        if self.host_code_generated {
            self.host_code_hosted_ms = Some(now_ms);
        }
    }

    /// The host typed the code (or gave it on the command line): keep it for every session.
    pub fn code_typed(&mut self) {
        self.host_code_generated = false;
        self.host_code_hosted_ms = None;
    }

    /// First-run settings in `lang` (the host's default name depends on it).
    pub fn for_lang(lang: Lang) -> Self {
        Self {
            port: crate::bridge::DEFAULT_PORT.to_string(),
            host_code: String::new(),
            host_code_generated: false,
            host_code_hosted_ms: None,
            host_name: lang.s().default_host_name.to_owned(),
            room_name: lang.s().default_room_name.to_owned(),
            address: String::new(),
            name: String::new(),
            join_code: String::new(),
            host_key: String::new(),
            lang,
            zoom_percent: 100,
            tls_cert: String::new(),
            tls_key: String::new(),
            ca_cert: String::new(),
        }
    }

    /// Switches the language; a host name or room name still at the old language's default
    /// takes the new language's default (a typed one is kept).
    pub fn set_lang(&mut self, lang: Lang) {
        let (old, new) = (self.lang.s(), lang.s());
        if self.host_name == old.default_host_name {
            new.default_host_name.clone_into(&mut self.host_name);
        }
        if self.room_name == old.default_room_name {
            new.default_room_name.clone_into(&mut self.room_name);
        }
        self.lang = lang;
    }

    /// The zoom as egui's factor (between 0.5 and 3).
    pub fn zoom(&self) -> f32 {
        (f32::from(self.zoom_percent) / 100.0).clamp(0.5, 3.0)
    }

    /// Remembers egui's zoom factor.
    pub fn set_zoom(&mut self, zoom: f32) {
        // Rounded to whole percent; the clamp keeps the cast in range.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let percent = (zoom * 100.0).round().clamp(50.0, 300.0) as u16;
        self.zoom_percent = percent;
    }
}

/// The trimmed text, if there is any.
fn non_empty(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

/// Where the connection stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConnState {
    /// Trying to connect.
    Connecting {
        /// Attempt since the last success (1 is the first).
        attempt: u32,
    },
    /// Connected; `legacy` for a seed server (no roster, no senders).
    Connected {
        /// Seed-only server.
        legacy: bool,
    },
    /// Lost; the next attempt starts at `retry_at`.
    Waiting {
        /// Why it was lost.
        reason: Disconnect,
        /// When the client tries again.
        retry_at: Instant,
    },
    /// Ended for good.
    Stopped(Disconnect),
}

impl ConnState {
    /// The state as one sentence.
    pub fn describe(&self, lang: Lang) -> String {
        match self {
            Self::Connecting { attempt } => lang.connecting(*attempt),
            Self::Connected { legacy: false } => lang.s().connected.to_owned(),
            Self::Connected { legacy: true } => lang.s().connected_legacy.to_owned(),
            Self::Waiting { reason, retry_at } => {
                lang.reconnecting_in(reason, retry_at.saturating_duration_since(Instant::now()))
            }
            Self::Stopped(reason) => lang.disconnected(reason),
        }
    }

    /// Whether messages can be sent now.
    pub fn connected(&self) -> bool {
        matches!(self, Self::Connected { .. })
    }
}

/// The message box.
#[derive(Debug, Default)]
pub struct Composer {
    /// What is typed.
    pub text: String,
    /// Why the last attempt was not sent, with the text it was about (hidden once edited).
    pub hint: Option<(InputError, String)>,
    /// The user left the box with Esc: the window stops putting the keyboard focus back.
    pub released: bool,
}

impl Composer {
    /// The hint, while the text is still the one it was about.
    pub fn current_hint(&self) -> Option<&InputError> {
        self.hint
            .as_ref()
            .filter(|(_, text)| *text == self.text)
            .map(|(e, _)| e)
    }
}

/// Scroll position of the log as the last frame left it.
#[derive(Debug)]
pub struct LogView {
    /// The log shows its last row.
    pub at_bottom: bool,
    /// Messages from others that arrived while unfocused or scrolled up.
    pub unread: usize,
    /// Scroll to the end on the next frame.
    pub jump_to_bottom: bool,
    /// Row heights at the log's current width (virtual scrolling).
    pub heights: RowHeights,
}

impl Default for LogView {
    fn default() -> Self {
        Self {
            at_bottom: true,
            unread: 0,
            jump_to_bottom: false,
            heights: RowHeights::default(),
        }
    }
}

/// One joined chat (as host or student): connection, roster, log and message box.
#[derive(Debug)]
pub struct Chat {
    client: ClientHandle,
    events: UnboundedReceiver<Event>,
    /// This client's ID, once the relay told it.
    pub own_id: Option<String>,
    /// Connection state.
    pub state: ConnState,
    /// Everyone connected, in order of arrival; `None` on a seed server.
    pub roster: Option<Vec<ClientInfo>>,
    /// The message log.
    pub log: Log,
    /// The message box.
    pub composer: Composer,
    /// Scroll state of the log.
    pub view: LogView,
    /// Connected at least once (until then, failures go back to the start screen).
    pub ever_connected: bool,
    /// What the roster's search field holds.
    pub roster_filter: String,
    /// The relay said the host muted this client (until a message of ours gets through).
    pub muted: bool,
    /// The last line sent, until the relay echoes it: a refused line goes back in the box.
    last_sent: Option<String>,
    /// The log already says the connection was lost: retries only update the status line.
    disconnect_logged: bool,
    /// What this client sent that the relay has not confirmed yet, oldest first.
    pub pending: Vec<Pending>,
    /// The last message shown was replayed from the relay's history.
    in_replay: bool,
    /// Room modes, hands, the poll and the pinned message.
    pub classroom: Classroom,
    /// The new join code being typed after the relay refused the old one.
    pub new_code: String,
    /// The new-code field should take the focus (once, when the code is refused).
    pub focus_new_code: bool,
}

/// A message this client sent that is not confirmed yet: shown dimmed until it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pending {
    /// The send, as the client library names it.
    pub id: SendId,
    /// The recipient.
    pub to: Recipient,
    /// The text.
    pub text: String,
}

/// What the app must do after an event.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing more.
    Continue,
    /// Never connected and the attempt failed: back to the start screen with this reason.
    Failed(Disconnect),
}

impl Chat {
    /// A session for a client that is starting to connect.
    pub fn new(client: ClientHandle, events: UnboundedReceiver<Event>) -> Self {
        Self {
            client,
            events,
            own_id: None,
            state: ConnState::Connecting { attempt: 1 },
            roster: None,
            log: Log::default(),
            composer: Composer::default(),
            view: LogView::default(),
            ever_connected: false,
            roster_filter: String::new(),
            muted: false,
            last_sent: None,
            disconnect_logged: false,
            pending: Vec::new(),
            in_replay: false,
            classroom: Classroom::default(),
            new_code: String::new(),
            focus_new_code: false,
        }
    }

    /// Whether this client is a host of the relay (it may steer the room).
    pub fn is_host(&self) -> bool {
        let own = self.own_id.as_deref();
        self.roster.as_ref().is_some_and(|roster| {
            roster
                .iter()
                .any(|c| Some(c.id.as_str()) == own && c.role == Some(Role::Host))
        })
    }

    /// What the room's modes keep this client from sending to `to`, if anything.
    pub fn forbidden(&self, to: &Recipient) -> Option<Forbidden> {
        let roster = self.roster.as_deref().unwrap_or_default();
        composer::forbidden(to, self.classroom.modes, self.own_id.as_deref(), roster)
    }

    /// Raises a hand, votes, or (hosts) steers the room.
    pub fn classroom_action(&mut self, action: Action) {
        if let Some(message) = self.classroom.control(action) {
            self.client.control(message);
        }
    }

    /// A joined host removes someone with the `kick` control message.
    pub fn kick(&mut self, peer_id: String) {
        self.classroom_action(Action::Kick(peer_id.clone()));
        self.log.note(Note::Kicked(peer_id));
    }

    /// A joined host mutes or unmutes someone with the `mute` control message.
    pub fn set_muted(&mut self, peer_id: String, muted: bool) {
        self.classroom_action(Action::SetMuted(peer_id.clone(), muted));
        self.log.note(Note::Muted(peer_id, muted));
    }

    /// The relay refused this chat's join code after it had been joined: the host restarted
    /// with a new code, which the user is asked for.
    pub fn needs_new_code(&self) -> bool {
        self.ever_connected && self.state == ConnState::Stopped(Disconnect::WrongJoinCode)
    }

    /// Continues on a new connection (the same chat, joined again with another code): the
    /// log stays, the roster waits for the new welcome.
    pub fn reconnect(&mut self, client: ClientHandle, events: UnboundedReceiver<Event>) {
        self.client = client;
        self.events = events;
        self.state = ConnState::Connecting { attempt: 1 };
        self.disconnect_logged = false;
        self.new_code.clear();
    }

    /// The send `id` is settled (confirmed, refused or handed back): no longer pending.
    fn settle(&mut self, id: SendId) {
        self.pending.retain(|p| p.id != id);
    }

    /// The client, for sending.
    pub fn client(&self) -> &ClientHandle {
        &self.client
    }

    /// IDs in the roster, if the server sends one.
    pub fn roster_ids(&self) -> Option<Vec<String>> {
        self.roster
            .as_ref()
            .map(|r| r.iter().map(|c| c.id.clone()).collect())
    }

    /// Sends what is in the message box, or keeps it with a hint saying why not; whether it
    /// was sent.
    pub fn send_composed(&mut self) -> bool {
        let roster = self.roster_ids();
        let line = self.composer.text.clone();
        let checked = composer::check(&line, roster.as_deref()).and_then(|addressed| {
            // Refused for certain by the room's modes: say why before sending.
            match self.forbidden(&addressed.to) {
                Some(forbidden) => Err(InputError::Forbidden(forbidden)),
                None => Ok(addressed),
            }
        });
        match checked {
            Ok(addressed) => {
                // The client library decides what shows as sent: a relay and the seed's
                // broadcast server echo the line back, and for the seed's addressed server
                // (which echoes nothing) the client emits it itself.
                let id = self
                    .client
                    .send(addressed.to.clone(), addressed.text.to_owned());
                self.pending.push(Pending {
                    id,
                    to: addressed.to.clone(),
                    text: addressed.text.to_owned(),
                });
                // Cleared like the seed page's field: every line names its recipient.
                self.last_sent = Some(std::mem::take(&mut self.composer.text));
                self.composer.hint = None;
                self.view.jump_to_bottom = true;
                true
            }
            Err(error) => {
                self.composer.hint = Some((error, line));
                false
            }
        }
    }

    /// Drains pending events for at most `budget`; `attentive` says whether the user sees
    /// the end of the log (focused window, scrolled to the bottom).
    pub fn drain(&mut self, lang: Lang, attentive: bool, budget: Duration) -> Outcome {
        self.log.set_lang(lang);
        let start = Instant::now();
        while start.elapsed() < budget {
            let Ok(event) = self.events.try_recv() else {
                break;
            };
            if let Outcome::Failed(reason) = self.handle(event, attentive) {
                return Outcome::Failed(reason);
            }
        }
        Outcome::Continue
    }

    /// Whether events are waiting (the last drain ran out of time).
    pub fn has_pending(&self) -> bool {
        !self.events.is_empty()
    }

    /// Applies one event.
    pub fn handle(&mut self, event: Event, attentive: bool) -> Outcome {
        match event {
            Event::Connecting { attempt } => self.state = ConnState::Connecting { attempt },
            Event::Connected {
                id,
                clients,
                legacy,
            } => {
                self.own_id = id;
                self.roster = if legacy { None } else { clients };
                self.state = ConnState::Connected { legacy };
                self.ever_connected = true;
                // A new session has no hand up; a resumed one gets it back (below).
                self.classroom.hand_up = false;
                self.disconnect_logged = false;
                self.log.note(Note::Connected {
                    own_id: self.own_id.clone(),
                    legacy,
                });
            }
            Event::Joined(info) => {
                self.log.note(Note::Joined(vec![info.id.clone()]));
                if let Some(roster) = &mut self.roster
                    && !roster.iter().any(|c| c.id == info.id)
                {
                    roster.push(info);
                }
            }
            Event::Left { id } => {
                self.log.note(Note::Left(vec![id.clone()]));
                if let Some(roster) = &mut self.roster {
                    roster.retain(|c| c.id != id);
                }
            }
            Event::Message(incoming) => {
                // Replayed history sits between two dividers, so that nobody mistakes it for
                // what is being said now.
                if incoming.replay != self.in_replay {
                    self.in_replay = incoming.replay;
                    self.log.note(Note::Divider {
                        earlier: incoming.replay,
                    });
                }
                if let Some(id) = incoming.confirms {
                    self.settle(id);
                }
                let entry = Entry::message(incoming, self.own_id.as_deref());
                if entry.is_from_others() && !attentive {
                    self.view.unread += 1;
                }
                if !entry.is_from_others() && matches!(entry.kind, EntryKind::Message { .. }) {
                    // Our line got through: not muted (any more), nothing to give back.
                    self.muted = false;
                    self.last_sent = None;
                }
                self.log.push(entry);
            }
            Event::Refused {
                code,
                message,
                about,
                send,
            } => {
                let to = send
                    .and_then(|id| self.pending.iter().find(|p| p.id == id))
                    .map(|p| p.to.clone());
                if let Some(id) = send {
                    self.settle(id);
                }
                if let Some(about) = &about {
                    self.classroom.undo(about);
                }
                let note = match (code, about.as_deref(), to) {
                    (ErrorCode::NotAllowed, Some("vote" | "poll_close"), _) => {
                        Note::Forbidden(Forbidden::PollClosed)
                    }
                    (ErrorCode::NotAllowed, None, Some(Recipient::Everyone)) => {
                        Note::Forbidden(Forbidden::Everyone)
                    }
                    (ErrorCode::NotAllowed, None, Some(Recipient::Client(_))) => {
                        Note::Forbidden(Forbidden::Private)
                    }
                    _ => Note::Refused { code, message },
                };
                if matches!(code, ErrorCode::Muted | ErrorCode::NotAllowed) && about.is_none() {
                    self.muted |= code == ErrorCode::Muted;
                    // Give the text back unless the user is already typing something else.
                    if self.composer.text.is_empty()
                        && let Some(line) = self.last_sent.take()
                    {
                        self.composer.text = line;
                    }
                }
                self.log.note(note);
            }
            Event::Resumed { recovered } => {
                self.classroom.resumed(recovered);
                self.log.note(Note::Resumed { recovered });
            }
            Event::Confirmed { id } => self.settle(id),
            Event::NotSent { id, to, text } => {
                self.settle(id);
                let line = format!("{to}/{text}");
                self.log.note(Note::NotSent(line.clone()));
                // Give the text back unless the user is already typing something else.
                if self.composer.text.is_empty() {
                    self.composer.text = line;
                }
            }
            Event::ControlNotSent(message) => {
                self.classroom.undo(classroom::message_type(&message));
                self.log.note(Note::ActionNotSent);
            }
            Event::Classroom(news) => {
                if let Some(note) = self.classroom.handle(news) {
                    self.log.note(note);
                }
            }
            Event::Disconnected { reason, retry_in } => {
                self.classroom.connection_lost();
                if !self.ever_connected && reason != Disconnect::Closed {
                    return Outcome::Failed(reason);
                }
                match retry_in {
                    Some(wait) => {
                        // One row for the loss; the status bar counts down the retries.
                        if !self.disconnect_logged {
                            let retry_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
                            self.log.note(Note::Lost {
                                reason: reason.clone(),
                                retry_ms,
                            });
                            self.disconnect_logged = true;
                        }
                        self.state = ConnState::Waiting {
                            reason,
                            retry_at: Instant::now() + wait,
                        };
                    }
                    None => {
                        self.log.note(Note::Stopped(reason.clone()));
                        self.state = ConnState::Stopped(reason);
                        self.focus_new_code = self.needs_new_code();
                    }
                }
            }
        }
        Outcome::Continue
    }
}

/// Hosting: the relay, what students type, and the host's own session.
#[derive(Debug)]
pub struct HostChat {
    /// The host's own chat session. Declared first so it is dropped (and leaves) first.
    pub chat: Chat,
    /// The relay, through the bridge; dropping it closes every client with "the host stopped
    /// the chat".
    pub host: HostHandle,
    /// The port the relay listens on.
    pub port: u16,
    /// What students type.
    pub addresses: Vec<String>,
    /// The join code, if any.
    pub join_code: Option<String>,
    /// The relay's roster as the bridge last sent it (for mute flags and the count).
    pub relay_roster: Vec<RosterEntry>,
    /// The IDs in `relay_roster` that are muted.
    pub muted: Vec<String>,
    /// The people the host removed and has not let back, by the ID they had.
    pub removed: Vec<String>,
    /// The relay's counters as the bridge last sent them.
    pub stats: Stats,
    /// The announcement on the local network; dropping it (with the session) withdraws it.
    pub announcement: Option<Announcement>,
    /// The session journal, when it could be created.
    pub journal: Option<Journal>,
    /// Log rows of the whole session already appended to the journal (counting rows the log
    /// has since dropped).
    pub journaled: usize,
    /// Quiet notes for the host panel: what did not start, though hosting works.
    pub notes: Vec<HostNote>,
    /// The browser join link shown, copied and encoded in the QR code.
    pub link: String,
    /// The link as a QR code (`None` if it is too long to encode).
    pub qr: Option<QrCode>,
    /// The QR code fills the window (for the projector).
    pub projector: bool,
    /// The host panel shows how students join (else the classroom controls).
    pub join_tab: bool,
    /// The host's listener in the broadcast room and its events.
    broadcast: Option<(ClientHandle, UnboundedReceiver<Event>)>,
    /// The listener's ID while it is connected: it is the host's, not a student, so the
    /// counters and the relay's roster leave it out.
    listener_id: Option<String>,
}

impl HostChat {
    /// The host's state once the relay runs; `join_code` goes into the join link.
    pub fn new(hosted: HostStarted, join_code: Option<String>) -> Self {
        let address = hosted.addresses.first().map_or("localhost", String::as_str);
        let link = share::join_link(address, join_code.as_deref());
        Self {
            chat: Chat::new(hosted.client, hosted.events),
            host: hosted.host,
            port: hosted.port,
            qr: QrCode::new(&link),
            link,
            addresses: hosted.addresses,
            join_code,
            relay_roster: Vec::new(),
            muted: Vec::new(),
            removed: Vec::new(),
            stats: Stats::default(),
            announcement: hosted.announcement,
            journal: hosted.journal,
            journaled: 0,
            notes: hosted.notes,
            projector: false,
            join_tab: true,
            broadcast: hosted.broadcast,
            listener_id: None,
        }
    }

    /// Takes what arrived outside the host's own connection (the broadcast room, the relay's
    /// roster and counters) and journals the new log rows.
    pub fn news(&mut self) {
        // The listener's ID first: the counters leave it out.
        self.broadcast_news();
        self.relay_news();
        self.journal_new_rows(false);
    }

    /// Takes the roster and counter changes the bridge sent. The bridge wakes the window when
    /// they change, so an idle host window sleeps.
    pub fn relay_news(&mut self) {
        while let Some(event) = self.host.try_event() {
            match event {
                HostEvent::Roster(mut roster) => {
                    roster.retain(|e| Some(&e.info.id) != self.listener_id.as_ref());
                    self.muted = roster
                        .iter()
                        .filter(|e| e.muted)
                        .map(|e| e.info.id.clone())
                        .collect();
                    self.relay_roster = roster;
                }
                HostEvent::Stats(mut stats) => {
                    if self.listener_id.is_some() {
                        stats.clients = stats.clients.saturating_sub(1);
                    }
                    self.stats = stats;
                }
                HostEvent::Removed(removed) => self.removed = removed,
            }
        }
    }

    /// Removes a client through the relay (the same as a host's `kick` message).
    pub fn kick(&mut self, peer_id: String) {
        self.host.kick(&peer_id);
        self.chat.log.note(Note::Kicked(peer_id));
    }

    /// Mutes or unmutes a client through the relay (the same as a host's `mute` message).
    pub fn set_muted(&mut self, peer_id: String, muted: bool) {
        self.host.set_muted(&peer_id, muted);
        self.chat.log.note(Note::Muted(peer_id, muted));
    }

    /// Takes the messages written in the broadcast room into the log, marked with their room.
    /// A line from someone in the host's own room (the relay may pass it on to both rooms) is
    /// already in the log.
    pub fn broadcast_news(&mut self) {
        let Some((_, events)) = &mut self.broadcast else {
            return;
        };
        let roster = self.chat.roster.as_deref().unwrap_or_default();
        while let Ok(event) = events.try_recv() {
            let incoming = match event {
                Event::Message(incoming) => incoming,
                Event::Connected { id, .. } => {
                    self.listener_id = id;
                    continue;
                }
                Event::Disconnected { .. } => {
                    self.listener_id = None;
                    continue;
                }
                _ => continue,
            };
            let from_here = incoming
                .from
                .as_deref()
                .is_some_and(|from| roster.iter().any(|c| c.id == from));
            if !from_here {
                let entry = Entry::message(incoming, None).in_room(Room::Broadcast);
                self.chat.log.push(entry);
            }
        }
    }

    /// Appends the log rows that arrived since the last call to the journal. A last row of
    /// joins or leaves may still grow, so it waits unless `all` (the session ends).
    pub fn journal_new_rows(&mut self, all: bool) {
        let log = &self.chat.log;
        let end = if all { log.len() } else { log.settled_len() };
        let rows = log.entries().get(..end).unwrap_or_default();
        // `journaled` counts rows of the whole session; the log may have dropped old ones.
        let start = self.journaled.saturating_sub(log.dropped());
        if let (Some(journal), Some(new)) = (&self.journal, rows.get(start..)) {
            for row in new {
                journal.append(row.to_journal(log.lang()));
            }
        }
        self.journaled = self.journaled.max(end + log.dropped());
        self.note_journal_health();
    }

    /// Ends the session: the rest of the log goes to the journal (the kick notes of the last
    /// frame too), and the log stays to be read as the session that just ended. Dropping the
    /// rest leaves, stops the relay and withdraws the announcement.
    pub fn end(mut self) -> PreviousChat {
        self.journal_new_rows(true);
        let log = std::mem::take(&mut self.chat.log);
        let started = log
            .entries()
            .first()
            .map_or_else(crate::bridge::now_ms, |e| e.ts);
        PreviousChat {
            started,
            log,
            view: LogView::default(),
            ended: true,
        }
    }

    /// Keeps the host panel's journal notes true: a failing write shows while it fails, and
    /// trimming shows once it happened.
    fn note_journal_health(&mut self) {
        let Some(journal) = &self.journal else {
            return;
        };
        let failing = journal.health().map(HostNote::JournalFailing);
        let trimmed = journal.rotations() > 0;
        self.notes
            .retain(|note| !matches!(note, HostNote::JournalFailing(_)));
        self.notes.extend(failing);
        if trimmed && !self.notes.contains(&HostNote::JournalTrimmed) {
            self.notes.push(HostNote::JournalTrimmed);
        }
    }
}

/// A finished session loaded from its journal.
#[derive(Debug)]
pub struct PreviousChat {
    /// When its first line was written (Unix ms).
    pub started: u64,
    /// Its lines.
    pub log: Log,
    /// Scroll state while it is viewed.
    pub view: LogView,
    /// The session hosted in this window that was just stopped (not one read from disk).
    pub ended: bool,
}

impl PreviousChat {
    /// Reads a journal (blocking: run it off the UI thread). `None` if it cannot be read or
    /// holds no line.
    pub fn load(path: &Path) -> Option<Self> {
        let entries = crate::bridge::read_journal(path)
            .inspect_err(|e| tracing::warn!("{e}"))
            .ok()?;
        let started = entries.first()?.ts;
        let mut log = Log::default();
        for entry in entries {
            log.push(Entry::from(entry));
        }
        Some(Self {
            started,
            log,
            view: LogView::default(),
            ended: false,
        })
    }

    /// The start time as `2026-11-29 10:42`, in local time.
    pub fn when(&self) -> String {
        local_time(self.started, "%Y-%m-%d %H:%M")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: u64 = 60_000;

    #[test]
    fn a_generated_code_survives_a_restart_but_not_into_the_next_lesson() {
        let mut settings = Settings::for_lang(Lang::En);
        settings.generate_code();
        let shown = settings.host_code.clone();
        let start = 1_000 * MINUTE;
        settings.code_for_new_session(start);
        assert_eq!(
            settings.host_code, shown,
            "the code on screen is the first session's"
        );
        // Hosting for 50 minutes, then the app restarts (or Stop, Start) 5 minutes later.
        settings.still_hosting(start + 50 * MINUTE);
        settings.code_for_new_session(start + 55 * MINUTE);
        assert_eq!(
            settings.host_code, shown,
            "a restart keeps the students' code"
        );
        // The next lesson, hours later, gets fresh codes.
        let mut codes = std::collections::HashSet::from([shown]);
        let mut now = start + 55 * MINUTE;
        for _ in 0..5 {
            now += 180 * MINUTE;
            settings.code_for_new_session(now);
            codes.insert(settings.host_code.clone());
        }
        // Six random six-digit codes: a repeat is a one-in-tens-of-thousands chance.
        assert!(codes.len() >= 5, "{codes:?}");
    }

    #[test]
    fn settings_saved_before_the_restart_rule_still_load() {
        let old = r#"{"port":"30005","host_code":"123456","host_code_generated":true,"host_code_used":true}"#;
        let settings: Settings = serde_json::from_str(old).expect("old settings load");
        assert_eq!(settings.host_code, "123456");
        assert_eq!(settings.host_code_hosted_ms, None);
    }

    #[test]
    fn defaults_follow_the_language_but_typed_names_stay() {
        let mut settings = Settings::for_lang(Lang::En);
        settings.set_lang(Lang::Ja);
        assert_eq!(settings.host_name, Lang::Ja.s().default_host_name);
        assert_eq!(settings.room_name, Lang::Ja.s().default_room_name);
        settings.host_name = "山田".to_owned();
        settings.set_lang(Lang::En);
        assert_eq!(settings.host_name, "山田");
        assert_eq!(settings.room_name, Lang::En.s().default_room_name);
    }

    #[test]
    fn a_typed_code_or_none_is_kept() {
        let mut settings = Settings::for_lang(Lang::En);
        settings.generate_code();
        settings.host_code = "2468".into();
        settings.code_typed();
        for hours in [1, 5, 48] {
            settings.code_for_new_session(hours * 60 * MINUTE);
            assert_eq!(settings.host_code, "2468");
        }
        let mut none = Settings::for_lang(Lang::En);
        none.code_for_new_session(MINUTE);
        none.code_for_new_session(300 * MINUTE);
        assert_eq!(none.host_code, "");
    }
}
