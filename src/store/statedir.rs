//! The state directory: created 0700 (it holds the checkpoint, the event log
//! and the lock, none of which other users should read or touch).
//!
//! Guarantees: `prepare` never follows a symlink at the final component and
//! refuses one; an existing directory keeps its mode (an operator may have
//! chosen a stricter one).
use std::io;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

pub fn prepare(dir: &Path) -> io::Result<()> {
    match std::fs::symlink_metadata(dir) {
        Ok(m) if m.file_type().is_symlink() => Err(io::Error::new(io::ErrorKind::InvalidInput, "the state directory is a symlink; refusing to follow it")),
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(io::Error::new(io::ErrorKind::InvalidInput, "the state directory path exists and is not a directory")),
        Err(e) if e.kind() == io::ErrorKind::NotFound => std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir),
        Err(e) => Err(e),
    }
}

/// `/var/lib/supervisorctl` for root, else `$XDG_STATE_HOME/supervisorctl`,
/// else `~/.local/state/supervisorctl`.
pub fn default_state_dir() -> PathBuf {
    if nix::unistd::geteuid().is_root() {
        return PathBuf::from("/var/lib/supervisorctl");
    }
    let nonempty = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    nonempty("XDG_STATE_HOME")
        .or_else(|| nonempty("HOME").map(|h| h.join(".local/state")))
        .unwrap_or_else(|| PathBuf::from("."))
        .join("supervisorctl")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn creates_private_directories_and_refuses_symlinks() {
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().join("a/b/state");
        prepare(&dir).unwrap();
        assert_eq!(std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777, 0o700);
        prepare(&dir).unwrap();
        let link = t.path().join("link");
        std::os::unix::fs::symlink(&dir, &link).unwrap();
        assert!(prepare(&link).is_err());
    }
}
