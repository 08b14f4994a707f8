//! Whether hosts/ can be trusted when we run as root, in the manner of
//! sshd's `StrictModes`: `hosts/` is code (every `restart`, `spawn`, `stop`
//! and health `command` in it is an argv we run as our user), so a file in
//! it that another user can change is a way for that user to run commands
//! as root. [`check_trust`] reports every such weakness; the caller decides
//! whether a run may go on (see `docs/security.md`).
//!
//! **What is checked.** The hosts folder itself, every folder above it up
//! to `/` (as given and as resolved, so a symlink in the path does not hide
//! the folder it leads to), every node folder the loader would load and
//! every node's `services.yaml`. Each must be owned by root or by `owner`
//! and not be writable by group or others. A folder above hosts/ that is
//! root-owned and sticky (like `/tmp`) is accepted: nobody else can rename
//! or remove what we own inside it. A node folder or `services.yaml` that is
//! a symbolic link is a problem, whatever it points to.
//!
//! **Guarantees.** Metadata is only read (`lstat`/`stat` and one listing
//! of hosts/); nothing is opened for writing, nothing is changed. Problems
//! come in a fixed order: the folders above hosts/ from `/` down, hosts/,
//! then each node folder in name order followed by its `services.yaml`.
//! A path that cannot be examined is itself a problem (it fails closed).
//!
//! **Caveats.** POSIX ACLs are not read; an ACL that grants a named user
//! write access shows in the group bits (the ACL mask) and is reported as
//! group-writable. Hard links are not detected (the owner and mode checked
//! are the inode's, which is what matters). Files a service declares
//! outside hosts/ (pidfiles, webhook secret files) are not checked here.
use std::collections::HashSet;
use std::fmt;
use std::fs::{self, Metadata};
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};

use super::load::SERVICES_FILE;

/// Write permission for the group or for others.
const GROUP_OTHER_WRITE: u32 = 0o022;
/// The sticky bit: in a folder, only an entry's owner may rename or remove it.
const STICKY: u32 = 0o1000;

/// One reason a path in or above hosts/ cannot be trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustProblem {
    pub path: PathBuf,
    /// What is wrong, phrased to follow "`path` is": e.g. "writable by
    /// group or others (mode 0664)", "owned by uid 1000, not root",
    /// "a symbolic link".
    pub problem: String,
}

impl fmt::Display for TrustProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` is {}", self.path.display(), self.problem)
    }
}

/// Checks `hosts_dir`, the folders above it, every node folder and every
/// `services.yaml` (see the module documentation); `owner` is the user we
/// run as (the effective uid), which may own them besides root. An empty
/// result means every path is owned by root or `owner` and writable by
/// nobody else.
pub fn check_trust(hosts_dir: &Path, owner: u32) -> Vec<TrustProblem> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for dir in ancestors(hosts_dir) {
        match fs::metadata(&dir) {
            // The same folder reached by two names is reported once.
            Ok(meta) if !seen.insert((meta.dev(), meta.ino())) => {}
            Ok(meta) => check_meta(&dir, &meta, owner, true, &mut out),
            Err(e) => out.push(unreadable(&dir, &e)),
        }
    }
    match fs::metadata(hosts_dir) {
        Ok(meta) => check_meta(hosts_dir, &meta, owner, false, &mut out),
        Err(e) => {
            out.push(unreadable(hosts_dir, &e));
            return out;
        }
    }
    let entries = match fs::read_dir(hosts_dir) {
        Ok(entries) => entries,
        Err(e) => {
            out.push(unreadable(hosts_dir, &e));
            return out;
        }
    };
    let mut names = Vec::new();
    for entry in entries {
        match entry {
            Ok(entry) => names.push(entry.file_name()),
            Err(e) => out.push(unreadable(hosts_dir, &e)),
        }
    }
    names.sort();
    for name in names {
        // The loader skips dot-folders; so do we.
        if name.as_encoded_bytes().starts_with(b".") {
            continue;
        }
        check_node(&hosts_dir.join(name), owner, &mut out);
    }
    out
}

/// One entry of hosts/: only what the loader would load as a node (a
/// folder, or a symlink to one) matters.
fn check_node(folder: &Path, owner: u32, out: &mut Vec<TrustProblem>) {
    let meta = match fs::symlink_metadata(folder) {
        Ok(meta) => meta,
        Err(e) => return out.push(unreadable(folder, &e)),
    };
    if meta.file_type().is_symlink() {
        // A symlink to anything but a folder is ignored by the loader.
        if fs::metadata(folder).is_ok_and(|m| m.is_dir()) {
            out.push(symlink(folder));
        }
        return;
    }
    if !meta.is_dir() {
        return;
    }
    check_meta(folder, &meta, owner, false, out);
    let file = folder.join(SERVICES_FILE);
    match fs::symlink_metadata(&file) {
        Ok(meta) if meta.file_type().is_symlink() => out.push(symlink(&file)),
        Ok(meta) => check_meta(&file, &meta, owner, false, out),
        // A node folder without its file is the loader's to report.
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => out.push(unreadable(&file, &e)),
    }
}

/// The owner and mode rules for one path. `ancestor`: a folder above
/// hosts/, for which a root-owned sticky folder may be writable.
fn check_meta(
    path: &Path,
    meta: &Metadata,
    owner: u32,
    ancestor: bool,
    out: &mut Vec<TrustProblem>,
) {
    let uid = meta.uid();
    if uid != 0 && uid != owner {
        let allowed = if owner == 0 {
            "root".to_string()
        } else {
            format!("root or uid {owner}")
        };
        out.push(TrustProblem {
            path: path.to_path_buf(),
            problem: format!("owned by uid {uid}, not {allowed}"),
        });
    }
    let mode = meta.mode() & 0o7777;
    let sticky_root_dir = ancestor && meta.is_dir() && uid == 0 && mode & STICKY != 0;
    if mode & GROUP_OTHER_WRITE != 0 && !sticky_root_dir {
        out.push(TrustProblem {
            path: path.to_path_buf(),
            problem: format!("writable by group or others (mode {mode:04o})"),
        });
    }
}

fn symlink(path: &Path) -> TrustProblem {
    TrustProblem {
        path: path.to_path_buf(),
        problem: "a symbolic link".to_string(),
    }
}

fn unreadable(path: &Path, e: &io::Error) -> TrustProblem {
    let reason = crate::text::io_error_text(e);
    TrustProblem {
        path: path.to_path_buf(),
        problem: format!("not checkable ({reason})"),
    }
}

/// The folders above `hosts_dir`, from `/` down, without `hosts_dir`
/// itself: first along the path as given (made absolute; prefixes that
/// hold `..` are left to the second walk), then along the resolved path,
/// so that both the folders holding a symlink and the folders it leads to
/// are checked.
fn ancestors(hosts_dir: &Path) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Ok(given) = std::path::absolute(hosts_dir) {
        dirs.extend(parents(&given).filter(|p| {
            !p.components()
                .any(|c| matches!(c, Component::ParentDir | Component::CurDir))
        }));
    }
    if let Ok(resolved) = fs::canonicalize(hosts_dir) {
        dirs.extend(parents(&resolved));
    }
    dirs
}

/// The proper ancestors of `path`, root first.
fn parents(path: &Path) -> impl Iterator<Item = PathBuf> {
    let mut list: Vec<PathBuf> = path.ancestors().skip(1).map(Path::to_path_buf).collect();
    list.reverse();
    list.into_iter()
}

#[cfg(test)]
#[path = "trust_tests.rs"]
mod tests;
