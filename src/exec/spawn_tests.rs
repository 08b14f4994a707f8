//! Tests of `spawn_detached` against real processes.
use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::time::Duration;

use super::*;
use crate::exec::stop::{stop_process, StopOutcome};
use crate::exec::test_support::{argv, pid_gone, wait_for, KillOnDrop};
use crate::procfs::is_same_process;

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_default()
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn sleep_runs_in_its_own_session_with_a_pid_file() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("logs/deep/sleep.log");
    let pid_file = dir.path().join("pids/sleep.pid");
    let id = spawn_detached(&argv(&["sleep", "30"]), &log, &pid_file).unwrap();
    let _guard = KillOnDrop(id);

    assert_eq!(read(&pid_file), format!("{}\n", id.pid));
    assert_eq!(crate::procfs::identity(id.pid), Some(id));
    let stat = crate::procfs::read_stat(id.pid).expect("stat");
    assert_eq!(stat.session, id.pid, "session");
    assert_eq!(stat.pgrp, id.pid, "group");
    assert_eq!(mode(&dir.path().join("logs")), 0o700);
    assert_eq!(mode(&dir.path().join("logs/deep")), 0o700);
    assert_eq!(mode(&dir.path().join("pids")), 0o700);
    assert_eq!(mode(&log) & !0o640, 0, "log no wider than 0640");
    // No temporary file is left beside the pid file.
    assert_eq!(fs::read_dir(dir.path().join("pids")).unwrap().count(), 1);

    let outcome = stop_process(Some(id), None, Duration::from_secs(5));
    assert!(
        matches!(
            outcome,
            StopOutcome::Stopped {
                signal: "SIGTERM",
                ..
            }
        ),
        "{outcome:?}"
    );
    assert!(!is_same_process(id) || pid_gone(id.pid));
}

#[test]
fn output_is_appended_to_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("svc.log");
    fs::write(&log, "earlier\n").unwrap();
    let script = "echo hello; echo err >&2; sleep 30";
    let id = spawn_detached(
        &argv(&["sh", "-c", script]),
        &log,
        &dir.path().join("svc.pid"),
    )
    .unwrap();
    let _guard = KillOnDrop(id);
    assert!(
        wait_for(Duration::from_secs(5), || read(&log).contains("err\n")),
        "log: {:?}",
        read(&log)
    );
    assert_eq!(read(&log), "earlier\nhello\nerr\n");
}

#[test]
fn environment_is_clean() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("env.log");
    let id = spawn_detached(&argv(&["env"]), &log, &dir.path().join("env.pid")).unwrap();
    let _guard = KillOnDrop(id);
    assert!(wait_for(Duration::from_secs(5), || pid_gone(id.pid)));
    let text = read(&log);
    let allowed = [
        "PATH",
        "LANG",
        "HOME",
        "USER",
        "LOGNAME",
        "TZ",
        "SUPERVISORCTL",
    ];
    for line in text.lines() {
        let name = line.split('=').next().unwrap();
        assert!(allowed.contains(&name), "unexpected {line:?}");
    }
    assert!(text.contains("SUPERVISORCTL=1\n"), "{text}");
}

#[test]
fn exited_child_is_reaped_not_a_zombie() {
    let dir = tempfile::tempdir().unwrap();
    let id = spawn_detached(
        &argv(&["true"]),
        &dir.path().join("t.log"),
        &dir.path().join("t.pid"),
    )
    .unwrap();
    let _guard = KillOnDrop(id);
    assert!(
        wait_for(Duration::from_secs(5), || !is_same_process(id)),
        "pid {} still in /proc",
        id.pid
    );
}

#[test]
fn symlinked_log_is_refused_and_nothing_starts() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("elsewhere");
    fs::write(&target, "").unwrap();
    let log = dir.path().join("svc.log");
    symlink(&target, &log).unwrap();
    let pid_file = dir.path().join("svc.pid");
    let err = spawn_detached(&argv(&["sleep", "30"]), &log, &pid_file).unwrap_err();
    assert!(err.to_string().contains("cannot open log"), "{err}");
    assert!(!pid_file.exists());
    assert_eq!(read(&target), "");
}

#[test]
fn missing_binary_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = spawn_detached(
        &argv(&["no-such-binary-xyz"]),
        &dir.path().join("x.log"),
        &dir.path().join("x.pid"),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot run `no-such-binary-xyz`: no such file or directory"
    );
    assert!(!dir.path().join("x.pid").exists());
}

#[test]
fn unwritable_pid_file_stops_the_child_again() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("svc.pid");
    fs::create_dir(&pid_file).unwrap(); // a rename over a folder fails
    let err = spawn_detached(
        &argv(&["sleep", "30"]),
        &dir.path().join("svc.log"),
        &pid_file,
    )
    .unwrap_err();
    let text = err.to_string();
    assert!(text.starts_with("cannot write pid file"), "{text}");
    let pid: u32 = text
        .split("(pid ")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .and_then(|n| n.parse().ok())
        .expect("pid in message");
    assert!(pid_gone(pid), "pid {pid} left running");
    assert_eq!(
        fs::read_dir(dir.path()).unwrap().count(),
        2,
        "no temp file left"
    );
}
