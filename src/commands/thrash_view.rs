//! `policies`' view of the thrash rule (docs/reference/behaviour.md, "Thrash", `core::thrash`): the rule
//! in words and, from the checkpoint, each service whose effective idle
//! timeout is raised now, with its multiplier.
use std::time::Duration;

use serde_json::{json, Value};

use crate::checkpoint::{key, Checkpoint};
use crate::core::thrash::{multiplier, CYCLES, MAX_MULTIPLIER, WINDOW};
use crate::desired::NodeSpec;
use crate::fmt::duration;

/// The rule, as `policies` words it.
pub fn rule() -> String {
    format!(
        "a model evicted and started again within its idle timeout {CYCLES} times in {} gets its idle timeout doubled ({MAX_MULTIPLIER}× at most) until it stays loaded a full idle timeout",
        if WINDOW == chrono::Duration::hours(1) {
            "an hour".to_string()
        } else {
            format!("{}m", WINDOW.num_minutes())
        }
    )
}

/// One service with a raised idle timeout.
struct Raised<'a> {
    service: &'a str,
    multiplier: u32,
    declared: Duration,
}

fn raised<'a>(node: &'a NodeSpec, cp: Option<&Checkpoint>) -> Vec<Raised<'a>> {
    let Some(cp) = cp else { return vec![] };
    node.services
        .values()
        .filter_map(|svc| {
            let st = cp.services.get(&key(&node.name, &svc.name))?;
            let m = multiplier(st);
            (m > 1).then_some(Raised {
                service: &svc.name,
                multiplier: m,
                declared: svc.idle_timeout,
            })
        })
        .collect()
}

/// `policies --output json`: `"thrash": {rule, cycles, window, max_multiplier, raised}`.
pub fn json(node: &NodeSpec, cp: Option<&Checkpoint>) -> Value {
    let raised: Vec<Value> = raised(node, cp)
        .iter()
        .map(|r| {
            json!({"service": r.service, "multiplier": r.multiplier,
                "idle_timeout": duration(r.declared),
                "effective_idle_timeout": duration(r.declared.saturating_mul(r.multiplier))})
        })
        .collect();
    let window = duration(WINDOW.to_std().unwrap_or_default());
    json!({"rule": rule(), "cycles": CYCLES, "window": window,
        "max_multiplier": MAX_MULTIPLIER, "raised": raised})
}

/// `policies`: the rule, then one line per raised service.
pub fn human(node: &NodeSpec, cp: Option<&Checkpoint>) -> Vec<String> {
    let mut lines = vec![format!("  thrash              {}", rule())];
    for r in raised(node, cp) {
        lines.push(format!(
            "  thrash {:<12} idle timeout {} ({}× the declared {})",
            r.service,
            duration(r.declared.saturating_mul(r.multiplier)),
            r.multiplier,
            duration(r.declared)
        ));
    }
    lines
}
