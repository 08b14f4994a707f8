//! Stopping a process: the service's `stop` command if it has one, else
//! SIGTERM, a grace period, then SIGKILL — re-checking the process identity
//! before every signal.
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::{getpgid, getpgrp, getppid, Pid};

use super::command::{run_command, CommandResult};
use crate::procfs::{is_running, is_same_process, ProcessIdentity};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopOutcome {
    Stopped { signal: &'static str, waited: Duration },
    AlreadyGone,
    Refused(String),
    StopCommand(CommandResult),
    Failed(String),
}

/// Why a pid must never be signalled, if it must not.
pub fn is_protected(pid: u32) -> Option<&'static str> {
    let own = std::process::id();
    if pid == 0 {
        return Some("pid 0 (our whole process group)");
    }
    if pid == 1 {
        return Some("pid 1 (init)");
    }
    if pid == own {
        return Some("our own process");
    }
    if pid as i32 == getppid().as_raw() {
        return Some("our parent process");
    }
    if getpgid(Some(Pid::from_raw(pid as i32))).is_ok_and(|g| g == getpgrp()) {
        return Some("a process in our own process group");
    }
    None
}

fn wait_gone(id: ProcessIdentity, limit: Duration) -> bool {
    let start = Instant::now();
    loop {
        if !is_running(id) {
            return true;
        }
        if start.elapsed() >= limit {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub fn stop_process(target: Option<ProcessIdentity>, stop_argv: Option<&[String]>, stop_timeout: Duration) -> StopOutcome {
    if let Some(argv) = stop_argv {
        let r = run_command(argv, stop_timeout + Duration::from_secs(5));
        match target {
            Some(id) if is_running(id) && !wait_gone(id, Duration::from_secs(2)) => {} // still there: fall through to signals
            _ => return StopOutcome::StopCommand(r),
        }
    }
    let Some(id) = target else { return StopOutcome::Failed("no process to stop".into()) };
    if let Some(why) = is_protected(id.pid) {
        return StopOutcome::Refused(format!("pid {} is {why}", id.pid));
    }
    let start = Instant::now();
    for (signal, name, grace) in [(Signal::SIGTERM, "SIGTERM", stop_timeout), (Signal::SIGKILL, "SIGKILL", Duration::from_secs(2))] {
        // Identity first, signal right after: a reused pid is never signalled.
        if !is_same_process(id) || !is_running(id) {
            return if signal == Signal::SIGTERM { StopOutcome::AlreadyGone } else { StopOutcome::Stopped { signal: "SIGTERM", waited: start.elapsed() } };
        }
        if let Err(e) = kill(Pid::from_raw(id.pid as i32), signal) {
            return match e {
                nix::errno::Errno::ESRCH => StopOutcome::AlreadyGone,
                e => StopOutcome::Failed(format!("{name} to pid {}: {e}", id.pid)),
            };
        }
        if wait_gone(id, grace) {
            return StopOutcome::Stopped { signal: name, waited: start.elapsed() };
        }
    }
    StopOutcome::Failed(format!("pid {} survived SIGKILL", id.pid))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::procfs::identity;
    use std::process::{Child, Command};

    struct Guard(Child);
    impl Drop for Guard {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    fn start(args: &[&str]) -> (Guard, ProcessIdentity) {
        // Its own process group: our group is protected.
        use std::os::unix::process::CommandExt;
        let child = Command::new(args[0]).args(&args[1..]).process_group(0).spawn().unwrap();
        let id = identity(child.id()).unwrap();
        (Guard(child), id)
    }

    #[test]
    fn sigterm_stops_a_sleep() {
        let (_g, id) = start(&["sleep", "30"]);
        let r = stop_process(Some(id), None, Duration::from_secs(5));
        assert!(matches!(r, StopOutcome::Stopped { signal: "SIGTERM", .. }), "{r:?}");
    }

    #[test]
    fn sigkill_after_the_grace_period() {
        let (_g, id) = start(&["sh", "-c", "trap '' TERM; while :; do sleep 0.05; done"]);
        std::thread::sleep(Duration::from_millis(100));
        let r = stop_process(Some(id), None, Duration::from_millis(300));
        assert!(matches!(r, StopOutcome::Stopped { signal: "SIGKILL", .. }), "{r:?}");
    }

    #[test]
    fn a_reused_pid_is_never_signalled() {
        let (mut g, id) = start(&["sleep", "30"]);
        let stale = ProcessIdentity { pid: id.pid, start_ticks: id.start_ticks + 1 };
        assert_eq!(stop_process(Some(stale), None, Duration::from_secs(1)), StopOutcome::AlreadyGone);
        assert!(g.0.try_wait().unwrap().is_none(), "still running");
    }

    #[test]
    fn protected_pids_are_refused() {
        let me = identity(std::process::id()).unwrap();
        assert!(matches!(stop_process(Some(me), None, Duration::from_secs(1)), StopOutcome::Refused(_)));
        let init = ProcessIdentity { pid: 1, start_ticks: identity(1).map_or(0, |i| i.start_ticks) };
        assert!(matches!(stop_process(Some(init), None, Duration::from_secs(1)), StopOutcome::Refused(_)));
    }

    #[test]
    fn stop_command_runs_by_argv() {
        let (_g, id) = start(&["sleep", "30"]);
        let argv = vec!["kill".to_string(), id.pid.to_string()];
        let r = stop_process(Some(id), Some(&argv), Duration::from_secs(5));
        assert!(matches!(r, StopOutcome::StopCommand(ref c) if c.success()), "{r:?}");
    }
}
