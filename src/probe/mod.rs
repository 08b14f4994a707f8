//! Live probes of the node this tool runs on (docs/reference/world.md; docs/reference/behaviour.md, "Health"): which service
//! processes are alive, whether their health endpoints answer, how much
//! memory and GPU memory is in use. The result refines the world files of
//! the local node; it never decides anything itself. A probe that cannot
//! run (no GPU driver, an unreachable endpoint) is data, never an error.
mod activity;
mod gpu;
pub(crate) mod health;
mod meminfo;
mod process;
mod procstat;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;

use crate::desired::{NodeSpec, ProcessMatch, Start};
use crate::monitor::ExitRecord;
use crate::procfs::ProcessIdentity;
use crate::world::{GpuUse, MemoryUse};

pub use activity::{probe_activity, ActivityReading};
pub use gpu::{parse_nvidia_smi_apps, parse_nvidia_smi_gpus, GpuProcess};
pub use health::{is_loading, probe_health};
pub use meminfo::read_meminfo;

/// How to probe. `Default` gives the documented defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeOptions {
    /// Where spawned services' pidfiles live (`<state_dir>/pids/<service>.pid`).
    pub state_dir: Option<PathBuf>,
    /// The `nvidia-smi` to fall back on when NVML is unavailable: a bare
    /// name is looked up on `PATH`, anything else is used as a path.
    pub nvidia_smi: PathBuf,
    /// Try NVML first (only when built with the `nvml` feature).
    pub use_nvml: bool,
    /// Most health probes in flight at once.
    pub max_parallel: usize,
    /// Services whose health probe is not due this tick (`every`).
    pub skip_health: BTreeSet<String>,
    /// Read the GPUs (a whole node's probe); `false` when only a service's
    /// process and health are asked (an operator command's wait).
    pub gpus: bool,
}

impl Default for ProbeOptions {
    fn default() -> Self {
        ProbeOptions {
            state_dir: None,
            nvidia_smi: PathBuf::from("nvidia-smi"),
            use_nvml: true,
            max_parallel: 16,
            skip_health: BTreeSet::default(),
            gpus: true,
        }
    }
}

