//! The JSON Schema of `services.yaml` (`supervisorctl schema`),
//! generated from the raw types the loader reads (`raw`), so that it cannot
//! drift from what the loader accepts: a field added to `RawService` is in
//! the schema the next build. The checked scalars of `scalars` describe
//! themselves here, as the patterns their parsers accept; each field's
//! description comes from the table of `fields`, which
//! docs/reference/services-yaml.md renders.
//!
//! Editors that speak the YAML language server protocol validate and
//! complete a file that starts with
//! `# yaml-language-server: $schema=./services.schema.json`.
use std::borrow::Cow;

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde_json::Value;

use super::raw::{RawService, RawSupervisor};
use super::scalars::{
    AbsPath, Argv, CaFile, Clock, Day, Dur, EnvName, EnvValue, EventName, NonEmpty, Ratio,
    RetryAfter, Size, SpawnPath, Url,
};
use crate::events::EventKind;

/// The pattern of node and service names (see `scalars::is_valid_name`).
pub(crate) const NAME_PATTERN: &str = "^[a-z0-9][a-z0-9._-]{0,62}$";

/// One duration term: a whole number and a unit; a duration is one or more.
const DURATION_PATTERN: &str = r"^\s*([0-9]+(ms|s|m|h|d))+\s*$";

/// Bytes, or a number with a decimal (`KB` … `PB`) or binary (`KiB` …
/// `PiB`) unit, any case, an optional space before the unit.
const SIZE_PATTERN: &str = r"^\s*[0-9]+(\.[0-9]+)?\s*([kKmMgGtTpP][iI]?[bB]|[bB])?\s*$";

/// A fraction (`0.9`) or a percentage (`90%`).
const RATIO_PATTERN: &str = r"^\s*[0-9]*\.?[0-9]+\s*%?\s*$";

/// The whole file: what `load::load_node` reads.
#[derive(JsonSchema)]
#[schemars(
    title = "services.yaml",
    description = "The desired state of one node of a supervisorctl fleet: hosts/<node>/services.yaml",
    deny_unknown_fields
)]
#[allow(dead_code)] // only its schema is used
struct ServicesFile {
    /// The node's name; when given, it must be the name of the folder.
    node: Option<Name>,
    /// Node policy: a preset and the settings that override it.
    supervisor: Option<RawSupervisor>,
    /// The services of this node, by name.
    services: Option<ServiceMap>,
}

/// A node or service name.
struct Name;

impl JsonSchema for Name {
    fn schema_name() -> Cow<'static, str> {
        "Name".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "pattern": NAME_PATTERN,
            "description": "1 to 63 of a-z, 0-9, `.`, `_`, `-`, starting with a letter or digit"
        })
    }
}

/// `services:`: service name to service.
struct ServiceMap;

impl JsonSchema for ServiceMap {
    fn schema_name() -> Cow<'static, str> {
        "Services".into()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let service = generator.subschema_for::<RawService>();
        json_schema!({
            "type": "object",
            "propertyNames": { "pattern": NAME_PATTERN },
            "additionalProperties": service
        })
    }
}

/// The schema of `services.yaml`, as pretty JSON with a final newline.
pub fn services_schema_json() -> String {
    let mut schema = schemars::schema_for!(ServicesFile).to_value();
    shape(&mut schema);
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}

/// The sections that may be written empty (`supervisor:` with every line
/// commented out is `null` in YAML, and the loader reads it as absent).
const EMPTY_SECTIONS: [&str; 8] = [
    "Supervisor",
    "Services",
    "Service",
    "Process",
    "Health",
    "Inference",
    "Loading",
    "Logs",
];

/// Gives every property its description from [`super::fields`] and takes
/// `null` out of optional values: an optional field is simply not
/// required. `anyOf: [{$ref}, {type: null}]` would turn every error under
/// it into "is not valid under any of the given schemas", where a
/// validator should name the real problem (`30 is not of type 'string'`).
/// Sections alone may be empty.
fn shape(schema: &mut Value) {
    describe(schema, "");
    let Some(defs) = schema.get_mut("$defs").and_then(Value::as_object_mut) else {
        return;
    };
    for (name, def) in defs.iter_mut() {
        if def.get("properties").is_some() {
            describe(def, name);
        }
        if EMPTY_SECTIONS.contains(&name.as_str()) {
            def["type"] = serde_json::json!(["object", "null"]);
        }
    }
}

fn describe(object: &mut Value, def: &str) {
    let Some(props) = object.get_mut("properties").and_then(Value::as_object_mut) else {
        return;
    };
    for (name, prop) in props.iter_mut() {
        not_null(prop);
        if let Some(f) = super::fields::field(def, name) {
            prop["description"] = Value::String(super::fields::description(f));
        }
    }
}

/// `anyOf: [X, {type: null}]` becomes X, `type: [T, null]` becomes T.
fn not_null(prop: &mut Value) {
    let null = serde_json::json!({"type": "null"});
    let Some(obj) = prop.as_object_mut() else {
        return;
    };
    let other = obj
        .get("anyOf")
        .and_then(Value::as_array)
        .filter(|a| a.len() == 2 && a.contains(&null))
        .and_then(|a| a.iter().find(|s| **s != null).cloned());
    if let Some(Value::Object(other)) = other {
        obj.remove("anyOf");
        for (k, v) in other {
            obj.entry(k).or_insert(v);
        }
    }
    if let Some(Value::Array(types)) = obj.get_mut("type") {
        types.retain(|t| t != "null");
        if types.len() == 1 {
            let t = types.remove(0);
            obj.insert("type".into(), t);
        }
    }
}

