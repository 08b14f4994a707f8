//! Settling a run: folds execution outcomes (data) into the checkpoint and
//! lays the run's events out in the order docs/reference/behaviour.md, "Drift and policies" fixes. Pure.
use std::collections::BTreeMap;

use super::thrash::Doubled;
pub(super) use label::label;

mod label;
pub mod repeats;
use super::types::{
    Action, Disposition, Drift, NodePlan, PlannedAction, Policy, Proposal, Severity,
};
use super::{Decision, Mode};
use crate::checkpoint::ProcessIdentity;
use crate::checkpoint::{key, Checkpoint, Fallback, Health, LastAction, PendingCheck};
use crate::desired::{Fleet, Start};
use crate::events::{
    ActionExecuted, ActionVerified, Body, CircuitHalfOpen, ConflictResolved, Counts, DecidedAction,
    DecidedConflict, DecidedProposal, DriftDetected, Event, EventKind, HealthChanged, Outcome,
    Reconcile,
};

/// What the executor did with one action it was told to execute.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub success: bool,
    pub reason: String,
    pub exit_code: Option<i32>,
    pub duration_ms: u64,
    /// The process started, for spawns.
    pub spawned: Option<ProcessIdentity>,
    /// A start that has not failed yet: reported as `started`, and verified
    /// by a later run (`action_verified`), never as `success` now.
    pub started: bool,
}

/// The summary state of docs/reference/behaviour.md, "Drift and policies", ordered by how bad it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Summary {
    Nominal,
    Degraded,
    Reconciling,
    Unstable,
}

impl Summary {
    pub fn as_str(self) -> &'static str {
        match self {
            Summary::Nominal => "nominal",
            Summary::Degraded => "degraded",
            Summary::Reconciling => "reconciling",
            Summary::Unstable => "unstable",
        }
    }
}

pub struct Settled {
    /// Every event of the run but `run_finished`, in order.
    pub events: Vec<Event>,
    /// The signal that stopped execution early (`run_finished` says so).
    pub interrupted: Option<&'static str>,
    pub checkpoint: Checkpoint,
    pub summary: Summary,
    pub counts: Counts,
}

/// What the executor did, as data for [`settle`].
#[derive(Debug, Clone, Default)]
pub struct Execution {
    /// For each planned action in plan order (None: not executed).
    pub outcomes: Vec<Option<Report>>,
    /// For each of the decision's removals, in order (None: not executed).
    pub removals: Vec<Option<Report>>,
    /// For each orphan eviction of the plan, node by node (None: not executed).
    pub orphans: Vec<Option<Report>>,
    /// The signal that stopped execution early, if one did.
    pub interrupted: Option<&'static str>,
}