/// What the probes saw on this node.
#[derive(Debug, Clone)]
pub struct LiveNode {
    /// `None` when `/proc/meminfo` could not be read.
    pub memory: Option<MemoryUse>,
    /// GPUs that reported usable data, sorted by index; empty when there is
    /// no GPU, no driver, or no data.
    pub gpus: Vec<GpuUse>,
    /// Every process holding GPU memory, one row per process and GPU.
    pub gpu_processes: Vec<GpuProcess>,
    /// Every declared service, by name.
    pub services: BTreeMap<String, LiveService>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveService {
    pub process: ProcessState,
    /// `None` when the service has no health probe, or when its process is
    /// known to be gone (then it is down, whatever a port says).
    pub health: Option<ProbeOutcome>,
    /// GPU memory held by the process and its descendants; `None` when no
    /// GPU reported any for them.
    pub gpu_memory_bytes: Option<u64>,
    /// Its health probe was not due this tick (`every`): no health evidence.
    pub health_skipped: bool,
    /// How long its health probe took, when one ran.
    pub health_latency: Option<std::time::Duration>,
    /// Activity (docs/reference/behaviour.md, "Activity"), for models and services that declare
    /// `activity:`: what was read, or why it is unknown. `None`: not asked.
    pub activity: Option<Result<ActivityReading, String>>,
    /// A `spawn:` service's last exit as its monitor recorded it
    /// (`exits/<service>.json`), and whether it is the exit of the process
    /// its pid file names (the latest start).
    pub last_exit: Option<(ExitRecord, bool)>,
}

impl LiveService {
    /// Why this service is not up, when the probe can say (docs/reference/behaviour.md,
    /// "Probe reasons"): `no process`, `pidfile stale: …`, a failing check's reason.
    pub fn failure_reason(&self) -> Option<String> {
        let exit = self.last_exit.as_ref().filter(|(_, latest)| *latest);
        match (&self.process, &self.health) {
            (ProcessState::NotFound | ProcessState::StalePidfile { .. }, _) if exit.is_some() => {
                exit.map(|(record, _)| record.describe())
            }
            (ProcessState::NotFound, _) => Some("no process".to_string()),
            (ProcessState::StalePidfile { reason, .. }, _) => {
                Some(format!("pidfile stale: {reason}"))
            }
            (_, Some(ProbeOutcome::Failing(why) | ProbeOutcome::Loading(why))) => Some(why.clone()),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProcessState {
    /// The service says nothing about how to find its process.
    NotConfigured,
    Found(ProcessInfo),
    /// No live process matches (or the pidfile is missing or unreadable).
    NotFound,
    /// The pidfile names a live process that cannot be the service.
    StalePidfile {
        pid: u32,
        reason: String,
    },
    /// More than one process of the user matches the name or command line
    /// (or the user does not exist): which is the service is unknown, and
    /// none of them may be signalled.
    Ambiguous {
        pids: Vec<u32>,
    },
    /// `process.user` names no user of this machine.
    UnknownUser(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessInfo {
    pub identity: ProcessIdentity,
    /// The kernel's process name (comm).
    pub name: String,
    pub rss_bytes: u64,
    /// utime + stime, in clock ticks.
    pub cpu_ticks: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeOutcome {
    Up,
    /// Why, e.g. `HTTP 503`, `connection refused`, `timed out after 2s`.
    Failing(String),
    /// The server answered that it is loading its model (docs/reference/behaviour.md, "Loading"): not
    /// up, and positive evidence that it is not failing either.
    Loading(String),
    /// The check could not be made for a reason of ours, not the
    /// service's (its `ca_file` cannot be used): no evidence either way.
    Unknown(String),
}

/// A user name or numeric id → uid; `None` when no such user exists.
fn uid_of(user: &str) -> Option<u32> {
    if let Ok(uid) = user.parse::<u32>() {
        return Some(uid);
    }
    nix::unistd::User::from_name(user)
        .ok()
        .flatten()
        .map(|u| u.uid.as_raw())
}

/// Probes every service of `node` on this machine. `known` maps a service
/// to the process identity recorded last time, to recognise a reused pid.
///
/// GPU probing runs beside process finding and the health probes, which run
/// at most `opts.max_parallel` at a time.
pub fn probe_node(
    node: &NodeSpec,
    known: &HashMap<String, ProcessIdentity>,
    opts: &ProbeOptions,
) -> LiveNode {
    std::thread::scope(|scope| {
        let gpu_probe = scope.spawn(|| {
            if opts.gpus {
                gpu::probe_gpus(opts)
            } else {
                gpu::GpuData::default()
            }
        });

        let mut unknown_users: HashMap<String, String> = HashMap::new();
        let finders: Vec<(String, Option<process::Finder>)> = node
            .services
            .iter()
            .map(|(name, svc)| {
                let uid = match &svc.process_user {
                    None => Ok(nix::unistd::geteuid().as_raw()),
                    Some(user) => uid_of(user).ok_or_else(|| user.clone()),
                };
                let finder = match (&svc.process, &svc.start, uid) {
                    (Some(ProcessMatch::Pidfile(p)), _, _) => {
                        Some(process::Finder::Pidfile(p.clone()))
                    }
                    (Some(_), _, Err(user)) => {
                        unknown_users.insert(name.clone(), user);
                        None
                    }
                    (Some(m), _, Ok(uid)) => Some(process::Finder::from_match(m, uid)),
                    (None, Some(Start::Spawn(_)), _) => opts.state_dir.as_ref().map(|dir| {
                        process::Finder::Pidfile(crate::store::Layout::of(dir).pid(name))
                    }),
                    _ => None,
                };
                (name.clone(), finder)
            })
            .collect();
        let mut states = process::find_all(&finders, known);
        for ((name, _), state) in finders.iter().zip(states.iter_mut()) {
            if let Some(user) = unknown_users.remove(name) {
                *state = ProcessState::UnknownUser(user);
            }
        }

        let mut outcomes = probe_services(node, &states, opts);

        let gpu = gpu_probe.join().unwrap_or_default();
        let services = node
            .services
            .keys()
            .zip(states)
            .map(|(name, process)| {
                let gpu_memory_bytes = match &process {
                    ProcessState::Found(info) => gpu.memory_of_tree(info.identity.pid),
                    _ => None,
                };
                let probed = outcomes.remove(name).unwrap_or_default();
                let (health, took) = probed.health.unzip();
                let live = LiveService {
                    activity: probed.activity,
                    health_skipped: opts.skip_health.contains(name),
                    health,
                    health_latency: took,
                    last_exit: last_exit(node, name, opts),
                    process,
                    gpu_memory_bytes,
                };
                (name.clone(), live)
            })
            .collect();

        LiveNode {
            memory: read_meminfo(),
            gpus: gpu.gpus,
            gpu_processes: gpu.processes,
            services,
        }
    })
}

/// The exit record of a `spawn:` service, and whether its pid is the one
/// its pid file names.
fn last_exit(node: &NodeSpec, name: &str, opts: &ProbeOptions) -> Option<(ExitRecord, bool)> {
    let dir = opts.state_dir.as_ref()?;
    let spawned = node
        .services
        .get(name)
        .is_some_and(|s| matches!(s.start, Some(Start::Spawn(_))));
    if !spawned {
        return None;
    }
    let record = crate::monitor::exit_record::read(&crate::store::Layout::of(dir).exits(name))?;
    let pidfile = crate::store::Layout::of(dir).pid(name);
    let named = crate::store::read_limited(&pidfile, 64)
        .ok()
        .and_then(|b| String::from_utf8_lossy(&b).trim().parse::<u32>().ok());
    let latest = named == Some(record.pid);
    Some((record, latest))
}

/// What the probes of one service found besides its process.
#[derive(Default)]
struct Probed {
    health: Option<(ProbeOutcome, std::time::Duration)>,
    activity: Option<Result<ActivityReading, String>>,
}

/// Health and activity probes of every service that has one due, at most
/// `opts.max_parallel` services at a time. A service's activity is read
/// after its health probe, whose connection is then closed.
fn probe_services(
    node: &NodeSpec,
    states: &[ProcessState],
    opts: &ProbeOptions,
) -> HashMap<String, Probed> {
    let jobs: Vec<_> = node
        .services
        .values()
        .zip(states)
        .filter_map(|(svc, state)| {
            let pid = match state {
                ProcessState::Found(p) => Some(p.identity.pid),
                ProcessState::NotConfigured => None,
                _ => return None,
            };
            let probe = svc
                .health
                .probe
                .as_ref()
                .filter(|_| !opts.skip_health.contains(&svc.name));
            let activity = svc.is_model() || svc.activity.is_some();
            (probe.is_some() || activity).then_some((svc, probe, pid, activity))
        })
        .collect();
    crate::par::map_bounded(&jobs, opts.max_parallel, |(svc, probe, pid, activity)| {
        let h = &svc.health;
        let health = probe.map(|p| {
            let started = std::time::Instant::now();
            let outcome =
                health::probe_health_full(p, h.timeout, h.ca_file.as_deref(), h.loading.as_ref());
            (outcome, started.elapsed())
        });
        // Our own completion (the inference check) is in the counter now.
        let own = match (probe, &health) {
            (Some(crate::desired::Probe::Inference { .. }), Some(_)) => 1,
            _ => 0,
        };
        let activity = activity.then(|| {
            let mut read = activity::probe_activity(
                svc.activity.as_ref(),
                *pid,
                h.timeout,
                h.ca_file.as_deref(),
            );
            if let Ok(r) = read.as_mut() {
                r.own_requests = own;
            }
            read
        });
        Probed { health, activity }
    })
    .into_iter()
    .zip(&jobs)
    .map(|(probed, (svc, ..))| (svc.name.clone(), probed))
    .collect()
}
