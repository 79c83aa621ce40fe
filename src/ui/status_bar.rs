//! The bottom line: connection state (always visible), the host's client count, and the
//! latest status message (for example where a transcript was saved).

use egui::Color32;

use super::i18n::Lang;
use super::state::{Chat, ConnState};
use super::widgets;

/// Lays out the status bar as the lowest bottom panel.
pub fn ui(
    ui: &mut egui::Ui,
    lang: Lang,
    chat: &Chat,
    connected_count: Option<usize>,
    status: Option<&(String, bool)>,
) {
    egui::Panel::bottom("status_bar").show(ui, |ui| {
        ui.horizontal(|ui| {
            let color = match &chat.state {
                ConnState::Connected { legacy: false } => Color32::from_rgb(22, 163, 74),
                ConnState::Connected { legacy: true } => Color32::from_rgb(202, 138, 4),
                ConnState::Connecting { .. } | ConnState::Waiting { .. } => {
                    Color32::from_rgb(234, 88, 12)
                }
                ConnState::Stopped(_) => ui.visuals().error_fg_color,
            };
            let (rect, _) = ui.allocate_exact_size(egui::vec2(12.0, 12.0), egui::Sense::hover());
            ui.painter().circle_filled(rect.center(), 5.0, color);
            ui.label(egui::RichText::new(chat.state.describe(lang)).strong());
            if let Some(count) = connected_count {
                ui.separator();
                ui.label(lang.connected_count(count));
            }
            if let Some(status) = status {
                ui.separator();
                widgets::status_message_ui(ui, status);
            }
        });
    });
}

//END
