//! `hosts/` read through descriptors, so that what the trust check examines
//! is what the loader reads (docs/reference/behaviour.md, "Trust", issue: a symlink swapped
//! between the check and the load).
//!
//! **How.** The path to hosts/ is resolved one component at a time from
//! `/` (or the working directory), each folder opened with
//! `O_PATH|O_DIRECTORY|O_NOFOLLOW` relative to the one before and
//! `fstat`ed through its descriptor. A symbolic link on the way is
//! followed only when root or the caller owns it (a link of anyone else,
//! `/tmp/fleet -> /srv/fleet` planted by another user, is refused, naming
//! it). Node folders are opened relative to the hosts/ descriptor and each
//! `services.yaml` relative to its folder's (`O_NOFOLLOW|O_NONBLOCK`, a
//! regular file of at most 1 MiB, read through the same descriptor that
//! was `fstat`ed). [`HostsRead`] keeps every folder's and file's metadata
//! as seen through those descriptors; `trust::check_read` judges them and
//! `load::load_read` parses the bytes: one look-up, one read.
//!
//! **Symlinks inside hosts/.** A node folder or `services.yaml` that is a
//! link is read by following it, as before, and is reported as a trust
//! problem (refused as root unless `--insecure-config`).
//!
//! **Caveats.** Hard links are not detected (the inode's owner and mode are
//! what is checked, which is what matters).
use std::ffi::OsString;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{openat, readlinkat, AtFlags, OFlag};
use nix::sys::stat::{fstat, fstatat, FileStat, Mode, SFlag};

use super::load::{MAX_FILE_BYTES, SERVICES_FILE};
use crate::num::signed_as_f64;

/// Symbolic links followed while resolving one path, at most (as the
/// kernel's `MAXSYMLINKS`).
const MAX_LINKS: usize = 40;

/// What `fstat` said of one opened file or folder.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Meta {
    pub uid: u32,
    /// Permission bits, sticky bit included (`& 0o7777`).
    pub mode: u32,
    pub is_dir: bool,
    pub dev: u64,
    pub ino: u64,
    pub size: u64,
    /// Last modification, in seconds since the epoch.
    pub mtime: f64,
}

impl Meta {
    fn of(st: &FileStat) -> Meta {
        Meta {
            uid: st.st_uid,
            mode: st.st_mode & 0o7777,
            is_dir: SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFDIR,
            dev: st.st_dev,
            ino: st.st_ino,
            size: u64::try_from(st.st_size).unwrap_or(0),
            mtime: signed_as_f64(st.st_mtime) + signed_as_f64(st.st_mtime_nsec) / 1e9,
        }
    }
}

/// hosts/ as read: the folders traversed to reach it, its own metadata,
/// and each node.
#[derive(Debug)]
pub struct HostsRead {
    pub path: PathBuf,
    /// Every folder traversed to reach hosts/ (hosts/ excluded), in order,
    /// each once.
    pub ancestors: Vec<(PathBuf, Meta)>,
    /// hosts/ itself, or why it could not be opened.
    pub root: Result<Meta, OpenError>,
    /// Entries of hosts/ that are folders (or links to one), by name.
    pub nodes: Vec<NodeRead>,
}

/// Why a path could not be opened.
#[derive(Debug)]
pub enum OpenError {
    Io(PathBuf, io::Error),
    /// A symbolic link owned by someone else than root or the caller.
    UntrustedLink {
        path: PathBuf,
        owner: u32,
    },
    TooManyLinks(PathBuf),
}

#[derive(Debug)]
pub struct NodeRead {
    pub name: OsString,
    pub folder: PathBuf,
    /// The folder is a symbolic link (followed).
    pub folder_is_link: bool,
    pub folder_meta: Result<Meta, io::Error>,
    pub file: FileRead,
}

#[derive(Debug)]
pub enum FileRead {
    Missing,
    /// Read through the descriptor whose metadata this is.
    Read {
        meta: Meta,
        is_link: bool,
        bytes: Vec<u8>,
    },
    NotRegular,
    TooLarge(u64),
    Error(io::Error),
}

impl HostsRead {
    /// Opens and reads hosts/ (see the module documentation). `trusted_link`
    /// says whose symbolic links on the way may be followed.
    pub fn open(path: &Path, trusted_link: impl Fn(u32) -> bool) -> HostsRead {
        let mut read = HostsRead {
            path: path.to_path_buf(),
            ancestors: Vec::new(),
            root: Err(OpenError::Io(path.to_path_buf(), Errno::ENOENT.into())),
            nodes: Vec::new(),
        };
        let fd = match resolve(path, &trusted_link, &mut read.ancestors) {
            Ok(fd) => fd,
            Err(e) => {
                read.root = Err(e);
                return read;
            }
        };
        read.root = fstat(&fd)
            .map(|st| Meta::of(&st))
            .map_err(|e| OpenError::Io(path.to_path_buf(), e.into()));
        if read.root.as_ref().is_ok_and(|m| !m.is_dir) {
            read.root = Err(OpenError::Io(path.to_path_buf(), Errno::ENOTDIR.into()));
            return read;
        }
        read.read_nodes(&fd);
        read
    }

