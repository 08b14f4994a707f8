//! The health state machine of docs/reference/behaviour.md, "Health": one observation per service per run
//! advances its state. Pure: the caller passes `now`.
use chrono::{DateTime, Utc};

use crate::checkpoint::{Health, ServiceState};
use crate::desired::HealthSpec;
use crate::world::{Obs, ProbeResult, ServiceRecord, ServiceStatus};

/// What one run saw of a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Observation {
    Up,
    Degraded,
    Failing,
    Down,
    Unknown,
}

/// What a live probe of the local node found (the edge fills this in).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LiveObservation {
    /// The probe has nothing to say (no process config, no health probe).
    NoData,
    /// No live process (or a stale pidfile).
    Down,
    /// Process alive and health probe passing (or no probe configured).
    Up,
    /// Process alive, health probe failing.
    Failing,
}

/// How often observations count: a live probe once per fast tick; a
/// failing result (live or recorded) only `probe_period` after the last
/// counted failure (docs/reference/behaviour.md, "Probe period"), so `dead_after × probe_period` is the least
/// time from the first failure to dead, however often runs come.
#[derive(Debug, Clone, Copy)]
pub struct Pace {
    pub fast_tick: std::time::Duration,
    pub probe_period: std::time::Duration,
}

/// Picks this run's observation. A live probe overrides the world record;
/// a live probe counts once per fast tick, a world record once per
/// `observed_at`, and a failure once per probe period ([`Pace`]). Returns
/// the observation and whether each source was counted.
pub fn observe(
    record: Option<&Obs<ServiceRecord>>,
    live: Option<LiveObservation>,
    prev: &ServiceState,
    now: DateTime<Utc>,
    pace: Pace,
) -> (Observation, Counted) {
    let (obs, counted) = observe_once(record, live, prev, now, pace.fast_tick);
    let at = counted.record.unwrap_or(now);
    let too_soon = prev.failure_counted_at.is_some_and(|last| {
        at >= last && (at - last).to_std().unwrap_or_default() < pace.probe_period
    });
    match obs {
        Observation::Failing if too_soon => (Observation::Unknown, counted),
        o => (o, counted),
    }
}

