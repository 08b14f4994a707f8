//! Taking this run's samples: what the live probes measured now, else what
//! the world records say (at their `observed_at`). A record read again in a
//! later run adds nothing: a series only takes a sample at least a probe
//! period newer than its last ([`spacing`]).
use chrono::{DateTime, Utc};

use super::super::view::View;
use super::super::NodeCtx;
use crate::checkpoint::trends::Spacing;
use std::collections::BTreeMap;

use crate::checkpoint::Trends;
use crate::desired::Settings;
use crate::num::as_f64;

pub const MEMORY: &str = "memory";
pub const GPU_MEMORY: &str = "gpu_memory";
pub const PROBE_LATENCY: &str = "probe_latency";
pub const GPU_TEMPERATURE: &str = "gpu_temperature";

/// How series are spaced (docs/reference/behaviour.md, "Probe period"): a sample per probe period at most, as
/// fast as samples arrive, over the prediction horizon; past
/// [`crate::checkpoint::trends::MAX_SAMPLES`] older samples merge, so a
/// full series still spans the horizon.
pub fn spacing(settings: &Settings) -> Spacing {
    let d = |d: std::time::Duration| chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX);
    Spacing {
        min_gap: d(settings.probe_period),
        span: d(settings.predict_horizon),
    }
}

/// Adds a service's memory, GPU memory and probe latency samples to
/// `trends`, after dropping samples of a process this tool replaced since.
pub fn service(trends: &mut Trends, v: &View, now: DateTime<Utc>, gap: Spacing) {
    trends.keep_between(v.state.started_at, now);
    let rec = v.record;
    // A record stamped ahead of `now` (the observer's clock) waits.
    let rec_at = rec.map(|r| r.observed_at).filter(|at| *at <= now);
    let take = |live: Option<f64>, world: Option<f64>| match (live, world, rec_at) {
        (Some(x), _, _) => Some((now, x)),
        (None, Some(x), Some(at)) => Some((at, x)),
        _ => None,
    };
    let live = v.live;
    let memory = take(
        live.and_then(|l| l.memory_bytes).map(as_f64),
        rec.and_then(|r| r.memory_bytes).map(as_f64),
    );
    let gpu = take(
        live.and_then(|l| l.gpu_memory_bytes).map(as_f64),
        rec.and_then(|r| r.gpu_memory_bytes).map(as_f64),
    );
    let latency = take(
        live.and_then(|l| l.probe_latency_ms),
        rec.and_then(|r| r.probe_latency_ms),
    );
    for (metric, sample) in [
        (MEMORY, memory),
        (GPU_MEMORY, gpu),
        (PROBE_LATENCY, latency),
    ] {
        if let Some((at, x)) = sample {
            trends.push(metric, at, x, gap);
        }
    }
}

/// Adds each GPU's temperature sample (this run's GPU readings: the live
/// probe's now, else the node's resource record at its `observed_at`) to
/// `gpus` (the checkpoint's); forgets GPUs that readings listing GPUs no
/// longer list.
pub fn gpus(ctx: &NodeCtx, gpus: &mut BTreeMap<String, Trends>) {
    let now = ctx.input.now;
    let node = &ctx.node.name;
    let readings = &ctx.resources.gpus;
    if readings.is_empty() {
        return;
    }
    let at = super::rules::measured_at(ctx);
    let prefix = format!("{node}/");
    gpus.retain(|k, _| {
        k.strip_prefix(&prefix)
            .is_none_or(|i| readings.iter().any(|g| g.index.to_string() == i))
    });
    for g in readings {
        let trends = gpus.entry(gpu_key(node, g.index)).or_default();
        trends.keep_between(None, now);
        if let Some(t) = g.temperature_c {
            trends.push(GPU_TEMPERATURE, at, t, spacing(&ctx.node.settings));
        }
    }
    gpus.retain(|_, t| !t.is_empty());
}

pub fn gpu_key(node: &str, index: u32) -> String {
    format!("{node}/{index}")
}
