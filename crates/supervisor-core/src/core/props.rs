//! Properties of `decide` (and `settle` after it) over generated fleets,
//! worlds, checkpoints and overrides: the same inputs give the same plan
//! and events; no node gets more than `max_actions_per_run` actions; no
//! policy evicts a pinned service; nothing executes on a held service or,
//! in `reconcile`, on another node; no backoff ends past now + cap + its
//! jitter; and settled runs number their events consecutively, run after
//! run. 128 cases each: `cargo test` (and `.ci/run`) stays quick.
use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use proptest::prelude::*;

use super::settle::{settle, Execution, Report};
use super::testutil::{at, service, settings, NOW};
use super::*;
use crate::checkpoint::{Checkpoint, LastAction, PendingCheck, ServiceState};
use crate::desired::{Fleet, Kind, NodeSpec, ServiceSpec};
use crate::world::{
    MemoryUse, NodeRecord, NodeStatus, Obs, ResourceRecord, ServiceRecord, ServiceStatus,
};

const CASES: u32 = 128;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: CASES,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn now() -> DateTime<Utc> {
    at(NOW)
}

/// `now` moved by `secs` (negative: in the past).
fn ago(secs: i64) -> DateTime<Utc> {
    now() + chrono::Duration::seconds(secs)
}

/// Everything one generated case decides from.
#[derive(Debug, Clone)]
struct Case {
    fleet: Fleet,
    world: World,
    checkpoint: Checkpoint,
    overrides: Overrides,
    mode: Mode,
    local: Option<String>,
}

impl Case {
    fn input<'a>(&'a self, live: &'a BTreeMap<String, LiveNode>) -> Input<'a> {
        Input {
            fleet: &self.fleet,
            world: &self.world,
            checkpoint: &self.checkpoint,
            overrides: &self.overrides,
            live,
            now: now(),
            mode: self.mode,
            local_node: self.local.as_deref(),
            operator: None,
        }
    }

    fn decide(&self) -> Decision {
        decide(&self.input(&BTreeMap::new()))
    }

    fn pinned(&self, node: &str, svc: &str) -> bool {
        let key = crate::checkpoint::key(node, svc);
        let spec = &self.fleet.nodes[node].services[svc];
        self.overrides
            .pins
            .get(&key)
            .copied()
            .unwrap_or(spec.pinned)
    }
}

/// One service: its spec, its world record (none: missing), and its
/// checkpoint entry.
#[derive(Debug, Clone)]
struct Svc {
    spec: ServiceSpec,
    record: Option<ServiceRecord>,
    state: Option<ServiceState>,
}

fn spec(i: usize) -> impl Strategy<Value = ServiceSpec> {
    (
        any::<bool>(),
        any::<bool>(),
        0i64..4,
        prop::option::of(1u64..40),
        prop::option::of(0usize..6),
    )
        .prop_map(move |(model, pinned, priority, memory, fallback)| {
            let kind = if model { Kind::Model } else { Kind::Service };
            let mut s = service(&format!("s{i}"), kind);
            s.pinned = pinned;
            s.priority = priority;
            s.memory = memory.map(|m| m << 30);
            s.fallback = fallback.filter(|f| *f != i).map(|f| format!("s{f}"));
            s
        })
}

fn status() -> impl Strategy<Value = ServiceStatus> {
    prop::sample::select(vec![
        ServiceStatus::Ok,
        ServiceStatus::Ok,
        ServiceStatus::Degraded,
        ServiceStatus::Failed,
        ServiceStatus::Stopped,
    ])
}

fn record() -> impl Strategy<Value = ServiceRecord> {
    (status(), -7200i64..60, prop::option::of(-7200i64..0)).prop_map(
        |(status, observed, activity)| ServiceRecord {
            last_activity: activity.map(ago),
            ..ServiceRecord::new(status, ago(observed))
        },
    )
}

fn health() -> impl Strategy<Value = crate::checkpoint::Health> {
    use crate::checkpoint::Health::*;
    prop::sample::select(vec![Unknown, Healthy, Degraded, Dead, Evicted])
}

