//! The one reader of `/proc/PID/stat`, and process identity built on it: a
//! pid alone can be reused, (pid, start time in clock ticks since boot)
//! cannot within one boot.
//!
//! # Guarantees
//!
//! - **One parser.** Every `/proc/PID/stat` field supervisorctl uses (the
//!   executor's liveness checks, the probes' process info, GPU lineage) is
//!   read by `parse_stat`; the comm field may hold spaces and parentheses,
//!   so fields are counted after its *last* closing parenthesis.
//! - **One meaning of "running".** A zombie (`Z`) and a dead task (`X`, or
//!   `x` on old kernels) hold a pid but run nothing: `Stat::is_running`
//!   and [`is_running`] say no for them, everywhere.
//! - A line that is truncated or has a non-number where a number belongs is
//!   `None`, never a panic.
//!
//! # Assumptions
//!
//! - Linux with `/proc` mounted, with the field layout of `proc(5)`
//!   (stable since 2.6).
//!
//! # Caveats
//!
//! - Each call reads `/proc` afresh: a process can exit between two calls,
//!   so callers that act on a pid re-check right before acting.
//! - A pid is a number in this pid namespace only: a pidfile written inside
//!   a container names a container pid, which here is whatever host process
//!   has that number (not "gone"). The pidfile reader refuses a process
//!   that started after the pidfile was written (a reused or foreign pid);
//!   one that started before cannot be told apart: give supervisorctl on
//!   the host no pidfile written in another pid namespace.

/// `PF_KTHREAD` from the kernel's `include/linux/sched.h`.
const PF_KTHREAD: u64 = 0x0020_0000;

pub use crate::checkpoint::ProcessIdentity;

/// The fields of one `/proc/PID/stat` line that supervisorctl uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stat {
    /// Field 2, without its parentheses (at most 15 bytes, any content).
    pub comm: String,
    /// Field 3: R, S, D, Z, T, t, X, x, I, …
    pub state: char,
    /// Field 4.
    pub ppid: u32,
    /// Field 5: process group.
    pub pgrp: u32,
    /// Field 6: session.
    pub session: u32,
    /// Field 9: the kernel's `PF_*` flags.
    pub flags: u64,
    /// Fields 14 and 15: CPU time in user and kernel mode, in clock ticks.
    pub utime: u64,
    pub stime: u64,
    /// Field 22: start time in clock ticks after boot.
    pub start_ticks: u64,
}

impl Stat {
    pub fn is_kernel_thread(&self) -> bool {
        self.flags & PF_KTHREAD != 0
    }

    /// Zombies (`Z`) and dead tasks (`X`, `x`) hold a pid but run nothing.
    pub fn is_running(&self) -> bool {
        !matches!(self.state, 'Z' | 'X' | 'x')
    }

