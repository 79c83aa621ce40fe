//! Small widgets more than one panel shows: the header, the Save button, the language switch
//! and the status message.

use super::command::Command;
use super::i18n::Lang;

/// "Save transcript…", disabled while a save runs.
pub fn save_button_ui(ui: &mut egui::Ui, lang: Lang, saving: bool, commands: &mut Vec<Command>) {
    let button = egui::Button::new(lang.s().save_transcript);
    if ui.add_enabled(!saving, button).clicked() {
        commands.push(Command::SaveTranscript);
    }
}

/// Two toggle buttons, 日本語 | English.
pub fn language_ui(ui: &mut egui::Ui, lang: Lang, commands: &mut Vec<Command>) {
    for option in [Lang::En, Lang::Ja] {
        if ui
            .selectable_label(lang == option, option.native_name())
            .clicked()
            && lang != option
        {
            commands.push(Command::SetLang(option));
        }
    }
}

/// The latest status message (red when it is an error).
pub fn status_message_ui(ui: &mut egui::Ui, (text, error): &(String, bool)) {
    let mut text = egui::RichText::new(text);
    if *error {
        text = text.color(ui.visuals().error_fg_color);
    }
    ui.label(text);
}

/// The header as the top panel: the app's name, then `left`, then `right` laid out from the
/// right edge.
pub fn header_ui(
    ui: &mut egui::Ui,
    commands: &mut Vec<Command>,
    left: impl FnOnce(&mut egui::Ui, &mut Vec<Command>),
    right: impl FnOnce(&mut egui::Ui, &mut Vec<Command>),
) {
    egui::Panel::top("top_bar").show(ui, |ui| {
        ui.add_space(4.0);
        ui.horizontal(|ui| {
            ui.label(egui::RichText::new("classchat").heading().strong());
            left(ui, commands);
            let layout = egui::Layout::right_to_left(egui::Align::Center);
            ui.with_layout(layout, |ui| right(ui, commands));
        });
        ui.add_space(2.0);
    });
}
