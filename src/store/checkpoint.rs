//! The checkpoint file: read (never through a symlink, at most 64 MiB), set
//! aside when it cannot be read, and saved atomically. The checkpoint's type
//! belongs to the core (`crate::checkpoint`); this module only moves bytes.
//!
//! Guarantees: an unreadable checkpoint is never deleted: it is renamed to
//! `checkpoint.json.corrupt-<stamp>` (with `-1`, `-2`… if taken) for a person
//! to look at, and the run starts from empty state.
use std::io;
use std::path::{Path, PathBuf};

pub const MAX_CHECKPOINT_BYTES: u64 = 64 << 20;

pub enum Loaded<T> {
    Missing,
    Ready(T),
    Unreadable { error: String },
}

pub fn load<T: serde::de::DeserializeOwned>(path: &Path) -> Loaded<T> {
    match super::read_limited(path, MAX_CHECKPOINT_BYTES) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Loaded::Missing,
        Err(e) if e.raw_os_error() == Some(nix::libc::ELOOP) => Loaded::Unreadable { error: "is a symlink; refusing to follow it".into() },
        Err(e) => Loaded::Unreadable { error: e.to_string() },
        Ok(bytes) => match serde_json::from_slice(&bytes) {
            Ok(v) => Loaded::Ready(v),
            Err(e) => Loaded::Unreadable { error: format!("not a valid checkpoint: {e}") },
        },
    }
}

pub fn set_aside(path: &Path, stamp: &str) -> io::Result<PathBuf> {
    let base = format!("{}.corrupt-{stamp}", path.display());
    let mut target = PathBuf::from(&base);
    let mut n = 0;
    while std::fs::symlink_metadata(&target).is_ok() {
        n += 1;
        target = PathBuf::from(format!("{base}-{n}"));
    }
    std::fs::rename(path, &target)?;
    Ok(target)
}

pub fn save<T: serde::Serialize>(path: &Path, value: &T) -> io::Result<()> {
    let mut bytes = serde_json::to_vec_pretty(value).map_err(io::Error::other)?;
    bytes.push(b'\n');
    super::atomic::write_atomic(path, &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_ready_unreadable_and_set_aside() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("checkpoint.json");
        assert!(matches!(load::<serde_json::Value>(&p), Loaded::Missing));
        save(&p, &serde_json::json!({"version": 1})).unwrap();
        assert!(matches!(load::<serde_json::Value>(&p), Loaded::Ready(v) if v["version"] == 1));
        std::fs::write(&p, b"\x00garbage").unwrap();
        assert!(matches!(load::<serde_json::Value>(&p), Loaded::Unreadable { .. }));
        let a = set_aside(&p, "20261123T120000Z").unwrap();
        std::fs::write(&p, b"again").unwrap();
        let b = set_aside(&p, "20261123T120000Z").unwrap();
        assert!(a.to_string_lossy().ends_with("checkpoint.json.corrupt-20261123T120000Z"));
        assert!(b.to_string_lossy().ends_with("-1"));
        assert!(!p.exists());
    }

    #[test]
    fn a_symlinked_checkpoint_is_not_followed() {
        let t = tempfile::tempdir().unwrap();
        let real = t.path().join("real.json");
        std::fs::write(&real, b"{\"version\":1}").unwrap();
        let p = t.path().join("checkpoint.json");
        std::os::unix::fs::symlink(&real, &p).unwrap();
        assert!(matches!(load::<serde_json::Value>(&p), Loaded::Unreadable { .. }));
    }
}
