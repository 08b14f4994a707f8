//! Events: the JSONL records of docs/reference/events.md. An event is built without its
//! stamp (`ts`, `run_id`, `seq`) and stamped when it is written, so the
//! decision core never needs a clock or a sequence counter.
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

mod body;
pub use body::*;

/// The one list of event types: the `type`s of docs/reference/events.md
/// (and the extensions in docs/decisions.md), each with its body, the
/// struct of its fields (named as the type unless given). It makes
/// [`EventKind`], its `ALL`, the [`Body`] enum, `Body::kind` and a `From`
/// of each type's own struct into its body.
macro_rules! event_types {
    ($($kind:ident $(($body:ident))?),* $(,)?) => {
        /// Every type of event this tool writes: used by the events
        /// themselves, their readers (render, metrics, settle), the webhook
        /// configuration check and the reference docs' test.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum EventKind {
            $($kind,)*
        }

        impl EventKind {
            pub const ALL: [EventKind; event_types!(@count $($kind)*)] = [$(EventKind::$kind,)*];
        }

        /// The fields after the common ones, by type: the `type` tag is
        /// the variant's name in snake case.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(tag = "type", rename_all = "snake_case")]
        pub enum Body {
            $($kind(event_types!(@body $kind $($body)?)),)*
        }

        impl Body {
            /// Its `type`.
            pub fn kind(&self) -> EventKind {
                match self {
                    $(Body::$kind(_) => EventKind::$kind,)*
                }
            }
        }

        $(event_types!(@from $kind $($body)?);)*
    };
    (@body $kind:ident) => { $kind };
    (@body $kind:ident $body:ident) => { $body };
    // A body shared by several types (`Reconcile`) has no `From`: which
    // type it is, is said by the variant.
    (@from $kind:ident) => {
        impl From<$kind> for Body {
            fn from(b: $kind) -> Body {
                Body::$kind(b)
            }
        }
    };
    (@from $kind:ident $body:ident) => {};
    (@count) => { 0 };
    (@count $first:ident $($rest:ident)*) => { 1 + event_types!(@count $($rest)*) };
}

event_types!(
    RunStarted,
    HealthChanged,
    ObservationInvalid,
    DriftDetected,
    ReconcileRequired(Reconcile),
    ReconcileRecommended(Reconcile),
    ReconcileBlocked(Reconcile),
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
);

impl EventKind {
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

/// An event before it is stamped: who it is about and its typed body.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub node: Option<String>,
    pub service: Option<String>,
    pub body: Body,
}

impl Event {
    pub fn new(node: Option<&str>, service: Option<&str>, body: impl Into<Body>) -> Event {
        Event {
            node: node.map(str::to_string),
            service: service.map(str::to_string),
            body: body.into(),
        }
    }

    pub fn kind(&self) -> EventKind {
        self.body.kind()
    }

    /// The body's fields as JSON, as the line has them (without `type`).
    pub fn fields(&self) -> Map<String, Value> {
        // A body is plain data: serializing it cannot fail.
        let mut fields = match serde_json::to_value(&self.body) {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        };
        fields.remove("type");
        fields
    }

    /// The event as one JSON line (with the trailing newline): common fields
    /// first in a fixed order (`ts`, `run_id`, `seq`, `type`, `node`,
    /// `service`, `schema_version`), then the body's sorted by name.
    pub fn to_line(&self, ts: &str, run_id: &str, seq: u64) -> String {
        let fields = self.fields();
        let mut s = String::with_capacity(160 + fields.len() * 32);
        s.push_str("{\"ts\":");
        push_json(&mut s, &Value::from(ts));
        s.push_str(",\"run_id\":");
        push_json(&mut s, &Value::from(run_id));
        s.push_str(",\"seq\":");
        s.push_str(&seq.to_string());
        s.push_str(",\"type\":");
        push_json(&mut s, &Value::from(self.kind().as_str()));
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
        for (k, v) in &fields {
            s.push(',');
            push_json(&mut s, &Value::from(k.as_str()));
            s.push(':');
            push_json(&mut s, v);
        }
        s.push_str("}\n");
        s
    }
}

/// An event as read back from a line: its stamp and the event.
#[derive(Debug, Clone, PartialEq)]
pub struct Stamped {
    pub ts: String,
    pub run_id: String,
    pub seq: u64,
    pub event: Event,
}

