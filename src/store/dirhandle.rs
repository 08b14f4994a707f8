//! Writing under a folder that someone else may be changing meanwhile:
//! `observe --out DIR` and its recorder, which run as root and may be
//! pointed into `/tmp`, write through a [`DirHandle`].
//!
//! **Guarantees.** A [`DirHandle`] is an open folder. Once it is open,
//! every folder created and every file written under it is reached from
//! that descriptor, one component at a time (`mkdirat`, then `openat` with
//! `O_DIRECTORY|O_NOFOLLOW`), never by path name again: a symlink at any
//! component, planted before or swapped in at any moment, is refused, and
//! a folder renamed away takes the writes with it. Either way nothing is
//! ever written through a link. [`DirHandle::create_or_open`] follows no
//! symlink at the folder itself (a trailing `/` included). A file is
//! replaced as [`super::atomic`] does it: a temporary
//! `.<name>.<pid>.<n>.tmp` created `O_CREAT|O_EXCL|O_NOFOLLOW` in the open
//! folder, its mode set exactly (`fchmod`), written, fsynced, `renameat`
//! over the name, the folder fsynced; on error the temporary file is
//! removed and the old file is untouched. A symlink at the name itself is
//! replaced, not followed.
//!
//! **Assumptions.** The folders above the opened one are trusted as given:
//! a symlink among them is followed, as for the state directory
//! (`statedir.rs`). Whoever owns the opened folder can still rename what
//! is in it; whether that owner is acceptable is the caller's rule
//! ([`DirHandle::owner`]: `observe` as root wants root).
//!
//! **Caveats.** The path a handle keeps is for messages only: after a
//! rename it names where the folder was, not where the writes now go. A
//! process killed between create and rename leaves its temporary file.
use std::fs::{DirBuilder, File};
use std::io::{self, Write};
use std::os::fd::OwnedFd;
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use nix::errno::Errno;
use nix::fcntl::{open, openat, renameat, AtFlags, OFlag};
use nix::sys::stat::{fstat, fstatat, mkdirat, Mode, SFlag};
use nix::unistd::{fsync, unlinkat, UnlinkatFlags};

use super::file::context;

/// Names tried for the temporary file before giving up.
const TRIES: u64 = 64;

static NEXT: AtomicU64 = AtomicU64::new(0);

/// An open folder; see the module's guarantees.
#[derive(Debug)]
pub struct DirHandle {
    fd: OwnedFd,
    path: PathBuf,
}

impl DirHandle {
    /// Opens the folder `path`, creating it (and its missing parents, with
    /// the umask's mode, like `mkdir -p`) if absent; a symlink or a
    /// non-folder at `path` is refused.
    pub fn create_or_open(path: &Path) -> io::Result<DirHandle> {
        let Some(Component::Normal(name)) = path.components().next_back() else {
            // `/`, `.` or `..`: no name that could be a link.
            let fd = open(path, dir_flags(), Mode::empty())
                .map_err(|e| context(&e.into(), "open folder", path))?;
            return Ok(DirHandle {
                fd,
                path: path.to_path_buf(),
            });
        };
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        // The parents are trusted as given: a symlink among them is followed.
        let follow = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
        let parent_fd = match open(parent, follow, Mode::empty()) {
            Ok(fd) => fd,
            Err(Errno::ENOENT) => {
                DirBuilder::new()
                    .recursive(true)
                    .create(parent)
                    .map_err(|e| context(&e, "create", path))?;
                open(parent, follow, Mode::empty())
                    .map_err(|e| context(&e.into(), "open folder", parent))?
            }
            Err(e) => return Err(context(&e.into(), "open folder", parent)),
        };
        let parent = DirHandle {
            fd: parent_fd,
            path: parent.to_path_buf(),
        };
        parent.child(name.as_ref(), Mode::from_bits_truncate(0o777), "create")
    }

    /// Where the folder was opened (for messages).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The uid that owns the open folder.
    pub fn owner(&self) -> io::Result<u32> {
        fstat(&self.fd)
            .map(|st| st.st_uid)
            .map_err(|e| context(&e.into(), "use folder", &self.path))
    }

    /// Whether anything (a symlink included, not followed) is at `name`.
    pub fn exists(&self, name: &str) -> bool {
        fstatat(&self.fd, name, AtFlags::AT_SYMLINK_NOFOLLOW).is_ok()
    }

    /// Opens `rel` under this folder, creating each missing folder (mode
    /// 0755 before the umask) and refusing a symlink or a non-folder at
    /// any component. `rel` holds plain names only (no `..`, not absolute).
    pub fn create_dirs(&self, rel: &Path) -> io::Result<DirHandle> {
        let mut names = Vec::new();
        for part in rel.components() {
            let Component::Normal(name) = part else {
                let e = io::Error::new(io::ErrorKind::InvalidInput, "not a plain name");
                return Err(context(&e, "use folder", &self.path.join(rel)));
            };
            names.push(name);
        }
        let mode = Mode::from_bits_truncate(0o755);
        let Some((first, rest)) = names.split_first() else {
            let fd = self
                .fd
                .try_clone()
                .map_err(|e| context(&e, "use folder", &self.path))?;
            return Ok(DirHandle {
                fd,
                path: self.path.clone(),
            });
        };
        let mut dir = self.child(first.as_ref(), mode, "create folder")?;
        for name in rest {
            dir = dir.child(name.as_ref(), mode, "create folder")?;
        }
        Ok(dir)
    }

