//! Loading after a start (SPEC §12): a process this tool started whose
//! resident memory, GPU memory or log grew since the previous run's sample
//! is `loading`, not failing: its failing health probes do not count, and
//! `start_grace` counts from the end of loading. Loading ends in the first
//! run that sees no growth (or sees it up); a start still loading
//! `load_timeout` after it began has failed. Pure: the caller passes `now`.
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::health::Observation;
use super::LiveService;
use crate::checkpoint::{LoadSample, ServiceState};

/// What this run concluded about loading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Loading {
    /// Not loading (no start to verify, no growth seen, or up or gone).
    No,
    /// Growth seen since the previous sample, within `load_timeout`.
    Yes,
    /// Still growing, but `load_timeout` (this) has passed since the start.
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
    let start = prev
        .started_at
        .filter(|_| prev.pending.as_ref().is_some_and(|p| p.action != "evict"));
    let Some(start) = start else {
        state.loading_since = None;
        state.loading_ended_at = None;
        return Loading::No;
    };
    // What was recorded for an earlier start (or before this one, by the
    // run that started it) says nothing about this start's loading.
    let since_start = |t: &Option<DateTime<Utc>>| t.filter(|t| *t > start);
    let was_loading = since_start(&prev.loading_since);
    state.loading_since = was_loading;
    state.loading_ended_at = since_start(&prev.loading_ended_at);
    let grew = match (&prev.load_sample, &state.load_sample) {
        (Some(before), Some(now_seen)) => grew(before, now_seen, start),
        _ => false,
    };
    let loading = grew && !matches!(observation, Observation::Up | Observation::Down);
    if !loading {
        if was_loading.is_some() {
            state.loading_ended_at = Some(now);
        }
        state.loading_since = None;
        return Loading::No;
    }
    state.loading_since = Some(was_loading.unwrap_or(now));
    if (now - start).to_std().unwrap_or_default() > load_timeout {
        Loading::TimedOut(load_timeout)
    } else {
        Loading::Yes
    }
}

fn sample(live: &LiveService, at: DateTime<Utc>) -> Option<LoadSample> {
    let s = LoadSample {
        rss: live.memory_bytes,
        gpu: live.gpu_memory_bytes,
        log: live.log_bytes,
        at,
    };
    (s.rss.is_some() || s.gpu.is_some() || s.log.is_some()).then_some(s)
}

/// Memory that grew by less than this is noise (an `exec`, a page or two
/// touched), not a model loading.
pub const MEMORY_GROWTH: u64 = 1 << 20;

/// Any of the three grew (memory by at least [`MEMORY_GROWTH`], the log by
/// any byte). A sample taken before the start (by the run that started it)
/// is of another process: only its log size compares.
fn grew(before: &LoadSample, now: &LoadSample, start: DateTime<Utc>) -> bool {
    let same_process = before.at > start;
    let up = |a: Option<u64>, b: Option<u64>, by: u64| matches!((a, b), (Some(a), Some(b)) if b >= a.saturating_add(by));
    let memory = up(before.rss, now.rss, MEMORY_GROWTH) || up(before.gpu, now.gpu, MEMORY_GROWTH);
    (same_process && memory) || up(before.log, now.log, 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::PendingCheck;
    use crate::core::LiveObservation;

    fn at(secs: i64) -> DateTime<Utc> {
        "2026-01-01T00:00:00Z".parse::<DateTime<Utc>>().unwrap() + chrono::Duration::seconds(secs)
    }

    fn live(rss: u64, log: u64) -> LiveService {
        LiveService {
            observation: LiveObservation::Failing,
            identity: None,
            memory_bytes: Some(rss),
            gpu_memory_bytes: None,
            log_bytes: Some(log),
            cpu_seconds: None,
            reason: None,
            ambiguous: false,
            health_probed: true,
            probe_latency_ms: None,
        }
    }

    const TEN_MIN: Duration = Duration::from_secs(600);

    /// Runs `track` at each (secs, rss, log) after a start at 0, whose run
    /// saw no process and an empty log; returns each run's verdict.
    fn runs(samples: &[(i64, u64, u64)]) -> (Vec<Loading>, ServiceState) {
        let mut st = ServiceState {
            started_at: Some(at(0)),
            pending: Some(PendingCheck {
                action: "restart".into(),
                at: at(0),
            }),
            load_sample: Some(LoadSample {
                log: Some(0),
                at: at(0),
                ..Default::default()
            }),
            ..Default::default()
        };
        let mut out = vec![];
        for &(secs, rss, log) in samples {
            let prev = st.clone();
            let l = live(rss, log);
            out.push(track(
                &mut st,
                &prev,
                Some(&l),
                Observation::Failing,
                TEN_MIN,
                at(secs),
            ));
        }
        (out, st)
    }

    #[test]
    fn a_growing_log_is_loading_until_it_stops() {
        let (seen, st) = runs(&[(5, 100, 10), (10, 100, 20), (15, 100, 20)]);
        assert_eq!(seen, vec![Loading::Yes, Loading::Yes, Loading::No]);
        assert_eq!(st.loading_since, None);
        assert_eq!(st.loading_ended_at, Some(at(15)));
    }

    #[test]
    fn growing_memory_of_the_new_process_is_loading() {
        // The first sample after the start has nothing of this process to
        // compare with; memory growth after that is loading.
        let mib = MEMORY_GROWTH;
        let (seen, st) = runs(&[(5, mib, 0), (10, 2 * mib, 0), (15, 2 * mib + 4096, 0)]);
        // A few pages more is noise, not loading: loading ended.
        assert_eq!(seen, vec![Loading::No, Loading::Yes, Loading::No]);
        assert_eq!(st.loading_since, None);
        assert_eq!(st.loading_ended_at, Some(at(15)));
    }

    #[test]
    fn no_growth_after_a_start_is_not_loading_and_ends_nothing() {
        let (seen, st) = runs(&[(5, 100, 0), (10, 100, 0)]);
        assert_eq!(seen, vec![Loading::No, Loading::No]);
        assert_eq!(st.loading_ended_at, None);
    }

    #[test]
    fn loading_past_load_timeout_times_out() {
        let (seen, _) = runs(&[(300, 100, 10), (601, 100, 20)]);
        assert_eq!(seen, vec![Loading::Yes, Loading::TimedOut(TEN_MIN)]);
    }

    #[test]
    fn without_a_start_to_verify_nothing_is_loading() {
        let prev = ServiceState {
            load_sample: Some(LoadSample {
                log: Some(0),
                at: at(0),
                ..Default::default()
            }),
            loading_since: Some(at(0)),
            ..Default::default()
        };
        let mut st = prev.clone();
        let l = live(100, 50);
        let r = track(
            &mut st,
            &prev,
            Some(&l),
            Observation::Failing,
            TEN_MIN,
            at(5),
        );
        assert_eq!(r, Loading::No);
        assert_eq!(st.loading_since, None);
        assert_eq!(st.load_sample.unwrap().log, Some(50));
    }
}
