//! How `status` and `policies` show a service's activity (docs/reference/behaviour.md, "Activity"): where
//! it comes from, when it was last seen in use, or that it is unknown and
//! why (then it is never idle, unless the node says otherwise).
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::checkpoint::ServiceState;
use crate::desired::{ActivitySource, ServiceSpec};
use crate::run::format_ts;

/// Whether activity matters for this service: a model (idle eviction,
/// preload) or a service that declares `activity:`.
pub fn shown(svc: &ServiceSpec) -> bool {
    svc.is_model() || svc.activity.is_some()
}

/// Where its activity comes from, in words.
pub fn source(svc: &ServiceSpec) -> String {
    match &svc.activity {
        None | Some(ActivitySource::Connections) => {
            "world `last_activity`, else connections to its listening ports (sampled at each run, with the process's CPU use between runs; set `activity.metrics` where the server has metrics)".into()
        }
        Some(ActivitySource::Metrics {
            url,
            counter,
            gauge,
        }) => {
            let names: Vec<String> = [("counter", counter), ("gauge", gauge)]
                .iter()
                .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k} {v}")))
                .collect();
            let names = if names.is_empty() { "llama.cpp/vLLM defaults".to_string() } else { names.join(", ") };
            format!("world `last_activity`, else metrics {url} ({names}), else connections")
        }
    }
}

/// What the last run saw: `last used 3m ago`, `idle since …`, or
/// `activity unknown: why` (and what that means under the node's
/// `idle_without_activity`). `None` when no live probe has read it.
pub fn seen(
    st: &ServiceState,
    idle_without_activity: bool,
    rel: impl Fn(DateTime<Utc>) -> String,
) -> Option<String> {
    let a = &st.activity;
    if let Some(why) = &a.unknown {
        let means = if idle_without_activity {
            "idle from its last start (idle_without_activity)"
        } else {
            "never idle"
        };
        return Some(format!("activity unknown ({means}): {why}"));
    }
    let note = a
        .note
        .as_ref()
        .map(|n| format!(" ({n})"))
        .unwrap_or_default();
    match (a.seen_at, a.known_since) {
        (Some(s), Some(k)) if s >= k => Some(format!("last used {}{note}", rel(s))),
        (_, Some(k)) => Some(format!(
            "no use seen since activity became readable {}{note}",
            rel(k)
        )),
        _ => None,
    }
}

pub fn json(svc: &ServiceSpec, st: &ServiceState) -> Value {
    let a = &st.activity;
    json!({"source": source(svc), "last_used": a.seen_at.map(format_ts),
        "known_since": a.known_since.map(format_ts), "unknown": a.unknown, "note": a.note,
        "requests_total": a.counter})
}
