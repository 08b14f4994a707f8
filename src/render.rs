//! Human output: the plan as people read it. Built from the same events that
//! `--output json` prints, so the two never disagree. It may change between
//! releases; scripts should read `--output json`.
//!
//! Every string field is printed through [`escape_control`]: details,
//! reasons and paths carry text from world files and commands, which must
//! not reach a terminal raw (docs/reference/behaviour.md, "Output").
use crate::core::Action;
use crate::events::EventKind;
use std::borrow::Cow;
use std::fmt::Write;

use serde_json::Value;

use crate::text::escape_control;

/// The string field `k` of `e`, control characters escaped ("" if absent).
fn s<'a>(e: &'a Value, k: &str) -> Cow<'a, str> {
    escape_control(e.get(k).and_then(Value::as_str).unwrap_or(""))
}

/// The last line of a plan, for a person at a terminal (a timer's journal
/// does not need it every run).
pub const PLAN_HINT: &str =
    "hint: `--output json` prints these as events, one JSON object per line";

/// Renders a run's events (already stamped) as a plan; `exit`, what the
/// run exits with, is said on its last line (None: an operator's pass,
/// whose command exits with its own verdict, said after the plan).
pub fn plan(events: &[Value], check: bool, exit: Option<crate::exit::Exit>) -> String {
    let mut out = String::new();
    let mut node = String::new();
    // Drift details already shown for (service, condition): a reconcile line
    // repeats its reason only when no drift line explained it.
    let mut explained: Vec<(String, String)> = vec![];
    for e in events {
        let Some(ty) = EventKind::parse(&s(e, "type")) else {
            continue;
        };
        node_header(&mut out, &mut node, e, ty);
        let svc = s(e, "service");
        let who = if svc.is_empty() { "(node)" } else { &svc };
        let out = &mut out;
        match ty {
            EventKind::ConfigInsecure
            | EventKind::ObservationInvalid
            | EventKind::WebhookFailed => warning_line(out, e, ty),
            EventKind::HealthChanged => health_line(out, e, who),
            EventKind::TuningChanged => tuning_line(out, e, who),
            EventKind::DriftDetected => {
                explained.push((svc.to_string(), s(e, "condition").to_string()));
                drift_line(out, e, who);
            }
            EventKind::ConflictResolved => conflict_line(out, e, who),
            EventKind::ReconcileRequired
            | EventKind::ReconcileRecommended
            | EventKind::ReconcileBlocked => reconcile_line(out, e, ty, who, &explained),
            EventKind::OrphanDetected => orphan_line(out, e, who),
            EventKind::ActionExecuted => action_executed(out, e, who),
            EventKind::CircuitHalfOpen => circuit_half_open(out, e, who),
            EventKind::ActionVerified => action_verified(out, e, who),
            EventKind::ServiceRemoved => service_removed(out, e, who),
            EventKind::IntentRecovered => intent_recovered(out, e, who),
            EventKind::FailurePredicted => failure_predicted(out, e, who),
            EventKind::Decision if check => decision_lines(out, e),
            EventKind::RunFinished => run_finished(out, e, exit),
            _ => {}
        }
    }
    out
}

/// A node's name on a line of its own when the events move to another
/// node (run and observation records are no node's).
fn node_header(out: &mut String, node: &mut String, e: &Value, ty: EventKind) {
    let n = s(e, "node");
    if !n.is_empty()
        && n != *node
        && !matches!(
            ty,
            EventKind::RunStarted | EventKind::RunFinished | EventKind::ObservationInvalid
        )
    {
        *node = n.into_owned();
        let _ = writeln!(out, "\n{node}");
    }
}

/// `config_insecure`, `observation_invalid` and `webhook_failed`: a
/// `warning:` line, flush left.
fn warning_line(out: &mut String, e: &Value, ty: EventKind) {
    let _ = match ty {
        EventKind::ConfigInsecure => writeln!(
            out,
            "warning: `{}` is {} (--insecure-config)",
            s(e, "path"),
            s(e, "problem")
        ),
        EventKind::ObservationInvalid => writeln!(
            out,
            "warning: ignored `{}`: {}",
            s(e, "path"),
            s(e, "error")
        ),
        _ => writeln!(
            out,
            "warning: webhook `{}` did not get event {} ({}): {} (attempt {})",
            s(e, "url"),
            e["event_seq"],
            s(e, "event_type"),
            s(e, "error"),
            e["attempts"]
        ),
    };
}

fn health_line(out: &mut String, e: &Value, who: &str) {
    let _ = writeln!(out, "  {who:<24} health {} -> {}", s(e, "from"), s(e, "to"));
}

fn tuning_line(out: &mut String, e: &Value, who: &str) {
    let _ = writeln!(
        out,
        "  {who:<24} tuned  {} {} -> {}: {}",
        s(e, "setting"),
        s(e, "from"),
        s(e, "to"),
        s(e, "reason")
    );
}

fn drift_line(out: &mut String, e: &Value, who: &str) {
    let _ = writeln!(
        out,
        "  {who:<24} drift  {}: {}",
        s(e, "condition"),
        s(e, "detail")
    );
}

fn conflict_line(out: &mut String, e: &Value, who: &str) {
    let w = &e["winner"];
    let l = &e["loser"];
    let _ = writeln!(
        out,
        "  {who:<24} conflict {}/{} overrules {}/{}",
        s(w, "policy"),
        s(w, "action"),
        s(l, "policy"),
        s(l, "action")
    );
}

