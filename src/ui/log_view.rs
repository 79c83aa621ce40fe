//! A log (live or from the journal) as the central panel, shared by the chat and the
//! previous-session view.
//!
//! Every message shows whole: wrapped to the log's width, its own line breaks kept. Rows differ
//! in height, yet only the rows in view are laid out: [`RowHeights`](super::log::RowHeights)
//! keeps an estimate for each row (cheap, from its character counts) until the row has been
//! laid out once at this width, and finds the rows in view from the running sum of heights, so
//! 100,000 messages scroll as smoothly as ten. http(s) links open in the system browser; a right
//! click offers Copy. The log sticks to the bottom unless the user scrolled up, in which case a
//! "N new messages ↓" button appears.

use std::ops::Range;
use std::sync::Arc;

use egui::text::LayoutJob;
use egui::{Color32, FontId, TextFormat};

use super::command::Command;
use super::i18n::Lang;
use super::log::{Entry, EntryKind, Log, Room, RowMetrics, links};
use super::state::LogView;
use crate::bridge::Recipient;

/// Size of a message's text.
const BODY_SIZE: f32 = 15.0;
/// Space above and below a row's text.
const PADDING_Y: f32 = 4.0;
/// Space left and right of a row's text.
const PADDING_X: f32 = 6.0;

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
        let scrollbar = ui.spacing().scroll.allocated_width();
        let width = (ui.available_width() - scrollbar).max(40.0);
        let metrics = metrics(ui);
        view.heights.sync(entries, width, metrics);
        let mut area = egui::ScrollArea::vertical()
            .auto_shrink(false)
            .stick_to_bottom(true)
            .animated(false);
        if view.jump_to_bottom {
            area = area.vertical_scroll_offset(view.heights.total() + 1e6);
            view.jump_to_bottom = false;
        }
        let output = area.show_viewport(ui, |ui, viewport| {
            ui.set_height(view.heights.total());
            let origin = ui.max_rect().min;
            let rows = view.heights.visible(viewport.min.y, viewport.max.y);
            for index in rows {
                let Some(entry) = entries.get(index) else {
                    continue;
                };
                let top = origin.y + view.heights.top(index);
                let (galley, links) = layout_row(ui, lang, entry, own_id, width);
                let height = galley.size().y + 2.0 * PADDING_Y;
                view.heights.measured(index, height);
                let rect =
                    egui::Rect::from_min_size(egui::pos2(origin.x, top), egui::vec2(width, height));
                row_ui(ui, lang, entry, rect, galley, &links, commands);
            }
        });
        // Rows measured this frame may have moved the ones below; show them where they are.
        view.heights.sync(entries, width, metrics);
        let max_offset = (output.content_size.y - output.inner_rect.height()).max(0.0);
        view.at_bottom = output.state.clamped_offset().y >= max_offset - 2.0;
        if !view.at_bottom && view.unread > 0 {
            new_messages_ui(ui, lang, output.inner_rect, view.unread, commands);
        }
    });
}

/// The sizes the height estimate works with, from the current fonts.
fn metrics(ui: &egui::Ui) -> RowMetrics {
    let font = FontId::proportional(BODY_SIZE);
    let line = ui.fonts_mut(|f| f.row_height(&font));
    RowMetrics {
        line,
        padding: PADDING_Y,
        narrow: BODY_SIZE * 0.5,
        wide: BODY_SIZE,
    }
}

