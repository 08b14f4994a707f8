//! Sample series kept across runs for failure prediction (docs/operator-guide.md, "Failure prediction"
//! `failure_predicted`): per service its memory, GPU memory and
//! health-probe latency, per GPU its temperature; and the last prediction
//! each metric made, so a prediction is repeated only when it moves.
use super::metric_map::MetricMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The most samples one series keeps: past that, older neighbours merge
/// (RRD-style), so the series spans its whole window at full resolution
/// where it is newest.
pub const MAX_SAMPLES: usize = 32;
/// The newest samples, never merged.
const RECENT: usize = 8;

/// How a series is spaced: samples at least `min_gap` apart (the probe
/// period: runs seconds apart do not crowd out the history), none older
/// than `span` before the newest (the prediction horizon).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spacing {
    pub min_gap: chrono::Duration,
    pub span: chrono::Duration,
}

/// One measurement of a metric, and when it was made.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    pub at: DateTime<Utc>,
    pub v: f64,
}

/// A prediction that holds: when the metric is projected past its
/// threshold (as last reported in a `failure_predicted` event).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Predicted {
    pub projected_at: DateTime<Utc>,
    /// When it was last reported.
    pub emitted_at: DateTime<Utc>,
    pub threshold: f64,
    /// Per second, in the metric's unit.
    pub slope: f64,
    pub recommended: String,
}

/// The series of one service or one GPU, keyed by metric name
/// (`memory`, `gpu_memory`, `probe_latency`, `gpu_temperature`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Trends {
    #[serde(default, skip_serializing_if = "MetricMap::is_empty")]
    pub series: MetricMap<Vec<Sample>>,
    #[serde(default, skip_serializing_if = "MetricMap::is_empty")]
    pub predicted: MetricMap<Predicted>,
}

impl Trends {
    pub fn is_empty(&self) -> bool {
        self.series.is_empty() && self.predicted.is_empty()
    }

    /// Adds a sample to `metric`'s series unless its last sample is at
    /// `at`, later, or less than `spacing.min_gap` before (the same record
    /// read twice counts once); drops samples older than `spacing.span`
    /// and merges the closest older neighbours past [`MAX_SAMPLES`].
    /// Returns whether it was added.
    pub fn push(&mut self, metric: &str, at: DateTime<Utc>, v: f64, spacing: Spacing) -> bool {
        if !v.is_finite() {
            return false;
        }
        let s = self.series.get_or_default(metric);
        if s.last()
            .is_some_and(|last| at <= last.at || at - last.at < spacing.min_gap)
        {
            return false;
        }
        s.push(Sample { at, v });
        s.retain(|x| at - x.at <= spacing.span);
        while s.len() > MAX_SAMPLES {
            merge_closest(s);
        }
        true
    }

    /// Drops samples from `since` or before (another process) or after `now`
    /// (a clock that went backwards), and series left empty.
    pub fn keep_between(&mut self, since: Option<DateTime<Utc>>, now: DateTime<Utc>) {
        for s in self.series.values_mut() {
            s.retain(|x| x.at <= now && since.is_none_or(|t| x.at > t));
        }
        self.series.retain(|_, s| !s.is_empty());
    }
}

/// Merges the two adjacent samples closest in time among all but the
/// [`RECENT`] newest (the oldest pair on a tie) into one at their midpoint
/// with their mean: a straight line stays on its line.
fn merge_closest(s: &mut Vec<Sample>) {
    let pairs = s.len().saturating_sub(RECENT).max(2) - 1;
    let Some(i) = (0..pairs).min_by_key(|&i| s[i + 1].at - s[i].at) else {
        return;
    };
    let (a, b) = (s[i], s[i + 1]);
    s[i] = Sample {
        at: a.at + (b.at - a.at) / 2,
        v: f64::midpoint(a.v, b.v),
    };
    s.remove(i + 1);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        "2026-01-01T00:00:00Z".parse::<DateTime<Utc>>().unwrap() + chrono::Duration::seconds(secs)
    }

    const SPACING: Spacing = Spacing {
        min_gap: chrono::Duration::seconds(10),
        span: chrono::Duration::seconds(1800),
    };

    #[test]
    fn samples_closer_than_the_gap_are_not_taken() {
        let mut t = Trends::default();
        assert!(t.push("m", at(0), 1.0, SPACING));
        assert!(!t.push("m", at(9), 2.0, SPACING));
        assert!(!t.push("m", at(0), 2.0, SPACING));
        assert!(t.push("m", at(10), 2.0, SPACING));
    }

    #[test]
    fn a_full_series_merges_older_samples_spans_its_window_and_keeps_a_line() {
        let mut t = Trends::default();
        // Every 10 s for 25 minutes: 151 samples of a straight line.
        for i in 0..=150_i32 {
            t.push("m", at(i64::from(i) * 10), 3.0 * f64::from(i), SPACING);
        }
        let s = &t.series["m"];
        assert_eq!(s.len(), MAX_SAMPLES);
        assert_eq!(
            s[0].at,
            at(0) + chrono::Duration::seconds(s[0].at.timestamp() - at(0).timestamp())
        );
        assert!(
            s[0].at <= at(60),
            "the oldest sample still near the start: {}",
            s[0].at
        );
        assert_eq!(s.last().unwrap().at, at(1500));
        // The newest are untouched, and every merged sample is on the line.
        for w in s.windows(2).rev().take(RECENT - 1) {
            assert_eq!((w[1].at - w[0].at).num_seconds(), 10);
        }
        for x in s {
            let secs = crate::num::signed_as_f64((x.at - at(0)).num_milliseconds()) / 1000.0;
            assert!((x.v - 0.3 * secs).abs() < 1e-6, "{x:?} is off the line");
        }
    }

    #[test]
    fn samples_older_than_the_span_go() {
        let mut t = Trends::default();
        t.push("m", at(0), 1.0, SPACING);
        t.push("m", at(1000), 1.0, SPACING);
        t.push("m", at(1801), 1.0, SPACING);
        let times: Vec<_> = t.series["m"].iter().map(|x| x.at).collect();
        assert_eq!(times, vec![at(1000), at(1801)]);
    }
}
