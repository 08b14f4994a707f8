//! Tests of `stop_process` and `is_protected` against real processes.
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

use super::*;
use crate::exec::test_support::{argv, pid_gone, wait_for, ChildGuard};

/// Starts `argv` as our child in its own process group (a child in ours
/// would be protected).
fn start(words: &[&str]) -> ChildGuard {
    let child = Command::new(words[0])
        .args(&words[1..])
        .stdin(Stdio::null())
        .process_group(0)
        .spawn()
        .expect("start test process");
    ChildGuard(child)
}

#[test]
fn sigterm_stops_sleep() {
    let child = start(&["sleep", "30"]);
    let id = child.identity();
    let outcome = stop_process(Some(id), None, Duration::from_secs(5));
    match outcome {
        StopOutcome::Stopped { signal, waited } => {
            assert_eq!(signal, "SIGTERM");
            assert!(waited < Duration::from_secs(5));
        }
        other => panic!("{other:?}"),
    }
    // Our own unreaped child stays a zombie, and counts as gone.
    assert!(pid_gone(id.pid));
}

#[test]
fn process_ignoring_term_gets_sigkill() {
    let child = start(&["sh", "-c", "trap '' TERM; exec sleep 30"]);
    let id = child.identity();
    // Wait until the trap is set and sleep has replaced the shell.
    assert!(wait_for(Duration::from_secs(5), || {
        std::fs::read_to_string(format!("/proc/{}/comm", id.pid)).is_ok_and(|c| c == "sleep\n")
    }));
    let started = Instant::now();
    let outcome = stop_process(Some(id), None, Duration::from_millis(300));
    match outcome {
        StopOutcome::Stopped { signal, waited } => {
            assert_eq!(signal, "SIGKILL");
            assert!(waited >= Duration::from_millis(300), "{waited:?}");
        }
        other => panic!("{other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(pid_gone(id.pid));
}

#[test]
fn wrong_start_ticks_is_already_gone_and_untouched() {
    let child = start(&["sleep", "30"]);
    let real = child.identity();
    let stale = ProcessIdentity {
        pid: real.pid,
        start_ticks: real.start_ticks.wrapping_sub(1),
    };
    assert_eq!(
        stop_process(Some(stale), None, Duration::from_millis(300)),
        StopOutcome::AlreadyGone
    );
    std::thread::sleep(Duration::from_millis(100));
    assert!(
        is_running(real),
        "the process with the reused pid was signalled"
    );
}

#[test]
fn exited_process_is_already_gone() {
    let mut child = start(&["true"]);
    let id = child.identity();
    child.0.wait().unwrap();
    assert_eq!(
        stop_process(Some(id), None, Duration::from_millis(300)),
        StopOutcome::AlreadyGone
    );
    assert_eq!(
        stop_process(None, None, Duration::from_millis(300)),
        StopOutcome::AlreadyGone
    );
}

#[test]
fn protected_pids_are_refused() {
    let me = crate::procfs::identity(std::process::id()).unwrap();
    for id in [
        crate::procfs::identity(1).unwrap(),
        me,
        ProcessIdentity {
            pid: 0,
            start_ticks: 0,
        },
    ] {
        match stop_process(Some(id), None, Duration::from_millis(100)) {
            StopOutcome::Refused(reason) => assert!(reason.contains("pid"), "{reason}"),
            other => panic!("pid {}: {other:?}", id.pid),
        }
    }
    assert_eq!(is_protected(0), Some("pid 0"));
    assert_eq!(is_protected(1), Some("pid 1"));
    assert_eq!(is_protected(std::process::id()), Some("our own process"));
    assert_eq!(
        is_protected(u32::try_from(getppid().as_raw()).unwrap()),
        Some("our parent")
    );
    assert_eq!(is_protected(u32::MAX), Some("pid out of range"));
}

#[test]
fn members_of_our_process_group_are_protected() {
    let in_our_group = ChildGuard(
        Command::new("sleep")
            .arg("30")
            .stdin(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let id = in_our_group.identity();
    assert_eq!(is_protected(id.pid), Some("our process group"));
    assert!(matches!(
        stop_process(Some(id), None, Duration::from_millis(100)),
        StopOutcome::Refused(_)
    ));
    assert!(is_running(id));
    let own_group = start(&["sleep", "30"]);
    assert_eq!(is_protected(own_group.identity().pid), None);
}

#[test]
fn stop_command_is_used_first() {
    let child = start(&["sleep", "30"]);
    let id = child.identity();
    let kill_argv = argv(&["kill", &id.pid.to_string()]);
    match stop_process(Some(id), Some(&kill_argv), Duration::from_secs(5)) {
        StopOutcome::StopCommand(result) => assert!(result.success(), "{result:?}"),
        other => panic!("{other:?}"),
    }
    assert!(pid_gone(id.pid));
}

#[test]
fn failed_stop_command_falls_through_to_signals() {
    let child = start(&["sleep", "30"]);
    let id = child.identity();
    let failing = argv(&["false"]);
    let outcome = stop_process(Some(id), Some(&failing), Duration::from_secs(5));
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
    assert!(pid_gone(id.pid));
}

#[test]
fn stop_command_without_target_reports_the_command() {
    match stop_process(None, Some(&argv(&["false"])), Duration::from_secs(1)) {
        StopOutcome::StopCommand(result) => assert_eq!(result.exit_code, Some(1)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_zombie_keeps_its_identity_but_is_not_running() {
    let me = std::process::id();
    let state = |pid| crate::procfs::read_stat(pid).map(|s| s.state);
    assert_eq!(
        crate::procfs::read_stat(me).map(|s| s.ppid),
        Some(getppid().as_raw().unsigned_abs())
    );
    assert_eq!(state(u32::MAX), None);
    let mut child = start(&["sleep", "30"]);
    let id = child.identity();
    assert!(wait_for(Duration::from_secs(5), || state(id.pid) == Some('S')));
    child.0.kill().unwrap();
    assert!(wait_for(Duration::from_secs(5), || state(id.pid) == Some('Z')));
    assert!(
        crate::procfs::is_same_process(id),
        "a zombie keeps its identity"
    );
    assert!(!is_running(id), "but is not running");
    assert!(pid_gone(id.pid));
    assert_eq!(
        stop_process(Some(id), None, Duration::from_millis(100)),
        StopOutcome::AlreadyGone,
        "a zombie is not signalled"
    );
}