/// The "N new messages ↓" button over the bottom of the log.
fn new_messages_ui(
    ui: &mut egui::Ui,
    lang: Lang,
    rect: egui::Rect,
    unread: usize,
    commands: &mut Vec<Command>,
) {
    let size = egui::vec2(220.0, 30.0);
    let pos = egui::pos2(
        rect.center().x - size.x / 2.0,
        rect.bottom() - size.y - 10.0,
    );
    let button = egui::Button::new(
        egui::RichText::new(lang.new_messages(unread))
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

/// A link in a row's galley: its characters there, and where it goes.
struct Link {
    chars: Range<usize>,
    url: String,
}

/// The colours of a row.
struct Palette {
    weak: Color32,
    text: Color32,
    accent: Color32,
    private: Color32,
    error: Color32,
    link: Color32,
    teacher: Color32,
}

impl Palette {
    fn of(visuals: &egui::Visuals) -> Self {
        let dark = visuals.dark_mode;
        Self {
            weak: visuals.weak_text_color(),
            text: visuals.text_color(),
            accent: if dark {
                Color32::from_rgb(120, 170, 255)
            } else {
                Color32::from_rgb(29, 78, 216)
            },
            private: if dark {
                Color32::from_rgb(230, 170, 80)
            } else {
                Color32::from_rgb(180, 83, 9)
            },
            error: visuals.error_fg_color,
            link: visuals.hyperlink_color,
            teacher: Color32::from_rgb(22, 163, 74),
        }
    }
}

/// Lays out one row, wrapped to `width`: time, who to whom, the whole text.
fn layout_row(
    ui: &egui::Ui,
    lang: Lang,
    entry: &Entry,
    own_id: Option<&str>,
    width: f32,
) -> (Arc<egui::Galley>, Vec<Link>) {
    let s = lang.s();
    let colors = Palette::of(ui.visuals());
    let body = FontId::proportional(BODY_SIZE);
    let format = |color: Color32| TextFormat::simple(body.clone(), color);
    let mut job = LayoutJob::default();
    job.wrap.max_width = width - 2.0 * PADDING_X;
    job.append(
        &entry.time(),
        0.0,
        TextFormat::simple(FontId::monospace(13.0), colors.weak),
    );
    let mut found = Vec::new();
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
            let sender_color = if *own { colors.accent } else { colors.text };
            job.append(&sender, 12.0, format(sender_color));
            if entry.from_host {
                // The teacher badge: a small white-on-green chip after the name.
                let mut chip = TextFormat::simple(FontId::proportional(12.0), Color32::WHITE);
                chip.background = colors.teacher;
                job.append(&format!(" {} ", s.teacher), 6.0, chip);
            }
            let recipient = match to {
                Some(Recipient::Everyone) => format!("→ {}", s.everyone),
                Some(Recipient::Client(peer_id)) if Some(peer_id.as_str()) == own_id => {
                    format!("→ {}", s.you)
                }
                Some(Recipient::Client(peer_id)) => format!("→ {peer_id}"),
                None => String::new(),
            };
            if !recipient.is_empty() {
                job.append(&recipient, 6.0, format(colors.weak));
            }
            if entry.room == Room::Broadcast {
                let room = format!("[{}]", s.broadcast_room);
                job.append(&room, 6.0, format(colors.accent));
            }
            if matches!(to, Some(Recipient::Client(_))) {
                let private = format!("[{}]", s.private);
                job.append(&private, 6.0, format(colors.private));
            }
            job.append(":", 0.0, format(colors.weak));
            // A multi-line message starts on its own line, so its lines align.
            let leading = if text.contains('\n') {
                job.append("\n", 0.0, format(colors.text));
                0.0
            } else {
                8.0
            };
            append_text(
                &mut job,
                text,
                leading,
                &format(colors.text),
                &colors,
                &mut found,
            );
        }
        EntryKind::Error(_) | EntryKind::Notice(_) | EntryKind::Note(_) => {
            let text = entry.text(lang);
            if is_error(entry) {
                let f = format(colors.error);
                append_text(&mut job, &text, 12.0, &f, &colors, &mut found);
            } else {
                let mut f = format(colors.weak);
                f.italics = true;
                let text = format!("— {text}");
                append_text(&mut job, &text, 12.0, &f, &colors, &mut found);
            }
        }
    }
    (ui.painter().layout_job(job), found)
}

/// Whether a row shows as an error.
fn is_error(entry: &Entry) -> bool {
    match &entry.kind {
        EntryKind::Error(_) => true,
        EntryKind::Note(note) => note.is_error(),
        EntryKind::Message { .. } | EntryKind::Notice(_) => false,
    }
}

