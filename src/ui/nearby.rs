//! Chats announced on the local network, listed on the Join card: one click fills the address.
//!
//! [`Nearby`] starts a [`Browser`] off the UI thread while the start screen shows and drops it
//! when the window hosts or joins. The browser wakes the window when the list changes, so
//! nothing polls. When discovery cannot start (no multicast), a quiet line says so and the
//! address is typed as before.

use poll_promise::Promise;

use super::command::Command;
use super::i18n::Lang;
use crate::bridge::{Backend, Browser, DiscoveryError, Waker};

/// Local network discovery as the start screen sees it.
#[derive(Default)]
pub enum Nearby {
    /// Not browsing (the window hosts or is in a chat).
    #[default]
    Off,
    /// The browser is starting on a blocking thread.
    Starting(Promise<Result<Browser, DiscoveryError>>),
    /// Listening for announcements.
    Browsing(Browser),
    /// Discovery could not start; the reason is shown quietly.
    Unavailable(String),
}

impl std::fmt::Debug for Nearby {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Off => "Off",
            Self::Starting(_) => "Starting",
            Self::Browsing(_) => "Browsing",
            Self::Unavailable(_) => "Unavailable",
        })
    }
}

impl Nearby {
    /// Browses while `wanted`, stops otherwise; moves a finished start on. `wake` repaints.
    pub fn update(&mut self, wanted: bool, backend: &Backend, wake: &Waker) {
        match self {
            Self::Off if wanted => {
                let on_change = wake.clone();
                *self = Self::Starting(
                    backend.run_blocking(move || Browser::start(move || on_change()), wake.clone()),
                );
            }
            Self::Starting(promise) if promise.ready().is_some() => {
                let Self::Starting(promise) = std::mem::take(self) else {
                    return;
                };
                *self = match promise.try_take() {
                    Ok(Ok(browser)) => Self::Browsing(browser),
                    Ok(Err(e)) => Self::Unavailable(e.to_string()),
                    Err(promise) => Self::Starting(promise),
                };
                // Stopped meanwhile: drop the browser at once.
                if !wanted {
                    *self = Self::Off;
                }
            }
            Self::Browsing(_) | Self::Unavailable(_) if !wanted => *self = Self::Off,
            _ => {}
        }
    }
}

/// The list on the Join card: a button per chat found, or a quiet line.
pub fn ui(ui: &mut egui::Ui, lang: Lang, nearby: &Nearby, commands: &mut Vec<Command>) {
    let s = lang.s();
    let weak = ui.visuals().weak_text_color();
    ui.label(egui::RichText::new(s.nearby_title).strong());
    let found = match nearby {
        Nearby::Browsing(browser) => browser.rooms(),
        Nearby::Off | Nearby::Starting(_) => Vec::new(),
        Nearby::Unavailable(why) => {
            let text = format!("{} ({why})", s.nearby_unavailable);
            ui.label(egui::RichText::new(text).color(weak).small());
            return;
        }
    };
    if found.is_empty() {
        ui.label(egui::RichText::new(s.nearby_none).color(weak));
        return;
    }
    egui::ScrollArea::vertical()
        .max_height(110.0)
        .show(ui, |ui| {
            for chat in &found {
                let address = chat.address();
                let mut text = format!("{}  —  {address}", chat.name);
                if chat.join_code_required {
                    text.push_str(&format!("  ({})", s.code_needed));
                }
                // Announced from outside this network: perhaps not the class's own chat.
                if !chat.on_my_subnet {
                    text.push_str(&format!("  ({})", s.other_network));
                }
                let button =
                    egui::Button::new(text).min_size(egui::vec2(ui.available_width(), 0.0));
                if ui.add(button).on_hover_text(s.nearby_hint).clicked() {
                    commands.push(Command::PickNearby {
                        address,
                        join_code_required: chat.join_code_required,
                    });
                }
            }
        });
}
