//! How `status` and `policies` show a service's activity (SPEC §13): where
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
            "world `last_activity`, else connections to its listening ports".into()
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
            let names = match names.is_empty() {
                true => "llama.cpp/vLLM defaults".to_string(),
                false => names.join(", "),
            };
            format!("world `last_activity`, else metrics {url} ({names}), else connections")
        }
    }
}

/// What the last run saw: `last used 3m ago`, `idle since …`, or
/// `activity unknown: why`. `None` when no live probe has read it.
pub fn seen(st: &ServiceState, rel: impl Fn(DateTime<Utc>) -> String) -> Option<String> {
    let a = &st.activity;
    if let Some(why) = &a.unknown {
        return Some(format!("activity unknown (never idle): {why}"));
    }
    match (a.seen_at, a.known_since) {
        (Some(s), Some(k)) if s >= k => Some(format!("last used {}", rel(s))),
        (_, Some(k)) => Some(format!("not used since activity became known {}", rel(k))),
        _ => None,
    }
}

pub fn json(svc: &ServiceSpec, st: &ServiceState) -> Value {
    let a = &st.activity;
    json!({"source": source(svc), "last_used": a.seen_at.map(format_ts),
        "known_since": a.known_since.map(format_ts), "unknown": a.unknown,
        "requests_total": a.counter})
}
