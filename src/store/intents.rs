//! The intent journal, `<state-dir>/intents.jsonl` (docs/reference/behaviour.md,
//! "Record before act"): one line per action, appended and made durable before the action
//! runs.
//!
//! **Guarantees.** [`record`] returns only after the line is on disk
//! (`fdatasync`, and an `fsync` of the folder when it created the file); an
//! error means the action must not run. The file is opened without following
//! a symlink and must be a regular file. [`clear`] removes the journal once a
//! checkpoint that counts every line in it is durable. [`load`] never fails a
//! run: a torn or unparsable line (a crash mid-append) is skipped.
//!
//! **Assumptions.** The caller holds the state lock.
//!
//! **Caveats.** A line skipped as torn was never followed by its action:
//! a run writes its intent, then executes, so a line cut short was cut
//! before the action started.
use std::io::{self, Write};
use std::path::Path;

use super::file::{context, open_append, parent_of, read_limited, sync_dir};
use crate::intent::Intent;

/// A journal larger than this cannot be folded (it would take tens of
/// thousands of interrupted runs to reach it): [`load`] says so, and the
/// run refuses to act rather than forget attempts.
const MAX_BYTES: u64 = 16 << 20;

/// Appends `intent` to the journal at `path` and makes it durable.
pub fn record(path: &Path, intent: &Intent) -> io::Result<()> {
    let mut line = serde_json::to_string(intent).map_err(io::Error::other)?;
    line.push('\n');
    let created = !path.exists();
    let mut file = open_append(path, "intent journal", false)?;
    let before = file.metadata().map(|m| m.len()).unwrap_or(0);
    if let Err(e) = file
        .write_all(line.as_bytes())
        .and_then(|()| file.sync_data())
    {
        // Take a partial line back; what is left is skipped as torn anyway.
        let _ = file.set_len(before);
        return Err(context(&e, "write intent journal", path));
    }
    if created {
        sync_dir(parent_of(path)).map_err(|e| context(&e, "sync folder of", path))?;
    }
    Ok(())
}

/// Every intent in the journal at `path` (none when it is missing); a torn
/// or unparsable line is skipped. Err when the journal is there but cannot
/// be read (too large, a FIFO, a symlink, I/O): never read as empty, since
/// each line is an attempt that ran and must be counted.
pub fn load(path: &Path) -> io::Result<Vec<Intent>> {
    let bytes = match read_limited(path, MAX_BYTES) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(vec![]),
        Err(e) => return Err(context(&e, "read intent journal", path)),
    };
    Ok(String::from_utf8_lossy(&bytes)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect())
}

/// What to tell a person when the journal cannot be folded.
pub const UNREADABLE_HINT: &str = "each line of the intent journal is an action that ran and must be counted; nothing is executed until it can be read: move it aside (its lines are JSON) and run `supervisorctl reset SERVICE` for the services it names, or fix what keeps it from being read";

/// Removes the journal (fine if it is missing) and makes the removal durable.
pub fn clear(path: &Path) -> io::Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => sync_dir(parent_of(path)).map_err(|e| context(&e, "sync folder of", path)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(context(&e, "remove intent journal", path)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn intent(seq: u64) -> Intent {
        Intent {
            run_seq: seq,
            at: "2026-01-01T00:00:00Z".parse().unwrap(),
            node: "n".into(),
            service: "s".into(),
            action: crate::intent::Step::Restart,
            attempt: 1,
            pid: None,
        }
    }

    #[test]
    fn records_loads_and_clears() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("intents.jsonl");
        assert!(load(&path).unwrap().is_empty());
        record(&path, &intent(1)).unwrap();
        record(&path, &intent(2)).unwrap();
        assert_eq!(load(&path).unwrap(), vec![intent(1), intent(2)]);
        clear(&path).unwrap();
        assert!(!path.exists());
        clear(&path).unwrap();
    }

    #[test]
    fn a_torn_line_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("intents.jsonl");
        record(&path, &intent(1)).unwrap();
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        f.write_all(b"{\"run_seq\":2,\"at\"").unwrap();
        assert_eq!(load(&path).unwrap(), vec![intent(1)]);
    }

    /// Issue: a journal over 4 MiB was read as empty, which let 10 runs
    /// execute 11 restarts against `max_restart_attempts: 3`.
    #[test]
    fn a_journal_too_large_to_read_is_an_error_not_empty() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("intents.jsonl");
        record(&path, &intent(1)).unwrap();
        let f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        f.set_len(MAX_BYTES + 1).unwrap();
        let e = load(&path).unwrap_err();
        assert!(e.to_string().contains("intent journal"), "{e}");
    }

    #[test]
    fn a_symlink_or_fifo_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("elsewhere");
        let link = dir.path().join("intents.jsonl");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert!(record(&link, &intent(1)).is_err());
        assert!(!target.exists());
        let fifo = dir.path().join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        assert!(record(&fifo, &intent(1)).is_err());
    }
}
