//! The start screen: two clear choices, **Host a chat** and **Join a chat**, with the fields
//! each needs, the chats found on the network, and the previous session's transcript. It edits
//! [`Settings`] in place and returns [`Command`]s.

use super::command::{Command, TlsFile};
use super::i18n::Lang;
use super::nearby::{self, Nearby};
use super::state::{PreviousChat, Settings};
use super::widgets;

/// Width of a text field on the start screen.
const FIELD_WIDTH: f32 = 260.0;

/// What the start screen shows besides the settings.
#[derive(Debug)]
pub struct StartInfo<'a> {
    /// The latest error.
    pub error: Option<&'a str>,
    /// A sentence while hosting or joining starts: disables the fields and offers Cancel.
    pub busy: Option<String>,
    /// Chats found on the network.
    pub nearby: &'a Nearby,
    /// The previous session, if its journal was found.
    pub previous: Option<&'a PreviousChat>,
    /// A transcript is being saved.
    pub saving: bool,
    /// The latest status message (where the previous session was saved, or why not).
    pub status: Option<&'a (String, bool)>,
}

/// The join-code field of the Join card, focused when a picked room needs a code.
pub fn join_code_id() -> egui::Id {
    egui::Id::unique("classchat.join_code")
}

/// Lays out the start screen.
pub fn ui(
    ui: &mut egui::Ui,
    settings: &mut Settings,
    info: StartInfo<'_>,
    commands: &mut Vec<Command>,
) {
    let StartInfo {
        error,
        busy,
        nearby,
        previous,
        saving,
        status,
    } = info;
    let lang = settings.lang;
    let s = lang.s();
    egui::CentralPanel::default().show(ui, |ui| {
        ui.horizontal(|ui| {
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                widgets::language_ui(ui, lang, commands);
                ui.label(s.language);
            });
        });
        ui.vertical_centered(|ui| {
            ui.add_space(8.0);
            ui.label(egui::RichText::new("classchat").size(34.0).strong());
            ui.label(egui::RichText::new(s.tagline).size(16.0));
            ui.add_space(16.0);
        });
        let enabled = busy.is_none();
        ui.columns(2, |columns| {
            if let [left, right] = columns {
                card_ui(left, |ui| {
                    ui.add_enabled_ui(enabled, |ui| host_card_ui(ui, settings, commands));
                });
                card_ui(right, |ui| {
                    ui.add_enabled_ui(enabled, |ui| join_card_ui(ui, settings, nearby, commands));
                });
            }
        });
        ui.add_space(12.0);
        ui.vertical_centered(|ui| {
            if let Some(busy) = busy {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label(egui::RichText::new(busy).size(16.0));
                    if ui.button(s.cancel).clicked() {
                        commands.push(Command::Cancel);
                    }
                });
                return;
            }
            if let Some(error) = error {
                egui::Frame::new()
                    .fill(ui.visuals().error_fg_color.gamma_multiply(0.12))
                    .stroke(egui::Stroke::new(1.0, ui.visuals().error_fg_color))
                    .corner_radius(6.0)
                    .inner_margin(10.0)
                    .show(ui, |ui| {
                        ui.label(
                            egui::RichText::new(error)
                                .size(16.0)
                                .color(ui.visuals().error_fg_color),
                        );
                    });
                ui.add_space(8.0);
            }
            if let Some(previous) = previous {
                previous_offer_ui(ui, lang, previous, saving, commands);
            }
            if let Some(status) = status {
                widgets::status_message_ui(ui, status);
            }
        });
    });
}

fn card_ui(ui: &mut egui::Ui, add_contents: impl FnOnce(&mut egui::Ui)) {
    egui::Frame::group(ui.style())
        .inner_margin(16.0)
        .corner_radius(8.0)
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            add_contents(ui);
        });
}

/// A labelled single-line field; the label names the field for screen readers and tests.
fn field_ui(ui: &mut egui::Ui, label: &str, value: &mut String, hint: &str) -> egui::Response {
    let label = ui.label(label);
    ui.add(
        egui::TextEdit::singleline(value)
            .hint_text(hint)
            .desired_width(FIELD_WIDTH),
    )
    .labelled_by(label.id)
}

