//! Size-based rotation of the event log (docs/reference/state-dir.md): `events.jsonl` is renamed
//! to `events.jsonl.1` once it is larger than a limit, the older files
//! shifting up (`.1` → `.2` …) and the oldest beyond `keep` deleted.
//!
//! **Design.** A run rotates just *before* it appends its lines, under the
//! state lock (one writer at a time), so the current log always ends with
//! the newest run and `seq` continues from it. Should a run rotate and then
//! fail to append, [`super::eventlog::last_seq`] falls back to the newest
//! rotated file. Every step is a `rename` (atomic), oldest first, and the
//! folder is fsynced at the end; a crash in between leaves at worst a gap
//! in the numbering, never a lost or doubled line.
//!
//! **Readers** ([`open_all`]) open the current log first and then `.1`,
//! `.2` … (each `O_NOFOLLOW`, regular files only), skip a file already
//! opened under another name (a rotation in between), and hand them back
//! oldest first: history reads in order, whatever a writer does meanwhile.
//!
//! **Caveats.** Appenders that do not hold the state lock (`check --events
//! FILE`) never rotate. Rotation is best effort: a failure is reported on
//! stderr and the run still appends to the current log.
use std::collections::HashSet;
use std::fs::File;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::file::{context, open_regular, parent_of, sync_dir};

/// The variable that sets the size limit, in bytes (`0`: never rotate).
pub const MAX_BYTES_VAR: &str = "SUPERVISORCTL_EVENTS_MAX_BYTES";
/// The variable that sets how many rotated files are kept (at least 1).
pub const KEEP_VAR: &str = "SUPERVISORCTL_EVENTS_KEEP";
/// 16 MiB.
pub const DEFAULT_MAX_BYTES: u64 = 16 * 1024 * 1024;
pub const DEFAULT_KEEP: u32 = 5;
/// No more rotated files than this are looked for or kept.
const MAX_KEEP: u32 = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// Rotate when the log is larger than this; 0: never.
    pub max_bytes: u64,
    /// Rotated files kept, 1 to 1000.
    pub keep: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            max_bytes: DEFAULT_MAX_BYTES,
            keep: DEFAULT_KEEP,
        }
    }
}

impl Settings {
    /// From the environment's variables (`var`, given by
    /// `crate::resolved`); a value that is not a number is reported in
    /// `warnings` and its default used (a run must still record itself).
    pub fn from_vars(
        var: impl Fn(&str) -> Option<std::ffi::OsString>,
        warnings: &mut Vec<String>,
    ) -> Settings {
        let mut s = Settings::default();
        if let Some(v) = read_var(&var, MAX_BYTES_VAR, warnings) {
            s.max_bytes = v;
        }
        if let Some(v) = read_var(&var, KEEP_VAR, warnings) {
            s.keep = u32::try_from(v).map_or(MAX_KEEP, |v| v.clamp(1, MAX_KEEP));
        }
        s
    }
}

fn read_var(
    var: impl Fn(&str) -> Option<std::ffi::OsString>,
    name: &str,
    warnings: &mut Vec<String>,
) -> Option<u64> {
    let raw = var(name)?;
    let text = raw.to_string_lossy();
    let Ok(v) = text.trim().parse::<u64>() else {
        warnings.push(format!(
            "ignoring ${name}: `{}` is not a whole number of bytes or files; using the default",
            crate::text::escape_control(&text)
        ));
        return None;
    };
    Some(v)
}

/// The name of rotated file `n` of the log at `path` (`events.jsonl.n`).
pub fn rotated(path: &Path, n: u32) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{n}"));
    PathBuf::from(name)
}

/// Rotates the log at `path` if it is larger than the limit; true when it
/// did. The caller holds the state lock.
pub fn rotate_if_needed(path: &Path, settings: Settings) -> io::Result<bool> {
    if settings.max_bytes == 0 {
        return Ok(false);
    }
    let len = match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_file() => m.len(),
        // Missing, or not a regular file (the append reports that).
        Ok(_) => return Ok(false),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(context(&e, "rotate event log", path)),
    };
    if len <= settings.max_bytes {
        return Ok(false);
    }
    rotate(path, settings.keep.clamp(1, MAX_KEEP))?;
    Ok(true)
}

