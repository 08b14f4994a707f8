//! GPU orphans (docs/reference/behaviour.md, "GPU orphans"): a process holding GPU memory that no declared
//! service of this node claims. A service claims a GPU process when this
//! run's probe identified the service's process as that process or one of
//! its ancestors (an inference server's workers are its children). A
//! service whose process is not identified this run (no `process` matcher,
//! ambiguous, gone) claims nothing.
//!
//! Only processes visible on this machine count: a pid the GPU reports that
//! `/proc` does not show (gone since, or another pid namespace) is no orphan.
//!
//! Pressure: the GPUs' used memory comes from the driver (NVML
//! `memory_info`, `nvidia-smi memory.used`), which already counts every
//! process, orphans included, so their memory is not added again.
//!
//! Eviction (`evict_orphans: true`): safety evicts orphans on a GPU over
//! `gpu_pressure` before any declared model, largest first, only as many
//! as relieve it (see `core/safety.rs`), and only [`evictable`] ones: on a
//! known GPU, owned by the user this tool runs as, identity read from
//! `/proc` this run, never pid 0 or 1. The guardrails (another node,
//! maintenance, the per-run budget, dry run) apply as to any action
//! ([`guard`]); the executor re-checks the identity before each signal.
//! Pure.
use std::collections::{BTreeMap, BTreeSet};

use super::settle::{label, Report};
use super::types::{Disposition, NodePlan};
use super::view::View;
use super::Action;
use super::Mode;
use crate::checkpoint::ProcessIdentity;
use crate::events::{ActionExecuted, DecidedAction, Event, EvictedOrphan, OrphanDetected};

/// One process's memory on one GPU, as the probe saw it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GpuProcess {
    pub pid: u32,
    /// `None`: the GPU it names reported no usable data.
    pub gpu_index: Option<u32>,
    pub bytes: u64,
    /// The pid, then its ancestors.
    pub lineage: Vec<u32>,
    /// `None` when `/proc` does not show it.
    pub identity: Option<ProcessIdentity>,
    pub uid: Option<u32>,
    pub cmdline: String,
}

/// An unclaimed process's memory on one GPU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Orphan {
    pub identity: ProcessIdentity,
    pub gpu_index: Option<u32>,
    pub gpu_memory_bytes: u64,
    pub uid: Option<u32>,
    pub cmdline: String,
}

impl Orphan {
    /// `orphan_detected`: a node event (no service).
    pub fn event(&self, node: Option<&str>) -> Event {
        let body = OrphanDetected {
            cmdline: self.cmdline.clone(),
            gpu_index: self.gpu_index,
            gpu_memory_bytes: self.gpu_memory_bytes,
            pid: self.identity.pid,
        };
        Event::new(node, None, body)
    }
}

/// An orphan safety chose to evict, and what the guardrails made of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Eviction {
    pub orphan: Orphan,
    /// Execute: signal it (SIGTERM, then SIGKILL). Otherwise why not.
    pub disposition: Disposition,
}

/// Whether safety may evict `o` (with `evict_orphans: true`): it holds
/// memory on a known GPU, belongs to `uid` (the user this tool runs as),
/// and is not pid 0 or 1. Its identity was read from `/proc` this run
/// ([`find`] keeps no other).
pub fn evictable(o: &Orphan, uid: Option<u32>) -> bool {
    o.gpu_index.is_some() && uid.is_some() && o.uid == uid && o.identity.pid > 1
}

/// The guardrails for one orphan eviction, first that applies: another
/// node's, maintenance, the per-run budget (`used` of `max`), dry run.
/// Holds and backoff are about services; an orphan is none.
pub fn guard(remote: bool, maintenance: bool, used: &mut u32, max: u32, mode: Mode) -> Disposition {
    if remote {
        return Disposition::Remote;
    }
    if maintenance {
        return Disposition::Skip("maintenance");
    }
    if *used >= max {
        return Disposition::Skip("max_actions");
    }
    *used += 1;
    match mode {
        Mode::Reconcile { dry_run: true } => Disposition::Skip("dry_run"),
        _ => Disposition::Execute,
    }
}

