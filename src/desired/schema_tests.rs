//! The schema names exactly the fields the loader reads, and refuses the
//! keys the loader refuses.
use super::*;
use crate::desired::raw::{Fields, TOP_FIELDS};

fn sorted(fields: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = fields.iter().map(|f| f.to_string()).collect();
    v.sort();
    v
}

#[test]
fn every_field_the_loader_reads_is_in_the_schema() {
    let props = properties();
    assert_eq!(props[""], sorted(&TOP_FIELDS));
    assert_eq!(props["Supervisor"], sorted(RawSupervisor::FIELDS));
    assert_eq!(props["Service"], sorted(RawService::FIELDS));
    for (def, fields) in [
        (
            "Process",
            &["pidfile", "name", "cmdline_contains", "user"][..],
        ),
        ("MaintenanceWindow", &["days", "from", "to"]),
        (
            "Webhook",
            &["url", "format", "events", "secret_file", "ca_file"],
        ),
        ("Inference", &["url", "model", "timeout"]),
        ("Loading", &["status", "body"]),
        ("ActivityMetrics", &["metrics", "counter", "gauge"]),
        (
            "Health",
            &[
                "http",
                "tcp",
                "command",
                "inference",
                "every",
                "ca_file",
                "timeout",
                "degraded_after",
                "dead_after",
                "loading",
            ],
        ),
    ] {
        assert_eq!(props[def], sorted(fields), "{def}");
    }
}

#[test]
fn every_object_refuses_unknown_keys() {
    let schema: serde_json::Value = serde_json::from_str(&services_schema_json()).unwrap();
    assert_eq!(schema["additionalProperties"], false);
    let defs = schema["$defs"].as_object().unwrap();
    let objects: Vec<&String> = defs
        .iter()
        .filter(|(_, d)| d.get("properties").is_some())
        .map(|(n, _)| n)
        .collect();
    assert_eq!(objects.len(), 10, "{objects:?}");
    for name in objects {
        assert_eq!(defs[name]["additionalProperties"], false, "{name}");
    }
    assert!(schema["$schema"]
        .as_str()
        .unwrap()
        .ends_with("/draft/2020-12/schema"));
}

#[test]
fn event_types_are_all_kinds() {
    let schema: serde_json::Value = serde_json::from_str(&services_schema_json()).unwrap();
    let names = schema["$defs"]["EventType"]["enum"].as_array().unwrap();
    assert_eq!(names.len(), EventKind::ALL.len());
}