    /// The bytes of the regular file `name` in this folder, at most `cap`
    /// (a longer file is an error); `Ok(None)` when there is none. Never
    /// through a symlink, never blocking on a FIFO.
    pub fn read_file(&self, name: &str, cap: u64) -> io::Result<Option<Vec<u8>>> {
        use std::io::Read;
        let path = self.path.join(name);
        let flags = OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC;
        let fd = match openat(&self.fd, name, flags, Mode::empty()) {
            Ok(fd) => fd,
            Err(Errno::ENOENT) => return Ok(None),
            Err(e) => return Err(context(&e.into(), "open", &path)),
        };
        let st = fstat(&fd).map_err(|e| context(&e.into(), "open", &path))?;
        if SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT != SFlag::S_IFREG {
            let e = io::Error::new(io::ErrorKind::InvalidInput, "not a regular file");
            return Err(context(&e, "read", &path));
        }
        let mut bytes = Vec::new();
        File::from(fd)
            .take(cap + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| context(&e, "read", &path))?;
        if bytes.len() as u64 > cap {
            let e = io::Error::new(
                io::ErrorKind::InvalidData,
                format!("larger than {cap} bytes"),
            );
            return Err(context(&e, "read", &path));
        }
        Ok(Some(bytes))
    }

    /// Replaces the file `name` in this folder with `bytes`, atomically and
    /// durably; a new file gets mode 0600.
    pub fn write_file(&self, name: &str, bytes: &[u8]) -> io::Result<()> {
        self.write_file_mode(name, bytes, 0o600)
    }

    /// [`DirHandle::write_file`] with another mode, set exactly.
    pub fn write_file_mode(&self, name: &str, bytes: &[u8], mode: u32) -> io::Result<()> {
        let path = self.path.join(name);
        if name.is_empty() || name.contains('/') || name == "." || name == ".." {
            let e = io::Error::new(io::ErrorKind::InvalidInput, "not a file name");
            return Err(context(&e, "write", &path));
        }
        let pid = std::process::id();
        let flags =
            OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
        for _ in 0..TRIES {
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let tmp = format!(".{name}.{pid}.{n}.tmp");
            let fd = match openat(
                &self.fd,
                tmp.as_str(),
                flags,
                Mode::from_bits_truncate(mode),
            ) {
                Ok(fd) => fd,
                Err(Errno::EEXIST) => continue,
                Err(e) => return Err(context(&e.into(), "create", &self.path.join(&tmp))),
            };
            let mut file = File::from(fd);
            let written = file
                .set_permissions(std::fs::Permissions::from_mode(mode))
                .and_then(|()| file.write_all(bytes))
                .and_then(|()| file.sync_all())
                .map_err(|e| context(&e, "write", &self.path.join(&tmp)))
                .and_then(|()| {
                    renameat(&self.fd, tmp.as_str(), &self.fd, name)
                        .map_err(|e| context(&e.into(), "replace", &path))
                });
            if let Err(e) = written {
                let _ = unlinkat(&self.fd, tmp.as_str(), UnlinkatFlags::NoRemoveDir);
                return Err(e);
            }
            return fsync(&self.fd).map_err(|e| context(&e.into(), "sync folder", &self.path));
        }
        let e = io::Error::new(
            io::ErrorKind::AlreadyExists,
            "every temporary name is taken",
        );
        Err(context(&e, "write", &path))
    }

    /// The folder `name` in this one, created (with `mode`) if missing;
    /// never a symlink. `create` names a failed creation in messages.
    fn child(&self, name: &Path, mode: Mode, create: &str) -> io::Result<DirHandle> {
        let path = self.path.join(name);
        let fd = match openat(&self.fd, name, dir_flags(), Mode::empty()) {
            Err(Errno::ENOENT) => {
                match mkdirat(&self.fd, name, mode) {
                    // Created by someone else meanwhile: opened and checked below.
                    Ok(()) | Err(Errno::EEXIST) => {}
                    Err(e) => return Err(context(&e.into(), create, &path)),
                }
                openat(&self.fd, name, dir_flags(), Mode::empty())
            }
            opened => opened,
        };
        let fd = fd.map_err(|e| match e {
            // Linux answers ENOTDIR for a symlink under O_DIRECTORY|O_NOFOLLOW.
            Errno::ELOOP | Errno::ENOTDIR if self.is_symlink(name) => {
                context(&io::Error::from(Errno::ELOOP), "use folder", &path)
            }
            Errno::ELOOP | Errno::ENOTDIR => {
                let e = io::Error::new(io::ErrorKind::InvalidInput, "not a directory");
                context(&e, "use folder", &path)
            }
            e => context(&e.into(), "use folder", &path),
        })?;
        Ok(DirHandle { fd, path })
    }

    fn is_symlink(&self, name: &Path) -> bool {
        fstatat(&self.fd, name, AtFlags::AT_SYMLINK_NOFOLLOW)
            .is_ok_and(|st| SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFLNK)
    }
}

/// A folder, read-only, never a symlink at the last component.
fn dir_flags() -> OFlag {
    OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC
}
