//! Where the state lives and making sure it is private (SPEC §7).
//!
//! **Guarantees.** [`prepare`] leaves an existing folder alone and creates
//! a missing one (with its missing parents) with mode 0700, whatever the
//! umask. It refuses a symlink or a non-folder at `dir`.
//!
//! **Assumptions.** The parents of the state directory are trusted (a
//! symlink above it is followed, as the operator set it up).
//!
//! **Caveats.** An existing folder keeps its mode: an operator who opened
//! it up did so on purpose.
use std::ffi::OsString;
use std::fs::{self, DirBuilder, Permissions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::file::context;

/// Creates the state directory if needed (mode 0700); fine if it exists.
pub fn prepare(dir: &Path) -> io::Result<()> {
    match fs::symlink_metadata(dir) {
        Ok(meta) if meta.file_type().is_symlink() => {
            let e = io::Error::new(
                io::ErrorKind::InvalidInput,
                "is a symbolic link; refusing to use it",
            );
            Err(context(e, "use state directory", dir))
        }
        Ok(meta) if meta.is_dir() => Ok(()),
        Ok(_) => {
            let e = io::Error::new(io::ErrorKind::InvalidInput, "not a directory");
            Err(context(e, "use state directory", dir))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .and_then(|()| fs::set_permissions(dir, Permissions::from_mode(0o700)))
            .map_err(|e| context(e, "create state directory", dir)),
        Err(e) => Err(context(e, "use state directory", dir)),
    }
}

/// `/var/lib/supervisorctl` for root; else `$XDG_STATE_HOME/supervisorctl`,
/// else `$HOME/.local/state/supervisorctl`.
pub fn default_state_dir() -> PathBuf {
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .or_else(|| {
            let user = nix::unistd::User::from_uid(nix::unistd::getuid()).ok()??;
            Some(user.dir.into_os_string())
        });
    state_dir_for(
        nix::unistd::geteuid().is_root(),
        std::env::var_os("XDG_STATE_HOME"),
        home,
    )
}

/// The rule of [`default_state_dir`], without the environment. A relative
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
