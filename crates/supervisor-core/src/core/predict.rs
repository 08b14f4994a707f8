//! Failure prediction (`failure_predicted`, docs/operator-guide.md, "Failure prediction"): per service a bounded
//! series of memory, GPU memory and health-probe latency samples, per GPU
//! one of temperature, kept across runs in the checkpoint. When a
//! least-squares line over at least [`MIN_SAMPLES`] samples fits well
//! (r² ≥ [`MIN_R2`]), rises, and projects the metric past its threshold
//! within `predict_horizon`, the run reports it, with a recommendation.
//! It never proposes an action and never changes the run's state. A
//! prediction is reported again only when its projected time moves
//! materially ([`material`]). Pure.
mod fit;
mod sample;

use chrono::{DateTime, Duration, Utc};

pub use fit::{fit, Fit};
pub use sample::{GPU_MEMORY, GPU_TEMPERATURE, MEMORY, PROBE_LATENCY};

use super::availability::ts;
use super::NodeCtx;
use crate::checkpoint::trends::{Predicted, Sample};
use std::collections::BTreeMap;

use crate::checkpoint::Trends;
use crate::events::{Event, FailurePredicted};
use crate::num::{saturating_u64, signed_as_f64};

/// Fewer samples than this predict nothing.
pub const MIN_SAMPLES: usize = 4;
/// A fit below this r² is noise: it predicts nothing.
pub const MIN_R2: f64 = 0.9;
/// The GPU temperature a prediction warns of, in °C.
pub const GPU_TEMPERATURE_LIMIT_C: f64 = 85.0;
/// A repeat needs the projection to move at least this much.
const MIN_MOVE: Duration = Duration::minutes(5);

/// One metric projected past its threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    pub metric: &'static str,
    pub service: Option<String>,
    pub gpu_index: Option<u32>,
    pub fit: Fit,
    /// The value the projection starts from (now) and the threshold, in
    /// the metric's unit.
    pub current: f64,
    pub threshold: f64,
    pub projected_at: DateTime<Utc>,
    /// `restart_when_quiet`, `evict_lower_priority` or `investigate`.
    pub recommended: &'static str,
    /// The model to evict first, for `evict_lower_priority`.
    pub evict: Option<String>,
    pub reason: String,
    pub advice: String,
}

/// Where a projection starts: the metric's value and when it was measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct From {
    pub value: f64,
    pub at: DateTime<Utc>,
}

/// When a value rising at `fit.slope` from `from` reaches `threshold`:
/// only for a good rising fit over enough samples, a threshold not reached
/// yet, and a crossing after `now` and within `horizon` of it.
pub fn crossing(
    fit: &Fit,
    from: From,
    threshold: f64,
    now: DateTime<Utc>,
    horizon: std::time::Duration,
) -> Option<DateTime<Utc>> {
    let good = fit.samples >= MIN_SAMPLES && fit.r2 >= MIN_R2 && fit.slope > 0.0;
    if !good || from.value >= threshold {
        return None;
    }
    let secs = ((threshold - from.value) / fit.slope).round();
    // Seconds from `from.at` to the end of the horizon.
    let limit = signed_as_f64((now - from.at).num_seconds()) + horizon.as_secs_f64();
    if secs > limit {
        return None;
    }
    // Positive (the threshold is above and the slope rising); checked: a
    // horizon of centuries must not overflow the calendar.
    let secs = i64::try_from(saturating_u64(secs)).ok()?;
    let at = from.at.checked_add_signed(Duration::try_seconds(secs)?)?;
    (at > now).then_some(at)
}

/// A series whose last sample is older than the horizon says nothing
/// about now (the observer stopped reporting it).
pub fn fresh(last: DateTime<Utc>, now: DateTime<Utc>, horizon: std::time::Duration) -> bool {
    // A horizon too long for the calendar keeps every series.
    Duration::from_std(horizon).map_or(true, |h| now - last <= h)
}

/// Whether a projection `new` differs enough from the one last reported to
/// say it again: by more than 5 minutes, or by more than a tenth of the
/// time that was left when that is longer.
pub fn material(prev: Option<&Predicted>, new: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    let Some(p) = prev else { return true };
    let moved = (new - p.projected_at).abs();
    let left = (p.projected_at - now).max(Duration::zero());
    moved > MIN_MOVE.max(left / 10)
}

