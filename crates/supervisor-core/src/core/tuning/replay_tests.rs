//! Tuning from world records alone, the way a replay drives the core:
//! `decide` and `settle` over recorded steps, the checkpoint carried from
//! one step to the next through its JSON form, no live probe.
use std::collections::BTreeMap;

use crate::checkpoint::Checkpoint;
use crate::core::settle::{settle, Execution, Report};
use crate::core::testutil::{at, fleet, service, world};
use crate::core::{decide, Disposition, Input, Mode, Overrides};
use crate::desired::{Fleet, Kind};
use crate::events::EventKind;
use crate::world::ServiceStatus::{self, *};

/// One step at `minute`: the world says `status` for `api`; every action
/// cleared for execution starts fine. Returns the `tuning_changed` events
/// as (setting, from, to) and the carried checkpoint.
fn step(
    f: &Fleet,
    cp: &Checkpoint,
    status: ServiceStatus,
    minute: i64,
) -> (Vec<(String, String, String)>, Checkpoint) {
    let now = at("2026-11-23T12:00:00Z") + chrono::Duration::minutes(minute);
    let mut w = world("n", &[("api", status, None)]);
    for obs in w.services.values_mut() {
        if let crate::world::Obs::Valid(r) = obs {
            r.observed_at = now;
        }
    }
    if let Some(crate::world::Obs::Valid(node)) = w.nodes.get_mut("n") {
        node.last_seen = now;
    }
    let (live, overrides) = (BTreeMap::new(), Overrides::default());
    let mode = Mode::Reconcile { dry_run: false };
    let d = decide(&Input {
        fleet: f,
        world: &w,
        checkpoint: cp,
        overrides: &overrides,
        live: &live,
        now,
        mode,
        local_node: Some("n"),
        operator: None,
    });
    let outcomes = d.nodes[0]
        .services
        .iter()
        .flat_map(|s| &s.actions)
        .map(|a| {
            (a.disposition == Disposition::Execute).then(|| Report {
                success: true,
                reason: "exited 0".into(),
                exit_code: Some(0),
                duration_ms: 1,
                spawned: None,
                started: true,
            })
        })
        .collect();
    let exec = Execution {
        outcomes,
        ..Default::default()
    };
    let s = settle(f, d, mode, now, vec![], &exec);
    let changes = s
        .events
        .iter()
        .filter(|e| e.kind() == EventKind::TuningChanged)
        .map(|e| {
            let f = |k: &str| e.fields()[k].as_str().unwrap().to_string();
            (f("setting"), f("from"), f("to"))
        })
        .collect();
    // Carried as a replay (or the next run) would: through its JSON form.
    let json = serde_json::to_string(&s.checkpoint).unwrap();
    (changes, serde_json::from_str(&json).unwrap())
}

fn adaptive_fleet() -> Fleet {
    let mut f = fleet("n", vec![service("api", Kind::Service)]);
    f.nodes.get_mut("n").unwrap().settings.adaptive = true;
    f
}

#[test]
fn blips_from_world_records_converge_within_bounds() {
    let f = adaptive_fleet();
    let (_, mut cp) = step(&f, &Checkpoint::default(), Ok, 0);
    let mut all = vec![];
    for i in 0..12 {
        let (c, next) = step(&f, &cp, Degraded, i * 20 + 10);
        assert!(c.is_empty());
        let (c, next) = step(&f, &next, Ok, i * 20 + 11);
        all.extend(c);
        cp = next;
    }
    assert_eq!(all, vec![("degraded_after".into(), "2".into(), "3".into())]);
    assert_eq!(cp.services["n/api"].tuning.degraded_after.unwrap().value, 3);
}

#[test]
fn restarts_that_work_at_once_shorten_patience_and_backoff() {
    let f = adaptive_fleet();
    let (_, mut cp) = step(&f, &Checkpoint::default(), Ok, 0);
    let mut all = vec![];
    // Dead, restarted (by us), up at the next record, and still up 14
    // minutes later (the restart circuit closes: the next restart is a
    // first attempt again); every 30 minutes.
    for i in 0..9 {
        for (status, minute) in [(Failed, 10), (Ok, 11), (Ok, 25)] {
            let (c, next) = step(&f, &cp, status, i * 30 + minute);
            all.extend(c);
            cp = next;
        }
    }
    let settings: Vec<_> = all
        .iter()
        .map(|(s, f, t)| (s.as_str(), f.as_str(), t.as_str()))
        .collect();
    // 3 verdicts: a step each (dead_after, backoff); 3 more within the
    // hour: none; then the next ones: dead_after 4 → 3, the base at its bound.
    assert_eq!(
        settings,
        vec![
            ("dead_after", "5", "4"),
            ("backoff_base", "5s", "2500ms"),
            ("dead_after", "4", "3"),
        ]
    );
    let t = &cp.services["n/api"].tuning;
    assert_eq!(
        t.dead_after.unwrap().value,
        3,
        "dead_after stays above degraded_after 2"
    );
}
