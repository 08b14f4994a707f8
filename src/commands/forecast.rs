//! `forecast`: each model's demand forecast — an EWMA of its request rate
//! between world records, kept in the checkpoint — and its trend, which is
//! what resource optimization preloads on; beside it, the failures the
//! last run predicted (`failure_predicted`) for it, for other services and
//! for GPUs.
use crate::exit::Exit;
use std::fmt::Write;
use std::path::Path;

use anyhow::Result;
use serde_json::{json, Value};

use crate::checkpoint::{key, Trends};
use crate::desired::Fleet;
use crate::run::format_ts;

pub fn run(fleet: &Fleet, dir: &Path, json_out: bool) -> Result<Exit> {
    let cp = crate::checkpoint::read_for_command(dir)?.unwrap_or_default();
    let mut out = String::new();
    for node in fleet.nodes.values() {
        for svc in node.services.values() {
            let st = cp.services.get(&key(&node.name, &svc.name));
            let predicted = st.map(|s| &s.trends).filter(|t| !t.predicted.is_empty());
            if !svc.is_model() && predicted.is_none() {
                continue;
            }
            let demand = st.and_then(|s| s.demand.as_ref());
            let trend = match demand {
                None => "no data",
                Some(d) if d.rate > d.prev_rate => "rising",
                Some(d) if d.rate < d.prev_rate => "falling",
                Some(_) => "flat",
            };
            let health = st.map_or("unknown", |s| s.health.as_str());
            if json_out {
                let v = json!({"node": node.name, "service": svc.name, "health": health, "trend": trend,
                    "rate_per_s": demand.map(|d| d.rate), "previous_rate_per_s": demand.map(|d| d.prev_rate),
                    "requests_total": demand.map(|d| d.requests_total), "at": demand.map(|d| format_ts(d.at)),
                    "predictions": predictions(predicted)});
                let _ = writeln!(out, "{v}");
            } else {
                let rate = demand
                    // The counter's unit: requests, or tokens for llama.cpp.
                    .map(|d| format!("{:.3}/s (was {:.3})", d.rate, d.prev_rate))
                    .unwrap_or_default();
                let _ = writeln!(
                    out,
                    "{:<14} {:<24} {:<9} {:<8} {rate}{}",
                    node.name,
                    svc.name,
                    health,
                    trend,
                    human(predicted)
                );
            }
        }
        let prefix = format!("{}/", node.name);
        for (k, t) in cp.gpus.iter().filter(|(_, t)| !t.predicted.is_empty()) {
            let Some(index) = k.strip_prefix(&prefix) else {
                continue;
            };
            if json_out {
                let v = json!({"node": node.name, "gpu_index": index.parse::<u32>().ok(),
                    "predictions": predictions(Some(t))});
                let _ = writeln!(out, "{v}");
            } else {
                let gpu = format!("gpu {index}");
                let _ = writeln!(
                    out,
                    "{:<14} {gpu:<24} {:<9} {:<8} {}",
                    node.name,
                    "",
                    "",
                    human(Some(t)).trim_start()
                );
            }
        }
    }
    if out.is_empty() && !json_out {
        // Say why there is nothing, rather than nothing.
        out.push_str("no models and no predictions: nothing to forecast (`kind: model` services and predicted trends are listed here)\n");
    }
    super::stdout::write(&out)?;
    Ok(Exit::Ok)
}

/// The predictions that hold, as JSON (`metric`, `projected_at`,
/// `threshold`, `slope` per second, `recommended`).
fn predictions(t: Option<&Trends>) -> Value {
    t.map_or_else(Vec::new, |t| {
        t.predicted
            .iter()
            .map(|(metric, p)| {
                // Bytes as integers, like the event.
                let threshold = match metric.as_str() {
                    "memory" | "gpu_memory" => {
                        json!(crate::num::saturating_u64(p.threshold.round()))
                    }
                    _ => json!(p.threshold),
                };
                json!({"metric": metric, "projected_at": format_ts(p.projected_at),
                       "threshold": threshold, "slope": p.slope, "recommended": p.recommended})
            })
            .collect()
    })
    .into()
}

/// `  predicted: memory at <time> (restart_when_quiet)`, or nothing.
fn human(t: Option<&Trends>) -> String {
    let Some(t) = t.filter(|t| !t.predicted.is_empty()) else {
        return String::new();
    };
    let list: Vec<String> = t
        .predicted
        .iter()
        .map(|(m, p)| format!("{m} at {} ({})", format_ts(p.projected_at), p.recommended))
        .collect();
    format!("  predicted: {}", list.join(", "))
}
