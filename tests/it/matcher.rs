//! The expectation language of `world-fixtures/*/expect.json`: a matcher is
//! a partial event (see `world-fixtures/README.md`), plus the invariants
//! every run's event stream must keep whatever the case. Pure functions, so
//! they are tested here without the binary.
use serde_json::{Map, Value};

/// Whether `pattern` matches `actual`: objects as subsets (recursively),
/// arrays as "each pattern element matches some actual element", numbers by
/// value, `{"$ends_with": s}` as a string suffix, everything else by
/// equality. A field missing from `actual` never matches, not even `null`.
pub fn matches(pattern: &Value, actual: &Value) -> bool {
    match pattern {
        Value::Object(p) => {
            if let Some(suffix) = ends_with(p) {
                return actual.as_str().is_some_and(|s| s.ends_with(suffix));
            }
            let Some(a) = actual.as_object() else {
                return false;
            };
            p.iter()
                .all(|(k, pv)| a.get(k).is_some_and(|av| matches(pv, av)))
        }
        Value::Array(p) => {
            let Some(a) = actual.as_array() else {
                return false;
            };
            p.iter().all(|pv| a.iter().any(|av| matches(pv, av)))
        }
        Value::Number(p) => actual
            .as_number()
            .is_some_and(|a| a == p || (a.as_f64().is_some() && a.as_f64() == p.as_f64())),
        _ => pattern == actual,
    }
}

fn ends_with(p: &Map<String, Value>) -> Option<&str> {
    match (p.len(), p.get("$ends_with")) {
        (1, Some(Value::String(s))) => Some(s),
        _ => None,
    }
}

/// An event shortened for messages: no `ts`/`run_id`, and a decision record
/// reduced to its planned actions.
pub fn brief(event: &Value) -> String {
    let mut e = event.clone();
    if let Some(obj) = e.as_object_mut() {
        obj.remove("ts");
        obj.remove("run_id");
        if obj.get("type").and_then(Value::as_str) == Some("decision") {
            obj.retain(|k, _| {
                matches!(k.as_str(), "seq" | "type" | "node" | "service" | "actions")
            });
        }
    }
    e.to_string()
}

