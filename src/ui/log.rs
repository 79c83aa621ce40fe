//! The message log as plain data: entries, their one-line form, and transcript export.
//!
//! No egui here, so the model is unit-tested directly: the panel in
//! [`messages_panel`](super::messages_panel) only lays out the rows that are visible.

use chrono::TimeZone as _;

use std::borrow::Cow;
use std::time::Duration;

use super::composer::Forbidden;
use super::i18n::Lang;
use crate::bridge::{
    Disconnect, ErrorCode, Incoming, JournalEntry, JournalEntryKind, JournalRecord, Recipient,
    Render, transcript,
};

/// Joins (or leaves) this close together share one row.
const PRESENCE_WINDOW_MS: u64 = 60_000;

/// Names a presence row shows before "+N".
const PRESENCE_NAMES_SHOWN: usize = 5;

/// A line the window writes itself. It is kept as data and put into words when shown, so
/// switching the language re-renders it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Note {
    /// These people joined, one after another (one row for a whole class arriving).
    Joined(Vec<String>),
    /// These people left, one after another.
    Left(Vec<String>),
    /// The host removed this client.
    Kicked(String),
    /// The host muted (`true`) or unmuted this client.
    Muted(String, bool),
    /// Connected; the ID the relay gave, and whether it is a seed server.
    Connected {
        /// This client's ID.
        own_id: Option<String>,
        /// A seed server (no roster, no senders).
        legacy: bool,
    },
    /// The connection was lost; the client tries again after `retry_ms`.
    Lost {
        /// Why.
        reason: Disconnect,
        /// Milliseconds until the first new attempt.
        retry_ms: u64,
    },
    /// The connection ended for good.
    Stopped(Disconnect),
    /// The relay refused something, by its stable code (`message` is its English sentence,
    /// shown only for codes this version does not know).
    Refused {
        /// The relay's code.
        code: ErrorCode,
        /// The relay's sentence.
        message: String,
    },
    /// A line that could not be sent while disconnected.
    NotSent(String),
    /// The relay refused a message or a vote because of the room's modes or a closed poll.
    Forbidden(Forbidden),
    /// A raised hand, vote or host control could not be sent: not connected, or the server
    /// has no classroom controls.
    ActionNotSent,
    /// What the host did to the room: a poll opened or closed, a pin, the room's modes.
    Classroom(JournalRecord),
    /// Above messages replayed from the relay's history (`true`), or above the first live one
    /// after them (`false`).
    Divider {
        /// Whether replayed messages follow.
        earlier: bool,
    },
    /// A reconnect that asked to continue the session; `recovered` says whether every missed
    /// message follows.
    Resumed {
        /// Whether nothing was missed.
        recovered: bool,
    },
}

impl Note {
    /// The note in `lang`, with at most a few names of a presence row.
    pub fn text(&self, lang: Lang) -> String {
        self.words(lang, PRESENCE_NAMES_SHOWN)
    }

    /// The note in `lang` with every name (for transcripts and the journal).
    pub fn full_text(&self, lang: Lang) -> String {
        self.words(lang, usize::MAX)
    }

    fn words(&self, lang: Lang, names: usize) -> String {
        match self {
            Self::Joined(ids) => match ids.as_slice() {
                [one] => lang.joined(one),
                _ => lang.many_joined(ids, names),
            },
            Self::Left(ids) => match ids.as_slice() {
                [one] => lang.left(one),
                _ => lang.many_left(ids, names),
            },
            Self::Kicked(peer_id) => lang.kicked(peer_id),
            Self::Muted(peer_id, muted) => lang.muted_note(peer_id, *muted),
            Self::Connected { own_id, legacy } => {
                let state = if *legacy {
                    lang.s().connected_legacy
                } else {
                    lang.s().connected
                };
                match own_id {
                    Some(id) => format!("{state} — {}", lang.your_id(id)),
                    None => state.to_owned(),
                }
            }
            Self::Lost { reason, retry_ms } => {
                lang.reconnecting_in(reason, Duration::from_millis(*retry_ms))
            }
            Self::Stopped(reason) => lang.disconnected(reason),
            Self::Refused { code, message } => lang.refused(*code, message),
            Self::NotSent(line) => lang.not_sent(line),
            Self::Forbidden(forbidden) => lang.forbidden(*forbidden),
            Self::ActionNotSent => lang.s().action_not_sent.to_owned(),
            Self::Classroom(record) => lang.classroom(record),
            Self::Divider { earlier: true } => lang.s().earlier_messages.to_owned(),
            Self::Divider { earlier: false } => lang.s().new_messages.to_owned(),
            Self::Resumed { recovered: true } => lang.s().resumed.to_owned(),
            Self::Resumed { recovered: false } => lang.s().messages_may_be_missing.to_owned(),
        }
    }

