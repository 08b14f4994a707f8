//! Sample series kept across runs for failure prediction (SPEC §10
//! `failure_predicted`): per service its memory, GPU memory and
//! health-probe latency, per GPU its temperature; and the last prediction
//! each metric made, so a prediction is repeated only when it moves.
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The most samples one series keeps (the oldest go first).
pub const MAX_SAMPLES: usize = 32;

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
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub series: BTreeMap<String, Vec<Sample>>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub predicted: BTreeMap<String, Predicted>,
}

impl Trends {
    pub fn is_empty(&self) -> bool {
        self.series.is_empty() && self.predicted.is_empty()
    }

    /// Adds a sample to `metric`'s series unless its last sample is at
    /// `at`, later, or less than `min_gap` before (the same record read
    /// twice counts once; runs seconds apart do not crowd out the history);
    /// keeps the last [`MAX_SAMPLES`]. Returns whether it was added.
    pub fn push(
        &mut self,
        metric: &str,
        at: DateTime<Utc>,
        v: f64,
        min_gap: chrono::Duration,
    ) -> bool {
        if !v.is_finite() {
            return false;
        }
        let s = self.series.entry(metric.to_string()).or_default();
        if s.last()
            .is_some_and(|last| at <= last.at || at - last.at < min_gap)
        {
            return false;
        }
        s.push(Sample { at, v });
        if s.len() > MAX_SAMPLES {
            let extra = s.len() - MAX_SAMPLES;
            s.drain(..extra);
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