/// The common fields of a line, whatever its type (None: absent, or not
/// of the field's type).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Common {
    #[serde(deserialize_with = "lenient")]
    pub ts: Option<String>,
    #[serde(deserialize_with = "lenient")]
    pub run_id: Option<String>,
    #[serde(deserialize_with = "lenient")]
    pub seq: Option<u64>,
    #[serde(rename = "type", deserialize_with = "lenient")]
    pub kind: Option<String>,
    #[serde(deserialize_with = "lenient")]
    pub node: Option<String>,
    #[serde(deserialize_with = "lenient")]
    pub service: Option<String>,
}

impl Common {
    /// None for a line that is not a JSON object.
    pub fn parse(line: &str) -> Option<Common> {
        serde_json::from_str(line).ok()
    }

    /// As [`Common::parse`], from a line already parsed.
    pub fn from_value(v: &Value) -> Option<Common> {
        Common::deserialize(v).ok()
    }
}

/// A field as `T`, or None when it is of another type.
fn lenient<'de, D: serde::Deserializer<'de>, T: serde::de::DeserializeOwned>(
    d: D,
) -> Result<Option<T>, D::Error> {
    Ok(serde_json::from_value(Value::deserialize(d)?).ok())
}

#[derive(Deserialize)]
struct Line {
    #[serde(default)]
    ts: String,
    #[serde(default)]
    run_id: String,
    #[serde(default)]
    seq: u64,
    #[serde(default)]
    node: Option<String>,
    #[serde(default)]
    service: Option<String>,
    #[serde(flatten)]
    body: Body,
}

impl Stamped {
    /// The event of a line; None for a line that is not one of the types
    /// this version knows, or not one at all (a reader passes over it, as
    /// docs/reference/events.md asks of every consumer).
    pub fn parse(line: &str) -> Option<Stamped> {
        serde_json::from_str::<Line>(line).ok().map(Stamped::from)
    }

    /// As [`Stamped::parse`], from a line already parsed.
    pub fn from_value(v: Value) -> Option<Stamped> {
        Stamped::try_from_value(v).ok()
    }

    /// As [`Stamped::from_value`], with why a line is not an event.
    pub fn try_from_value(v: Value) -> Result<Stamped, String> {
        serde_json::from_value::<Line>(v)
            .map(Stamped::from)
            .map_err(|e| e.to_string())
    }
}

impl From<Line> for Stamped {
    fn from(l: Line) -> Stamped {
        Stamped {
            ts: l.ts,
            run_id: l.run_id,
            seq: l.seq,
            event: Event {
                node: l.node,
                service: l.service,
                body: l.body,
            },
        }
    }
}

impl std::ops::Deref for Stamped {
    type Target = Event;
    fn deref(&self) -> &Event {
        &self.event
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
        let e = Event::new(
            Some("n1"),
            None,
            DriftDetected {
                condition: crate::core::Condition::Idle,
                detail: "a \"quoted\"\nline".into(),
                reason: None,
            },
        );
        let line = e.to_line("2026-11-23T12:00:00Z", "abc", 7);
        assert!(line.starts_with("{\"ts\":\"2026-11-23T12:00:00Z\",\"run_id\":\"abc\",\"seq\":7,\"type\":\"drift_detected\",\"node\":\"n1\",\"service\":null,\"schema_version\":2,\"condition\""));
        assert!(line.ends_with("}\n") && line.matches('\n').count() == 1);
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["detail"], "a \"quoted\"\nline");
        let back = Stamped::parse(&line).unwrap();
        assert_eq!((back.seq, &back.event), (7, &e));
    }

    #[test]
    fn a_line_of_an_unknown_type_or_without_its_vocabulary_is_passed_over() {
        let line = |rest: &str| {
            format!(
                "{{\"ts\":\"t\",\"run_id\":\"r\",\"seq\":1,\"node\":null,\"service\":null,{rest}}}"
            )
        };
        assert!(Stamped::parse(&line("\"type\":\"from_the_future\",\"x\":1")).is_none());
        assert!(
            Stamped::parse(&line("\"type\":\"reconcile_required\",\"reason\":\"r\"")).is_none()
        );
        // An older line without a later field still reads.
        let old = Stamped::parse(&line("\"type\":\"run_finished\",\"state\":\"nominal\"")).unwrap();
        assert!(
            matches!(&old.body, Body::RunFinished(f) if f.state == "nominal" && f.counts.webhook_failed.is_none())
        );
    }
}
