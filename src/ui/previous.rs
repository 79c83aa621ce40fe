//! The previous session's transcript, from the session journal: offered on the start screen
//! (when, how many lines) to view read-only in the window or to save.
//!
//! Try it: host a chat, write a line, quit, start again.

use std::path::Path;

use super::app::{Command, save_button_ui};
use super::i18n::Lang;
use super::log::{Entry, Log, local_time};
use super::state::LogView;
use super::{messages_panel, status_bar};
use crate::journal;

/// A finished session loaded from its journal.
#[derive(Debug)]
pub struct PreviousSession {
    /// When its first line was written (Unix ms).
    pub started: u64,
    /// Its lines.
    pub log: Log,
    /// Scroll state while it is viewed.
    pub view: LogView,
}

impl PreviousSession {
    /// Reads a journal (blocking: run it off the UI thread). `None` if it cannot be read or
    /// holds no line.
    pub fn load(path: &Path) -> Option<Self> {
        let entries = journal::read(path)
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
        })
    }

    /// The start time as `2026-11-29 10:42`, in local time.
    fn when(&self) -> String {
        local_time(self.started, "%Y-%m-%d %H:%M")
    }
}

/// The offer on the start screen: when, how many lines, View and Save buttons.
pub fn offer_ui(
    ui: &mut egui::Ui,
    lang: Lang,
    previous: &PreviousSession,
    saving: bool,
    commands: &mut Vec<Command>,
) {
    let s = lang.s();
    egui::Frame::group(ui.style())
        .corner_radius(6.0)
        .inner_margin(10.0)
        .show(ui, |ui| {
            ui.horizontal_wrapped(|ui| {
                ui.label(lang.previous_session(&previous.when(), previous.log.len()));
                if ui.button(s.view_previous).clicked() {
                    commands.push(Command::ViewPrevious);
                }
                save_button_ui(ui, lang, saving, commands);
            });
        });
}

/// The previous session, read-only: a header with Save and Back, and the log.
pub fn review_ui(
    ui: &mut egui::Ui,
    lang: Lang,
    previous: &mut PreviousSession,
    saving: bool,
    status: Option<&(String, bool)>,
    commands: &mut Vec<Command>,
) {
    let s = lang.s();
    egui::Panel::top("top_bar").show(ui, |ui| {
        ui.add_space(4.0);
        ui.horizontal(|ui| {
            ui.label(egui::RichText::new("classchat").heading().strong());
            ui.separator();
            ui.label(
                egui::RichText::new(lang.previous_session(&previous.when(), previous.log.len()))
                    .strong(),
            );
            ui.label(egui::RichText::new(s.read_only).weak());
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                if ui.button(s.back).clicked() {
                    commands.push(Command::Leave);
                }
                save_button_ui(ui, lang, saving, commands);
            });
        });
        ui.add_space(2.0);
    });
    if let Some(status) = status {
        egui::Panel::bottom("status_bar").show(ui, |ui| status_bar::message_ui(ui, status));
    }
    messages_panel::log_view_ui(ui, lang, &previous.log, &mut previous.view, None, commands);
}
