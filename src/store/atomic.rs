//! Replacing a file so that a reader, or the next run after a crash, sees
//! either the old content or the new, never a mix (docs/reference/state-dir.md, checkpoint).
//!
//! **Guarantees.** After [`write_atomic`] returns `Ok`, `path` holds exactly
//! `bytes`, durably: the data is fsynced before the rename and the folder is
//! fsynced after it. On any error the old file is untouched and the
//! temporary file is removed. The temporary file is created with
//! `O_CREAT|O_EXCL|O_NOFOLLOW`, so a symlink (or any file) planted at its
//! name is never written through; another name is tried instead.
//!
//! **Assumptions.** `path` and its temporary sibling are on one file system
//! (they share a folder), which makes `rename(2)` atomic. The caller
//! serializes writers of one path (the state lock does this for the state
//! directory); two concurrent writers each leave a whole file, the last
//! rename wins.
//!
//! **Caveats.** If the process dies between creating and renaming, a hidden
//! `.<name>.<pid>.<n>.tmp` stays behind; it is never read (world and state
//! readers only take their own names); the next run sweeps such leftovers
//! under the lock (`sweep_leftovers`). A symlink
//! at `path` itself is replaced by the new file, not followed.
use std::fs::OpenOptions;
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use nix::libc;

use super::file::{context, parent_of, sync_dir};

/// Names tried for the temporary file before giving up.
const TRIES: u64 = 64;

static NEXT: AtomicU64 = AtomicU64::new(0);

/// Replaces `path` with `bytes` atomically and durably; new files get mode
/// 0600.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_atomic_mode(path, bytes, 0o600)
}

/// [`write_atomic`] with another mode, set exactly (`fchmod`: the umask
/// does not narrow it; the shipped unit runs with `UMask=0077`), for a file
/// that other users must read, such as a metrics file or `fallbacks.json`.
pub fn write_atomic_mode(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let pid = std::process::id();
    let names =
        (0..TRIES).filter_map(|_| temp_path(path, pid, NEXT.fetch_add(1, Ordering::Relaxed)));
    write_with_names(path, bytes, mode, names)
}

/// `.<name>.<pid>.<n>.tmp` next to `path`.
pub(crate) fn temp_path(path: &Path, pid: u32, n: u64) -> Option<PathBuf> {
    let name = path.file_name()?.to_str()?;
    Some(parent_of(path).join(format!(".{name}.{pid}.{n}.tmp")))
}

/// The write itself, trying the temporary `names` in turn.
pub(crate) fn write_with_names(
    path: &Path,
    bytes: &[u8],
    mode: u32,
    names: impl IntoIterator<Item = PathBuf>,
) -> io::Result<()> {
    if path.file_name().and_then(|n| n.to_str()).is_none() {
        let e = io::Error::new(io::ErrorKind::InvalidInput, "not a file name");
        return Err(context(&e, "write", path));
    }
    for tmp in names {
        let created = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&tmp);
        let mut file = match created {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(context(&e, "create", &tmp)),
        };
        let written = file
            .set_permissions(std::os::unix::fs::PermissionsExt::from_mode(mode))
            .and_then(|()| file.write_all(bytes))
            .and_then(|()| file.sync_all())
            .map_err(|e| context(&e, "write", &tmp))
            .and_then(|()| std::fs::rename(&tmp, path).map_err(|e| context(&e, "replace", path)));
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
        let dir = parent_of(path);
        return sync_dir(dir).map_err(|e| context(&e, "sync folder", dir));
    }
    let e = io::Error::new(
        io::ErrorKind::AlreadyExists,
        "every temporary name is taken",
    );
    Err(context(&e, "write", path))
}

/// Removes temporary files (`.<name>.<pid>.<n>.tmp`) that a run killed
/// between create and rename left in `dir`. Call only while holding the
/// state lock: then no other run is writing one. Returns how many went.
pub fn sweep_leftovers(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .filter(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name.starts_with('.')
                && name.ends_with(".tmp")
                && e.file_type().is_ok_and(|t| t.is_file())
        })
        .filter(|e| std::fs::remove_file(e.path()).is_ok())
        .count()
}

#[cfg(test)]
mod sweep_tests {
    #[test]
    fn sweeps_only_leftover_temporary_files() {
        let t = tempfile::tempdir().unwrap();
        for name in [
            ".checkpoint.json.123.0.tmp",
            "checkpoint.json",
            "events.jsonl",
            "notes.tmp",
        ] {
            std::fs::write(t.path().join(name), b"x").unwrap();
        }
        assert_eq!(super::sweep_leftovers(t.path()), 1);
        let mut left: Vec<_> = std::fs::read_dir(t.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(left, ["checkpoint.json", "events.jsonl", "notes.tmp"]);
    }
}
