//! Webhook deliveries that failed, kept for the next run to retry
//! (docs/reference/behaviour.md, "Webhooks after the record"): `<state-dir>/webhooks.pending.json`.
//! A run writes everything it owes here before it starts delivering, so a
//! run killed mid-delivery loses nothing (delivery is at least once).
//!
//! **Guarantees.** Replaced atomically; at most [`MAX_PENDING`] deliveries
//! are kept (the oldest are dropped first, and the count dropped is
//! returned so it can be reported). A missing file is an empty outbox; an
//! unreadable one, or an entry that cannot be read, is said on stderr and
//! not retried, and never stops a run (the other entries are retried).
//!
//! **Assumptions.** The caller holds the state lock.
use std::io;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::atomic::write_atomic;
use super::file::read_limited;

pub const MAX_PENDING: usize = 1000;

/// One delivery still owed: the event's line, to one URL.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pending {
    pub url: String,
    /// The event line as logged (no trailing newline): the body to POST.
    pub line: String,
    /// Failed attempts so far.
    pub attempts: u32,
    /// Why the last attempt failed.
    pub error: String,
    /// A `webhook_failed` event has said so already (it is said once).
    #[serde(default)]
    pub reported: bool,
}

pub fn load(dir: &Path) -> Vec<Pending> {
    let path = super::Layout::of(dir).outbox();
    let (owed, unread) = read(&path);
    match unread {
        Unread::None => {}
        Unread::File(why) => eprintln!(
            "warning: undelivered webhook events in `{}` cannot be read ({why}): they are not retried",
            path.display()
        ),
        Unread::Entries(n) => eprintln!(
            "warning: {} in `{}` cannot be read: not retried; the other {} are",
            crate::fmt::count(n as u64, "undelivered webhook event", "undelivered webhook events"),
            path.display(),
            owed.len()
        ),
    }
    owed
}

/// What of the outbox could not be read.
#[derive(Debug, PartialEq)]
enum Unread {
    None,
    /// The whole file (not a JSON list, too large, not a regular file).
    File(String),
    /// This many of its entries; the rest are read.
    Entries(usize),
}

/// The deliveries of the outbox at `path`, entry by entry: one entry that
/// cannot be read (from another version, or written by hand) does not lose
/// the others.
fn read(path: &Path) -> (Vec<Pending>, Unread) {
    let bytes = match read_limited(path, 64 << 20) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return (vec![], Unread::None),
        Err(e) => return (vec![], Unread::File(crate::text::io_error_text(&e))),
    };
    let entries: Vec<serde_json::Value> = match serde_json::from_slice(&bytes) {
        Ok(entries) => entries,
        Err(e) => return (vec![], Unread::File(e.to_string())),
    };
    let total = entries.len();
    let owed: Vec<Pending> = entries
        .into_iter()
        .filter_map(|e| serde_json::from_value(e).ok())
        .collect();
    let unread = match total - owed.len() {
        0 => Unread::None,
        n => Unread::Entries(n),
    };
    (owed, unread)
}

/// Keeps `pending` (the newest [`MAX_PENDING`]); removes the file when
/// there is nothing owed. Returns how many were dropped to stay bounded.
pub fn save(dir: &Path, mut pending: Vec<Pending>) -> io::Result<usize> {
    let path = super::Layout::of(dir).outbox();
    if pending.is_empty() {
        return match std::fs::remove_file(&path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(0),
        };
    }
    let dropped = pending.len().saturating_sub(MAX_PENDING);
    pending.drain(..dropped);
    let bytes = serde_json::to_vec(&pending).map_err(io::Error::other)?;
    write_atomic(&path, &bytes)?;
    Ok(dropped)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A walk found one entry with `"attempts": -1` losing every delivery
    /// the outbox held, without a word.
    #[test]
    fn an_entry_that_cannot_be_read_does_not_lose_the_others() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("webhooks.pending.json");
        let good = r#"{"url":"http://x/","line":"{}","attempts":1,"error":"HTTP 500"}"#;
        let bad = r#"{"url":"http://x/","line":"{}","attempts":-1,"error":""}"#;
        std::fs::write(&path, format!("[{good},{bad},{good}]")).unwrap();
        let (owed, unread) = read(&path);
        assert_eq!((owed.len(), unread), (2, Unread::Entries(1)));
        std::fs::write(&path, "not json").unwrap();
        let (owed, unread) = read(&path);
        assert!(owed.is_empty() && matches!(unread, Unread::File(_)));
        std::fs::remove_file(&path).unwrap();
        assert_eq!(read(&path), (vec![], Unread::None));
    }
}
