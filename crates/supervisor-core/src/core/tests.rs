//! Decision-core cases that pin down the contract's subtler rules, one
//! `decide` call each, no I/O.
use std::collections::BTreeMap;

use super::testutil::*;
use super::*;
use crate::checkpoint::{Checkpoint, ServiceState};
use crate::desired::Kind;
use crate::world::{MemoryUse, ResourceRecord, ServiceStatus::*};

fn run(fleet: &Fleet, world: &World, cp: &Checkpoint) -> Decision {
    let live = BTreeMap::new();
    let overrides = Overrides::default();
    decide(&Input {
        fleet,
        world,
        checkpoint: cp,
        overrides: &overrides,
        live: &live,
        now: at(NOW),
        mode: Mode::Check,
        local_node: None,
        operator: None,
    })
}

/// A checkpoint holding one service's state.
fn checkpoint(key: &str, state: ServiceState) -> Checkpoint {
    let mut cp = Checkpoint::default();
    cp.services.insert(key.into(), Box::new(state));
    cp
}

fn emitted(d: &Decision, service: &str) -> Vec<(Urgency, Action, &'static str)> {
    d.nodes[0]
        .services
        .iter()
        .filter(|s| s.name == service)
        .flat_map(|s| s.emitted.iter())
        .map(|p| (p.urgency, p.action, p.condition.as_str()))
        .collect()
}

#[test]
fn dead_service_with_fallback_gets_restart_and_fallback() {
    let mut primary = service("llama-70b", Kind::Model);
    primary.fallback = Some("llama-8b".into());
    let f = fleet("gpu", vec![primary, service("llama-8b", Kind::Model)]);
    let w = world(
        "gpu",
        &[("llama-70b", Failed, None), ("llama-8b", Ok, None)],
    );
    let d = run(&f, &w, &Checkpoint::default());
    assert_eq!(
        emitted(&d, "llama-70b"),
        vec![
            (Urgency::Required, Action::Restart, "unhealthy_service"),
            (
                Urgency::Required,
                Action::ActivateFallback,
                "unhealthy_service"
            )
        ]
    );
}

#[test]
fn pinned_idle_model_is_kept_and_the_conflict_recorded() {
    let mut m = service("embed", Kind::Model);
    m.pinned = true;
    let f = fleet("gpu", vec![m]);
    let w = world("gpu", &[("embed", Ok, Some("2026-11-23T10:00:00Z"))]);
    let d = run(&f, &w, &Checkpoint::default());
    let sp = &d.nodes[0].services[0];
    assert_eq!(sp.drifts[0].condition.as_str(), "idle");
    assert!(
        sp.emitted.is_empty(),
        "keep overrules evict and is not an event"
    );
    assert_eq!(sp.conflicts[0].winner, (Policy::Pinned, Action::Keep));
    assert_eq!(sp.conflicts[0].loser, (Policy::IdleEviction, Action::Evict));
}

#[test]
fn idle_is_strict_and_needs_some_activity() {
    let f = fleet(
        "gpu",
        vec![service("a", Kind::Model), service("b", Kind::Model)],
    );
    // a: exactly 30 minutes idle (not longer); b: never active.
    let w = world(
        "gpu",
        &[("a", Ok, Some("2026-11-23T11:30:00Z")), ("b", Ok, None)],
    );
    let d = run(&f, &w, &Checkpoint::default());
    assert!(d.nodes[0].services.iter().all(|s| s.drifts.is_empty()));
}

#[test]
fn memory_pressure_evicts_lowest_priority_then_least_recent() {
    let mut specs = vec![];
    for (name, prio) in [("a", 1), ("b", 0), ("c", 0)] {
        let mut s = service(name, Kind::Model);
        s.priority = prio;
        s.memory = Some(10);
        specs.push(s);
    }
    let f = fleet("gpu", specs);
    let mut w = world(
        "gpu",
        &[
            ("a", Ok, Some("2026-11-23T11:45:00Z")),
            ("b", Ok, Some("2026-11-23T11:59:00Z")),
            ("c", Ok, Some("2026-11-23T11:58:00Z")),
        ],
    );
    // 95 of 100 used, threshold 90: freeing 10 is enough; c is the first candidate.
    w.resources.insert(
        "gpu".into(),
        Obs::Valid(ResourceRecord {
            observed_at: at(NOW),
            memory: Some(MemoryUse {
                total_bytes: 100,
                used_bytes: 95,
            }),
            gpus: vec![],
        }),
    );
    let d = run(&f, &w, &Checkpoint::default());
    assert_eq!(
        emitted(&d, "c"),
        vec![(Urgency::Required, Action::Evict, "memory_pressure")]
    );
    assert!(emitted(&d, "a").is_empty() && emitted(&d, "b").is_empty());
    // 125 of 100 used: evicting all three (30) is not enough → blocked, nothing evicted.
    w.resources.insert(
        "gpu".into(),
        Obs::Valid(ResourceRecord {
            observed_at: at(NOW),
            memory: Some(MemoryUse {
                total_bytes: 100,
                used_bytes: 125,
            }),
            gpus: vec![],
        }),
    );
    let d = run(&f, &w, &Checkpoint::default());
    assert!(d.nodes[0].services.iter().all(|s| s.emitted.is_empty()));
    assert_eq!(d.nodes[0].emitted[0].urgency, Urgency::Blocked);
}

