//! A clock that went backwards (docs/reference/behaviour.md, "Clock"): a time in the checkpoint
//! later than `now` counts as `now`, so nothing waits longer than it would
//! have from now. A backoff then ends at most `now + cap` (plus the
//! contract's jitter of up to 10%, which applies at the cap too); an eviction or a
//! start "in the future" is treated as just now; the breaker's healthy
//! streak restarts from now (it counts forward time only). Pure.
use chrono::{DateTime, Utc};

use crate::checkpoint::Checkpoint;

pub fn clamp_future(cp: &mut Checkpoint, now: DateTime<Utc>) {
    let clamp = |t: &mut Option<DateTime<Utc>>| {
        if let Some(v) = t {
            if *v > now {
                *v = now;
            }
        }
    };
    for st in cp.services.values_mut() {
        clamp(&mut st.last_restart_at);
        clamp(&mut st.started_at);
        clamp(&mut st.evicted_at);
        clamp(&mut st.healthy_since);
        clamp(&mut st.health_probed_at);
        clamp(&mut st.loading_since);
        clamp(&mut st.loading_ended_at);
        clamp(&mut st.stopped_by_operator_at);
        clamp(&mut st.tuning.evidence.episode_since);
        let tuned = [&mut st.tuning.degraded_after, &mut st.tuning.dead_after];
        for t in tuned
            .into_iter()
            .chain([&mut st.tuning.backoff_base_ms])
            .flatten()
        {
            t.changed_at = t.changed_at.min(now);
        }
        for t in &mut st.thrash_cycles {
            *t = (*t).min(now);
        }
        if let Some(a) = &mut st.last_action {
            a.at = a.at.min(now);
        }
        if let Some(p) = &mut st.pending {
            p.at = p.at.min(now);
        }
        // CPU use and demand are rates over time: a sample from the future
        // gives none, so start them again.
        if st.cpu_at.is_some_and(|t| t > now) {
            st.cpu_at = None;
            st.cpu_seconds = None;
            st.cpu_use = None;
        }
        if st.load_sample.is_some_and(|s| s.at > now) {
            st.load_sample = None;
        }
        if st.demand.as_ref().is_some_and(|d| d.at > now) {
            st.demand = None;
        }
    }
    for f in cp.fallbacks.values_mut() {
        f.since = f.since.min(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::ServiceState;
    use crate::core::guardrails::backoff_until;
    use crate::core::testutil::settings;

    #[test]
    fn a_backoff_from_the_future_ends_within_the_cap_from_now() {
        let now: DateTime<Utc> = "2026-11-20T12:00:00Z".parse().unwrap();
        let month_ahead = now + chrono::Duration::days(30);
        let mut cp = Checkpoint::default();
        cp.services.insert(
            "n/s".into(),
            Box::new(ServiceState {
                restart_attempts: 9,
                last_restart_at: Some(month_ahead),
                started_at: Some(month_ahead),
                healthy_since: Some(month_ahead),
                ..ServiceState::default()
            }),
        );
        let settings = settings();
        let before = backoff_until(&settings, "s", &cp.services["n/s"]).unwrap();
        assert!(before > now + chrono::Duration::minutes(5));
        clamp_future(&mut cp, now);
        let st = &cp.services["n/s"];
        let until = backoff_until(&settings, "s", st).unwrap();
        // The cap (5m) plus the contract's jitter of up to 10%.
        assert!(until <= now + chrono::Duration::seconds(330), "{until}");
        assert_eq!(st.started_at, Some(now));
        assert_eq!(st.healthy_since, Some(now));
    }
}
