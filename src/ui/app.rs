//! [`App`]: the window. [`App::logic`] drains network events and polls promises; [`App::ui`]
//! lays out the panels, which return [`Command`]s that are applied after layout.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use poll_promise::Promise;

use super::chrome::Chrome;
use super::command::{Command, Confirm, TlsFile};
use super::composer;
use super::i18n::Lang;
use super::log::Log;
use super::mode::{Launch, Mode, ModeKind};
use super::nearby::Nearby;
use super::saving::{Destination, Finished, Saving};
use super::state::{Chat, ConnState, HostChat, Outcome, PreviousChat, Settings};
use super::{classroom_panel, host_panel, messages_panel, previous, roster_panel, start_screen};
use super::{status_bar, top_bar, widgets};
use crate::bridge::{Backend, Stats, Waker};

/// Longest time [`App::logic`] spends draining events per frame, so a flood cannot freeze
/// the window; the rest waits for the next frame.
const EVENT_BUDGET: Duration = Duration::from_millis(10);

/// Key of the settings in eframe's storage.
const SETTINGS_KEY: &str = "classchat.settings";

/// The application ID: the window's app ID and the name of its data directory.
pub const APP_ID: &str = "io.github.classchat.ClassChat";

/// The classchat window.
pub struct App {
    backend: Backend,
    /// Start-screen fields and language; persisted.
    pub settings: Settings,
    mode: Mode,
    /// The latest error of the start screen (cleared on success).
    error: Option<String>,
    /// The latest message of the status bar, with whether it is an error.
    status: Option<(String, bool)>,
    saving: Saving,
    launch: Option<Launch>,
    /// Fonts, zoom, caret and title.
    chrome: Chrome,
    /// Chats found on the network, while the start screen shows.
    nearby: Nearby,
    /// Where host sessions keep their journal (`None`: no journal).
    journal_dir: Option<PathBuf>,
    /// The previous session's journal, until loading it starts.
    previous_path: Option<PathBuf>,
    /// The previous session while it loads.
    previous_loading: Option<Promise<Option<PreviousChat>>>,
    /// The previous session, offered on the start screen.
    previous: Option<Box<PreviousChat>>,
    /// The question the window asks before acting (a modal dialog while set).
    confirm: Option<Confirm>,
    /// The file dialog for hosting with TLS, while it is open.
    picking: Option<(TlsFile, Promise<Option<PathBuf>>)>,
}

impl App {
    /// A window with `settings`; `launch` starts hosting or joining on the first frame.
    pub fn new(backend: Backend, settings: Settings, launch: Option<Launch>) -> Self {
        Self {
            backend,
            settings,
            mode: Mode::Start,
            error: None,
            status: None,
            saving: Saving::default(),
            launch,
            chrome: Chrome::default(),
            nearby: Nearby::Off,
            journal_dir: None,
            previous_path: None,
            previous_loading: None,
            previous: None,
            confirm: None,
            picking: None,
        }
    }

    /// Keeps a journal of each hosted session in `dir`, and offers the newest one found there
    /// (from an earlier run) on the start screen.
    #[must_use]
    pub fn with_journal_dir(mut self, dir: Option<PathBuf>) -> Self {
        // A directory listing; the journal itself is read off the UI thread.
        self.previous_path = dir
            .as_deref()
            .and_then(|dir| crate::bridge::latest_journal(dir, None));
        self.journal_dir = dir;
        self
    }

    /// Creates the app inside eframe: restores the settings, installs the fonts.
    pub fn from_creation_context(
        cc: &eframe::CreationContext<'_>,
        backend: Backend,
        lang: Option<Lang>,
        launch: Option<Launch>,
    ) -> Self {
        let mut settings: Settings = cc
            .storage
            .and_then(|storage| eframe::get_value(storage, SETTINGS_KEY))
            .unwrap_or_default();
        if let Some(lang) = lang {
            settings.lang = lang;
        }
        let journal_dir = eframe::storage_dir(APP_ID).map(|dir| dir.join("journal"));
        let mut app = Self::new(backend, settings, launch).with_journal_dir(journal_dir);
        app.chrome.install_fonts(&cc.egui_ctx);
        app
    }

