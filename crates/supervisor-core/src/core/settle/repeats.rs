//! Conditions that persist are said when they appear, not every run: an
//! open incident (its drift and its advice) and a conflict that keeps being
//! resolved the same way (a pinned model past its idle timeout: `idle`
//! drift, `keep` beats `evict`). A `reconcile` that reported one keeps its
//! key in the checkpoint (`reported`); while the next run finds it again,
//! its events are left out and counted as `unchanged` in `run_finished`.
//! Once it is gone (the incident closed, the pin lifted), it is forgotten,
//! and said again if it comes back. `check` (no checkpoint of its own)
//! says everything, every time. Pure.
use std::collections::BTreeSet;

use serde_json::Value;

use crate::events::{Event, EventKind};

/// The key of an event that reports a persisting condition; None for the
/// rest, which are always said.
fn key(e: &Event) -> Option<String> {
    let field = |k: &str| e.fields.get(k).map(Value::to_string).unwrap_or_default();
    let who = format!(
        "{}|{}",
        e.node.as_deref().unwrap_or(""),
        e.service.as_deref().unwrap_or("")
    );
    let condition = e.fields.get("condition").and_then(Value::as_str);
    match (e.kind, condition) {
        (EventKind::ConflictResolved, _) => Some(format!(
            "conflict|{who}|{}|{}",
            field("winner"),
            field("loser")
        )),
        // The detail names the incident; the idle time in `idle`'s detail
        // grows every run, so its key is the condition alone.
        (EventKind::DriftDetected, Some("unresolved_incident")) => {
            Some(format!("drift|{who}|{}", field("detail")))
        }
        (EventKind::DriftDetected, Some("idle")) => Some(format!("drift|{who}|idle")),
        (EventKind::ReconcileRecommended, Some("unresolved_incident")) => {
            Some(format!("advice|{who}|{}", field("reason")))
        }
        _ => None,
    }
}

/// A key as kept in the checkpoint: a digest, so that a long detail (an
/// incident's summary) costs the checkpoint 32 bytes, not its length.
fn digest(key: &str) -> String {
    use sha2::{Digest, Sha256};
    crate::text::hex(&Sha256::digest(key.as_bytes())[..16])
}

/// Leaves out the events of conditions `reported` already holds; returns
/// the events to say, the keys to keep for the next run, and how many were
/// left out.
pub fn suppress(
    events: Vec<Event>,
    reported: &BTreeSet<String>,
) -> (Vec<Event>, BTreeSet<String>, usize) {
    let mut now = BTreeSet::new();
    let mut left_out = 0;
    let kept = events
        .into_iter()
        .filter(|e| match key(e).map(|k| digest(&k)) {
            Some(k) => {
                let seen = reported.contains(&k);
                now.insert(k);
                left_out += usize::from(seen);
                !seen
            }
            None => true,
        })
        .collect();
    (kept, now, left_out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drift(service: &str, condition: &str, detail: &str) -> Event {
        Event::new(EventKind::DriftDetected, Some("n1"), Some(service))
            .with("condition", condition)
            .with("detail", detail)
    }

    #[test]
    fn a_condition_is_said_once_while_it_lasts_and_again_when_it_returns() {
        let run = |reported: &BTreeSet<String>, idle_secs: u32| {
            let events = vec![
                drift("m", "idle", &format!("{idle_secs}s idle")),
                drift("m", "unhealthy_service", "dead"),
            ];
            suppress(events, reported)
        };
        let (said, keys, left) = run(&BTreeSet::new(), 200);
        assert_eq!((said.len(), left), (2, 0));
        // The idle time grew; the condition is the same: left out.
        let (said, keys, left) = run(&keys, 230);
        assert_eq!((said.len(), left), (1, 1));
        assert_eq!(said[0].fields["condition"], "unhealthy_service");
        // Gone for a run, then back: said again.
        let (_, gone, _) = suppress(vec![], &keys);
        let (said, _, left) = run(&gone, 260);
        assert_eq!((said.len(), left), (2, 0));
    }
}
