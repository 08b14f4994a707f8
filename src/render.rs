//! Human output: the plan as people read it. Built from the same events that
//! `--output json` prints, so the two never disagree. It may change between
//! releases; scripts should read `--output json`.
//!
//! Every string field is printed through [`escape_control`](crate::text::escape_control): details,
//! reasons and paths carry text from world files and commands, which must
//! not reach a terminal raw (docs/reference/behaviour.md, "Output").
use crate::events::{
    ActionExecuted, ActionVerified, Body, DecidedAction, Event, EventKind, EvictedOrphan,
    FailurePredicted, Reconcile, RunFinished,
};
use std::fmt::Write;

use crate::text::escape_control as esc;

/// The last line of a plan, for a person at a terminal (a timer's journal
/// does not need it every run).
pub const PLAN_HINT: &str =
    "hint: `--output json` prints these as events, one JSON object per line";

/// Renders a run's events as a plan; `exit`, what the run exits with, is
/// said on its last line (None: an operator's pass, whose command exits
/// with its own verdict, said after the plan).
pub fn plan(events: &[Event], check: bool, exit: Option<crate::exit::Exit>) -> String {
    let mut out = String::new();
    let mut node = String::new();
    // Drift details already shown for (service, condition): a reconcile line
    // repeats its reason only when no drift line explained it.
    let mut explained: Vec<(Option<&str>, crate::core::Condition)> = vec![];
    for e in events {
        node_header(&mut out, &mut node, e);
        let svc = e.service.as_deref().filter(|s| !s.is_empty()).map(esc);
        let who = svc.as_deref().unwrap_or("(node)");
        let out = &mut out;
        match &e.body {
            Body::ConfigInsecure(b) => {
                let (path, problem) = (esc(&b.path), esc(&b.problem));
                let _ = writeln!(out, "warning: `{path}` is {problem} (--insecure-config)");
            }
            Body::ObservationInvalid(b) => {
                let (path, error) = (esc(&b.path), esc(&b.error));
                let _ = writeln!(out, "warning: ignored `{path}`: {error}");
            }
            Body::WebhookFailed(b) => {
                let _ = writeln!(
                    out,
                    "warning: webhook `{}` did not get event {} ({}): {} (attempt {})",
                    esc(&b.url),
                    b.event_seq,
                    esc(b.event_type.as_str().unwrap_or("")),
                    esc(&b.error),
                    b.attempts
                );
            }
            Body::HealthChanged(b) => {
                let (from, to) = (b.from.as_str(), b.to.as_str());
                let _ = writeln!(out, "  {who:<24} health {from} -> {to}");
            }
            Body::TuningChanged(b) => {
                let _ = writeln!(
                    out,
                    "  {who:<24} tuned  {} {} -> {}: {}",
                    esc(&b.setting),
                    esc(&b.from),
                    esc(&b.to),
                    esc(&b.reason)
                );
            }
            Body::DriftDetected(b) => {
                explained.push((e.service.as_deref(), b.condition));
                let (condition, detail) = (b.condition.as_str(), esc(&b.detail));
                let _ = writeln!(out, "  {who:<24} drift  {condition}: {detail}");
            }
            Body::ConflictResolved(b) => {
                let (w, l) = (b.winner, b.loser);
                let _ = writeln!(
                    out,
                    "  {who:<24} conflict {}/{} overrules {}/{}",
                    w.policy.as_str(),
                    w.action,
                    l.policy.as_str(),
                    l.action
                );
            }
            Body::ReconcileRequired(r)
            | Body::ReconcileRecommended(r)
            | Body::ReconcileBlocked(r) => {
                let said = explained.contains(&(e.service.as_deref(), r.condition));
                reconcile_line(out, r, e.kind(), who, said);
            }
            Body::OrphanDetected(b) => {
                let _ = writeln!(
                    out,
                    "  {who:<24} {:<11} pid {} holds {}: `{}`",
                    "orphan",
                    b.pid,
                    orphan_memory(b.gpu_index, b.gpu_memory_bytes),
                    esc(&b.cmdline)
                );
            }
            Body::ActionExecuted(b) => action_executed(out, b, who),
            Body::CircuitHalfOpen(b) => {
                let reason = esc(&b.reason);
                let _ = if reason.starts_with("circuit half-open") {
                    writeln!(out, "  {who:<24} {reason}")
                } else {
                    writeln!(out, "  {who:<24} circuit half-open: {reason}")
                };
            }
            Body::ActionVerified(b) => action_verified(out, b, who),
            Body::ServiceRemoved(b) => {
                let (outcome, reason) = (b.outcome.as_str(), esc(&b.reason));
                let _ = writeln!(
                    out,
                    "  {who:<24} {outcome:<11} removed from hosts/: {reason}"
                );
            }
            Body::IntentRecovered(b) => {
                let _ = writeln!(
                    out,
                    "  {who:<24} {:<11} {} of an interrupted run counted (attempt {})",
                    "recovered",
                    esc(&b.action),
                    b.attempt
                );
            }
            Body::FailurePredicted(b) => failure_predicted(out, b, who),
            Body::Decision(d) if check => {
                for a in &d.actions {
                    let _ = writeln!(out, "{}", action_line(a, "plan   "));
                }
            }
            Body::RunFinished(b) => run_finished(out, b, exit),
            Body::RunStarted(_)
            | Body::Decision(_)
            | Body::ThrashDetected(_)
            | Body::ReplayScore(_) => {}
        }
    }
    out
}

