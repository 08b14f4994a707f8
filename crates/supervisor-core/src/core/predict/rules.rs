//! What each metric is projected against, and what to recommend.
use super::super::view::View;
use super::super::NodeCtx;
use super::GPU_TEMPERATURE_LIMIT_C;
use super::{crossing, Fit, From, Prediction};
use super::{GPU_MEMORY, GPU_TEMPERATURE, MEMORY, PROBE_LATENCY};
use crate::num::as_f64;
use crate::world::Obs;

const MIB: f64 = 1024.0 * 1024.0;

/// A service's metric: its memory against the node's `memory_pressure`
/// (the node's used memory, when it was measured, growing at the service's
/// rate), its GPU memory against its GPU's `gpu_pressure`, its probe
/// latency (the fitted line now) against the check's timeout.
pub fn service(
    ctx: &NodeCtx,
    v: &View,
    metric: &'static str,
    fit: Fit,
    last: f64,
) -> Option<Prediction> {
    let now = ctx.input.now;
    let settings = &ctx.node.settings;
    let horizon = settings.predict_horizon;
    let name = v.name();
    let (current, threshold, gpu_index) = match metric {
        MEMORY => {
            let (total, used) = ctx.resources.memory.filter(|m| m.0 > 0)?;
            (as_f64(used), settings.memory_pressure * as_f64(total), None)
        }
        GPU_MEMORY => {
            let gpus = &ctx.resources.gpus;
            let g = match v.gpu_index() {
                Some(i) => gpus.iter().find(|g| g.index == i)?,
                None if gpus.len() == 1 => &gpus[0],
                None => return None,
            };
            let total = as_f64(g.total_bytes);
            (total > 0.0).then_some(())?;
            (
                as_f64(g.used_bytes),
                settings.gpu_pressure * total,
                Some(g.index),
            )
        }
        PROBE_LATENCY => {
            let timeout = v.spec.health.timeout.as_secs_f64() * 1000.0;
            (fit.at(now).max(last), timeout, None)
        }
        _ => return None,
    };
    let at = match metric {
        PROBE_LATENCY => now,
        _ => measured_at(ctx),
    };
    let from = From { value: current, at };
    let projected_at = crossing(&fit, from, threshold, now, horizon)?;
    let (recommended, evict, advice) = recommend(ctx, v, metric, gpu_index);
    let (what, rate, of) = match metric {
        MEMORY => (
            format!("node memory to reach {}", pct(settings.memory_pressure)),
            format!("{:.2} MiB/s", fit.slope / MIB),
            "memory",
        ),
        GPU_MEMORY => (
            format!(
                "gpu {} memory to reach {}",
                gpu_index.unwrap_or_default(),
                pct(settings.gpu_pressure)
            ),
            format!("{:.2} MiB/s", fit.slope / MIB),
            "GPU memory",
        ),
        _ => (
            format!("its health probe to take its timeout ({threshold:.0} ms)"),
            format!("{:.3} ms/s", fit.slope),
            "probe latency",
        ),
    };
    let reason = format!(
        "`{name}`'s {of} grows {rate} (r² {:.3} over {} samples): {what} at {}",
        fit.r2,
        fit.samples,
        super::super::availability::ts(projected_at)
    );
    Some(Prediction {
        metric,
        service: Some(name.to_string()),
        gpu_index,
        fit,
        current,
        threshold,
        projected_at,
        recommended,
        evict,
        reason,
        advice,
    })
}

/// A GPU's temperature (the fitted line now, or the last sample if that
/// is higher) against [`GPU_TEMPERATURE_LIMIT_C`].
pub fn temperature(ctx: &NodeCtx, index: u32, fit: Fit, last: f64) -> Option<Prediction> {
    let now = ctx.input.now;
    let horizon = ctx.node.settings.predict_horizon;
    let threshold = GPU_TEMPERATURE_LIMIT_C;
    let from = From {
        value: fit.at(now).max(last),
        at: now,
    };
    let projected_at = crossing(&fit, from, threshold, now, horizon)?;
    Some(Prediction {
        metric: GPU_TEMPERATURE,
        service: None,
        gpu_index: Some(index),
        fit,
        current: from.value,
        threshold,
        projected_at,
        recommended: "investigate",
        evict: None,
        reason: format!(
            "gpu {index} warms {:.4} °C/s (r² {:.3} over {} samples): {threshold:.0} °C at {}",
            fit.slope,
            fit.r2,
            fit.samples,
            super::super::availability::ts(projected_at)
        ),
        advice: "check its cooling and load before it throttles".into(),
    })
}

/// Evict a lower-priority model first when one holds the same resource;
/// else restart the service during the next quiet period when this tool can
/// restart it; else find out why.
fn recommend(
    ctx: &NodeCtx,
    v: &View,
    metric: &str,
    gpu: Option<u32>,
) -> (&'static str, Option<String>, String) {
    let holds = |o: &View| match metric {
        MEMORY => o.memory() > 0,
        GPU_MEMORY => o.gpu_memory() > 0 && (o.gpu_index().is_none() || o.gpu_index() == gpu),
        _ => false,
    };
    let mut lower: Vec<&View> = ctx
        .views
        .iter()
        .filter(|o| o.name() != v.name() && o.spec.is_model() && !o.pinned)
        .filter(|o| o.health().is_running() && o.spec.priority < v.spec.priority && holds(o))
        .collect();
    lower.sort_by(|a, b| {
        (a.spec.priority, a.activity(), a.name()).cmp(&(b.spec.priority, b.activity(), b.name()))
    });
    if let Some(o) = lower.first() {
        let advice = format!(
            "evict `{}` (priority {}) first to make room",
            o.name(),
            o.spec.priority
        );
        return ("evict_lower_priority", Some(o.name().to_string()), advice);
    }
    if v.spec.start.is_some() {
        let advice = format!("restart `{}` during the next quiet period", v.name());
        return ("restart_when_quiet", None, advice);
    }
    let advice = format!(
        "find out why `{}` grows: this tool cannot restart it",
        v.name()
    );
    ("investigate", None, advice)
}

/// When the node's resources (`ctx.resources`) were measured: now by the
/// live probes, else at the resource record's `observed_at`.
pub(super) fn measured_at(ctx: &NodeCtx) -> chrono::DateTime<chrono::Utc> {
    let node = &ctx.node.name;
    let live = ctx
        .input
        .live
        .get(node)
        .is_some_and(|l| l.memory.is_some() || !l.gpus.is_empty());
    let record = ctx.input.world.resources.get(node).and_then(Obs::valid);
    match record {
        Some(r) if !live => r.observed_at.min(ctx.input.now),
        _ => ctx.input.now,
    }
}

fn pct(r: f64) -> String {
    format!("{:.1}%", r * 100.0)
}
