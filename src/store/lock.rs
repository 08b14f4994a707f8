//! One run at a time per state directory: the `lock` file (SPEC §7, exit
//! code 1 "lock held").
//!
//! **Guarantees.** While a [`StateLock`] lives, no other [`acquire`] on the
//! same directory succeeds, in this process or another. The lock is
//! released when the `StateLock` is dropped, and by the kernel when the
//! process dies however it dies, so a crash never leaves a stale lock. The
//! lock file holds the holder's pid, for the message a blocked run prints.
//!
//! **Assumptions.** The state directory is on a local file system where
//! `flock(2)` works (it does not on some network file systems).
//!
//! **Caveats.** The pid in the file is informational: it may be briefly
//! empty while a new holder writes it, and is then reported as unknown.
//! A child process that inherits the descriptor would keep the lock; the
//! file is opened close-on-exec, so spawned services do not.
use std::fmt;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::libc;

use super::file::describe;

/// How often a waiting [`acquire`] tries again.
const POLL: Duration = Duration::from_millis(50);

/// The held lock of a state directory; dropping it releases the lock.
#[derive(Debug)]
pub struct StateLock {
    _file: File,
    path: PathBuf,
}

impl StateLock {
    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[derive(Debug)]
pub enum LockError {
    /// Another run holds the lock.
    Held { path: PathBuf, holder: Option<u32> },
    /// The lock file could not be opened (a symlink, no permission, …).
    Io { path: PathBuf, error: io::Error },
}

impl fmt::Display for LockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LockError::Held { path, holder } => {
                let who = holder.map_or(String::new(), |pid| format!(" (pid {pid})"));
                write!(
                    f,
                    "another supervisorctl run{who} holds `{}`",
                    path.display()
                )
            }
            LockError::Io { path, error } => {
                write!(
                    f,
                    "cannot open lock file `{}`: {}",
                    path.display(),
                    describe(error)
                )
            }
        }
    }
}

impl std::error::Error for LockError {}

impl LockError {
    /// A line to print after the error, for people. Only a lock held by
    /// another run is worth waiting for; a lock file that cannot be opened
    /// needs a state directory this run can write.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            LockError::Held { .. } => {
                Some("hint: wait for it to finish; the lock is released when that process exits")
            }
            LockError::Io { error, .. } => match error.raw_os_error() {
                Some(libc::EROFS) => Some(
                    "hint: the state directory is on a read-only file system: make it writable, or pass `--state-dir DIR` on a writable one",
                ),
                Some(libc::EACCES | libc::EPERM) => Some(
                    "hint: make the state directory writable by this user, or pass `--state-dir DIR`",
                ),
                Some(libc::ELOOP) => Some(
                    "hint: remove the symbolic link; the lock file must be a regular file in the state directory",
                ),
                _ => None,
            },
        }
    }
}

/// Takes the lock of the state directory `dir` (file `<dir>/lock`). With
/// `wait`, tries every 50 ms until that much time has passed.
pub fn acquire(dir: &Path, wait: Option<Duration>) -> Result<StateLock, LockError> {
    let path = dir.join("lock");
    let io_error = |error| LockError::Io {
        path: path.clone(),
        error,
    };
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(&path)
        .map_err(io_error)?;
    if !file.metadata().map_err(io_error)?.is_file() {
        return Err(io_error(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file",
        )));
    }
    let deadline = wait.map(|w| Instant::now() + w);
    loop {
        match file.try_lock() {
            Ok(()) => break,
            Err(TryLockError::WouldBlock) => {
                let now = Instant::now();
                match deadline {
                    Some(deadline) if now < deadline => {
                        std::thread::sleep(POLL.min(deadline - now))
                    }
                    _ => {
                        return Err(LockError::Held {
                            holder: holder(&mut file),
                            path,
                        })
                    }
                }
            }
            Err(TryLockError::Error(error)) => return Err(io_error(error)),
        }
    }
    let pid = format!("{}\n", std::process::id());
    file.set_len(0)
        .and_then(|()| file.seek(SeekFrom::Start(0)))
        .and_then(|_| file.write_all(pid.as_bytes()))
        .map_err(io_error)?;
    Ok(StateLock { _file: file, path })
}

/// The pid the current holder wrote, if it is there yet.
fn holder(file: &mut File) -> Option<u32> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    file.take(32).read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn io(errno: i32) -> LockError {
        LockError::Io {
            path: PathBuf::from("/var/lib/supervisorctl/lock"),
            error: io::Error::from_raw_os_error(errno),
        }
    }

    #[test]
    fn only_a_held_lock_is_told_to_wait() {
        let held = LockError::Held {
            path: PathBuf::from("/x/lock"),
            holder: None,
        };
        assert!(held.hint().is_some_and(|h| h.contains("wait")));
        for errno in [libc::EROFS, libc::EACCES, libc::EPERM] {
            let hint = io(errno).hint().expect("a hint");
            assert!(!hint.contains("wait"), "{hint}");
            assert!(hint.contains("--state-dir"), "{hint}");
        }
        let hint = io(libc::EROFS).hint().unwrap();
        assert!(hint.contains("writable"), "{hint}");
        assert!(io(libc::EISDIR).hint().is_none_or(|h| !h.contains("wait")));
    }
}