fn observe_once(
    record: Option<&Obs<ServiceRecord>>,
    live: Option<LiveObservation>,
    prev: &ServiceState,
    now: DateTime<Utc>,
    fast_tick: std::time::Duration,
) -> (Observation, Counted) {
    let mut counted = Counted::default();
    if let Some(live) = live.filter(|l| *l != LiveObservation::NoData) {
        // A probe made before the last start says nothing of the process
        // started since: the first probe after a start always counts.
        let started_since = prev
            .started_at
            .zip(prev.probed_at)
            .is_some_and(|(started, probed)| started >= probed);
        let recent = !started_since
            && prev
                .probed_at
                .is_some_and(|at| now >= at && (now - at).to_std().unwrap_or_default() < fast_tick);
        if recent {
            return (Observation::Unknown, counted);
        }
        counted.probe = true;
        let obs = match live {
            LiveObservation::Up => Observation::Up,
            LiveObservation::Failing => Observation::Failing,
            LiveObservation::Down | LiveObservation::NoData => Observation::Down,
        };
        return (obs, counted);
    }
    match record {
        Some(Obs::Valid(rec)) => {
            if prev.observed_at == Some(rec.observed_at) {
                return (Observation::Unknown, counted);
            }
            counted.record = Some(rec.observed_at);
            let obs = match rec.status {
                ServiceStatus::Ok | ServiceStatus::Degraded
                    if rec.probe == Some(ProbeResult::Failing) =>
                {
                    Observation::Failing
                }
                ServiceStatus::Ok => Observation::Up,
                ServiceStatus::Degraded => Observation::Degraded,
                ServiceStatus::Failed | ServiceStatus::Stopped => Observation::Down,
            };
            (obs, counted)
        }
        Some(Obs::Invalid) | None => (Observation::Unknown, counted),
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counted {
    pub probe: bool,
    pub record: Option<DateTime<Utc>>,
}

/// Advances `state` by one observation; returns the new (health, failures).
pub fn advance(state: Health, failures: u32, obs: Observation, spec: &HealthSpec) -> (Health, u32) {
    match obs {
        Observation::Up => (Health::Healthy, 0),
        Observation::Degraded => (Health::Degraded, failures),
        Observation::Down if state == Health::Evicted => (Health::Evicted, failures),
        Observation::Down => (Health::Dead, failures),
        Observation::Failing => {
            let failures = failures.saturating_add(1);
            let next = if failures >= spec.dead_after {
                Health::Dead
            } else if failures >= spec.degraded_after {
                Health::Degraded
            } else {
                state
            };
            (next, failures)
        }
        Observation::Unknown => (state, failures),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn spec() -> HealthSpec {
        HealthSpec::unprobed()
    }

    #[test]
    fn failing_walks_healthy_degraded_dead() {
        let mut s = (Health::Healthy, 0);
        let mut seen = vec![];
        for _ in 0..5 {
            s = advance(s.0, s.1, Observation::Failing, &spec());
            seen.push(s);
        }
        assert_eq!(
            seen,
            vec![
                (Health::Healthy, 1),
                (Health::Degraded, 2),
                (Health::Degraded, 3),
                (Health::Degraded, 4),
                (Health::Dead, 5)
            ]
        );
        assert_eq!(
            advance(Health::Dead, 5, Observation::Up, &spec()),
            (Health::Healthy, 0)
        );
    }

    #[test]
    fn failing_below_threshold_leaves_unknown_unknown() {
        assert_eq!(
            advance(Health::Unknown, 0, Observation::Failing, &spec()),
            (Health::Unknown, 1)
        );
    }

    #[test]
    fn degraded_and_down_act_at_once_and_unknown_changes_nothing() {
        assert_eq!(
            advance(Health::Healthy, 0, Observation::Degraded, &spec()).0,
            Health::Degraded
        );
        assert_eq!(
            advance(Health::Healthy, 0, Observation::Down, &spec()).0,
            Health::Dead
        );
        assert_eq!(
            advance(Health::Evicted, 0, Observation::Down, &spec()).0,
            Health::Evicted
        );
        assert_eq!(
            advance(Health::Degraded, 3, Observation::Unknown, &spec()),
            (Health::Degraded, 3)
        );
    }

    #[test]
    fn a_probe_counts_once_per_fast_tick() {
        let now: DateTime<Utc> = "2026-11-23T12:00:00Z".parse().unwrap();
        let prev = ServiceState {
            probed_at: Some(now - chrono::Duration::seconds(1)),
            ..Default::default()
        };
        let tick = Duration::from_secs(3);
        let (obs, c) = observe(None, Some(LiveObservation::Failing), &prev, now, pace(tick));
        assert_eq!((obs, c.probe), (Observation::Unknown, false));
        let prev = ServiceState {
            probed_at: Some(now - chrono::Duration::seconds(3)),
            ..Default::default()
        };
        let (obs, c) = observe(None, Some(LiveObservation::Failing), &prev, now, pace(tick));
        assert_eq!((obs, c.probe), (Observation::Failing, true));
    }

    fn pace(fast_tick: Duration) -> Pace {
        Pace {
            fast_tick,
            probe_period: Duration::from_secs(10),
        }
    }

    #[test]
    fn a_failure_counts_once_per_probe_period_and_up_or_down_at_once() {
        let now: DateTime<Utc> = "2026-11-23T12:00:00Z".parse().unwrap();
        let prev = ServiceState {
            failure_counted_at: Some(now - chrono::Duration::seconds(9)),
            ..Default::default()
        };
        let tick = pace(Duration::from_secs(3));
        let seen = |live| observe(None, Some(live), &prev, now, tick).0;
        assert_eq!(seen(LiveObservation::Failing), Observation::Unknown);
        assert_eq!(seen(LiveObservation::Up), Observation::Up);
        assert_eq!(seen(LiveObservation::Down), Observation::Down);
        let prev = ServiceState {
            failure_counted_at: Some(now - chrono::Duration::seconds(10)),
            ..Default::default()
        };
        let (obs, _) = observe(None, Some(LiveObservation::Failing), &prev, now, tick);
        assert_eq!(obs, Observation::Failing);
    }

    /// docs/reference/behaviour.md, "Probe period": 20 runs in 10 s cannot take a failing service to dead
    /// faster than `dead_after × probe_period`.
    #[test]
    fn runs_every_half_second_die_no_sooner_than_dead_after_probe_periods() {
        let start: DateTime<Utc> = "2026-11-23T12:00:00Z".parse().unwrap();
        let tick = Pace {
            fast_tick: Duration::from_millis(500),
            probe_period: Duration::from_secs(10),
        };
        let mut st = ServiceState {
            health: Health::Healthy,
            ..Default::default()
        };
        let mut dead_at = None;
        for i in 0..200 {
            let now = start + chrono::Duration::milliseconds(500 * i);
            let (obs, _) = observe(None, Some(LiveObservation::Failing), &st, now, tick);
            let (h, f) = advance(st.health, st.failures, obs, &spec());
            if obs == Observation::Failing {
                st.failure_counted_at = Some(now);
            }
            st.probed_at = Some(now);
            (st.health, st.failures) = (h, f);
            if h == Health::Dead && dead_at.is_none() {
                dead_at = Some(now - start);
            }
        }
        // dead_after 5: failures counted at 0, 10, 20, 30, 40 s.
        assert_eq!(dead_at, Some(chrono::Duration::seconds(40)));
        let after_ten = {
            let mut st = ServiceState::default();
            for i in 0..20 {
                let now = start + chrono::Duration::milliseconds(500 * i);
                let (obs, _) = observe(None, Some(LiveObservation::Failing), &st, now, tick);
                if obs == Observation::Failing {
                    st.failure_counted_at = Some(now);
                    st.failures += 1;
                }
                st.probed_at = Some(now);
            }
            st.failures
        };
        assert_eq!(after_ten, 1, "20 runs in 10 s count one failure");
    }

    #[test]
    fn a_record_with_a_failing_probe_counts_as_failing() {
        let rec = |status, probe| {
            let json = serde_json::json!({"status": status, "observed_at": "2026-11-23T12:00:00Z", "probe": probe});
            Obs::Valid(serde_json::from_value::<ServiceRecord>(json).unwrap())
        };
        let now: DateTime<Utc> = "2026-11-23T12:00:30Z".parse().unwrap();
        let tick = Duration::from_secs(3);
        let obs = |r| observe(Some(&r), None, &ServiceState::default(), now, pace(tick)).0;
        assert_eq!(obs(rec("degraded", "failing")), Observation::Failing);
        assert_eq!(obs(rec("ok", "failing")), Observation::Failing);
        assert_eq!(obs(rec("degraded", "passing")), Observation::Degraded);
        // A process that is gone is down, whatever its last probe said.
        assert_eq!(obs(rec("failed", "failing")), Observation::Down);
    }
}
