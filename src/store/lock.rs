//! One run at a time per state directory: an exclusive `flock` on
//! `<state-dir>/lock`.
//!
//! Guarantees: the kernel releases the lock when the holder exits or is
//! killed, so a crashed run never blocks the next one; the lock file is never
//! opened through a symlink. The holder's pid is written into the file so
//! the message can name it. Caveats: `flock` is advisory; only supervisorctl
//! processes honour it.
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub struct StateLock {
    _file: File,
}

#[derive(Debug)]
pub enum LockError {
    Held { path: PathBuf, holder: Option<u32> },
    Io { path: PathBuf, error: std::io::Error },
}

impl std::fmt::Display for LockError {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        match self {
            LockError::Held { path, holder: Some(pid) } => write!(f, "another supervisorctl run (pid {pid}) holds `{}`", path.display()),
            LockError::Held { path, holder: None } => write!(f, "another supervisorctl run holds `{}`", path.display()),
            LockError::Io { path, error } => write!(f, "cannot open lock `{}`: {error}", path.display()),
        }
    }
}

impl std::error::Error for LockError {}

pub fn acquire(dir: &Path, wait: Option<Duration>) -> Result<StateLock, LockError> {
    let path = dir.join("lock");
    let io = |error| LockError::Io { path: path.clone(), error };
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_CLOEXEC)
        .open(&path)
        .map_err(io)?;
    let deadline = wait.map(|w| Instant::now() + w);
    loop {
        match file.try_lock() {
            Ok(()) => break,
            Err(std::fs::TryLockError::WouldBlock) => {
                if deadline.is_some_and(|d| Instant::now() < d) {
                    std::thread::sleep(Duration::from_millis(50));
                    continue;
                }
                let mut text = String::new();
                let _ = file.read_to_string(&mut text);
                return Err(LockError::Held { path, holder: text.trim().parse().ok() });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
        }
    }
    file.set_len(0).map_err(io)?;
    file.seek(SeekFrom::Start(0)).map_err(io)?;
    let _ = writeln!(file, "{}", std::process::id());
    Ok(StateLock { _file: file })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_holder_fails_fast_then_waits_for_release() {
        let t = tempfile::tempdir().unwrap();
        let first = acquire(t.path(), None).unwrap();
        let start = Instant::now();
        let err = acquire(t.path(), None).err().unwrap();
        assert!(start.elapsed() < Duration::from_secs(1));
        assert!(err.to_string().contains(&format!("pid {}", std::process::id())), "{err}");
        let releaser = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            drop(first);
        });
        assert!(acquire(t.path(), Some(Duration::from_secs(5))).is_ok());
        releaser.join().unwrap();
    }

    #[test]
    fn a_symlinked_lock_is_refused() {
        let t = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(t.path().join("elsewhere"), t.path().join("lock")).unwrap();
        assert!(matches!(acquire(t.path(), None), Err(LockError::Io { .. })));
        assert!(!t.path().join("elsewhere").exists());
    }
}