    fn read_nodes(&mut self, hosts: &OwnedFd) {
        let names = match list(hosts) {
            Ok(names) => names,
            Err(e) => {
                self.root = Err(OpenError::Io(self.path.clone(), e));
                return;
            }
        };
        for name in names {
            if name.as_bytes().starts_with(b".") {
                continue;
            }
            if let Some(node) = read_node(hosts, &self.path, name) {
                self.nodes.push(node);
            }
        }
        self.nodes.sort_by(|a, b| a.name.cmp(&b.name));
    }
}

/// One entry of hosts/: a folder (or a link to one) with its file; `None`
/// for anything else (the loader ignores plain files).
fn read_node(hosts: &OwnedFd, hosts_path: &Path, name: OsString) -> Option<NodeRead> {
    let folder = hosts_path.join(&name);
    let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    match openat(hosts, name.as_os_str(), flags, Mode::empty()) {
        Ok(fd) => {
            let folder_meta = fstat(&fd).map(|s| Meta::of(&s)).map_err(io::Error::from);
            let file = read_file(&fd);
            Some(NodeRead {
                name,
                folder,
                folder_is_link: false,
                folder_meta,
                file,
            })
        }
        Err(Errno::ELOOP | Errno::ENOTDIR) => {
            let st = fstatat(hosts, name.as_os_str(), AtFlags::AT_SYMLINK_NOFOLLOW).ok()?;
            let is_link = SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFLNK;
            // A link to a folder is loaded by following it (and reported
            // by the trust check); a plain file is no node.
            if !is_link || !std::fs::metadata(&folder).is_ok_and(|m| m.is_dir()) {
                return None;
            }
            let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
            let fd = nix::fcntl::open(&folder, flags, Mode::empty());
            let (folder_meta, file) = match fd {
                Ok(fd) => (
                    fstat(&fd).map(|s| Meta::of(&s)).map_err(io::Error::from),
                    read_file(&fd),
                ),
                Err(e) => (Err(e.into()), FileRead::Error(e.into())),
            };
            Some(NodeRead {
                name,
                folder,
                folder_is_link: true,
                folder_meta,
                file,
            })
        }
        Err(e) => Some(NodeRead {
            name,
            folder,
            folder_is_link: false,
            folder_meta: Err(e.into()),
            file: FileRead::Error(e.into()),
        }),
    }
}

/// `services.yaml` in the opened node folder: never blocking, at most
/// [`MAX_FILE_BYTES`], a regular file; a link is followed and flagged.
fn read_file(folder: &OwnedFd) -> FileRead {
    let base = OFlag::O_RDONLY | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC;
    let (fd, is_link) = match openat(
        folder,
        SERVICES_FILE,
        base | OFlag::O_NOFOLLOW,
        Mode::empty(),
    ) {
        Ok(fd) => (fd, false),
        Err(Errno::ENOENT) => return FileRead::Missing,
        Err(Errno::ELOOP) => match openat(folder, SERVICES_FILE, base, Mode::empty()) {
            Ok(fd) => (fd, true),
            Err(Errno::ENOENT) => return FileRead::Missing,
            Err(e) => return FileRead::Error(e.into()),
        },
        Err(e) => return FileRead::Error(e.into()),
    };
    let (meta, regular) = match fstat(&fd) {
        Ok(st) => (
            Meta::of(&st),
            SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFREG,
        ),
        Err(e) => return FileRead::Error(e.into()),
    };
    if !regular {
        return FileRead::NotRegular;
    }
    if meta.size > MAX_FILE_BYTES {
        return FileRead::TooLarge(meta.size);
    }
    let mut bytes = Vec::new();
    if let Err(e) = std::fs::File::from(fd)
        .take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
    {
        return FileRead::Error(e);
    }
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return FileRead::TooLarge(bytes.len() as u64);
    }
    FileRead::Read {
        meta,
        is_link,
        bytes,
    }
}

