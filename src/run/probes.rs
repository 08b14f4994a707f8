//! Live probes of the local node, reduced to what the decision core needs.
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use anyhow::Result;

use super::RunOptions;
use crate::checkpoint::{key, Checkpoint};
use crate::core::activity::LiveActivity;
use crate::core::gpu::GpuReading;
use crate::core::{LiveNode, LiveObservation, LiveService};
use crate::desired::Fleet;
use crate::events::{Event, ObservationInvalid};
use crate::probe::{self, ProbeOptions, ProbeOutcome, ProcessState};

pub fn probe_local(
    opts: &RunOptions,
    fleet: &Fleet,
    local: Option<&str>,
    checkpoint: &Checkpoint,
    state_dir: Option<&Path>,
    invalid: &mut Vec<Event>,
    now: chrono::DateTime<chrono::Utc>,
) -> BTreeMap<String, LiveNode> {
    let mut out = BTreeMap::new();
    // `check` probes only when asked (`--live`); `reconcile` unless told not to.
    if !opts.probe {
        return out;
    }
    let Some(node) = local.and_then(|n| fleet.nodes.get(n)) else {
        return out;
    };
    let known: HashMap<String, crate::procfs::ProcessIdentity> = node
        .services
        .keys()
        .filter_map(|s| {
            Some((
                s.clone(),
                checkpoint.services.get(&key(&node.name, s))?.process?,
            ))
        })
        .collect();
    // One probe per service at once (up to 64): silent endpoints cost one timeout, not several.
    let max_parallel = node.services.len().clamp(1, 64);
    // `every: N`: a deep check runs once every N probe periods (docs/reference/behaviour.md, "Probe period").
    let skip_health = node
        .services
        .values()
        .filter(|s| s.health.every > 1)
        .filter(|s| {
            let last = checkpoint
                .services
                .get(&key(&node.name, &s.name))
                .and_then(|st| st.health_probed_at);
            let due = node.settings.probe_period * s.health.every;
            last.is_some_and(|t| now >= t && (now - t).to_std().unwrap_or_default() < due)
        })
        .map(|s| s.name.clone())
        .collect();
    let popts = ProbeOptions {
        state_dir: state_dir.map(Path::to_path_buf),
        max_parallel,
        skip_health,
        ..ProbeOptions::default()
    };
    let live = probe::probe_node(node, &known, &popts);
    for (name, s) in &live.services {
        if let Some(ProbeOutcome::Unknown(why)) = &s.health {
            invalid.push(Event::new(
                Some(&node.name),
                Some(name),
                ObservationInvalid {
                    error: format!(
                        "{why}: the check cannot be made, so its health is unknown; fix the file"
                    ),
                    path: format!("health check of {}", key(&node.name, name)),
                    set_aside: None,
                },
            ));
        }
        if let Some(error) = unusable(&s.process) {
            invalid.push(Event::new(
                Some(&node.name),
                Some(name),
                ObservationInvalid {
                    error,
                    path: format!("process of {}", key(&node.name, name)),
                    set_aside: None,
                },
            ));
        }
    }
    out.insert(node.name.clone(), reduce(live));
    out
}

/// Why a process observation cannot be used, when it cannot.
fn unusable(state: &ProcessState) -> Option<String> {
    match state {
        ProcessState::Ambiguous { pids } => Some(format!(
            "ambiguous: {} processes match (pids {}); none is taken for the service and none will be signalled; make `process` more specific (a pidfile, `user`, or a longer `cmdline_contains`)",
            pids.len(),
            pids.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
        )),
        ProcessState::UnknownUser(user) => Some(format!(
            "`process.user` names `{user}`, which is no user of this machine"
        )),
        _ => None,
    }
}

/// Live facts → the core's view: a pid that is not alive means `down`; a
/// health probe that passes `up`, anything else `failing`; a live process
/// without a health probe is `up`.
pub fn reduce(live: probe::LiveNode) -> LiveNode {
    let services = live
        .services
        .into_iter()
        .map(|(name, s)| {
            // A check that could not be made is no health evidence.
            let health = s
                .health
                .as_ref()
                .filter(|h| !matches!(h, ProbeOutcome::Unknown(_)))
                .map(|h| matches!(h, ProbeOutcome::Up));
            let reason = s.failure_reason();
            let (observation, identity, rss, cpu) = match &s.process {
                ProcessState::NotFound | ProcessState::StalePidfile { .. } => {
                    (LiveObservation::Down, None, None, None)
                }
                ProcessState::Found(p) => (
                    match health {
                        Some(false) => LiveObservation::Failing,
                        // Alive, health not checked this tick (or not
                        // checkable): no evidence.
                        None if s.health_skipped || s.health.is_some() => LiveObservation::NoData,
                        _ => LiveObservation::Up,
                    },
                    Some(p.identity),
                    Some(p.rss_bytes),
                    Some(crate::num::as_f64(p.cpu_ticks) / crate::procfs::clock_ticks_per_second()),
                ),
                // Which process it is, is unknown: no evidence either way.
                ProcessState::Ambiguous { .. } | ProcessState::UnknownUser(_) => {
                    (LiveObservation::NoData, None, None, None)
                }
                ProcessState::NotConfigured => (
                    match health {
                        Some(true) => LiveObservation::Up,
                        Some(false) => LiveObservation::Failing,
                        None => LiveObservation::NoData,
                    },
                    None,
                    None,
                    None,
                ),
            };
            let svc = LiveService {
                observation,
                identity,
                memory_bytes: rss,
                gpu_memory_bytes: s.gpu_memory_bytes,
                cpu_seconds: cpu,
                reason,
                health_probed: s.health.is_some(),
                // A passing probe's time: what trends before it times out.
                probe_latency_ms: s
                    .health_latency
                    .filter(|_| health == Some(true))
                    .map(|d| d.as_secs_f64() * 1000.0),
                ambiguous: matches!(
                    s.process,
                    ProcessState::Ambiguous { .. } | ProcessState::UnknownUser(_)
                ),
                loading: matches!(s.health, Some(ProbeOutcome::Loading(_))),
                activity: s.activity.map(live_activity),
            };
            (name, svc)
        })
        .collect();
    LiveNode {
        memory: live.memory.map(|m| (m.total_bytes, m.used_bytes)),
        gpus: live.gpus.iter().map(GpuReading::from).collect(),
        // The probe fills the core's own type: nothing to convert.
        gpu_processes: live.gpu_processes,
        // Orphans of this user only may be evicted (docs/reference/behaviour.md, "GPU orphans").
        user_uid: Some(nix::unistd::geteuid().as_raw()),
        services,
    }
}

/// The probe's reading → the core's.
fn live_activity(read: Result<probe::ActivityReading, String>) -> LiveActivity {
    match read {
        Ok(r) => LiveActivity::Known {
            source: r.source,
            requests_total: r.requests_total,
            in_flight: r.in_flight,
            connections: r.connections,
            own_requests: r.own_requests,
            note: r.note,
        },
        Err(why) => LiveActivity::Unknown(why),
    }
}
