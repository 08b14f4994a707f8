//! A state directory the run cannot write: full, read-only, or a folder in
//! which no file can be created. Each must end the run with exit 1 and a
//! clear message, leave the previous checkpoint byte for byte and no
//! temporary file behind, and the next run after the cause is gone must
//! succeed. Root (as in CI containers) writes through `chmod`, so as root
//! the tests use a small tmpfs (full, remounted read-only) and `chattr +i`;
//! where mounting is not allowed they print why and skip.
use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::{check_checkpoint, is_root, succeeded, temp_files, LogCheck, Sample};

/// A tmpfs mounted on a temporary folder, unmounted when dropped.
pub(super) struct Tmpfs {
    pub point: PathBuf,
    _dir: tempfile::TempDir,
}

impl Tmpfs {
    /// None where mounting is not possible (not root, not allowed): the
    /// caller skips, except under `CI=true`, where that is a failure.
    pub(super) fn mount(size: &str) -> Option<Tmpfs> {
        if !is_root() {
            crate::support::skip("mounting a tmpfs needs root");
            return None;
        }
        let dir = tempfile::tempdir().expect("create a mount point");
        let point = dir.path().to_path_buf();
        let ok = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(&point)
            .output()
            .is_ok_and(|o| o.status.success());
        if !ok {
            crate::support::skip("`mount -t tmpfs` is not allowed here");
            return None;
        }
        Some(Tmpfs { point, _dir: dir })
    }

    fn remount(&self, how: &str) -> bool {
        Command::new("mount")
            .args(["-o", &format!("remount,{how}")])
            .arg(&self.point)
            .output()
            .is_ok_and(|o| o.status.success())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let done = Command::new("umount")
            .arg(&self.point)
            .output()
            .is_ok_and(|o| o.status.success());
        if !done {
            let _ = Command::new("umount").arg("-l").arg(&self.point).output();
        }
    }
}

/// Fills the file system of `dir` with zeros until it reports no space.
pub(super) fn fill(dir: &Path) -> PathBuf {
    let path = dir.join("filler");
    let mut file = fs::File::create(&path).expect("create the filler");
    let block = [0u8; 4096];
    while file.write_all(&block).is_ok() {}
    path
}

/// Exit 1, stderr containing every one of `words`, the checkpoint as it
/// was, no temporary file left.
fn assert_failed_cleanly(out: &Output, words: &[&str], sample: &Sample, before: &[u8]) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    for word in words {
        assert!(stderr.contains(word), "stderr lacks `{word}`: {stderr}");
    }
    let after = fs::read(sample.checkpoint()).expect("the checkpoint is still there");
    assert_eq!(after, before, "the checkpoint changed");
    assert_eq!(temp_files(&sample.state), Vec::<String>::new());
}

#[test]
fn a_full_state_dir_fails_cleanly_and_the_next_run_recovers() {
    let Some(fs_) = Tmpfs::mount("64k") else {
        return;
    };
    let sample = Sample::with_state(fs_.point.join("state"));
    sample.run_ok("first run");
    let before = fs::read(sample.checkpoint()).expect("a checkpoint");
    let filler = fill(&fs_.point);
    let out = sample.run(&[]);
    let log = sample.log();
    let log_name = log.to_string_lossy();
    assert_failed_cleanly(
        &out,
        &["no space left on device", &log_name],
        &sample,
        &before,
    );
    fs::remove_file(filler).expect("free the space");
    sample.run_ok("after space was freed");
    // The recovering run is whole and last; its checkpoint is readable.
    let text = fs::read_to_string(sample.log()).expect("read the log");
    let last: serde_json::Value = serde_json::from_str(text.lines().last().unwrap_or_default())
        .expect("the last line is JSON");
    assert_eq!(last["type"], "run_finished");
    let cp: serde_json::Value =
        serde_json::from_slice(&fs::read(sample.checkpoint()).expect("a checkpoint"))
            .expect("the checkpoint is JSON");
    assert_eq!(cp["version"], 1);
    assert_eq!(cp["next_seq"].as_u64(), last["seq"].as_u64().map(|s| s + 1));
}

