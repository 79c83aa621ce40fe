//! The session journal: everything the app shows in its log, appended to a file on disk as it
//! arrives, so that a crash or a power cut loses at most the last second. Classroom events
//! (polls with their results, pins, room modes) keep their data as a [`Record`] beside their
//! sentence, and a host's messages their teacher badge.
//!
//! One file per session, `session-<unix ms>.jsonl`, one JSON object per line. Writing happens
//! on a thread of its own; the UI only sends entries down a channel and never waits for the
//! disk. Each entry is written as one complete line, so an app crash loses nothing already
//! handed over, and the data is synced to the disk ([`File::sync_data`]) at most once every
//! [`SYNC_EVERY`] when something was written, so a power cut loses at most that much.
//!
//! Limits, so that a flood cannot fill the disk:
//! - A session keeps at most [`JournalConfig::max_bytes`] (default [`DEFAULT_MAX_BYTES`]) on
//!   disk. When the file reaches half of it, it becomes `session-<unix ms>.jsonl.1` (replacing
//!   the previous `.1`) and a fresh file starts: the newest half to whole budget is kept, the
//!   oldest part is deleted. [`Journal::rotations`] counts this so the window can say so.
//! - At most [`JournalConfig::keep_sessions`] sessions are kept; older ones are deleted when a
//!   new one starts.
//! - [`read`] loads only the tail of a session: the last [`READ_TAIL_BYTES`] and at most
//!   [`READ_TAIL_ENTRIES`] entries, never a whole multi-gigabyte file.
//!
//! On Unix the folder is created readable by the owner only (0700) and each file 0600: the
//! journal holds private messages.
//!
//! A failed write (a full disk) is shown by [`Journal::health`], which the window polls. After a
//! write fails half-way, the next entry starts on a fresh line, so a reader skips the torn one
//! and never sees two entries merged. [`latest`] and [`read`] find and load the previous
//! session on the next start (torn lines are skipped).
//!
//! Try it: `cargo test --lib journal::`.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{Read as _, Seek as _, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// How often written entries are synced to the disk at most (and at the latest).
pub const SYNC_EVERY: Duration = Duration::from_secs(1);

/// The old name of [`SYNC_EVERY`].
pub const FLUSH_EVERY: Duration = SYNC_EVERY;

/// The default byte budget of one session on disk: 64 MiB.
pub const DEFAULT_MAX_BYTES: u64 = 64 * 1024 * 1024;

/// Sessions kept on disk by default; older ones are deleted when a new one starts.
pub const KEEP_SESSIONS: usize = 20;

/// [`read`] loads at most this many bytes from the end of a session.
pub const READ_TAIL_BYTES: u64 = 4 * 1024 * 1024;

/// [`read`] returns at most this many entries, the newest.
pub const READ_TAIL_ENTRIES: usize = 5_000;

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
    /// What the host did to the room: a poll and its result, a pin, the room's modes; the
    /// entry's [`Record`] holds it as data.
    Classroom,
}

/// A classroom event as data, kept beside its sentence so a reader can show it again in any
/// language (see *Classroom controls* in `docs/PROTOCOL.md`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Record {
    /// A poll opened.
    Poll {
        /// Its number.
        poll: u64,
        /// The question.
        question: String,
        /// The answers.
        options: Vec<String>,
    },
    /// A poll closed with these counts.
    PollResult {
        /// Its number.
        poll: u64,
        /// The question.
        question: String,
        /// The answers.
        options: Vec<String>,
        /// Votes per answer.
        counts: Vec<u32>,
    },
    /// The pinned message changed; empty when it was unpinned.
    Pinned {
        /// The pinned text.
        text: String,
    },
    /// The room's modes changed.
    Room {
        /// Students may write to everyone.
        student_broadcast: bool,
        /// Students may write privately to each other.
        student_private: bool,
    },
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
    /// Sent by a host (shown with the teacher badge).
    #[serde(default, skip_serializing_if = "is_false")]
    pub host: bool,
    /// For [`EntryKind::Classroom`]: what happened, as data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<Record>,
}

#[allow(clippy::trivially_copy_pass_by_ref)] // Serde's `skip_serializing_if` passes a reference.
fn is_false(value: &bool) -> bool {
    !*value
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

/// Limits of a journal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JournalConfig {
    /// The most one session keeps on disk, in bytes; see the module docs for how it rotates.
    pub max_bytes: u64,
    /// How many sessions are kept, this one included.
    pub keep_sessions: usize,
}

