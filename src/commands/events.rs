//! `events`: the event log, filtered by type, node, service and time, like
//! `tail`: `-n N` keeps the last N matching events, `--follow` keeps
//! printing new ones (from the end of the log, unless `-n` or `--since`
//! asks for history first). Lines are printed as they are stored, so the
//! output pipes into jq; only DEL and C1 characters, which JSON lets stand
//! raw in a string, are printed as `\u` escapes (the same JSON value, safe
//! on a terminal). The rotated files (`events.jsonl.N` … `.1`) are read
//! first, oldest first; `--follow` reopens `events.jsonl` when a run
//! rotates the file it was reading.
use crate::exit::Exit;
use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::Duration;

use anyhow::Result;
use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::events::EventKind;
use crate::store::rotate;

pub struct Filter {
    /// Any of these types; empty: every type.
    pub types: Vec<EventKind>,
    pub node: Option<String>,
    pub service: Option<String>,
    /// Only events whose `ts` is at or after this.
    pub since: Option<DateTime<Utc>>,
    /// Only events whose `ts` is at or before this.
    pub until: Option<DateTime<Utc>>,
}

impl Filter {
    pub fn matches(&self, v: &Value) -> bool {
        let field = |k: &str| v.get(k).and_then(Value::as_str);
        let ts = || field("ts").and_then(|t| t.parse::<DateTime<Utc>>().ok());
        (self.types.is_empty() || self.types.iter().any(|t| field("type") == Some(t.as_str())))
            && self
                .node
                .as_deref()
                .is_none_or(|n| field("node") == Some(n))
            && self
                .service
                .as_deref()
                .is_none_or(|s| field("service") == Some(s))
            && self.since.is_none_or(|s| ts().is_some_and(|t| t >= s))
            && self.until.is_none_or(|u| ts().is_some_and(|t| t <= u))
    }
}

/// One whole line of the log, or the end of what is written so far.
enum Next {
    Line(Vec<u8>),
    End,
}

/// Reads one file of the log line by line from a byte offset; a torn last
/// line (a run killed mid-append, or one still being written) is not handed
/// out until it is whole, and reading resumes at its start.
struct Log {
    reader: BufReader<File>,
    pos: u64,
    /// The file's identity (device, inode): a rotation renames it away.
    id: (u64, u64),
    /// Its first bytes as read: a file truncated and written again past
    /// the old offset between two looks starts with other bytes.
    head: Vec<u8>,
}

/// How many first bytes of the log are compared to tell a truncation.
const HEAD: usize = 128;

impl Log {
    fn new(file: File) -> Result<Log> {
        let m = file.metadata()?;
        let head = head_of(&file);
        Ok(Log {
            reader: BufReader::new(file),
            pos: 0,
            id: (m.dev(), m.ino()),
            head,
        })
    }

    /// Truncated in place (`copytruncate`, `> events.jsonl`): shorter than
    /// what was read, or starting with other bytes than it did (written
    /// again past the old offset meanwhile). Reading then starts again from
    /// its start.
    fn restart_if_truncated(&mut self) -> Result<bool> {
        let len = self.reader.get_ref().metadata()?.len();
        let now = head_of(self.reader.get_ref());
        let same_start = now.len() >= self.head.len() && now[..self.head.len()] == self.head[..];
        if len >= self.pos && same_start {
            if self.head.len() < HEAD {
                self.head = now;
            }
            return Ok(false);
        }
        self.head = now;
        self.pos = 0;
        self.reader.seek(SeekFrom::Start(0))?;
        Ok(true)
    }

    fn next(&mut self) -> Result<Next> {
        // Bytes, not a String: a torn line may end inside a UTF-8 character.
        let mut line = Vec::new();
        let n = self.reader.read_until(b'\n', &mut line)?;
        if n == 0 || line.last() != Some(&b'\n') {
            self.reader.seek(SeekFrom::Start(self.pos))?;
            return Ok(Next::End);
        }
        self.pos += n as u64;
        Ok(Next::Line(line))
    }
}

/// The first [`HEAD`] bytes of `file` (fewer when it is shorter).
fn head_of(file: &File) -> Vec<u8> {
    use std::os::unix::fs::FileExt;
    let mut buf = vec![0u8; HEAD];
    let n = file.read_at(&mut buf, 0).unwrap_or(0);
    buf.truncate(n);
    buf
}

