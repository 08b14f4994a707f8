//! What the score and the timeline keep of one replayed step: the step's
//! events are printed (or rendered) as they are made and then dropped, so
//! a long replay holds one step's events at a time, not all of them.
use std::collections::BTreeSet;

use super::score::Executed;
use crate::checkpoint::Health;
use crate::events::{ActionExecuted, Body, Event, EventKind, Outcome};
use chrono::{DateTime, Utc};

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

/// Who an event is about, for a timeline: its service, else an orphan's
/// pid, else its node.
fn who(e: &Event) -> String {
    match (&e.service, &e.body) {
        (Some(s), _) => s.clone(),
        (
            None,
            Body::ActionExecuted(ActionExecuted {
                orphan: Some(o), ..
            }),
        ) => {
            format!("pid {}", o.pid)
        }
        (None, _) => format!("node {}", e.node.as_deref().unwrap_or("")),
    }
}

/// A step's summary from its events; `run_id` and `last_seq`: its stamp.
pub fn summarize(
    node: &str,
    (at, offset): (DateTime<Utc>, chrono::Duration),
    events: &[Event],
    (run_id, last_seq): (&str, u64),
) -> StepSummary {
    let mine = || events.iter().filter(|e| e.node.as_deref() == Some(node));
    let executed = mine()
        .filter_map(|e| match (&e.service, &e.body) {
            (Some(service), Body::ActionExecuted(x)) if x.outcome.ran() => Some(Executed {
                at,
                service: service.clone(),
                action: x.action.to_string(),
            }),
            _ => None,
        })
        .collect();
    let detected = mine()
        .filter(|e| detects(e))
        .filter_map(|e| e.service.clone())
        .collect();
    let node_drift = mine().any(|e| e.kind() == EventKind::DriftDetected && e.service.is_none());
    StepSummary {
        at,
        offset,
        state: events
            .iter()
            .rev()
            .find_map(|e| match &e.body {
                Body::RunFinished(f) => Some(f.state.clone()),
                _ => None,
            })
            .unwrap_or_default(),
        run_id: run_id.to_string(),
        next_seq: last_seq + 1,
        executed,
        detected,
        node_drift,
        actions: listed(&actions(events)),
        notes: listed(&super::timeline::notes(events)),
    }
}

/// Events that show a problem with their service: its drift, a reconcile
/// event, a prediction, a thrash, or a health change to degraded or dead.
fn detects(e: &Event) -> bool {
    match &e.body {
        Body::DriftDetected(_)
        | Body::ReconcileRequired(_)
        | Body::ReconcileRecommended(_)
        | Body::ReconcileBlocked(_)
        | Body::FailurePredicted(_)
        | Body::ThrashDetected(_) => true,
        Body::HealthChanged(h) => matches!(h.to, Health::Degraded | Health::Dead),
        _ => false,
    }
}

/// Executed and skipped actions; else advice for a person; else, for a
/// step that is not nominal, what drifted.
fn actions(events: &[Event]) -> Vec<String> {
    let done: Vec<String> = events
        .iter()
        .filter_map(|e| match &e.body {
            Body::ActionExecuted(x) => {
                let what = format!("{} {}", x.action, who(e));
                Some(match x.outcome {
                    Outcome::Started | Outcome::Success => what,
                    outcome => format!("{what} ({outcome}: {})", x.reason),
                })
            }
            _ => None,
        })
        .collect();
    if !done.is_empty() {
        return done;
    }
    let advice: Vec<String> = events
        .iter()
        .filter_map(|e| match &e.body {
            Body::ReconcileRequired(r)
            | Body::ReconcileRecommended(r)
            | Body::ReconcileBlocked(r)
                if r.action.needs_a_person() =>
            {
                Some(format!("{} {} (needs a person)", r.action, who(e)))
            }
            _ => None,
        })
        .collect();
    if !advice.is_empty() {
        return advice;
    }
    let mut drifts: Vec<String> = events
        .iter()
        .filter_map(|e| match &e.body {
            Body::DriftDetected(d) => Some(format!("{} {}", d.condition.as_str(), who(e))),
            _ => None,
        })
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
