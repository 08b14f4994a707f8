//! What the score and the timeline keep of one replayed step: the step's
//! events are printed (or rendered) as they are made and then dropped, so
//! a long replay holds one step's events at a time, not all of them.
use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::score::Executed;
use crate::events::EventKind;

/// At most this many actions or notes are listed on a timeline line.
const MAX_LISTED: usize = 3;

pub struct StepSummary {
    pub at: DateTime<Utc>,
    pub offset: chrono::Duration,
    /// `run_finished.state`.
    pub state: String,
    pub run_id: String,
    /// The `seq` the next line takes.
    pub next_seq: u64,
    /// What this step executed (as a real run would have).
    pub executed: Vec<Executed>,
    /// Services this step shows a problem with (see `detects`).
    pub detected: BTreeSet<String>,
    /// A drift of the whole node (offline, pressure).
    pub node_drift: bool,
    /// For the timeline: actions, advice and, failing those, drifts.
    pub actions: String,
    /// For the timeline: predictions and tuning changes.
    pub notes: String,
}

/// The kind of an event line (from the one list of kinds).
pub(super) fn kind(e: &Value) -> Option<EventKind> {
    e["type"].as_str().and_then(EventKind::parse)
}

fn str_of<'a>(e: &'a Value, k: &str) -> &'a str {
    e[k].as_str().unwrap_or_default()
}

pub fn summarize(
    node: &str,
    at: DateTime<Utc>,
    offset: chrono::Duration,
    events: &[Value],
) -> StepSummary {
    let mine = || events.iter().filter(|e| e["node"] == node);
    let executed = mine()
        .filter(|e| {
            kind(e) == Some(EventKind::ActionExecuted)
                && e["service"].is_string()
                && matches!(
                    e["outcome"].as_str(),
                    Some("started" | "success" | "failed")
                )
        })
        .map(|e| Executed {
            at,
            service: str_of(e, "service").to_string(),
            action: str_of(e, "action").to_string(),
        })
        .collect();
    let detected = mine()
        .filter(|e| detects(e))
        .filter_map(|e| e["service"].as_str().map(str::to_string))
        .collect();
    let node_drift =
        mine().any(|e| kind(e) == Some(EventKind::DriftDetected) && e["service"].is_null());
    let last = events.last();
    StepSummary {
        at,
        offset,
        state: events
            .iter()
            .rev()
            .find(|e| kind(e) == Some(EventKind::RunFinished))
            .map_or("", |e| str_of(e, "state"))
            .to_string(),
        run_id: last.map_or("", |e| str_of(e, "run_id")).to_string(),
        next_seq: last.and_then(|e| e["seq"].as_u64()).unwrap_or(0) + 1,
        executed,
        detected,
        node_drift,
        actions: listed(&actions(events)),
        notes: listed(&super::timeline::notes(events)),
    }
}

/// Events that show a problem with their service: its drift, a reconcile
/// event, a prediction, a thrash, or a health change to degraded or dead.
fn detects(e: &Value) -> bool {
    use EventKind::{
        DriftDetected, FailurePredicted, HealthChanged, ReconcileBlocked, ReconcileRecommended,
        ReconcileRequired, ThrashDetected,
    };
    match kind(e) {
        Some(
            DriftDetected | ReconcileRequired | ReconcileRecommended | ReconcileBlocked
            | FailurePredicted | ThrashDetected,
        ) => true,
        Some(HealthChanged) => matches!(e["to"].as_str(), Some("degraded" | "dead")),
        _ => false,
    }
}

/// Executed and skipped actions; else advice for a person; else, for a
/// step that is not nominal, what drifted.
fn actions(events: &[Value]) -> Vec<String> {
    let who = |e: &Value| match e["service"].as_str() {
        Some(s) => s.to_string(),
        None => match e["pid"].as_u64() {
            Some(pid) => format!("pid {pid}"),
            None => format!("node {}", str_of(e, "node")),
        },
    };
    let done: Vec<String> = events
        .iter()
        .filter(|e| kind(e) == Some(EventKind::ActionExecuted))
        .map(|e| {
            let what = format!("{} {}", str_of(e, "action"), who(e));
            match str_of(e, "outcome") {
                "started" | "success" => what,
                outcome => format!("{what} ({outcome}: {})", str_of(e, "reason")),
            }
        })
        .collect();
    if !done.is_empty() {
        return done;
    }
    let advice: Vec<String> = events
        .iter()
        .filter(|e| {
            matches!(
                kind(e),
                Some(
                    EventKind::ReconcileRequired
                        | EventKind::ReconcileRecommended
                        | EventKind::ReconcileBlocked
                )
            )
        })
        .filter(|e| {
            crate::core::Action::parse(str_of(e, "action"))
                .is_some_and(crate::core::Action::needs_a_person)
        })
        .map(|e| format!("{} {} (needs a person)", str_of(e, "action"), who(e)))
        .collect();
    if !advice.is_empty() {
        return advice;
    }
    let mut drifts: Vec<String> = events
        .iter()
        .filter(|e| kind(e) == Some(EventKind::DriftDetected))
        .map(|e| format!("{} {}", str_of(e, "condition"), who(e)))
        .collect();
    drifts.dedup();
    drifts
}

fn listed(items: &[String]) -> String {
    match items.len() {
        0 => "-".into(),
        n if n <= MAX_LISTED => items.join(", "),
        n => format!(
            "{} (+{} more)",
            items[..MAX_LISTED].join(", "),
            n - MAX_LISTED
        ),
    }
}
