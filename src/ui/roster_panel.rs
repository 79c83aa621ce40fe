//! Who is connected: one row per client with the time they joined; the own entry is marked.
//! Clicking a name puts `id/` in the message box. The host also gets mute and kick buttons.
//!
//! A search field filters the list, and only the rows in view are laid out (rows have one
//! height), so a lecture hall of a thousand students scrolls like a class of twenty.

use super::command::{Command, Confirm};
use super::i18n::Lang;
use super::log::local_time;
use super::state::Chat;
use super::widgets;
use crate::bridge::{ClientInfo, Role};

/// The search field's widget ID.
pub fn search_id() -> egui::Id {
    egui::Id::unique("classchat.roster_search")
}

/// Lays out the roster as a right panel. `muted` (the IDs the host muted) is given when this
/// window steers the chat, which adds the mute and kick buttons. The search text is the roster
/// panel's own field.
pub fn ui(
    ui: &mut egui::Ui,
    lang: Lang,
    chat: &mut Chat,
    muted: Option<&[String]>,
    commands: &mut Vec<Command>,
) {
    let s = lang.s();
    let (default, max) = widgets::side_panel_size(ui.ctx(), 0.18, 150.0, 260.0);
    egui::Panel::right("roster")
        .resizable(true)
        .default_size(default)
        .size_range(150.0..=max)
        .show(ui, |ui| {
            ui.add_space(6.0);
            let Some(roster) = &chat.roster else {
                ui.heading(s.roster);
                ui.label(egui::RichText::new(s.no_roster).weak());
                return;
            };
            ui.heading(format!("{} ({})", s.roster, roster.len()));
            let label = ui.label(egui::RichText::new(s.search_roster).small().weak());
            let search = egui::TextEdit::singleline(&mut chat.roster_filter)
                .id(search_id())
                .desired_width(f32::INFINITY);
            ui.add(search).labelled_by(label.id);
            if !chat.state.connected() {
                // The list is what the relay said last; while disconnected it may be stale.
                ui.label(egui::RichText::new(chat.state.describe(lang)).weak());
                ui.disable();
            }
            ui.separator();
            let needle = chat.roster_filter.trim().to_lowercase();
            let shown: Vec<&ClientInfo> = roster
                .iter()
                .filter(|c| needle.is_empty() || c.id.to_lowercase().contains(&needle))
                .collect();
            if shown.is_empty() && !needle.is_empty() {
                ui.label(egui::RichText::new(s.nobody_found).weak());
            }
            let own_id = chat.own_id.as_deref();
            let spacing = ui.spacing().item_spacing.y;
            let line = ui.text_style_height(&egui::TextStyle::Body);
            let small = ui.text_style_height(&egui::TextStyle::Small);
            let button = ui.spacing().interact_size.y;
            let buttons = if muted.is_some() {
                button + spacing
            } else {
                0.0
            };
            let row_height = line + 4.0 + small + spacing + buttons + 4.0;
            egui::ScrollArea::vertical().auto_shrink(false).show_rows(
                ui,
                row_height,
                shown.len(),
                |ui, rows| {
                    for client in rows.filter_map(|i| shown.get(i)) {
                        let own = own_id == Some(client.id.as_str());
                        let is_muted = muted.is_some_and(|m| m.contains(&client.id));
                        let top = ui.cursor().top();
                        client_ui(ui, lang, client, own, is_muted, muted.is_some(), commands);
                        // Every row takes the same height, whatever it holds.
                        let used = ui.cursor().top() - top;
                        if used < row_height {
                            ui.add_space(row_height - used - spacing);
                        }
                    }
                },
            );
        });
}

/// The teacher badge beside a host's name.
fn teacher_chip_ui(ui: &mut egui::Ui, lang: Lang) {
    let text = egui::RichText::new(lang.s().teacher)
        .small()
        .strong()
        .color(egui::Color32::WHITE)
        .background_color(egui::Color32::from_rgb(22, 163, 74));
    ui.label(text);
}

/// A small button showing `action`, with "`action` `whom`" as its accessible name.
fn named_button_ui(ui: &mut egui::Ui, action: &str, whom: &str) -> egui::Response {
    let response = ui.small_button(action);
    let name = format!("{action} {whom}");
    response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, true, &name));
    response
}

/// One roster row: the name (own marked, muted flagged), since when, and the host's buttons.
fn client_ui(
    ui: &mut egui::Ui,
    lang: Lang,
    client: &ClientInfo,
    own: bool,
    muted: bool,
    hosting: bool,
    commands: &mut Vec<Command>,
) {
    let s = lang.s();
    let name = if own {
        format!("{} ({})", client.id, s.you)
    } else {
        client.id.clone()
    };
    ui.horizontal(|ui| {
        let mut text = egui::RichText::new(name).size(16.0);
        if own {
            text = text.strong();
        }
        let label = egui::Button::selectable(false, text).truncate();
        let response = ui
            .add(label)
            .on_hover_text(format!("{} {}/", s.write_to, client.id));
        if response.clicked() {
            commands.push(Command::WriteTo(client.id.clone()));
        }
        if client.role == Some(Role::Host) {
            teacher_chip_ui(ui, lang);
        }
        if muted {
            ui.label(
                egui::RichText::new(format!("({})", s.muted)).color(ui.visuals().warn_fg_color),
            );
        }
    });
    ui.label(
        egui::RichText::new(lang.since(&local_time(client.since, "%H:%M")))
            .small()
            .weak(),
    );
    if hosting && !own {
        // Clicking the name writes to them; the row keeps to two buttons so it fits a
        // narrow panel.
        ui.horizontal(|ui| {
            let (label, mute) = if muted {
                (s.unmute, false)
            } else {
                (s.mute, true)
            };
            // Every row has the same buttons: a screen reader names whom each one is for.
            if named_button_ui(ui, label, &client.id).clicked() {
                commands.push(Command::SetMuted(client.id.clone(), mute));
            }
            if named_button_ui(ui, s.kick, &client.id).clicked() {
                commands.push(Command::Ask(Confirm::Kick(client.id.clone())));
            }
        });
    } else if hosting {
        // The own row has no buttons; keep the rows' height.
        ui.add_space(ui.spacing().interact_size.y);
    }
}
