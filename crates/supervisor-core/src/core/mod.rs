//! The decision core: a pure function from (hosts, world, checkpoint,
//! overrides, live observations, now) to a plan. No I/O, no clock reads, no
//! randomness happen here or below; the edges (`run`, `probe`, `exec`,
//! `store`) do those. The build enforces it: clippy.toml lists clocks, file
//! system, processes, environment and threads, denied here.
#![deny(clippy::disallowed_methods, clippy::disallowed_types)]
pub mod activity;
pub mod arbiter;
pub mod availability;
pub mod breaker;
pub mod clock;
pub mod gpu;
pub mod guardrails;
pub mod health;
pub mod loading;
mod node;
pub mod operator;
pub mod orphans;
pub mod policies;
pub mod predict;
#[cfg(test)]
mod props;
pub mod recover;
pub mod removed;
pub mod safety;
pub mod settle;
#[cfg(test)]
mod tests;
/// Builders for tests of the core and of the edges (fleets, worlds, times).
#[doc(hidden)]
pub mod testutil;
pub mod thrash;
pub mod tuning;
pub mod types;
pub mod verify;
pub mod view;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};

use crate::checkpoint::ProcessIdentity;
use crate::checkpoint::{Checkpoint, Health};
use crate::desired::{Fleet, NodeSpec};
use crate::world::{DeploymentRecord, Incident, Obs, World};
pub use health::LiveObservation;
use safety::Resources;
pub use types::*;
use view::View;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A pure drift check: nothing is executed; actions are "planned".
    Check,
    Reconcile {
        dry_run: bool,
    },
}

/// What the live probes saw of the local node, already reduced to what the
/// core needs.
#[derive(Debug, Clone, Default)]
pub struct LiveNode {
    pub memory: Option<(u64, u64)>,
    pub gpus: Vec<gpu::GpuReading>,
    /// Every process holding GPU memory (docs/reference/behaviour.md, "GPU orphans").
    pub gpu_processes: Vec<orphans::GpuProcess>,
    /// The user this tool runs as on the node (its effective uid): the only
    /// user whose orphans safety may evict.
    pub user_uid: Option<u32>,
    pub services: BTreeMap<String, LiveService>,
}

#[derive(Debug, Clone)]
pub struct LiveService {
    pub observation: LiveObservation,
    pub identity: Option<ProcessIdentity>,
    pub memory_bytes: Option<u64>,
    pub gpu_memory_bytes: Option<u64>,
    /// utime + stime of the process, in seconds.
    pub cpu_seconds: Option<f64>,
    /// Why the probe failed (`connection refused`, `no process`, …) when
    /// the observation is `Down` or `Failing`.
    pub reason: Option<String>,
    /// Processes match but which one is the service is unknown (or its
    /// `process.user` does not exist): not missing, not known; never acted on.
    pub ambiguous: bool,
    /// Its health probe ran this tick (not skipped by `every`).
    pub health_probed: bool,
    /// How long its health probe took, when it ran and passed.
    pub probe_latency_ms: Option<f64>,
    /// The server answered that it is loading its model (docs/reference/behaviour.md, "Loading").
    pub loading: bool,
    /// What its activity probe read (docs/reference/behaviour.md, "Activity"); `None`: not asked.
    pub activity: Option<activity::LiveActivity>,
}

/// Operator overrides, keyed `<node>/<service>`.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub pins: BTreeMap<String, bool>,
    pub holds: BTreeSet<String>,
}

pub struct Input<'a> {
    pub fleet: &'a Fleet,
    pub world: &'a World,
    pub checkpoint: &'a Checkpoint,
    pub overrides: &'a Overrides,
    /// Live observations, by node (only the local node is ever probed).
    pub live: &'a BTreeMap<String, LiveNode>,
    pub now: DateTime<Utc>,
    pub mode: Mode,
    /// The node whose actions are executed (reconcile only).
    pub local_node: Option<&'a str>,
    /// An operator's one-off request (`restart`/`stop`/`start`), if any.
    pub operator: Option<&'a OperatorRequest>,
}

/// The core's answer: per-node plans and the checkpoint as observation left
/// it (execution outcomes are folded in later by `settle`).
#[derive(Debug)]
pub struct Decision {
    pub nodes: Vec<NodePlan>,
    pub checkpoint: Checkpoint,
    /// Services no longer declared, and what to do with their processes.
    pub removals: Vec<removed::Removal>,
    /// `fallbacks.json` as it must read once this run's executable
    /// fallback actions are done (the executor only writes it).
    pub fallbacks: BTreeMap<String, crate::checkpoint::Fallback>,
}

/// What the policies found for one node: drifts and proposals.
#[derive(Debug, Default)]
pub struct Findings {
    pub drifts: Vec<(Option<String>, Drift)>,
    pub proposals: Vec<Proposal>,
    /// Services whose open circuit half-opens this run, and why.
    pub half_open: Vec<(String, String)>,
}