/// The line as printed when it is a matching event; None otherwise. A
/// line that is not a JSON object is skipped too, and counted in `skipped`.
fn shown(line: &[u8], filter: &Filter, skipped: &mut usize) -> Option<String> {
    let Some(v) = serde_json::from_slice::<Value>(line)
        .ok()
        .filter(Value::is_object)
    else {
        *skipped += 1;
        return None;
    };
    if !filter.matches(&v) {
        return None;
    }
    // It parsed, so it is UTF-8; DEL and C1 become `\u` escapes.
    let text = String::from_utf8_lossy(line);
    Some(crate::text::json_escape_c1(&text).into_owned())
}

/// Prints the matching events: all of them, or the last `last`, reading the
/// rotated files first (`events.jsonl.N` … `.1`, then the log); then, with
/// `follow`, every new one as it is appended. Without `last` and `since`,
/// `follow` skips the history and starts at the end of the log.
pub fn run(path: &Path, filter: &Filter, last: Option<usize>, follow: bool) -> Result<Exit> {
    let history = !follow || last.is_some() || filter.since.is_some();
    // Not through a symlink, never blocking on a FIFO, regular files only.
    let files = if history {
        rotate::open_all(path)
    } else {
        rotate::open_all(path).map(|mut all| all.split_off(all.len() - 1))
    };
    let files = match files {
        Ok(files) => files,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !follow => return Ok(Exit::Ok),
        // The error names the file.
        Err(e) => return Err(e.into()),
    };
    let mut kept: VecDeque<String> = VecDeque::new();
    let mut skipped = 0;
    // The current log, once read to its end: what `follow` goes on with.
    let mut current: Option<Log> = None;
    for (name, file) in files {
        let mut log = Log::new(file)?;
        while let Next::Line(line) = log.next()? {
            if !history {
                continue;
            }
            let Some(text) = shown(&line, filter, &mut skipped) else {
                continue;
            };
            match last {
                Some(0) => {}
                Some(n) => {
                    if kept.len() == n {
                        kept.pop_front();
                    }
                    kept.push_back(text);
                }
                // No limit: print as we go, so a long log streams.
                None => {
                    if !super::stdout::write(&text)? {
                        return Ok(Exit::Ok); // the reader has gone (`| head`)
                    }
                }
            }
        }
        current = (name == path).then_some(log);
    }
    for text in &kept {
        if !super::stdout::write(text)? {
            return Ok(Exit::Ok);
        }
    }
    warn_skipped(skipped);
    if !follow {
        return Ok(Exit::Ok);
    }
    loop {
        let next = match current.as_mut() {
            // Checked before every read while following: a log truncated
            // and written again is never read from the middle of its new
            // lines.
            Some(log) => {
                log.restart_if_truncated()?;
                log.next()?
            }
            None => Next::End,
        };
        match next {
            Next::Line(line) => {
                if let Some(text) = shown(&line, filter, &mut 0) {
                    if !super::stdout::write(&text)? {
                        return Ok(Exit::Ok);
                    }
                }
            }
            Next::End => {
                if let Some(log) = current.as_mut() {
                    if log.restart_if_truncated()? {
                        continue;
                    }
                }
                if let Some(log) = reopened(path, current.as_ref())? {
                    // Rotated away: finish what the old file still holds
                    // (lines appended before the rename), then go on.
                    if let Some(old) = current.as_mut() {
                        while let Next::Line(line) = old.next()? {
                            if let Some(text) = shown(&line, filter, &mut 0) {
                                if !super::stdout::write(&text)? {
                                    return Ok(Exit::Ok);
                                }
                            }
                        }
                    }
                    current = Some(log);
                    continue;
                }
                std::thread::sleep(Duration::from_millis(300));
                // Before reading what came meanwhile: a log truncated and
                // written again is read from its start, not from the old
                // offset in the middle of the new lines.
                if let Some(log) = current.as_mut() {
                    log.restart_if_truncated()?;
                }
            }
        }
    }
}

/// Says on stderr how many lines of the log were not JSON objects (a
/// torn or foreign line): skipped, not silently.
pub fn warn_skipped(skipped: usize) {
    if skipped > 0 {
        eprintln!(
            "warning: {} of the event log skipped: not a JSON object (torn, or written by something else); `supervisorctl report` names the first few",
            crate::fmt::count(skipped as u64, "line", "lines")
        );
    }
}

/// The log at `path` when it is a file other than the one being followed
/// (a rotation renamed that one away); None while it is the same or absent.
fn reopened(path: &Path, following: Option<&Log>) -> Result<Option<Log>> {
    let id = match std::fs::symlink_metadata(path) {
        Ok(m) => (m.dev(), m.ino()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    if following.is_some_and(|log| log.id == id) {
        return Ok(None);
    }
    match rotate::open_all(path)?.pop() {
        Some((name, file)) if name == path => Ok(Some(Log::new(file)?)),
        _ => Ok(None),
    }
}