/// A time around now: hours back, or (a clock that went backwards) ahead.
fn when() -> impl Strategy<Value = Option<DateTime<Utc>>> {
    prop::option::of((-4 * 3600i64..2 * 3600).prop_map(ago))
}

fn state() -> impl Strategy<Value = ServiceState> {
    (
        (health(), 0u32..5, 0u32..6, any::<bool>()),
        (when(), when(), when(), when()),
        (prop::option::of(any::<bool>()), 0u32..3),
    )
        .prop_map(
            |(
                (health, failures, attempts, seen_up),
                (restart, started, healthy, opened),
                (pending, trials),
            )| {
                let pending = pending.zip(started).map(|(evict, at)| PendingCheck {
                    action: if evict {
                        crate::core::Action::Evict
                    } else {
                        crate::core::Action::Restart
                    },
                    at,
                });
                ServiceState {
                    health,
                    failures,
                    restart_attempts: attempts,
                    seen_up,
                    last_restart_at: restart,
                    started_at: started,
                    healthy_since: healthy,
                    breaker_opened_at: opened,
                    breaker_trials: trials,
                    last_action: restart.map(|at| LastAction {
                        action: crate::core::Action::Restart,
                        at,
                        outcome: "started".into(),
                    }),
                    pending,
                    ..ServiceState::default()
                }
            },
        )
}

fn svc(i: usize) -> impl Strategy<Value = Svc> {
    (
        spec(i),
        prop::option::weighted(0.85, record()),
        prop::option::weighted(0.7, state()),
    )
        .prop_map(|(spec, record, state)| Svc {
            spec,
            record,
            state,
        })
}

/// A node: its settings' budget and breaker, whether it is online, its
/// memory use (0–100 %), its services.
#[derive(Debug, Clone)]
struct Node {
    max_actions: u32,
    max_attempts: u32,
    online: bool,
    used_pct: u64,
    services: Vec<Svc>,
}

fn node() -> impl Strategy<Value = Node> {
    (1usize..7).prop_flat_map(|n| {
        let services: Vec<_> = (0..n).map(svc).collect();
        (
            0u32..4,
            0u32..5,
            prop::bool::weighted(0.85),
            0u64..101,
            services,
        )
            .prop_map(
                |(max_actions, max_attempts, online, used_pct, services)| Node {
                    max_actions,
                    max_attempts,
                    online,
                    used_pct,
                    services,
                },
            )
    })
}

fn add_node(case: &mut Case, name: &str, n: Node) {
    let mut s = settings();
    s.max_actions_per_run = n.max_actions;
    s.max_restart_attempts = n.max_attempts;
    s.backoff_base = Duration::from_secs(10);
    s.backoff_max = Duration::from_mins(5);
    let mut services = BTreeMap::new();
    for svc in n.services {
        let key = (name.to_string(), svc.spec.name.clone());
        if let Some(r) = svc.record {
            case.world.services.insert(key.clone(), Obs::Valid(r));
        }
        if let Some(st) = svc.state {
            let k = crate::checkpoint::key(name, &key.1);
            case.checkpoint.services.insert(k, Box::new(st));
        }
        services.insert(key.1, svc.spec);
    }
    let status = if n.online {
        NodeStatus::Online
    } else {
        NodeStatus::Offline
    };
    let record = NodeRecord {
        status,
        last_seen: now(),
    };
    case.world.nodes.insert(name.into(), Obs::Valid(record));
    let memory = MemoryUse {
        total_bytes: 100 << 30,
        used_bytes: n.used_pct << 30,
    };
    let resources = ResourceRecord {
        observed_at: now(),
        memory: Some(memory),
        gpus: vec![],
    };
    case.world
        .resources
        .insert(name.into(), Obs::Valid(resources));
    let spec = NodeSpec {
        name: name.into(),
        file: "services.yaml".into(),
        settings: s,
        services,
    };
    case.fleet.nodes.insert(name.into(), spec);
}