    /// User plus kernel CPU time, in clock ticks.
    pub fn cpu_ticks(&self) -> u64 {
        self.utime.saturating_add(self.stime)
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
    let small = |n: usize| field(n)?.parse::<u32>().ok();
    Some(Stat {
        comm,
        state: field(3)?.chars().next()?,
        ppid: small(4)?,
        pgrp: small(5)?,
        session: small(6)?,
        flags: num(9)?,
        utime: num(14)?,
        stime: num(15)?,
        start_ticks: num(22)?,
    })
}

/// The stat of `pid`, or `None` if it is gone (or unreadable).
pub(crate) fn read_stat(pid: u32) -> Option<Stat> {
    parse_stat(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// `VmRSS` of `/proc/PID/status`, in bytes (the file counts in kB, so no
/// page size is needed). Kernel threads and gone processes have none: 0.
pub(crate) fn read_rss_bytes(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb.saturating_mul(1024))
}

/// `/proc/PID/cmdline` as its arguments (at most the first 4 KiB read);
/// None when it cannot be read (gone, or not ours to see).
pub fn argv(pid: u32) -> Option<Vec<String>> {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let raw = &raw[..raw.len().min(4096)];
    Some(
        raw.split(|b| *b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect(),
    )
}

/// Reads the identity of a process, or `None` if it is gone. A zombie still
/// has one (see [`is_running`]).
pub fn identity(pid: u32) -> Option<ProcessIdentity> {
    read_stat(pid).map(|stat| ProcessIdentity {
        pid,
        start_ticks: stat.start_ticks,
    })
}

/// When the process of `id` started, in seconds since the epoch (boot time
/// from `/proc/stat` plus its start ticks); None when unreadable. Whole
/// seconds at best: the boot time has that resolution.
pub fn started_at_unix(id: ProcessIdentity) -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let btime: f64 = stat
        .lines()
        .find_map(|l| l.strip_prefix("btime "))?
        .trim()
        .parse()
        .ok()?;
    Some(btime + crate::num::as_f64(id.start_ticks) / clock_ticks_per_second())
}

/// `sysconf(_SC_CLK_TCK)`: the unit of `/proc/PID/stat` CPU and start
/// times (100 where it cannot be read).
pub fn clock_ticks_per_second() -> f64 {
    match nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK) {
        Ok(Some(t)) if t > 0 => crate::num::signed_as_f64(t),
        _ => 100.0,
    }
}

/// True when `id` still names the same process (which may be a zombie).
pub fn is_same_process(id: ProcessIdentity) -> bool {
    identity(id.pid) == Some(id)
}

/// True when `id` names the same process and it has not exited: a zombie
/// that its parent has not reaped yet, or a dead task, counts as exited.
pub fn is_running(id: ProcessIdentity) -> bool {
    read_stat(id.pid).is_some_and(|stat| stat.start_ticks == id.start_ticks && stat.is_running())
}

/// The uid owning `/proc/PID` (the process's effective uid, as the
/// kernel shows it), or `None` if it is gone.
pub fn owner(pid: u32) -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(format!("/proc/{pid}"))
        .ok()
        .map(|m| m.uid())
}

/// The process's peak resident memory so far (`VmHWM`), in bytes.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .strip_suffix("kB")?
        .trim()
        .parse::<u64>()
        .ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_fields_after_odd_comm() {
        let line = "4321 (we (ird) name) S 77 4300 4200 0 -1 2097216 0 0 0 0 \
                    150 25 0 0 20 0 1 0 99887 0 0";
        let s = parse_stat(line).expect("parses");
        assert_eq!(s.comm, "we (ird) name");
        assert_eq!(s.state, 'S');
        assert_eq!((s.ppid, s.pgrp, s.session), (77, 4300, 4200));
        assert!(s.is_kernel_thread());
        assert_eq!((s.utime, s.stime, s.start_ticks), (150, 25, 99887));
        assert_eq!(s.cpu_ticks(), 175);
        let line =
            "1234 (a) b (c)) S 1 1234 1234 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 98765 1000 10";
        assert_eq!(parse_stat(line).map(|s| s.start_ticks), Some(98765));
    }

    #[test]
    fn zombies_and_dead_tasks_are_not_running() {
        let line =
            |state: &str| format!("9 (x) {state} 1 9 9 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 0 0");
        for state in ["R", "S", "D", "T", "t", "I"] {
            assert!(parse_stat(&line(state)).unwrap().is_running(), "{state}");
        }
        for state in ["Z", "X", "x"] {
            assert!(!parse_stat(&line(state)).unwrap().is_running(), "{state}");
        }
    }

    #[test]
    fn truncated_or_garbled_line_is_none() {
        assert_eq!(parse_stat("12 (x) S 1 2 3"), None);
        assert_eq!(parse_stat("garbage"), None);
        assert_eq!(parse_stat(")( S 1"), None);
        let bad_ppid = "9 (x) S -1 9 9 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 0 0";
        assert_eq!(parse_stat(bad_ppid), None);
    }

    #[test]
    fn own_identity_is_stable() {
        let me = std::process::id();
        let a = identity(me).expect("own process");
        assert!(is_same_process(a));
        assert!(is_running(a));
        let other = ProcessIdentity {
            pid: me,
            start_ticks: a.start_ticks + 1,
        };
        assert!(!is_same_process(other));
        assert!(!is_running(other));
        let stat = read_stat(me).expect("own stat");
        assert!(!stat.is_kernel_thread());
        assert_eq!(stat.ppid, nix::unistd::getppid().as_raw().unsigned_abs());
        assert!(read_rss_bytes(me) > 0);
        let argv = argv(me).expect("our own command line");
        assert_eq!(argv.first(), std::env::args().next().as_ref());
        assert_eq!(read_stat(u32::MAX), None);
    }
}
