//! The append-only event log, `events.jsonl` (docs/reference/state-dir.md): one JSON object a
//! line, appended, never rewritten.
//!
//! **Guarantees.** [`append`] issues one `write` of whole lines on a file
//! opened `O_APPEND`, then `fdatasync`, under an exclusive `flock` of the
//! log: concurrent appenders (threads or processes) never interleave, and
//! the lines are durable when it returns. If the log ends with a torn line
//! (a crash mid-write), the appended lines start on a fresh line, so the
//! damage stays confined to that one line. [`last_seq`] reads backwards
//! from the end in 64 KiB chunks: its cost follows the length of the last
//! lines, not of the log. [`read`] streams with a bounded buffer.
//!
//! **Assumptions.** Callers pass whole lines, each ending in `\n`, and hold
//! the state lock so `seq` values are assigned by one writer at a time.
//!
//! **Caveats.** The log is opened read-write (not write-only) so that the
//! last byte can be checked for a torn line. A write can be short when the
//! disk is full; `write_all` then continues with a second `write` (still
//! under the lock). Readers take no lock and may see a line being written.
//! A line longer than 64 MiB is skipped by [`last_seq`].
//!
//! **Rotation** ([`super::rotate`]): older lines may live in
//! `events.jsonl.1` … `.N`. [`last_seq`] falls back to the newest rotated
//! file when the log has no event, and [`read_all`] reads them all, oldest
//! first.
use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;

use super::file::{context, open_append, open_regular};

/// Appends `buf` (whole lines) to the log at `path`, creating it (0600):
/// one `write` with `O_APPEND` under an exclusive `flock`, then `fdatasync`.
pub fn append(path: &Path, buf: &[u8]) -> io::Result<()> {
    let mut file = open_append(path, "event log", true)?;
    // Appenders take turns, so a line without its newline at the end can
    // only be the remains of a crash, never another append in progress.
    file.lock()
        .map_err(|e| context(&e, "lock event log", path))?;
    let meta = file
        .metadata()
        .map_err(|e| context(&e, "open event log", path))?;
    let mut last = [0u8; 1];
    let torn =
        meta.len() > 0 && file.read_at(&mut last, meta.len() - 1).is_ok() && last[0] != b'\n';
    if torn {
        // A run killed in the middle of its append (Linux ends a write early
        // on SIGKILL) left part of a line. It never was an event: cut it, so
        // the log holds only whole lines, then append after the last one.
        let keep = whole_lines_end(&file, meta.len())
            .map_err(|e| context(&e, "repair event log", path))?;
        file.set_len(keep)
            .map_err(|e| context(&e, "repair event log", path))?;
    }
    // All or nothing: a write cut short by a full disk or an I/O error is
    // taken back, so the log never holds part of a run it could not finish.
    let before = file
        .metadata()
        .map_err(|e| context(&e, "append to event log", path))?
        .len();
    match file.write_all(buf).and_then(|()| file.sync_data()) {
        Ok(()) => Ok(()),
        Err(e) => {
            let _ = file.set_len(before);
            let _ = file.sync_data();
            Err(context(&e, "append to event log", path))
        }
    }
}

/// Checks, before a run executes anything, that the log at `path` can take
/// its record: it is (or can be created as) a regular file, not a symlink
/// or a FIFO, opened for appending.
pub fn check_appendable(path: &Path) -> io::Result<()> {
    open_append(path, "event log", false).map(drop)
}

/// The offset just past the last newline (0 if there is none).
fn whole_lines_end(file: &std::fs::File, len: u64) -> io::Result<u64> {
    let mut end = len;
    let mut chunk = vec![0u8; 64 * 1024];
    while end > 0 {
        let n = usize::try_from(end).map_or(chunk.len(), |end| end.min(chunk.len()));
        let start = end - n as u64;
        let buf = &mut chunk[..n];
        file.read_exact_at(buf, start)?;
        if let Some(i) = buf.iter().rposition(|b| *b == b'\n') {
            return Ok(start + i as u64 + 1);
        }
        end = start;
    }
    Ok(0)
}

const CHUNK: usize = 64 * 1024;
const MAX_LINE: usize = 64 * 1024 * 1024;

/// The `seq` of the last complete line that parses and has one; `None` for
/// a missing or empty log, or one without such a line. When the log has
/// none (just rotated), the rotated files are asked, newest first.
pub fn last_seq(path: &Path) -> io::Result<Option<u64>> {
    if let Some(seq) = last_seq_in(path)? {
        return Ok(Some(seq));
    }
    for older in super::rotate::rotated_paths(path) {
        if let Some(seq) = last_seq_in(&older)? {
            return Ok(Some(seq));
        }
    }
    Ok(None)
}

