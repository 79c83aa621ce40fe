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

/// The byte ranges of the `http://` and `https://` links in `text`, in order. A link ends at
/// white space or a character no URL holds unescaped; closing punctuation at its end (a full
/// stop, a bracket, 。) belongs to the sentence, not the link.
pub fn links(text: &str) -> Vec<std::ops::Range<usize>> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(rest) = text.get(from..) {
        let Some(start) = ["http://", "https://"]
            .iter()
            .filter_map(|scheme| rest.find(scheme))
            .min()
        else {
            break;
        };
        let start = from + start;
        let tail = text.get(start..).unwrap_or_default();
        let len = tail
            .find(|c: char| c.is_whitespace() || !c.is_ascii() || matches!(c, '<' | '>' | '"'))
            .unwrap_or(tail.len());
        let link = tail.get(..len).unwrap_or_default();
        let trimmed = link.trim_end_matches(['.', ',', ';', ':', '!', '?', ')', ']', '}', '\'']);
        let end = start + trimmed.len();
        if trimmed.len() > "https://".len() {
            found.push(start..end);
        }
        from = start + len.max(1);
    }
    found
}

/// Row heights of a log laid out at one width, for virtual scrolling with rows of different
/// heights: each row has an estimate until it has been laid out once, and the offsets of every
/// row's top are kept as running sums so the rows in view are found by binary search.
///
/// Nothing here depends on egui: the view gives the width, the estimate's unit sizes and the
/// measured heights.
#[derive(Debug, Default)]
pub struct RowHeights {
    /// The width the heights are for; a new width re-estimates every row.
    width: f32,
    /// Per row: characters that are about half a line height wide, and the rest.
    sizes: Vec<RowSize>,
    /// Per row: its height, estimated or measured.
    heights: Vec<f32>,
    /// Per row: whether `heights` was measured at `width`.
    measured: Vec<bool>,
    /// `offsets[i]` is the top of row `i`; one more entry than rows (the total height).
    offsets: Vec<f32>,
    /// `offsets` must be summed again.
    dirty: bool,
}

/// What a row's height estimate is made from.
#[derive(Clone, Copy, Debug, Default)]
struct RowSize {
    narrow: u32,
    wide: u32,
    lines: u32,
}

impl RowSize {
    fn of(entry: &Entry) -> Self {
        let text = match &entry.kind {
            EntryKind::Message { text, .. } | EntryKind::Notice(text) | EntryKind::Error(text) => {
                text
            }
        };
        let mut size = Self {
            // The time and the sender, roughly.
            narrow: 24,
            wide: 0,
            lines: 1,
        };
        for c in text.chars() {
            match c {
                '\n' => size.lines += 1,
                c if c.is_ascii() => size.narrow += 1,
                _ => size.wide += 1,
            }
        }
        size
    }
}

/// The sizes a height estimate works with, in points.
#[derive(Clone, Copy, Debug)]
pub struct RowMetrics {
    /// Height of one line of text.
    pub line: f32,
    /// Padding above and below a row's text.
    pub padding: f32,
    /// Average width of a Latin character.
    pub narrow: f32,
    /// Width of a CJK character.
    pub wide: f32,
}

impl RowHeights {
    /// Follows `entries` at `width`: new rows get an estimate, and a new width re-estimates
    /// every row (cheap: no text is laid out).
    pub fn sync(&mut self, entries: &[Entry], width: f32, metrics: RowMetrics) {
        if entries.len() < self.sizes.len() {
            *self = Self::default();
        }
        for entry in entries.get(self.sizes.len()..).unwrap_or_default() {
            self.sizes.push(RowSize::of(entry));
        }
        let resized = (width - self.width).abs() > 0.5;
        if resized {
            self.width = width;
            self.heights.clear();
            self.measured.clear();
        }
        if self.heights.len() < self.sizes.len() {
            let text_width = (width - 2.0 * metrics.padding).max(metrics.wide);
            let new = self.sizes.get(self.heights.len()..).unwrap_or_default();
            for size in new {
                let run = size.narrow as f32 * metrics.narrow + size.wide as f32 * metrics.wide;
                let lines = size.lines as f32 + (run / text_width).floor();
                self.heights
                    .push(lines * metrics.line + 2.0 * metrics.padding);
                self.measured.push(false);
            }
            self.dirty = true;
        }
        if self.dirty {
            self.sum();
        }
    }