pub fn settle(
    fleet: &Fleet,
    decision: Decision,
    mode: Mode,
    now: chrono::DateTime<chrono::Utc>,
    preamble: Vec<Event>,
    execution: &Execution,
) -> Settled {
    let Decision {
        nodes,
        mut checkpoint,
        removals,
        fallbacks,
    } = decision;
    let interrupted = execution.interrupted;
    let outcomes = &execution.outcomes;
    let invalid = preamble
        .iter()
        .filter(|e| e.kind() == EventKind::ObservationInvalid)
        .count();
    let mut events = preamble;
    let mut worst = if invalid > 0 {
        Severity::Degraded
    } else {
        Severity::Nominal
    };
    let mut executed = false;
    let mut outcomes = outcomes.iter();
    let mut orphan_outcomes = execution.orphans.iter();
    for node in &nodes {
        let n = Some(node.name.as_str());
        events.extend(node.orphans.iter().map(|o| o.event(n)));
        for d in &node.drifts {
            events.push(drift_event(n, None, d, None));
        }
        for p in &node.emitted {
            worst = worst.max(p.severity);
            events.push(reconcile_event(n, p));
        }
        events.extend(super::removed::settle_node(
            &node.name,
            &removals,
            &execution.removals,
            mode,
            &mut checkpoint,
        ));
        let mut actions = vec![];
        let o = (&mut orphan_outcomes, mode, interrupted);
        executed |= super::orphans::settle_node(node, o, &mut events, &mut actions);
        for sp in &node.services {
            let s = Some(sp.name.as_str());
            if let Some(detail) = &sp.half_open {
                events.push(Event::new(
                    n,
                    s,
                    CircuitHalfOpen {
                        reason: detail.clone(),
                    },
                ));
            }
            if let Some(v) = &sp.verified {
                // A start that failed is not "all good", whatever its health
                // says yet (its failures may not have counted this run).
                if !v.success {
                    worst = worst.max(Severity::Degraded);
                }
                events.push(Event::new(
                    n,
                    s,
                    ActionVerified {
                        action: v.action,
                        after_ms: v.after_ms,
                        outcome: if v.success {
                            Outcome::Success
                        } else {
                            Outcome::Failed
                        },
                        reason: v.reason.clone(),
                    },
                ));
            }
            if let Some((from, to, failures)) = sp.health_change {
                events.push(Event::new(
                    n,
                    s,
                    HealthChanged {
                        failures,
                        from,
                        reason: sp.reason.clone().filter(|_| to != Health::Healthy),
                        to,
                    },
                ));
            }
            events.extend(sp.tuning.iter().map(|c| c.event(n, s)));
            for d in &sp.drifts {
                let reason = matches!(
                    d.condition,
                    super::Condition::UnhealthyService | super::Condition::MissingService
                )
                .then(|| sp.reason.clone())
                .flatten();
                events.push(drift_event(n, s, d, reason));
            }
            for c in &sp.conflicts {
                events.push(Event::new(
                    n,
                    s,
                    ConflictResolved {
                        loser: c.loser.into(),
                        winner: c.winner.into(),
                    },
                ));
            }
            for p in &sp.emitted {
                worst = worst.max(p.severity);
                events.push(reconcile_event(n, p));
            }
            for a in &sp.actions {
                let outcome = outcomes.next().cloned().flatten();
                let (label, reason) = label(mode, &a.disposition, outcome.as_ref(), interrupted);
                actions.push(DecidedAction {
                    action: a.action,
                    orphan: false,
                    outcome: label,
                    pid: None,
                    reason: reason.clone(),
                    service: Some(a.service.clone()),
                });
                let mut doubled = None;
                if let Some(o) = &outcome {
                    executed = true;
                    doubled = apply(fleet, &fallbacks, &mut checkpoint, a, o, now);
                }
                let reportable =
                    matches!(mode, Mode::Reconcile { .. }) && a.disposition != Disposition::Remote;
                if reportable {
                    events.push(Event::new(
                        n,
                        s,
                        ActionExecuted {
                            action: a.action,
                            duration_ms: outcome.as_ref().map_or(0, |o| o.duration_ms),
                            exit_code: outcome.as_ref().and_then(|o| o.exit_code),
                            forced: a.forced,
                            outcome: label,
                            // Who acted, without a join with `reconcile_*`.
                            policy: Some(a.policy),
                            reason,
                            orphan: None,
                        },
                    ));
                }
                if let Some(d) = doubled {
                    events.push(d.event(n, s));
                }
            }
        }
        events.extend(node.predictions.iter().cloned());
        events.push(decision_event(node, actions));
    }
    // A start neither verified nor failed yet keeps the run reconciling
    // (docs/reference/behaviour.md, "Loading"): a service still coming up is not "all good".
    let unverified = checkpoint.services.values().any(|s| {
        s.pending
            .as_ref()
            .is_some_and(|p| p.action != Action::Evict)
    });
    let summary = match worst {
        Severity::Unstable => Summary::Unstable,
        _ if executed || unverified => Summary::Reconciling,
        Severity::Degraded => Summary::Degraded,
        Severity::Nominal => Summary::Nominal,
    };
    // A reconcile says a persisting condition once (`repeats`).
    let (events, unchanged) = match mode {
        Mode::Reconcile { .. } => {
            let (kept, keys, left_out) = repeats::suppress(events, &checkpoint.reported);
            checkpoint.reported = keys;
            (kept, left_out)
        }
        Mode::Check => (events, 0),
    };
    let mut counts = counts(&nodes, &events);
    counts.unchanged = (unchanged > 0).then_some(unchanged as u64);
    Settled {
        events,
        interrupted,
        checkpoint,
        summary,
        counts,
    }
}

fn drift_event(
    node: Option<&str>,
    service: Option<&str>,
    d: &Drift,
    reason: Option<String>,
) -> Event {
    let body = DriftDetected {
        condition: d.condition,
        detail: d.detail.clone(),
        reason,
    };
    Event::new(node, service, body)
}

fn reconcile_event(node: Option<&str>, p: &Proposal) -> Event {
    let body = p.urgency.body(Reconcile {
        action: p.action,
        condition: p.condition,
        policy: p.policy,
        reason: p.reason.clone(),
        severity: p.severity,
    });
    Event::new(node, p.service.as_deref(), body)
}

