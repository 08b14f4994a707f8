//! Finding each service's process: by pidfile (read directly from `/proc`,
//! with checks against stale and reused pids), or by exact name or command
//! line substring (one process-table scan shared by all services, made only
//! when some service needs it).
use std::collections::HashMap;
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use nix::fcntl::OFlag;
use sysinfo::{ProcessRefreshKind, ProcessStatus, ProcessesToUpdate, System, UpdateKind};

use crate::desired::ProcessMatch;
use crate::procfs::ProcessIdentity;

use super::procstat::read_process;
use super::{ProcessInfo, ProcessState};

/// How one service's process is found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Finder {
    Pidfile(PathBuf),
    Name(String),
    Cmdline(String),
}

impl Finder {
    pub fn from_match(m: &ProcessMatch) -> Self {
        match m {
            ProcessMatch::Pidfile(p) => Finder::Pidfile(p.clone()),
            ProcessMatch::Name(n) => Finder::Name(n.clone()),
            ProcessMatch::CmdlineContains(c) => Finder::Cmdline(c.clone()),
        }
    }
}

/// One state per `(service, finder)`, in the same order.
pub(crate) fn find_all(
    finders: &[(String, Option<Finder>)],
    known: &HashMap<String, ProcessIdentity>,
) -> Vec<ProcessState> {
    let need_cmd = finders
        .iter()
        .any(|(_, f)| matches!(f, Some(Finder::Cmdline(_))));
    let need_table = need_cmd
        || finders
            .iter()
            .any(|(_, f)| matches!(f, Some(Finder::Name(_))));
    let table = if need_table {
        ProcessTable::scan(need_cmd)
    } else {
        None
    };

    finders
        .iter()
        .map(|(service, finder)| match finder {
            None => ProcessState::NotConfigured,
            Some(Finder::Pidfile(path)) => by_pidfile(path, known.get(service)),
            // Without a process table there is no evidence either way:
            // treat it as unconfigured rather than as down.
            Some(Finder::Name(name)) => table.as_ref().map_or(ProcessState::NotConfigured, |t| {
                t.best(|c| comm_matches(&c.name, name))
            }),
            Some(Finder::Cmdline(needle)) => {
                table.as_ref().map_or(ProcessState::NotConfigured, |t| {
                    t.best(|c| c.cmdline.contains(needle.as_str()))
                })
            }
        })
        .collect()
}

/// The kernel keeps at most this many bytes of a process name (comm).
const COMM_LEN: usize = 15;

/// Exact name match; a configured name longer than the kernel keeps is
/// compared by the part the kernel kept.
fn comm_matches(comm: &str, wanted: &str) -> bool {
    let wanted = wanted.as_bytes();
    comm.as_bytes() == &wanted[..wanted.len().min(COMM_LEN)]
}

/// Reads a pidfile and checks the process it names.
pub(crate) fn by_pidfile(path: &Path, known: Option<&ProcessIdentity>) -> ProcessState {
    let Some(pid) = read_pidfile(path) else {
        return ProcessState::NotFound;
    };
    let Some((stat, info)) = read_process(pid) else {
        return ProcessState::NotFound;
    };
    let stale = |reason: String| ProcessState::StalePidfile { pid, reason };
    if pid == std::process::id() {
        return stale(format!("pid {pid} is this tool's own process"));
    }
    if pid == 1 {
        return stale("pid 1 is the init process".to_string());
    }
    if stat.is_kernel_thread() {
        return stale(format!("pid {pid} is the kernel thread `{}`", stat.comm));
    }
    if let Some(k) = known.filter(|k| k.pid == pid) {
        if k.start_ticks != info.identity.start_ticks {
            return stale(format!(
                "pid {pid} was reused: it started at tick {}, the recorded process at tick {}",
                info.identity.start_ticks, k.start_ticks
            ));
        }
    }
    ProcessState::Found(info)
}

/// The pid in a pidfile: a regular file, not reached through a symlink,
/// holding one positive number (surrounding whitespace allowed).
fn read_pidfile(path: &Path) -> Option<u32> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        // O_NONBLOCK: a FIFO planted at the path must not hang the probe.
        .custom_flags((OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK).bits())
        .open(path)
        .ok()?;
    if !file.metadata().ok()?.is_file() {
        return None;
    }
    let mut text = String::new();
    file.take(64).read_to_string(&mut text).ok()?;
    text.trim().parse::<u32>().ok().filter(|&pid| pid > 0)
}

struct Candidate {
    pid: u32,
    name: String,
    /// Arguments joined by spaces; empty unless command lines were read.
    cmdline: String,
}

/// The live user processes, other than this one.
struct ProcessTable {
    candidates: Vec<Candidate>,
}

impl ProcessTable {
    /// One refresh of the process list: names always (they come with the
    /// stat line), command lines only if asked; no tasks, no memory, no CPU.
    fn scan(with_cmd: bool) -> Option<Self> {
        let mut sys = System::new().ok()?;
        let mut kind = ProcessRefreshKind::nothing().without_tasks();
        if with_cmd {
            kind = kind.with_cmd(UpdateKind::OnlyIfNotSet);
        }
        sys.refresh_processes_specifics(ProcessesToUpdate::All, true, kind);
        let me = std::process::id();
        let candidates = sys
            .processes()
            .values()
            .filter(|p| p.thread_kind().is_none())
            .filter(|p| !matches!(p.status(), ProcessStatus::Zombie | ProcessStatus::Dead))
            .filter(|p| p.pid().as_u32() != me)
            .map(|p| Candidate {
                pid: p.pid().as_u32(),
                name: p.name().to_string_lossy().into_owned(),
                cmdline: p
                    .cmd()
                    .iter()
                    .map(|a| a.to_string_lossy())
                    .collect::<Vec<_>>()
                    .join(" "),
            })
            .collect();
        Some(ProcessTable { candidates })
    }

    /// The earliest started matching process (then the lowest pid), so the
    /// choice does not depend on the table's order.
    fn best(&self, matches: impl Fn(&Candidate) -> bool) -> ProcessState {
        self.candidates
            .iter()
            .filter(|c| matches(c))
            .filter_map(|c| read_process(c.pid))
            .filter(|(stat, _)| !stat.is_kernel_thread())
            .map(|(_, info)| info)
            .min_by_key(|info: &ProcessInfo| (info.identity.start_ticks, info.identity.pid))
            .map_or(ProcessState::NotFound, ProcessState::Found)
    }
}

#[cfg(test)]
mod tests {
    use super::comm_matches;

    #[test]
    fn long_names_match_the_kernels_truncation() {
        assert!(comm_matches("llama-server", "llama-server"));
        assert!(!comm_matches("llama-server", "llama-serve"));
        assert!(!comm_matches("llama-serve", "llama-server"));
        assert!(comm_matches("vllm-openai-ser", "vllm-openai-server"));
        assert!(!comm_matches("vllm-openai-se", "vllm-openai-server"));
    }
}