    /// Which mode the window is in.
    pub fn mode(&self) -> ModeKind {
        match &self.mode {
            Mode::Start => ModeKind::Start,
            Mode::StartingHost(_) => ModeKind::StartingHost,
            Mode::Hosting(_) => ModeKind::Hosting,
            Mode::Joined(s) if !s.ever_connected => ModeKind::Joining,
            Mode::Joined(_) => ModeKind::Joined,
            Mode::Reviewing => ModeKind::Reviewing,
        }
    }

    /// The relay's counters as the host panel shows them, when hosting.
    pub fn relay_stats(&self) -> Option<Stats> {
        self.mode.host().map(|host| host.stats)
    }

    /// The previous session offered on the start screen, once loaded.
    pub fn previous_chat(&self) -> Option<&PreviousChat> {
        self.previous.as_deref()
    }

    /// The chat session, when hosting or joined.
    pub fn chat(&self) -> Option<&Chat> {
        self.mode.chat()
    }

    /// The chat session to change from outside (imports, tests).
    pub fn chat_mut(&mut self) -> Option<&mut Chat> {
        self.mode.chat_mut()
    }

    /// The log of the current session, to add rows from outside (imports, tests).
    pub fn log_mut(&mut self) -> Option<&mut Log> {
        self.chat_mut().map(|s| &mut s.log)
    }

    /// The port the relay listens on, when hosting.
    pub fn hosting_port(&self) -> Option<u16> {
        self.mode.host().map(|host| host.port)
    }

    /// The start screen's latest error.
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// The window title as last set (with the unread count).
    pub fn title(&self) -> &str {
        self.chrome.title()
    }

    fn lang(&self) -> Lang {
        self.settings.lang
    }

    /// Per-frame work that needs no layout: events, promises, title. Also called while the
    /// window is hidden.
    pub fn logic(&mut self, ctx: &egui::Context) {
        self.chrome.frame(ctx, &mut self.settings);
        if let Some(launch) = self.launch.take() {
            let command = launch.into_command(&mut self.settings);
            self.apply(ctx, vec![command]);
        }
        self.poll_host_start();
        self.poll_save();
        self.poll_pick();
        self.poll_previous(ctx);
        self.drain_events(ctx);
        let on_start_screen = matches!(
            self.mode(),
            ModeKind::Start | ModeKind::StartingHost | ModeKind::Joining
        );
        self.nearby
            .update(on_start_screen, &self.backend, &Self::waker(ctx));
        if let Mode::Hosting(host) = &mut self.mode {
            host.news();
        }
        if let Some(chat) = self.chat()
            && matches!(chat.state, ConnState::Waiting { .. })
        {
            // The countdown in the status bar.
            ctx.request_repaint_after(Duration::from_secs(1));
        }
        let (unread, hands) = self
            .chat()
            .map_or((0, 0), |s| (s.view.unread, s.classroom.hands.len()));
        self.chrome.update_title(ctx, unread, hands);
    }

    fn poll_host_start(&mut self) {
        let Mode::StartingHost(promise) = &mut self.mode else {
            return;
        };
        if promise.ready().is_none() {
            return;
        }
        let Mode::StartingHost(promise) = std::mem::take(&mut self.mode) else {
            return;
        };
        let Ok(result) = promise.try_take() else {
            return;
        };
        match result {
            Ok(hosted) => {
                self.error = None;
                let join_code = self.settings.host_join_code();
                self.mode = Mode::Hosting(Box::new(HostChat::new(hosted, join_code)));
            }
            Err(e) => self.error = Some(self.lang().host_error(&e)),
        }
    }

    /// Starts reading the previous session's journal on the first frame, then takes it.
    fn poll_previous(&mut self, ctx: &egui::Context) {
        if let Some(path) = self.previous_path.take() {
            let load = move || PreviousChat::load(&path);
            self.previous_loading = Some(self.backend.run_blocking(load, Self::waker(ctx)));
        }
        let Some(promise) = self.previous_loading.take() else {
            return;
        };
        match promise.try_take() {
            Ok(previous) => self.previous = previous.map(Box::new),
            Err(promise) => self.previous_loading = Some(promise),
        }
    }