/// Samples this run's observations of one node into its services' states
/// (the views') and its GPUs' series, and returns the `failure_predicted`
/// events to report. With `predictive: false` it forgets every series of
/// the node instead.
pub fn node(ctx: &mut NodeCtx, gpus: &mut BTreeMap<String, Trends>) -> Vec<Event> {
    let node = ctx.node;
    if !node.settings.predictive {
        for v in &mut ctx.views {
            v.state.trends = Trends::default();
        }
        let prefix = format!("{}/", node.name);
        gpus.retain(|k, _| !k.starts_with(&prefix));
        return vec![];
    }
    // The series leave the views while the views are read.
    let mut series: Vec<Trends> = ctx
        .views
        .iter_mut()
        .map(|v| std::mem::take(&mut v.state.trends))
        .collect();
    let mut events = services(ctx, &mut series);
    events.extend(gpu_events(ctx, gpus));
    for (v, trends) in ctx.views.iter_mut().zip(series) {
        v.state.trends = trends;
    }
    events
}

/// A fit of a series that is not stale, and its last sample.
fn fitted(s: &[Sample], now: DateTime<Utc>, horizon: std::time::Duration) -> Option<(Fit, f64)> {
    let last = s.last().filter(|l| fresh(l.at, now, horizon))?;
    Some((fit(s)?, last.v))
}

/// Each service's samples and predictions; `series` runs beside the views.
fn services(ctx: &NodeCtx, series: &mut [Trends]) -> Vec<Event> {
    let node = ctx.node;
    let now = ctx.input.now;
    let horizon = node.settings.predict_horizon;
    let mut events = vec![];
    for (v, trends) in ctx.views.iter().zip(series.iter_mut()) {
        sample::service(trends, v, now, sample::spacing(&node.settings));
        let found = [MEMORY, GPU_MEMORY, PROBE_LATENCY].map(|m| {
            let (f, last) = fitted(trends.series.get(m)?, now, horizon)?;
            rules::service(ctx, v, m, f, last)
        });
        for (metric, p) in [MEMORY, GPU_MEMORY, PROBE_LATENCY].into_iter().zip(found) {
            events.extend(settle(trends, metric, p, now, &node.name));
        }
    }
    events
}

/// Each GPU's temperature sample and prediction.
fn gpu_events(ctx: &NodeCtx, gpus: &mut BTreeMap<String, Trends>) -> Vec<Event> {
    let node = ctx.node;
    let now = ctx.input.now;
    sample::gpus(ctx, gpus);
    let mut events = vec![];
    for index in ctx.resources.gpus.iter().map(|g| g.index) {
        let key = sample::gpu_key(&node.name, index);
        let Some(trends) = gpus.get_mut(&key) else {
            continue;
        };
        let p = trends
            .series
            .get(GPU_TEMPERATURE)
            .and_then(|s| fitted(s, now, node.settings.predict_horizon))
            .and_then(|(f, last)| rules::temperature(ctx, index, f, last));
        events.extend(settle(trends, GPU_TEMPERATURE, p, now, &node.name));
    }
    events
}

/// Keeps what `metric` predicts now in `trends` and returns the event when
/// it is news: a first prediction, or one that moved materially.
fn settle(
    trends: &mut Trends,
    metric: &str,
    p: Option<Prediction>,
    now: DateTime<Utc>,
    node: &str,
) -> Option<Event> {
    let Some(p) = p else {
        trends.predicted.remove(metric);
        return None;
    };
    if !material(trends.predicted.get(metric), p.projected_at, now) {
        return None;
    }
    trends.predicted.insert(
        metric.to_string(),
        Predicted {
            projected_at: p.projected_at,
            emitted_at: now,
            threshold: p.threshold,
            slope: p.fit.slope,
            recommended: p.recommended.to_string(),
        },
    );
    Some(p.event(node))
}

/// `x` rounded to `places` decimals: stable, readable numbers in events.
fn round(x: f64, places: i32) -> f64 {
    let k = 10f64.powi(places);
    (x * k).round() / k
}

impl Prediction {
    /// Bytes as an integer; milliseconds and °C to three decimals.
    fn number(&self, x: f64) -> serde_json::Number {
        match self.metric {
            MEMORY | GPU_MEMORY => saturating_u64(x.round()).into(),
            _ => serde_json::Number::from_f64(round(x, 3)).unwrap_or_else(|| 0.into()),
        }
    }

    pub fn event(&self, node: &str) -> Event {
        let body = FailurePredicted {
            advice: self.advice.clone(),
            current: self.number(self.current),
            evict: self.evict.clone(),
            gpu_index: self.gpu_index,
            metric: self.metric.into(),
            projected_at: ts(self.projected_at),
            r2: round(self.fit.r2, 4),
            reason: self.reason.clone(),
            recommended: self.recommended.into(),
            samples: self.fit.samples as u64,
            slope: round(self.fit.slope, 6),
            threshold: self.number(self.threshold),
        };
        Event::new(Some(node), self.service.as_deref(), body)
    }
}

mod rules;
#[cfg(test)]
mod tests;
