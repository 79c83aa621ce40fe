//! What the host shows the class: the addresses to type (large, copyable), the join code, the
//! browser join link with its QR code, the relay's counters, quiet notes (not announced, no
//! journal) and the firewall port.

use super::command::Command;
use super::i18n::Lang;
use super::share::QrCode;
use super::state::HostChat;
use super::widgets;
use crate::bridge::{HostNote, Stats};

/// Side of the QR code in the panel; the projector view shows it as large as the window.
const SMALL_QR: f32 = 168.0;

/// The facts the host panel shows.
#[derive(Debug)]
pub struct HostInfo<'a> {
    /// `LAN-IPv4:port` for each address of this machine.
    pub addresses: &'a [String],
    /// The join code, if any.
    pub join_code: Option<&'a str>,
    /// The listening port.
    pub port: u16,
    /// The browser join link.
    pub link: &'a str,
    /// The link as a QR code.
    pub qr: Option<&'a QrCode>,
    /// The relay's counters.
    pub stats: Stats,
    /// What did not start with hosting.
    pub notes: &'a [HostNote],
    /// The people removed and not let back yet.
    pub removed: &'a [String],
}

impl<'a> From<&'a HostChat> for HostInfo<'a> {
    fn from(host: &'a HostChat) -> Self {
        Self {
            addresses: &host.addresses,
            join_code: host.join_code.as_deref(),
            port: host.port,
            link: &host.link,
            qr: host.qr.as_ref(),
            stats: host.stats,
            notes: &host.notes,
            removed: &host.removed,
        }
    }
}

/// Lays out the host panel (inside a side panel's scroll area).
pub fn ui(ui: &mut egui::Ui, lang: Lang, info: HostInfo<'_>, commands: &mut Vec<Command>) {
    let s = lang.s();
    ui.scope(|ui| {
        ui.add_space(6.0);
        ui.heading(s.students_type);
        ui.add_space(4.0);
        for address in info.addresses {
            ui.horizontal(|ui| {
                let text = egui::RichText::new(address).monospace().size(22.0).strong();
                ui.add(egui::Label::new(text).selectable(true));
                widgets::copy_button_ui(ui, lang, s.copy, address, commands);
            });
        }
        ui.add_space(10.0);
        ui.heading(s.join_code_title);
        ui.horizontal(|ui| match info.join_code {
            Some(code) => {
                let text = egui::RichText::new(code).monospace().size(26.0).strong();
                ui.add(egui::Label::new(text).selectable(true));
                widgets::copy_button_ui(ui, lang, s.copy, code, commands);
            }
            None => {
                ui.label(egui::RichText::new(s.no_join_code).weak());
            }
        });
        ui.add_space(10.0);
        share_ui(ui, lang, &info, commands);
        ui.add_space(10.0);
        stats_ui(ui, lang, &info.stats);
        ui.add_space(10.0);
        removed_ui(ui, lang, info.removed, commands);
        for note in info.notes {
            ui.label(egui::RichText::new(lang.host_note(note)).small().weak());
        }
        egui::Frame::new()
            .fill(ui.visuals().warn_fg_color.gamma_multiply(0.12))
            .corner_radius(6.0)
            .inner_margin(8.0)
            .show(ui, |ui| {
                ui.label(lang.firewall(info.port));
            });
    });
}

/// Who was removed: they stay out (also after reconnecting) until the host lets them back.
fn removed_ui(ui: &mut egui::Ui, lang: Lang, removed: &[String], commands: &mut Vec<Command>) {
    if removed.is_empty() {
        return;
    }
    let s = lang.s();
    ui.heading(s.removed_title);
    for peer_id in removed {
        ui.horizontal(|ui| {
            ui.label(peer_id);
            if ui.small_button(s.readmit).clicked() {
                commands.push(Command::Readmit(peer_id.clone()));
            }
        });
    }
    ui.add_space(10.0);
}

/// The browser link, its QR code and the buttons to copy it or show it on the projector.
fn share_ui(ui: &mut egui::Ui, lang: Lang, info: &HostInfo<'_>, commands: &mut Vec<Command>) {
    let s = lang.s();
    ui.heading(s.browser_link);
    let text = egui::RichText::new(info.link).monospace();
    ui.add(egui::Label::new(text).selectable(true).wrap());
    ui.horizontal_wrapped(|ui| {
        widgets::copy_button_ui(ui, lang, s.copy_link, info.link, commands);
        if ui.button(s.show_qr).clicked() {
            commands.push(Command::ShowProjector(true));
        }
    });
    if let Some(qr) = info.qr {
        let response = qr.ui(ui, SMALL_QR, &lang.qr_label(info.link));
        if response.interact(egui::Sense::click()).clicked() {
            commands.push(Command::ShowProjector(true));
        }
    }
}

/// The relay's counters, one line each, so a screen reader reads name and number together.
fn stats_ui(ui: &mut egui::Ui, lang: Lang, stats: &Stats) {
    ui.heading(lang.s().relay_counters);
    ui.label(
        egui::RichText::new(lang.connected_count(stats.clients))
            .size(18.0)
            .strong(),
    );
    for line in lang.stats_lines(stats) {
        ui.label(line);
    }
}

/// The projector view: the QR code as large as the window allows, the link in large text
/// under it, and a way back (button or Escape).
pub fn projector_ui(
    ui: &mut egui::Ui,
    lang: Lang,
    code: Option<&QrCode>,
    link: &str,
    commands: &mut Vec<Command>,
) {
    let s = lang.s();
    egui::CentralPanel::default().show(ui, |ui| {
        if ui.input(|i| i.key_pressed(egui::Key::Escape)) {
            commands.push(Command::ShowProjector(false));
        }
        ui.horizontal(|ui| {
            if ui.button(s.close_projector).clicked() {
                commands.push(Command::ShowProjector(false));
            }
            widgets::copy_button_ui(ui, lang, s.copy_link, link, commands);
        });
        ui.vertical_centered(|ui| {
            let link_height = 64.0;
            let available = ui.available_size();
            let side = available.x.min(available.y - link_height).max(120.0);
            match code {
                Some(code) => {
                    code.ui(ui, side, &lang.qr_label(link));
                }
                None => {
                    ui.label(s.qr_too_long);
                }
            }
            let text = egui::RichText::new(link).monospace().size(36.0).strong();
            ui.add(egui::Label::new(text).selectable(true).wrap());
        });
    });
}
