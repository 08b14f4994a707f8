//! An operator's one-off request (`restart`/`stop`/`start`, docs/reference/behaviour.md, "Operator commands"): its
//! proposal, which outranks every policy; the pass it runs in, where no
//! other action runs; the stop it leaves remembered (supervisord's
//! `STOPPED`); and its verdict, from which the command's exit code comes.
//! Pure: waiting for a start to come up is the edge's.
use super::types::Condition;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::guardrails::backoff_until;
use super::settle::{Execution, Report};
use super::types::{
    Action, Disposition, NodePlan, OperatorAction, OperatorRequest, Policy, Proposal, Severity,
    Urgency,
};
use super::view::View;
use super::LiveObservation;
use crate::checkpoint::{key, Health, ServiceState};
use crate::desired::Settings;

/// The operator's request as a proposal: it outranks every policy.
pub fn proposal(req: &OperatorRequest) -> Proposal {
    Proposal {
        service: Some(req.service.clone()),
        policy: Policy::Operator,
        action: req.action.action(),
        urgency: Urgency::Required,
        condition: Condition::OperatorRequest,
        reason: format!("the operator asked to {} it", req.action.as_str()),
        severity: Severity::Nominal,
    }
}

/// This pass carries an operator's request for `node`.
pub fn pass_on(req: Option<&OperatorRequest>, node: &str) -> bool {
    req.is_some_and(|r| r.node == node)
}

/// In an operator's pass on `node`, every other action (a policy's, a
/// removed service's stop, an orphan's eviction) waits for the next
/// ordinary run (`operator_pass`): the command acts on its service only.
pub fn out_of_scope(req: Option<&OperatorRequest>, node: &str, policy: Policy) -> bool {
    pass_on(req, node) && policy != Policy::Operator
}

/// Whether the request needs no action: `start` of a service this run's
/// probe found running, `stop` of one it found gone (and with no `stop`
/// command to run). The reason it is skipped, if so.
pub fn needless(req: &OperatorRequest, v: &View) -> Option<&'static str> {
    let live = v.live?;
    let process = live.identity.is_some();
    match req.action {
        OperatorAction::Start
            if process
                && matches!(
                    live.observation,
                    LiveObservation::Up | LiveObservation::Failing
                ) =>
        {
            Some("already_running")
        }
        OperatorAction::Stop
            if !process
                && !live.ambiguous
                && live.observation == LiveObservation::Down
                && v.spec.stop.is_none() =>
        {
            Some("already_stopped")
        }
        _ => None,
    }
}

/// What a request that did not run leaves in the state: `stop` of a
/// service already gone is remembered as a stop, `start` of one already
/// running forgets an earlier stop.
pub fn settle_needless(state: &mut ServiceState, reason: &str, now: DateTime<Utc>) {
    match reason {
        "already_stopped" => {
            state.mark_evicted(now);
            state.stopped_by_operator_at = Some(now);
        }
        "already_running" => state.stopped_by_operator_at = None,
        _ => {}
    }
}

/// What an executed operator action leaves in the state (after the
/// common bookkeeping): a stop that worked is remembered; a start, whatever
/// its outcome, makes the service desired-running again, so a failed one
/// is retried by the policies with backoff (docs/reference/behaviour.md, "Operator commands").
pub fn settle_outcome(state: &mut ServiceState, action: Action, o: &Report, now: DateTime<Utc>) {
    match action {
        Action::Evict if o.success => state.stopped_by_operator_at = Some(now),
        Action::Restart => {
            state.stopped_by_operator_at = None;
            if !o.success && state.health == Health::Evicted {
                state.health = Health::Dead;
                state.evicted_at = None;
            }
        }
        _ => {}
    }
}

/// What came of the request, for the command's exit code: done (0),
/// refused or failed (1, with the reason), or started, to be seen up
/// within its grace.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Done(String),
    Refused(String),
    Failed(String),
    Started {
        reason: String,
        /// From the start to the end of the pass.
        after: Duration,
    },
}

/// The verdict on `req` from the pass's plan and what the executor did.
pub fn verdict(
    nodes: &[NodePlan],
    checkpoint: &crate::checkpoint::Checkpoint,
    fleet: &crate::desired::Fleet,
    execution: &Execution,
    req: &OperatorRequest,
    now: DateTime<Utc>,
) -> Verdict {
    let planned = nodes
        .iter()
        .flat_map(|n| n.services.iter())
        .flat_map(|s| s.actions.iter());
    let found = planned.enumerate().find(|(_, a)| {
        a.policy == Policy::Operator && a.node == req.node && a.service == req.service
    });
    let Some((i, a)) = found else {
        return Verdict::Refused("no action was planned for it".into());
    };
    let Some(node) = fleet.nodes.get(&req.node) else {
        return Verdict::Refused(format!("no node `{}`", req.node));
    };
    let state = checkpoint
        .services
        .get(&key(&req.node, &req.service))
        .cloned()
        .unwrap_or_default();
    match (&a.disposition, execution.outcomes.get(i).cloned().flatten()) {
        (Disposition::Skip(why), _) => skipped(why, req, &node.settings, &state, now),
        (Disposition::Remote, _) => Verdict::Refused("not this node".into()),
        (Disposition::Execute, None) => Verdict::Failed(
            execution
                .interrupted
                .map_or("not executed".into(), |s| format!("interrupted by {s}")),
        ),
        (Disposition::Execute, Some(o)) if !o.success => Verdict::Failed(o.reason),
        (Disposition::Execute, Some(o)) if o.started => Verdict::Started {
            after: Duration::from_millis(o.duration_ms),
            reason: o.reason,
        },
        (Disposition::Execute, Some(o)) => Verdict::Done(o.reason),
    }
}

/// A skipped request: done when it needed nothing, else refused and why,
/// with what would let it through.
fn skipped(
    why: &str,
    req: &OperatorRequest,
    settings: &Settings,
    state: &ServiceState,
    now: DateTime<Utc>,
) -> Verdict {
    let name = &req.service;
    let text = match why {
        "already_running" => return Verdict::Done("already running".into()),
        "already_stopped" => return Verdict::Done("already stopped".into()),
        "held" => format!("it is held; `supervisorctl release {name}` lets it be acted on (`--force` does not pass a hold)"),
        "backoff" => format!(
            "in restart backoff until {} (after {}); `--force` passes it",
            backoff_until(settings, name, state).map_or("now".into(), |t| format!(
                "{}, {}",
                crate::fmt::ts_secs(t),
                crate::fmt::relative(t, now)
            )),
            if state.restart_attempts == 0 {
                "its first start".to_string()
            } else {
                crate::fmt::count(state.restart_attempts.into(), "restart attempt", "restart attempts")
            }
        ),
        "circuit_open" => format!(
            "the restart circuit is open ({} restart attempts reached max_restart_attempts {}); `--force` passes it, `supervisorctl reset {name}` closes it",
            state.restart_attempts, settings.max_restart_attempts
        ),
        "ambiguous" => "which process is the service is ambiguous (several match); nothing is signalled: make `process` more specific".into(),
        "maintenance" => "inside a maintenance window".into(),
        "no_command" => "no `restart` or `spawn` command is declared".into(),
        "no_process" => "no process confirmed by this run's probe, and no `stop` command".into(),
        other => other.replace('_', " "),
    };
    Verdict::Refused(text)
}

#[cfg(test)]
#[path = "operator_tests.rs"]
mod tests;
