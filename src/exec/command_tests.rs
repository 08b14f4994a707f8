//! Tests of `run_command` against real processes.
use super::*;
use crate::exec::test_support::{argv, pid_gone, wait_for, KillOnDrop};
use crate::procfs::identity;

const LONG: Duration = Duration::from_secs(10);

#[test]
fn true_succeeds() {
    let r = run_command(&argv(&["true"]), LONG);
    assert!(r.success(), "{r:?}");
    assert_eq!(r.exit_code, Some(0));
    assert_eq!(r.signal, None);
    assert!(!r.timed_out);
    assert_eq!(r.error, None);
}

#[test]
fn exit_code_and_stderr_tail_are_reported() {
    let r = run_command(&argv(&["sh", "-c", "echo oops >&2; exit 3"]), LONG);
    assert!(!r.success());
    assert_eq!(r.exit_code, Some(3));
    assert_eq!(r.stderr_tail, "oops");
    assert_eq!(r.error, None);
}

#[test]
fn stderr_keeps_only_the_last_two_kib() {
    let script = "i=0; while [ $i -lt 500 ]; do echo line-$i >&2; i=$((i+1)); done";
    let r = run_command(&argv(&["sh", "-c", script]), LONG);
    assert!(r.success(), "{r:?}");
    assert!(r.stderr_tail.len() <= 2048, "{}", r.stderr_tail.len());
    assert!(r.stderr_tail.ends_with("line-499"));
    assert!(!r.stderr_tail.contains("line-0\n"));
}

#[test]
fn timeout_kills_the_whole_group() {
    let started = Instant::now();
    let r = run_command(
        &argv(&["sh", "-c", "sleep 30 & echo $! >&2; sleep 30"]),
        Duration::from_millis(200),
    );
    assert!(started.elapsed() < Duration::from_secs(3), "{r:?}");
    let grandchild: u32 = r.stderr_tail.parse().expect("grandchild pid on stderr");
    let _guard = identity(grandchild).map(KillOnDrop);
    assert!(r.timed_out);
    assert!(!r.success());
    assert_eq!(r.exit_code, None);
    assert_eq!(r.signal, Some(9));
    assert!(
        wait_for(Duration::from_secs(2), || pid_gone(grandchild)),
        "grandchild {grandchild} survived the timeout"
    );
}

#[test]
fn plain_timeout_returns_quickly() {
    let started = Instant::now();
    let r = run_command(&argv(&["sleep", "10"]), Duration::from_millis(200));
    assert!(r.timed_out);
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(r.duration >= Duration::from_millis(200));
}

#[test]
fn missing_binary_is_an_error() {
    let r = run_command(&argv(&["no-such-binary-xyz"]), LONG);
    assert!(!r.success());
    assert_eq!(r.exit_code, None);
    assert_eq!(
        r.error.as_deref(),
        Some("cannot run `no-such-binary-xyz`: no such file or directory")
    );
}

#[test]
fn empty_argv_is_an_error() {
    let r = run_command(&[], LONG);
    assert!(!r.success());
    assert!(r.error.is_some());
}

#[test]
fn environment_is_clean() {
    // cargo sets CARGO_MANIFEST_DIR for test binaries; it must not leak.
    assert!(std::env::var_os("CARGO_MANIFEST_DIR").is_some());
    let r = run_command(
        &argv(&["sh", "-c", "env >&2; [ -z \"$CARGO_MANIFEST_DIR\" ]"]),
        LONG,
    );
    assert!(r.success(), "{r:?}");
    let lines: Vec<&str> = r.stderr_tail.lines().collect();
    assert!(lines.contains(&format!("PATH={}", super::super::env::CLEAN_PATH).as_str()));
    assert!(lines.contains(&"LANG=C.UTF-8"));
    assert!(lines.contains(&"SUPERVISORCTL=1"));
    assert!(!lines.iter().any(|l| l.starts_with("CARGO")), "{lines:?}");
}

#[test]
fn runs_in_root_folder_with_null_stdin() {
    let r = run_command(
        &argv(&["sh", "-c", "[ \"$(pwd)\" = / ] && ! read line"]),
        LONG,
    );
    assert!(r.success(), "{r:?}");
}

#[test]
fn captures_stdout_of_a_quick_child() {
    let r = run_bounded(&["sh", "-c", "echo hello"], LONG, Capture::stdout(1024));
    assert!(r.success(), "{r:?}");
    assert_eq!(r.stdout, b"hello\n");
    assert_eq!(r.stderr_tail, "");
}

#[test]
fn stdout_is_cut_at_its_limit() {
    let r = run_bounded(&["sh", "-c", "echo 0123456789"], LONG, Capture::stdout(4));
    assert_eq!(r.stdout, b"0123");
    let r = run_bounded(&["yes"], LONG, Capture::stdout(10));
    assert_eq!(r.stdout, b"y\ny\ny\ny\ny\n");
    assert!(!r.timed_out, "closing the pipe ends `yes`: {r:?}");
    assert_eq!(r.signal, Some(13), "SIGPIPE");
}

#[test]
fn captured_stdout_held_by_the_group_is_killed_at_the_deadline() {
    let started = Instant::now();
    // The shell's `sleep` holds stdout; killing only the shell would leave
    // the reader waiting for 30 s.
    let r = run_bounded(
        &["sh", "-c", "sleep 30; echo late"],
        Duration::from_millis(200),
        Capture::stdout(1024),
    );
    assert!(r.timed_out, "{r:?}");
    assert!(r.stdout.is_empty());
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[test]
fn nothing_captured_discards_both_streams() {
    let r = run_bounded(
        &["sh", "-c", "echo out; echo err >&2; exit 4"],
        LONG,
        Capture::NOTHING,
    );
    assert_eq!(r.exit_code, Some(4));
    assert!(r.stdout.is_empty() && r.stderr_tail.is_empty(), "{r:?}");
}

#[test]
fn a_command_that_leaves_its_group_is_still_killed() {
    let started = Instant::now();
    let r = run_bounded(
        &["perl", "-e", "setpgrp(0, 0); sleep 30"],
        Duration::from_millis(300),
        Capture::STDERR_TAIL,
    );
    assert!(started.elapsed() < Duration::from_secs(3), "{r:?}");
    assert!(r.timed_out);
    assert_eq!(r.signal, Some(9));
}

#[test]
fn only_stdin_stdout_and_stderr_are_inherited() {
    // A descriptor of ours without close-on-exec, like a `flock` lock.
    let file = tempfile::tempfile().unwrap();
    let fd = std::os::fd::AsRawFd::as_raw_fd(&file);
    nix::fcntl::fcntl(
        &file,
        nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::empty()),
    )
    .unwrap();
    let r = run_bounded(
        &["sh", "-c", "ls /proc/$$/fd; true"],
        LONG,
        Capture::stdout(4096),
    );
    assert!(r.success(), "{r:?}");
    let fds: Vec<String> = String::from_utf8_lossy(&r.stdout)
        .split_whitespace()
        .map(str::to_string)
        .collect();
    assert_eq!(fds, ["0", "1", "2"], "fd {fd} of ours leaked");
}

#[test]
fn missing_program_reports_without_os_error_suffix() {
    let r = run_bounded(
        &["/nonexistent/definitely-not-here"],
        Duration::from_secs(1),
        Capture::stdout(16),
    );
    assert_eq!(
        r.error.as_deref(),
        Some("cannot run `/nonexistent/definitely-not-here`: no such file or directory")
    );
}
