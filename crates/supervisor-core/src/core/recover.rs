//! Counting what an interrupted run did (docs/reference/behaviour.md, "Record before act"): every
//! intent that no saved checkpoint counts yet is folded into the checkpoint
//! before the run decides, as if its action had run and its outcome were
//! unknown. Pure: the intents come in as data.
//!
//! Counting an intent whose action never ran is the safe error: it costs
//! one restart attempt, never an extra restart.
use chrono::{DateTime, Utc};

use super::Action;
use crate::checkpoint::{key, Checkpoint, LastAction};
use crate::events::{Event, IntentRecovered};
use crate::intent::Intent;

/// Folds the intents `cp` does not count yet into it; one `intent_recovered`
/// event for each. Intents of services no longer declared are counted too
/// (the checkpoint forgets them later, as for any removed service).
pub fn recover(cp: &mut Checkpoint, intents: &[Intent], now: DateTime<Utc>) -> Vec<Event> {
    let mut events = vec![];
    for i in intents.iter().filter(|i| i.run_seq >= cp.next_seq) {
        // A clock that went backwards: an intent "from the future" counts as now.
        let at = i.at.min(now);
        let service = Some(i.service.as_str()).filter(|s| !s.is_empty());
        events.push(
            Event::new(Some(&i.node), service, IntentRecovered {
                action: i.action.as_str().into(),
                at: crate::fmt::ts(at),
                attempt: i.attempt,
                interrupted_run_seq: i.run_seq,
                pid: i.pid,
                reason: "a run was interrupted after recording this action and before recording its outcome; counted as an attempt".into(),
            }),
        );
        let Some(action) = i.action.action() else {
            // A removed service or an orphan: the next run finds its
            // process, or not; no service's state to fold it into.
            continue;
        };
        let st = cp.services.entry(key(&i.node, &i.service)).or_default();
        match action {
            Action::Restart | Action::Preload => {
                if action == Action::Restart {
                    st.restart_attempts = st.restart_attempts.max(i.attempt);
                    st.last_restart_at = Some(st.last_restart_at.map_or(at, |t| t.max(at)));
                }
                // It may have started: wait for an observation newer than it.
                st.note_start(at);
                st.mark_started(action, at);
            }
            // It may be gone: never restart it as dead before activity.
            Action::Evict => st.mark_evicted(at),
            _ => {}
        }
        st.last_action = Some(LastAction {
            action,
            at,
            outcome: "interrupted".into(),
        });
    }
    events
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::Health;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn intent(run_seq: u64, action: crate::intent::Step, attempt: u32) -> Intent {
        Intent {
            run_seq,
            at: t("2026-01-01T00:00:00Z"),
            node: "n".into(),
            service: "s".into(),
            action,
            attempt,
            pid: None,
        }
    }

    #[test]
    fn an_uncounted_restart_counts_as_its_attempt() {
        let mut cp = Checkpoint {
            next_seq: 10,
            ..Checkpoint::default()
        };
        let ev = recover(
            &mut cp,
            &[intent(10, crate::intent::Step::Restart, 2)],
            t("2026-01-01T00:01:00Z"),
        );
        assert_eq!(ev.len(), 1);
        assert_eq!(ev[0].kind(), crate::events::EventKind::IntentRecovered);
        let st = &cp.services["n/s"];
        assert_eq!(st.restart_attempts, 2);
        assert_eq!(st.health, Health::Unknown);
        assert_eq!(st.last_action.as_ref().unwrap().outcome, "interrupted");
        // Recovering twice counts once.
        recover(
            &mut cp,
            &[intent(10, crate::intent::Step::Restart, 2)],
            t("2026-01-01T00:01:00Z"),
        );
        assert_eq!(cp.services["n/s"].restart_attempts, 2);
    }

    #[test]
    fn an_intent_of_a_finished_run_is_ignored() {
        let mut cp = Checkpoint {
            next_seq: 11,
            ..Checkpoint::default()
        };
        assert!(recover(
            &mut cp,
            &[intent(10, crate::intent::Step::Restart, 1)],
            t("2026-01-02T00:00:00Z")
        )
        .is_empty());
        assert!(cp.services.is_empty());
    }

    #[test]
    fn a_future_intent_counts_as_now() {
        let mut cp = Checkpoint::default();
        let now = t("2025-12-01T00:00:00Z");
        recover(&mut cp, &[intent(1, crate::intent::Step::Restart, 1)], now);
        assert_eq!(cp.services["n/s"].last_restart_at, Some(now));
    }

    #[test]
    fn an_interrupted_eviction_marks_the_model_evicted() {
        let mut cp = Checkpoint::default();
        recover(
            &mut cp,
            &[intent(1, crate::intent::Step::Evict, 0)],
            t("2026-01-01T00:00:00Z"),
        );
        assert_eq!(cp.services["n/s"].health, Health::Evicted);
    }

    #[test]
    fn an_interrupted_orphan_eviction_is_reported_and_touches_no_service() {
        let mut cp = Checkpoint::default();
        let orphan = Intent {
            service: String::new(),
            pid: Some(4242),
            ..intent(1, crate::intent::Step::EvictOrphan, 0)
        };
        let ev = recover(&mut cp, &[orphan], t("2026-01-01T00:00:00Z"));
        assert_eq!(ev[0].service, None);
        assert_eq!(ev[0].fields()["pid"], 4242);
        assert_eq!(ev[0].fields()["action"], "evict_orphan");
        assert!(cp.services.is_empty());
    }
}
