//! The message log as plain data: entries, their one-line form, and transcript export.
//!
//! No egui here, so the model is unit-tested directly: the panel in
//! [`messages_panel`](super::messages_panel) only lays out the rows that are visible.

use chrono::TimeZone as _;

use crate::bridge::{Incoming, JournalEntry, JournalEntryKind, Recipient, Render, transcript};

/// What a log row is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EntryKind {
    /// A chat message.
    Message {
        /// The sender, when the server says.
        from: Option<String>,
        /// The recipient, when the server says.
        to: Option<Recipient>,
        /// The text, unchanged.
        text: String,
        /// Whether this client wrote it.
        own: bool,
    },
    /// Someone joined or left, or the connection changed.
    Notice(String),
    /// The relay refused something, or a message could not be sent.
    Error(String),
}

/// One row of the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Milliseconds since the Unix epoch.
    pub ts: u64,
    /// What happened.
    pub kind: EntryKind,
}

impl Entry {
    /// A message as the client received it; `own_id` marks this client's own messages.
    pub fn message(incoming: Incoming, own_id: Option<&str>) -> Self {
        let own = incoming.from.is_some() && incoming.from.as_deref() == own_id;
        Self {
            ts: incoming.ts,
            kind: EntryKind::Message {
                from: incoming.from,
                to: incoming.to,
                text: incoming.text,
                own,
            },
        }
    }

    /// Whether this row is a message from somebody else (what counts as unread).
    pub fn is_from_others(&self) -> bool {
        matches!(self.kind, EntryKind::Message { own: false, .. })
    }

    /// `HH:MM:SS` in local time.
    pub fn time(&self) -> String {
        local_time(self.ts, "%H:%M:%S")
    }
}

impl From<&Entry> for JournalEntry {
    fn from(entry: &Entry) -> Self {
        let (kind, from, to, text) = match &entry.kind {
            EntryKind::Message { from, to, text, .. } => (
                JournalEntryKind::Message,
                from.clone(),
                to.as_ref().map(ToString::to_string),
                text,
            ),
            EntryKind::Notice(text) => (JournalEntryKind::Notice, None, None, text),
            EntryKind::Error(text) => (JournalEntryKind::Error, None, None, text),
        };
        Self {
            ts: entry.ts,
            kind,
            from,
            to,
            text: text.clone(),
        }
    }
}

impl From<JournalEntry> for Entry {
    fn from(entry: JournalEntry) -> Self {
        let kind = match entry.kind {
            JournalEntryKind::Message => EntryKind::Message {
                from: entry.from,
                to: entry.to.as_deref().map(Recipient::from_wire),
                text: entry.text,
                // The journal does not say whose window wrote it.
                own: false,
            },
            JournalEntryKind::Notice => EntryKind::Notice(entry.text),
            JournalEntryKind::Error => EntryKind::Error(entry.text),
        };
        Self { ts: entry.ts, kind }
    }
}

/// Formats a Unix time in milliseconds in local time.
pub fn local_time(ts_ms: u64, format: &str) -> String {
    let Ok(ms) = i64::try_from(ts_ms) else {
        return String::new();
    };
    match chrono::Local.timestamp_millis_opt(ms) {
        chrono::LocalResult::Single(t) | chrono::LocalResult::Ambiguous(t, _) => {
            t.format(format).to_string()
        }
        chrono::LocalResult::None => String::new(),
    }
}

/// The log of one chat session.
#[derive(Debug, Default)]
pub struct Log {
    entries: Vec<Entry>,
}

impl Log {
    /// Appends a row.
    pub fn push(&mut self, entry: Entry) {
        self.entries.push(entry);
    }

    /// Appends a notice stamped now.
    pub fn notice(&mut self, text: impl Into<String>) {
        self.push(Entry {
            ts: crate::bridge::now_ms(),
            kind: EntryKind::Notice(text.into()),
        });
    }

    /// Appends an error stamped now.
    pub fn error(&mut self, text: impl Into<String>) {
        self.push(Entry {
            ts: crate::bridge::now_ms(),
            kind: EntryKind::Error(text.into()),
        });
    }

    /// All rows, oldest first.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether any message's text contains `needle` (for tests and search).
    pub fn contains_text(&self, needle: &str) -> bool {
        self.entries.iter().any(|e| match &e.kind {
            EntryKind::Message { text, .. } | EntryKind::Notice(text) | EntryKind::Error(text) => {
                text.contains(needle)
            }
        })
    }

    /// Renders the transcript once the user picked a path, in the format its extension asks
    /// for. Both formats come from a snapshot taken now, so the log keeps growing meanwhile and
    /// is untouched whatever happens to the file.
    pub fn renderer(&self) -> Render {
        let text = self.export(TranscriptFormat::Text);
        let csv = self.export(TranscriptFormat::Csv);
        Box::new(move |path| match TranscriptFormat::from_path(path) {
            TranscriptFormat::Csv => csv,
            TranscriptFormat::Text => text,
        })
    }

    /// The transcript in the chosen format.
    pub fn export(&self, format: TranscriptFormat) -> String {
        match format {
            TranscriptFormat::Text => self.to_text(),
            TranscriptFormat::Csv => self.to_csv(),
        }
    }

