//! Where the state lives and making sure it is private (docs/reference/state-dir.md).
//!
//! **Guarantees.** [`prepare`] leaves an existing folder alone and creates
//! a missing one (with its missing parents) with mode 0700, whatever the
//! umask. It refuses a symlink or a non-folder at `dir`, and at the folders
//! used under it (`pids/`, `logs/`). As root (docs/reference/behaviour.md, "Trust") it also
//! refuses each of them unless it is owned by root and not writable by
//! group or others: whoever can write there could plant a pid file naming
//! a root process, or a symlink that sends a service's output elsewhere.
//! Since nobody but root can then change anything under the state
//! directory, the files in it, opened with `O_NOFOLLOW`, are what root put
//! there: no symlink can appear at any component between the check and the
//! open.
//!
//! **Assumptions.** The parents of the state directory are trusted (a
//! symlink above it is followed, as the operator set it up).
//!
//! **Caveats.** An existing folder keeps its mode: an operator who opened
//! it up gets a clear refusal as root, and is trusted otherwise.
use std::ffi::OsString;
use std::fs::{self, DirBuilder, Permissions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::file::context;

/// The folders a run uses under the state directory.
pub const SUBDIRS: [&str; 3] = ["pids", "logs", "exits"];

/// Creates the state directory if needed (mode 0700), then checks it and
/// the folders used under it (see the module's guarantees).
pub fn prepare(dir: &Path) -> io::Result<()> {
    create(dir)?;
    let root = nix::unistd::geteuid().is_root();
    check_folder(dir, root)?;
    for sub in SUBDIRS {
        let path = dir.join(sub);
        if fs::symlink_metadata(&path).is_ok() {
            check_folder(&path, root)?;
        }
    }
    Ok(())
}

/// A folder of the state: not a symlink, a folder; as root, owned by root
/// and not writable by group or others.
fn check_folder(path: &Path, root: bool) -> io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let meta = fs::symlink_metadata(path).map_err(|e| context(&e, "use state folder", path))?;
    let refuse = |problem: String, fix: String| {
        io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!(
                "refusing state folder `{}`: {problem}\n\nhint: {fix}",
                path.display()
            ),
        )
    };
    if meta.file_type().is_symlink() {
        return Err(refuse(
            "it is a symbolic link".into(),
            format!(
                "replace it with a real folder (`rm {0}; mkdir -m 0700 {0}`)",
                path.display()
            ),
        ));
    }
    if !meta.is_dir() {
        return Err(refuse(
            "it is not a folder".into(),
            "remove it, or choose another --state-dir".into(),
        ));
    }
    if root && meta.uid() != 0 {
        return Err(refuse(
            format!(
                "as root, the state must be owned by root, and it is owned by uid {}",
                meta.uid()
            ),
            format!("`chown root:root {}`", path.display()),
        ));
    }
    if root && meta.mode() & 0o022 != 0 {
        return Err(refuse(
            format!(
                "as root, the state must not be writable by group or others (mode {:04o})",
                meta.mode() & 0o7777
            ),
            format!("`chmod go-w {}`", path.display()),
        ));
    }
    Ok(())
}

fn create(dir: &Path) -> io::Result<()> {
    match fs::symlink_metadata(dir) {
        Ok(meta) if meta.file_type().is_symlink() => {
            let e = io::Error::new(
                io::ErrorKind::InvalidInput,
                "is a symbolic link; refusing to use it",
            );
            Err(context(&e, "use state directory", dir))
        }
        Ok(meta) if meta.is_dir() => Ok(()),
        Ok(_) => {
            let e = io::Error::new(io::ErrorKind::InvalidInput, "not a directory");
            Err(context(&e, "use state directory", dir))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .and_then(|()| fs::set_permissions(dir, Permissions::from_mode(0o700)))
            .map_err(|e| context(&e, "create state directory", dir)),
        Err(e) => Err(context(&e, "use state directory", dir)),
    }
}

/// The default state directory (`crate::resolved`), from what the
/// environment says: `/var/lib/supervisorctl` for root; else
/// `$XDG_STATE_HOME/supervisorctl`, else `$HOME/.local/state/supervisorctl`. A relative
/// `XDG_STATE_HOME` is ignored, as the XDG base directory spec asks.
pub(crate) fn state_dir_for(
    root: bool,
    xdg_state_home: Option<OsString>,
    home: Option<OsString>,
) -> PathBuf {
    const NAME: &str = "supervisorctl";
    if root {
        return PathBuf::from("/var/lib").join(NAME);
    }
    if let Some(xdg) = xdg_state_home
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
    {
        return xdg.join(NAME);
    }
    match home {
        Some(home) => PathBuf::from(home).join(".local/state").join(NAME),
        // No home at all: the root default, which `prepare` will report
        // clearly if it is not writable.
        None => PathBuf::from("/var/lib").join(NAME),
    }
}