/// Folds one outcome into the checkpoint; a start that doubles a model's
/// effective idle timeout (thrash) says so.
fn apply(
    fleet: &Fleet,
    fallbacks: &BTreeMap<String, Fallback>,
    cp: &mut Checkpoint,
    a: &PlannedAction,
    o: &Report,
    now: chrono::DateTime<chrono::Utc>,
) -> Option<Doubled> {
    let k = key(&a.node, &a.service);
    if matches!(
        a.action,
        Action::ActivateFallback | Action::DeactivateFallback
    ) && o.success
    {
        // The map the core computed is what was written.
        cp.fallbacks = fallbacks.clone();
    }
    let st = cp.services.entry(k).or_default();
    st.last_action = Some(LastAction {
        action: a.action,
        at: now,
        outcome: match (o.success, o.started) {
            (true, true) => "started",
            (true, false) => "success",
            _ => "failed",
        }
        .into(),
    });
    let mut doubled = None;
    match a.action {
        Action::Restart | Action::Preload => {
            if a.action == Action::Restart {
                let max = fleet
                    .nodes
                    .get(&a.node)
                    .map_or(u32::MAX, |n| n.settings.max_restart_attempts);
                super::breaker::on_restart(st, max, now);
            }
            st.note_start(now);
            if o.success {
                let spec = fleet
                    .nodes
                    .get(&a.node)
                    .and_then(|n| n.services.get(&a.service));
                if let Some(spec) = spec.filter(|s| s.is_model()) {
                    doubled = super::thrash::on_start(st, spec.idle_timeout, now);
                }
                // Wait for fresh evidence: the next observation decides.
                st.mark_started(a.action, now);
                let spawned = fleet
                    .nodes
                    .get(&a.node)
                    .and_then(|n| n.services.get(&a.service))
                    .is_some_and(|s| matches!(s.start, Some(Start::Spawn(_))));
                if spawned || o.spawned.is_some() {
                    st.process = o.spawned;
                    st.spawned = o.spawned.is_some();
                }
            }
        }
        Action::Evict if o.success => {
            st.mark_evicted(now);
            st.pending = Some(PendingCheck {
                action: Action::Evict,
                at: now,
            });
        }
        _ => {}
    }
    if a.policy == Policy::Operator {
        super::operator::settle_outcome(st, a.action, o, now);
    }
    doubled
}

/// The most proposals a `decision` lists; the rest are counted in
/// `proposals_omitted` (a node with a thousand open incidents would write a
/// thousand advices into every run's audit record).
const MAX_DECISION_PROPOSALS: usize = 200;

fn decision_event(node: &NodePlan, actions: Vec<DecidedAction>) -> Event {
    // Every proposal that acts or holds back is listed; advice for a person
    // fills the rest of the bound, in order.
    let room = MAX_DECISION_PROPOSALS.saturating_sub(
        node.proposals
            .iter()
            .filter(|(p, _)| !p.action.needs_a_person())
            .count(),
    );
    let mut advice = 0;
    let listed: Vec<_> = node
        .proposals
        .iter()
        .filter(|(p, _)| {
            !p.action.needs_a_person() || {
                advice += 1;
                advice <= room
            }
        })
        .collect();
    let omitted = node.proposals.len() - listed.len();
    let proposals = listed
        .into_iter()
        .map(|(p, v)| DecidedProposal {
            action: p.action,
            condition: p.condition,
            policy: p.policy,
            service: p.service.clone(),
            verdict: *v,
        })
        .collect();
    let conflicts = node
        .services
        .iter()
        .flat_map(|s| s.conflicts.iter())
        .map(|c| DecidedConflict {
            loser: c.loser.into(),
            service: c.service.clone(),
            winner: c.winner.into(),
        })
        .collect();
    let body = crate::events::Decision {
        actions,
        conflicts,
        proposals,
        proposals_omitted: (omitted > 0).then_some(omitted as u64),
        snapshot: node.snapshot.clone(),
    };
    Event::new(Some(&node.name), None, body)
}

fn counts(nodes: &[NodePlan], events: &[Event]) -> Counts {
    let mut c = Counts {
        nodes: nodes.len() as u64,
        nodes_offline: nodes.iter().filter(|n| !n.online).count() as u64,
        services: nodes.iter().map(|n| n.services.len() as u64).sum(),
        ..Counts::default()
    };
    // One pass over the run's events.
    for e in events {
        match &e.body {
            Body::ReconcileBlocked(_) => c.blocked += 1,
            Body::ReconcileRecommended(_) => c.recommended += 1,
            Body::ReconcileRequired(_) => c.required += 1,
            Body::ConflictResolved(_) => c.conflicts += 1,
            Body::DriftDetected(_) => c.drift += 1,
            Body::HealthChanged(_) => c.health_changed += 1,
            Body::ObservationInvalid(_) => c.invalid += 1,
            Body::ActionExecuted(x) => {
                c.executed += u64::from(x.outcome.ran());
                c.failed += u64::from(x.outcome == Outcome::Failed);
                c.skipped += u64::from(x.outcome == Outcome::Skipped);
            }
            _ => {}
        }
    }
    c
}