    /// Takes the certificate or key file the dialog picked into the start screen's field.
    fn poll_pick(&mut self) {
        let Some((which, promise)) = self.picking.take() else {
            return;
        };
        match promise.try_take() {
            Ok(Some(path)) => *self.settings.file_field(which) = path.display().to_string(),
            Ok(None) => {}
            Err(promise) => self.picking = Some((which, promise)),
        }
    }

    fn poll_save(&mut self) {
        match self.saving.poll(self.lang()) {
            None => {}
            Some(Finished::Quiet) => self.status = None,
            Some(Finished::Status(line, error)) => self.status = Some((line, error)),
            Some(Finished::NoDialog(line)) => {
                self.status = Some((line, true));
                self.confirm = Some(Confirm::NoDialog);
            }
        }
    }

    fn drain_events(&mut self, ctx: &egui::Context) {
        let lang = self.lang();
        let focused = ctx.input(|i| i.viewport().focused.unwrap_or(true));
        let Some(chat) = self.chat_mut() else {
            return;
        };
        let attentive = focused && chat.view.at_bottom;
        if attentive {
            chat.view.unread = 0;
        }
        if let Outcome::Failed(reason) = chat.drain(lang, attentive, EVENT_BUDGET) {
            self.error = Some(lang.disconnect(&reason));
            self.mode = Mode::Start;
        }
        // Anything left over (budget spent) is handled next frame.
        if self.chat().is_some_and(Chat::has_pending) {
            ctx.request_repaint();
        }
    }

    fn waker(ctx: &egui::Context) -> Waker {
        let ctx = ctx.clone();
        Arc::new(move || ctx.request_repaint())
    }

    /// Lays out the window and applies what the user did.
    pub fn ui(&mut self, ui: &mut egui::Ui) {
        let lang = self.lang();
        let mut commands = Vec::new();
        let start_info = |error, busy| start_screen::StartInfo {
            error,
            busy,
            nearby: &self.nearby,
            previous: self.previous.as_deref(),
            saving: self.saving.busy(),
            status: self.status.as_ref(),
        };
        match &mut self.mode {
            Mode::Start => {
                let info = start_info(self.error.as_deref(), None);
                start_screen::ui(ui, &mut self.settings, info, &mut commands);
            }
            Mode::StartingHost(_) => {
                let info = start_info(None, Some(lang.s().starting.to_owned()));
                start_screen::ui(ui, &mut self.settings, info, &mut commands);
            }
            Mode::Joined(chat) if !chat.ever_connected => {
                let info = start_info(None, Some(chat.state.describe(lang)));
                start_screen::ui(ui, &mut self.settings, info, &mut commands);
            }
            Mode::Reviewing => match self.previous.as_deref_mut() {
                Some(previous) => {
                    let saving = self.saving.busy();
                    let status = self.status.as_ref();
                    previous::review_ui(ui, lang, previous, saving, status, &mut commands);
                }
                None => commands.push(Command::Leave),
            },
            Mode::Hosting(host) if host.projector => {
                host_panel::projector_ui(ui, lang, host.qr.as_ref(), &host.link, &mut commands);
            }
            Mode::Hosting(host) => {
                let status = self.status.as_ref();
                let saving = self.saving.busy();
                top_bar::ui(ui, lang, &host.chat, true, saving, &mut commands);
                let count = Some(host.stats.clients);
                status_bar::ui(ui, lang, &host.chat, count, status);
                messages_panel::composer_ui(ui, lang, &mut host.chat, &mut commands);
                let (default, max) = widgets::side_panel_size(ui.ctx(), 0.22, 150.0, 320.0);
                egui::Panel::left("host")
                    .resizable(true)
                    .default_size(default)
                    .size_range(150.0..=max)
                    .show(ui, |ui| {
                        // The hands stay in view whichever tab shows.
                        classroom_panel::hands_ui(ui, lang, &host.chat.classroom, &mut commands);
                        widgets::host_tabs_ui(ui, lang, &mut host.join_tab);
                        let cmds = &mut commands;
                        egui::ScrollArea::vertical().show(ui, |ui| match host.join_tab {
                            true => host_panel::ui(ui, lang, (&**host).into(), cmds),
                            false => classroom_panel::controls_ui(ui, lang, &mut host.chat, cmds),
                        })
                    });
                let muted = Some(host.muted.as_slice());
                roster_panel::ui(ui, lang, &mut host.chat, muted, &mut commands);
                classroom_panel::strip_ui(ui, lang, &host.chat, true, &mut commands);
                messages_panel::log_ui(ui, lang, &mut host.chat, &mut commands);
            }
            Mode::Joined(chat) => {
                let status = self.status.as_ref();
                let saving = self.saving.busy();
                top_bar::ui(ui, lang, chat, false, saving, &mut commands);
                status_bar::ui(ui, lang, chat, None, status);
                messages_panel::composer_ui(ui, lang, chat, &mut commands);
                // With the host key, the same controls as hosting.
                let host = chat.is_host();
                if host {
                    classroom_panel::host_panel_ui(ui, lang, chat, &mut commands);
                }
                let muted = host.then(|| chat.classroom.muted.clone());
                roster_panel::ui(ui, lang, &mut *chat, muted.as_deref(), &mut commands);
                classroom_panel::strip_ui(ui, lang, chat, host, &mut commands);
                messages_panel::log_ui(ui, lang, chat, &mut commands);
            }
        }
        let ctx = ui.ctx().clone();
        if let Some(confirm) = &self.confirm {
            widgets::confirm_ui(&ctx, lang, confirm, &mut commands);
        }
        // In a chat, typing goes to the message box unless another field has focus or the
        // user left it with Esc.
        if self
            .chat()
            .is_some_and(|s| s.ever_connected && !s.composer.released)
            && self.confirm.is_none()
            && ctx.memory(|m| m.focused().is_none())
        {
            ctx.memory_mut(|m| m.request_focus(messages_panel::composer_id()));
        }
        self.apply(&ctx, commands);
    }

