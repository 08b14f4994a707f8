//! A spawned service's log as its monitor writes it: each line of the
//! service's output prefixed with the time it was read (RFC 3339, UTC,
//! milliseconds), marker lines of the monitor's own, and rotation by size
//! (`logs.max_size`, `logs.keep` rotated files: `web.log.1` …).
//!
//! ```text
//! 2026-12-07T06:50:01.120Z [supervisorctl] started pid 4242: python3 -m http.server 8080
//! 2026-12-07T06:50:01.388Z Serving HTTP on 0.0.0.0 port 8080 ...
//! 2026-12-07T06:50:05.310Z [supervisorctl] pid 4242 exited with status 3 after 4s
//! ```
//!
//! A line longer than [`MAX_LINE`] is cut into pieces of that size, each
//! with its own time; output with no newline yet waits for the rest of its
//! line (or for the service to exit). Write errors (a full disk) drop the
//! line and are never fatal: the service's output is still drained, so it
//! never blocks on a full pipe.
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use chrono::{DateTime, SecondsFormat, Utc};

/// The longest line kept whole; longer ones are cut.
pub const MAX_LINE: usize = 16 * 1024;
/// The marker that starts a line of the monitor's own.
pub const MARKER: &str = "[supervisorctl]";
/// Mode of a new log file.
const LOG_MODE: u32 = 0o640;

/// Size limit and rotated files kept (`logs: {max_size, keep}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Limits {
    pub max_size: u64,
    pub keep: u32,
}

impl Default for Limits {
    /// 16 MiB, 3 rotated files.
    fn default() -> Self {
        Limits {
            max_size: 16 * 1024 * 1024,
            keep: 3,
        }
    }
}

/// The log being written, with its size so far.
pub struct LogFile {
    path: PathBuf,
    file: Option<File>,
    size: u64,
    limits: Limits,
    owner: Option<(u32, u32)>,
    /// Output read but not yet ended by a newline.
    pending: Vec<u8>,
}

impl LogFile {
    /// Opens `path` for appending (created 0640, a symlink refused), owned
    /// by `owner` (uid, gid) when given.
    pub fn open(path: &Path, limits: Limits, owner: Option<(u32, u32)>) -> io::Result<LogFile> {
        let file = open_append(path, owner)?;
        let size = file.metadata()?.len();
        Ok(LogFile {
            path: path.to_path_buf(),
            file: Some(file),
            size,
            limits,
            owner,
            pending: Vec::new(),
        })
    }

    /// Writes a line of the monitor's own: `<time> [supervisorctl] <text>`.
    pub fn marker(&mut self, now: DateTime<Utc>, text: &str) {
        let line = format!("{MARKER} {text}");
        self.write_line(now, line.as_bytes());
    }

    /// Takes a chunk of the service's output: every complete line is
    /// written with `now` as its time; the rest waits.
    pub fn output(&mut self, now: DateTime<Utc>, chunk: &[u8]) {
        self.pending.extend_from_slice(chunk);
        let mut start = 0;
        while let Some(nl) = self.pending[start..].iter().position(|&b| b == b'\n') {
            let end = start + nl;
            let line = self.pending[start..end].to_vec();
            self.write_line(now, &line);
            start = end + 1;
        }
        self.pending.drain(..start);
        while self.pending.len() >= MAX_LINE {
            let piece: Vec<u8> = self.pending.drain(..MAX_LINE).collect();
            self.write_line(now, &piece);
        }
    }

    /// Writes what is left of an unfinished line (the service exited).
    pub fn flush_pending(&mut self, now: DateTime<Utc>) {
        if !self.pending.is_empty() {
            let rest = std::mem::take(&mut self.pending);
            self.write_line(now, &rest);
        }
    }

    fn write_line(&mut self, now: DateTime<Utc>, line: &[u8]) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let stamp = now.to_rfc3339_opts(SecondsFormat::Millis, true);
        if line.is_empty() {
            self.append(format!("{stamp}\n").as_bytes());
        }
        for piece in line.chunks(MAX_LINE) {
            let mut bytes = Vec::with_capacity(stamp.len() + piece.len() + 2);
            bytes.extend_from_slice(stamp.as_bytes());
            bytes.push(b' ');
            bytes.extend_from_slice(piece);
            bytes.push(b'\n');
            self.append(&bytes);
        }
    }

    /// Appends `bytes`, rotating first when they would take the file past
    /// `max_size` (a file is never left empty by it: a single line larger
    /// than the limit still goes in whole).
    fn append(&mut self, bytes: &[u8]) {
        let len = bytes.len() as u64;
        if self.limits.max_size > 0 && self.size > 0 && self.size + len > self.limits.max_size {
            self.rotate();
        }
        if let Some(file) = self.file.as_mut() {
            if file.write_all(bytes).is_ok() {
                self.size += len;
            }
        }
    }

    fn rotate(&mut self) {
        self.file = None;
        // A failed rotation keeps writing to the same file (reopened):
        // losing output is worse than a file past its limit.
        let _ = crate::store::rotate::rotate(&self.path, self.limits.keep);
        match open_append(&self.path, self.owner) {
            Ok(f) => {
                self.size = f.metadata().map_or(0, |m| m.len());
                self.file = Some(f);
            }
            Err(_) => self.size = 0,
        }
    }
}

fn open_append(path: &Path, owner: Option<(u32, u32)>) -> io::Result<File> {
    let file = OpenOptions::new()
        .append(true)
        .create(true)
        .mode(LOG_MODE)
        .custom_flags(nix::fcntl::OFlag::O_NOFOLLOW.bits() | nix::fcntl::OFlag::O_CLOEXEC.bits())
        .open(path)
        .map_err(|err| {
            io::Error::new(
                err.kind(),
                format!("cannot open log `{}`: {err}", path.display()),
            )
        })?;
    if let Some((uid, gid)) = owner {
        std::os::unix::fs::fchown(&file, Some(uid), Some(gid))?;
    }
    Ok(file)
}

#[cfg(test)]
#[path = "logfile_tests.rs"]
mod tests;
