//! Loading (docs/reference/behaviour.md, "Loading"), positive evidence only: the server answers that it
//! is loading (llama.cpp's 503 "Loading model", or the service's
//! `health.loading`), or, after a start by this tool, the new process's
//! resident or GPU memory grew by at least [`MEMORY_GROWTH`] since the
//! previous sample. A loading service's failing probes do not count, and
//! `start_grace` counts from the end of loading. A log that grows is **not**
//! loading (servers log every request, the health probe's included: v2's
//! rule, dropped). Loading that lasts past `load_timeout` (from the start,
//! or from the first run that saw it) has failed. Pure: the caller passes
//! `now`.
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::health::Observation;
use super::LiveService;
use crate::checkpoint::{LoadSample, ServiceState};

/// What this run concluded about loading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Loading {
    /// Not loading (no evidence, or up or gone).
    No,
    /// The server says so, or memory grew, within `load_timeout`.
    Yes,
    /// Still loading, but `load_timeout` (this) has passed.
    TimedOut(Duration),
}

/// Updates `state`'s loading fields from this run's live data and returns
/// whether the service is loading. `prev` is the checkpoint's state.
pub fn track(
    state: &mut ServiceState,
    prev: &ServiceState,
    live: Option<&LiveService>,
    observation: Observation,
    load_timeout: Duration,
    now: DateTime<Utc>,
) -> Loading {
    state.load_sample = live.and_then(|l| sample(l, now));
    let start = prev.started_at.filter(|_| {
        prev.pending
            .as_ref()
            .is_some_and(|p| p.action != super::Action::Evict)
    });
    // What was recorded for an earlier start (or before this one, by the
    // run that started it) says nothing about this start's loading.
    let since_start = |t: &Option<DateTime<Utc>>| t.filter(|t| start.is_none_or(|s| *t > s));
    let was_loading = since_start(&prev.loading_since);
    state.loading_since = was_loading;
    state.loading_ended_at = since_start(&prev.loading_ended_at);
    let said = live.is_some_and(|l| l.loading);
    let grew = match (start, &prev.load_sample, &state.load_sample) {
        (Some(start), Some(before), Some(now_seen)) => grew(before, now_seen, start),
        _ => false,
    };
    let loading = (said || grew) && !matches!(observation, Observation::Up | Observation::Down);
    if !loading {
        if was_loading.is_some() {
            state.loading_ended_at = Some(now);
        }
        state.loading_since = None;
        return Loading::No;
    }
    let since = was_loading.unwrap_or(now);
    state.loading_since = Some(since);
    let began = start.map_or(since, |s| s.min(since));
    if (now - began).to_std().unwrap_or_default() > load_timeout {
        Loading::TimedOut(load_timeout)
    } else {
        Loading::Yes
    }
}

fn sample(live: &LiveService, at: DateTime<Utc>) -> Option<LoadSample> {
    let s = LoadSample {
        rss: live.memory_bytes,
        gpu: live.gpu_memory_bytes,
        log: None,
        at,
    };
    (s.rss.is_some() || s.gpu.is_some()).then_some(s)
}

/// Memory growth that is a model loading (docs/reference/behaviour.md, "Loading"): 64 MiB. Less is a
/// process warming up, a cache, an allocator's arena.
pub const MEMORY_GROWTH: u64 = 64 << 20;

