//! Nicknames: what a requested name becomes, which names are refused, and when two names count
//! as the same person.
//!
//! [`normalize`] turns a requested name into the form the relay shows (Unicode NFC) or refuses
//! it: invisible and format characters (general category Cf, such as U+200B), bidi controls,
//! control characters, `/`, surrounding spaces, more than [`MAX_NAME_CHARS`] characters, and the
//! reserved names. [`key`] is what names are compared by, for uniqueness and for the reserved
//! names: NFKC with case folding, so `ｈｏｓｔ`, `HOST` and `host` are one name, and so are
//! `client３` and `Client3`.
//!
//! Reserved (compared by [`key`], and by look-alike letters for the fixed words): `*`, `host`,
//! `client` followed by digits (the relay's generated IDs), and the teacher's default names
//! `先生` and `Teacher`. The host's own client may take a teacher name with [`normalize_host`];
//! the relay learns the host's name from its config and also holds that name while hosting.
//!
//! Try it: `cargo test --lib names::`.

use unicode_general_category::{GeneralCategory, get_general_category};
use unicode_normalization::UnicodeNormalization as _;

use crate::protocol;

/// The longest name, in characters (after NFC).
pub const MAX_NAME_CHARS: usize = protocol::MAX_NAME_CHARS;

/// The teacher's default names in the app (Japanese and English user interface). Reserved for
/// everyone but the host's own client.
pub const TEACHER_NAMES: [&str; 2] = ["先生", "Teacher"];

/// Why a requested nickname was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// Empty after trimming and after removing invisible characters.
    #[error("the name is empty")]
    Empty,
    /// Longer than [`MAX_NAME_CHARS`].
    #[error("the name is longer than {MAX_NAME_CHARS} characters")]
    TooLong,
    /// Contains `/`, control characters, line separators or surrounding spaces.
    #[error("the name may not contain '/', control characters or leading/trailing spaces")]
    BadCharacter,
    /// Contains an invisible or format character (such as U+200B), which would let two names
    /// look the same.
    #[error("the name may not contain invisible characters (U+{0:04X})")]
    Invisible(u32),
    /// Contains a bidi control (such as U+202E), which reorders how text is shown.
    #[error("the name may not contain text-direction controls (U+{0:04X})")]
    BidiControl(u32),
    /// `*`, `host`, `clientN` or a teacher's default name, or a look-alike of one.
    #[error("the name is reserved")]
    Reserved,
}

/// Checks a requested name and returns it in NFC, the form the relay keeps and shows.
/// Teacher names are refused: see [`normalize_host`].
pub fn normalize(requested: &str) -> Result<String, NameError> {
    let name = normalize_host(requested)?;
    if is_teacher_name(&name) {
        return Err(NameError::Reserved);
    }
    Ok(name)
}

/// Like [`normalize`], but allows the teacher's default names: only for the host's own client.
pub fn normalize_host(requested: &str) -> Result<String, NameError> {
    let name: String = requested.nfc().collect();
    let visible: String = name.chars().filter(|&c| !is_invisible(c)).collect();
    if visible.trim().is_empty() {
        return Err(NameError::Empty);
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(NameError::TooLong);
    }
    if let Some(c) = name.chars().find(|&c| is_bidi_control(c)) {
        return Err(NameError::BidiControl(u32::from(c)));
    }
    if name.trim() != name || name.chars().any(|c| c == '/' || is_control_or_separator(c)) {
        return Err(NameError::BadCharacter);
    }
    if let Some(c) = name.chars().find(|&c| is_invisible(c)) {
        return Err(NameError::Invisible(u32::from(c)));
    }
    if is_relay_name(&name) {
        return Err(NameError::Reserved);
    }
    Ok(name)
}

/// The comparison key of a name: NFKC, case folded, with default-ignorable characters (such as
/// variation selectors) removed. Two names are the same person when their keys are equal.
///
/// Case folding is Unicode's full lower-case mapping between two NFKC passes, which matches
/// NFKC_Casefold for every letter a name in a classroom is likely to hold.
pub fn key(name: &str) -> String {
    let folded: String = name
        .nfkc()
        .filter(|&c| !is_invisible(c) && !is_ignorable(c))
        .flat_map(char::to_lowercase)
        .collect();
    folded.nfkc().collect()
}

