//! `forecast`: each model's demand forecast — an EWMA of its request rate
//! between world records, kept in the checkpoint — and its trend, which is
//! what resource optimization preloads on.
use std::fmt::Write;
use std::path::Path;

use anyhow::Result;
use serde_json::json;

use crate::checkpoint::key;
use crate::desired::Fleet;
use crate::run::format_ts;

pub fn run(fleet: &Fleet, dir: &Path, json_out: bool) -> Result<i32> {
    let cp = crate::checkpoint::read_for_command(dir)?.unwrap_or_default();
    let mut out = String::new();
    for node in fleet.nodes.values() {
        for svc in node.services.values().filter(|s| s.is_model()) {
            let st = cp.services.get(&key(&node.name, &svc.name));
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
                    "requests_total": demand.map(|d| d.requests_total), "at": demand.map(|d| format_ts(d.at))});
                let _ = writeln!(out, "{v}");
            } else {
                let rate = demand
                    .map(|d| format!("{:.3} req/s (was {:.3})", d.rate, d.prev_rate))
                    .unwrap_or_default();
                let _ = writeln!(
                    out,
                    "{:<14} {:<24} {:<9} {:<8} {rate}",
                    node.name, svc.name, health, trend
                );
            }
        }
    }
    super::stdout::write(&out)?;
    Ok(0)
}
