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

/// Most lines the message box grows to before it scrolls.
const MAX_COMPOSER_LINES: f32 = 5.0;

/// Takes this frame's Enter presses without Shift out of the input (so the multi-line box
/// does not turn them into line breaks); whether there was one.
fn take_plain_enter(ui: &egui::Ui) -> bool {
    ui.input_mut(|i| {
        let before = i.events.len();
        i.events.retain(|event| {
            !matches!(
                event,
                egui::Event::Key {
                    key: egui::Key::Enter,
                    pressed: true,
                    modifiers,
                    ..
                } if !modifiers.shift
            )
        });
        i.events.len() != before
    })
}

/// The message box, its hint and the ID suggestions, as a bottom panel. Enter sends, Shift+Enter
/// starts a new line, Tab completes an ID while one is typed (else it moves on), Esc leaves the
/// box. While disconnected the text stays editable and Send says why it is disabled.
pub fn composer_ui(ui: &mut egui::Ui, lang: Lang, chat: &mut Chat, commands: &mut Vec<Command>) {
    let s = lang.s();
    let connected = chat.state.connected();
    egui::Panel::bottom("composer").show(ui, |ui| {
        ui.add_space(6.0);
        pending_ui(ui, lang, &chat.pending);
        let id = composer_id();
        let focused = ui.memory(|m| m.has_focus(id));
        let ids = chat.roster_ids().unwrap_or_default();
        let typing_recipient = !chat.composer.text.is_empty()
            && !composer::suggestions(&chat.composer.text, &ids).is_empty();
        if focused
            && typing_recipient
            && ui.input_mut(|i| i.consume_key(egui::Modifiers::NONE, egui::Key::Tab))
        {
            commands.push(Command::Complete);
        }
        let enter = focused && take_plain_enter(ui);
        // egui drops the focus on Esc before the box is laid out: ask about the last frame.
        let had_focus = focused || ui.memory(|m| m.had_focus_last_frame(id));
        if had_focus && ui.input(|i| i.key_pressed(egui::Key::Escape)) {
            chat.composer.released = true;
        }
        ui.horizontal(|ui| {
            let label = ui.label(egui::RichText::new(s.message).strong());
            let send_width = 90.0;
            let font = FontId::proportional(17.0);
            let line = ui.fonts_mut(|f| f.row_height(&font));
            let width = (ui.available_width() - send_width).max(100.0);
            let response = egui::ScrollArea::vertical()
                .id_salt("composer_scroll")
                .max_height(line * MAX_COMPOSER_LINES + 8.0)
                .max_width(width)
                .stick_to_bottom(true)
                .show(ui, |ui| {
                    let field = egui::TextEdit::multiline(&mut chat.composer.text)
                        .id(id)
                        .hint_text(s.message_hint)
                        .font(font)
                        .desired_rows(1)
                        .lock_focus(false)
                        .return_key(egui::KeyboardShortcut::new(
                            egui::Modifiers::SHIFT,
                            egui::Key::Enter,
                        ))
                        .desired_width(width);
                    ui.add(field)
                })
                .inner
                .labelled_by(label.id);
            if response.gained_focus() || response.clicked() {
                chat.composer.released = false;
            }
            let send = egui::Button::new(egui::RichText::new(s.send).strong())
                .min_size(egui::vec2(send_width - 12.0, 28.0));
            let mut send = ui.add_enabled(connected, send);
            if !connected {
                send = send.on_disabled_hover_text(lang.cannot_send(&chat.state.describe(lang)));
            }
            if connected && (send.clicked() || enter) {
                commands.push(Command::Send);
            }
        });
        if chat.muted {
            let text = egui::RichText::new(s.muted_banner).strong();
            ui.label(text.color(ui.visuals().warn_fg_color));
        }
        // What the room's modes do not allow a student just now, before they try.
        if let Some(notice) = lang
            .modes_notice(chat.classroom.modes)
            .filter(|_| !chat.is_host())
        {
            ui.label(egui::RichText::new(notice).color(ui.visuals().warn_fg_color));
        }
        let forbidden = composer::check(&chat.composer.text, Some(&ids))
            .ok()
            .and_then(|addressed| chat.forbidden(&addressed.to));
        if chat.needs_new_code() {
            new_code_ui(ui, lang, chat, commands);
        } else if !connected {
            let reason = lang.cannot_send(&chat.state.describe(lang));
            ui.label(egui::RichText::new(reason).color(ui.visuals().warn_fg_color));
        } else if let Some(error) = chat.composer.current_hint() {
            let color = ui.visuals().error_fg_color;
            ui.label(egui::RichText::new(lang.input_hint(error)).color(color));
        } else if let Some(forbidden) = forbidden {
            let color = ui.visuals().error_fg_color;
            ui.label(egui::RichText::new(lang.forbidden_reason(forbidden)).color(color));
        } else {
            let found = composer::suggestions(&chat.composer.text, &ids);
            ui.horizontal_wrapped(|ui| {
                if found.is_empty() || chat.composer.text.contains('\n') {
                    ui.label(egui::RichText::new(s.compose_keys).weak());
                    return;
                }
                ui.label(egui::RichText::new(s.suggestions).weak());
                for peer_id in found.iter().take(MAX_SUGGESTIONS) {
                    if ui.small_button(format!("{peer_id}/")).clicked() {
                        commands.push(Command::WriteTo((*peer_id).to_owned()));
                    }
                }
                if found.len() > MAX_SUGGESTIONS {
                    ui.label(format!("… +{}", found.len() - MAX_SUGGESTIONS));
                }
            });
        }
        ui.add_space(4.0);
    });
}

/// The relay refused the join code this chat was joined with (the host restarted with a new
/// one): asks for the new code, with the field focused, instead of leaving a dead window.
fn new_code_ui(ui: &mut egui::Ui, lang: Lang, chat: &mut Chat, commands: &mut Vec<Command>) {
    let s = lang.s();
    let text = egui::RichText::new(s.code_changed).strong();
    ui.label(text.color(ui.visuals().warn_fg_color));
    ui.horizontal(|ui| {
        let label = ui.label(s.join_code);
        let id = egui::Id::unique("classchat.new_code");
        let field = ui
            .add(
                egui::TextEdit::singleline(&mut chat.new_code)
                    .id(id)
                    .desired_width(160.0),
            )
            .labelled_by(label.id);
        // Focused once when asked; the user may move on with Tab or Esc.
        if std::mem::take(&mut chat.focus_new_code) {
            field.request_focus();
        }
        let enter = field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        let ready = !chat.new_code.trim().is_empty();
        if ui
            .add_enabled(ready, egui::Button::new(s.join_again))
            .clicked()
            || (enter && ready)
        {
            commands.push(Command::Rejoin);
        }
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