#[test]
fn unhealthy_dependency_delays_restart_and_beats_pinned_restart() {
    let mut app = service("agent", Kind::Service);
    app.depends_on = vec!["redis".into()];
    app.pinned = true;
    let f = fleet("nas", vec![app, service("redis", Kind::Service)]);
    let w = world("nas", &[("agent", Failed, None), ("redis", Failed, None)]);
    let d = run(&f, &w, &Checkpoint::default());
    assert_eq!(
        emitted(&d, "agent"),
        vec![(
            Urgency::Recommended,
            Action::DelayedDeployment,
            "dependency_unavailable"
        )]
    );
    let sp = &d.nodes[0].services[0];
    assert_eq!(
        sp.conflicts[0].winner,
        (Policy::Availability, Action::DelayedDeployment)
    );
    assert_eq!(sp.conflicts[0].loser, (Policy::Pinned, Action::Restart));
    assert!(sp.actions.is_empty());
}

#[test]
fn open_circuit_blocks_every_restart() {
    let mut s = service("vllm", Kind::Service);
    s.pinned = true;
    let f = fleet("gpu", vec![s]);
    let w = world("gpu", &[("vllm", Failed, None)]);
    let cp = checkpoint(
        "gpu/vllm",
        ServiceState {
            restart_attempts: 3,
            ..Default::default()
        },
    );
    let d = run(&f, &w, &cp);
    assert_eq!(
        emitted(&d, "vllm"),
        vec![(Urgency::Blocked, Action::Diagnostics, "restart_exhausted")]
    );
    assert!(d.nodes[0].services[0].actions.is_empty());
}

#[test]
fn offline_node_judges_no_service() {
    let f = fleet("edge", vec![service("a", Kind::Service)]);
    let mut w = world("edge", &[("a", Failed, None)]);
    w.nodes.clear();
    let cp = checkpoint(
        "edge/a",
        ServiceState {
            health: crate::checkpoint::Health::Healthy,
            ..Default::default()
        },
    );
    let d = run(&f, &w, &cp);
    assert!(!d.nodes[0].online);
    assert!(d.nodes[0].services.is_empty());
    assert_eq!(d.nodes[0].emitted[0].condition.as_str(), "offline_node");
    assert_eq!(
        d.checkpoint.services["edge/a"].health,
        crate::checkpoint::Health::Healthy,
        "state carried over"
    );
}

#[test]
fn same_inputs_same_decisions() {
    let f = fleet(
        "gpu",
        vec![service("a", Kind::Model), service("b", Kind::Service)],
    );
    let w = world("gpu", &[("a", Degraded, None), ("b", Failed, None)]);
    let one = format!("{:?}", run(&f, &w, &Checkpoint::default()));
    let two = format!("{:?}", run(&f, &w, &Checkpoint::default()));
    assert_eq!(one, two);
}

#[test]
fn cpu_use_comes_from_the_difference_between_probes_of_one_process() {
    let f = fleet("gpu", vec![service("vllm", Kind::Service)]);
    let w = world("gpu", &[]);
    let id = crate::checkpoint::ProcessIdentity {
        pid: 42,
        start_ticks: 7,
    };
    let live_at = |cpu: f64| {
        let svc = LiveService {
            observation: LiveObservation::Up,
            identity: Some(id),
            memory_bytes: None,
            gpu_memory_bytes: None,
            loading: false,
            activity: None,
            cpu_seconds: Some(cpu),
            reason: None,
            ambiguous: false,
            health_probed: false,
            probe_latency_ms: None,
        };
        BTreeMap::from([(
            "gpu".to_string(),
            LiveNode {
                services: BTreeMap::from([("vllm".to_string(), svc)]),
                ..Default::default()
            },
        )])
    };
    let overrides = Overrides::default();
    let mut cp = Checkpoint::default();
    for (secs, cpu) in [(0, 10.0), (10, 25.0)] {
        let live = live_at(cpu);
        let now = at(NOW) + chrono::Duration::seconds(secs);
        let input = Input {
            fleet: &f,
            world: &w,
            checkpoint: &cp,
            overrides: &overrides,
            live: &live,
            now,
            mode: Mode::Reconcile { dry_run: true },
            local_node: Some("gpu"),
            operator: None,
        };
        cp = decide(&input).checkpoint;
    }
    assert_eq!(
        cp.services["gpu/vllm"].cpu_use,
        Some(1.5),
        "15 CPU-seconds in 10 s is 1.5 cores"
    );
}

