//! The chat's header: role, own ID (copyable), language, Save and Leave.

use super::command::Command;
use super::i18n::Lang;
use super::state::Chat;
use super::widgets;

/// The header: role, own ID (copyable), language, save, leave.
pub fn ui(
    ui: &mut egui::Ui,
    lang: Lang,
    chat: &Chat,
    hosting: bool,
    saving: bool,
    commands: &mut Vec<Command>,
) {
    let s = lang.s();
    let left = |ui: &mut egui::Ui, commands: &mut Vec<Command>| {
        let role = if hosting { s.hosting } else { s.joined_role };
        ui.label(egui::RichText::new(role).color(ui.visuals().weak_text_color()));
        ui.separator();
        match &chat.own_id {
            Some(id) => {
                let text = egui::RichText::new(lang.your_id(id)).size(18.0).strong();
                ui.add(egui::Label::new(text).selectable(true));
                if ui.button(s.copy).on_hover_text(s.copy_hint).clicked() {
                    commands.push(Command::Copy(id.clone()));
                }
            }
            None => {
                ui.label(egui::RichText::new(s.no_id_yet).size(18.0));
            }
        }
    };
    let right = |ui: &mut egui::Ui, commands: &mut Vec<Command>| {
        let leave = if hosting { s.stop_hosting } else { s.leave };
        let leave = if chat.state.connected() || hosting {
            leave
        } else {
            s.back
        };
        if ui.button(leave).clicked() {
            commands.push(Command::Leave);
        }
        widgets::save_button_ui(ui, lang, saving, commands);
        widgets::language_ui(ui, lang, commands);
    };
    widgets::header_ui(ui, commands, left, right);
}
