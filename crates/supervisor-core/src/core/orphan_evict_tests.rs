//! Safety's orphan evictions (docs/reference/behaviour.md, "GPU orphans"), one `decide` call each: which
//! orphans, in what order, before which models, and what the guardrails
//! make of them.
use std::collections::BTreeMap;

use super::super::gpu::GpuReading;
use super::super::testutil::*;
use super::super::*;
use super::GpuProcess;
use crate::checkpoint::{Checkpoint, ProcessIdentity};
use crate::desired::{Kind, MaintenanceWindow};
use crate::world::ServiceStatus;

const ME: u32 = 1000;

fn gpu_proc(pid: u32, bytes: u64, uid: u32) -> GpuProcess {
    GpuProcess {
        pid,
        gpu_index: Some(0),
        bytes,
        lineage: vec![pid],
        identity: Some(ProcessIdentity {
            pid,
            start_ticks: 42,
        }),
        uid: Some(uid),
        cmdline: format!("stray {pid}"),
    }
}

/// GPU 0 with `used` of 1000 bytes (threshold 90%); a running model `m`
/// (pid 900) holding 10 of them; the given GPU processes.
fn live(used: u64, procs: Vec<GpuProcess>) -> BTreeMap<String, LiveNode> {
    let m = LiveService {
        observation: LiveObservation::Up,
        identity: Some(ProcessIdentity {
            pid: 900,
            start_ticks: 1,
        }),
        memory_bytes: None,
        gpu_memory_bytes: Some(10),
        loading: false,
        activity: None,
        cpu_seconds: None,
        reason: None,
        ambiguous: false,
        health_probed: true,
        probe_latency_ms: None,
    };
    let gpu = GpuReading {
        index: 0,
        used_bytes: used,
        total_bytes: 1000,
        ..Default::default()
    };
    BTreeMap::from([(
        "gpu".to_string(),
        LiveNode {
            gpus: vec![gpu],
            gpu_processes: procs,
            user_uid: Some(ME),
            services: BTreeMap::from([("m".to_string(), m)]),
            ..Default::default()
        },
    )])
}

fn decide_with(
    evict_orphans: bool,
    max_actions: u32,
    live: &BTreeMap<String, LiveNode>,
    mode: Mode,
) -> Decision {
    decide_in(evict_orphans, max_actions, live, mode, vec![])
}

fn decide_in(
    evict_orphans: bool,
    max_actions: u32,
    live: &BTreeMap<String, LiveNode>,
    mode: Mode,
    maintenance: Vec<MaintenanceWindow>,
) -> Decision {
    let mut f = fleet("gpu", vec![service("m", Kind::Model)]);
    let node = f.nodes.get_mut("gpu").unwrap();
    node.settings.evict_orphans = evict_orphans;
    node.settings.max_actions_per_run = max_actions;
    node.settings.maintenance = maintenance;
    let w = world("gpu", &[("m", ServiceStatus::Ok, None)]);
    let overrides = Overrides::default();
    decide(&Input {
        fleet: &f,
        world: &w,
        checkpoint: &Checkpoint::default(),
        overrides: &overrides,
        live,
        now: at(NOW),
        mode,
        local_node: Some("gpu"),
        operator: None,
    })
}

fn evictions(d: &Decision) -> Vec<(u32, Disposition)> {
    d.nodes[0]
        .orphan_evictions
        .iter()
        .map(|e| (e.orphan.identity.pid, e.disposition.clone()))
        .collect()
}

fn model_evicted(d: &Decision) -> bool {
    d.nodes[0]
        .services
        .iter()
        .flat_map(|s| &s.actions)
        .any(|a| a.action == Action::Evict)
}

const LIVE: Mode = Mode::Reconcile { dry_run: false };