/// Pins and holds over the generated services, by index.
fn overrides(case: &Case, pins: &[(usize, bool)], holds: &[usize]) -> Overrides {
    let keys: Vec<String> = case
        .fleet
        .nodes
        .values()
        .flat_map(|n| {
            n.services
                .keys()
                .map(|s| crate::checkpoint::key(&n.name, s))
        })
        .collect();
    let pick = |i: usize| keys[i % keys.len()].clone();
    Overrides {
        pins: pins.iter().map(|(i, p)| (pick(*i), *p)).collect(),
        holds: holds.iter().map(|i| pick(*i)).collect(),
    }
}

fn mode() -> impl Strategy<Value = (Mode, Option<usize>)> {
    prop_oneof![
        Just((Mode::Check, None)),
        (0usize..3).prop_map(|n| (Mode::Reconcile { dry_run: false }, Some(n))),
        (0usize..3).prop_map(|n| (Mode::Reconcile { dry_run: true }, Some(n))),
    ]
}

fn case() -> impl Strategy<Value = Case> {
    (
        prop::collection::vec(node(), 1..4),
        prop::collection::vec((0usize..32, any::<bool>()), 0..4),
        prop::collection::vec(0usize..32, 0..4),
        mode(),
        0u64..1000,
    )
        .prop_map(|(nodes, pins, holds, (mode, local), next_seq)| {
            let mut case = Case {
                fleet: Fleet {
                    nodes: BTreeMap::new(),
                    fingerprint: [0; 32],
                },
                world: World::default(),
                checkpoint: Checkpoint {
                    next_seq,
                    ..Checkpoint::default()
                },
                overrides: Overrides::default(),
                mode,
                local: local.map(|i| format!("n{}", i % nodes.len())),
            };
            for (i, n) in nodes.into_iter().enumerate() {
                add_node(&mut case, &format!("n{i}"), n);
            }
            case.overrides = overrides(&case, &pins, &holds);
            case
        })
}

fn actions(d: &Decision) -> impl Iterator<Item = (&NodePlan, &PlannedAction)> {
    d.nodes.iter().flat_map(|n| {
        n.services
            .iter()
            .flat_map(move |s| s.actions.iter().map(move |a| (n, a)))
    })
}

/// Every planned action executed, successfully: the outcomes `settle` folds in.
fn all_succeed(d: &Decision) -> Execution {
    let ok = || Report {
        success: true,
        reason: String::new(),
        exit_code: Some(0),
        duration_ms: 1,
        spawned: None,
        started: false,
    };
    let execute = |x: &Disposition| (*x == Disposition::Execute).then(ok);
    Execution {
        outcomes: actions(d).map(|(_, a)| execute(&a.disposition)).collect(),
        removals: d.removals.iter().map(|r| execute(&r.disposition)).collect(),
        orphans: vec![],
        interrupted: None,
    }
}

/// Decides and settles `case`; returns the settled run's event lines,
/// numbered from `first_seq` as the edge numbers them, and its checkpoint.
fn run(case: &Case, first_seq: u64) -> (Vec<String>, Checkpoint) {
    let d = case.decide();
    let execution = all_succeed(&d);
    let settled = settle(&case.fleet, d, case.mode, now(), vec![], &execution);
    let lines = (first_seq..)
        .zip(&settled.events)
        .map(|(seq, e)| e.to_line(NOW, "run", seq))
        .collect();
    (lines, settled.checkpoint)
}

fn seqs(lines: &[String]) -> Vec<u64> {
    lines
        .iter()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("an event line is JSON");
            v["seq"].as_u64().expect("seq")
        })
        .collect()
}

/// The latest a backoff may end: now + its cap + 10 % jitter.
fn latest_backoff(s: &crate::desired::Settings) -> DateTime<Utc> {
    let cap = s.backoff_max + s.backoff_max / 10;
    now() + chrono::Duration::from_std(cap).expect("cap")
}

