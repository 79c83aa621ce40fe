//! Sharing a hosted chat with the class: the browser join link (with the join code in it) and
//! its QR code drawn with egui's painter (the host panel shows it small, and large in the
//! projector view).
//!
//! [`join_link`] and [`QrCode`] are plain data and unit-tested; `tests/ui.rs` checks that the
//! host window shows both.

use egui::emath::GuiRounding as _;

/// Light modules around the code, as the QR specification asks for.
const QUIET_ZONE: usize = 4;

/// The browser join page for a relay reachable at `address` (`host:port`, or
/// `https://host:port` for a relay with a certificate), with the join code as the `code` query
/// parameter the page reads.
pub fn join_link(address: &str, join_code: Option<&str>) -> String {
    let base = if address.contains("://") {
        format!("{address}/")
    } else {
        format!("http://{address}/")
    };
    let Some(code) = join_code else {
        return base;
    };
    match url::Url::parse(&base) {
        Ok(mut link) => {
            link.query_pairs_mut().append_pair("code", code);
            link.into()
        }
        // Not a valid host: show the address as typed rather than nothing.
        Err(_) => format!("{base}?code={code}"),
    }
}

/// The modules of a QR code, row by row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QrCode {
    /// The text it encodes.
    pub text: String,
    /// Modules per side (without the quiet zone).
    pub width: usize,
    /// `true` for a dark module, `width * width` of them.
    pub dark: Vec<bool>,
}

impl QrCode {
    /// Encodes `text` with medium error correction; `None` if it is too long for a QR code.
    pub fn new(text: &str) -> Option<Self> {
        let code = qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M)
            .ok()?;
        let width = code.width();
        let dark = code
            .to_colors()
            .into_iter()
            .map(|c| c == qrcode::Color::Dark)
            .collect();
        Some(Self {
            text: text.to_owned(),
            width,
            dark,
        })
    }

    /// Draws the code as a square of `side` points, black on white whatever the theme (phone
    /// cameras expect dark modules on a light ground). Screen readers hear `label`.
    pub fn ui(&self, ui: &mut egui::Ui, side: f32, label: &str) -> egui::Response {
        let (rect, response) = ui.allocate_exact_size(egui::vec2(side, side), egui::Sense::hover());
        response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Image, true, label));
        if !ui.is_rect_visible(rect) {
            return response;
        }
        let painter = ui.painter_at(rect);
        painter.rect_filled(rect, 0.0, egui::Color32::WHITE);
        let cells = (self.width + 2 * QUIET_ZONE) as f32;
        // Whole pixels per module keep the edges sharp; the rest is centred as margin.
        let pixels = ui.ctx().pixels_per_point();
        let module = ((side * pixels / cells).floor() / pixels).max(1.0 / pixels);
        let origin =
            (rect.center() - egui::Vec2::splat(module * cells / 2.0)).round_to_pixels(pixels);
        for (row, modules) in self.dark.chunks(self.width.max(1)).enumerate() {
            for (column, _) in modules.iter().enumerate().filter(|(_, dark)| **dark) {
                let min = origin
                    + egui::vec2(
                        (column + QUIET_ZONE) as f32 * module,
                        (row + QUIET_ZONE) as f32 * module,
                    );
                let cell = egui::Rect::from_min_size(min, egui::Vec2::splat(module));
                painter.rect_filled(cell, 0.0, egui::Color32::BLACK);
            }
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_carries_the_code_the_page_reads() {
        assert_eq!(
            join_link("192.168.1.20:30005", None),
            "http://192.168.1.20:30005/"
        );
        assert_eq!(
            join_link("192.168.1.20:30005", Some("482913")),
            "http://192.168.1.20:30005/?code=482913"
        );
        // Codes with spaces or `&` stay one parameter.
        assert_eq!(
            join_link("localhost:30005", Some("a b&c")),
            "http://localhost:30005/?code=a+b%26c"
        );
        // A relay with a certificate: its addresses carry the scheme.
        assert_eq!(
            join_link("https://192.168.1.20:30005", Some("482913")),
            "https://192.168.1.20:30005/?code=482913"
        );
    }

    #[test]
    fn qr_code_has_its_finder_patterns() {
        let code = QrCode::new("http://192.168.1.20:30005/?code=482913").unwrap();
        assert!(code.width >= 21);
        assert_eq!(code.dark.len(), code.width * code.width);
        // The top-left finder pattern: a dark 7×7 ring around a light ring and a dark core.
        let at = |x: usize, y: usize| code.dark[y * code.width + x];
        assert!((0..7).all(|i| at(i, 0) && at(0, i) && at(i, 6) && at(6, i)));
        assert!((1..6).all(|i| !at(i, 1) && !at(1, i)));
        assert!(at(3, 3));
    }
}
