//! Atomic replacement of a file: a reader sees the old content or the new,
//! never a mix, even if we crash or lose power mid-write.
//!
//! Guarantees: the temporary file is created in the same folder with
//! `O_CREAT|O_EXCL|O_NOFOLLOW` (a planted symlink or leftover is never written
//! through), mode 0600, `fsync`ed before the `rename`, and the folder is
//! `fsync`ed after it. `rename` replaces a symlink at the destination rather
//! than following it. Caveats: on a failure the temporary file is removed;
//! if we are killed, a `.<name>.tmp-<pid>` may remain and is overwritten by
//! nobody else (the next run uses its own pid).
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path.file_name().ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no file name"))?;
    let tmp = dir.join(format!(".{}.tmp-{}", name.to_string_lossy(), std::process::id()));
    let write = || -> io::Result<()> {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_CLOEXEC)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        File::open(dir)?.sync_all()
    };
    let result = write();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_content_and_leaves_no_temporary() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("checkpoint.json");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        assert_eq!(std::fs::read_dir(t.path()).unwrap().count(), 1);
    }

    #[test]
    fn never_writes_through_a_planted_symlink() {
        let t = tempfile::tempdir().unwrap();
        let victim = t.path().join("victim");
        std::fs::write(&victim, b"keep").unwrap();
        let p = t.path().join("checkpoint.json");
        let tmp = t.path().join(format!(".checkpoint.json.tmp-{}", std::process::id()));
        std::os::unix::fs::symlink(&victim, &tmp).unwrap();
        assert!(write_atomic(&p, b"evil").is_err());
        assert_eq!(std::fs::read(&victim).unwrap(), b"keep");
    }
}
