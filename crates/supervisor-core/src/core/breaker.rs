//! The restart circuit breaker (docs/reference/behaviour.md, "Restarts: backoff and the circuit breaker"), every transition in one
//! place. Its state lives in the service's checkpoint entry:
//! `restart_attempts` (the circuit is open once they reach
//! `max_restart_attempts`), `breaker_opened_at` and `breaker_trials`.
//!
//! - closed → open: a restart that reaches `max_restart_attempts`
//!   ([`on_restart`]); [`on_run`] notes when it opened.
//! - open → half-open: `breaker_retry` after it opened, doubling with each
//!   failed trial, at most 24 h ([`trial_at`]); the trial is one start.
//! - half-open → closed: the trial start verified up ([`on_verified`]).
//! - half-open → open: the trial start itself ([`on_restart`]) restarts the
//!   wait, doubled.
//! - any → closed: ten minutes healthy ([`on_run`]), or an operator's
//!   `reset` (`commands/overrides.rs`).
//!
//! Pure.
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::verify::Verified;
use crate::checkpoint::{Health, ServiceState};
use crate::desired::Settings;

/// After this long healthy, the restart circuit closes (docs/reference/behaviour.md, "Restarts: backoff and the circuit breaker").
pub const COOL_DOWN: chrono::Duration = chrono::Duration::minutes(10);

/// The longest wait for a half-open trial.
const MAX_TRIAL_WAIT: Duration = Duration::from_hours(24);

/// The restart attempts reached `max_restart_attempts`: the policies do
/// not restart it (a half-open trial aside).
pub fn is_open(settings: &Settings, state: &ServiceState) -> bool {
    state.restart_attempts >= settings.max_restart_attempts
}

/// When an open restart circuit half-opens for one trial start (docs/reference/behaviour.md, "Restarts: backoff and the circuit breaker"):
/// `breaker_retry` after it opened, doubling with each failed trial, at
/// most 24 h. None: the circuit is closed, or `breaker_retry: never`.
pub fn trial_at(settings: &Settings, state: &ServiceState) -> Option<DateTime<Utc>> {
    let base = settings.breaker_retry?;
    if !is_open(settings, state) {
        return None;
    }
    let opened = state.breaker_opened_at.or(state.last_restart_at)?;
    let wait = base
        .saturating_mul(1u32 << state.breaker_trials.min(16))
        .min(MAX_TRIAL_WAIT);
    Some(opened + chrono::Duration::from_std(wait).ok()?)
}

/// The half-open trial's time when it is due at `now`.
pub fn trial_due(
    settings: &Settings,
    state: &ServiceState,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    trial_at(settings, state).filter(|at| now >= *at)
}

/// The restart circuit is open (and no half-open trial is due): a restart
/// waits for the trial, a `reset`, or an operator's `--force`. With
/// `max_restart_attempts: 0` the policies never restart, but an operator may.
pub fn blocks_restart(settings: &Settings, state: &ServiceState, now: DateTime<Utc>) -> bool {
    let max = settings.max_restart_attempts;
    max > 0 && is_open(settings, state) && trial_due(settings, state, now).is_none()
}

/// Each run, after the health advance: when the circuit opened (closed:
/// none, and no trials); and it closes after ten minutes healthy.
pub fn on_run(state: &mut ServiceState, max_attempts: u32, now: DateTime<Utc>) {
    if state.restart_attempts >= max_attempts {
        if state.breaker_opened_at.is_none() {
            state.breaker_opened_at = Some(state.last_restart_at.unwrap_or(now).min(now));
        }
    } else {
        state.breaker_opened_at = None;
        state.breaker_trials = 0;
    }
    if state.health == Health::Healthy
        && state.restart_attempts > 0
        && state.healthy_since.is_some_and(|t| now - t >= COOL_DOWN)
    {
        state.restart_attempts = 0;
    }
}

/// A start seen working while the circuit is open (its half-open trial)
/// closes it (docs/reference/behaviour.md, "Restarts: backoff and the circuit breaker"); `breaker_retry: never` keeps the 10-minute rule.
pub fn on_verified(state: &mut ServiceState, v: &Verified, settings: &Settings) {
    if v.success
        && v.action == super::Action::Restart
        && settings.breaker_retry.is_some()
        && is_open(settings, state)
    {
        state.restart_attempts = 0;
    }
}

/// A restart executed: one more attempt (a first start is not a restart,
/// `has_run`); from an open circuit it is a half-open trial, whose wait
/// starts again, doubled.
pub fn on_restart(state: &mut ServiceState, max_attempts: u32, now: DateTime<Utc>) {
    if state.restart_attempts >= max_attempts {
        state.breaker_opened_at = Some(now);
        state.breaker_trials += 1;
    }
    state.restart_attempts = state.next_restart_attempt();
    state.last_restart_at = Some(now);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::testutil::{at, settings, NOW};

    fn open_since(opened: &str, trials: u32) -> ServiceState {
        ServiceState {
            restart_attempts: 3,
            breaker_opened_at: Some(at(opened)),
            breaker_trials: trials,
            ..ServiceState::default()
        }
    }

    #[test]
    fn the_trial_wait_doubles_per_failed_trial_up_to_a_day() {
        let mut s = settings();
        s.max_restart_attempts = 3;
        s.breaker_retry = Some(Duration::from_mins(30));
        let st = open_since("2026-11-23T11:00:00Z", 1);
        assert_eq!(trial_at(&s, &st), Some(at("2026-11-23T12:00:00Z")));
        assert!(trial_due(&s, &st, at(NOW)).is_some());
        assert!(!blocks_restart(&s, &st, at(NOW)));
        let st = open_since("2026-11-23T11:00:00Z", 9);
        assert_eq!(trial_at(&s, &st), Some(at("2026-11-24T11:00:00Z")));
        assert!(blocks_restart(&s, &st, at(NOW)));
    }

    #[test]
    fn a_restart_from_an_open_circuit_is_a_trial() {
        let mut st = open_since("2026-11-23T11:00:00Z", 0);
        st.seen_up = true;
        on_restart(&mut st, 3, at(NOW));
        assert_eq!(st.restart_attempts, 4);
        assert_eq!(st.breaker_trials, 1);
        assert_eq!(st.breaker_opened_at, Some(at(NOW)));
        on_run(&mut st, 5, at(NOW));
        assert_eq!((st.breaker_opened_at, st.breaker_trials), (None, 0));
    }
}