fn host_card_ui(ui: &mut egui::Ui, settings: &mut Settings, commands: &mut Vec<Command>) {
    let s = settings.lang.s();
    ui.heading(s.host_title);
    ui.label(egui::RichText::new(s.host_help).color(ui.visuals().weak_text_color()));
    ui.add_space(8.0);
    let mut submit = false;
    egui::Grid::new("host_fields")
        .num_columns(2)
        .spacing([12.0, 8.0])
        .show(ui, |ui| {
            submit |= enter(&field_ui(ui, s.port, &mut settings.port, "30005"));
            ui.end_row();
            let label = ui.label(s.join_code);
            ui.horizontal(|ui| {
                let field = ui
                    .add(
                        egui::TextEdit::singleline(&mut settings.host_code)
                            .hint_text(s.join_code_hint)
                            .desired_width(FIELD_WIDTH - 90.0),
                    )
                    .labelled_by(label.id);
                submit |= enter(&field);
                if field.changed() {
                    settings.code_typed();
                }
                if ui.button(s.generate).clicked() {
                    commands.push(Command::GenerateCode);
                }
            });
            ui.end_row();
            submit |= enter(&field_ui(ui, s.host_name, &mut settings.host_name, "先生"));
            ui.end_row();
            submit |= enter(&field_ui(
                ui,
                s.room_name,
                &mut settings.room_name,
                "classchat",
            ));
            ui.end_row();
            submit |= file_field_ui(
                ui,
                (s.tls_cert, s.tls_cert_hint, s.browse),
                &mut settings.tls_cert,
                TlsFile::Cert,
                commands,
            );
            ui.end_row();
            submit |= file_field_ui(
                ui,
                (s.tls_key, s.tls_key_hint, s.browse),
                &mut settings.tls_key,
                TlsFile::Key,
                commands,
            );
            ui.end_row();
        });
    ui.add_space(10.0);
    if big_button_ui(ui, s.start_hosting) || submit {
        commands.push(Command::StartHosting);
    }
}

/// A labelled path field with a button that opens a file dialog; whether Enter was pressed.
fn file_field_ui(
    ui: &mut egui::Ui,
    (label, hint, browse): (&str, &str, &str),
    path: &mut String,
    which: TlsFile,
    commands: &mut Vec<Command>,
) -> bool {
    let label = ui.label(label);
    ui.horizontal(|ui| {
        let field = ui
            .add(
                egui::TextEdit::singleline(path)
                    .hint_text(hint)
                    .desired_width(FIELD_WIDTH - 90.0),
            )
            .labelled_by(label.id);
        if ui.button(browse).clicked() {
            commands.push(Command::PickTlsFile(which));
        }
        enter(&field)
    })
    .inner
}

fn join_card_ui(
    ui: &mut egui::Ui,
    settings: &mut Settings,
    nearby: &Nearby,
    commands: &mut Vec<Command>,
) {
    let s = settings.lang.s();
    ui.heading(s.join_title);
    ui.label(egui::RichText::new(s.join_help).color(ui.visuals().weak_text_color()));
    ui.add_space(8.0);
    nearby::ui(ui, settings.lang, nearby, commands);
    ui.add_space(8.0);
    let mut submit = false;
    egui::Grid::new("join_fields")
        .num_columns(2)
        .spacing([12.0, 8.0])
        .show(ui, |ui| {
            submit |= enter(&field_ui(
                ui,
                s.address,
                &mut settings.address,
                s.address_hint,
            ));
            ui.end_row();
            submit |= enter(&field_ui(ui, s.your_name, &mut settings.name, s.name_hint));
            ui.end_row();
            let label = ui.label(s.join_code);
            let field = egui::TextEdit::singleline(&mut settings.join_code)
                .id(join_code_id())
                .desired_width(FIELD_WIDTH);
            submit |= enter(&ui.add(field).labelled_by(label.id));
            ui.end_row();
            // Only an instructor steering a relay started with `--host-token` fills this in.
            let label = ui.label(s.host_key);
            let field = egui::TextEdit::singleline(&mut settings.host_key)
                .password(true)
                .hint_text(s.host_key_hint)
                .desired_width(FIELD_WIDTH);
            submit |= enter(&ui.add(field).labelled_by(label.id));
            ui.end_row();
            submit |= file_field_ui(
                ui,
                (s.ca_cert, s.ca_cert_hint, s.browse),
                &mut settings.ca_cert,
                TlsFile::Ca,
                commands,
            );
            ui.end_row();
        });
    ui.add_space(10.0);
    if big_button_ui(ui, s.join) || submit {
        commands.push(Command::Join);
    }
}

/// Enter pressed in this field.
/// A card's main button; whether it was clicked.
fn big_button_ui(ui: &mut egui::Ui, text: &str) -> bool {
    let button = egui::Button::new(egui::RichText::new(text).size(17.0).strong())
        .min_size(egui::vec2(180.0, 34.0));
    ui.add(button).clicked()
}

fn enter(response: &egui::Response) -> bool {
    response.lost_focus() && response.ctx.input(|i| i.key_pressed(egui::Key::Enter))
}

/// The offer on the start screen: when, how many lines, View and Save buttons.
fn previous_offer_ui(
    ui: &mut egui::Ui,
    lang: Lang,
    previous: &PreviousChat,
    saving: bool,
    commands: &mut Vec<Command>,
) {
    let s = lang.s();
    egui::Frame::group(ui.style())
        .corner_radius(6.0)
        .inner_margin(10.0)
        .show(ui, |ui| {
            ui.horizontal_wrapped(|ui| {
                ui.label(lang.previous_session(&previous.when(), previous.log.len()));
                if ui.button(s.view_previous).clicked() {
                    commands.push(Command::ViewPrevious);
                }
                widgets::save_button_ui(ui, lang, saving, commands);
            });
        });
}
