//! The session journal: everything the app shows in its log, appended to a file on disk as it
//! arrives, so that a crash or a power cut loses at most the last second.
//!
//! One file per session, `session-<unix ms>.jsonl`, one JSON object per line. Writing happens
//! on a thread of its own, which flushes at least every second; the UI only sends entries down
//! a channel and never waits for the disk. [`latest`] and [`read`] find and load the previous
//! session on the next start (a torn last line is skipped).

use std::fs::{self, File, OpenOptions};
use std::io::{BufRead as _, BufReader, BufWriter, Write as _};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// How often written entries reach the disk at the latest.
pub const FLUSH_EVERY: Duration = Duration::from_secs(1);

/// Sessions kept on disk; older ones are deleted when a new one starts.
const KEEP_SESSIONS: usize = 20;

/// What kind of line the log showed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// A chat message.
    Message,
    /// An error from the relay or the connection.
    Error,
    /// Someone joined or left, connection state changes.
    Notice,
}

/// One line of the log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Milliseconds since the Unix epoch.
    pub ts: u64,
    /// What it is.
    pub kind: EntryKind,
    /// The sender, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// The recipient (`*` for everyone), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// The text.
    pub text: String,
}

/// Why the journal could not be opened or read.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// The directory or file could not be created or read.
    #[error("session journal {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// An open session journal. Dropping it flushes and closes the file.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    entries: Option<mpsc::Sender<Entry>>,
    writer: Option<std::thread::JoinHandle<()>>,
}

impl Journal {
    /// Starts a new session file in `dir` (created if missing).
    pub fn create(dir: &Path) -> Result<Self, JournalError> {
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| JournalError::Io { path, source }
        };
        fs::create_dir_all(dir).map_err(io(dir))?;
        prune(dir);
        let path = dir.join(format!("session-{}.jsonl", crate::protocol::now_ms()));
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io(&path))?;
        let (tx, rx) = mpsc::channel();
        let shown = path.display().to_string();
        let writer = std::thread::Builder::new()
            .name("journal".to_owned())
            .spawn(move || write_loop(file, &rx, &shown))
            .map_err(io(&path))?;
        Ok(Self {
            path,
            entries: Some(tx),
            writer: Some(writer),
        })
    }

    /// The session's file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends an entry; never blocks on the disk.
    pub fn append(&self, entry: Entry) {
        if let Some(tx) = &self.entries {
            // The writer only stops when this journal is dropped.
            tx.send(entry).ok();
        }
    }
}

impl Drop for Journal {
    fn drop(&mut self) {
        self.entries = None;
        if let Some(writer) = self.writer.take() {
            // The writer flushes and ends as soon as the channel closes.
            writer.join().ok();
        }
    }
}

fn write_loop(file: File, entries: &mpsc::Receiver<Entry>, shown: &str) {
    let mut out = BufWriter::new(file);
    let mut dirty = false;
    let mut failed = false;
    let mut last_flush = Instant::now();
    loop {
        let next = if dirty {
            entries.recv_timeout(FLUSH_EVERY.saturating_sub(last_flush.elapsed()))
        } else {
            entries
                .recv()
                .map_err(|_| mpsc::RecvTimeoutError::Disconnected)
        };
        match next {
            Ok(entry) => {
                let line = serde_json::to_string(&entry).unwrap_or_default();
                report(&mut failed, writeln!(out, "{line}"), shown);
                dirty = true;
                if last_flush.elapsed() < FLUSH_EVERY {
                    continue;
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                report(&mut failed, out.flush(), shown);
                return;
            }
        }
        report(&mut failed, out.flush(), shown);
        dirty = false;
        last_flush = Instant::now();
    }
}

/// Logs the first write error only: a full disk would otherwise log on every message.
fn report(failed: &mut bool, result: std::io::Result<()>, shown: &str) {
    match result {
        Err(e) if !*failed => {
            *failed = true;
            tracing::error!("could not write the session journal {shown}: {e}");
        }
        Err(_) => {}
        Ok(()) => *failed = false,
    }
}

fn sessions(dir: &Path) -> Vec<PathBuf> {
    let Ok(read) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<PathBuf> = read
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("session-") && n.ends_with(".jsonl"))
        })
        .collect();
    // The names hold the start time, so name order is time order.
    found.sort();
    found
}

fn prune(dir: &Path) {
    let all = sessions(dir);
    let excess = all.len().saturating_sub(KEEP_SESSIONS - 1);
    for old in all.iter().take(excess) {
        fs::remove_file(old).ok();
    }
}

/// The newest session file in `dir` other than `except` that holds at least one entry.
pub fn latest(dir: &Path, except: Option<&Path>) -> Option<PathBuf> {
    sessions(dir)
        .into_iter()
        .rev()
        .filter(|p| Some(p.as_path()) != except)
        .find(|p| fs::metadata(p).is_ok_and(|m| m.len() > 0))
}

/// Loads a session file. Lines that do not parse (a torn last write) are skipped.
pub fn read(path: &Path) -> Result<Vec<Entry>, JournalError> {
    let file = File::open(path).map_err(|source| JournalError::Io {
        path: path.to_owned(),
        source,
    })?;
    Ok(BufReader::new(file)
        .lines()
        .map_while(Result::ok)
        .filter_map(|line| serde_json::from_str(&line).ok())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(text: &str) -> Entry {
        Entry {
            ts: 1,
            kind: EntryKind::Message,
            from: Some("花子".into()),
            to: Some("*".into()),
            text: text.into(),
        }
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("classchat-journal-{name}-{}", std::process::id()));
        fs::remove_dir_all(&dir).ok();
        dir
    }

    #[test]
    fn entries_reach_the_disk_within_a_second_without_closing() {
        let dir = temp_dir("flush");
        let journal = Journal::create(&dir).unwrap();
        journal.append(entry("こんにちは"));
        std::thread::sleep(FLUSH_EVERY * 3);
        // The journal is still open, as after a crash.
        assert_eq!(read(journal.path()).unwrap(), vec![entry("こんにちは")]);
        drop(journal);
        fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn previous_session_is_found_and_torn_lines_skipped() {
        let dir = temp_dir("latest");
        let first = Journal::create(&dir).unwrap();
        first.append(entry("a"));
        first.append(entry("b"));
        let first_path = first.path().to_owned();
        drop(first);
        // A torn write at the end, as a power cut leaves it.
        let mut f = OpenOptions::new().append(true).open(&first_path).unwrap();
        f.write_all(b"{\"ts\":3,\"ki").unwrap();
        std::thread::sleep(Duration::from_millis(5));
        let second = Journal::create(&dir).unwrap();
        assert_eq!(latest(&dir, Some(second.path())), Some(first_path.clone()));
        assert_eq!(read(&first_path).unwrap(), vec![entry("a"), entry("b")]);
        drop(second);
        fs::remove_dir_all(&dir).ok();
    }
}