/// An open circuit whose half-open trial start is then seen up: the
/// trial succeeded and closes the circuit (docs/reference/behaviour.md, "Restarts: backoff and the circuit breaker"); with
/// `breaker_retry: never` only ten healthy minutes (or `reset`) close it.
#[test]
fn a_verified_half_open_trial_closes_the_circuit() {
    for (retry, closed) in [(true, true), (false, false)] {
        let mut f = fleet("gpu", vec![service("vllm", Kind::Service)]);
        let settings = &mut f.nodes.get_mut("gpu").unwrap().settings;
        if !retry {
            settings.breaker_retry = None;
        }
        let w = world("gpu", &[("vllm", Ok, None)]);
        let cp = checkpoint(
            "gpu/vllm",
            ServiceState {
                restart_attempts: 4,
                breaker_opened_at: Some(at("2026-11-23T11:59:00Z")),
                breaker_trials: 1,
                last_restart_at: Some(at("2026-11-23T11:59:00Z")),
                pending: Some(crate::checkpoint::PendingCheck {
                    action: crate::core::Action::Restart,
                    at: at("2026-11-23T11:59:00Z"),
                }),
                ..Default::default()
            },
        );
        let d = run(&f, &w, &cp);
        let st = &d.checkpoint.services["gpu/vllm"];
        if closed {
            assert_eq!(st.restart_attempts, 0, "closed");
            assert_eq!(st.breaker_trials, 0, "trials forgotten");
            assert_eq!(st.breaker_opened_at, None);
        } else {
            assert_eq!(st.restart_attempts, 4, "`never`: still open");
        }
    }
}

/// Issue: a restart of a running GPU model was deferred for GPU pressure as
/// if its memory came on top of what it already holds. A dead pinned
/// 40 GiB model on an 80 GiB GPU holding 60 GiB in all was never
/// restarted ("would take gpu 0 to 125.0%"), though stopping it first
/// frees its 40 GiB: 75 % after the restart.
#[test]
fn a_restart_frees_what_the_service_holds_before_it_counts_what_it_needs() {
    const GIB: u64 = 1 << 30;
    let mut m = service("big", Kind::Model);
    m.pinned = true;
    m.gpu_memory = Some(40 * GIB);
    let f = fleet("gpu", vec![m]);
    let mut w = world("gpu", &[("big", Ok, None)]);
    // Its process still runs and holds 40 GiB; its probe fails.
    if let Some(Obs::Valid(r)) = w.services.get_mut(&("gpu".into(), "big".into())) {
        r.gpu_memory_bytes = Some(40 * GIB);
        r.gpu_index = Some(0);
        r.probe = Some(crate::world::ProbeResult::Failing);
    }
    w.resources.insert(
        "gpu".into(),
        Obs::Valid(ResourceRecord {
            observed_at: at(NOW),
            memory: None,
            gpus: vec![crate::world::GpuUse {
                index: 0,
                name: None,
                memory_total_bytes: 80 * GIB,
                memory_used_bytes: 60 * GIB,
                temperature_c: None,
                utilization: None,
            }],
        }),
    );
    let cp = checkpoint(
        "gpu/big",
        ServiceState {
            health: crate::checkpoint::Health::Dead,
            failures: 5,
            ..Default::default()
        },
    );
    let d = run(&f, &w, &cp);
    let restart = emitted(&d, "big");
    assert!(
        restart.iter().any(|(_, a, _)| *a == Action::Restart),
        "{restart:?}"
    );
    assert!(
        !restart.iter().any(|(_, a, _)| *a == Action::Defer),
        "{restart:?}"
    );
}

/// Issue: a recorded failing probe lost its reason in replay: a record with
/// `probe: failing` and `reason: "inference timed out after 10s"` was
/// reported as "the observer reported `ok`".
#[test]
fn a_recorded_failing_probe_keeps_its_reason() {
    let mut s = service("llm", Kind::Model);
    s.health.degraded_after = 1;
    let f = fleet("n", vec![s]);
    let mut w = world("n", &[("llm", Ok, None)]);
    if let Some(Obs::Valid(r)) = w.services.get_mut(&("n".into(), "llm".into())) {
        r.probe = Some(crate::world::ProbeResult::Failing);
        r.reason = Some("inference timed out after 10s".into());
    }
    let d = run(&f, &w, &Checkpoint::default());
    let sp = &d.nodes[0].services[0];
    assert_eq!(sp.reason.as_deref(), Some("inference timed out after 10s"));
}

/// Issue: a fallback named `node/service` on the same node needed an
/// observer's world record (`fallback vm/tiny-llm is not healthy in the
/// world: not activated`); this node's own view of it is enough.
#[test]
fn a_fallback_on_this_node_named_with_its_node_needs_no_world_record() {
    let mut primary = service("big", Kind::Model);
    primary.fallback = Some("gpu/tiny".into());
    let f = fleet("gpu", vec![primary, service("tiny", Kind::Model)]);
    // Only the primary has a record; `tiny` is healthy in the checkpoint
    // (as a live probe of this node left it).
    let w = world("gpu", &[("big", Failed, None)]);
    let cp = checkpoint(
        "gpu/tiny",
        ServiceState {
            health: crate::checkpoint::Health::Healthy,
            ..Default::default()
        },
    );
    let d = run(&f, &w, &cp);
    assert!(
        emitted(&d, "big").contains(&(
            Urgency::Required,
            Action::ActivateFallback,
            "unhealthy_service"
        )),
        "{:?}",
        emitted(&d, "big")
    );
}
