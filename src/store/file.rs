//! Small shared pieces of the store: reading a bounded regular file without
//! following a symlink, and turning I/O errors into the project's message
//! style (lowercase, the path in backticks).
use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use nix::libc;

/// Opens an existing file for reading: no symlink, no blocking on a FIFO,
/// and only a regular file is accepted.
pub(crate) fn open_regular(path: &Path) -> io::Result<File> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)?;
    if !file.metadata()?.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    Ok(file)
}

/// Opens (creating, 0600) a file of the state to append to: not through a
/// symlink, never blocking on a FIFO, a regular file only. `what` names it
/// in errors ("event log", "intent journal"); `read` also opens it for
/// reading (the event log checks its last byte).
pub(crate) fn open_append(path: &Path, what: &str, read: bool) -> io::Result<File> {
    let file = OpenOptions::new()
        .read(read)
        .append(true)
        .create(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| context(&e, &format!("open {what}"), path))?;
    let meta = file
        .metadata()
        .map_err(|e| context(&e, &format!("open {what}"), path))?;
    if !meta.is_file() {
        let e = io::Error::new(io::ErrorKind::InvalidInput, "not a regular file");
        return Err(context(&e, &format!("open {what}"), path));
    }
    Ok(file)
}

/// Reads the regular file at `path`, at most `limit` bytes.
pub(crate) fn read_limited(path: &Path, limit: u64) -> io::Result<Vec<u8>> {
    let file = open_regular(path)?;
    let len = file.metadata()?.len();
    if len > limit {
        return Err(too_large(limit));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(len.saturating_add(1)).unwrap_or(0));
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(too_large(limit));
    }
    Ok(bytes)
}

fn too_large(limit: u64) -> io::Error {
    let mib = limit / (1024 * 1024);
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("file exceeds {mib} MiB limit"),
    )
}

/// `e` as a lowercase message; a refused symlink says so plainly, and so
/// does a FIFO with no reader, which a non-blocking open for writing
/// refuses with `ENXIO` ("no such device or address").
pub(crate) fn describe(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(libc::ELOOP) => "is a symbolic link; refusing to follow it".into(),
        Some(libc::ENXIO) => "not a regular file (a FIFO or a device)".into(),
        _ => crate::text::io_error_text(e),
    }
}

/// `e` with context: "cannot <what> `<path>`: <reason>", same kind.
pub(crate) fn context(e: &io::Error, what: &str, path: &Path) -> io::Error {
    let message = format!("cannot {what} `{}`: {}", path.display(), describe(e));
    io::Error::new(e.kind(), message)
}

/// The folder holding `path` (`.` for a bare file name).
pub(crate) fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// fsync of a folder, so that a rename or a new entry in it is durable.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}
