//! The durable edge: everything supervisorctl writes to its state directory.
//! Each file is one concept — the directory itself, atomic replacement, the
//! checkpoint file, the append-only event log, the run lock, operator
//! overrides and the fallbacks file routers read.
pub mod atomic;
pub mod checkpoint;
pub mod eventlog;
pub mod fallbacks;
pub mod lock;
pub mod overrides;
pub mod statedir;

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Opens an existing file for reading without following a symlink.
pub(crate) fn open_nofollow(path: &Path) -> io::Result<File> {
    OpenOptions::new().read(true).custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_CLOEXEC).open(path)
}

/// Reads a whole regular file of at most `limit` bytes, never through a symlink.
pub(crate) fn read_limited(path: &Path, limit: u64) -> io::Result<Vec<u8>> {
    use std::io::Read;
    let f = open_nofollow(path)?;
    let meta = f.metadata()?;
    if !meta.is_file() {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "not a regular file"));
    }
    if meta.len() > limit {
        return Err(io::Error::new(io::ErrorKind::InvalidData, format!("file exceeds the {limit}-byte limit")));
    }
    let mut buf = Vec::with_capacity(meta.len() as usize);
    f.take(limit + 1).read_to_end(&mut buf)?;
    if buf.len() as u64 > limit {
        return Err(io::Error::new(io::ErrorKind::InvalidData, format!("file exceeds the {limit}-byte limit")));
    }
    Ok(buf)
}