/// The stricter half: a failed append must not leave part of the run in
/// the log.
#[test]
fn a_full_state_dir_leaves_the_event_log_unchanged() {
    let Some(fs_) = Tmpfs::mount("64k") else {
        return;
    };
    let sample = Sample::with_state(fs_.point.join("state"));
    sample.run_ok("first run");
    let log_before = fs::read(sample.log()).expect("a log");
    let filler = fill(&fs_.point);
    assert_eq!(sample.run(&[]).status.code(), Some(1));
    let log_after = fs::read(sample.log()).expect("the log");
    fs::remove_file(filler).expect("free the space");
    assert!(
        log_after == log_before,
        "the failed run added {} bytes to the log, ending: {}",
        log_after.len() - log_before.len(),
        String::from_utf8_lossy(&log_after[log_after.len().saturating_sub(120)..])
    );
    sample.run_ok("after space was freed");
    let mut check = LogCheck::default();
    check.advance(&sample.log()).expect("whole runs only");
}

#[test]
fn a_read_only_state_dir_fails_cleanly() {
    if !is_root() {
        return read_only_by_mode();
    }
    let Some(fs_) = Tmpfs::mount("1m") else {
        return;
    };
    let sample = Sample::with_state(fs_.point.join("state"));
    sample.run_ok("first run");
    let before = fs::read(sample.checkpoint()).expect("a checkpoint");
    let log_before = fs::read(sample.log()).expect("a log");
    assert!(fs_.remount("ro"), "remount read-only");
    let out = sample.run(&[]);
    let lock = sample.state.join("lock");
    let words = [
        "read-only file system",
        &*lock.to_string_lossy(),
        "--state-dir",
    ];
    assert_failed_cleanly(&out, &words, &sample, &before);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("--wait"), "not a lock held: {stderr}");
    assert_eq!(fs::read(sample.log()).expect("the log"), log_before);
    assert!(fs_.remount("rw"), "remount read-write");
    sample.run_ok("after remounting read-write");
}

/// Without root, mode 0500 is enough to stop every write.
fn read_only_by_mode() {
    let sample = Sample::new();
    sample.run_ok("first run");
    let before = fs::read(sample.checkpoint()).expect("a checkpoint");
    let set = |mode| fs::set_permissions(&sample.state, fs::Permissions::from_mode(mode));
    set(0o500).expect("chmod 0500");
    fs::set_permissions(sample.state.join("lock"), fs::Permissions::from_mode(0o400))
        .expect("chmod the lock");
    let out = sample.run(&[]);
    set(0o700).expect("chmod 0700");
    assert_failed_cleanly(
        &out,
        &["permission denied", "--state-dir"],
        &sample,
        &before,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("--wait"), "not a lock held: {stderr}");
}

/// `chattr +i` on the folder: the lock and the log (existing files) stay
/// writable, but no file can be created, so the checkpoint's temporary
/// file fails. The run's events are already in the log; the next run must
/// continue `seq` from there.
#[test]
fn a_folder_where_no_file_can_be_created_keeps_the_checkpoint() {
    let sample = Sample::new();
    sample.run_ok("first run");
    let before = fs::read(sample.checkpoint()).expect("a checkpoint");
    let chattr = |flag: &str| {
        Command::new("chattr")
            .arg(flag)
            .arg(&sample.state)
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !is_root() || !chattr("+i") {
        crate::support::skip("`chattr +i` is not available here");
        return;
    }
    let out = sample.run(&[]);
    let undone = chattr("-i");
    assert!(undone, "chattr -i");
    let cp = sample.checkpoint();
    assert_failed_cleanly(
        &out,
        &["cannot write checkpoint", &cp.to_string_lossy()],
        &sample,
        &before,
    );
    let out = sample.run(&[]);
    assert!(succeeded(out.status.code()), "{out:?}");
    let mut log = LogCheck::default();
    log.advance(&sample.log())
        .and_then(|()| check_checkpoint(&sample.state, log.last_seq))
        .unwrap_or_else(|e| panic!("after the checkpoint failure: {e}"));
    assert_eq!(log.runs, 3, "the failed run's events stay in the log");
}
