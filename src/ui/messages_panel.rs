//! The chat's two panels: the message box (with its hint and ID suggestions) at the bottom and
//! the live log in the centre (drawn by [`log_view`](super::log_view)).

use egui::FontId;

use super::command::Command;
use super::composer;
use super::i18n::Lang;
use super::log_view;
use super::state::{Chat, Pending};

/// Most ID suggestions shown under the message box.
const MAX_SUGGESTIONS: usize = 8;

/// The message box's widget ID.
pub fn composer_id() -> egui::Id {
    egui::Id::unique("classchat.composer")
}

/// Focuses the message box with the cursor after the first `chars` characters.
pub fn focus_composer(ctx: &egui::Context, chars: usize) {
    let id = composer_id();
    let mut state = egui::text_edit::TextEditState::load(ctx, id).unwrap_or_default();
    let cursor = egui::text::CCursor::new(chars);
    state
        .cursor
        .set_char_range(Some(egui::text::CCursorRange::one(cursor)));
    state.store(ctx, id);
    ctx.memory_mut(|m| m.request_focus(id));
}

/// The message box, its hint and the ID suggestions, as a bottom panel.
pub fn composer_ui(ui: &mut egui::Ui, lang: Lang, chat: &mut Chat, commands: &mut Vec<Command>) {
    let s = lang.s();
    egui::Panel::bottom("composer").show(ui, |ui| {
        ui.add_space(6.0);
        pending_ui(ui, lang, &chat.pending);
        let id = composer_id();
        if ui.memory(|m| m.has_focus(id))
            && ui.input_mut(|i| i.consume_key(egui::Modifiers::NONE, egui::Key::Tab))
        {
            commands.push(Command::Complete);
        }
        ui.horizontal(|ui| {
            let label = ui.label(egui::RichText::new(s.message).strong());
            let send_width = 90.0;
            let field = egui::TextEdit::singleline(&mut chat.composer.text)
                .id(id)
                .hint_text(s.message_hint)
                .font(FontId::proportional(17.0))
                .lock_focus(true)
                .desired_width((ui.available_width() - send_width).max(100.0));
            let response = ui.add(field).labelled_by(label.id);
            let enter = response.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            let send = egui::Button::new(egui::RichText::new(s.send).strong())
                .min_size(egui::vec2(send_width - 12.0, 28.0));
            if ui.add(send).clicked() || enter {
                commands.push(Command::Send);
            }
        });
        if let Some(error) = chat.composer.current_hint() {
            let color = ui.visuals().error_fg_color;
            ui.label(egui::RichText::new(lang.input_hint(error)).color(color));
        } else {
            let ids = chat.roster_ids().unwrap_or_default();
            let found = composer::suggestions(&chat.composer.text, &ids);
            ui.horizontal_wrapped(|ui| {
                if found.is_empty() {
                    // Keep the panel's height steady while typing.
                    ui.label(" ");
                    return;
                }
                ui.label(egui::RichText::new(s.suggestions).weak());
                for peer_id in found.iter().take(MAX_SUGGESTIONS) {
                    if ui.small_button(format!("{peer_id}/")).clicked() {
                        commands.push(Command::WriteTo((*peer_id).to_owned()));
                    }
                }
                if found.len() > MAX_SUGGESTIONS {
                    ui.label("…");
                }
            });
        }
        ui.add_space(4.0);
    });
}

/// Pending sends shown at most; older ones are summarised by count.
const MAX_PENDING_SHOWN: usize = 3;

/// What was sent but not confirmed yet, dimmed, newest last: it stays until the relay
/// confirms it (and it appears in the log), or it is refused or handed back.
fn pending_ui(ui: &mut egui::Ui, lang: Lang, pending: &[Pending]) {
    if pending.is_empty() {
        return;
    }
    let s = lang.s();
    let hidden = pending.len().saturating_sub(MAX_PENDING_SHOWN);
    if hidden > 0 {
        ui.label(egui::RichText::new(format!("{} (+{hidden})", s.sending)).weak());
    }
    for p in &pending[hidden..] {
        let preview: String = p.text.chars().take(80).collect();
        let line = format!("{} → {}: {preview}", s.sending, p.to);
        ui.add(egui::Label::new(egui::RichText::new(line).weak().italics()).truncate());
    }
}

/// The session's log, as the central panel.
pub fn log_ui(ui: &mut egui::Ui, lang: Lang, chat: &mut Chat, commands: &mut Vec<Command>) {
    let own_id = chat.own_id.as_deref();
    log_view::ui(ui, lang, &chat.log, &mut chat.view, own_id, commands);
}

//END