    /// Whether the row shows as an error.
    pub fn is_error(&self) -> bool {
        matches!(
            self,
            Self::Refused { .. }
                | Self::NotSent(_)
                | Self::Forbidden(_)
                | Self::ActionNotSent
                | Self::Resumed { recovered: false }
        )
    }

    /// A row that more joins or leaves may still be added to.
    fn is_presence(&self) -> bool {
        matches!(self, Self::Joined(_) | Self::Left(_))
    }
}

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
    /// A line the window wrote, rendered in the current language.
    Note(Note),
}

/// Which of the relay's two rooms a message was written in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Room {
    /// `/ws_multi_client_dict`, where messages are addressed (`id/text`): the app's room.
    #[default]
    Addressed,
    /// `/ws_multi_client`, where every line goes to everyone (the course's list client).
    Broadcast,
}

/// One row of the log. Built with [`Entry::new`] or [`Entry::message`] (more per-row marks,
/// such as replayed or pending, can be added as fields without touching the callers).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Milliseconds since the Unix epoch.
    pub ts: u64,
    /// What happened.
    pub kind: EntryKind,
    /// The room a message was written in.
    pub room: Room,
    /// A message from a host: shown with the teacher badge.
    pub from_host: bool,
}

impl Entry {
    /// A row of `kind` at `ts`, in the addressed room.
    pub fn new(ts: u64, kind: EntryKind) -> Self {
        Self {
            ts,
            kind,
            room: Room::Addressed,
            from_host: false,
        }
    }

    /// A message as the client received it; `own_id` marks this client's own messages.
    pub fn message(incoming: Incoming, own_id: Option<&str>) -> Self {
        let own = incoming.from.is_some() && incoming.from.as_deref() == own_id;
        let from_host = incoming.from_host;
        let mut entry = Self::new(
            incoming.ts,
            EntryKind::Message {
                from: incoming.from,
                to: incoming.to,
                text: incoming.text,
                own,
            },
        );
        entry.from_host = from_host;
        entry
    }

    /// The same row, marked as written in `room`.
    #[must_use]
    pub fn in_room(mut self, room: Room) -> Self {
        self.room = room;
        self
    }

    /// Whether this row is a message from somebody else (what counts as unread).
    pub fn is_from_others(&self) -> bool {
        matches!(self.kind, EntryKind::Message { own: false, .. })
    }

    /// `HH:MM:SS` in local time.
    pub fn time(&self) -> String {
        local_time(self.ts, "%H:%M:%S")
    }

    /// The row's text in `lang` (a message's text, a note in words).
    pub fn text(&self, lang: Lang) -> Cow<'_, str> {
        match &self.kind {
            EntryKind::Message { text, .. } | EntryKind::Notice(text) | EntryKind::Error(text) => {
                Cow::Borrowed(text)
            }
            EntryKind::Note(note) => Cow::Owned(note.text(lang)),
        }
    }

    /// The row for the journal, notes in `lang` with every name.
    pub fn to_journal(&self, lang: Lang) -> JournalEntry {
        let mut entry = JournalEntry::from(self);
        if let EntryKind::Note(note) = &self.kind {
            entry.text = note.full_text(lang);
        }
        entry
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
            EntryKind::Note(note) => {
                let (kind, record) = match note {
                    Note::Classroom(record) => (JournalEntryKind::Classroom, Some(record.clone())),
                    _ if note.is_error() => (JournalEntryKind::Error, None),
                    _ => (JournalEntryKind::Notice, None),
                };
                // English here; `Entry::to_journal` writes the user's language.
                return Self {
                    ts: entry.ts,
                    kind,
                    from: None,
                    to: None,
                    text: note.full_text(Lang::En),
                    host: false,
                    record,
                };
            }
        };
        Self {
            ts: entry.ts,
            kind,
            from,
            to,
            text: text.clone(),
            host: entry.from_host,
            record: None,
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
            // Kept as data, so it reads in whichever language the window shows.
            JournalEntryKind::Classroom => match entry.record {
                Some(record) => EntryKind::Note(Note::Classroom(record)),
                None => EntryKind::Notice(entry.text),
            },
        };
        let mut row = Self::new(entry.ts, kind);
        row.from_host = entry.host;
        row
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

