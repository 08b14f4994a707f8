//! Direct reads of `/proc/PID/{stat,status}` for one process: cheaper than
//! a process-table refresh when the pid is already known (pidfiles, GPU
//! process attribution), and the only source of start time in clock ticks.
use crate::procfs::ProcessIdentity;

use super::ProcessInfo;

/// `PF_KTHREAD` from the kernel's `include/linux/sched.h`.
const PF_KTHREAD: u64 = 0x0020_0000;

/// The fields of one `/proc/PID/stat` line that the probes use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stat {
    pub comm: String,
    pub state: char,
    pub ppid: u32,
    pub flags: u64,
    pub utime: u64,
    pub stime: u64,
    pub start_ticks: u64,
}

impl Stat {
    pub fn is_kernel_thread(&self) -> bool {
        self.flags & PF_KTHREAD != 0
    }

    /// Zombies and dead tasks hold a pid but run nothing.
    pub fn is_running(&self) -> bool {
        !matches!(self.state, 'Z' | 'X' | 'x')
    }
}

/// Parses a stat line. The comm field may hold spaces and parentheses, so
/// the fields are counted after its last closing parenthesis.
pub(crate) fn parse_stat(line: &str) -> Option<Stat> {
    let open = line.find('(')?;
    let close = line.rfind(')')?;
    let comm = line.get(open + 1..close)?.to_string();
    // Index 0 below is field 3 (state).
    let rest: Vec<&str> = line.get(close + 1..)?.split_whitespace().collect();
    let field = |n: usize| rest.get(n - 3).copied();
    let num = |n: usize| field(n)?.parse::<u64>().ok();
    Some(Stat {
        comm,
        state: field(3)?.chars().next()?,
        ppid: field(4)?.parse().ok()?,
        flags: num(9)?,
        utime: num(14)?,
        stime: num(15)?,
        start_ticks: num(22)?,
    })
}

pub(crate) fn read_stat(pid: u32) -> Option<Stat> {
    parse_stat(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// `VmRSS` of `/proc/PID/status`, in bytes (the file counts in kB, so no
/// page size is needed). Kernel threads have none: 0.
fn read_rss_bytes(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb.saturating_mul(1024))
}

/// A running (not zombie) process's stat and the info the probe reports.
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
        rss_bytes: read_rss_bytes(pid),
        cpu_ticks: stat.utime.saturating_add(stat.stime),
    };
    Some((stat, info))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_fields_after_odd_comm() {
        let line = "4321 (we (ird) name) S 77 4321 4321 0 -1 2097216 0 0 0 0 \
                    150 25 0 0 20 0 1 0 99887 0 0";
        let s = parse_stat(line).expect("parses");
        assert_eq!(s.comm, "we (ird) name");
        assert_eq!(s.state, 'S');
        assert_eq!(s.ppid, 77);
        assert!(s.is_kernel_thread());
        assert_eq!((s.utime, s.stime, s.start_ticks), (150, 25, 99887));
    }

    #[test]
    fn own_process_reads_sanely() {
        let me = std::process::id();
        let (stat, info) = read_process(me).expect("own process");
        assert!(!stat.is_kernel_thread());
        assert!(info.rss_bytes > 0);
        assert_eq!(Some(info.identity), crate::procfs::identity(me));
    }

    #[test]
    fn truncated_line_is_none() {
        assert_eq!(parse_stat("12 (x) S 1 2 3"), None);
        assert_eq!(parse_stat("garbage"), None);
    }
}