fn last_seq_in(path: &Path) -> io::Result<Option<u64>> {
    let file = match open_regular(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(context(&e, "read event log", path)),
    };
    last_seq_of(&file).map_err(|e| context(&e, "read event log", path))
}

fn last_seq_of(file: &File) -> io::Result<Option<u64>> {
    #[derive(serde::Deserialize)]
    struct Seq {
        seq: u64,
    }
    let mut pos = file.metadata()?.len();
    // The bytes after `pos` not yet judged: the start of their line is
    // still unknown. `ends_line`: they end in a newline (else: torn tail).
    let mut carry: Vec<u8> = Vec::new();
    let mut ends_line = false;
    let mut skipping = false;
    while pos > 0 {
        let n = usize::try_from(pos).map_or(CHUNK, |pos| pos.min(CHUNK));
        let start = pos - n as u64;
        let mut buf = vec![0; n];
        file.read_exact_at(&mut buf, start)?;
        pos = start;
        let mut end = buf.len();
        if skipping {
            carry.clear();
        }
        buf.extend_from_slice(&carry);
        let mut tail_len = buf.len();
        // Lines wholly inside `buf`, last first.
        while let Some(nl) = buf[..end].iter().rposition(|&b| b == b'\n') {
            let line = &buf[nl + 1..tail_len];
            if ends_line && !skipping && !line.is_empty() {
                if let Ok(Seq { seq }) = serde_json::from_slice(line) {
                    return Ok(Some(seq));
                }
            }
            ends_line = true;
            skipping = false;
            end = nl;
            tail_len = nl;
        }
        buf.truncate(tail_len);
        carry = buf;
        if carry.len() > MAX_LINE {
            skipping = true;
        }
    }
    // The first line of the file.
    if ends_line && !skipping && !carry.is_empty() {
        if let Ok(Seq { seq }) = serde_json::from_slice(&carry) {
            return Ok(Some(seq));
        }
    }
    Ok(None)
}

/// A line of the log that is not a JSON value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadLine {
    /// 1-based, counted from where reading started.
    pub line: usize,
    pub error: String,
}

/// Streams the log's lines as JSON values, for the readers of the history
/// (`audit`, `status`, the webhooks' and tests' checks). Empty lines are
/// skipped; an unterminated last line is reported as a [`BadLine`] and ends
/// the stream. (`events` prints lines byte for byte and, when following,
/// waits for a torn line to be finished, so it reads the raw lines itself:
/// `commands/events.rs`.)
pub struct EventReader {
    reader: BufReader<File>,
    line: usize,
    buf: Vec<u8>,
    done: bool,
}

/// Opens the log at `path` for streaming from its start.
pub fn read(path: &Path) -> io::Result<EventReader> {
    let file = open_regular(path).map_err(|e| context(&e, "read event log", path))?;
    Ok(EventReader::from_file(file))
}

/// Streams the log at `path` and its rotated files as one history, oldest
/// first (see [`super::rotate::open_all`]); `NotFound` when none exists.
/// Each file's lines are numbered from 1 in its own [`BadLine`]s.
pub fn read_all(
    path: &Path,
) -> io::Result<impl Iterator<Item = Result<serde_json::Value, BadLine>>> {
    let files = super::rotate::open_all(path)?;
    Ok(files
        .into_iter()
        .flat_map(|(_, file)| EventReader::from_file(file)))
}

impl EventReader {
    /// Streams an open log from its current position (its start when
    /// just opened).
    pub fn from_file(file: File) -> EventReader {
        EventReader {
            reader: BufReader::with_capacity(64 * 1024, file),
            line: 0,
            buf: Vec::new(),
            done: false,
        }
    }
}

impl Iterator for EventReader {
    type Item = Result<serde_json::Value, BadLine>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            self.buf.clear();
            match self.reader.read_until(b'\n', &mut self.buf) {
                Ok(0) => return None,
                Ok(_) => {}
                Err(e) => {
                    self.done = true;
                    let error = format!("cannot read: {}", super::file::describe(&e));
                    return Some(Err(BadLine {
                        line: self.line + 1,
                        error,
                    }));
                }
            }
            self.line += 1;
            if self.buf.last() != Some(&b'\n') {
                self.done = true;
                let error = "incomplete last line (no newline at the end)".to_string();
                return Some(Err(BadLine {
                    line: self.line,
                    error,
                }));
            }
            let text = self.buf.trim_ascii();
            if text.is_empty() {
                continue;
            }
            return Some(serde_json::from_slice(text).map_err(|e| BadLine {
                line: self.line,
                error: e.to_string(),
            }));
        }
        None
    }
}