/// A scalar whose text is read: YAML offers numbers and booleans as text
/// too (`user: 1000`, `[sleep, 5]`).
fn text_scalar(description: &str) -> Schema {
    json_schema!({
        "type": ["string", "number", "boolean"],
        "description": description
    })
}

macro_rules! scalar_schema {
    ($ty:ty, $name:expr, $body:expr) => {
        impl JsonSchema for $ty {
            fn schema_name() -> Cow<'static, str> {
                $name.into()
            }
            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                $body
            }
        }
    };
}

scalar_schema!(
    Dur<true>,
    "Duration",
    json_schema!({
        "type": "string",
        "pattern": DURATION_PATTERN,
        "description": "a duration above zero: a whole number and a unit (ms, s, m, h, d), e.g. `500ms`, `2s`, `5m`, `1h30m`; at most 365d"
    })
);
scalar_schema!(
    Dur<false>,
    "DurationOrZero",
    json_schema!({
        "type": "string",
        "pattern": DURATION_PATTERN,
        "description": "a duration, zero allowed: a whole number and a unit (ms, s, m, h, d), e.g. `0s`, `30s`; at most 365d"
    })
);
scalar_schema!(
    RetryAfter,
    "RetryAfter",
    json_schema!({
        "type": "string",
        "pattern": r"^(never|\s*([0-9]+(ms|s|m|h|d))+\s*)$",
        "description": "a duration above zero such as `30m`, or `never`"
    })
);
scalar_schema!(
    Size,
    "Size",
    // One schema with two types, not `anyOf`: a validator then names the
    // real problem (the type, or the pattern of a string).
    json_schema!({
        "type": ["integer", "string"],
        "minimum": 0,
        "pattern": SIZE_PATTERN,
        "description": "a number of bytes, or a size such as `512MiB`, `8GiB`, `40GB` (KB…PB are powers of 1000, KiB…PiB powers of 1024)"
    })
);
scalar_schema!(
    Ratio,
    "Ratio",
    json_schema!({
        "type": ["number", "string"],
        "exclusiveMinimum": 0,
        "maximum": 1,
        "pattern": RATIO_PATTERN,
        "description": "above 0 and at most 1: a fraction such as `0.9` or a percentage such as `90%`"
    })
);
scalar_schema!(
    Argv,
    "Command",
    json_schema!({
        "type": "array",
        "minItems": 1,
        "items": { "type": ["string", "number", "boolean"] },
        "prefixItems": [{ "type": "string", "pattern": r"\S" }],
        "description": "a command as a list of arguments, never through a shell, e.g. [systemctl, restart, web]"
    })
);
scalar_schema!(
    Clock<false>,
    "TimeOfDay",
    json_schema!({
        "type": "string",
        "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$",
        "description": "a time of day \"HH:MM\" from 00:00 to 23:59 (UTC)"
    })
);
scalar_schema!(
    Clock<true>,
    "EndOfWindow",
    json_schema!({
        "type": "string",
        "pattern": "^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$",
        "description": "a time of day \"HH:MM\" from 00:00 to 24:00 (UTC)"
    })
);
scalar_schema!(
    Day,
    "Day",
    json_schema!({
        "type": "string",
        "description": "a day of the week, short or full, in lower case",
        "enum": [
            "mon", "tue", "wed", "thu", "fri", "sat", "sun",
            "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"
        ]
    })
);
scalar_schema!(
    Url,
    "Url",
    json_schema!({
        "type": "string",
        "pattern": "^https?://[^/]",
        "description": "an `http://` or `https://` URL"
    })
);
scalar_schema!(NonEmpty, "NonEmpty", text_scalar("a non-empty string"));
scalar_schema!(
    AbsPath,
    "AbsolutePath",
    json_schema!({ "type": "string", "pattern": "^/", "description": "an absolute path" })
);
scalar_schema!(
    SpawnPath,
    "SpawnPath",
    json_schema!({ "type": "string", "pattern": "^/", "description": "an absolute path" })
);
scalar_schema!(
    EnvName,
    "EnvName",
    json_schema!({
        "type": "string",
        "pattern": "^[A-Za-z_][A-Za-z0-9_]*$",
        "description": "an environment variable's name"
    })
);
scalar_schema!(
    EnvValue,
    "EnvValue",
    text_scalar("an environment variable's value (a number or boolean is taken as its text)")
);
scalar_schema!(
    CaFile,
    "CaFile",
    json_schema!({
        "type": "string",
        "pattern": "^/",
        "description": "an absolute path to a PEM file of private CA certificates"
    })
);

impl JsonSchema for EventName {
    fn schema_name() -> Cow<'static, str> {
        "EventType".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let names: Vec<&str> = EventKind::ALL.iter().map(|k| k.as_str()).collect();
        json_schema!({
            "type": "string",
            "enum": names,
            "description": "an event type (see docs/reference/events.md)"
        })
    }
}

/// The property names of each object of the schema, by definition name
/// (`""` for the top level): for tests that compare them with what the
/// loader knows.
#[cfg(test)]
pub(crate) fn properties() -> std::collections::BTreeMap<String, Vec<String>> {
    let schema: serde_json::Value = serde_json::from_str(&services_schema_json()).unwrap();
    let keys = |v: &serde_json::Value| -> Vec<String> {
        v["properties"]
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default()
    };
    let mut out = std::collections::BTreeMap::new();
    out.insert(String::new(), keys(&schema));
    for (name, def) in schema["$defs"].as_object().into_iter().flatten() {
        if def.get("properties").is_some() {
            out.insert(name.clone(), keys(def));
        }
    }
    out
}

#[cfg(test)]
#[path = "schema_tests.rs"]
mod tests;
