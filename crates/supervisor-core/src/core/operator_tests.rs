//! The operator's request in the decision core: only its action runs in
//! its pass, `--force` passes a backoff and an open circuit but never a
//! hold, a stop is remembered until `start`, a failed start leaves the
//! service desired-running, and each outcome's verdict.
use std::collections::BTreeMap;

use super::*;
use crate::checkpoint::{Checkpoint, ServiceState};
use crate::core::testutil::*;
use crate::core::{decide, Decision, Input, Mode, Overrides};
use crate::desired::{Fleet, Kind};
use crate::world::ServiceStatus::{Failed, Ok as Up};

const NODE: &str = "gpu";

fn request(service: &str, action: OperatorAction, force: bool) -> OperatorRequest {
    OperatorRequest {
        node: NODE.into(),
        service: service.into(),
        action,
        force,
    }
}

fn run(
    fleet: &Fleet,
    world: &crate::world::World,
    cp: &Checkpoint,
    overrides: &Overrides,
    req: Option<&OperatorRequest>,
) -> Decision {
    let live = BTreeMap::new();
    decide(&Input {
        fleet,
        world,
        checkpoint: cp,
        overrides,
        live: &live,
        now: at(NOW),
        mode: Mode::Reconcile { dry_run: false },
        local_node: Some(NODE),
        operator: req,
    })
}

/// Every planned action: (service, action, policy, disposition, forced).
fn actions(d: &Decision) -> Vec<(String, Action, Policy, Disposition, bool)> {
    d.nodes[0]
        .services
        .iter()
        .flat_map(|s| s.actions.iter())
        .map(|a| {
            (
                a.service.clone(),
                a.action,
                a.policy,
                a.disposition.clone(),
                a.forced,
            )
        })
        .collect()
}

fn checkpoint(service: &str, st: ServiceState) -> Checkpoint {
    let mut cp = Checkpoint::default();
    cp.services
        .insert(format!("{NODE}/{service}"), Box::new(st));
    cp
}

#[test]
fn an_operator_pass_runs_the_asked_action_only() {
    let mut other = service("other", Kind::Service);
    other.fallback = Some("spare".into());
    let f = fleet(
        NODE,
        vec![
            service("web", Kind::Service),
            other,
            service("spare", Kind::Service),
        ],
    );
    let w = world(
        NODE,
        &[
            ("web", Up, None),
            ("other", Failed, None),
            ("spare", Up, None),
        ],
    );
    let req = request("web", OperatorAction::Restart, false);
    let d = run(
        &f,
        &w,
        &Checkpoint::default(),
        &Overrides::default(),
        Some(&req),
    );
    let wait = Disposition::Skip("operator_pass");
    assert_eq!(
        actions(&d),
        [
            (
                "other".into(),
                Action::Restart,
                Policy::Availability,
                wait.clone(),
                false
            ),
            (
                "other".into(),
                Action::ActivateFallback,
                Policy::Availability,
                wait,
                false
            ),
            (
                "web".into(),
                Action::Restart,
                Policy::Operator,
                Disposition::Execute,
                false
            ),
        ]
    );
    assert!(d.fallbacks.is_empty(), "no fallback switched on");
    // Without the request, the same run restarts `other` and routes to `spare`.
    let d = run(&f, &w, &Checkpoint::default(), &Overrides::default(), None);
    assert!(actions(&d).iter().all(|a| a.3 == Disposition::Execute));
}

#[test]
fn force_passes_a_backoff_and_an_open_circuit_never_a_hold() {
    let f = fleet(NODE, vec![service("web", Kind::Service)]);
    let w = world(NODE, &[("web", Failed, None)]);
    let max = settings().max_restart_attempts;
    let in_backoff = ServiceState {
        restart_attempts: 1,
        last_restart_at: Some(at("2026-11-23T11:59:59Z")),
        ..ServiceState::default()
    };
    let open = ServiceState {
        restart_attempts: max,
        last_restart_at: Some(at("2026-11-23T11:50:00Z")),
        ..ServiceState::default()
    };
    let open_in_backoff = ServiceState {
        restart_attempts: max,
        last_restart_at: Some(at("2026-11-23T11:59:59Z")),
        ..ServiceState::default()
    };
    let held = Overrides {
        holds: ["gpu/web".to_string()].into(),
        ..Overrides::default()
    };
    let free = Overrides::default();
    let cases = [
        (
            &in_backoff,
            &free,
            false,
            Disposition::Skip("backoff"),
            false,
        ),
        (&in_backoff, &free, true, Disposition::Execute, true),
        (
            &open,
            &free,
            false,
            Disposition::Skip("circuit_open"),
            false,
        ),
        (&open, &free, true, Disposition::Execute, true),
        // Open and in backoff: the circuit is the reason that lasts.
        (
            &open_in_backoff,
            &free,
            false,
            Disposition::Skip("circuit_open"),
            false,
        ),
        (&in_backoff, &held, true, Disposition::Skip("held"), false),
    ];
    for (st, overrides, force, want, forced) in cases {
        let req = request("web", OperatorAction::Restart, force);
        let cp = checkpoint("web", st.clone());
        let d = run(&f, &w, &cp, overrides, Some(&req));
        let ours: Vec<_> = actions(&d)
            .into_iter()
            .filter(|a| a.2 == Policy::Operator)
            .map(|a| (a.3, a.4))
            .collect();
        assert_eq!(ours, [(want.clone(), forced)], "{st:?} force {force}");
    }
}