/// The `action_executed` events (reconcile only) and decision entries of
/// `node`'s orphan evictions; `outcomes` yields one per eviction, in order,
/// with the mode and the signal that interrupted the run, if one did.
/// Returns whether any was executed.
pub fn settle_node<'o>(
    node: &NodePlan,
    (outcomes, mode, interrupted): (
        &mut impl Iterator<Item = &'o Option<Report>>,
        Mode,
        Option<&str>,
    ),
    events: &mut Vec<Event>,
    actions: &mut Vec<DecidedAction>,
) -> bool {
    let mut executed = false;
    for e in &node.orphan_evictions {
        let outcome = outcomes.next().cloned().flatten();
        executed |= outcome.is_some();
        let (outcome_label, reason) = label(mode, &e.disposition, outcome.as_ref(), interrupted);
        let o = &e.orphan;
        actions.push(DecidedAction {
            action: Action::Evict,
            orphan: true,
            outcome: outcome_label,
            pid: Some(o.identity.pid),
            reason: reason.clone(),
            service: None,
        });
        if !matches!(mode, Mode::Reconcile { .. }) || e.disposition == Disposition::Remote {
            continue;
        }
        events.push(Event::new(
            Some(&node.name),
            None,
            ActionExecuted {
                action: Action::Evict,
                duration_ms: outcome.as_ref().map_or(0, |o| o.duration_ms),
                exit_code: None,
                forced: false,
                outcome: outcome_label,
                policy: None,
                reason,
                orphan: Some(EvictedOrphan {
                    gpu_index: o.gpu_index,
                    gpu_memory_bytes: o.gpu_memory_bytes,
                    orphan: true,
                    pid: o.identity.pid,
                }),
            },
        ));
    }
    executed
}

/// The pids the node's services were identified as this run.
pub fn claimed(views: &[View]) -> BTreeSet<u32> {
    views
        .iter()
        .filter_map(|v| v.live?.identity)
        .map(|id| id.pid)
        .collect()
}

/// The orphans among `processes`: neither they nor an ancestor is
/// `claimed`. One per process and GPU (rows for the same pair are summed),
/// sorted by pid, then GPU.
pub fn find(processes: &[GpuProcess], claimed: &BTreeSet<u32>) -> Vec<Orphan> {
    let mut by_key: BTreeMap<(u32, Option<u32>), Orphan> = BTreeMap::new();
    for p in processes {
        let Some(identity) = p.identity else {
            continue;
        };
        let lineage = std::iter::once(&p.pid).chain(&p.lineage);
        if lineage.clone().any(|pid| claimed.contains(pid)) {
            continue;
        }
        by_key
            .entry((p.pid, p.gpu_index))
            .and_modify(|o| o.gpu_memory_bytes = o.gpu_memory_bytes.saturating_add(p.bytes))
            .or_insert_with(|| Orphan {
                identity,
                gpu_index: p.gpu_index,
                gpu_memory_bytes: p.bytes,
                uid: p.uid,
                cmdline: p.cmdline.clone(),
            });
    }
    by_key.into_values().collect()
}

#[cfg(test)]
#[path = "orphan_evict_tests.rs"]
mod evict_tests;

#[cfg(test)]
mod tests {
    use super::*;

    fn proc(pid: u32, gpu: u32, mib: u64, lineage: &[u32]) -> GpuProcess {
        GpuProcess {
            pid,
            gpu_index: Some(gpu),
            bytes: mib << 20,
            lineage: lineage.to_vec(),
            identity: Some(ProcessIdentity {
                pid,
                start_ticks: 7,
            }),
            uid: Some(1000),
            cmdline: format!("worker {pid}"),
        }
    }

    #[test]
    fn unclaimed_processes_are_orphans_and_a_service_claims_its_children() {
        let procs = vec![
            proc(20, 0, 100, &[20, 10, 1]), // a worker of the service (10)
            proc(10, 1, 50, &[10]),         // the service itself
            proc(30, 0, 7, &[30, 5]),
            proc(30, 0, 1, &[30, 5]), // same pair twice: summed
            proc(30, 1, 2, &[30, 5]),
            GpuProcess {
                identity: None, // not visible here
                ..proc(40, 0, 9, &[])
            },
        ];
        let found = find(&procs, &BTreeSet::from([10]));
        let got: Vec<_> = found
            .iter()
            .map(|o| (o.identity.pid, o.gpu_index, o.gpu_memory_bytes >> 20))
            .collect();
        assert_eq!(got, [(30, Some(0), 8), (30, Some(1), 2)]);
        let e = found[0].event(Some("gpu-box"));
        assert_eq!(e.kind(), crate::events::EventKind::OrphanDetected);
        assert_eq!(e.fields()["pid"], 30);
        assert_eq!(e.fields()["gpu_index"], 0);
        assert_eq!(e.fields()["gpu_memory_bytes"], 8u64 << 20);
        assert_eq!(e.fields()["cmdline"], "worker 30");
        assert!(find(&procs, &BTreeSet::from([5, 10])).is_empty());
    }
}
