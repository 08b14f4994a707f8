//! Thrash (docs/reference/behaviour.md, "Thrash"): a model evicted and started again within its idle
//! timeout three times in an hour gets its effective idle timeout doubled
//! (2×, then 4× at most; `thrash_detected` says so) until it stays loaded
//! for a full effective idle timeout, which puts it back to 1×.
//!
//! One evict→restart cycle is a successful `restart` or `preload` of an
//! evicted model within its effective idle timeout of the eviction. The
//! cycles of the last hour and the multiplier live in the checkpoint
//! (`thrash_cycles`, `idle_multiplier`). Pure.
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::checkpoint::ServiceState;
use crate::events::Event;

/// Cycles within this window count together.
pub const WINDOW: chrono::Duration = chrono::Duration::hours(1);
/// Cycles in the window that double the effective idle timeout.
pub const CYCLES: usize = 3;
/// The effective idle timeout is at most this many times the declared one.
pub const MAX_MULTIPLIER: u32 = 4;

/// The multiplier in force (1, 2 or 4).
pub fn multiplier(state: &ServiceState) -> u32 {
    state.idle_multiplier.clamp(1, MAX_MULTIPLIER)
}

/// The idle timeout the idle-eviction policy uses: the declared one times
/// the thrash multiplier.
pub fn effective(declared: Duration, state: &ServiceState) -> Duration {
    declared.saturating_mul(multiplier(state))
}

/// The effective timeout went up (`thrash_detected`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Doubled {
    pub from: Duration,
    pub to: Duration,
    pub reason: String,
}

impl Doubled {
    /// `thrash_detected`, with the durations as the configuration writes them.
    pub fn event(&self, node: Option<&str>, service: Option<&str>) -> Event {
        use crate::fmt::duration;
        let body = crate::events::ThrashDetected {
            from: duration(self.from),
            reason: self.reason.clone(),
            to: duration(self.to),
        };
        Event::new(node, service, body)
    }
}

/// A successful start (`restart`, `preload`) of the service at `now`:
/// counts an evict→restart cycle when it follows an eviction within the
/// effective idle timeout; the third in an hour doubles the multiplier.
/// Call it before the start clears `evicted_at`.
pub fn on_start(
    state: &mut ServiceState,
    declared: Duration,
    now: DateTime<Utc>,
) -> Option<Doubled> {
    let evicted = state.evicted_at?;
    let from = effective(declared, state);
    let limit = chrono::Duration::from_std(from).ok()?;
    if now < evicted || now - evicted > limit {
        return None;
    }
    state
        .thrash_cycles
        .retain(|t| *t <= now && now - *t <= WINDOW);
    state.thrash_cycles.push(now);
    if state.thrash_cycles.len() < CYCLES {
        return None;
    }
    state.thrash_cycles.clear();
    let before = multiplier(state);
    if before >= MAX_MULTIPLIER {
        return None;
    }
    state.idle_multiplier = (before * 2).min(MAX_MULTIPLIER);
    let to = effective(declared, state);
    Some(Doubled {
        from,
        to,
        reason: format!(
            "evicted and started again within its idle timeout {CYCLES} times in an hour: idle timeout {}× the declared {}",
            state.idle_multiplier,
            crate::fmt::duration(declared)
        ),
    })
}