/// A node's name on a line of its own when the events move to another
/// node (run and observation records are no node's).
fn node_header(out: &mut String, node: &mut String, e: &Event) {
    let Some(n) = e.node.as_deref().filter(|n| !n.is_empty()) else {
        return;
    };
    if n != node
        && !matches!(
            e.kind(),
            EventKind::RunStarted | EventKind::RunFinished | EventKind::ObservationInvalid
        )
    {
        n.clone_into(node);
        let _ = writeln!(out, "\n{}", esc(node));
    }
}

/// A `reconcile_*` event; `explained`: a drift line above already gave
/// its reason.
fn reconcile_line(out: &mut String, r: &Reconcile, ty: EventKind, who: &str, explained: bool) {
    let tag = ty.as_str().trim_start_matches("reconcile_");
    let (action, policy, severity) = (r.action, r.policy.as_str(), r.severity.as_str());
    // Advice: the tool will not do it; a person should. Its reason is the
    // drift line above, else a `why:` line. A blocked one too:
    // `diagnostics` of an open circuit is for a person, whatever blocked it.
    let advice = r.action.needs_a_person();
    let _ = if advice {
        writeln!(
            out,
            "  {who:<24} needs a person: {action} ({tag}; {policy}, {severity})"
        )
    } else {
        writeln!(out, "  {who:<24} {tag:<11} {action} ({policy}, {severity})")
    };
    let reason = esc(&r.reason);
    if !explained && advice {
        let _ = writeln!(out, "  {:<24} why: {reason}", "");
    } else if !explained {
        let _ = writeln!(out, "  {:<24}             {reason}", "");
    }
}

/// An executed action: a service's, or an orphan's (its pid and memory).
fn action_executed(out: &mut String, b: &ActionExecuted, who: &str) {
    let (outcome, action, reason) = (b.outcome.as_str(), b.action, esc(&b.reason));
    let _ = match &b.orphan {
        Some(EvictedOrphan {
            pid,
            gpu_index,
            gpu_memory_bytes,
            ..
        }) => writeln!(
            out,
            "  {who:<24} {outcome:<11} {action} orphan pid {pid} ({}): {reason}",
            orphan_memory(*gpu_index, *gpu_memory_bytes),
        ),
        None => writeln!(out, "  {who:<24} {outcome:<11} {action}: {reason}"),
    };
}

fn action_verified(out: &mut String, b: &ActionVerified, who: &str) {
    let (outcome, action, reason) = (b.outcome.as_str(), b.action, esc(&b.reason));
    let _ = writeln!(out, "  {who:<24} {outcome:<11} {action} verified: {reason}");
}

fn failure_predicted(out: &mut String, b: &FailurePredicted, who: &str) {
    let (reason, advice) = (esc(&b.reason), esc(&b.advice));
    let _ = writeln!(out, "  {who:<24} {:<11} {reason}; {advice}", "predicted");
}

/// The `state:` summary and the hint; `exit` as in [`plan`].
fn run_finished(out: &mut String, b: &RunFinished, exit: Option<crate::exit::Exit>) {
    let c = &b.counts;
    let n = crate::fmt::count;
    let exit = exit.map(|x| format!("exit {x}; ")).unwrap_or_default();
    let _ = writeln!(
        out,
        "\nstate: {} ({exit}{}, {}, {} drift, {} executed)",
        esc(&b.state),
        n(c.nodes, "node", "nodes"),
        n(c.services, "service", "services"),
        c.drift,
        n(c.executed, "action", "actions")
    );
    let _ = writeln!(out, "{PLAN_HINT}");
}

/// An orphan's memory for people: `29.3 GiB on gpu 0`.
fn orphan_memory(gpu_index: Option<u32>, bytes: u64) -> String {
    let size = crate::fmt::size(bytes);
    match gpu_index {
        Some(g) => format!("{size} on gpu {g}"),
        None => format!("{size} on an unknown gpu"),
    }
}

/// One action of a `decision` record as a line: service (`(node)` for an
/// orphan's, whose pid follows the action), `tag`, action, outcome and,
/// when there is one, the reason in parentheses (escaped).
pub fn action_line(a: &DecidedAction, tag: &str) -> String {
    let reason = if a.reason.is_empty() {
        String::new()
    } else {
        format!(" ({})", esc(&a.reason))
    };
    let (who, action) = match (a.orphan, a.pid) {
        (true, Some(pid)) => ("(node)".into(), format!("{} orphan pid {pid}", a.action)),
        _ => (
            esc(a.service.as_deref().unwrap_or("")).into_owned(),
            a.action.to_string(),
        ),
    };
    format!("  {who:<24} {tag}{action} {}{reason}", a.outcome)
}

#[cfg(test)]
#[path = "render_tests.rs"]
mod tests;
