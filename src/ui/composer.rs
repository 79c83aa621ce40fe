//! The message box as plain data: checking a typed `id/message` line before it is sent, and
//! completing IDs. No egui here; the widget is in [`messages_panel`](super::messages_panel).

use crate::bridge::{Addressed, ClientInfo, EVERYONE, ProtocolError, Recipient, Role, RoomModes};

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
    /// The room's modes do not let a student send this.
    Forbidden(Forbidden),
}

/// What the host's room modes (or a closed poll) keep a student from doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Forbidden {
    /// Writing to everyone is off for students.
    Everyone,
    /// Private messages between students are off.
    Private,
    /// The poll is not open any more.
    PollClosed,
}

/// Whether the room's `modes` keep this client from writing to `to`: hosts may write to anyone,
/// and students always to a host. `roster` says who is a host (and which ID is `own_id`).
pub fn forbidden(
    to: &Recipient,
    modes: RoomModes,
    own_id: Option<&str>,
    roster: &[ClientInfo],
) -> Option<Forbidden> {
    let is_host = |peer_id: &str| {
        roster
            .iter()
            .any(|c| c.id == peer_id && c.role == Some(Role::Host))
    };
    if own_id.is_some_and(is_host) {
        return None;
    }
    match to {
        Recipient::Everyone => (!modes.student_broadcast).then_some(Forbidden::Everyone),
        Recipient::Client(peer_id) => {
            let to_student = !is_host(peer_id) && Some(peer_id.as_str()) != own_id;
            (to_student && !modes.student_private).then_some(Forbidden::Private)
        }
    }
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

    #[test]
    fn room_modes_forbid_only_what_the_relay_would_refuse() {
        let info = |id: &str, role| ClientInfo {
            id: id.into(),
            since: 0,
            legacy: false,
            role: Some(role),
        };
        let roster = [
            info("先生", Role::Host),
            info("花子", Role::Student),
            info("Taro", Role::Student),
        ];
        let quiet = RoomModes {
            student_broadcast: false,
            student_private: false,
        };
        let everyone = Recipient::Everyone;
        let taro = Recipient::Client("Taro".into());
        let teacher = Recipient::Client("先生".into());
        let student = Some("花子");
        assert_eq!(
            forbidden(&everyone, quiet, student, &roster),
            Some(Forbidden::Everyone)
        );
        assert_eq!(
            forbidden(&taro, quiet, student, &roster),
            Some(Forbidden::Private)
        );
        assert_eq!(forbidden(&teacher, quiet, student, &roster), None);
        assert_eq!(forbidden(&taro, quiet, Some("先生"), &roster), None);
        assert_eq!(
            forbidden(&everyone, RoomModes::default(), student, &roster),
            None
        );
    }
}