/// Rows the window keeps at most; past it the oldest [`DROP_AT_ONCE`] go (the host's journal
/// keeps them), so that a flood of messages cannot grow the window's memory without bound.
pub const MAX_ROWS: usize = 200_000;

/// Rows dropped at once when the log is full, so dropping is rare and cheap on average.
const DROP_AT_ONCE: usize = MAX_ROWS / 4;

/// The log of one chat session.
#[derive(Debug, Default)]
pub struct Log {
    entries: Vec<Entry>,
    /// The language notes are written in when exported.
    lang: Lang,
    /// Rows dropped from the front since the session started.
    dropped: usize,
}

impl Log {
    /// Writes notes in `lang` from now on when exporting (the view renders them itself).
    pub fn set_lang(&mut self, lang: Lang) {
        self.lang = lang;
    }

    /// The language exports write notes in.
    pub fn lang(&self) -> Lang {
        self.lang
    }

    /// Appends a note stamped now. A join (or leave) right after others shares their row, so
    /// a whole class arriving is one row: "34 people joined".
    pub fn note(&mut self, note: Note) {
        let now = crate::bridge::now_ms();
        if let Some(last) = self.entries.last_mut()
            && now.saturating_sub(last.ts) < PRESENCE_WINDOW_MS
            && let EntryKind::Note(last_note) = &mut last.kind
        {
            match (last_note, &note) {
                (Note::Joined(ids), Note::Joined(more)) | (Note::Left(ids), Note::Left(more)) => {
                    ids.extend(more.iter().cloned());
                    last.ts = now;
                    return;
                }
                _ => {}
            }
        }
        self.push(Entry::new(now, EntryKind::Note(note)));
    }

    /// How many rows are final: all but a last presence row that may still grow (the journal
    /// writes that one once it is final).
    pub fn settled_len(&self) -> usize {
        match self.entries.last() {
            Some(Entry {
                kind: EntryKind::Note(note),
                ..
            }) if note.is_presence() => self.entries.len() - 1,
            _ => self.entries.len(),
        }
    }

    /// Appends a row, dropping the oldest ones once there are more than [`MAX_ROWS`].
    pub fn push(&mut self, entry: Entry) {
        self.entries.push(entry);
        if self.entries.len() > MAX_ROWS {
            self.entries.drain(..DROP_AT_ONCE);
            self.dropped += DROP_AT_ONCE;
        }
    }

    /// Rows dropped from the front since the session started: a row's index in the whole
    /// session is its index here plus this.
    pub fn dropped(&self) -> usize {
        self.dropped
    }

    /// Appends a notice stamped now.
    pub fn notice(&mut self, text: impl Into<String>) {
        self.push(Entry::new(
            crate::bridge::now_ms(),
            EntryKind::Notice(text.into()),
        ));
    }

