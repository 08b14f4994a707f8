//! Webhook deliveries that failed, kept for the next run to retry
//! (docs/reference/behaviour.md, "Webhooks after the record"): `<state-dir>/webhooks.pending.json`.
//! A run writes everything it owes here before it starts delivering, so a
//! run killed mid-delivery loses nothing (delivery is at least once).
//!
//! **Guarantees.** Replaced atomically; at most [`MAX_PENDING`] deliveries
//! are kept (the oldest are dropped first, and the count dropped is
//! returned so it can be reported). A missing or unreadable file is an
//! empty outbox: a lost retry never stops a run.
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
    read_limited(&super::Layout::of(dir).outbox(), 64 << 20)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
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
