//! Helpers for the executor's tests: argv building, waiting on conditions,
//! and guards that kill what a test started even when the test fails.
use std::process::Child;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::procfs::{identity, is_running, ProcessIdentity};

pub fn argv(words: &[&str]) -> Vec<String> {
    words.iter().map(ToString::to_string).collect()
}

/// Polls `cond` every 10 ms until it holds or `limit` passes.
pub fn wait_for(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// True when `pid` has no live process (gone, or a zombie nobody reaped).
pub fn pid_gone(pid: u32) -> bool {
    identity(pid).is_none_or(|id| !is_running(id))
}

/// Kills a process by identity on drop (if it is still the same one) and
/// waits for it to go.
pub struct KillOnDrop(pub ProcessIdentity);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if is_running(self.0) {
            if let Ok(pid) = i32::try_from(self.0.pid) {
                let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            }
            wait_for(Duration::from_secs(2), || !is_running(self.0));
        }
    }
}

/// Owns a child started by a test: kills and reaps it on drop.
pub struct ChildGuard(pub Child);

impl ChildGuard {
    pub fn identity(&self) -> ProcessIdentity {
        identity(self.0.id()).expect("child is in /proc")
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The `supervisorctl` binary cargo built beside this test harness
/// (`target/<profile>/supervisorctl`): the monitor of spawned services.
pub fn built_binary() -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    let bin = exe
        .parent()
        .and_then(|deps| deps.parent())
        .map(|dir| dir.join("supervisorctl"))
        .expect("target folder");
    assert!(
        bin.exists(),
        "`{}` is missing: spawn tests need the binary (run `cargo build` or `cargo test`)",
        bin.display()
    );
    bin
}