#[test]
fn orphans_of_this_user_go_first_largest_first_and_only_enough() {
    // 950 used: more than 50 must go. 502 is the largest, but another user's.
    let procs = vec![
        gpu_proc(500, 60, ME),
        gpu_proc(501, 30, ME),
        gpu_proc(502, 300, 0),
        gpu_proc(1, 300, ME), // never pid 1, whoever owns it
    ];
    let l = live(950, procs);
    let d = decide_with(true, 5, &l, LIVE);
    assert_eq!(evictions(&d), [(500, Disposition::Execute)]);
    assert!(!model_evicted(&d), "the orphan was enough");
    let reasons: Vec<_> = d.nodes[0].emitted.iter().map(|p| &p.reason).collect();
    assert!(
        reasons.iter().any(|r| r.contains("evict orphan pid 500")),
        "{reasons:?}"
    );
    // 975 used: more than 75 must go: 60 + 30, still no model.
    let d = decide_with(true, 5, &live(975, l["gpu"].gpu_processes.clone()), LIVE);
    assert_eq!(
        evictions(&d),
        [(500, Disposition::Execute), (501, Disposition::Execute)]
    );
    assert!(!model_evicted(&d));
    // 995 used: orphans (90) are not enough; the model (10) goes too.
    let d = decide_with(true, 5, &live(995, l["gpu"].gpu_processes.clone()), LIVE);
    assert_eq!(evictions(&d).len(), 2);
    assert!(model_evicted(&d));
}

#[test]
fn without_evict_orphans_the_model_goes_and_no_orphan_is_touched() {
    // 905 used: the model's 10 are enough.
    let l = live(905, vec![gpu_proc(500, 60, ME)]);
    let d = decide_with(false, 5, &l, LIVE);
    assert!(evictions(&d).is_empty());
    assert!(model_evicted(&d));
    assert_eq!(d.nodes[0].orphans.len(), 1, "still reported");
}

#[test]
fn blocked_pressure_evicts_no_orphan_either() {
    // 1000 used: 60 + 30 + 10 frees 100, leaving exactly 90%: not below.
    let l = live(1000, vec![gpu_proc(500, 60, ME), gpu_proc(501, 30, ME)]);
    let d = decide_with(true, 5, &l, LIVE);
    assert!(evictions(&d).is_empty());
    assert!(!model_evicted(&d));
    let blocked = &d.nodes[0].emitted[0];
    assert_eq!(blocked.urgency, Urgency::Blocked);
    assert!(
        blocked.reason.contains("every candidate (3)"),
        "{}",
        blocked.reason
    );
}

#[test]
fn guardrails_apply_to_orphans_dry_run_budget_and_check() {
    let l = live(975, vec![gpu_proc(500, 60, ME), gpu_proc(501, 30, ME)]);
    let d = decide_with(true, 5, &l, Mode::Reconcile { dry_run: true });
    assert_eq!(
        evictions(&d),
        [
            (500, Disposition::Skip("dry_run")),
            (501, Disposition::Skip("dry_run"))
        ]
    );
    let d = decide_with(true, 1, &l, LIVE);
    assert_eq!(
        evictions(&d),
        [
            (500, Disposition::Execute),
            (501, Disposition::Skip("max_actions"))
        ]
    );
    let d = decide_with(true, 5, &l, Mode::Check);
    assert_eq!(evictions(&d)[0].1, Disposition::Execute, "planned");
    let all_day = MaintenanceWindow {
        days: vec![],
        from_minute: 0,
        to_minute: 24 * 60 - 1,
    };
    let d = decide_in(true, 5, &l, LIVE, vec![all_day]);
    assert_eq!(evictions(&d)[0].1, Disposition::Skip("maintenance"));
    // Someone else's orphans are never chosen, even when nothing else helps.
    let theirs = live(975, vec![gpu_proc(500, 60, 7), gpu_proc(501, 30, 7)]);
    let d = decide_with(true, 5, &theirs, LIVE);
    assert!(evictions(&d).is_empty());
}
