//! Guardrail helpers: maintenance windows and restart backoff with its
//! deterministic jitter. The guardrails themselves (their order: another
//! node, maintenance, hold, backoff, an open circuit, an ambiguous process,
//! no command, no confirmed process, the per-run budget, dry run) are
//! applied in `core/node.rs`, `guard`; a GPU
//! orphan's eviction gets those that fit a process that is no service's
//! (`core/orphans.rs`, `guard`). Pure.
use std::time::Duration;

use chrono::{DateTime, Datelike, Timelike, Utc};

use crate::checkpoint::ServiceState;
use crate::desired::{MaintenanceWindow, Settings};

/// Restart delay after `attempts` attempts (docs/reference/behaviour.md, "Restarts: backoff and the circuit breaker"): `min(max, base × 2^(attempts−1))`
/// plus a jitter of up to 10% derived from the service name and attempt, so
/// that runs stay deterministic while a fleet's restarts still spread out.
pub fn backoff_delay(settings: &Settings, service: &str, attempts: u32) -> Duration {
    backoff_from(settings.backoff_base, settings, service, attempts)
}

/// [`backoff_delay`] from a `base` other than the configured one (tuned).
fn backoff_from(base: Duration, settings: &Settings, service: &str, attempts: u32) -> Duration {
    if attempts == 0 {
        return Duration::ZERO;
    }
    let exp = attempts.saturating_sub(1).min(31);
    let raw = base.saturating_mul(1u32 << exp);
    let delay = raw.min(settings.backoff_max);
    let permille = fnv1a(service.as_bytes(), attempts) % 101; // 0..=100 ‰ = 0..10 %
    delay + delay.mul_f64(crate::num::as_f64(permille) / 1000.0)
}

/// When the next restart is allowed, if the service is inside a backoff.
pub fn backoff_until(
    settings: &Settings,
    service: &str,
    state: &ServiceState,
) -> Option<DateTime<Utc>> {
    let last = state.last_restart_at?;
    let base = super::tuning::backoff_base(settings, &state.tuning);
    // After a first start (attempt 0: not a restart) the first attempt's
    // backoff applies, as after any start.
    let delay = backoff_from(base, settings, service, state.restart_attempts.max(1));
    if delay.is_zero() {
        return None;
    }
    Some(last + chrono::Duration::from_std(delay).ok()?)
}

/// The breaker's trial time, where `status` and `watch` read it.
pub use super::breaker::trial_at as breaker_trial_at;

/// FNV-1a: a stable hash (std's `DefaultHasher` may change between releases).
fn fnv1a(bytes: &[u8], salt: u32) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes.iter().chain(salt.to_le_bytes().iter()) {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Whether `now` falls inside any maintenance window (UTC). A window whose
/// `to` is before its `from` runs past midnight into the next day.
pub fn in_maintenance(windows: &[MaintenanceWindow], now: DateTime<Utc>) -> bool {
    let minute = now.hour() * 60 + now.minute();
    let today = now.weekday();
    let yesterday = today.pred();
    windows.iter().any(|w| {
        let day_ok = |d| w.days.is_empty() || w.days.contains(&d);
        if w.from_minute < w.to_minute {
            day_ok(today) && minute >= w.from_minute && minute < w.to_minute
        } else {
            (day_ok(today) && minute >= w.from_minute)
                || (day_ok(yesterday) && minute < w.to_minute)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Weekday;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn settings() -> Settings {
        crate::core::testutil::settings()
    }

    #[test]
    fn backoff_doubles_caps_and_jitters_within_ten_percent() {
        let s = settings();
        for (attempt, base) in [(1u32, 5u64), (2, 10), (3, 20), (7, 300), (30, 300)] {
            let d = backoff_delay(&s, "llama", attempt);
            let lo = Duration::from_secs(base);
            assert!(d >= lo && d <= lo.mul_f64(1.1), "attempt {attempt}: {d:?}");
            assert_eq!(d, backoff_delay(&s, "llama", attempt), "deterministic");
        }
        assert_eq!(backoff_delay(&s, "llama", 0), Duration::ZERO);
    }

    #[test]
    fn maintenance_windows_respect_days_and_midnight() {
        let w = MaintenanceWindow {
            days: vec![Weekday::Sat],
            from_minute: 23 * 60,
            to_minute: 60,
        };
        // 2026-11-21 is a Saturday.
        assert!(in_maintenance(
            std::slice::from_ref(&w),
            at("2026-11-21T23:30:00Z")
        ));
        assert!(in_maintenance(
            std::slice::from_ref(&w),
            at("2026-11-22T00:30:00Z")
        ));
        assert!(!in_maintenance(
            std::slice::from_ref(&w),
            at("2026-11-22T01:00:00Z")
        ));
        assert!(!in_maintenance(
            std::slice::from_ref(&w),
            at("2026-11-20T23:30:00Z")
        ));
        let daily = MaintenanceWindow {
            days: vec![],
            from_minute: 120,
            to_minute: 240,
        };
        assert!(in_maintenance(
            std::slice::from_ref(&daily),
            at("2026-11-23T02:00:00Z")
        ));
        assert!(!in_maintenance(
            std::slice::from_ref(&daily),
            at("2026-11-23T04:00:00Z")
        ));
    }
}