/// Problems with the event stream that no run may have: `run_started`
/// first, `run_finished` last, `seq` without gaps, the common fields on every
/// event, every `ts` equal to the `--now` instant, and (for `check`) no
/// `action_executed`.
pub fn invariants(events: &[Value], now: &str, is_check: bool) -> Vec<String> {
    let mut problems = Vec::new();
    let type_of = |e: &Value| {
        e.get("type")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    match (events.first(), events.last()) {
        (Some(first), Some(last)) => {
            if type_of(first) != "run_started" {
                problems.push(format!(
                    "the first event is not run_started: {}",
                    brief(first)
                ));
            }
            if type_of(last) != "run_finished" {
                problems.push(format!(
                    "the last event is not run_finished: {}",
                    brief(last)
                ));
            }
        }
        _ => problems.push("no events on stdout".to_string()),
    }
    let now_instant = chrono::DateTime::parse_from_rfc3339(now).ok();
    let mut previous: Option<u64> = None;
    for event in events {
        for field in ["ts", "run_id", "seq", "type", "node", "service"] {
            if event.get(field).is_none() {
                problems.push(format!("event without `{field}`: {}", brief(event)));
            }
        }
        if let Some(seq) = event.get("seq").and_then(Value::as_u64) {
            if let Some(p) = previous.filter(|p| seq != p + 1) {
                problems.push(format!("seq {seq} follows {p}: {}", brief(event)));
            }
            previous = Some(seq);
        }
        if let Some(ts) = event.get("ts").and_then(Value::as_str) {
            let same = chrono::DateTime::parse_from_rfc3339(ts).ok() == now_instant;
            if !same || !ts.ends_with('Z') {
                problems.push(format!("ts {ts} is not the --now instant {now} in UTC"));
            }
        }
        if is_check && type_of(event) == "action_executed" {
            problems.push(format!("check emitted action_executed: {}", brief(event)));
        }
    }
    problems.dedup();
    problems
}

/// stdout with every `"duration_ms": <number>` blanked to `null`, text
/// otherwise untouched, so that two runs compare byte for byte (key order
/// included) apart from timings.
pub fn without_durations(text: &str) -> String {
    const KEY: &str = "\"duration_ms\"";
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(KEY) {
        let after_key = at + KEY.len();
        out.push_str(&rest[..after_key]);
        rest = &rest[after_key..];
        let colon = rest.len() - rest.trim_start().len();
        if rest[colon..].starts_with(':') {
            let value_start =
                colon + 1 + (rest[colon + 1..].len() - rest[colon + 1..].trim_start().len());
            let value_len = rest[value_start..]
                .find(|c: char| !(c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E')))
                .unwrap_or(rest.len() - value_start);
            if value_len > 0 {
                out.push_str(&rest[..value_start]);
                out.push_str("null");
                rest = &rest[value_start + value_len..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn objects_match_as_subsets_recursively() {
        let event = json!({"type": "conflict_resolved", "node": "n1", "service": "x",
            "winner": {"policy": "pinned", "action": "keep"}, "loser": {"policy": "idle_eviction", "action": "evict"}});
        assert!(matches(
            &json!({"type": "conflict_resolved", "winner": {"policy": "pinned"}}),
            &event
        ));
        assert!(!matches(&json!({"winner": {"policy": "safety"}}), &event));
        assert!(
            !matches(&json!({"reason": null}), &event),
            "a missing field is not null"
        );
        assert!(matches(&json!({}), &event));
    }

    #[test]
    fn null_numbers_arrays_and_suffixes() {
        let event = json!({"service": null, "seq": 41, "path": "/tmp/s/checkpoint.json",
            "actions": [{"service": "a", "action": "restart"}, {"service": "b", "action": "evict"}]});
        assert!(matches(&json!({"service": null}), &event));
        assert!(!matches(&json!({"service": "a"}), &event));
        assert!(matches(&json!({"seq": 41.0}), &event));
        assert!(!matches(&json!({"seq": 42}), &event));
        assert!(matches(
            &json!({"path": {"$ends_with": "checkpoint.json"}}),
            &event
        ));
        assert!(!matches(
            &json!({"path": {"$ends_with": "events.jsonl"}}),
            &event
        ));
        assert!(matches(
            &json!({"actions": [{"service": "b"}, {"action": "restart"}]}),
            &event
        ));
        assert!(!matches(&json!({"actions": [{"service": "c"}]}), &event));
    }

    #[test]
    fn durations_are_blanked_and_nothing_else() {
        let a = "{\"type\":\"run_finished\",\"duration_ms\":12,\"x\":{\"duration_ms\": 3.5}}\n";
        let b = "{\"type\":\"run_finished\",\"duration_ms\":999,\"x\":{\"duration_ms\": 0}}\n";
        assert_eq!(without_durations(a), without_durations(b));
        assert_eq!(
            without_durations(a),
            "{\"type\":\"run_finished\",\"duration_ms\":null,\"x\":{\"duration_ms\": null}}\n"
        );
        let c = "{\"duration_ms\":null,\"seq\":1}";
        assert_eq!(without_durations(c), c);
        assert_ne!(
            without_durations("{\"seq\":1}"),
            without_durations("{\"seq\":2}")
        );
    }

    #[test]
    fn invariants_catch_gaps_and_foreign_timestamps() {
        let now = "2026-11-23T12:00:00Z";
        let ev = |seq: u64, ty: &str, ts: &str| json!({"ts": ts, "run_id": "r", "seq": seq, "type": ty, "node": null, "service": null});
        let good = [ev(1, "run_started", now), ev(2, "run_finished", now)];
        assert!(invariants(&good, now, true).is_empty());
        let bad = [
            ev(1, "run_started", now),
            ev(3, "action_executed", "2026-11-23T13:00:00+01:00"),
        ];
        let problems = invariants(&bad, now, true);
        assert_eq!(problems.len(), 4, "{problems:#?}");
    }
}