/// Whether two names count as the same (equal [`key`]s).
pub fn same(a: &str, b: &str) -> bool {
    key(a) == key(b)
}

/// Whether `name` is reserved for the relay or the teacher, by [`key`] or by look-alike letters.
pub fn is_reserved(name: &str) -> bool {
    is_relay_name(name) || is_teacher_name(name)
}

/// `*`, `host` or `client` + digits, by key or by confusable skeleton.
fn is_relay_name(name: &str) -> bool {
    let key = key(name);
    if key == protocol::EVERYONE || looks_like(&key, protocol::HOST_ID) {
        return true;
    }
    let prefix = key.trim_end_matches(|c: char| c.is_numeric());
    prefix.len() < key.len() && looks_like(prefix, protocol::ID_PREFIX)
}

fn is_teacher_name(name: &str) -> bool {
    let key = key(name);
    TEACHER_NAMES
        .iter()
        .any(|t| looks_like(&key, &self::key(t)))
}

/// Equal keys, or equal UTS #39 skeletons (Cyrillic `о` in `hоst`).
fn looks_like(key: &str, reserved: &str) -> bool {
    key == reserved || unicode_security::skeleton(key).eq(unicode_security::skeleton(reserved))
}

/// Bidi controls: embeddings and overrides, isolates, and the implicit marks.
pub(crate) fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}'
    )
}

/// C0 and C1 controls, DEL, and the line and paragraph separators.
fn is_control_or_separator(c: char) -> bool {
    matches!(
        get_general_category(c),
        GeneralCategory::Control
            | GeneralCategory::LineSeparator
            | GeneralCategory::ParagraphSeparator
    )
}

/// Characters that show nothing: format characters (Cf, which includes the bidi controls,
/// U+200B, U+2060 and U+FEFF), controls, and the blank fillers that are letters by category.
fn is_invisible(c: char) -> bool {
    matches!(
        get_general_category(c),
        GeneralCategory::Format
            | GeneralCategory::Control
            | GeneralCategory::LineSeparator
            | GeneralCategory::ParagraphSeparator
    ) || matches!(
        c,
        '\u{034F}'
            | '\u{115F}'
            | '\u{1160}'
            | '\u{17B4}'
            | '\u{17B5}'
            | '\u{2800}'
            | '\u{3164}'
            | '\u{FFA0}'
    )
}

