//! What the host shows the class: the addresses to type (large, copyable), the join code, the
//! firewall port and how many are connected.

use super::app::Command;
use super::i18n::Lang;

/// The facts the host panel shows.
#[derive(Debug)]
pub struct HostInfo<'a> {
    /// `LAN-IPv4:port` for each address of this machine.
    pub addresses: &'a [String],
    /// The join code, if any.
    pub join_code: Option<&'a str>,
    /// The listening port.
    pub port: u16,
    /// Clients connected (the host's own included).
    pub connected: usize,
}

/// Lays out the host panel (inside a side panel).
pub fn ui(ui: &mut egui::Ui, lang: Lang, info: HostInfo<'_>, commands: &mut Vec<Command>) {
    let s = lang.s();
    ui.add_space(6.0);
    ui.heading(s.students_type);
    ui.add_space(4.0);
    for address in info.addresses {
        ui.horizontal(|ui| {
            let text = egui::RichText::new(address).monospace().size(22.0).strong();
            ui.add(egui::Label::new(text).selectable(true));
            if ui.button(s.copy).on_hover_text(s.copy_hint).clicked() {
                commands.push(Command::Copy(address.clone()));
            }
        });
    }
    ui.add_space(10.0);
    ui.heading(s.join_code_title);
    ui.horizontal(|ui| match info.join_code {
        Some(code) => {
            let text = egui::RichText::new(code).monospace().size(26.0).strong();
            ui.add(egui::Label::new(text).selectable(true));
            if ui.button(s.copy).on_hover_text(s.copy_hint).clicked() {
                commands.push(Command::Copy(code.to_owned()));
            }
        }
        None => {
            ui.label(egui::RichText::new(s.no_join_code).weak());
        }
    });
    ui.add_space(10.0);
    ui.label(
        egui::RichText::new(lang.connected_count(info.connected))
            .size(18.0)
            .strong(),
    );
    ui.add_space(10.0);
    egui::Frame::new()
        .fill(ui.visuals().warn_fg_color.gamma_multiply(0.12))
        .corner_radius(6.0)
        .inner_margin(8.0)
        .show(ui, |ui| {
            ui.label(lang.firewall(info.port));
        });
}
