//! One process's probe info, read directly from `/proc` when its pid is
//! already known (pidfiles, GPU process attribution): cheaper than a
//! process-table refresh, and the only source of start time in clock ticks.
//!
//! # Guarantees
//!
//! - The stat line is parsed by [`crate::procfs`], the one parser: a zombie
//!   or dead task (`Z`, `X`, `x`) is no process here, as everywhere.
//!
//! # Caveats
//!
//! - The stat and the memory figure are two reads of `/proc`; a process
//!   that exits between them reports 0 bytes of memory.
use crate::procfs::ProcessIdentity;

use super::ProcessInfo;

pub(crate) use crate::procfs::{read_stat, Stat};

/// A running (not zombie, not dead) process's stat and the info the probe
/// reports.
pub(crate) fn read_process(pid: u32) -> Option<(Stat, ProcessInfo)> {
    let stat = read_stat(pid)?;
    if !stat.is_running() {
        return None;
    }
    let info = ProcessInfo {
        identity: ProcessIdentity {
            pid,
            start_ticks: stat.start_ticks,
        },
        name: stat.comm.clone(),
        rss_bytes: crate::procfs::read_rss_bytes(pid),
        cpu_ticks: stat.cpu_ticks(),
    };
    Some((stat, info))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_process_reads_sanely() {
        let me = std::process::id();
        let (stat, info) = read_process(me).expect("own process");
        assert!(!stat.is_kernel_thread());
        assert!(info.rss_bytes > 0);
        assert_eq!(info.name, stat.comm);
        assert_eq!(Some(info.identity), crate::procfs::identity(me));
    }

    #[test]
    fn a_gone_pid_is_none() {
        assert_eq!(read_process(u32::MAX), None);
    }
}
