//! The bundled Japanese and emoji fonts, registered as fallbacks after egui's own fonts so that
//! kana, kanji and emoji render on every system (no tofu boxes), in both proportional and
//! monospace text.

use std::sync::Arc;

/// Name of the bundled font in egui's font table.
const CJK_FONT: &str = "noto_sans_cjk_jp";

/// Noto Sans CJK JP, subset (SIL Open Font License; see `assets/fonts/`).
static CJK_FONT_BYTES: &[u8] =
    include_bytes!("../../assets/fonts/NotoSansCJKjp-Regular-subset.otf");

/// Name of the bundled emoji font in egui's font table.
const EMOJI_FONT: &str = "noto_emoji";

/// Noto Emoji Regular, monochrome (SIL Open Font License; see `assets/fonts/`).
static EMOJI_FONT_BYTES: &[u8] = include_bytes!("../../assets/fonts/NotoEmoji-Regular.ttf");

/// Installs egui's default fonts plus the Japanese and emoji fallbacks, and a slightly larger text style
/// for a classroom screen.
pub fn install(ctx: &egui::Context) {
    let mut fonts = egui::FontDefinitions::default();
    fonts.font_data.insert(
        CJK_FONT.to_owned(),
        Arc::new(egui::FontData::from_static(CJK_FONT_BYTES)),
    );
    fonts.font_data.insert(
        EMOJI_FONT.to_owned(),
        Arc::new(egui::FontData::from_static(EMOJI_FONT_BYTES)),
    );
    for family in [egui::FontFamily::Proportional, egui::FontFamily::Monospace] {
        let chain = fonts.families.entry(family).or_default();
        chain.push(CJK_FONT.to_owned());
        chain.push(EMOJI_FONT.to_owned());
    }
    ctx.set_fonts(fonts);
    ctx.all_styles_mut(|style| {
        use egui::{FontFamily, FontId, TextStyle};
        style.text_styles = [
            (
                TextStyle::Small,
                FontId::new(12.0, FontFamily::Proportional),
            ),
            (TextStyle::Body, FontId::new(15.0, FontFamily::Proportional)),
            (
                TextStyle::Button,
                FontId::new(15.0, FontFamily::Proportional),
            ),
            (
                TextStyle::Heading,
                FontId::new(22.0, FontFamily::Proportional),
            ),
            (
                TextStyle::Monospace,
                FontId::new(14.0, FontFamily::Monospace),
            ),
        ]
        .into();
        style.spacing.button_padding = egui::vec2(8.0, 4.0);
        style.spacing.item_spacing = egui::vec2(8.0, 6.0);
    });
}