    fn sum(&mut self) {
        self.offsets.clear();
        self.offsets.reserve(self.heights.len() + 1);
        let mut top = 0.0;
        self.offsets.push(top);
        for height in &self.heights {
            top += height;
            self.offsets.push(top);
        }
        self.dirty = false;
    }

    /// Records row `index`'s measured height (at the current width). The offsets are summed
    /// again on the next [`sync`](Self::sync).
    pub fn measured(&mut self, index: usize, height: f32) {
        if let (Some(old), Some(done)) = (self.heights.get_mut(index), self.measured.get_mut(index))
        {
            *done = true;
            if (*old - height).abs() > 0.25 {
                *old = height;
                self.dirty = true;
            }
        }
    }

    /// Whether row `index` was measured at the current width.
    pub fn is_measured(&self, index: usize) -> bool {
        self.measured.get(index).copied().unwrap_or(false)
    }

    /// The rows whose extent meets `top..bottom` (content coordinates).
    pub fn visible(&self, top: f32, bottom: f32) -> std::ops::Range<usize> {
        let rows = self.heights.len();
        // The first row whose bottom is below `top`.
        let first = self
            .offsets
            .get(1..)
            .unwrap_or_default()
            .partition_point(|&end| end <= top);
        let last = self.offsets.partition_point(|&start| start < bottom);
        first.min(rows)..last.min(rows).max(first.min(rows))
    }

    /// Top of row `index` (the total height for `index == len`).
    pub fn top(&self, index: usize) -> f32 {
        self.offsets
            .get(index)
            .copied()
            .unwrap_or_else(|| self.total())
    }

    /// Height of row `index`.
    pub fn height(&self, index: usize) -> f32 {
        self.heights.get(index).copied().unwrap_or(0.0)
    }

    /// Height of every row together.
    pub fn total(&self) -> f32 {
        self.offsets.last().copied().unwrap_or(0.0)
    }

    /// Bytes held per row (for the memory figure of the benchmark).
    pub const BYTES_PER_ROW: usize = std::mem::size_of::<RowSize>()
        + std::mem::size_of::<f32>() * 2
        + std::mem::size_of::<bool>();
}

#[cfg(test)]
mod tests {
    use super::*;

    const METRICS: RowMetrics = RowMetrics {
        line: 20.0,
        padding: 4.0,
        narrow: 8.0,
        wide: 16.0,
    };

    #[test]
    fn links_are_found_without_their_closing_punctuation() {
        let text = "see https://example.org/a?b=1. and (http://x.jp/y) 資料:https://a.b/c。終";
        let found: Vec<&str> = links(text).into_iter().map(|r| &text[r]).collect();
        assert_eq!(
            found,
            [
                "https://example.org/a?b=1",
                "http://x.jp/y",
                "https://a.b/c"
            ]
        );
        assert!(links("http:// and https://").is_empty());
    }

    #[test]
    fn row_heights_find_the_rows_in_view() {
        let mut log = Log::default();
        for i in 0..100 {
            log.push(message("a", Recipient::Everyone, &"x".repeat(i % 3 * 100)));
        }
        let mut heights = RowHeights::default();
        heights.sync(log.entries(), 408.0, METRICS);
        // Rows of 0, 100 and 200 characters (plus 24 for the header) at 50 characters a line.
        assert_eq!(heights.height(0), 28.0);
        assert_eq!(heights.height(1), 68.0);
        assert_eq!(heights.height(2), 108.0);
        assert_eq!(heights.top(3), 204.0);
        assert_eq!(heights.visible(0.0, 1.0), 0..1);
        assert_eq!(heights.visible(30.0, 200.0), 1..3);
        assert_eq!(heights.visible(1e9, 2e9), 100..100);
        heights.measured(1, 60.0);
        heights.sync(log.entries(), 408.0, METRICS);
        assert_eq!(heights.top(2), 88.0);
        assert!(heights.is_measured(1));
        // A new width forgets what was measured.
        heights.sync(log.entries(), 808.0, METRICS);
        assert!(!heights.is_measured(1));
        assert_eq!(heights.height(2), 68.0);
    }

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
