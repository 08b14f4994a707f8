//! The schema names exactly the fields the loader reads, and refuses the
//! keys the loader refuses.
use super::*;
use crate::desired::raw::{Fields, TOP_FIELDS};

fn sorted(fields: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = fields.iter().map(ToString::to_string).collect();
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

/// Every property of every object, as (definition, name, schema).
fn all_properties(schema: &serde_json::Value) -> Vec<(String, String, serde_json::Value)> {
    let mut out = vec![];
    let mut add = |def: &str, v: &serde_json::Value| {
        for (name, prop) in v["properties"].as_object().into_iter().flatten() {
            out.push((def.to_string(), name.clone(), prop.clone()));
        }
    };
    add("", schema);
    for (name, def) in schema["$defs"].as_object().unwrap() {
        add(name, def);
    }
    out
}

#[test]
fn every_field_is_described_from_the_one_table() {
    use crate::desired::fields::{description, field, FIELDS};
    let schema: serde_json::Value = serde_json::from_str(&services_schema_json()).unwrap();
    let props = all_properties(&schema);
    assert!(props.len() >= 75, "{} properties", props.len());
    for (def, name, prop) in &props {
        let row = field(def, name).unwrap_or_else(|| panic!("no row for {def}.{name}"));
        assert_eq!(prop["description"], description(row), "{def}.{name}");
        for text in [row.ty, row.default, row.meaning, row.example] {
            assert!(!text.trim().is_empty(), "{def}.{name}");
        }
    }
    for row in FIELDS {
        assert!(
            props.iter().any(|(d, n, _)| d == row.def && n == row.name),
            "the table describes {}.{}, which the schema does not have",
            row.def,
            row.name
        );
    }
}

/// An optional field is not required; it is not `anyOf [X, null]`, under
/// which a validator reports only "not valid under any of the given
/// schemas".
#[test]
fn no_field_is_a_choice_with_null() {
    let schema: serde_json::Value = serde_json::from_str(&services_schema_json()).unwrap();
    for (def, name, prop) in all_properties(&schema) {
        let text = prop.to_string();
        assert!(!text.contains(r#""null""#), "{def}.{name}: {text}");
        assert!(prop.get("anyOf").is_none(), "{def}.{name}: {text}");
    }
}

/// docs/reference/services-yaml.md is the table: `UPDATE_DOCS=1 cargo
/// test --lib reference_is` rewrites its tables.
#[test]
fn the_field_reference_is_the_table() {
    const BEGIN: &str = "<!-- fields:begin (generated from src/desired/fields.rs) -->\n";
    const END: &str = "<!-- fields:end -->";
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/reference/services-yaml.md");
    let doc = std::fs::read_to_string(&path).unwrap();
    let (head, rest) = doc.split_once(BEGIN).expect("the begin marker");
    let (tables, tail) = rest.split_once(END).expect("the end marker");
    let want = crate::desired::fields::markdown();
    if tables != want {
        if std::env::var_os("UPDATE_DOCS").is_some() {
            std::fs::write(&path, format!("{head}{BEGIN}{want}{END}{tail}")).unwrap();
        } else {
            panic!("docs/reference/services-yaml.md is out of date: run `UPDATE_DOCS=1 cargo test --lib reference_is`");
        }
    }
}