impl Findings {
    pub fn drift(&mut self, service: &str, condition: Condition, detail: String) {
        self.drifts
            .push((Some(service.to_string()), Drift { condition, detail }));
    }

    pub fn push(&mut self, p: Proposal) {
        self.proposals.push(p);
    }
}

/// One node's context for the policies. The previous states come from the
/// views (and `fallbacks`), never from `input.checkpoint`: that is the
/// checkpoint as read, before the clock's clamp.
pub struct NodeCtx<'a> {
    pub input: &'a Input<'a>,
    pub node: &'a NodeSpec,
    /// The fallbacks active before this run.
    pub fallbacks: &'a BTreeMap<String, crate::checkpoint::Fallback>,
    /// Sorted by service name.
    pub views: Vec<View<'a>>,
    pub resources: Resources,
    pub incidents: Vec<&'a Incident>,
}

impl<'a> NodeCtx<'a> {
    pub fn view(&self, name: &str) -> Option<&View<'a>> {
        self.views
            .binary_search_by(|v| v.name().cmp(name))
            .ok()
            .map(|i| &self.views[i])
    }

    pub fn health_of(&self, name: &str) -> Option<Health> {
        self.view(name).map(View::health)
    }

    pub fn incidents_for<'s>(
        &'s self,
        service: Option<&'s str>,
    ) -> impl Iterator<Item = &'a Incident> + 's {
        self.incidents
            .iter()
            .copied()
            .filter(move |i| i.service.as_deref() == service)
    }

    pub fn deployment(&self, service: &str) -> Option<&'a DeploymentRecord> {
        let key = (self.node.name.clone(), service.to_string());
        self.input.world.deployments.get(&key).and_then(Obs::valid)
    }
}

/// Decides every node of the fleet, in name order. The checkpoint is
/// copied once: each node moves its services' previous states out of the
/// copy and this run's states back in.
pub fn decide(input: &Input) -> Decision {
    // A clock that went backwards: every time ahead of `now` counts as `now`.
    let mut checkpoint = input.checkpoint.clone();
    clock::clamp_future(&mut checkpoint, input.now);
    let mut by_node: BTreeMap<&str, Vec<&Incident>> = BTreeMap::new();
    for inc in &input.world.incidents {
        by_node.entry(inc.node.as_str()).or_default().push(inc);
    }
    let removals = removed::removals(input, &checkpoint);
    // Forget services that are no longer declared (a removed one whose
    // process is yet to be stopped is forgotten once settled).
    checkpoint
        .services
        .retain(|k, _| removed::keep(input.fleet, &removals, k));
    let declared = |k: &String| {
        let (node, service) = k.split_once('/').unwrap_or((k, ""));
        input
            .fleet
            .nodes
            .get(node)
            .is_some_and(|n| n.services.contains_key(service))
    };
    checkpoint.fallbacks.retain(|k, _| declared(k));
    let before = std::mem::take(&mut checkpoint.fallbacks);
    let mut states = vec![];
    let nodes: Vec<NodePlan> = input
        .fleet
        .nodes
        .values()
        .map(|spec| {
            let incidents = by_node.remove(spec.name.as_str()).unwrap_or_default();
            let cp = &mut checkpoint;
            node::decide_node(input, &before, spec, incidents, cp, &mut states)
        })
        .collect();
    // Built in bulk: full nodes, half the memory of a map grown in order.
    let kept = std::mem::take(&mut checkpoint.services);
    checkpoint.services = kept.into_iter().chain(states).collect();
    let fallbacks = fallbacks_after(input, &nodes, &before);
    checkpoint.fallbacks = before;
    Decision {
        nodes,
        checkpoint,
        removals,
        fallbacks,
    }
}

/// The fallback map after every fallback action cleared for execution.
fn fallbacks_after(
    input: &Input,
    nodes: &[NodePlan],
    before: &BTreeMap<String, crate::checkpoint::Fallback>,
) -> BTreeMap<String, crate::checkpoint::Fallback> {
    let mut map = before.clone();
    let executable = nodes
        .iter()
        .flat_map(|n| n.services.iter())
        .flat_map(|s| s.actions.iter())
        .filter(|a| a.disposition == Disposition::Execute);
    for a in executable {
        let k = crate::checkpoint::key(&a.node, &a.service);
        match a.action {
            Action::DeactivateFallback => {
                map.remove(&k);
            }
            Action::ActivateFallback => {
                let to = input
                    .fleet
                    .nodes
                    .get(&a.node)
                    .and_then(|n| n.services.get(&a.service))
                    .and_then(|s| s.fallback.clone());
                if let Some(to) = to {
                    map.insert(
                        k,
                        crate::checkpoint::Fallback {
                            to,
                            since: input.now,
                        },
                    );
                }
            }
            _ => {}
        }
    }
    map
}