    /// Applies commands in order.
    fn apply(&mut self, ctx: &egui::Context, commands: Vec<Command>) {
        for command in commands {
            self.apply_one(ctx, command);
        }
    }

    fn apply_one(&mut self, ctx: &egui::Context, command: Command) {
        let lang = self.lang();
        match command {
            Command::StartHosting => {
                self.settings.code_for_new_session(crate::bridge::now_ms());
                let Some(request) = self.settings.host_request(self.journal_dir.clone()) else {
                    self.error = Some(lang.s().bad_port.to_owned());
                    return;
                };
                self.error = None;
                let promise = self.backend.host(request, Self::waker(ctx));
                self.mode = Mode::StartingHost(Box::new(promise));
            }
            Command::Join => match self.settings.join_config() {
                Ok(config) => {
                    self.error = None;
                    let (client, events) = self.backend.join(config, Self::waker(ctx));
                    self.mode = Mode::Joined(Box::new(Chat::new(client, events)));
                }
                Err(e) => self.error = Some(lang.address_error(&e)),
            },
            Command::Rejoin => self.rejoin(ctx),
            Command::Cancel | Command::Leave => {
                if matches!(self.mode, Mode::Hosting(_)) {
                    self.settings.still_hosting(crate::bridge::now_ms());
                }
                // Dropping the session leaves; dropping the relay closes every client and the
                // announcement withdraws it from the network.
                self.mode = Mode::Start;
                self.status = None;
                // No chat, no unread count.
                self.chrome.update_title(ctx, 0, 0);
            }
            Command::Send => self.send(ctx),
            Command::WriteTo(peer_id) => {
                if let Some(chat) = self.chat_mut() {
                    chat.composer.text = format!("{peer_id}/");
                    messages_panel::focus_composer(ctx, chat.composer.text.chars().count());
                }
            }
            Command::Complete => {
                if let Some(chat) = self.chat_mut() {
                    let ids = chat.roster_ids().unwrap_or_default();
                    if let Some(done) = composer::complete(&chat.composer.text, &ids) {
                        chat.composer.text = done;
                        messages_panel::focus_composer(ctx, chat.composer.text.chars().count());
                    }
                }
            }
            Command::Kick(_)
            | Command::SetMuted(..)
            | Command::Readmit(_)
            | Command::Classroom(_) => {
                self.mode.steer(command);
            }
            Command::PickTlsFile(which) => {
                if self.picking.is_none() {
                    let dialog = lang.tls_file_dialog(which);
                    let promise = self.backend.pick_file(dialog, Self::waker(ctx));
                    self.picking = Some((which, promise));
                }
            }
            Command::Ask(confirm) => self.confirm = Some(confirm),
            Command::Dismiss => self.confirm = None,
            Command::StopHosting => self.stop_hosting(ctx),
            Command::SaveToDocuments => self.save(ctx, Destination::Documents),
            Command::OpenUrl(url) => ctx.open_url(egui::OpenUrl::new_tab(url)),
            Command::SaveTranscript => self.save(ctx, Destination::Dialog),
            Command::SetLang(lang) => {
                self.settings.set_lang(lang);
                if let Some(chat) = self.chat_mut() {
                    chat.log.set_lang(lang);
                }
                if let Some(previous) = &mut self.previous {
                    previous.log.set_lang(lang);
                }
            }
            Command::GenerateCode => self.settings.generate_code(),
            Command::Copy(text) => {
                ctx.copy_text(text.clone());
                widgets::note_copied(ctx, text);
                self.status = Some((lang.s().copied_status.to_owned(), false));
            }
            Command::JumpToBottom => {
                if let Some(chat) = self.chat_mut() {
                    chat.view.jump_to_bottom = true;
                    chat.view.unread = 0;
                }
            }
            Command::PickNearby {
                address,
                join_code_required,
            } => {
                self.settings.address = address;
                if join_code_required {
                    ctx.memory_mut(|m| m.request_focus(start_screen::join_code_id()));
                }
            }
            Command::ShowProjector(show) => {
                if let Mode::Hosting(host) = &mut self.mode {
                    host.projector = show;
                }
            }
            Command::ViewPrevious => {
                if self.previous.is_some() {
                    self.status = None;
                    self.mode = Mode::Reviewing;
                }
            }
        }
    }

