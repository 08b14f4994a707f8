//! Opening world folders and files without trusting them: the observer's
//! directory may hold anything (symlinks, FIFOs, huge files), and none of it
//! may hang, crash or escape the loader. Everything is opened relative to an
//! already opened folder (`openat`), so a folder swapped for a symlink in the
//! middle of a load is never followed.
use std::fs::File;
use std::io::Read;
use std::os::fd::{AsFd, OwnedFd};

use nix::errno::Errno;
use nix::fcntl::{openat, AtFlags, OFlag};
use nix::sys::stat::{fstatat, Mode, SFlag};

use crate::text::lowercase_first;

/// The largest world file read; one byte more is read to tell "larger".
pub const FILE_LIMIT: u64 = 1024 * 1024;

/// Opening a folder or file found it absent, or unusable (with a message).
#[derive(Debug)]
pub enum OpenError {
    Missing,
    Unusable(String),
}

/// Opens `name` under `dir` as a folder, never following a symlink.
pub fn open_dir(dir: impl AsFd, name: &str) -> Result<OwnedFd, OpenError> {
    let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    let dir = dir.as_fd();
    openat(dir, name, flags, Mode::empty()).map_err(|e| match e {
        Errno::ENOENT => OpenError::Missing,
        // Linux answers ENOTDIR for a symlink under O_DIRECTORY|O_NOFOLLOW.
        Errno::ELOOP | Errno::ENOTDIR if is_symlink(dir, name) => {
            OpenError::Unusable("not a directory (symbolic link)".into())
        }
        Errno::ELOOP | Errno::ENOTDIR => OpenError::Unusable("not a directory".into()),
        e => OpenError::Unusable(format!("cannot open folder: {}", describe(e))),
    })
}

fn is_symlink(dir: impl AsFd, name: &str) -> bool {
    fstatat(dir, name, AtFlags::AT_SYMLINK_NOFOLLOW)
        .is_ok_and(|st| SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFLNK)
}

/// Reads the regular file `name` under `dir`: at most [`FILE_LIMIT`] bytes,
/// never following a symlink and never blocking on a FIFO or device.
pub fn read_file(dir: impl AsFd, name: &str) -> Result<Vec<u8>, OpenError> {
    let flags = OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC;
    let fd = openat(dir, name, flags, Mode::empty()).map_err(|e| match e {
        Errno::ENOENT => OpenError::Missing,
        // ELOOP: a symlink; ENXIO: a socket (or a device without a driver).
        Errno::ELOOP | Errno::ENXIO => OpenError::Unusable(NOT_REGULAR.into()),
        e => OpenError::Unusable(format!("cannot open: {}", describe(e))),
    })?;
    let file = File::from(fd);
    let meta = file
        .metadata()
        .map_err(|e| OpenError::Unusable(format!("cannot stat: {}", io_describe(&e))))?;
    if !meta.is_file() {
        return Err(OpenError::Unusable(NOT_REGULAR.into()));
    }
    if meta.len() > FILE_LIMIT {
        return Err(OpenError::Unusable(TOO_LARGE.into()));
    }
    // The size may change while we read: the `take` bound is what counts.
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len().saturating_add(1)).unwrap_or(0));
    file.take(FILE_LIMIT + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| OpenError::Unusable(format!("cannot read: {}", io_describe(&e))))?;
    if bytes.len() as u64 > FILE_LIMIT {
        return Err(OpenError::Unusable(TOO_LARGE.into()));
    }
    Ok(bytes)
}

const NOT_REGULAR: &str = "not a regular file";
const TOO_LARGE: &str = "file exceeds 1 MiB limit";

/// `Permission denied` → `permission denied`: messages stay lowercase
/// (`I/O error` keeps its case).
pub fn describe(e: Errno) -> String {
    lowercase_first(e.desc())
}

pub fn io_describe(e: &std::io::Error) -> String {
    crate::text::io_error_text(e)
}

/// World file stems follow the naming rule of nodes and services:
/// `^[a-z0-9][a-z0-9._-]{0,62}$`.
pub fn valid_name(name: &str) -> bool {
    crate::desired::is_valid_name(name)
}

/// The id of `incidents/<id>.json`: incident ids come from other tools
/// (`INC-101`), so any visible name of printable ASCII without a path
/// separator counts.
pub fn incident_stem(file_name: &str) -> Option<&str> {
    file_name.strip_suffix(".json").filter(|stem| {
        !stem.is_empty()
            && !stem.starts_with('.')
            && stem.len() <= 128
            && stem
                .bytes()
                .all(|b| b.is_ascii_graphic() && b != b'/' && b != b'\\')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_texts_are_lowercase_but_keep_acronyms() {
        assert_eq!(describe(Errno::EACCES), "permission denied");
        assert_eq!(describe(Errno::EIO), "I/O error");
        let e = std::io::Error::from_raw_os_error(Errno::EIO as i32);
        assert_eq!(io_describe(&e), "I/O error");
    }
}