/// Reads a small file a service's config names (`ca_file`, a webhook's
/// `secret_file`): resolved like hosts/ (links only root's or the
/// caller's), opened `O_NOFOLLOW|O_NONBLOCK` (a FIFO never blocks a run),
/// a regular file of at most `limit` bytes (a link to `/dev/zero` never
/// fills memory), and as root owned by root or the caller and writable by
/// nobody else (whoever can write a CA file or a secret chooses whom we
/// trust). Err: a short reason, without the path.
pub fn read_small_file(path: &Path, limit: u64) -> Result<Vec<u8>, String> {
    let me = nix::unistd::geteuid().as_raw();
    let trusted = |uid: u32| uid == 0 || uid == me;
    // The whole path, the file's own name included: a link of root's or
    // ours is followed (Debian's /etc/ssl/certs/*.pem are links), any
    // other is refused, naming it.
    let pathfd = resolve(path, &trusted, &mut Vec::new()).map_err(|e| match e {
        OpenError::Io(at, e) => format!("`{}`: {}", at.display(), crate::text::io_error_text(&e)),
        OpenError::UntrustedLink { path, owner } => format!(
            "`{}` is a symbolic link owned by uid {owner}, not root or uid {me}",
            path.display()
        ),
        OpenError::TooManyLinks(_) => "too many levels of symbolic links".into(),
    })?;
    let st = fstat(&pathfd).map_err(|e| crate::text::io_error_text(&e.into()))?;
    if SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT != SFlag::S_IFREG {
        return Err("not a regular file".into());
    }
    let meta = Meta::of(&st);
    if me == 0 && meta.uid != 0 {
        return Err(format!(
            "owned by uid {}, not root: as root, only root's file is trusted",
            meta.uid
        ));
    }
    if me == 0 && meta.mode & 0o022 != 0 {
        return Err(format!(
            "writable by group or others (mode {:04o})",
            meta.mode
        ));
    }
    if meta.size > limit {
        return Err(format!("larger than {limit} bytes"));
    }
    // Opened for reading through the descriptor just checked: the same
    // file, whatever the path names by now.
    let flags = OFlag::O_RDONLY | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC;
    let proc_path = format!("/proc/self/fd/{}", pathfd.as_raw_fd());
    let fd = nix::fcntl::open(proc_path.as_str(), flags, Mode::empty())
        .map_err(|e| crate::text::io_error_text(&e.into()))?;
    let mut bytes = Vec::new();
    std::fs::File::from(fd)
        .take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| crate::text::io_error_text(&e))?;
    if bytes.len() as u64 > limit {
        return Err(format!("larger than {limit} bytes"));
    }
    Ok(bytes)
}

/// A small file opened through its folder's descriptor (a pidfile): the
/// file, its metadata, its folder's metadata, and who could have changed
/// where the path leads (owners of links followed and of the folders
/// holding them). Any link is followed here; its owner is a writer.
pub struct OpenedFile {
    pub file: std::fs::File,
    pub meta: Meta,
    pub folder: Meta,
    pub link_writers: Vec<u32>,
}

/// Opens the regular file `path` (`O_NOFOLLOW|O_NONBLOCK` at the last
/// component, the folders resolved one by one); None when it is missing or
/// not a regular file.
pub fn open_through_folder(path: &Path) -> Option<OpenedFile> {
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty())?;
    let name = path.file_name()?;
    let mut link_writers = Vec::new();
    let dir = resolve_noting_links(parent, &|_| true, &mut Vec::new(), &mut link_writers).ok()?;
    let flags = OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC;
    let fd = openat(&dir, name, flags, Mode::empty()).ok()?;
    let st = fstat(&fd).ok()?;
    if SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT != SFlag::S_IFREG {
        return None;
    }
    let folder = fstat(&dir).ok()?;
    Some(OpenedFile {
        file: std::fs::File::from(fd),
        meta: Meta::of(&st),
        folder: Meta::of(&folder),
        link_writers,
    })
}

/// The names in an opened folder.
fn list(dir: &OwnedFd) -> io::Result<Vec<OsString>> {
    let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
    let mut d = nix::dir::Dir::openat(dir, ".", flags, Mode::empty())?;
    let mut names = Vec::new();
    for entry in d.iter() {
        let entry = entry?;
        let name = entry.file_name().to_bytes();
        if name != b"." && name != b".." {
            names.push(OsString::from(std::ffi::OsStr::from_bytes(name)));
        }
    }
    Ok(names)
}

/// Resolves `path` component by component from `/` or the working
/// directory; returns the descriptor of where it leads (`O_PATH`), and
/// records every folder traversed in `seen`.
fn resolve(
    path: &Path,
    trusted_link: &impl Fn(u32) -> bool,
    seen: &mut Vec<(PathBuf, Meta)>,
) -> Result<OwnedFd, OpenError> {
    resolve_noting_links(path, trusted_link, seen, &mut Vec::new())
}