    /// Stops the relay (every student is disconnected) and keeps the session's log on screen,
    /// read-only, until the host goes back to the start screen.
    fn stop_hosting(&mut self, ctx: &egui::Context) {
        let Mode::Hosting(host) = std::mem::take(&mut self.mode) else {
            return;
        };
        // Dropping the host chat leaves, stops the relay and withdraws the announcement.
        self.previous = Some(Box::new(host.end()));
        self.status = None;
        self.mode = Mode::Reviewing;
        self.chrome.update_title(ctx, 0, 0);
    }

    /// Writes the transcript into the documents folder (no dialog could be shown).
    fn send(&mut self, ctx: &egui::Context) {
        if self.chat_mut().is_some_and(Chat::send_composed) {
            messages_panel::focus_composer(ctx, 0);
        }
    }

    /// The log that Save writes: the chat's, or the previous session's outside a chat.
    fn log_to_save(&self) -> Option<(&Log, u64)> {
        match (self.chat(), &self.previous) {
            (Some(chat), _) => Some((&chat.log, crate::bridge::now_ms())),
            (None, Some(previous)) => Some((&previous.log, previous.started)),
            (None, None) => None,
        }
    }

    fn save(&mut self, ctx: &egui::Context, to: Destination) {
        let (lang, wake) = (self.lang(), Self::waker(ctx));
        let mut saving = std::mem::take(&mut self.saving);
        let started = self
            .log_to_save()
            .and_then(|log| saving.start(&self.backend, lang, log, to, wake));
        self.saving = saving;
        if let Some(line) = started {
            self.status = Some((line, false));
        }
    }

    /// Joins the current chat again with the new code typed in it.
    fn rejoin(&mut self, ctx: &egui::Context) {
        let Mode::Joined(chat) = &mut self.mode else {
            return;
        };
        match self.settings.join_with_code(&chat.new_code) {
            Some(Ok(config)) => {
                let (client, events) = self.backend.join(config, Self::waker(ctx));
                chat.reconnect(client, events);
            }
            Some(Err(e)) => self.error = Some(self.settings.lang.address_error(&e)),
            None => {}
        }
    }

    /// Saves the settings (eframe calls this on exit and every 30 s).
    pub fn save_settings(&self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, SETTINGS_KEY, &self.settings);
    }
}

impl eframe::App for App {
    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        Self::logic(self, ctx);
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        Self::ui(self, ui);
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        // eframe saves every half minute too: what a restart after a crash goes by.
        if matches!(self.mode, Mode::Hosting(_)) {
            self.settings.still_hosting(crate::bridge::now_ms());
        }
        self.save_settings(storage);
    }
}