/// Default-ignorable marks a name may keep (an emoji's variation selector) but that do not
/// make it a different name.
fn is_ignorable(c: char) -> bool {
    matches!(
        c,
        '\u{180B}'..='\u{180F}' | '\u{FE00}'..='\u{FE0F}' | '\u{E0100}'..='\u{E01EF}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_names_pass_in_nfc() {
        assert_eq!(normalize("花子").unwrap(), "花子");
        assert_eq!(normalize("Hanako Y.").unwrap(), "Hanako Y.");
        assert_eq!(normalize("clientx").unwrap(), "clientx");
        assert_eq!(normalize("client").unwrap(), "client");
        assert_eq!(normalize(&"あ".repeat(32)).unwrap(), "あ".repeat(32));
        assert_eq!(normalize("❤\u{FE0F}").unwrap(), "❤\u{FE0F}");
    }

    #[test]
    fn decomposed_name_becomes_the_composed_one() {
        // "がくせい" with the dakuten as a combining mark (NFD).
        let nfd = "か\u{3099}くせい";
        assert_ne!(nfd, "がくせい");
        assert_eq!(normalize(nfd).unwrap(), "がくせい");
        assert!(same(nfd, "がくせい"));
        assert_eq!(key(nfd), key("がくせい"));
    }

    #[test]
    fn old_refusals_are_kept() {
        assert_eq!(normalize(""), Err(NameError::Empty));
        assert_eq!(normalize("   "), Err(NameError::Empty));
        assert_eq!(normalize("a/b"), Err(NameError::BadCharacter));
        assert_eq!(normalize(" a"), Err(NameError::BadCharacter));
        assert_eq!(normalize("a\u{3000}"), Err(NameError::BadCharacter));
        assert_eq!(normalize("a\tb"), Err(NameError::BadCharacter));
        assert_eq!(normalize("a\u{2028}b"), Err(NameError::BadCharacter));
        assert_eq!(normalize("a\u{85}b"), Err(NameError::BadCharacter));
        assert_eq!(normalize("client3"), Err(NameError::Reserved));
        assert_eq!(normalize("*"), Err(NameError::Reserved));
        assert_eq!(normalize("Host"), Err(NameError::Reserved));
        assert_eq!(normalize(&"あ".repeat(33)), Err(NameError::TooLong));
    }

    #[test]
    fn invisible_characters_are_refused() {
        assert_eq!(normalize("先生\u{200B}"), Err(NameError::Invisible(0x200B)));
        assert_eq!(normalize("花\u{2060}子"), Err(NameError::Invisible(0x2060)));
        assert_eq!(normalize("\u{FEFF}花子"), Err(NameError::Invisible(0xFEFF)));
        assert_eq!(normalize("花\u{3164}子"), Err(NameError::Invisible(0x3164)));
        assert_eq!(normalize("\u{AD}Hanako"), Err(NameError::Invisible(0xAD)));
    }

    #[test]
    fn names_of_only_invisible_characters_are_empty() {
        assert_eq!(normalize("\u{200B}"), Err(NameError::Empty));
        assert_eq!(normalize("\u{200B}\u{2060}\u{FEFF}"), Err(NameError::Empty));
        assert_eq!(normalize("\u{3164}"), Err(NameError::Empty));
        assert_eq!(normalize("\u{202E}\u{200B} "), Err(NameError::Empty));
    }

    #[test]
    fn bidi_controls_are_refused() {
        assert_eq!(
            normalize("\u{202E}ikanah"),
            Err(NameError::BidiControl(0x202E))
        );
        for c in [
            '\u{202A}', '\u{2066}', '\u{2069}', '\u{200E}', '\u{200F}', '\u{061C}',
        ] {
            assert_eq!(
                normalize(&format!("a{c}b")),
                Err(NameError::BidiControl(u32::from(c)))
            );
        }
    }

    #[test]
    fn reserved_names_compare_by_key() {
        for name in [
            "ｈｏｓｔ",
            "HOST",
            "Client3",
            "client３",
            "ＣＬＩＥＮＴ12",
            "＊",
            // Cyrillic о.
            "h\u{043E}st",
        ] {
            assert_eq!(normalize(name), Err(NameError::Reserved), "{name}");
        }
        assert_eq!(key("ｈｏｓｔ"), "host");
        assert_eq!(key("HOST"), "host");
        assert_eq!(key("client３"), "client3");
        assert_eq!(key("Client3"), "client3");
    }

    #[test]
    fn teacher_names_are_reserved_except_for_the_host() {
        for name in ["先生", "Teacher", "teacher", "ＴＥＡＣＨＥＲ"] {
            assert_eq!(normalize(name), Err(NameError::Reserved), "{name}");
            assert!(is_reserved(name));
        }
        assert_eq!(normalize_host("先生").unwrap(), "先生");
        assert_eq!(normalize_host("Teacher").unwrap(), "Teacher");
        // The host still may not take the relay's own names.
        assert_eq!(normalize_host("host"), Err(NameError::Reserved));
        assert_eq!(normalize_host("client1"), Err(NameError::Reserved));
        assert_eq!(
            normalize_host("先生\u{200B}"),
            Err(NameError::Invisible(0x200B))
        );
    }

    #[test]
    fn keys_are_case_and_width_insensitive() {
        assert!(same("Hanako", "ＨＡＮＡＫＯ"));
        assert!(same("ﾊﾅｺ", "ハナコ"));
        assert!(same("❤\u{FE0F}", "❤"));
        assert!(!same("花子", "太郎"));
    }
}
