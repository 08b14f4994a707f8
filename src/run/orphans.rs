//! Evicting a GPU orphan (docs/reference/behaviour.md, "GPU orphans") that safety chose and the guardrails
//! cleared: a process no declared service claims, so there is no `stop`
//! command and no service state, only the identity this run's probe read
//! from `/proc`.
//!
//! Guarantees: nothing is signalled unless, right now, the pid is still the
//! same live process (pid and start ticks) and still belongs to the user
//! the core allowed (this tool's own); `exec::stop_process` re-checks the
//! identity again before SIGTERM and before SIGKILL and refuses pid 0, 1,
//! ourselves, our parent and our process group.
//! Caveats: whether the driver has released the memory is not queried
//! again (that costs another GPU query); a process that is gone holds none.
use crate::core::orphans::Orphan;
use crate::core::settle::Report;
use crate::exec::{self, StopOutcome};
use crate::procfs;

use super::execute::{failed, ok, STOP_TIMEOUT};

/// SIGTERM, then SIGKILL after the default `stop_timeout`, to `o`, if it
/// is still the process the probe saw and still belongs to `uid`.
pub(super) fn evict(o: &Orphan, uid: Option<u32>) -> Report {
    let id = o.identity;
    if !procfs::is_running(id) {
        return ok(format!(
            "pid {} is no longer the process the probe saw (exited, or the pid was reused): nothing signalled",
            id.pid
        ));
    }
    let owner = procfs::owner(id.pid);
    if uid.is_none() || owner != uid {
        return failed(format!(
            "refused to signal: pid {} belongs to uid {}, not to uid {} that this tool runs as",
            id.pid,
            owner.map_or("unknown".into(), |u| u.to_string()),
            uid.map_or("unknown".into(), |u| u.to_string()),
        ));
    }
    let gpu = o.gpu_index.map_or("?".into(), |g| g.to_string());
    match exec::stop_process(Some(id), None, STOP_TIMEOUT) {
        StopOutcome::Stopped { signal, waited } => ok(format!(
            "stopped orphan pid {} with {signal} after {} ms; process gone, its {} on gpu {gpu} freed",
            id.pid,
            waited.as_millis(),
            crate::fmt::size(o.gpu_memory_bytes)
        )),
        StopOutcome::AlreadyGone => ok(format!(
            "pid {} had already exited: nothing signalled",
            id.pid
        )),
        StopOutcome::Refused(why) => failed(format!("refused to signal: {why}")),
        StopOutcome::StopCommand(_) => ok("stopped".into()),
        StopOutcome::Failed(why) => failed(format!(
            "{why}; its {} on gpu {gpu} were NOT freed",
            crate::fmt::size(o.gpu_memory_bytes)
        )),
    }
}

#[cfg(test)]
#[path = "orphans_tests.rs"]
mod tests;