/// Resident or GPU memory of the started process grew by at least
/// [`MEMORY_GROWTH`]. A sample taken before the start (by the run that
/// started it) is of another process and compares with nothing.
fn grew(before: &LoadSample, now: &LoadSample, start: DateTime<Utc>) -> bool {
    let same_process = before.at > start;
    let up = |a: Option<u64>, b: Option<u64>| matches!((a, b), (Some(a), Some(b)) if b >= a.saturating_add(MEMORY_GROWTH));
    same_process && (up(before.rss, now.rss) || up(before.gpu, now.gpu))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::PendingCheck;
    use crate::core::LiveObservation;

    fn at(secs: i64) -> DateTime<Utc> {
        "2026-01-01T00:00:00Z".parse::<DateTime<Utc>>().unwrap() + chrono::Duration::seconds(secs)
    }

    fn live(rss: u64, said: bool) -> LiveService {
        LiveService {
            observation: LiveObservation::Failing,
            identity: None,
            memory_bytes: Some(rss),
            gpu_memory_bytes: None,
            cpu_seconds: None,
            reason: None,
            ambiguous: false,
            health_probed: true,
            probe_latency_ms: None,
            loading: said,
            activity: None,
        }
    }

    const TEN_MIN: Duration = Duration::from_mins(10);
    const MIB: u64 = 1 << 20;

    /// Runs `track` at each (secs, rss, server says loading) after a start
    /// at 0, whose run saw no process; returns each run's verdict.
    fn runs(samples: &[(i64, u64, bool)]) -> (Vec<Loading>, ServiceState) {
        let start = ServiceState {
            started_at: Some(at(0)),
            pending: Some(PendingCheck {
                action: crate::core::Action::Restart,
                at: at(0),
            }),
            ..Default::default()
        };
        runs_from(start, samples)
    }

    fn runs_from(
        mut st: ServiceState,
        samples: &[(i64, u64, bool)],
    ) -> (Vec<Loading>, ServiceState) {
        let mut out = vec![];
        for &(secs, rss, said) in samples {
            let prev = st.clone();
            let l = live(rss, said);
            let obs = Observation::Failing;
            out.push(track(&mut st, &prev, Some(&l), obs, TEN_MIN, at(secs)));
        }
        (out, st)
    }

    #[test]
    fn a_server_that_says_loading_is_loading_until_it_stops_saying_so() {
        let (seen, st) = runs(&[(5, 100, true), (10, 100, true), (15, 100, false)]);
        assert_eq!(seen, vec![Loading::Yes, Loading::Yes, Loading::No]);
        assert_eq!(st.loading_since, None);
        assert_eq!(st.loading_ended_at, Some(at(15)));
    }

    #[test]
    fn memory_growth_of_64_mib_is_loading_and_less_is_not() {
        // The first sample after the start has nothing of this process to
        // compare with; 64 MiB more after that is loading.
        let (seen, st) = runs(&[
            (5, 100 * MIB, false),
            (10, 164 * MIB, false),
            (15, 200 * MIB, false),
        ]);
        // 36 MiB more is a process warming up, not a model loading.
        assert_eq!(seen, vec![Loading::No, Loading::Yes, Loading::No]);
        assert_eq!(st.loading_ended_at, Some(at(15)));
        let (seen, _) = runs(&[(5, 100 * MIB, false), (10, 163 * MIB, false)]);
        assert_eq!(seen, vec![Loading::No, Loading::No]);
    }

    #[test]
    fn no_evidence_after_a_start_is_not_loading_and_ends_nothing() {
        let (seen, st) = runs(&[(5, 100, false), (10, 100, false)]);
        assert_eq!(seen, vec![Loading::No, Loading::No]);
        assert_eq!(st.loading_ended_at, None);
    }

    #[test]
    fn loading_past_load_timeout_times_out() {
        let (seen, _) = runs(&[(300, 100, true), (601, 100, true)]);
        assert_eq!(seen, vec![Loading::Yes, Loading::TimedOut(TEN_MIN)]);
    }

    #[test]
    fn a_server_loading_without_a_start_of_ours_is_loading_for_load_timeout() {
        // Started by someone else: the first run that hears "loading" starts
        // the clock.
        let (seen, st) = runs_from(
            ServiceState::default(),
            &[(100, 100, true), (400, 100, true), (701, 100, true)],
        );
        assert_eq!(
            seen,
            vec![Loading::Yes, Loading::Yes, Loading::TimedOut(TEN_MIN)]
        );
        assert_eq!(st.loading_since, Some(at(100)));
    }

    #[test]
    fn memory_growth_without_a_start_of_ours_is_not_loading() {
        let prev = ServiceState {
            load_sample: Some(LoadSample {
                rss: Some(100 * MIB),
                at: at(0),
                ..Default::default()
            }),
            ..Default::default()
        };
        let (seen, st) = runs_from(prev, &[(5, 900 * MIB, false)]);
        assert_eq!(seen, vec![Loading::No]);
        assert_eq!(st.load_sample.unwrap().rss, Some(900 * MIB));
    }
}