/// Back to 1× once the model has stayed loaded (running since its last
/// start) for a full effective idle timeout and is still in use (the
/// world's `last_activity` within that timeout, or a request in flight): a model that sat idle
/// through it is evicted at the stretched timeout instead, and its next
/// quick reloads count on towards 4×. Cycles older than the window are
/// forgotten.
pub fn settle_loaded(
    state: &mut ServiceState,
    declared: Duration,
    last_activity: Option<DateTime<Utc>>,
    in_flight: u64,
    now: DateTime<Utc>,
) {
    state.thrash_cycles.retain(|t| now - *t <= WINDOW);
    if multiplier(state) == 1 {
        state.idle_multiplier = 0;
        return;
    }
    if !state.health.is_running() {
        return;
    }
    let Some(since) = state.started_at.or(state.healthy_since) else {
        return;
    };
    let Ok(full) = chrono::Duration::from_std(effective(declared, state)) else {
        return;
    };
    // A request seen by the observer, not our own start.
    let in_use = in_flight > 0 || last_activity.is_some_and(|a| now - a <= full);
    if now - since >= full && in_use {
        state.idle_multiplier = 0;
        state.thrash_cycles.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::Health;
    use crate::core::testutil::at;

    const MIN: Duration = Duration::from_mins(1);

    fn evicted(at_: &str) -> ServiceState {
        ServiceState {
            health: Health::Evicted,
            evicted_at: Some(at(at_)),
            ..ServiceState::default()
        }
    }

    fn cycle(st: &mut ServiceState, evict: &str, start: &str) -> Option<Doubled> {
        st.evicted_at = Some(at(evict));
        on_start(st, MIN, at(start))
    }

    #[test]
    fn three_quick_reloads_in_an_hour_double_then_cap_at_four() {
        let mut st = evicted("2026-11-23T12:00:00Z");
        assert_eq!(
            cycle(&mut st, "2026-11-23T12:00:00Z", "2026-11-23T12:00:30Z"),
            None
        );
        assert_eq!(
            cycle(&mut st, "2026-11-23T12:10:00Z", "2026-11-23T12:10:30Z"),
            None
        );
        let d = cycle(&mut st, "2026-11-23T12:20:00Z", "2026-11-23T12:21:00Z").unwrap();
        assert_eq!((d.from, d.to), (MIN, 2 * MIN));
        assert_eq!(effective(MIN, &st), 2 * MIN);
        for m in [30, 40] {
            let e = format!("2026-11-23T12:{m}:00Z");
            let s = format!("2026-11-23T12:{m}:50Z");
            assert_eq!(cycle(&mut st, &e, &s), None);
        }
        let d = cycle(&mut st, "2026-11-23T12:50:00Z", "2026-11-23T12:51:30Z").unwrap();
        assert_eq!((d.from, d.to), (2 * MIN, 4 * MIN));
        for m in [0, 10, 20] {
            let e = format!("2026-11-23T13:{m:02}:00Z");
            let s = format!("2026-11-23T13:{m:02}:10Z");
            assert_eq!(cycle(&mut st, &e, &s), None, "capped at 4×");
        }
        assert_eq!(multiplier(&st), 4);
    }

    #[test]
    fn slow_reloads_or_cycles_spread_over_more_than_an_hour_do_not_count() {
        let mut st = ServiceState::default();
        // Reloaded after more than the idle timeout: not a cycle.
        assert_eq!(
            cycle(&mut st, "2026-11-23T12:00:00Z", "2026-11-23T12:01:01Z"),
            None
        );
        assert!(st.thrash_cycles.is_empty());
        cycle(&mut st, "2026-11-23T12:00:00Z", "2026-11-23T12:00:10Z");
        cycle(&mut st, "2026-11-23T12:40:00Z", "2026-11-23T12:40:10Z");
        assert_eq!(
            cycle(&mut st, "2026-11-23T13:05:00Z", "2026-11-23T13:05:10Z"),
            None
        );
        assert_eq!(st.thrash_cycles.len(), 2);
        // Never evicted: nothing to count.
        let mut fresh = ServiceState::default();
        assert_eq!(on_start(&mut fresh, MIN, at("2026-11-23T12:00:00Z")), None);
    }

    #[test]
    fn staying_loaded_for_a_full_effective_timeout_resets_to_one() {
        let mut st = ServiceState {
            health: Health::Healthy,
            idle_multiplier: 2,
            started_at: Some(at("2026-11-23T12:00:00Z")),
            ..ServiceState::default()
        };
        let used = Some(at("2026-11-23T12:01:30Z"));
        settle_loaded(&mut st, MIN, used, 0, at("2026-11-23T12:01:59Z"));
        assert_eq!(multiplier(&st), 2);
        // Loaded two minutes but idle all along: evicted at 2×, not reset.
        settle_loaded(&mut st, MIN, None, 0, at("2026-11-23T12:02:01Z"));
        assert_eq!(multiplier(&st), 2);
        settle_loaded(&mut st, MIN, None, 1, at("2026-11-23T12:02:01Z"));
        assert_eq!(multiplier(&st), 1, "a request in flight: in use");
        st.idle_multiplier = 2;
        settle_loaded(&mut st, MIN, used, 0, at("2026-11-23T12:02:00Z"));
        assert_eq!(multiplier(&st), 1);
        // Not running: no reset.
        st.idle_multiplier = 4;
        st.health = Health::Evicted;
        settle_loaded(&mut st, MIN, used, 0, at("2026-11-23T12:03:00Z"));
        assert_eq!(multiplier(&st), 4);
    }
}
