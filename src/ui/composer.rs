//! The message box as plain data: checking a typed `id/message` line before it is sent, and
//! completing IDs. No egui here; the widget is in [`messages_panel`](super::messages_panel).

use crate::bridge::{Addressed, EVERYONE, ProtocolError};

/// Why a typed line is not sent. The line stays in the box.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InputError {
    /// No `/` between recipient and text.
    MissingSlash,
    /// Nothing before the `/`.
    EmptyRecipient,
    /// Nothing after the `/`.
    EmptyText,
    /// The ID is not in the roster.
    UnknownId(String),
}

/// Checks `line` against the roster (`None` when the server sends none, as the seed's does).
pub fn check<'a>(line: &'a str, roster: Option<&[String]>) -> Result<Addressed<'a>, InputError> {
    let addressed = Addressed::parse(line).map_err(|e| match e {
        ProtocolError::EmptyRecipient => InputError::EmptyRecipient,
        ProtocolError::EmptyText => InputError::EmptyText,
        ProtocolError::MissingSlash
        | ProtocolError::BadJson(_)
        | ProtocolError::BadControl(_)
        | ProtocolError::ControlCharacters => InputError::MissingSlash,
    })?;
    if let (crate::bridge::Recipient::Client(peer_id), Some(ids)) = (&addressed.to, roster)
        && !ids.iter().any(|id| id == peer_id)
    {
        return Err(InputError::UnknownId(peer_id.clone()));
    }
    Ok(addressed)
}

/// IDs (and `*`) that start with what is typed before any `/`, case-insensitively, in roster
/// order. Empty once a `/` is typed.
pub fn suggestions<'a>(line: &str, ids: &'a [String]) -> Vec<&'a str> {
    if line.contains('/') {
        return Vec::new();
    }
    let typed = line.trim().to_lowercase();
    let mut found: Vec<&'a str> = ids
        .iter()
        .map(String::as_str)
        .filter(|id| id.to_lowercase().starts_with(&typed))
        .collect();
    if typed.is_empty() || EVERYONE.starts_with(&typed) {
        found.push(EVERYONE);
    }
    found
}

/// What Tab does: the only match, or the longest common prefix of several, as `id/` when
/// complete. `None` when nothing matches.
pub fn complete(line: &str, ids: &[String]) -> Option<String> {
    let found = suggestions(line, ids);
    match found.as_slice() {
        [] => None,
        [one] => Some(format!("{one}/")),
        [first, rest @ ..] => {
            let mut prefix: &str = first;
            for other in rest {
                let common = prefix
                    .char_indices()
                    .zip(other.chars())
                    .take_while(|((_, a), b)| a == b)
                    .last()
                    .map_or(0, |((i, a), _)| i + a.len_utf8());
                prefix = prefix.get(..common).unwrap_or(prefix);
            }
            (prefix.chars().count() > line.trim().chars().count()).then(|| prefix.to_owned())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bridge::Recipient;

    fn ids() -> Vec<String> {
        vec![
            "client1".into(),
            "client12".into(),
            "花子".into(),
            "Taro".into(),
        ]
    }

    #[test]
    fn valid_lines_parse() {
        let ids = ids();
        let a = check("花子/こんにちは/またね", Some(&ids)).unwrap();
        assert_eq!(a.to, Recipient::Client("花子".into()));
        assert_eq!(a.text, "こんにちは/またね");
        assert_eq!(check("*/all", Some(&ids)).unwrap().to, Recipient::Everyone);
        // Without a roster any ID goes through; the relay answers for unknown ones.
        assert!(check("client9/x", None).is_ok());
    }

    #[test]
    fn invalid_lines_are_refused() {
        let ids = ids();
        assert_eq!(check("hello", Some(&ids)), Err(InputError::MissingSlash));
        assert_eq!(check("/hello", Some(&ids)), Err(InputError::EmptyRecipient));
        assert_eq!(check("Taro/  ", Some(&ids)), Err(InputError::EmptyText));
        assert_eq!(
            check("Ken/hi", Some(&ids)),
            Err(InputError::UnknownId("Ken".into()))
        );
    }

    #[test]
    fn completion() {
        let ids = ids();
        assert_eq!(complete("ta", &ids), Some("Taro/".into()));
        assert_eq!(complete("花", &ids), Some("花子/".into()));
        assert_eq!(complete("cl", &ids), Some("client1".into()));
        assert_eq!(complete("client1", &ids), None);
        assert_eq!(complete("zz", &ids), None);
        assert_eq!(complete("*", &ids), Some("*/".into()));
        assert!(suggestions("Taro/x", &ids).is_empty());
        assert_eq!(suggestions("", &ids).len(), 5);
    }
}
