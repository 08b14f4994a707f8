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
        let n = s(e, "node");
        if !n.is_empty()
            && n != node
            && !matches!(
                ty,
                EventKind::RunStarted | EventKind::RunFinished | EventKind::ObservationInvalid
            )
        {
            node = n.into_owned();
            let _ = writeln!(out, "\n{node}");
        }
        let svc = s(e, "service");
        let who = if svc.is_empty() {
            "(node)".to_string()
        } else {
            svc.to_string()
        };
        match ty {
            EventKind::ConfigInsecure => {
                let _ = writeln!(
                    out,
                    "warning: `{}` is {} (--insecure-config)",
                    s(e, "path"),
                    s(e, "problem")
                );
            }
            EventKind::ObservationInvalid => {
                let _ = writeln!(
                    out,
                    "warning: ignored `{}`: {}",
                    s(e, "path"),
                    s(e, "error")
                );
            }
            EventKind::HealthChanged => {
                let _ = writeln!(out, "  {who:<24} health {} -> {}", s(e, "from"), s(e, "to"));
            }
            EventKind::TuningChanged => {
                let _ = writeln!(
                    out,
                    "  {who:<24} tuned  {} {} -> {}: {}",
                    s(e, "setting"),
                    s(e, "from"),
                    s(e, "to"),
                    s(e, "reason")
                );
            }
            EventKind::DriftDetected => {
                explained.push((svc.to_string(), s(e, "condition").to_string()));
                let _ = writeln!(
                    out,
                    "  {who:<24} drift  {}: {}",
                    s(e, "condition"),
                    s(e, "detail")
                );
            }
            EventKind::ConflictResolved => {
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
            EventKind::ReconcileRequired
            | EventKind::ReconcileRecommended
            | EventKind::ReconcileBlocked => {
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
                let explained = explained
                    .iter()
                    .any(|(sv, c)| *sv == svc && *c == s(e, "condition"));
                if !explained && advice {
                    let _ = writeln!(out, "  {:<24} why: {}", "", s(e, "reason"));
                } else if !explained {
                    let _ = writeln!(out, "  {:<24}             {}", "", s(e, "reason"));
                }
            }
            EventKind::OrphanDetected => {
                let _ = writeln!(
                    out,
                    "  {who:<24} {:<11} pid {} holds {}: `{}`",
                    "orphan",
                    e["pid"],
                    orphan_memory(e),
                    s(e, "cmdline")
                );
            }
            EventKind::ActionExecuted if e["orphan"] == true => {
                let _ = writeln!(
                    out,
                    "  {who:<24} {:<11} {} orphan pid {} ({}): {}",
                    s(e, "outcome"),
                    s(e, "action"),
                    e["pid"],
                    orphan_memory(e),
                    s(e, "reason")
                );
            }
            EventKind::ActionExecuted => {
                let _ = writeln!(
                    out,
                    "  {who:<24} {:<11} {}: {}",
                    s(e, "outcome"),
                    s(e, "action"),
                    s(e, "reason")
                );
            }
            EventKind::CircuitHalfOpen => {
                let reason = s(e, "reason");
                let _ = if reason.starts_with("circuit half-open") {
                    writeln!(out, "  {who:<24} {reason}")
                } else {
                    writeln!(out, "  {who:<24} circuit half-open: {reason}")
                };
            }
            EventKind::ActionVerified => {
                let _ = writeln!(
                    out,
                    "  {who:<24} {:<11} {} verified: {}",
                    s(e, "outcome"),
                    s(e, "action"),
                    s(e, "reason")
                );
            }
            EventKind::ServiceRemoved => {
                let _ = writeln!(
                    out,
                    "  {who:<24} {:<11} removed from hosts/: {}",
                    s(e, "outcome"),
                    s(e, "reason")
                );
            }
            EventKind::IntentRecovered => {
                let _ = writeln!(
                    out,
                    "  {who:<24} {:<11} {} of an interrupted run counted (attempt {})",
                    "recovered",
                    s(e, "action"),
                    e["attempt"]
                );
            }
            EventKind::WebhookFailed => {
                let _ = writeln!(
                    out,
                    "warning: webhook `{}` did not get event {} ({}): {} (attempt {})",
                    s(e, "url"),
                    e["event_seq"],
                    s(e, "event_type"),
                    s(e, "error"),
                    e["attempts"]
                );
            }
            EventKind::FailurePredicted => {
                let _ = writeln!(
                    out,
                    "  {who:<24} {:<11} {}; {}",
                    "predicted",
                    s(e, "reason"),
                    s(e, "advice")
                );
            }
            EventKind::Decision if check => {
                for a in e["actions"].as_array().into_iter().flatten() {
                    let _ = writeln!(out, "{}", action_line(a, "plan   "));
                }
            }
            EventKind::RunFinished => {
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
            _ => {}
        }
    }
    out
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