/// Deletes `.keep` and anything older, shifts `.n` → `.n+1`, then renames
/// the log to `.1` and fsyncs the folder. Also a spawned service's log
/// (the monitor rotates it by size).
pub(crate) fn rotate(path: &Path, keep: u32) -> io::Result<()> {
    let keep = keep.clamp(1, MAX_KEEP);
    let remove = |p: &Path| match std::fs::remove_file(p) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(context(&e, "remove old log", p)),
        _ => Ok(()),
    };
    // What an earlier, larger `keep` left behind goes too.
    let mut n = keep;
    while n <= MAX_KEEP && (n == keep || exists(&rotated(path, n))) {
        remove(&rotated(path, n))?;
        n += 1;
    }
    for n in (1..keep).rev() {
        let from = rotated(path, n);
        if exists(&from) {
            let to = rotated(path, n + 1);
            std::fs::rename(&from, &to).map_err(|e| context(&e, "rotate log", &from))?;
        }
    }
    std::fs::rename(path, rotated(path, 1)).map_err(|e| context(&e, "rotate log", path))?;
    let dir = parent_of(path);
    sync_dir(dir).map_err(|e| context(&e, "sync folder", dir))
}

fn exists(p: &Path) -> bool {
    std::fs::symlink_metadata(p).is_ok()
}

/// The rotated files of the log at `path` that exist, newest first
/// (`.1`, `.2` … up to the first missing number).
pub fn rotated_paths(path: &Path) -> Vec<PathBuf> {
    (1..=MAX_KEEP)
        .map(|n| rotated(path, n))
        .take_while(|p| exists(p))
        .collect()
}

/// Opens the log at `path` and its rotated files, returned oldest first
/// (`.N` … `.1`, then the log itself when it exists). A file seen twice
/// (renamed while opening) is kept once. Errors name the file; a missing
/// log with no rotated files is `NotFound`.
pub fn open_all(path: &Path) -> io::Result<Vec<(PathBuf, File)>> {
    let mut seen = HashSet::new();
    let mut files = Vec::new();
    let mut open = |p: PathBuf, files: &mut Vec<(PathBuf, File)>| -> io::Result<()> {
        match open_regular(&p) {
            Ok(f) => {
                let m = f.metadata()?;
                if seen.insert((m.dev(), m.ino())) {
                    files.push((p, f));
                }
                Ok(())
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(context(&e, "read event log", &p)),
        }
    };
    open(path.to_path_buf(), &mut files)?;
    for p in rotated_paths(path) {
        open(p, &mut files)?;
    }
    if files.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("no event log at `{}`", path.display()),
        ));
    }
    files.reverse();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotates_shifts_and_deletes_beyond_keep() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("events.jsonl");
        let put = |p: &Path, s: &str| std::fs::write(p, s).unwrap();
        let settings = Settings {
            max_bytes: 3,
            keep: 2,
        };
        put(&log, "abc");
        assert!(!rotate_if_needed(&log, settings).unwrap(), "not larger");
        // Left over from a larger `keep`: deleted too.
        for n in 1..=4 {
            put(&rotated(&log, n), &format!("old{n}"));
        }
        put(&log, "new!");
        assert!(rotate_if_needed(&log, settings).unwrap());
        let read = |n| std::fs::read_to_string(rotated(&log, n)).unwrap();
        assert_eq!((read(1), read(2)), ("new!".into(), "old1".into()));
        assert!(!rotated(&log, 3).exists() && !rotated(&log, 4).exists());
        assert!(!log.exists());
        let names: Vec<_> = open_all(&log).unwrap().into_iter().map(|f| f.0).collect();
        assert_eq!(names, [rotated(&log, 2), rotated(&log, 1)]);
        let off = Settings {
            max_bytes: 0,
            keep: 2,
        };
        put(&log, "a long line");
        assert!(!rotate_if_needed(&log, off).unwrap());
    }
}