impl Default for JournalConfig {
    fn default() -> Self {
        Self {
            max_bytes: DEFAULT_MAX_BYTES,
            keep_sessions: KEEP_SESSIONS,
        }
    }
}

/// What the writer thread reports back, cheap to poll from the UI.
#[derive(Debug, Default)]
struct Status {
    /// The last write or sync error, cleared by the next success. A mutex because the UI
    /// reads it while the writer sets it; both only copy a short string under it.
    error: Mutex<Option<String>>,
    /// How many times the oldest part of this session was deleted to stay in budget.
    rotations: AtomicU64,
}

/// An open session journal. Dropping it syncs and closes the file.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    entries: Option<mpsc::Sender<Entry>>,
    writer: Option<std::thread::JoinHandle<()>>,
    status: Arc<Status>,
}

impl Journal {
    /// Starts a new session file in `dir` (created if missing) with the default limits.
    pub fn create(dir: &Path) -> Result<Self, JournalError> {
        Self::create_with(dir, JournalConfig::default())
    }

    /// Starts a new session file in `dir` (created if missing) with the given limits.
    pub fn create_with(dir: &Path, config: JournalConfig) -> Result<Self, JournalError> {
        create_private_dir(dir).map_err(io_error(dir))?;
        prune(dir, config.keep_sessions);
        let path = dir.join(format!("session-{}.jsonl", crate::protocol::now_ms()));
        let file = open_private(&path).map_err(io_error(&path))?;
        Self::start(path, file, config)
    }