/// Appends `text`, its links underlined in the link colour, and records where they are.
fn append_text(
    job: &mut LayoutJob,
    text: &str,
    leading: f32,
    format: &TextFormat,
    colors: &Palette,
    found: &mut Vec<Link>,
) {
    let mut link_format = format.clone();
    link_format.color = colors.link;
    link_format.underline = egui::Stroke::new(1.0, colors.link);
    let mut at = 0;
    let mut leading = leading;
    for range in links(text) {
        if let Some(before) = text.get(at..range.start)
            && !before.is_empty()
        {
            job.append(before, leading, format.clone());
            leading = 0.0;
        }
        let Some(url) = text.get(range.clone()) else {
            continue;
        };
        let start = job.text.chars().count();
        job.append(url, leading, link_format.clone());
        leading = 0.0;
        found.push(Link {
            chars: start..start + url.chars().count(),
            url: url.to_owned(),
        });
        at = range.end;
    }
    if let Some(rest) = text.get(at..)
        && (!rest.is_empty() || at == 0)
    {
        job.append(rest, leading, format.clone());
    }
}

/// One row at `rect`: its background, its text, a click on a link opens it, a click elsewhere
/// on someone's message writes to them, and a right click offers Copy.
fn row_ui(
    ui: &mut egui::Ui,
    lang: Lang,
    entry: &Entry,
    rect: egui::Rect,
    galley: Arc<egui::Galley>,
    found: &[Link],
    commands: &mut Vec<Command>,
) {
    let s = lang.s();
    let colors = Palette::of(ui.visuals());
    let (fill, reply_to, text) = match &entry.kind {
        EntryKind::Message {
            from,
            to,
            text,
            own,
        } => {
            let fill = if *own {
                Some(colors.accent.gamma_multiply(0.10))
            } else if matches!(to, Some(Recipient::Client(_))) {
                Some(colors.private.gamma_multiply(0.10))
            } else {
                None
            };
            (fill, from.as_ref().filter(|_| !*own), text.clone())
        }
        EntryKind::Note(note) => {
            let fill = is_error(entry).then(|| colors.error.gamma_multiply(0.08));
            (fill, None, note.full_text(lang))
        }
        EntryKind::Notice(_) | EntryKind::Error(_) => {
            let fill = is_error(entry).then(|| colors.error.gamma_multiply(0.08));
            (fill, None, entry.text(lang).into_owned())
        }
    };
    if let Some(fill) = fill {
        ui.painter().rect_filled(rect, 4.0, fill);
    }
    let inner = rect.shrink2(egui::vec2(PADDING_X, PADDING_Y));
    let mut row = ui.new_child(
        egui::UiBuilder::new()
            .max_rect(inner)
            .layout(egui::Layout::top_down(egui::Align::Min)),
    );
    let response = row.add(
        egui::Label::new(Arc::clone(&galley))
            .selectable(false)
            .sense(egui::Sense::click()),
    );
    let link_under = |pos: Option<egui::Pos2>| {
        let pos = pos?;
        let cursor = galley.cursor_from_pos(pos - response.rect.min);
        found
            .iter()
            .find(|link| {
                // The cursor is the nearest boundary: the one after the last character is
                // still the link.
                (link.chars.start..=link.chars.end).contains(&cursor.index.0)
            })
            .map(|link| link.url.clone())
    };
    if response.hovered() && link_under(response.hover_pos()).is_some() {
        ui.ctx().set_cursor_icon(egui::CursorIcon::PointingHand);
    }
    if response.clicked() {
        match link_under(response.interact_pointer_pos().or(response.hover_pos())) {
            Some(url) => commands.push(Command::OpenUrl(url)),
            None => {
                if let Some(peer_id) = reply_to {
                    commands.push(Command::WriteTo(peer_id.clone()));
                }
            }
        }
    }
    response.context_menu(|ui| {
        if ui.button(s.copy_message).clicked() {
            commands.push(Command::Copy(text.clone()));
            ui.close();
        }
        for link in found {
            if ui.button(lang.copy_this_link(&link.url)).clicked() {
                commands.push(Command::Copy(link.url.clone()));
                ui.close();
            }
        }
    });
}
