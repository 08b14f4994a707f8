//! Events: the JSONL records of docs/reference/events.md. An event is built without its
//! stamp (`ts`, `run_id`, `seq`) and stamped when it is written, so the
//! decision core never needs a clock or a sequence counter.
use serde_json::{Map, Value};

/// Every type of event this tool writes (docs/reference/events.md, and the
/// extensions in docs/decisions.md): the one list, used by the events
/// themselves, their readers (render, metrics, settle), the webhook
/// configuration check and the reference docs' test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventKind {
    RunStarted,
    HealthChanged,
    ObservationInvalid,
    DriftDetected,
    ReconcileRequired,
    ReconcileRecommended,
    ReconcileBlocked,
    ConflictResolved,
    ActionExecuted,
    ActionVerified,
    Decision,
    RunFinished,
    WebhookFailed,
    ConfigInsecure,
    IntentRecovered,
    ServiceRemoved,
    CircuitHalfOpen,
    ThrashDetected,
    OrphanDetected,
    ReplayScore,
    TuningChanged,
    FailurePredicted,
}

impl EventKind {
    pub const ALL: [EventKind; 22] = [
        EventKind::RunStarted,
        EventKind::HealthChanged,
        EventKind::ObservationInvalid,
        EventKind::DriftDetected,
        EventKind::ReconcileRequired,
        EventKind::ReconcileRecommended,
        EventKind::ReconcileBlocked,
        EventKind::ConflictResolved,
        EventKind::ActionExecuted,
        EventKind::ActionVerified,
        EventKind::Decision,
        EventKind::RunFinished,
        EventKind::WebhookFailed,
        EventKind::ConfigInsecure,
        EventKind::IntentRecovered,
        EventKind::ServiceRemoved,
        EventKind::CircuitHalfOpen,
        EventKind::ThrashDetected,
        EventKind::OrphanDetected,
        EventKind::ReplayScore,
        EventKind::TuningChanged,
        EventKind::FailurePredicted,
    ];

    /// The `type` field of its JSON line.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::RunStarted => "run_started",
            EventKind::HealthChanged => "health_changed",
            EventKind::ObservationInvalid => "observation_invalid",
            EventKind::DriftDetected => "drift_detected",
            EventKind::ReconcileRequired => "reconcile_required",
            EventKind::ReconcileRecommended => "reconcile_recommended",
            EventKind::ReconcileBlocked => "reconcile_blocked",
            EventKind::ConflictResolved => "conflict_resolved",
            EventKind::ActionExecuted => "action_executed",
            EventKind::ActionVerified => "action_verified",
            EventKind::Decision => "decision",
            EventKind::RunFinished => "run_finished",
            EventKind::WebhookFailed => "webhook_failed",
            EventKind::ConfigInsecure => "config_insecure",
            EventKind::IntentRecovered => "intent_recovered",
            EventKind::ServiceRemoved => "service_removed",
            EventKind::CircuitHalfOpen => "circuit_half_open",
            EventKind::ThrashDetected => "thrash_detected",
            EventKind::OrphanDetected => "orphan_detected",
            EventKind::ReplayScore => "replay_score",
            EventKind::TuningChanged => "tuning_changed",
            EventKind::FailurePredicted => "failure_predicted",
        }
    }

    /// The kind whose `type` is `name`.
    pub fn parse(name: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

/// The version of the event line format, written as `schema_version` on
/// every line (after the common fields) so that log pipelines can tell
/// formats apart. Version 1 was the lines without this field; a change
/// that renames or retypes a field raises it, a new optional field or a
/// new event type does not (docs/reference/events.md).
pub const SCHEMA_VERSION: u64 = 2;

#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub kind: EventKind,
    pub node: Option<String>,
    pub service: Option<String>,
    /// Type-specific fields (written after the common ones, sorted by name).
    pub fields: Map<String, Value>,
}

impl Event {
    pub fn new(kind: EventKind, node: Option<&str>, service: Option<&str>) -> Event {
        Event {
            kind,
            node: node.map(str::to_string),
            service: service.map(str::to_string),
            fields: Map::new(),
        }
    }

    /// Adds `key` only when `value` is there (an optional field is absent,
    /// not null).
    #[must_use]
    pub fn with_some(self, key: &str, value: Option<impl Into<Value>>) -> Event {
        match value {
            Some(v) => self.with(key, v),
            None => self,
        }
    }

    #[must_use]
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Event {
        self.fields.insert(key.to_string(), value.into());
        self
    }

    /// The event as one JSON line (with the trailing newline): common fields
    /// first in a fixed order (`ts`, `run_id`, `seq`, `type`, `node`,
    /// `service`, `schema_version`), then the rest sorted by name.
    pub fn to_line(&self, ts: &str, run_id: &str, seq: u64) -> String {
        let mut s = String::with_capacity(160 + self.fields.len() * 32);
        s.push_str("{\"ts\":");
        push_json(&mut s, &Value::from(ts));
        s.push_str(",\"run_id\":");
        push_json(&mut s, &Value::from(run_id));
        s.push_str(",\"seq\":");
        s.push_str(&seq.to_string());
        s.push_str(",\"type\":");
        push_json(&mut s, &Value::from(self.kind.as_str()));
        s.push_str(",\"node\":");
        push_json(
            &mut s,
            &self.node.as_deref().map_or(Value::Null, Value::from),
        );
        s.push_str(",\"service\":");
        push_json(
            &mut s,
            &self.service.as_deref().map_or(Value::Null, Value::from),
        );
        s.push_str(",\"schema_version\":");
        s.push_str(&SCHEMA_VERSION.to_string());
        for (k, v) in &self.fields {
            if matches!(
                k.as_str(),
                "ts" | "run_id" | "seq" | "type" | "node" | "service" | "schema_version"
            ) {
                continue;
            }
            s.push(',');
            push_json(&mut s, &Value::from(k.as_str()));
            s.push(':');
            push_json(&mut s, v);
        }
        s.push_str("}\n");
        s
    }
}

fn push_json(s: &mut String, v: &Value) {
    // Serializing a Value to a String cannot fail.
    s.push_str(&crate::text::json_escape_c1(
        &serde_json::to_string(v).unwrap_or_default(),
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_fields_come_first_and_lines_parse() {
        let e = Event::new(EventKind::DriftDetected, Some("n1"), None)
            .with("detail", "a \"quoted\"\nline")
            .with("condition", "idle");
        let line = e.to_line("2026-11-23T12:00:00Z", "abc", 7);
        assert!(line.starts_with("{\"ts\":\"2026-11-23T12:00:00Z\",\"run_id\":\"abc\",\"seq\":7,\"type\":\"drift_detected\",\"node\":\"n1\",\"service\":null,\"schema_version\":2,\"condition\""));
        assert!(line.ends_with("}\n") && line.matches('\n').count() == 1);
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["detail"], "a \"quoted\"\nline");
    }
}