    /// Appends an error stamped now.
    pub fn error(&mut self, text: impl Into<String>) {
        self.push(Entry::new(
            crate::bridge::now_ms(),
            EntryKind::Error(text.into()),
        ));
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

    /// Whether any row's text contains `needle` (for tests and search).
    pub fn contains_text(&self, needle: &str) -> bool {
        self.entries
            .iter()
            .any(|e| e.text(self.lang).contains(needle))
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
                let journal = entry.to_journal(self.lang);
                let (from, to) = match journal.kind {
                    JournalEntryKind::Message => (
                        journal.from.unwrap_or_default(),
                        journal.to.unwrap_or_default(),
                    ),
                    JournalEntryKind::Notice => (String::new(), "notice".to_owned()),
                    JournalEntryKind::Error => (String::new(), "error".to_owned()),
                    JournalEntryKind::Classroom => (String::new(), "classroom".to_owned()),
                };
                transcript::Row {
                    time: local_time(entry.ts, "%Y-%m-%d %H:%M:%S"),
                    kind: journal.kind,
                    from,
                    to,
                    text: journal.text,
                }
            })
            .collect()
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
                text.as_str()
            }
            // Notes are short; a presence row names a few people.
            EntryKind::Note(_) => "a note the window wrote, in about this many characters",
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

    #[test]
    fn a_full_log_drops_its_oldest_rows_and_counts_them() {
        let mut log = Log::default();
        for n in 0..=MAX_ROWS {
            log.notice(n.to_string());
        }
        assert_eq!(log.len(), MAX_ROWS + 1 - DROP_AT_ONCE);
        assert_eq!(log.dropped(), DROP_AT_ONCE);
        assert_eq!(
            log.entries().first().map(|e| e.text(Lang::En).into_owned()),
            Some(DROP_AT_ONCE.to_string()),
            "the oldest rows went first"
        );
        assert_eq!(
            log.entries().last().map(|e| e.text(Lang::En).into_owned()),
            Some(MAX_ROWS.to_string())
        );
    }

    #[test]
    fn classroom_rows_reach_the_journal_as_data_and_the_transcript_as_lines() {
        let result = JournalRecord::PollResult {
            poll: 2,
            question: "次の授業は?".into(),
            options: vec!["月曜".into(), "火曜".into()],
            counts: vec![3, 5],
        };
        let mut log = Log::default();
        log.set_lang(Lang::Ja);
        log.note(Note::Classroom(result.clone()));
        log.note(Note::Classroom(JournalRecord::Pinned {
            text: "課題: p.12".into(),
        }));
        let mut teacher = Entry::message(
            Incoming {
                from: Some("先生".into()),
                to: Some(Recipient::Everyone),
                text: "はじめます".into(),
                from_host: true,
                ..Incoming::default()
            },
            None,
        );
        teacher.ts = 1;
        log.push(teacher);

        let journal: Vec<JournalEntry> = log
            .entries()
            .iter()
            .map(|e| e.to_journal(Lang::Ja))
            .collect();
        assert_eq!(journal[0].kind, JournalEntryKind::Classroom);
        assert_eq!(journal[0].record.as_ref(), Some(&result));
        assert_eq!(
            journal[0].text,
            "アンケート 2 結果: 次の授業は? 1) 月曜: 3 2) 火曜: 5"
        );
        assert!(journal[2].host);
        // Read back (the previous session), the poll is data again: it follows the language.
        let back: Vec<Entry> = journal.into_iter().map(Entry::from).collect();
        assert_eq!(back[0].kind, EntryKind::Note(Note::Classroom(result)));
        assert_eq!(
            back[0].text(Lang::En),
            "Poll 2 results: 次の授業は? 1) 月曜: 3 2) 火曜: 5"
        );
        assert!(back[2].from_host);

        let text = log.to_text();
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[0].ends_with("  # アンケート 2 結果: 次の授業は? 1) 月曜: 3 2) 火曜: 5"),
            "{text}"
        );
        assert!(
            lines[1].ends_with("  # 固定メッセージ: 課題: p.12"),
            "{text}"
        );
        let csv = log.to_csv();
        assert!(
            csv.contains(",,classroom,固定メッセージ: 課題: p.12\r\n"),
            "{csv}"
        );
    }

    const METRICS: RowMetrics = RowMetrics {
        line: 20.0,
        padding: 4.0,
        narrow: 8.0,
        wide: 16.0,
    };

    #[test]
    fn a_class_arriving_is_one_row_in_either_language() {
        let mut log = Log::default();
        for name in ["Aki", "Ben", "Chie", "Dan", "Emi", "Fumi", "Goro"] {
            log.note(Note::Joined(vec![name.to_owned()]));
        }
        log.note(Note::Left(vec!["Ben".to_owned()]));
        assert_eq!(
            log.len(),
            2,
            "seven joins share a row, the leave starts one"
        );
        let row = &log.entries()[0];
        assert_eq!(
            row.text(Lang::En),
            "7 people joined: Aki, Ben, Chie, Dan, Emi +2"
        );
        assert_eq!(
            row.text(Lang::Ja),
            "7 人が参加しました: Aki, Ben, Chie, Dan, Emi +2"
        );
        assert_eq!(log.settled_len(), 1, "the last presence row may still grow");
        // Exports name everyone, in the log's language.
        log.set_lang(Lang::Ja);
        assert!(log.to_text().contains("Emi, Fumi, Goro"));
        assert!(log.to_text().contains("Ben さんが退出しました"));
    }

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
        Entry::new(
            1_700_000_000_000,
            EntryKind::Message {
                from: Some(from.to_owned()),
                to: Some(to),
                text: text.to_owned(),
                own: false,
            },
        )
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
            Entry::new(5, EntryKind::Notice("Taro joined".into())),
            Entry::new(6, EntryKind::Error("Not sent".into())),
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