/// A `reconcile_*` event; `explained`: the (service, condition) pairs whose
/// reason a drift line above already gave.
fn reconcile_line(
    out: &mut String,
    e: &Value,
    ty: EventKind,
    who: &str,
    explained: &[(String, String)],
) {
    let tag = ty.as_str().trim_start_matches("reconcile_");
    // Advice: the tool will not do it; a person should. Its
    // reason is the drift line above, else a `why:` line.
    // A blocked one too: `diagnostics` of an open circuit is
    // for a person, whatever blocked it.
    let advice = Action::parse(&s(e, "action")).is_some_and(Action::needs_a_person);
    let _ = if advice {
        writeln!(
            out,
            "  {who:<24} needs a person: {} ({tag}; {}, {})",
            s(e, "action"),
            s(e, "policy"),
            s(e, "severity")
        )
    } else {
        writeln!(
            out,
            "  {who:<24} {tag:<11} {} ({}, {})",
            s(e, "action"),
            s(e, "policy"),
            s(e, "severity")
        )
    };
    let svc = s(e, "service");
    let explained = explained
        .iter()
        .any(|(sv, c)| *sv == svc && *c == s(e, "condition"));
    if !explained && advice {
        let _ = writeln!(out, "  {:<24} why: {}", "", s(e, "reason"));
    } else if !explained {
        let _ = writeln!(out, "  {:<24}             {}", "", s(e, "reason"));
    }
}

fn orphan_line(out: &mut String, e: &Value, who: &str) {
    let _ = writeln!(
        out,
        "  {who:<24} {:<11} pid {} holds {}: `{}`",
        "orphan",
        e["pid"],
        orphan_memory(e),
        s(e, "cmdline")
    );
}

/// An executed action: a service's, or an orphan's (its pid and memory).
fn action_executed(out: &mut String, e: &Value, who: &str) {
    let _ = if e["orphan"] == true {
        writeln!(
            out,
            "  {who:<24} {:<11} {} orphan pid {} ({}): {}",
            s(e, "outcome"),
            s(e, "action"),
            e["pid"],
            orphan_memory(e),
            s(e, "reason")
        )
    } else {
        writeln!(
            out,
            "  {who:<24} {:<11} {}: {}",
            s(e, "outcome"),
            s(e, "action"),
            s(e, "reason")
        )
    };
}

fn circuit_half_open(out: &mut String, e: &Value, who: &str) {
    let reason = s(e, "reason");
    let _ = if reason.starts_with("circuit half-open") {
        writeln!(out, "  {who:<24} {reason}")
    } else {
        writeln!(out, "  {who:<24} circuit half-open: {reason}")
    };
}

fn action_verified(out: &mut String, e: &Value, who: &str) {
    let _ = writeln!(
        out,
        "  {who:<24} {:<11} {} verified: {}",
        s(e, "outcome"),
        s(e, "action"),
        s(e, "reason")
    );
}

fn service_removed(out: &mut String, e: &Value, who: &str) {
    let _ = writeln!(
        out,
        "  {who:<24} {:<11} removed from hosts/: {}",
        s(e, "outcome"),
        s(e, "reason")
    );
}

fn intent_recovered(out: &mut String, e: &Value, who: &str) {
    let _ = writeln!(
        out,
        "  {who:<24} {:<11} {} of an interrupted run counted (attempt {})",
        "recovered",
        s(e, "action"),
        e["attempt"]
    );
}

fn failure_predicted(out: &mut String, e: &Value, who: &str) {
    let _ = writeln!(
        out,
        "  {who:<24} {:<11} {}; {}",
        "predicted",
        s(e, "reason"),
        s(e, "advice")
    );
}

/// A `decision` record's actions, one `plan` line each (`--check`).
fn decision_lines(out: &mut String, e: &Value) {
    for a in e["actions"].as_array().into_iter().flatten() {
        let _ = writeln!(out, "{}", action_line(a, "plan   "));
    }
}

/// The `state:` summary and the hint; `exit` as in [`plan`].
fn run_finished(out: &mut String, e: &Value, exit: Option<crate::exit::Exit>) {
    let c = &e["counts"];
    let n = |v: &serde_json::Value, one: &str, many: &str| {
        crate::fmt::count(v.as_u64().unwrap_or(0), one, many)
    };
    let exit = exit.map(|x| format!("exit {x}; ")).unwrap_or_default();
    let _ = writeln!(
        out,
        "\nstate: {} ({exit}{}, {}, {} drift, {} executed)",
        s(e, "state"),
        n(&c["nodes"], "node", "nodes"),
        n(&c["services"], "service", "services"),
        c["drift"],
        n(&c["executed"], "action", "actions")
    );
    let _ = writeln!(out, "{PLAN_HINT}");
}

/// An orphan's memory for people: `29.3 GiB on gpu 0`.
fn orphan_memory(e: &Value) -> String {
    let size = crate::fmt::size(e["gpu_memory_bytes"].as_u64().unwrap_or(0));
    match e["gpu_index"].as_u64() {
        Some(g) => format!("{size} on gpu {g}"),
        None => format!("{size} on an unknown gpu"),
    }
}

/// One action of a `decision` record as a line: service (`(node)` for an
/// orphan's, whose pid follows the action), `tag`, action, outcome and,
/// when there is one, the reason in parentheses (escaped).
pub fn action_line(a: &Value, tag: &str) -> String {
    let reason = s(a, "reason");
    let reason = if reason.is_empty() {
        String::new()
    } else {
        format!(" ({reason})")
    };
    let (who, action) = if a["orphan"] == true {
        let action = format!("{} orphan pid {}", s(a, "action"), a["pid"]);
        ("(node)".into(), action.into())
    } else {
        (s(a, "service"), s(a, "action"))
    };
    format!("  {who:<24} {tag}{action} {}{reason}", s(a, "outcome"))
}

#[cfg(test)]
#[path = "render_tests.rs"]
mod tests;