fn assert_backoffs_capped(case: &Case, cp: &Checkpoint) -> Result<(), TestCaseError> {
    for (k, st) in &cp.services {
        let (node, svc) = k.split_once('/').expect("key");
        let Some(n) = case.fleet.nodes.get(node) else {
            continue;
        };
        let until = super::guardrails::backoff_until(&n.settings, svc, st);
        prop_assert!(
            until.is_none_or(|t| t <= latest_backoff(&n.settings)),
            "{k}: backoff until {until:?}"
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn the_same_inputs_give_the_same_plan_and_events(case in case()) {
        let (a, b) = (case.decide(), case.decide());
        prop_assert_eq!(format!("{:?}", a.nodes), format!("{:?}", b.nodes));
        prop_assert_eq!(format!("{:?}", a.removals), format!("{:?}", b.removals));
        prop_assert_eq!(&a.checkpoint, &b.checkpoint);
        prop_assert_eq!(run(&case, 1), run(&case, 1));
    }

    #[test]
    fn no_node_gets_more_than_its_budget_of_actions(case in case()) {
        let d = case.decide();
        for n in &d.nodes {
            let max = case.fleet.nodes[&n.name].settings.max_actions_per_run as usize;
            // What passed every other guardrail counts, dry run or not.
            let counted = |x: &Disposition| {
                matches!(x, Disposition::Execute | Disposition::Skip("dry_run"))
            };
            let used = n
                .services
                .iter()
                .flat_map(|s| &s.actions)
                .filter(|a| counted(&a.disposition))
                .count()
                + n.orphan_evictions.iter().filter(|o| counted(&o.disposition)).count();
            prop_assert!(used <= max, "{}: {used} actions, max {max}", n.name);
        }
    }

    #[test]
    fn no_policy_evicts_a_pinned_service(case in case()) {
        let d = case.decide();
        for (n, a) in actions(&d) {
            prop_assert!(
                !(a.action == Action::Evict && case.pinned(&n.name, &a.service)),
                "{}/{} is pinned, evicted by {:?}", n.name, a.service, a.policy
            );
        }
    }

    #[test]
    fn nothing_executes_on_a_held_service_or_another_node(case in case()) {
        let d = case.decide();
        let reconcile = matches!(case.mode, Mode::Reconcile { .. });
        for (n, a) in actions(&d).filter(|(_, a)| a.disposition == Disposition::Execute) {
            let key = crate::checkpoint::key(&n.name, &a.service);
            prop_assert!(!case.overrides.holds.contains(&key), "{key} is held");
            prop_assert!(
                !reconcile || case.local.as_deref() == Some(n.name.as_str()),
                "{key}: not the local node {:?}", case.local
            );
        }
        for r in d.removals.iter().filter(|r| r.disposition == Disposition::Execute) {
            prop_assert!(!reconcile || case.local.as_deref() == Some(r.node.as_str()));
        }
    }

    #[test]
    fn no_backoff_ends_past_now_plus_its_cap_and_jitter(case in case()) {
        assert_backoffs_capped(&case, &case.decide().checkpoint)?;
        assert_backoffs_capped(&case, &run(&case, 1).1)?;
    }

    #[test]
    fn settled_runs_number_their_events_consecutively(case in case()) {
        let first = case.checkpoint.next_seq.max(1);
        let (lines, cp) = run(&case, first);
        let expected: Vec<u64> = (first..).take(lines.len()).collect();
        prop_assert_eq!(seqs(&lines), expected);
        // The core leaves the count to the edge: the next run starts where
        // the log ends, and goes on from there.
        prop_assert_eq!(cp.next_seq, case.checkpoint.next_seq);
        let next = first + lines.len() as u64;
        let again = Case {
            checkpoint: Checkpoint { next_seq: next, ..cp },
            ..case.clone()
        };
        let (lines, cp) = run(&again, next);
        let expected: Vec<u64> = (next..).take(lines.len()).collect();
        prop_assert_eq!(seqs(&lines), expected);
        prop_assert_eq!(cp.next_seq, next);
    }
}
