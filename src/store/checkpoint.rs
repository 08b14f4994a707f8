//! Loading and saving the checkpoint, generically: the checkpoint's type
//! belongs to the core; this file only knows how to keep a JSON value safe
//! on disk (docs/reference/state-dir.md).
//!
//! **Guarantees.** [`save`] replaces the file atomically and durably (see
//! [`super::atomic`]). [`load`] never panics and never follows a symlink;
//! it tells a missing checkpoint (first run) from one that exists but
//! cannot be used, so the caller can [`set_aside`] the latter and start
//! from empty state without destroying evidence: the unusable file is
//! renamed, never overwritten or deleted.
//!
//! **Assumptions.** The caller holds the state lock, so no one else writes
//! the checkpoint meanwhile. Checkpoints stay well under 64 MiB.
//!
//! **Caveats.** Every failure other than "missing" is `Unreadable`,
//! including a permission error that a person could fix; the caller decides
//! whether to set such a file aside. On a file system without
//! `RENAME_NOREPLACE`, [`set_aside`] checks for a free name and renames in
//! two steps, which races with a concurrent writer of the same name.
use std::io;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{renameat2, RenameFlags, AT_FDCWD};

use super::atomic::write_atomic;
use super::file::{context, describe, parent_of, read_limited, sync_dir};

/// The largest checkpoint read.
pub const CHECKPOINT_LIMIT: u64 = 64 * 1024 * 1024;

/// What [`load`] found.
#[derive(Debug)]
pub enum Loaded<T> {
    /// No file: a first run.
    Missing,
    Ready(T),
    /// The file exists but cannot be used (unreadable, a symlink, too
    /// large, not JSON, or not the expected shape).
    Unreadable {
        error: String,
    },
}

/// Reads and parses the JSON file at `path`.
pub fn load<T: serde::de::DeserializeOwned>(path: &Path) -> Loaded<T> {
    let bytes = match read_limited(path, CHECKPOINT_LIMIT) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Loaded::Missing,
        Err(e) => {
            return Loaded::Unreadable {
                error: describe(&e),
            }
        }
    };
    match serde_json::from_slice(&bytes) {
        Ok(value) => Loaded::Ready(value),
        Err(e) => Loaded::Unreadable {
            error: format!("invalid checkpoint: {e}"),
        },
    }
}

/// Renames `path` to `<path>.corrupt-<stamp>`, or `…-<stamp>-1`, `-2` …
/// when that name is taken. Returns the new path.
pub fn set_aside(path: &Path, stamp: &str) -> io::Result<PathBuf> {
    for n in 0u32..1000 {
        let mut name = path.as_os_str().to_owned();
        name.push(format!(".corrupt-{stamp}"));
        if n > 0 {
            name.push(format!("-{n}"));
        }
        let target = PathBuf::from(name);
        match rename_noreplace(path, &target) {
            Ok(()) => {
                let dir = parent_of(path);
                sync_dir(dir).map_err(|e| context(&e, "sync folder", dir))?;
                return Ok(target);
            }
            // Taken: the next name.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(context(&e, "set aside", path)),
        }
    }
    let e = io::Error::new(
        io::ErrorKind::AlreadyExists,
        "every `.corrupt-` name is taken",
    );
    Err(context(&e, "set aside", path))
}

/// `rename` that fails with `AlreadyExists` rather than replace `to`.
fn rename_noreplace(from: &Path, to: &Path) -> io::Result<()> {
    match renameat2(AT_FDCWD, from, AT_FDCWD, to, RenameFlags::RENAME_NOREPLACE) {
        Ok(()) => Ok(()),
        Err(Errno::EINVAL | Errno::ENOSYS | Errno::EOPNOTSUPP) => {
            if std::fs::symlink_metadata(to).is_ok() {
                return Err(io::ErrorKind::AlreadyExists.into());
            }
            std::fs::rename(from, to)
        }
        Err(e) => Err(io::Error::from(e)),
    }
}

/// Writes `value` as pretty JSON with a trailing newline, atomically.
pub fn save<T: serde::Serialize>(path: &Path, value: &T) -> io::Result<()> {
    write_atomic(path, &to_pretty_json(value)?)
}

/// Pretty JSON with a trailing newline.
pub(crate) fn to_pretty_json<T: serde::Serialize>(value: &T) -> io::Result<Vec<u8>> {
    let text = serde_json::to_string_pretty(value).map_err(io::Error::other)?;
    let mut bytes = crate::text::json_escape_c1(&text).into_owned().into_bytes();
    bytes.push(b'\n');
    Ok(bytes)
}
