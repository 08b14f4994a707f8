//! The rules of adaptive tuning: what counts as evidence, and when the
//! evidence makes a step (see the module above and docs/decisions.md).
use chrono::{DateTime, Utc};

use super::{bounds, Change, Configured, Effective, Seen, Setting, MIN_EVIDENCE, STEP_EVERY};
use crate::checkpoint::tuning::{Tuned, Tuning};
use crate::core::health::Observation;

pub(super) fn observe(t: &mut Tuning, e: &Effective, seen: &Seen, now: DateTime<Utc>) {
    let ev = &mut t.evidence;
    let bump = |n: &mut u32| *n = (*n + 1).min(MIN_EVIDENCE);
    match seen.observation {
        Observation::Up => {
            if let Some(since) = ev.episode_since.filter(|_| ev.episode_len > 0) {
                let acted = seen.pending || seen.acted_at.is_some_and(|a| a >= since);
                let close = u64::from(ev.episode_len) + 1 >= e.degraded_after;
                if !acted && close {
                    bump(&mut ev.recovered_alone);
                    ev.first_try = 0;
                }
            }
            ev.episode_len = 0;
            ev.episode_since = None;
        }
        _ if seen.evicted => {
            ev.episode_len = 0;
            ev.episode_since = None;
        }
        Observation::Failing | Observation::Degraded | Observation::Down => {
            if ev.episode_len == 0 {
                ev.episode_since = Some(now);
            }
            ev.episode_len = ev.episode_len.saturating_add(1);
        }
        Observation::Unknown => {}
    }
    if let Some(v) = seen
        .verified
        .filter(|v| v.action == crate::core::Action::Restart)
    {
        match (v.success, seen.attempts <= 1) {
            (true, true) => {
                bump(&mut ev.first_try);
                bump(&mut ev.quick_backoff);
                ev.after_retries = 0;
                ev.recovered_alone = 0;
            }
            (true, false) => {
                bump(&mut ev.after_retries);
                ev.quick_backoff = 0;
                ev.first_try = 0;
            }
            (false, _) => {
                ev.first_try = 0;
                ev.quick_backoff = 0;
            }
        }
    }
}

/// Whether `s` may move now: never tuned, or last moved an hour ago (a
/// time in the future counts as now, see `core/clock.rs`).
fn may_move(t: &Tuning, s: Setting, now: DateTime<Utc>) -> bool {
    s.slot(t)
        .is_none_or(|x| now - x.changed_at.min(now) >= STEP_EVERY)
}

fn set(t: &mut Tuning, c: &Configured, s: Setting, value: u64, now: DateTime<Utc>) {
    *s.slot_mut(t) = Some(Tuned {
        value,
        configured: c.get(s),
        changed_at: now,
    });
}

pub(super) fn step(
    t: &mut Tuning,
    c: &Configured,
    e: &Effective,
    now: DateTime<Utc>,
) -> Vec<Change> {
    let mut changes = vec![];
    let mut change = |t: &mut Tuning, s: Setting, to: u64, reason: String| {
        set(t, c, s, to, now);
        changes.push(Change {
            setting: s,
            from: e.get(s),
            to,
            reason,
        });
    };
    let (degraded, dead) = (Setting::DegradedAfter, Setting::DeadAfter);
    if t.evidence.recovered_alone >= MIN_EVIDENCE {
        let to = e.degraded_after + 1;
        // `dead_after` stays above `degraded_after`: it moves too, or neither does.
        let dead_to = (e.dead_after <= to).then_some(to + 1);
        let fits = c.range(degraded).contains(to)
            && dead_to.is_none_or(|d| c.range(dead).contains(d) && may_move(t, dead, now));
        if fits && may_move(t, degraded, now) {
            let why = format!(
                "recovered on its own {MIN_EVIDENCE} times in a row, each time at or within one observation of degraded_after {}, with no action: more patience",
                e.degraded_after
            );
            change(t, degraded, to, why.clone());
            if let Some(d) = dead_to {
                change(
                    t,
                    dead,
                    d,
                    format!("{why} (dead_after stays above degraded_after)"),
                );
            }
            t.evidence.recovered_alone = 0;
        }
    }
    let first_try =
        format!("the last {MIN_EVIDENCE} restarts were verified up at their first attempt");
    if t.evidence.first_try >= MIN_EVIDENCE {
        let to = e.dead_after.saturating_sub(1);
        let fits = c.range(dead).contains(to) && to > e.degraded_after;
        if fits && may_move(t, dead, now) {
            change(t, dead, to, format!("{first_try}: less patience"));
            t.evidence.first_try = 0;
        }
    }
    let base = Setting::BackoffBase;
    let range = c.range(base);
    if t.evidence.quick_backoff >= MIN_EVIDENCE && may_move(t, base, now) {
        let to = bounds::backoff_step(e.backoff_base_ms, false, range);
        if to != e.backoff_base_ms {
            change(t, base, to, format!("{first_try}: a shorter backoff"));
            t.evidence.quick_backoff = 0;
        }
    }
    if t.evidence.after_retries >= MIN_EVIDENCE && may_move(t, base, now) {
        let to = bounds::backoff_step(e.backoff_base_ms, true, range);
        if to != e.backoff_base_ms {
            let why = format!(
                "the last {MIN_EVIDENCE} restarts came up only after earlier attempts failed: a longer backoff"
            );
            change(t, base, to, why);
            t.evidence.after_retries = 0;
        }
    }
    changes
}
