//! Control characters in chat text: which ones the relay refuses, and how the terminal client
//! and the text transcript make the rest visible.
//!
//! The relay accepts tab and line feed and refuses every other C0 and C1 control and DEL
//! ([`has_forbidden_controls`]). Text can still carry them from an older relay (the seed
//! server), so [`escape_for_terminal`] shows each as a `\u{…}` escape, the way Rust writes
//! it: `\x1b` becomes `\u{1b}`. Line feeds are kept and the next line is indented by
//! [`CONTINUATION_INDENT`], so a message can never start a line of its own that looks like
//! `先生 → everyone: …`.
//!
//! Try it: `cargo test --lib text::`.

use std::fmt::Write as _;

/// What the relay tells a sender whose text it refused for its control characters.
pub const BAD_TEXT_MESSAGE: &str = "the message contains control characters (only tab and line feed are allowed); it was not delivered";

/// What starts each continuation line of a multi-line message.
pub const CONTINUATION_INDENT: &str = "    ";

/// Whether `text` holds a control character the relay refuses: C0 controls other than tab and
/// line feed (so CR too), DEL, and the C1 controls U+0080–U+009F (U+0085 among them).
pub fn has_forbidden_controls(text: &str) -> bool {
    text.chars().any(is_forbidden_control)
}

/// Whether one character is a control the relay refuses; see [`has_forbidden_controls`].
pub fn is_forbidden_control(c: char) -> bool {
    c.is_control() && c != '\t' && c != '\n'
}

/// Whether the terminal and the text transcript escape `c`: forbidden controls, the line and
/// paragraph separators U+2028/U+2029, and the bidi controls (U+202A–U+202E, U+2066–U+2069,
/// U+200E, U+200F, U+061C).
pub fn needs_escape(c: char) -> bool {
    is_forbidden_control(c)
        || matches!(c, '\u{2028}' | '\u{2029}')
        || crate::names::is_bidi_control(c)
}

/// `text` with every control character made visible as `\u{…}` and each line after a line
/// feed indented by [`CONTINUATION_INDENT`]. Tabs are kept. A backslash is kept as it is: an
/// escape the sender typed shows as typed, and cannot do anything.
pub fn escape_for_terminal(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c == '\n' {
            out.push('\n');
            out.push_str(CONTINUATION_INDENT);
        } else if needs_escape(c) {
            // Writing to a String cannot fail.
            write!(out, "\\u{{{:x}}}", u32::from(c)).ok();
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relay_refuses_controls_but_tab_and_line_feed() {
        assert!(!has_forbidden_controls("こんにちは\tみなさん\n二行目"));
        assert!(has_forbidden_controls("\x1b[2J"));
        assert!(has_forbidden_controls("a\rb"));
        assert!(has_forbidden_controls("a\u{1}b"));
        assert!(has_forbidden_controls("a\u{7f}b"));
        assert!(has_forbidden_controls("a\u{85}b"));
        assert!(has_forbidden_controls("a\u{9b}2J"));
        // Not controls by category: allowed by the relay, escaped on screen.
        assert!(!has_forbidden_controls("a\u{2028}b"));
        assert!(!has_forbidden_controls("a\u{202E}b"));
    }

    #[test]
    fn escape_sequences_print_no_escape() {
        let shown = escape_for_terminal("\x1b[2J\x1b[H先生 → everyone: テストは中止");
        assert!(!shown.contains('\x1b'));
        assert_eq!(shown, "\\u{1b}[2J\\u{1b}[H先生 → everyone: テストは中止");
    }

    #[test]
    fn osc_52_is_neutralised() {
        let shown = escape_for_terminal("\x1b]52;c;ZXZpbA==\x07");
        assert_eq!(shown, "\\u{1b}]52;c;ZXZpbA==\\u{7}");
        let c1 = escape_for_terminal("\u{9d}52;c;ZXZpbA==\u{9c}");
        assert!(!c1.chars().any(char::is_control), "{c1:?}");
    }

    #[test]
    fn line_breaks_cannot_fake_a_line() {
        let shown = escape_for_terminal("hi\n先生 → everyone: テストは中止");
        assert_eq!(shown, "hi\n    先生 → everyone: テストは中止");
        for lb in ["\r", "\u{85}", "\u{2028}", "\u{2029}", "\u{b}", "\u{c}"] {
            let shown = escape_for_terminal(&format!("hi{lb}先生: x"));
            assert!(!shown.contains(lb), "{shown:?}");
            assert!(shown.starts_with("hi\\u{"), "{shown:?}");
        }
    }

    #[test]
    fn bidi_overrides_are_shown() {
        assert_eq!(escape_for_terminal("a\u{202E}b"), "a\\u{202e}b");
        assert_eq!(escape_for_terminal("tab\tok"), "tab\tok");
    }
}
