//! What the window does to itself each frame, apart from the chat: fonts once, the remembered
//! zoom, a caret that stops blinking when the user is idle, and the title with the unread
//! count.

use std::time::Duration;

use super::fonts;
use super::state::Settings;

/// The caret blinks this long after the last input, then stays on, so a focused message box
/// lets an idle window sleep.
const CARET_BLINKS_FOR: f64 = 5.0;

/// The window's title without unread count.
pub const TITLE: &str = "classchat";

/// The window's own state across frames.
#[derive(Debug)]
pub struct Chrome {
    fonts_installed: bool,
    /// The remembered zoom was given to egui (on the first frame).
    zoom_applied: bool,
    /// When the user last typed, clicked or moved the pointer (egui's clock, seconds).
    last_input: f64,
    title: String,
}

impl Default for Chrome {
    fn default() -> Self {
        Self {
            fonts_installed: false,
            zoom_applied: false,
            last_input: 0.0,
            title: TITLE.to_owned(),
        }
    }
}

impl Chrome {
    /// Installs the fonts now (eframe's creation context has the egui context early).
    pub fn install_fonts(&mut self, ctx: &egui::Context) {
        fonts::install(ctx);
        self.fonts_installed = true;
    }

    /// The per-frame part: fonts on the first frame, the zoom (applied once, then remembered
    /// as Ctrl+ / Ctrl− / Ctrl 0 change it) and the caret.
    pub fn frame(&mut self, ctx: &egui::Context, settings: &mut Settings) {
        if !self.fonts_installed {
            self.install_fonts(ctx);
        }
        if self.zoom_applied {
            settings.set_zoom(ctx.zoom_factor());
        } else {
            ctx.set_zoom_factor(settings.zoom());
            self.zoom_applied = true;
        }
        self.settle_caret(ctx);
    }

    /// Blinks the caret only for a while after the last input: a blinking caret repaints the
    /// window twice a second for as long as a box has focus.
    fn settle_caret(&mut self, ctx: &egui::Context) {
        let (now, active) = ctx.input(|i| (i.time, !i.events.is_empty()));
        if active {
            self.last_input = now;
        }
        let blink = now - self.last_input < CARET_BLINKS_FOR;
        if ctx.global_style().visuals.text_cursor.blink != blink {
            ctx.all_styles_mut(|style| style.visuals.text_cursor.blink = blink);
        }
        if blink {
            // Wake once more when the blinking stops, to draw the caret steady.
            let left = CARET_BLINKS_FOR - (now - self.last_input);
            ctx.request_repaint_after(Duration::from_secs_f64(left.max(0.0)));
        }
    }

    /// Shows `unread` and the raised hands in the title, telling the window only when it
    /// changes.
    pub fn update_title(&mut self, ctx: &egui::Context, unread: usize, hands: usize) {
        let mut title = if unread > 0 {
            format!("({unread}) {TITLE}")
        } else {
            TITLE.to_owned()
        };
        if hands > 0 {
            title = format!("✋{hands} {title}");
        }
        if title != self.title {
            ctx.send_viewport_cmd(egui::ViewportCommand::Title(title.clone()));
            self.title = title;
        }
    }

    /// The title as last set.
    pub fn title(&self) -> &str {
        &self.title
    }
}
