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
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use super::load::SERVICES_FILE;
use super::opened::{FileRead, HostsRead, Meta, NodeRead, OpenError};

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
    check_read(
        &HostsRead::open(hosts_dir, |uid| uid == 0 || uid == owner),
        owner,
    )
}

/// [`check_trust`] of hosts/ as read through its descriptors: the folders
/// traversed to reach it, itself, each node folder and file, exactly what
/// the loader parses.
pub fn check_read(read: &HostsRead, owner: u32) -> Vec<TrustProblem> {
    let mut out = Vec::new();
    for (dir, meta) in &read.ancestors {
        check_meta(dir, meta, owner, true, &mut out);
    }
    match &read.root {
        Ok(meta) => check_meta(&read.path, meta, owner, false, &mut out),
        Err(OpenError::UntrustedLink { path, owner: uid }) => {
            out.push(TrustProblem {
                path: path.clone(),
                problem: format!("a symbolic link owned by uid {uid}, not root or uid {owner}"),
            });
            return out;
        }
        Err(OpenError::Io(path, e)) => {
            out.push(unreadable(path, e));
            return out;
        }
        Err(OpenError::TooManyLinks(path)) => {
            out.push(TrustProblem {
                path: path.clone(),
                problem: "too many levels of symbolic links".into(),
            });
            return out;
        }
    }
    for node in &read.nodes {
        check_node(node, owner, &mut out);
    }
    out
}

/// One node folder and its file, as opened.
fn check_node(node: &NodeRead, owner: u32, out: &mut Vec<TrustProblem>) {
    if node.folder_is_link {
        return out.push(symlink(&node.folder));
    }
    match &node.folder_meta {
        Ok(meta) => check_meta(&node.folder, meta, owner, false, out),
        Err(e) => return out.push(unreadable(&node.folder, e)),
    }
    let file = node.folder.join(SERVICES_FILE);
    match &node.file {
        FileRead::Read { is_link: true, .. } => out.push(symlink(&file)),
        FileRead::Read { meta, .. } => check_meta(&file, meta, owner, false, out),
        // A node folder without its file, or an oversized or special one,
        // is the loader's to report.
        FileRead::Missing | FileRead::NotRegular | FileRead::TooLarge(_) => {}
        FileRead::Error(e) => out.push(unreadable(&file, e)),
    }
}

/// The owner and mode rules for one path. `ancestor`: a folder above
/// hosts/, for which a root-owned sticky folder may be writable.
fn check_meta(path: &Path, meta: &Meta, owner: u32, ancestor: bool, out: &mut Vec<TrustProblem>) {
    let uid = meta.uid;
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
    let mode = meta.mode;
    let sticky_root_dir = ancestor && meta.is_dir && uid == 0 && mode & STICKY != 0;
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

#[cfg(test)]
#[path = "trust_tests.rs"]
pub(crate) mod tests;
