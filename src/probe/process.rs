//! Finding each service's process: by pidfile (read directly from `/proc`,
//! with checks against stale and reused pids), or by exact name or command
//! line substring (one process-table scan shared by all services, made only
//! when some service needs it).
use crate::desired::opened::Meta;
use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use sysinfo::{ProcessRefreshKind, ProcessStatus, ProcessesToUpdate, System, UpdateKind};

use crate::desired::ProcessMatch;
use crate::procfs::ProcessIdentity;

use super::procstat::read_process;
use super::{ProcessInfo, ProcessState};

/// How one service's process is found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Finder {
    Pidfile(PathBuf),
    /// Exact name, among the processes of user `uid`.
    Name(String, u32),
    /// Command-line substring, among the processes of user `uid`.
    Cmdline(String, u32),
}

impl Finder {
    /// `uid`: whose processes a name or command line may match.
    pub fn from_match(m: &ProcessMatch, uid: u32) -> Self {
        match m {
            ProcessMatch::Pidfile(p) => Finder::Pidfile(p.clone()),
            ProcessMatch::Name(n) => Finder::Name(n.clone(), uid),
            ProcessMatch::CmdlineContains(c) => Finder::Cmdline(c.clone(), uid),
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
        .any(|(_, f)| matches!(f, Some(Finder::Cmdline(..))));
    let need_table = need_cmd
        || finders
            .iter()
            .any(|(_, f)| matches!(f, Some(Finder::Name(..))));
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
            Some(Finder::Name(name, uid)) => {
                table.as_ref().map_or(ProcessState::NotConfigured, |t| {
                    t.only(*uid, |c| comm_matches(&c.name, name))
                })
            }
            Some(Finder::Cmdline(needle, uid)) => {
                table.as_ref().map_or(ProcessState::NotConfigured, |t| {
                    t.only(*uid, |c| c.cmdline.contains(needle.as_str()))
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
    let Some((pid, writers, written_at)) = read_pidfile(path) else {
        return ProcessState::NotFound;
    };
    let Some((stat, info)) = read_process(pid) else {
        return ProcessState::NotFound;
    };
    let stale = |reason: String| ProcessState::StalePidfile { pid, reason };
    // Whoever can write the pidfile chooses the process we would signal:
    // a user other than root (and us) may only name their own processes.
    match writers {
        Err(why) => return stale(why),
        Ok(writers) => {
            let me = nix::unistd::geteuid().as_raw();
            let owner = process_uid(pid);
            for w in writers.into_iter().filter(|&w| w != 0 && w != me) {
                if owner != Some(w) {
                    return stale(format!(
                        "the pidfile can be written by uid {w} and names a process of uid {}: not trusted",
                        owner.map_or("?".into(), |o| o.to_string())
                    ));
                }
            }
        }
    }
    if pid == std::process::id() {
        return stale(format!("pid {pid} is this tool's own process"));
    }
    if pid == 1 {
        return stale("pid 1 is the init process".to_string());
    }
    if stat.is_kernel_thread() {
        return stale(format!("pid {pid} is the kernel thread `{}`", stat.comm));
    }
    let started = crate::procfs::started_at_unix(info.identity);
    if started.is_some_and(|s| s > written_at + PIDFILE_SLACK_SECS) {
        return stale(format!(
            "pid {pid} started after the pidfile was written: not the process it names"
        ));
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
/// holding one positive number (surrounding whitespace allowed); and who
/// could have written it (see [`writers`]).
fn read_pidfile(path: &Path) -> Option<(u32, Result<Vec<u32>, String>, f64)> {
    // Through the folder's own descriptor: the folder whose owner is
    // checked is the one the file was read from, and whoever owns a link
    // on the way (a user's `~/run` swapped for a link to root's folder)
    // counts as a writer too.
    let opened = crate::desired::opened::open_through_folder(path)?;
    let mut text = String::new();
    (&opened.file).take(64).read_to_string(&mut text).ok()?;
    let pid = text.trim().parse::<u32>().ok().filter(|&pid| pid > 0)?;
    let who = writers(&opened.meta, &opened.folder).map(|mut w| {
        w.extend(opened.link_writers.iter().copied());
        w
    });
    Some((pid, who, opened.meta.mtime))
}

/// A process that started after its pidfile was last written cannot be the
/// one the file names (a reused pid, or a pid of another namespace): the
/// clock of boot has whole seconds, hence the slack.
const PIDFILE_SLACK_SECS: f64 = 2.0;

/// The users who can write (or replace) a pidfile: its owner, and its
/// folder's owner. Err when anyone else can: a file writable by group or
/// others, or a folder writable by group or others without the sticky bit.
fn writers(file: &Meta, dir: &Meta) -> Result<Vec<u32>, String> {
    if file.mode & 0o022 != 0 {
        return Err(format!(
            "the pidfile is writable by group or others (mode {:04o}): not trusted",
            file.mode
        ));
    }
    if dir.mode & 0o022 != 0 && dir.mode & 0o1000 == 0 {
        return Err(format!(
            "the pidfile's folder is writable by group or others (mode {:04o}): not trusted",
            dir.mode
        ));
    }
    Ok(vec![file.uid, dir.uid])
}

/// The owner of a live process (the owner of its `/proc` entry).
fn process_uid(pid: u32) -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(format!("/proc/{pid}"))
        .ok()
        .map(|m| m.uid())
}

struct Candidate {
    pid: u32,
    /// Real user id; `None` when it could not be read (never matches).
    uid: Option<u32>,
    parent: Option<u32>,
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
        let mut kind = ProcessRefreshKind::nothing()
            .without_tasks()
            .with_user(UpdateKind::OnlyIfNotSet);
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
                uid: p.user_id().map(|u| **u),
                parent: p.parent().map(sysinfo::Pid::as_u32),
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

    /// The one matching process of user `uid` (docs/reference/behaviour.md, "Which
    /// process is the service"). Matches whose parent chain reaches another match are
    /// that process's children (a server's workers, a shell's command) and
    /// do not count; more than one left is `Ambiguous`, never a guess.
    fn only(&self, uid: u32, matches: impl Fn(&Candidate) -> bool) -> ProcessState {
        let found: Vec<&Candidate> = self
            .candidates
            .iter()
            .filter(|c| c.uid == Some(uid) && matches(c))
            .collect();
        let parent_of: HashMap<u32, u32> = self
            .candidates
            .iter()
            .filter_map(|c| Some((c.pid, c.parent?)))
            .collect();
        let pids: std::collections::HashSet<u32> = found.iter().map(|c| c.pid).collect();
        let descends = |mut pid: u32| {
            // Bounded walk: a table read while processes come and go may hold a loop.
            for _ in 0..64 {
                match parent_of.get(&pid) {
                    Some(&p) if pids.contains(&p) => return true,
                    Some(&p) if p > 1 => pid = p,
                    _ => return false,
                }
            }
            false
        };
        let mut roots: Vec<ProcessInfo> = found
            .iter()
            .filter(|c| !descends(c.pid))
            .filter_map(|c| read_process(c.pid))
            .filter(|(stat, _)| !stat.is_kernel_thread())
            .map(|(_, info)| info)
            .collect();
        match roots.len() {
            0 => ProcessState::NotFound,
            1 => ProcessState::Found(roots.remove(0)),
            _ => {
                let mut pids: Vec<u32> = roots.iter().map(|i| i.identity.pid).collect();
                pids.sort_unstable();
                ProcessState::Ambiguous { pids }
            }
        }
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