/// [`resolve`], noting in `link_writers` who could change where a link
/// followed leads: the link's owner and the owner of the folder holding it.
fn resolve_noting_links(
    path: &Path,
    trusted_link: &impl Fn(u32) -> bool,
    seen: &mut Vec<(PathBuf, Meta)>,
    link_writers: &mut Vec<u32>,
) -> Result<OwnedFd, OpenError> {
    let start = if path.is_absolute() {
        PathBuf::from("/")
    } else {
        std::env::current_dir().map_err(|e| OpenError::Io(path.to_path_buf(), e))?
    };
    // The working directory itself is reached by its resolved path.
    let mut todo: Vec<OsString> = Vec::new();
    push_components(&mut todo, path);
    let mut stack: Vec<(OwnedFd, PathBuf)> = Vec::new();
    open_chain(&start, &mut stack, seen)?;
    let mut links = 0;
    while let Some(part) = todo.pop() {
        let (fd, at) = stack.last().expect("the root is always there");
        if part == ".." {
            if stack.len() > 1 {
                stack.pop();
            }
            continue;
        }
        let here = at.join(&part);
        let flags = OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
        let opened = openat(fd, part.as_os_str(), flags, Mode::empty())
            .map_err(|e| OpenError::Io(here.clone(), e.into()))?;
        let st = fstat(&opened).map_err(|e| OpenError::Io(here.clone(), e.into()))?;
        let kind = SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT;
        if kind == SFlag::S_IFLNK {
            if !trusted_link(st.st_uid) {
                return Err(OpenError::UntrustedLink {
                    path: here,
                    owner: st.st_uid,
                });
            }
            link_writers.push(st.st_uid);
            if let Ok(holder) = fstat(fd) {
                link_writers.push(holder.st_uid);
            }
            links += 1;
            if links > MAX_LINKS {
                return Err(OpenError::TooManyLinks(path.to_path_buf()));
            }
            let target = readlinkat(fd, part.as_os_str())
                .map_err(|e| OpenError::Io(here.clone(), e.into()))?;
            let target = PathBuf::from(target);
            push_components(&mut todo, &target);
            if target.is_absolute() {
                stack.truncate(1);
            }
            continue;
        }
        let meta = Meta::of(&st);
        if !meta.is_dir && !todo.is_empty() {
            return Err(OpenError::Io(here, Errno::ENOTDIR.into()));
        }
        if meta.is_dir && !todo.is_empty() {
            note(seen, &here, meta);
        }
        stack.push((opened, here));
    }
    let (fd, _) = stack.pop().expect("the root is always there");
    Ok(fd)
}

/// Pushes `path`'s components onto `todo` so that they pop in order.
fn push_components(todo: &mut Vec<OsString>, path: &Path) {
    let parts: Vec<OsString> = path
        .components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n.to_os_string()),
            Component::ParentDir => Some("..".into()),
            _ => None,
        })
        .collect();
    todo.extend(parts.into_iter().rev());
}

/// Opens `/` and then each folder of the absolute, resolved `start`.
fn open_chain(
    start: &Path,
    stack: &mut Vec<(OwnedFd, PathBuf)>,
    seen: &mut Vec<(PathBuf, Meta)>,
) -> Result<(), OpenError> {
    let flags = OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
    let root = nix::fcntl::open("/", flags, Mode::empty())
        .map_err(|e| OpenError::Io("/".into(), e.into()))?;
    let meta = fstat(&root).map_err(|e| OpenError::Io("/".into(), e.into()))?;
    note(seen, Path::new("/"), Meta::of(&meta));
    stack.push((root, PathBuf::from("/")));
    for c in start.components() {
        let Component::Normal(name) = c else { continue };
        let (fd, at) = stack.last().expect("root");
        let here = at.join(name);
        let opened = openat(fd, name, flags | OFlag::O_NOFOLLOW, Mode::empty())
            .map_err(|e| OpenError::Io(here.clone(), e.into()))?;
        let st = fstat(&opened).map_err(|e| OpenError::Io(here.clone(), e.into()))?;
        note(seen, &here, Meta::of(&st));
        stack.push((opened, here));
    }
    Ok(())
}

/// Records a folder traversed, once per inode.
fn note(seen: &mut Vec<(PathBuf, Meta)>, path: &Path, meta: Meta) {
    if !seen
        .iter()
        .any(|(_, m)| (m.dev, m.ino) == (meta.dev, meta.ino))
    {
        seen.push((path.to_path_buf(), meta));
    }
}

#[cfg(test)]
#[path = "opened_tests.rs"]
mod tests;
