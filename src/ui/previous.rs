//! The previous session's transcript, from the session journal, read-only in the window (the
//! start screen offers it; the model is [`PreviousChat`]).
//!
//! Try it: host a chat, write a line, quit, start again.

use super::command::Command;
use super::i18n::Lang;
use super::state::PreviousChat;
use super::{log_view, widgets};

/// The previous session, read-only: a header with Save and Back, and the log.
pub fn review_ui(
    ui: &mut egui::Ui,
    lang: Lang,
    previous: &mut PreviousChat,
    saving: bool,
    status: Option<&(String, bool)>,
    commands: &mut Vec<Command>,
) {
    let s = lang.s();
    let left = |ui: &mut egui::Ui, _: &mut Vec<Command>| {
        ui.separator();
        let title = lang.previous_session(&previous.when(), previous.log.len());
        ui.label(egui::RichText::new(title).strong());
        ui.label(egui::RichText::new(s.read_only).weak());
    };
    let right = |ui: &mut egui::Ui, commands: &mut Vec<Command>| {
        if ui.button(s.back).clicked() {
            commands.push(Command::Leave);
        }
        widgets::save_button_ui(ui, lang, saving, commands);
    };
    widgets::header_ui(ui, commands, left, right);
    if let Some(status) = status {
        egui::Panel::bottom("status_bar").show(ui, |ui| widgets::status_message_ui(ui, status));
    }
    log_view::ui(ui, lang, &previous.log, &mut previous.view, None, commands);
}
