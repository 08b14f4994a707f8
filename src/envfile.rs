//! The environment file: `/etc/supervisorctl/env` (or the file named by
//! `SUPERVISORCTL_ENV_FILE`), read once at start, before the command line
//! is parsed, so that a command run by hand finds the same configuration
//! as the systemd units, which name the same file in `EnvironmentFile=`.
//!
//! **Format** (the part of systemd's `EnvironmentFile=` syntax we accept):
//! one `KEY=VALUE` a line; blank lines and lines whose first non-blank
//! character is `#` or `;` are skipped; spaces around the key and the value
//! are dropped; a value wholly in double or single quotes loses them. No
//! escapes, no line continuations, no `$VAR` expansion, no `export`. A line
//! that is none of these is ignored with a warning naming `file:line`.
//!
//! **What is applied.** Only `SUPERVISORCTL_*` keys (except
//! `SUPERVISORCTL_ENV_FILE` itself), and each only when that variable is
//! not set in our environment: a flag wins over the environment, the
//! environment over the file, the file over the built-in default. Under the
//! shipped units systemd has already put the file into the environment, so
//! reading it again changes nothing.
//!
//! **Trust.** A missing file is fine (nothing applied, nothing said). As
//! root, the file is refused with a warning (and nothing of it applied)
//! unless it is a regular file owned by root and not writable by group or
//! others, in a folder owned by root and not writable by group or others
//! (or sticky): it decides which hosts/ we run commands from. It is opened
//! without following a symbolic link, as root or not: a symlink is refused
//! with a warning (a copy, not a link, belongs in `/etc/supervisorctl`).
use std::fs::Metadata;
use std::io::{self, Read};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// Where the file is read when `SUPERVISORCTL_ENV_FILE` is not set.
pub const DEFAULT_PATH: &str = "/etc/supervisorctl/env";
/// Names the environment file; set but empty: read none.
pub const PATH_VARIABLE: &str = "SUPERVISORCTL_ENV_FILE";
/// A larger file is refused: it is a handful of lines.
const MAX_BYTES: u64 = 64 * 1024;

/// Reads the environment file and sets each of its `SUPERVISORCTL_*`
/// variables not already set; warnings go to stderr. Call it first thing
/// in `main`, while the process has one thread.
pub fn apply() {
    let Some(path) = path() else { return };
    let root = nix::unistd::geteuid().is_root();
    let (pairs, warnings) = match read(&path, root) {
        Ok(Some(text)) => parse(&path, &text),
        Ok(None) => return,
        Err(why) => (
            Vec::new(),
            vec![format!(
                "environment file `{}` ignored: {why}",
                path.display()
            )],
        ),
    };
    for w in warnings {
        eprintln!("warning: {}", crate::text::escape_control_lines(&w));
    }
    for (key, value) in pairs {
        if std::env::var_os(&key).is_none() {
            std::env::set_var(key, value);
        }
    }
}

/// The file to read: `SUPERVISORCTL_ENV_FILE`, else [`DEFAULT_PATH`];
/// `None` when that variable is set but empty.
fn path() -> Option<PathBuf> {
    match std::env::var_os(PATH_VARIABLE) {
        Some(p) if p.is_empty() => None,
        Some(p) => Some(PathBuf::from(p)),
        None => Some(PathBuf::from(DEFAULT_PATH)),
    }
}

/// The file's text; `Ok(None)` when it does not exist; `Err(why)` when it
/// is refused or unreadable.
pub fn read(path: &Path, root: bool) -> Result<Option<String>, String> {
    let file = match std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc_flags())
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) if e.raw_os_error() == Some(nix::libc::ELOOP) => {
            return Err("it is a symbolic link (put the file itself there)".into())
        }
        Err(e) => return Err(format!("cannot open it: {e}")),
    };
    let meta = file
        .metadata()
        .map_err(|e| format!("cannot stat it: {e}"))?;
    if !meta.is_file() {
        return Err("it is not a regular file".into());
    }
    if root {
        untrusted(&meta, false).map_err(|why| format!("as root, the file {why}"))?;
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
        let dir = dir.unwrap_or(Path::new("."));
        let dmeta = std::fs::metadata(dir)
            .map_err(|e| format!("cannot stat its folder `{}`: {e}", dir.display()))?;
        untrusted(&dmeta, true)
            .map_err(|why| format!("as root, its folder `{}` {why}", dir.display()))?;
    }
    if meta.len() > MAX_BYTES {
        return Err(format!("it is larger than {MAX_BYTES} bytes"));
    }
    let mut bytes = Vec::new();
    (&file)
        .take(MAX_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read it: {e}"))?;
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|_| "it is not UTF-8".into())
}

fn libc_flags() -> i32 {
    nix::libc::O_NOFOLLOW | nix::libc::O_CLOEXEC | nix::libc::O_NONBLOCK
}

/// `Err(why)` when `meta` is not owned by root or is writable by group or
/// others (a root-owned sticky folder, like `/tmp`, is accepted).
fn untrusted(meta: &Metadata, folder: bool) -> Result<(), String> {
    if meta.uid() != 0 {
        return Err(format!("must be owned by root, not uid {}", meta.uid()));
    }
    let sticky = folder && meta.mode() & 0o1000 != 0;
    if meta.mode() & 0o022 != 0 && !sticky {
        return Err(format!(
            "must not be writable by group or others (mode {:04o})",
            meta.mode() & 0o7777
        ));
    }
    Ok(())
}

/// The `SUPERVISORCTL_*` assignments of `text`, in file order (a later
/// line wins, as in systemd), and a warning for each line we do not read.
pub fn parse(path: &Path, text: &str) -> (Vec<(String, String)>, Vec<String>) {
    let (mut pairs, warnings) = parse_assignments(path, text);
    pairs.retain(|(key, _)| key.starts_with("SUPERVISORCTL_") && key != PATH_VARIABLE);
    (pairs, warnings)
}

/// Every assignment of `text` in the format above (a spawned service's
/// `env_file`), one per name, in file order of their last line, and a
/// warning for each line that is not one.
pub fn parse_assignments(path: &Path, text: &str) -> (Vec<(String, String)>, Vec<String>) {
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut warnings = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            warnings.push(format!(
                "{}:{}: ignored: not KEY=VALUE (hint: one assignment a line, e.g. SUPERVISORCTL_HOSTS=/etc/supervisorctl/hosts)",
                path.display(),
                i + 1
            ));
            continue;
        };
        let key = key.trim();
        if !valid_key(key) {
            warnings.push(format!(
                "{}:{}: ignored: `{key}` is not a variable name (hint: letters, digits and `_`, no `export`)",
                path.display(),
                i + 1
            ));
            continue;
        }
        let value = unquote(value.trim());
        pairs.retain(|(k, _)| k != key);
        pairs.push((key.to_string(), value.to_string()));
    }
    (pairs, warnings)
}

fn valid_key(key: &str) -> bool {
    let mut bytes = key.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// `"v"` and `'v'` are `v`; anything else is as written.
fn unquote(value: &str) -> &str {
    for q in ['"', '\''] {
        if value.len() >= 2 && value.starts_with(q) && value.ends_with(q) {
            return &value[1..value.len() - 1];
        }
    }
    value
}

#[cfg(test)]
#[path = "envfile_tests.rs"]
mod tests;
