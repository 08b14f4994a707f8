//! Settling a start or an eviction (docs/reference/behaviour.md, "A start
//! succeeds only if it stays up"): the run that acts reports `started` (or `failed`); a later
//! run, from what it observes, says whether it worked: `action_verified`
//! with `success` (seen up; for an eviction, seen gone) or `failed` (exited
//! or never healthy within `start_grace`; for an eviction, still there).
//! `success` is never claimed for something not yet seen working. Pure.
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::health::Observation;
use super::loading::Loading;
use crate::checkpoint::PendingCheck;

/// What a later run concluded about one action.
#[derive(Debug, Clone, PartialEq)]
pub struct Verified {
    pub action: super::Action,
    pub success: bool,
    pub reason: String,
    /// From the action to this run.
    pub after_ms: u64,
}

/// Judges `pending` from this run's `observation` (Unknown when nothing new
/// was counted) and `reason` (why the service is not up, when known), and
/// `load`: whether it is loading (docs/reference/behaviour.md, "Loading") and when its loading last
/// ended (`start_grace` counts from the later of the start and that).
/// Returns the verdict, or None while it is too early to tell.
pub fn verify(
    pending: &PendingCheck,
    observation: Observation,
    reason: Option<&str>,
    start_grace: Duration,
    load: (Loading, Option<DateTime<Utc>>),
    now: DateTime<Utc>,
) -> Option<Verified> {
    let after = (now - pending.at).to_std().unwrap_or_default();
    let grace_from = load.1.map_or(pending.at, |t| t.max(pending.at));
    let timed_out = match load.0 {
        Loading::TimedOut(t) => Some(t),
        _ => None,
    };
    let grace_over = (now - grace_from).to_std().unwrap_or_default() > start_grace;
    let why = |what: &str| match reason {
        Some(r) => format!("{what}: {r}"),
        None => what.to_string(),
    };
    let (success, reason) = if pending.action == super::Action::Evict {
        match observation {
            Observation::Down => (true, "process gone, memory freed".to_string()),
            Observation::Up | Observation::Degraded | Observation::Failing => {
                (false, "the evicted process is still running".to_string())
            }
            Observation::Unknown if grace_over => (
                false,
                format!("not seen gone within start_grace ({})", fmt(start_grace)),
            ),
            Observation::Unknown => return None,
        }
    } else {
        match observation {
            // A run sees it up; when it came up between two runs is not known.
            Observation::Up => (
                true,
                format!("seen up {} after the start", crate::fmt::span(after)),
            ),
            // The monitor's words say it already: `exited with status 3
            // after 4s`, `killed by SIGKILL after 1s`.
            Observation::Down => match reason {
                Some(r) if r.starts_with("exited ") || r.starts_with("killed by ") => {
                    (false, r.to_string())
                }
                _ => (false, why("exited after the start")),
            },
            _ if timed_out.is_some() => (
                false,
                format!(
                    "still loading after load_timeout ({})",
                    fmt(timed_out.unwrap_or_default())
                ),
            ),
            _ if load.0 == Loading::Yes => return None,
            Observation::Degraded if grace_over => (false, why("degraded, not healthy")),
            Observation::Failing | Observation::Unknown | Observation::Degraded if grace_over => (
                false,
                why(&format!(
                    "not healthy within start_grace ({})",
                    fmt(start_grace)
                )),
            ),
            _ => return None,
        }
    };
    Some(Verified {
        action: pending.action,
        success,
        reason,
        after_ms: crate::num::millis(after),
    })
}

use crate::fmt::duration as fmt;

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn start() -> PendingCheck {
        PendingCheck {
            action: crate::core::Action::Restart,
            at: at("2026-01-01T00:00:00Z"),
        }
    }

    const GRACE: Duration = Duration::from_secs(10);
    const NOT: (Loading, Option<DateTime<Utc>>) = (Loading::No, None);

    #[test]
    fn loading_defers_the_verdict_and_the_grace_counts_from_its_end() {
        let p = start();
        let loading = (Loading::Yes, None);
        let t = at("2026-01-01T00:05:00Z");
        assert_eq!(
            verify(&p, Observation::Failing, None, GRACE, loading, t),
            None
        );
        // Loading ended at 5:00: at 5:08 the grace is not over yet.
        let ended = (Loading::No, Some(t));
        let t8 = at("2026-01-01T00:05:08Z");
        assert_eq!(
            verify(&p, Observation::Failing, None, GRACE, ended, t8),
            None
        );
        let t11 = at("2026-01-01T00:05:11Z");
        let v = verify(&p, Observation::Failing, None, GRACE, ended, t11).unwrap();
        assert!(!v.success);
        assert_eq!(v.after_ms, 311_000);
    }

    #[test]
    fn loading_past_load_timeout_is_a_failed_start() {
        let ten_min = Duration::from_mins(10);
        let t = at("2026-01-01T00:10:01Z");
        let timed_out = (Loading::TimedOut(ten_min), None);
        let v = verify(&start(), Observation::Failing, None, GRACE, timed_out, t).unwrap();
        assert!(!v.success);
        assert_eq!(v.reason, "still loading after load_timeout (10m)");
        let v = verify(&start(), Observation::Up, None, GRACE, timed_out, t).unwrap();
        assert!(v.success);
    }

    /// `verify` of `p` with no loading, `secs` after the start.
    fn at_secs(
        p: &PendingCheck,
        obs: Observation,
        reason: Option<&str>,
        secs: u32,
    ) -> Option<Verified> {
        verify(
            p,
            obs,
            reason,
            GRACE,
            NOT,
            at(&format!("2026-01-01T00:00:{secs:02}Z")),
        )
    }

    #[test]
    fn a_start_seen_up_succeeds() {
        let v = at_secs(&start(), Observation::Up, None, 3).unwrap();
        assert!(v.success);
        assert_eq!(v.after_ms, 3000);
    }

    #[test]
    fn a_start_that_exits_fails_with_the_reason() {
        let v = at_secs(&start(), Observation::Down, Some("no process"), 3).unwrap();
        assert!(!v.success);
        assert_eq!(v.reason, "exited after the start: no process");
    }

    #[test]
    fn failing_within_the_grace_waits_then_fails() {
        let p = start();
        assert_eq!(at_secs(&p, Observation::Failing, None, 5), None);
        assert_eq!(at_secs(&p, Observation::Unknown, None, 5), None);
        let v = at_secs(&p, Observation::Failing, Some("HTTP 503"), 11).unwrap();
        assert!(!v.success);
        assert_eq!(v.reason, "not healthy within start_grace (10s): HTTP 503");
    }

    #[test]
    fn an_eviction_is_verified_by_the_process_being_gone() {
        let p = PendingCheck {
            action: crate::core::Action::Evict,
            at: at("2026-01-01T00:00:00Z"),
        };
        assert!(at_secs(&p, Observation::Down, None, 1).unwrap().success);
        assert!(!at_secs(&p, Observation::Up, None, 1).unwrap().success);
    }
}
