//! A log (live or from the journal) as the central panel, shared by the chat and the
//! previous-session view.
//!
//! It lays out only the rows in view (`ScrollArea::show_rows` with a fixed row height), so
//! 100,000 messages scroll as smoothly as ten. Each message is one line; a long or multi-line
//! one is cut with "…" and shows in full on hover. The log sticks to the bottom unless the user
//! scrolled up, in which case a "N new messages ↓" button appears.

use egui::text::LayoutJob;
use egui::{Color32, FontId, TextFormat};

use super::command::Command;
use super::i18n::Lang;
use super::log::{Entry, EntryKind, Log};
use super::state::LogView;
use crate::bridge::Recipient;

/// A log (live or from the journal), as the central panel; `own_id` marks messages to "you".
pub fn ui(
    ui: &mut egui::Ui,
    lang: Lang,
    log: &Log,
    view: &mut LogView,
    own_id: Option<&str>,
    commands: &mut Vec<Command>,
) {
    egui::CentralPanel::default().show(ui, |ui| {
        let entries = log.entries();
        if entries.is_empty() {
            ui.label(egui::RichText::new(lang.s().empty_log).weak());
        }
        let row_height = ui.text_style_height(&egui::TextStyle::Body) + 8.0;
        let total = entries.len();
        let mut area = egui::ScrollArea::vertical()
            .auto_shrink(false)
            .stick_to_bottom(true)
            .animated(false);
        if view.jump_to_bottom {
            let spacing = ui.spacing().item_spacing.y;
            area = area.vertical_scroll_offset(total as f32 * (row_height + spacing));
            view.jump_to_bottom = false;
        }
        let output = area.show_rows(ui, row_height, total, |ui, rows| {
            for entry in rows.filter_map(|i| entries.get(i)) {
                row_ui(ui, lang, entry, own_id, row_height, commands);
            }
        });
        let max_offset = (output.content_size.y - output.inner_rect.height()).max(0.0);
        view.at_bottom = output.state.clamped_offset().y >= max_offset - 2.0;
        if !view.at_bottom && view.unread > 0 {
            let rect = output.inner_rect;
            let size = egui::vec2(220.0, 30.0);
            let pos = egui::pos2(
                rect.center().x - size.x / 2.0,
                rect.bottom() - size.y - 10.0,
            );
            let button = egui::Button::new(
                egui::RichText::new(lang.new_messages(view.unread))
                    .strong()
                    .color(Color32::WHITE),
            )
            .fill(Color32::from_rgb(37, 99, 235))
            .corner_radius(15.0);
            if ui
                .put(egui::Rect::from_min_size(pos, size), button)
                .clicked()
            {
                commands.push(Command::JumpToBottom);
            }
        }
    });
}

/// One row of the log: time, who to whom, text.
fn row_ui(
    ui: &mut egui::Ui,
    lang: Lang,
    entry: &Entry,
    own_id: Option<&str>,
    row_height: f32,
    commands: &mut Vec<Command>,
) {
    let s = lang.s();
    let visuals = ui.visuals();
    let body = FontId::proportional(15.0);
    let weak = visuals.weak_text_color();
    let text_color = visuals.text_color();
    let accent = if visuals.dark_mode {
        Color32::from_rgb(120, 170, 255)
    } else {
        Color32::from_rgb(29, 78, 216)
    };
    let private_color = if visuals.dark_mode {
        Color32::from_rgb(230, 170, 80)
    } else {
        Color32::from_rgb(180, 83, 9)
    };
    let error_color = visuals.error_fg_color;
    let format = |color: Color32| TextFormat::simple(body.clone(), color);
    let mut job = LayoutJob::default();
    job.append(
        &entry.time(),
        0.0,
        TextFormat::simple(FontId::monospace(13.0), weak),
    );
    let mut fill = None;
    let mut reply_to = None;
    match &entry.kind {
        EntryKind::Message {
            from,
            to,
            text,
            own,
        } => {
            let sender = match (from, own) {
                (Some(from), true) => format!("{from} ({})", s.you),
                (Some(from), false) => from.clone(),
                (None, _) => "?".to_owned(),
            };
            job.append(
                &sender,
                12.0,
                format(if *own { accent } else { text_color }),
            );
            let private = matches!(to, Some(Recipient::Client(_)));
            let recipient = match to {
                Some(Recipient::Everyone) => format!("→ {}", s.everyone),
                Some(Recipient::Client(peer_id)) if Some(peer_id.as_str()) == own_id => {
                    format!("→ {}", s.you)
                }
                Some(Recipient::Client(peer_id)) => format!("→ {peer_id}"),
                None => String::new(),
            };
            if !recipient.is_empty() {
                job.append(&recipient, 6.0, format(weak));
            }
            if private {
                job.append(&format!("[{}]", s.private), 6.0, format(private_color));
            }
            job.append(":", 0.0, format(weak));
            job.append(text, 8.0, format(text_color));
            if *own {
                fill = Some(accent.gamma_multiply(0.10));
            } else if private {
                fill = Some(private_color.gamma_multiply(0.10));
            }
            if !*own {
                reply_to.clone_from(from);
            }
        }
        EntryKind::Notice(text) => {
            let mut f = format(weak);
            f.italics = true;
            job.append(&format!("— {text}"), 12.0, f);
        }
        EntryKind::Error(text) => {
            job.append(text, 12.0, format(error_color));
            fill = Some(error_color.gamma_multiply(0.08));
        }
    }
    let width = ui.available_width();
    let (rect, _) = ui.allocate_exact_size(egui::vec2(width, row_height), egui::Sense::hover());
    if let Some(fill) = fill {
        ui.painter().rect_filled(rect, 4.0, fill);
    }
    let inner = rect.shrink2(egui::vec2(6.0, 0.0));
    let mut row = ui.new_child(
        egui::UiBuilder::new()
            .max_rect(inner)
            .layout(egui::Layout::left_to_right(egui::Align::Center)),
    );
    let label = egui::Label::new(job).truncate().sense(egui::Sense::click());
    let response = row.add(label);
    if let Some(peer_id) = reply_to
        && response.clicked()
    {
        commands.push(Command::WriteTo(peer_id));
    }
}
