//! Stop one process safely: with the service's own stop command, or with
//! SIGTERM and, after its stop timeout, SIGKILL. The target is named by its
//! identity (pid and start ticks) and re-checked right before every signal,
//! so that a reused pid is never signalled; pids whose loss would hurt us
//! (pid 1, ourselves, our parent, our process group) are refused.
//!
//! # Guarantees
//!
//! - **Gone means not running.** Whether the target is still there is
//!   [`crate::procfs::is_running`]: same pid and start ticks, and not a
//!   zombie or dead task (`Z`, `X`, `x`), the one meaning used everywhere.
//!   A zombie is never signalled.
//! - A stop command runs through [`run_command`], like a restart command.
//!
//! # Assumptions
//!
//! - Linux with `/proc` mounted (see [`crate::procfs`]).
//!
//! # Caveats
//!
//! - Signals go through a pidfd opened while the identity matched; only
//!   where pidfds are not available are the identity check and `kill(2)`
//!   two steps: see the
//!   module docs of [`crate::exec`].
use std::thread;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::{kill, Signal};
use nix::unistd::{getpgid, getpgrp, getppid, Pid};

use super::command::{run_command, CommandResult};
use crate::procfs::{is_running, ProcessIdentity};

/// Pause between two checks of whether the target is gone.
const POLL: Duration = Duration::from_millis(20);
/// How long we wait after SIGKILL before giving up.
const KILL_WAIT: Duration = Duration::from_secs(2);
/// Extra time a stop command gets beyond the service's stop timeout.
const STOP_COMMAND_SLACK: Duration = Duration::from_secs(5);

/// What [`stop_process`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopOutcome {
    /// The process is gone after `signal` (`"SIGTERM"` or `"SIGKILL"`);
    /// `waited` runs from the SIGTERM to the moment it was seen gone.
    Stopped {
        signal: &'static str,
        waited: Duration,
    },
    /// There was nothing to stop: no target, the process had exited, or its
    /// pid now names another process (which was left alone).
    AlreadyGone,
    /// The pid is protected and was not signalled; the reason says why.
    Refused(String),
    /// The stop command ran and the target (if any) is gone afterwards.
    StopCommand(CommandResult),
    /// A signal could not be sent, or the process outlived SIGKILL.
    Failed(String),
}

/// Stops `target`.
///
/// With `stop_argv`, runs it via [`run_command`] with `stop_timeout` + 5 s;
/// if the command succeeded, gives the target up to `stop_timeout` to go.
/// If the target is then still the same live process, falls through to the
/// signals below; otherwise returns [`StopOutcome::StopCommand`].
///
/// Signals: a protected pid ([`is_protected`]) is refused; SIGTERM goes to
/// the pid (not its group), the target is polled every 20 ms until gone or
/// `stop_timeout`, then SIGKILL, and up to 2 s more. Identity is re-checked
/// immediately before each signal: a mismatch means
/// [`StopOutcome::AlreadyGone`]. A zombie or dead task counts as gone. No
/// target and no stop command is [`StopOutcome::AlreadyGone`].
pub fn stop_process(
    target: Option<ProcessIdentity>,
    stop_argv: Option<&[String]>,
    stop_timeout: Duration,
) -> StopOutcome {
    if let Some(argv) = stop_argv {
        let result = run_command(argv, stop_timeout + STOP_COMMAND_SLACK);
        let Some(id) = target else {
            return StopOutcome::StopCommand(result);
        };
        let still_there = if result.success() {
            !wait_gone(id, stop_timeout)
        } else {
            is_running(id)
        };
        if !still_there {
            return StopOutcome::StopCommand(result);
        }
    }
    match target {
        Some(id) => signal_stop(id, stop_timeout),
        None => StopOutcome::AlreadyGone,
    }
}

/// Why `pid` must never be signalled by us, or `None` if it may be.
pub fn is_protected(pid: u32) -> Option<&'static str> {
    let Ok(raw) = i32::try_from(pid) else {
        return Some("pid out of range");
    };
    if pid == 0 {
        return Some("pid 0");
    }
    if pid == 1 {
        return Some("pid 1");
    }
    if pid == std::process::id() {
        return Some("our own process");
    }
    if raw == getppid().as_raw() {
        return Some("our parent");
    }
    match getpgid(Some(Pid::from_raw(raw))) {
        Ok(group) if group == getpgrp() => Some("our process group"),
        _ => None,
    }
}

/// SIGTERM, wait, SIGKILL, wait; identity re-checked before each signal.
fn signal_stop(id: ProcessIdentity, stop_timeout: Duration) -> StopOutcome {
    if let Some(reason) = is_protected(id.pid) {
        return StopOutcome::Refused(format!("pid {} is {reason}", id.pid));
    }
    let started = Instant::now();
    match send(id, Signal::SIGTERM) {
        Sent::Gone => return StopOutcome::AlreadyGone,
        Sent::Failed(why) => return StopOutcome::Failed(why),
        Sent::Yes => {}
    }
    if wait_gone(id, stop_timeout) {
        return stopped("SIGTERM", started);
    }
    match send(id, Signal::SIGKILL) {
        // It went between our last look and the SIGKILL: SIGTERM did it.
        Sent::Gone => return stopped("SIGTERM", started),
        Sent::Failed(why) => return StopOutcome::Failed(why),
        Sent::Yes => {}
    }
    if wait_gone(id, KILL_WAIT) {
        stopped("SIGKILL", started)
    } else {
        StopOutcome::Failed(format!(
            "pid {} is still alive {} s after SIGKILL",
            id.pid,
            KILL_WAIT.as_secs()
        ))
    }
}

fn stopped(signal: &'static str, started: Instant) -> StopOutcome {
    StopOutcome::Stopped {
        signal,
        waited: started.elapsed(),
    }
}

enum Sent {
    Yes,
    Gone,
    Failed(String),
}

/// Sends `signal` to `id.pid` if, right now, it is still the same live
/// process: through a pidfd opened while the identity matched (no pid-reuse
/// window at all), else, where pidfds are not available, by `kill(2)`
/// right after the identity check.
fn send(id: ProcessIdentity, signal: Signal) -> Sent {
    if !is_running(id) {
        return Sent::Gone;
    }
    let Ok(raw) = i32::try_from(id.pid) else {
        return Sent::Failed(format!("pid {} is out of range", id.pid));
    };
    let result = match super::pidfd::open(id) {
        Some(fd) => super::pidfd::send_signal(&fd, signal),
        None if !is_running(id) => return Sent::Gone,
        None => kill(Pid::from_raw(raw), signal),
    };
    match result {
        Ok(()) => Sent::Yes,
        Err(Errno::ESRCH) => Sent::Gone,
        Err(errno) => Sent::Failed(format!(
            "cannot send {} to pid {}: {}",
            signal.as_str(),
            id.pid,
            errno.desc()
        )),
    }
}

/// Polls every 20 ms until `id` is gone; true if it went within `limit`.
fn wait_gone(id: ProcessIdentity, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if !is_running(id) {
            return true;
        }
        let now = Instant::now();
        if now >= deadline {
            return false;
        }
        thread::sleep(POLL.min(deadline - now));
    }
}

#[cfg(test)]
#[path = "stop_tests.rs"]
mod tests;
