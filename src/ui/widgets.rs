//! Small widgets more than one panel shows: the header, the Save button, the language switch
//! and the status message.

use super::command::{Command, Confirm};
use super::i18n::Lang;

/// How long a copy button says "Copied ✓", in seconds.
pub const COPIED_FOR: f64 = 2.0;

/// Where the last copy is remembered (its text and the time), so its button can confirm it.
fn copied_id() -> egui::Id {
    egui::Id::unique("classchat.copied")
}

/// Remembers that `text` was just copied; the button that copied it confirms it for
/// [`COPIED_FOR`] seconds.
pub fn note_copied(ctx: &egui::Context, text: String) {
    let now = ctx.input(|i| i.time);
    ctx.data_mut(|d| d.insert_temp(copied_id(), (text, now)));
    ctx.request_repaint_after(std::time::Duration::from_secs_f64(COPIED_FOR));
}

/// A button that copies `text`; it reads `label` normally and "Copied ✓" just after it copied.
pub fn copy_button_ui(
    ui: &mut egui::Ui,
    lang: Lang,
    label: &str,
    text: &str,
    commands: &mut Vec<Command>,
) {
    let now = ui.input(|i| i.time);
    let copied = ui
        .data(|d| d.get_temp::<(String, f64)>(copied_id()))
        .is_some_and(|(copied, at)| copied == text && now - at < COPIED_FOR);
    let shown = if copied { lang.s().copied } else { label };
    let button = ui.button(shown).on_hover_text(lang.s().copy_hint);
    if button.clicked() {
        commands.push(Command::Copy(text.to_owned()));
    }
}

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

/// A side panel's default and largest width: `share` of the window, between `min` and `max`.
/// With both side panels at their largest share the log keeps at least half the window down
/// to 800 points, and still a useful part at 640.
pub fn side_panel_size(ctx: &egui::Context, share: f32, min: f32, max: f32) -> (f32, f32) {
    let width = ctx.content_rect().width();
    let size = (width * share).clamp(min, max);
    (size, size.max(min))
}

/// Below this width the header takes two rows, so its buttons never overlap.
const NARROW_HEADER: f32 = 900.0;

/// The header as the top panel: the app's name, then `left`, then `right` laid out from the
/// right edge (on a second row in a narrow window).
pub fn header_ui(
    ui: &mut egui::Ui,
    commands: &mut Vec<Command>,
    left: impl FnOnce(&mut egui::Ui, &mut Vec<Command>),
    right: impl FnOnce(&mut egui::Ui, &mut Vec<Command>),
) {
    egui::Panel::top("top_bar").show(ui, |ui| {
        ui.add_space(4.0);
        let layout = egui::Layout::right_to_left(egui::Align::Center);
        if ui.available_width() < NARROW_HEADER {
            ui.horizontal_wrapped(|ui| {
                ui.label(egui::RichText::new("classchat").heading().strong());
                left(ui, commands);
            });
            ui.with_layout(layout, |ui| right(ui, commands));
        } else {
            ui.horizontal(|ui| {
                ui.label(egui::RichText::new("classchat").heading().strong());
                left(ui, commands);
                ui.with_layout(layout, |ui| right(ui, commands));
            });
        }
        ui.add_space(2.0);
    });
}

/// The open question as a modal dialog: the action (red for a kick or a stop) and Cancel. Esc
/// or a click outside cancels; the rows behind cannot be clicked meanwhile.
pub fn confirm_ui(ctx: &egui::Context, lang: Lang, confirm: &Confirm, commands: &mut Vec<Command>) {
    let s = lang.s();
    let (question, action, command) = match confirm {
        Confirm::Kick(peer_id) => (
            lang.confirm_kick(peer_id),
            s.kick,
            Command::Kick(peer_id.clone()),
        ),
        Confirm::Stop => (
            s.confirm_stop.to_owned(),
            s.stop_hosting,
            Command::StopHosting,
        ),
        Confirm::NoDialog => (
            s.no_dialog.to_owned(),
            s.save_to_documents,
            Command::SaveToDocuments,
        ),
    };
    let modal = egui::Modal::new(egui::Id::unique("classchat.confirm")).show(ctx, |ui| {
        ui.set_max_width(360.0);
        ui.label(egui::RichText::new(question).size(16.0));
        ui.add_space(10.0);
        ui.horizontal(|ui| {
            let mut text = egui::RichText::new(action).strong();
            if !matches!(confirm, Confirm::NoDialog) {
                text = text.color(ui.visuals().error_fg_color);
            }
            if ui.button(text).clicked() {
                commands.push(command);
                commands.push(Command::Dismiss);
            }
            if ui.button(s.cancel).clicked() {
                commands.push(Command::Dismiss);
            }
        });
    });
    if modal.should_close() && !commands.contains(&Command::Dismiss) {
        commands.push(Command::Dismiss);
    }
}

/// The host panel's two tabs: how students join, and the classroom controls.
pub fn host_tabs_ui(ui: &mut egui::Ui, lang: Lang, join_tab: &mut bool) {
    let s = lang.s();
    ui.horizontal(|ui| {
        ui.selectable_value(join_tab, true, egui::RichText::new(s.tab_join).strong());
        ui.selectable_value(
            join_tab,
            false,
            egui::RichText::new(s.tab_classroom).strong(),
        );
    });
    ui.separator();
}
