//! Who is connected: one row per client with the time they joined; the own entry is marked.
//! Clicking a name puts `id/` in the message box. The host also gets mute and kick buttons.

use super::command::Command;
use super::i18n::Lang;
use super::log::local_time;
use super::state::Chat;
use crate::bridge::RosterEntry;

/// Lays out the roster as a right panel. `host_roster` is the relay's view (with mute flags)
/// when this window hosts the chat.
pub fn ui(
    ui: &mut egui::Ui,
    lang: Lang,
    chat: &Chat,
    host_roster: Option<&[RosterEntry]>,
    commands: &mut Vec<Command>,
) {
    let s = lang.s();
    egui::Panel::right("roster")
        .resizable(true)
        .default_size(250.0)
        .show(ui, |ui| {
            ui.add_space(6.0);
            let Some(roster) = &chat.roster else {
                ui.heading(s.roster);
                ui.label(egui::RichText::new(s.no_roster).weak());
                return;
            };
            ui.heading(format!("{} ({})", s.roster, roster.len()));
            ui.separator();
            egui::ScrollArea::vertical()
                .auto_shrink(false)
                .show(ui, |ui| {
                    for client in roster {
                        let own = chat.own_id.as_deref() == Some(client.id.as_str());
                        let muted = host_roster
                            .and_then(|r| r.iter().find(|e| e.info.id == client.id))
                            .is_some_and(|e| e.muted);
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
                            let response = ui
                                .selectable_label(false, text)
                                .on_hover_text(format!("{} {}/", s.write_to, client.id));
                            if response.clicked() {
                                commands.push(Command::WriteTo(client.id.clone()));
                            }
                            if muted {
                                ui.label(
                                    egui::RichText::new(format!("({})", s.muted))
                                        .color(ui.visuals().warn_fg_color),
                                );
                            }
                        });
                        ui.label(
                            egui::RichText::new(lang.since(&local_time(client.since, "%H:%M")))
                                .small()
                                .weak(),
                        );
                        if host_roster.is_some() && !own {
                            ui.horizontal(|ui| {
                                if ui.small_button(s.write_to).clicked() {
                                    commands.push(Command::WriteTo(client.id.clone()));
                                }
                                let (label, mute) = if muted {
                                    (s.unmute, false)
                                } else {
                                    (s.mute, true)
                                };
                                if ui.small_button(label).clicked() {
                                    commands.push(Command::SetMuted(client.id.clone(), mute));
                                }
                                if ui.small_button(s.kick).clicked() {
                                    commands.push(Command::Kick(client.id.clone()));
                                }
                            });
                        }
                        ui.add_space(4.0);
                    }
                });
        });
}