#[test]
fn a_stopped_service_is_started_by_no_policy_until_asked() {
    let mut web = service("web", Kind::Model);
    web.pinned = true;
    let f = fleet(NODE, vec![web]);
    let stopped = ServiceState {
        health: crate::checkpoint::Health::Evicted,
        evicted_at: Some(at("2026-11-23T11:00:00Z")),
        stopped_by_operator_at: Some(at("2026-11-23T11:00:00Z")),
        ..ServiceState::default()
    };
    // Dead in the world, pinned, used since: nothing starts it.
    let w = world(NODE, &[("web", Failed, Some("2026-11-23T11:30:00Z"))]);
    let cp = checkpoint("web", stopped);
    let d = run(&f, &w, &cp, &Overrides::default(), None);
    assert_eq!(actions(&d), []);
    let st = &d.checkpoint.services["gpu/web"];
    assert_eq!(st.health, crate::checkpoint::Health::Evicted, "not dead");
    assert!(d.nodes[0].services[0].emitted.is_empty());
    // `start` is asked: it runs, and the state no longer says stopped
    // once it has (see `settle_outcome`).
    let req = request("web", OperatorAction::Start, false);
    let d = run(&f, &w, &cp, &Overrides::default(), Some(&req));
    assert_eq!(
        actions(&d),
        [(
            "web".into(),
            Action::Restart,
            Policy::Operator,
            Disposition::Execute,
            false
        )]
    );
}

fn outcome(success: bool, started: bool) -> Report {
    Report {
        success,
        reason: "r".into(),
        exit_code: None,
        duration_ms: 1500,
        spawned: None,
        started,
    }
}

#[test]
fn a_stop_is_remembered_and_any_start_forgets_it() {
    let now = at(NOW);
    let mut st = ServiceState::default();
    settle_outcome(&mut st, Action::Evict, &outcome(false, false), now);
    assert_eq!(st.stopped_by_operator_at, None, "a failed stop is no stop");
    settle_outcome(&mut st, Action::Evict, &outcome(true, false), now);
    assert_eq!(st.stopped_by_operator_at, Some(now));
    // A start that fails at once: desired-running, dead, retried by policy.
    st.health = crate::checkpoint::Health::Evicted;
    st.evicted_at = Some(now);
    settle_outcome(&mut st, Action::Restart, &outcome(false, false), now);
    assert_eq!(st.stopped_by_operator_at, None);
    assert_eq!(st.health, crate::checkpoint::Health::Dead);
    assert_eq!(st.evicted_at, None);
    // `stop` of a service already gone is remembered too; `start` of one
    // already running forgets it.
    settle_needless(&mut st, "already_stopped", now);
    assert_eq!(st.stopped_by_operator_at, Some(now));
    assert_eq!(st.health, crate::checkpoint::Health::Evicted);
    settle_needless(&mut st, "already_running", now);
    assert_eq!(st.stopped_by_operator_at, None);
}

#[test]
fn an_older_checkpoint_loads_as_not_stopped_and_the_field_round_trips() {
    let st: ServiceState = serde_json::from_str(r#"{"health": "evicted"}"#).unwrap();
    assert_eq!(st.stopped_by_operator_at, None);
    let text = serde_json::to_string(&st).unwrap();
    assert!(!text.contains("stopped_by_operator_at"), "{text}");
    let st = ServiceState {
        stopped_by_operator_at: Some(at(NOW)),
        ..st
    };
    let back: ServiceState = serde_json::from_str(&serde_json::to_string(&st).unwrap()).unwrap();
    assert_eq!(back, st);
}

#[test]
fn each_disposition_and_outcome_has_its_verdict() {
    let f = fleet(NODE, vec![service("web", Kind::Service)]);
    let w = world(NODE, &[("web", Failed, None)]);
    let st = ServiceState {
        restart_attempts: 1,
        last_restart_at: Some(at("2026-11-23T11:59:59Z")),
        ..ServiceState::default()
    };
    let req = request("web", OperatorAction::Restart, false);
    let cp = checkpoint("web", st);
    let d = run(&f, &w, &cp, &Overrides::default(), Some(&req));
    let none = Execution {
        outcomes: vec![None],
        ..Execution::default()
    };
    let v = verdict(&d.nodes, &d.checkpoint, &f, &none, &req, at(NOW));
    let Verdict::Refused(why) = &v else {
        panic!("{v:?}")
    };
    assert!(why.contains("backoff") && why.contains("--force"), "{why}");

    let forced = request("web", OperatorAction::Restart, true);
    let d = run(&f, &w, &cp, &Overrides::default(), Some(&forced));
    let with = |o: Report| Execution {
        outcomes: vec![Some(o)],
        ..Execution::default()
    };
    let v = |e: &Execution| verdict(&d.nodes, &d.checkpoint, &f, e, &forced, at(NOW));
    assert_eq!(v(&with(outcome(false, false))), Verdict::Failed("r".into()));
    assert_eq!(v(&with(outcome(true, false))), Verdict::Done("r".into()));
    assert_eq!(
        v(&with(outcome(true, true))),
        Verdict::Started {
            reason: "r".into(),
            after: std::time::Duration::from_millis(1500),
        }
    );
    let interrupted = Execution {
        outcomes: vec![None],
        interrupted: Some("SIGTERM"),
        ..Execution::default()
    };
    assert_eq!(
        v(&interrupted),
        Verdict::Failed("interrupted by SIGTERM".into())
    );
}
