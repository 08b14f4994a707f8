//! The event log: JSON lines, appended, never rewritten.
//!
//! Guarantees: a run's lines are built in memory and appended with one
//! `write_all` on an `O_APPEND` descriptor (regular files take it in one
//! `write`), then `fdatasync`ed; the file is never opened through a symlink.
//! Readers skip a torn last line (no trailing newline), which only a crash in
//! the middle of an append can leave.
use std::fs::OpenOptions;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

pub fn append(path: &Path, buf: &[u8]) -> io::Result<()> {
    let mut f = OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_CLOEXEC)
        .open(path)?;
    f.write_all(buf)?;
    f.sync_data()
}

/// The `seq` of the last complete line. Reads only the tail (the last line
/// of a run is the small `run_finished`); looks further back, up to 16 MiB,
/// only if the tail holds no usable line.
pub fn last_seq(path: &Path) -> io::Result<Option<u64>> {
    let mut f = match super::open_nofollow(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let len = f.metadata()?.len();
    for window in [64u64 << 10, 16 << 20] {
        let start = len.saturating_sub(window);
        let mut buf = Vec::with_capacity((len - start) as usize);
        f.seek(SeekFrom::Start(start))?;
        (&mut f).take(len - start).read_to_end(&mut buf)?;
        // Only newline-terminated lines are whole; the first is whole only at offset 0.
        let Some(end) = buf.iter().rposition(|b| *b == b'\n') else { continue };
        let mut lines: Vec<&[u8]> = buf[..end].split(|b| *b == b'\n').collect();
        if start > 0 {
            lines.remove(0);
        }
        for line in lines.iter().rev() {
            if let Some(seq) = serde_json::from_slice::<serde_json::Value>(line).ok().and_then(|v| v.get("seq").and_then(serde_json::Value::as_u64)) {
                return Ok(Some(seq));
            }
        }
        if start == 0 {
            break;
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_from_many_threads_stay_whole_lines() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("events.jsonl");
        std::thread::scope(|s| {
            for th in 0..8 {
                let p = &p;
                s.spawn(move || {
                    for i in 0..200 {
                        let line = format!("{{\"seq\":{},\"pad\":\"{}\"}}\n", th * 1000 + i, "x".repeat(300));
                        append(p, line.as_bytes()).unwrap();
                    }
                });
            }
        });
        let text = std::fs::read_to_string(&p).unwrap();
        assert_eq!(text.lines().count(), 1600);
        assert!(text.lines().all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok()));
    }

    #[test]
    fn last_seq_reads_the_tail_and_skips_a_torn_line() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("events.jsonl");
        assert_eq!(last_seq(&p).unwrap(), None);
        let mut body = String::new();
        for i in 1..=5000 {
            body.push_str(&format!("{{\"seq\":{i},\"pad\":\"{}\"}}\n", "y".repeat(100)));
        }
        std::fs::write(&p, &body).unwrap();
        assert_eq!(last_seq(&p).unwrap(), Some(5000));
        append(&p, b"{\"seq\":5001,\"torn").unwrap();
        assert_eq!(last_seq(&p).unwrap(), Some(5000));
    }

    #[test]
    fn refuses_a_symlinked_log() {
        let t = tempfile::tempdir().unwrap();
        let real = t.path().join("elsewhere");
        std::fs::write(&real, b"").unwrap();
        let p = t.path().join("events.jsonl");
        std::os::unix::fs::symlink(&real, &p).unwrap();
        assert!(append(&p, b"{}\n").is_err());
        assert_eq!(std::fs::read(&real).unwrap(), b"");
    }
}