    fn start(path: PathBuf, file: File, config: JournalConfig) -> Result<Self, JournalError> {
        let (tx, rx) = mpsc::channel();
        let status = Arc::new(Status::default());
        let mut active = Active {
            path: path.clone(),
            file,
            len: 0,
            torn: false,
            max_bytes: config.max_bytes,
            status: Arc::clone(&status),
            failed: false,
        };
        let writer = std::thread::Builder::new()
            .name("journal".to_owned())
            .spawn(move || active.run(&rx))
            .map_err(io_error(&path))?;
        Ok(Self {
            path,
            entries: Some(tx),
            writer: Some(writer),
            status,
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

    /// The last write failure (such as a full disk), for the window to show; `None` once
    /// writing works again.
    pub fn health(&self) -> Option<String> {
        self.status
            .error
            .lock()
            .map_or_else(|poisoned| poisoned.into_inner().clone(), |e| e.clone())
    }

    /// How many times the oldest part of this session was deleted to stay within
    /// [`JournalConfig::max_bytes`]; non-zero means the journal no longer holds the whole
    /// session.
    pub fn rotations(&self) -> u64 {
        self.status.rotations.load(Ordering::Relaxed)
    }
}

impl Drop for Journal {
    fn drop(&mut self) {
        self.entries = None;
        if let Some(writer) = self.writer.take() {
            // The writer syncs and ends as soon as the channel closes.
            writer.join().ok();
        }
    }
}

/// The writer thread's file.
struct Active {
    path: PathBuf,
    file: File,
    /// Bytes in `file` as far as this writer knows.
    len: u64,
    /// The last write failed, maybe half-way: the next entry starts with a line feed.
    torn: bool,
    max_bytes: u64,
    status: Arc<Status>,
    /// Whether `status.error` is set, so success only takes the lock after a failure.
    failed: bool,
}

impl Active {
    fn run(&mut self, entries: &mpsc::Receiver<Entry>) {
        let mut dirty = false;
        let mut last_sync = Instant::now();
        loop {
            let next = if dirty {
                entries.recv_timeout(SYNC_EVERY.saturating_sub(last_sync.elapsed()))
            } else {
                entries
                    .recv()
                    .map_err(|_| mpsc::RecvTimeoutError::Disconnected)
            };
            match next {
                Ok(entry) => {
                    let result = self.append(&entry);
                    self.report(result);
                    dirty = true;
                    if last_sync.elapsed() < SYNC_EVERY {
                        continue;
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    if dirty {
                        let result = self.file.sync_data();
                        self.report(result);
                    }
                    return;
                }
            }
            let result = self.file.sync_data();
            self.report(result);
            dirty = false;
            last_sync = Instant::now();
        }
    }

    fn append(&mut self, entry: &Entry) -> std::io::Result<()> {
        let line = serde_json::to_vec(entry).map_err(std::io::Error::other)?;
        if self.len > 0 && self.len + line.len() as u64 + 2 > self.max_bytes / 2 {
            self.rotate()?;
        }
        match write_line(&mut self.file, &mut self.torn, &line) {
            Ok(written) => {
                self.len += written;
                Ok(())
            }
            Err(e) => {
                // Part of the line may be on disk.
                self.len = self.file.metadata().map_or(self.len, |m| m.len());
                Err(e)
            }
        }
    }

    /// Keeps the current file as `<name>.1` (dropping the previous one) and starts afresh.
    fn rotate(&mut self) -> std::io::Result<()> {
        // What is kept should survive a power cut as well as the rest.
        self.file.sync_data().ok();
        let old = older_part(&self.path);
        // Windows refuses to rename onto an existing file.
        fs::remove_file(&old).ok();
        fs::rename(&self.path, &old)?;
        self.file = open_private(&self.path)?;
        self.len = 0;
        self.torn = false;
        self.status.rotations.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Shows a failure in [`Journal::health`] and logs it once; clears it on success.
    fn report(&mut self, result: std::io::Result<()>) {
        match result {
            Ok(()) if self.failed => {
                self.failed = false;
                set_error(&self.status, None);
            }
            Ok(()) => {}
            Err(e) => {
                if !self.failed {
                    tracing::error!(
                        "could not write the session journal {}: {e}",
                        self.path.display()
                    );
                }
                self.failed = true;
                set_error(
                    &self.status,
                    Some(format!("the session journal could not be written: {e}")),
                );
            }
        }
    }
}

fn set_error(status: &Status, error: Option<String>) {
    let mut slot = status
        .error
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    *slot = error;
}

/// Writes `line` and a line feed in one call, preceded by a line feed if the previous write
/// was torn, so that entries are never merged. Returns the bytes written.
fn write_line(out: &mut impl Write, torn: &mut bool, line: &[u8]) -> std::io::Result<u64> {
    let mut buf = Vec::with_capacity(line.len() + 2);
    if *torn {
        buf.push(b'\n');
    }
    buf.extend_from_slice(line);
    buf.push(b'\n');
    match out.write_all(&buf) {
        Ok(()) => {
            *torn = false;
            Ok(buf.len() as u64)
        }
        Err(e) => {
            *torn = true;
            Err(e)
        }
    }
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> JournalError + use<> {
    let path = path.to_owned();
    move |source| JournalError::Io { path, source }
}

/// Creates `dir` (and its parents) readable by the owner only on Unix.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt as _, PermissionsExt as _};
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
        // A folder left by an older version may be readable by others. Not fatal: the files
        // themselves are 0600.
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).ok();
        Ok(())
    }
    #[cfg(not(unix))]
    {
        fs::create_dir_all(dir)
    }
}

/// Opens `path` for appending, created readable by the owner only on Unix.
fn open_private(path: &Path) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    options.open(path)
}

/// `session-….jsonl.1`: the older part of a rotated session.
fn older_part(path: &Path) -> PathBuf {
    let mut name = OsString::from(path.as_os_str());
    name.push(".1");
    PathBuf::from(name)
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

/// Deletes the oldest sessions (and their older parts) so that a new one makes `keep`.
fn prune(dir: &Path, keep: usize) {
    let all = sessions(dir);
    let excess = all.len().saturating_sub(keep.saturating_sub(1));
    for old in all.iter().take(excess) {
        fs::remove_file(old).ok();
        fs::remove_file(older_part(old)).ok();
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

/// Loads the newest entries of a session: [`read_tail`] with [`READ_TAIL_BYTES`] and
/// [`READ_TAIL_ENTRIES`]. Lines that do not parse (torn writes) are skipped.
pub fn read(path: &Path) -> Result<Vec<Entry>, JournalError> {
    read_tail(path, READ_TAIL_BYTES, READ_TAIL_ENTRIES)
}

/// Loads at most the last `max_bytes` of a session (its rotated older part first, when the
/// current file is shorter) and returns at most the newest `max_entries` entries.
pub fn read_tail(
    path: &Path,
    max_bytes: u64,
    max_entries: usize,
) -> Result<Vec<Entry>, JournalError> {
    let mut newest = read_file_tail(path, max_bytes).map_err(io_error(path))?;
    let read = newest.1;
    let mut entries = Vec::new();
    if read < max_bytes {
        let older = older_part(path);
        if let Ok((old, _)) = read_file_tail(&older, max_bytes - read) {
            entries = old;
        }
    }
    entries.append(&mut newest.0);
    let excess = entries.len().saturating_sub(max_entries);
    entries.drain(..excess);
    Ok(entries)
}

/// The entries in the last `max_bytes` of one file, and how many bytes that was.
fn read_file_tail(path: &Path, max_bytes: u64) -> std::io::Result<(Vec<Entry>, u64)> {
    let mut file = File::open(path)?;
    let len = file.metadata()?.len();
    let start = len.saturating_sub(max_bytes);
    // One byte before the window tells whether it starts on a line.
    let from = start.saturating_sub(1);
    file.seek(SeekFrom::Start(from))?;
    let mut buf = Vec::new();
    file.take(len - from).read_to_end(&mut buf)?;
    let mut body = buf.as_slice();
    if start > 0 {
        // Skip the partial line before the first line feed.
        let cut = body
            .iter()
            .position(|&b| b == b'\n')
            .map_or(body.len(), |i| i + 1);
        body = body.get(cut..).unwrap_or_default();
    }
    let entries = body
        .split(|&b| b == b'\n')
        .filter_map(|line| serde_json::from_slice(line).ok())
        .collect();
    Ok((entries, len - start))
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
            host: false,
            record: None,
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
        std::thread::sleep(SYNC_EVERY * 3);
        // The journal is still open, as after a crash.
        assert_eq!(read(journal.path()).unwrap(), vec![entry("こんにちは")]);
        assert_eq!(journal.health(), None);
        drop(journal);
        fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn classroom_records_and_teacher_badges_survive_the_round_trip() {
        let dir = temp_dir("classroom");
        let journal = Journal::create(&dir).unwrap();
        let classroom = |record: Record, text: &str| Entry {
            kind: EntryKind::Classroom,
            from: None,
            to: None,
            record: Some(record),
            ..entry(text)
        };
        let written = vec![
            Entry {
                host: true,
                ..entry("教科書を開いて")
            },
            classroom(
                Record::Poll {
                    poll: 3,
                    question: "次は?".into(),
                    options: vec!["月".into(), "火".into()],
                },
                "Poll 3: 次は?",
            ),
            classroom(
                Record::PollResult {
                    poll: 3,
                    question: "次は?".into(),
                    options: vec!["月".into(), "火".into()],
                    counts: vec![4, 1],
                },
                "Poll 3 results",
            ),
            classroom(
                Record::Pinned {
                    text: String::new(),
                },
                "Unpinned",
            ),
            classroom(
                Record::Room {
                    student_broadcast: false,
                    student_private: true,
                },
                "Room",
            ),
        ];
        for e in &written {
            journal.append(e.clone());
        }
        let path = journal.path().to_owned();
        drop(journal);
        assert_eq!(read(&path).unwrap(), written);
        let lines = fs::read_to_string(&path).unwrap();
        // The wire's own names, and no badge field on a student's line.
        assert!(
            lines.contains(r#""record":{"type":"poll_result","poll":3"#),
            "{lines}"
        );
        assert!(
            lines.contains(r#""type":"room","student_broadcast":false"#),
            "{lines}"
        );
        assert_eq!(lines.matches(r#""host":true"#).count(), 1, "{lines}");
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

    /// Takes `room` bytes, then fails like a full disk.
    struct FullDisk {
        written: Vec<u8>,
        room: usize,
    }

    impl Write for FullDisk {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if self.room == 0 {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::StorageFull,
                    "disk full",
                ));
            }
            let n = buf.len().min(self.room);
            self.room -= n;
            self.written.extend_from_slice(buf.get(..n).unwrap());
            Ok(n)
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_torn_write_never_merges_two_entries() {
        let mut disk = FullDisk {
            written: Vec::new(),
            room: 0,
        };
        let mut torn = false;
        let a = serde_json::to_vec(&entry("a")).unwrap();
        let b = serde_json::to_vec(&entry("b")).unwrap();
        let c = serde_json::to_vec(&entry("c")).unwrap();
        disk.room = a.len() + 1;
        write_line(&mut disk, &mut torn, &a).unwrap();
        disk.room = 5;
        assert!(write_line(&mut disk, &mut torn, &b).is_err());
        assert!(torn);
        disk.room = usize::MAX;
        write_line(&mut disk, &mut torn, &c).unwrap();
        let text = String::from_utf8(disk.written).unwrap();
        let parsed: Vec<Entry> = text
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        assert_eq!(parsed, vec![entry("a"), entry("c")]);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_full_disk_shows_in_health() {
        let file = OpenOptions::new().append(true).open("/dev/full").unwrap();
        let journal =
            Journal::start(PathBuf::from("/dev/full"), file, JournalConfig::default()).unwrap();
        journal.append(entry("a"));
        let deadline = Instant::now() + Duration::from_secs(5);
        while journal.health().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        let health = journal.health().unwrap();
        assert!(health.contains("could not be written"), "{health}");
    }

    #[cfg(unix)]
    #[test]
    fn files_and_folder_are_private() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = temp_dir("private");
        let journal = Journal::create(&dir.join("nested")).unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir.join("nested")), 0o700);
        assert_eq!(mode(journal.path()), 0o600);
        drop(journal);
        fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn a_session_stays_within_its_budget_and_keeps_the_newest() {
        let dir = temp_dir("budget");
        let config = JournalConfig {
            max_bytes: 4096,
            keep_sessions: KEEP_SESSIONS,
        };
        let journal = Journal::create_with(&dir, config).unwrap();
        for i in 0..500 {
            journal.append(entry(&format!("message {i}")));
        }
        let path = journal.path().to_owned();
        let files = {
            drop(journal);
            fs::read_dir(&dir).unwrap().count()
        };
        assert_eq!(files, 2, "the current file and its older part");
        let on_disk: u64 = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().metadata().unwrap().len())
            .sum();
        assert!(on_disk <= config.max_bytes, "{on_disk}");
        let kept = read(&path).unwrap();
        assert_eq!(kept.last(), Some(&entry("message 499")));
        assert!(kept.len() < 500);
        // What is kept is the newest, in order, without gaps.
        let first: usize = kept[0].text["message ".len()..].parse().unwrap();
        let expected: Vec<Entry> = (first..500)
            .map(|i| entry(&format!("message {i}")))
            .collect();
        assert_eq!(kept, expected);
        fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn rotations_are_counted() {
        let dir = temp_dir("rotations");
        let config = JournalConfig {
            max_bytes: 1024,
            keep_sessions: KEEP_SESSIONS,
        };
        let journal = Journal::create_with(&dir, config).unwrap();
        for i in 0..100 {
            journal.append(entry(&format!("message {i}")));
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while journal.rotations() == 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(journal.rotations() > 0);
        drop(journal);
        fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn reading_takes_only_the_tail() {
        let dir = temp_dir("tail");
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("session-1.jsonl");
        let mut f = File::create(&path).unwrap();
        for i in 0..1000 {
            let line = serde_json::to_string(&entry(&format!("m{i}"))).unwrap();
            writeln!(f, "{line}").unwrap();
        }
        drop(f);
        let tail = read_tail(&path, 1000, usize::MAX).unwrap();
        assert!(!tail.is_empty() && tail.len() < 20, "{}", tail.len());
        assert_eq!(tail.last(), Some(&entry("m999")));
        let few = read_tail(&path, u64::MAX, 3).unwrap();
        assert_eq!(few, vec![entry("m997"), entry("m998"), entry("m999")]);
        // A window that starts exactly on a line keeps that line.
        let line_len = serde_json::to_string(&entry("m999")).unwrap().len() as u64 + 1;
        assert_eq!(
            read_tail(&path, line_len, usize::MAX).unwrap(),
            vec![entry("m999")]
        );
        fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn pruning_keeps_the_newest_sessions_and_their_parts() {
        let dir = temp_dir("prune");
        fs::create_dir_all(&dir).unwrap();
        for i in 10..15 {
            File::create(dir.join(format!("session-{i}.jsonl"))).unwrap();
            File::create(dir.join(format!("session-{i}.jsonl.1"))).unwrap();
        }
        prune(&dir, 3);
        let mut left: Vec<String> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(
            left,
            [
                "session-13.jsonl",
                "session-13.jsonl.1",
                "session-14.jsonl",
                "session-14.jsonl.1"
            ]
        );
        fs::remove_dir_all(&dir).ok();
    }
}
