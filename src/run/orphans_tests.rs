//! Evicting an orphan against real processes: the one the probe saw goes;
//! a reused pid or another user's process is never signalled.
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

use super::*;
use crate::exec::test_support::{pid_gone, ChildGuard};
use crate::procfs::ProcessIdentity;

/// A `sleep` in its own process group (one in ours would be protected).
fn sleeper() -> ChildGuard {
    let child = Command::new("sleep")
        .arg("30")
        .stdin(Stdio::null())
        .process_group(0)
        .spawn()
        .expect("start sleep");
    ChildGuard(child)
}

fn orphan(identity: ProcessIdentity) -> Orphan {
    Orphan {
        identity,
        gpu_index: Some(0),
        gpu_memory_bytes: 2048 << 20,
        uid: procfs::owner(identity.pid),
        cmdline: "sleep 30".into(),
    }
}

fn me() -> u32 {
    nix::unistd::geteuid().as_raw()
}

#[test]
fn the_orphan_the_probe_saw_is_stopped() {
    let child = sleeper();
    let id = child.identity();
    let o = evict(&orphan(id), Some(me()));
    assert!(o.success, "{o:?}");
    assert!(o.reason.contains("with SIGTERM"), "{}", o.reason);
    assert!(o.reason.contains("2.0 GiB on gpu 0 freed"), "{}", o.reason);
    assert!(pid_gone(id.pid));
}

#[test]
fn a_reused_pid_is_not_signalled() {
    let mut child = sleeper();
    let id = child.identity();
    let other = ProcessIdentity {
        start_ticks: id.start_ticks + 1,
        ..id
    };
    let o = evict(&orphan(other), Some(me()));
    assert!(o.reason.contains("nothing signalled"), "{}", o.reason);
    assert!(
        child.0.try_wait().expect("try_wait").is_none(),
        "still alive"
    );
}

#[test]
fn another_users_process_is_not_signalled() {
    let mut child = sleeper();
    let id = child.identity();
    // As if this tool ran as another user than the sleeper's.
    let someone_else = Some(me().wrapping_add(1));
    let o = evict(&orphan(id), someone_else);
    assert!(!o.success);
    assert!(o.reason.starts_with("refused to signal"), "{}", o.reason);
    let o = evict(&orphan(id), None);
    assert!(!o.success, "no known user: refused");
    assert!(
        child.0.try_wait().expect("try_wait").is_none(),
        "still alive"
    );
}
