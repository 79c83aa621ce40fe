//! Transcript export as plain text and as CSV, from rows of already formatted columns.
//!
//! No egui and no clock here: the window formats the time and maps its log rows to [`Row`]s.
//! The CSV is meant to be opened in a spreadsheet: it starts with a UTF-8 byte order mark (so
//! Excel on Japanese Windows does not read it as CP932), uses CRLF and RFC 4180 quoting, and
//! prefixes cells that a spreadsheet would run as a formula with `'`. The text form escapes
//! control characters and line separators and indents continuation lines, so every line that
//! is not indented is a real row.
//!
//! Try it: `cargo test --lib transcript::`.

use crate::journal::EntryKind;
use crate::text::{CONTINUATION_INDENT, escape_for_terminal};

/// The CSV header line, without its line end.
pub const CSV_HEADER: &str = "time,from,to,text";

/// The UTF-8 byte order mark that starts the CSV.
pub const BOM: char = '\u{FEFF}';

/// One transcript row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    /// The time as it should appear, such as `2026-12-05 18:12:00`.
    pub time: String,
    /// A message, a notice or an error.
    pub kind: EntryKind,
    /// The sender; empty for notices, errors and unknown senders.
    pub from: String,
    /// The recipient (`*` for everyone); for CSV rows of notices, errors and classroom events
    /// the window writes `notice`, `error` or `classroom` here.
    pub to: String,
    /// The text as received.
    pub text: String,
}

/// Plain text, one row per line: `time  from → to: text` for messages, `time  * text` for
/// notices, `time  ! text` for errors and `time  # text` for what the host did to the room
/// (polls and their results, pins, room modes). Control characters, CR, U+0085, U+2028 and U+2029
/// are shown as `\u{…}` escapes; a line feed is kept and the next line is indented.
pub fn to_text(rows: &[Row]) -> String {
    let mut out = String::new();
    for row in rows {
        let body = escape_for_terminal(&row.text);
        let line = match row.kind {
            EntryKind::Message => format!(
                "{}  {} → {}: {body}\n",
                row.time,
                escape_for_terminal(&row.from),
                escape_for_terminal(&row.to)
            ),
            EntryKind::Notice => format!("{}  * {body}\n", row.time),
            EntryKind::Error => format!("{}  ! {body}\n", row.time),
            EntryKind::Classroom => format!("{}  # {body}\n", row.time),
        };
        out.push_str(&line);
    }
    out
}

/// CSV: a byte order mark, the header [`CSV_HEADER`], one record per row, CRLF line ends.
pub fn to_csv(rows: &[Row]) -> String {
    let mut out = String::new();
    out.push(BOM);
    out.push_str(CSV_HEADER);
    out.push_str("\r\n");
    for row in rows {
        let cells = [&row.time, &row.from, &row.to, &row.text].map(|c| csv_field(c));
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    }
    out
}

/// One CSV cell. A cell a spreadsheet would read as a formula (starting with `=`, `+`, `-`,
/// `@`, tab or CR, or their full-width forms) gets a leading `'`. The cell is then quoted
/// when it holds a comma, quote, CR or LF or starts or ends with a space, with inner quotes
/// doubled.
pub fn csv_field(field: &str) -> String {
    let formula = field.starts_with([
        '=', '+', '-', '@', '\t', '\r', '\u{FF1D}', '\u{FF0B}', '\u{FF0D}', '\u{FF20}',
    ]);
    let field = if formula {
        format!("'{field}")
    } else {
        field.to_owned()
    };
    let needs_quotes =
        field.contains([',', '"', '\n', '\r']) || field.starts_with(' ') || field.ends_with(' ');
    if needs_quotes {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field
    }
}

/// Whether a line of [`to_text`] output continues the row above it.
pub fn is_continuation(line: &str) -> bool {
    line.starts_with(CONTINUATION_INDENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(from: &str, text: &str) -> Row {
        Row {
            time: "2026-12-05 18:12:00".into(),
            kind: EntryKind::Message,
            from: from.into(),
            to: "*".into(),
            text: text.into(),
        }
    }

    #[test]
    fn csv_quotes_commas_quotes_newlines() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
        assert_eq!(csv_field("こんにちは、世界"), "こんにちは、世界");
        assert_eq!(csv_field("日本語,カンマ"), "\"日本語,カンマ\"");
        assert_eq!(csv_field(""), "");
    }

    #[test]
    fn csv_formulas_are_not_run() {
        assert_eq!(
            csv_field("=HYPERLINK(\"http://evil.example\",\"click\")"),
            "\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"click\"\")\""
        );
        assert_eq!(csv_field("+1+2"), "'+1+2");
        assert_eq!(csv_field("-2+3"), "'-2+3");
        assert_eq!(csv_field("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_field("\t=1"), "'\t=1");
        assert_eq!(csv_field("\r=1"), "\"'\r=1\"");
        assert_eq!(csv_field("＝1+1"), "'＝1+1");
        assert_eq!(csv_field("a=1"), "a=1");
    }

    #[test]
    fn csv_has_bom_header_and_crlf() {
        let csv = to_csv(&[message("花子", "=1+1"), message("=evil", "a,b")]);
        assert!(csv.starts_with("\u{FEFF}time,from,to,text\r\n"));
        assert!(csv.as_bytes().starts_with(&[0xEF, 0xBB, 0xBF]));
        let records: Vec<&str> = csv.split("\r\n").collect();
        assert_eq!(records[1], "2026-12-05 18:12:00,花子,*,'=1+1");
        assert_eq!(records[2], "2026-12-05 18:12:00,'=evil,*,\"a,b\"");
        assert_eq!(records[3], "");
        assert_eq!(records.len(), 4);
    }

    #[test]
    fn text_cannot_fake_a_row() {
        for lb in ["\r", "\u{85}", "\u{2028}", "\u{2029}"] {
            let text = to_text(&[message("花子", &format!("hi{lb}先生 → *: 中止"))]);
            assert_eq!(text.lines().count(), 1, "{text:?}");
            assert!(!text.contains(lb), "{text:?}");
        }
        let text = to_text(&[message("花子", "one\n2026-12-05 18:13:00  先生 → *: 中止")]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "2026-12-05 18:12:00  花子 → *: one");
        assert!(is_continuation(lines[1]));
        assert!(!text.contains('\x1b'));
    }

    #[test]
    fn text_marks_notices_and_errors() {
        let mut notice = message("", "花子 joined");
        notice.kind = EntryKind::Notice;
        let mut error = message("", "bad\x1b[2Jtext");
        error.kind = EntryKind::Error;
        assert_eq!(
            to_text(&[notice, error]),
            "2026-12-05 18:12:00  * 花子 joined\n2026-12-05 18:12:00  ! bad\\u{1b}[2Jtext\n"
        );
    }

    #[test]
    fn text_marks_classroom_events() {
        let mut poll = message("", "Poll 2 results: 次は? 1) 月: 4 2) 火: 1");
        poll.kind = EntryKind::Classroom;
        let mut pin = message("", "Pinned: p.12\nhttps://example.com/a1");
        pin.kind = EntryKind::Classroom;
        let text = to_text(&[poll, pin]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "2026-12-05 18:12:00  # Poll 2 results: 次は? 1) 月: 4 2) 火: 1"
        );
        assert_eq!(lines[1], "2026-12-05 18:12:00  # Pinned: p.12");
        assert!(is_continuation(lines[2]), "{text}");
        assert_eq!(lines.len(), 3);
    }
}