    /// Plain text, one line per row (`YYYY-MM-DD HH:MM:SS  from → to: text`); see
    /// [`transcript::to_text`](crate::bridge::transcript::to_text) for the escaping.
    pub fn to_text(&self) -> String {
        transcript::to_text(&self.rows())
    }

    /// CSV for spreadsheets (byte order mark, header `time,from,to,text`, RFC 4180 quoting,
    /// CRLF, formulas neutralised). Notices and errors have an empty sender and
    /// `notice`/`error` as recipient.
    pub fn to_csv(&self) -> String {
        transcript::to_csv(&self.rows())
    }

    fn rows(&self) -> Vec<transcript::Row> {
        self.entries
            .iter()
            .map(|entry| {
                let (from, to, text) = columns(entry);
                transcript::Row {
                    time: local_time(entry.ts, "%Y-%m-%d %H:%M:%S"),
                    kind: JournalEntry::from(entry).kind,
                    from,
                    to,
                    text: text.to_owned(),
                }
            })
            .collect()
    }
}

/// Sender, recipient and text of a row, as the transcript writes them.
fn columns(entry: &Entry) -> (String, String, &str) {
    match &entry.kind {
        EntryKind::Message { from, to, text, .. } => (
            from.clone().unwrap_or_default(),
            to.as_ref().map(ToString::to_string).unwrap_or_default(),
            text,
        ),
        EntryKind::Notice(text) => (String::new(), "notice".to_owned(), text),
        EntryKind::Error(text) => (String::new(), "error".to_owned(), text),
    }
}

/// A transcript file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TranscriptFormat {
    /// Plain text, one line per row.
    Text,
    /// Comma-separated values with a header.
    Csv,
}

impl TranscriptFormat {
    /// CSV for a path ending in `.csv` (any case), text otherwise.
    pub fn from_path(path: &std::path::Path) -> Self {
        match path.extension().and_then(|e| e.to_str()) {
            Some(ext) if ext.eq_ignore_ascii_case("csv") => Self::Csv,
            _ => Self::Text,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(from: &str, to: Recipient, text: &str) -> Entry {
        Entry {
            ts: 1_700_000_000_000,
            kind: EntryKind::Message {
                from: Some(from.to_owned()),
                to: Some(to),
                text: text.to_owned(),
                own: false,
            },
        }
    }

    #[test]
    fn csv_export_has_header_and_one_record_per_entry() {
        let mut log = Log::default();
        log.push(message(
            "花子",
            Recipient::Everyone,
            "おはよう, \"先生\"\n二行目",
        ));
        log.push(message("Taro", Recipient::Client("花子".into()), "hi"));
        let csv = log.to_csv();
        let lines: Vec<&str> = csv.split("\r\n").collect();
        assert_eq!(
            lines[0], "\u{feff}time,from,to,text",
            "a byte order mark for Excel"
        );
        assert!(lines[1].ends_with(",花子,*,\"おはよう, \"\"先生\"\"\n二行目\""));
        assert!(lines[2].ends_with(",Taro,花子,hi"));
        assert_eq!(lines[3], "");
        assert_eq!(lines.len(), 4);
    }

    #[test]
    fn text_export_keeps_each_row_on_its_time() {
        let mut log = Log::default();
        log.push(message("花子", Recipient::Everyone, "一行目\n二行目"));
        log.notice("Taro joined");
        log.error("Not sent");
        let text = log.to_text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4);
        assert!(lines[0].ends_with("  花子 → *: 一行目"));
        assert_eq!(lines[1], "    二行目");
        assert!(lines[2].ends_with("  * Taro joined"));
        assert!(lines[3].ends_with("  ! Not sent"));
    }

    #[test]
    fn own_messages_are_marked() {
        let incoming = Incoming {
            from: Some("client1".into()),
            to: Some(Recipient::Everyone),
            text: "x".into(),
            ts: 0,
            ..Incoming::default()
        };
        let entry = Entry::message(incoming.clone(), Some("client1"));
        assert!(!entry.is_from_others());
        let entry = Entry::message(incoming, Some("client2"));
        assert!(entry.is_from_others());
    }

    #[test]
    fn journal_round_trip_keeps_every_kind() {
        let rows = [
            message("花子", Recipient::Client("Taro".into()), "こんにちは"),
            message("Taro", Recipient::Everyone, "hi"),
            Entry {
                ts: 5,
                kind: EntryKind::Notice("Taro joined".into()),
            },
            Entry {
                ts: 6,
                kind: EntryKind::Error("Not sent".into()),
            },
        ];
        for row in rows {
            assert_eq!(Entry::from(JournalEntry::from(&row)), row);
        }
    }

    #[test]
    fn format_from_extension() {
        use std::path::Path;
        assert_eq!(
            TranscriptFormat::from_path(Path::new("a.CSV")),
            TranscriptFormat::Csv
        );
        assert_eq!(
            TranscriptFormat::from_path(Path::new("a.txt")),
            TranscriptFormat::Text
        );
        assert_eq!(
            TranscriptFormat::from_path(Path::new("a")),
            TranscriptFormat::Text
        );
    }
}
