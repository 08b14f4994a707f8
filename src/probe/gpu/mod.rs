//! GPU use on this node: per-GPU memory, temperature and utilization, and
//! the GPU memory each process holds. NVML first (feature `nvml`), else
//! `nvidia-smi`; no GPU, no driver or no data gives an empty answer, never
//! an error, so a machine without GPUs pays next to nothing.
#[cfg(feature = "nvml")]
mod nvml;
mod smi;

use std::collections::HashMap;

use crate::world::GpuUse;

use super::procstat::read_stat;
use super::ProbeOptions;

pub use smi::{parse_nvidia_smi_apps, parse_nvidia_smi_gpus};

/// How far up the process tree a GPU process is traced to its service.
const MAX_TREE_DEPTH: usize = 64;

/// One process's memory on one GPU (NVML compute processes, or
/// `nvidia-smi --query-compute-apps`): the decision core's plain data type,
/// filled here with its ancestry, identity, owner and command line.
pub use crate::core::orphans::GpuProcess;

#[derive(Debug, Clone, Default)]
pub(crate) struct GpuData {
    pub gpus: Vec<GpuUse>,
    /// GPU memory per pid, summed across GPUs.
    pub per_pid: HashMap<u32, u64>,
    /// (pid, GPU index, bytes), one row per process and GPU.
    pub apps: Vec<(u32, Option<u32>, u64)>,
    /// `apps` with their ancestry and identity, filled by [`probe_gpus`].
    pub processes: Vec<GpuProcess>,
    /// For each pid in `per_pid`: itself and its ancestors.
    lineage: HashMap<u32, Vec<u32>>,
}

impl GpuData {
    /// GPU memory held by `pid` and its descendants (inference servers keep
    /// their memory in worker processes); `None` when none of them is on a GPU.
    pub fn memory_of_tree(&self, pid: u32) -> Option<u64> {
        self.per_pid
            .iter()
            .filter(|(app, _)| self.lineage.get(app).is_some_and(|l| l.contains(&pid)))
            .map(|(_, bytes)| *bytes)
            .reduce(u64::saturating_add)
    }
}

pub(crate) fn probe_gpus(opts: &ProbeOptions) -> GpuData {
    let mut data = query(opts).unwrap_or_default();
    data.lineage = data
        .per_pid
        .keys()
        .map(|&pid| (pid, lineage(pid)))
        .collect();
    data.processes = data
        .apps
        .iter()
        .map(|&(pid, gpu_index, bytes)| GpuProcess {
            pid,
            gpu_index,
            bytes,
            lineage: data.lineage.get(&pid).cloned().unwrap_or_default(),
            identity: crate::procfs::identity(pid),
            uid: crate::procfs::owner(pid),
            cmdline: cmdline(pid),
        })
        .collect();
    data
}

/// `/proc/PID/cmdline`, arguments joined by spaces, at most 4 KiB read.
fn cmdline(pid: u32) -> String {
    crate::procfs::argv(pid).unwrap_or_default().join(" ")
}

fn query(opts: &ProbeOptions) -> Option<GpuData> {
    #[cfg(feature = "nvml")]
    if opts.use_nvml {
        if let Some(data) = nvml::query() {
            return Some(data);
        }
    }
    smi::query(&opts.nvidia_smi)
}

/// `pid` and its ancestors, read from `/proc` (a pid from another pid
/// namespace simply has no lineage here).
fn lineage(pid: u32) -> Vec<u32> {
    let mut chain = vec![pid];
    let mut current = pid;
    while chain.len() < MAX_TREE_DEPTH {
        match read_stat(current) {
            Some(stat) if stat.ppid > 1 && !chain.contains(&stat.ppid) => {
                chain.push(stat.ppid);
                current = stat.ppid;
            }
            _ => break,
        }
    }
    chain
}
