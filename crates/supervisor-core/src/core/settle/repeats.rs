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

use crate::core::Condition;
use crate::events::{Body, Event};

/// The key of an event that reports a persisting condition; None for the
/// rest, which are always said.
fn key(e: &Event) -> Option<String> {
    // As JSON, as the keys of earlier versions were (a checkpoint's keys
    // stay valid across the upgrade).
    fn json<T: serde::Serialize>(v: &T) -> String {
        serde_json::to_value(v)
            .map(|v| v.to_string())
            .unwrap_or_default()
    }
    let who = format!(
        "{}|{}",
        e.node.as_deref().unwrap_or(""),
        e.service.as_deref().unwrap_or("")
    );
    match &e.body {
        Body::ConflictResolved(c) => Some(format!(
            "conflict|{who}|{}|{}",
            json(&c.winner),
            json(&c.loser)
        )),
        // The detail names the incident; the idle time in `idle`'s detail
        // grows every run, so its key is the condition alone.
        Body::DriftDetected(d) if d.condition == Condition::UnresolvedIncident => {
            Some(format!("drift|{who}|{}", json(&d.detail)))
        }
        Body::DriftDetected(d) if d.condition == Condition::Idle => {
            Some(format!("drift|{who}|idle"))
        }
        Body::ReconcileRecommended(r) if r.condition == Condition::UnresolvedIncident => {
            Some(format!("advice|{who}|{}", json(&r.reason)))
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

    fn drift(service: &str, condition: Condition, detail: &str) -> Event {
        let body = crate::events::DriftDetected {
            condition,
            detail: detail.into(),
            reason: None,
        };
        Event::new(Some("n1"), Some(service), body)
    }

    /// The keys are those of the versions that kept event fields as JSON:
    /// a checkpoint written before typed events suppresses the same events.
    #[test]
    fn keys_are_unchanged_from_the_untyped_events() {
        use crate::core::{Action, Policy};
        let conflict = crate::events::ConflictResolved {
            loser: (Policy::IdleEviction, Action::Evict).into(),
            winner: (Policy::Pinned, Action::Keep).into(),
        };
        let e = Event::new(Some("n1"), Some("m"), conflict);
        assert_eq!(
            key(&e).unwrap(),
            r#"conflict|n1|m|{"action":"keep","policy":"pinned"}|{"action":"evict","policy":"idle_eviction"}"#
        );
        let d = drift("m", Condition::UnresolvedIncident, "INC-1 \"disk\"");
        assert_eq!(key(&d).unwrap(), r#"drift|n1|m|"INC-1 \"disk\"""#);
    }

    #[test]
    fn a_condition_is_said_once_while_it_lasts_and_again_when_it_returns() {
        let run = |reported: &BTreeSet<String>, idle_secs: u32| {
            let events = vec![
                drift("m", Condition::Idle, &format!("{idle_secs}s idle")),
                drift("m", Condition::UnhealthyService, "dead"),
            ];
            suppress(events, reported)
        };
        let (said, keys, left) = run(&BTreeSet::new(), 200);
        assert_eq!((said.len(), left), (2, 0));
        // The idle time grew; the condition is the same: left out.
        let (said, keys, left) = run(&keys, 230);
        assert_eq!((said.len(), left), (1, 1));
        assert!(
            matches!(&said[0].body, crate::events::Body::DriftDetected(d) if d.condition == Condition::UnhealthyService)
        );
        // Gone for a run, then back: said again.
        let (_, gone, _) = suppress(vec![], &keys);
        let (said, _, left) = run(&gone, 260);
        assert_eq!((said.len(), left), (2, 0));
    }
}
