//! `supervisorctl schema` validates every shipped services.yaml with a real
//! JSON Schema validator (Python's `jsonschema`), and refuses what the
//! loader refuses: unknown keys at each level, wrong types and values.
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{repo_root, skip};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_supervisorctl"))
}

/// The YAML of `file` as JSON, read the way the loader reads it (YAML 1.2
/// scalars: `02:00` stays a string).
fn as_json(yaml: &str) -> serde_json::Value {
    serde_yaml::from_str(yaml).unwrap()
}

fn services_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().flatten().collect();
    entries.sort_by_key(|e| e.path());
    for entry in entries {
        let path = entry.path();
        if path.is_dir() {
            services_files(&path, out);
        } else if path.file_name().is_some_and(|n| n == "services.yaml") {
            out.push(path);
        }
    }
}

/// The operator guide's model server examples (as `guide_examples` reads
/// them).
fn guide_examples() -> Vec<String> {
    let guide = std::fs::read_to_string(repo_root().join("docs/operator-guide.md")).unwrap();
    let section = guide.split("## Running model servers").nth(1).unwrap();
    section
        .split("```yaml\n")
        .skip(1)
        .filter_map(|b| b.split("```").next())
        .map(str::to_string)
        .collect()
}

/// Whether `validate` accepts `yaml` as the file of node `node`.
fn loader_accepts(node: &str, yaml: &str) -> bool {
    let dir = tempfile::tempdir().unwrap();
    let node = dir.path().join("hosts").join(node);
    std::fs::create_dir_all(&node).unwrap();
    std::fs::write(node.join("services.yaml"), yaml).unwrap();
    let out = bin()
        .arg("--hosts")
        .arg(dir.path().join("hosts"))
        .arg("validate")
        .output()
        .unwrap();
    out.status.success()
}

/// Validates each document against the schema; the names of those that
/// fail.
fn schema_refuses(docs: &[(String, serde_json::Value)]) -> Option<Vec<String>> {
    let probe = Command::new("python3")
        .args(["-c", "import jsonschema"])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        skip("python3 with the jsonschema module (apt python3-jsonschema)");
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = bin().arg("schema").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    std::fs::write(dir.path().join("schema.json"), &out.stdout).unwrap();
    let all: serde_json::Value = docs.iter().cloned().collect();
    std::fs::write(dir.path().join("docs.json"), all.to_string()).unwrap();
    let script = r#"
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
v = jsonschema.Draft202012Validator(schema)
for name, doc in json.load(open(sys.argv[2])).items():
    errors = list(v.iter_errors(doc))
    if errors:
        print(name + "\t" + errors[0].message.replace("\n", " "))
"#;
    let run = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(dir.path().join("schema.json"))
        .arg(dir.path().join("docs.json"))
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let refused = String::from_utf8(run.stdout).unwrap();
    Some(refused.lines().map(str::to_string).collect())
}

#[test]
fn every_shipped_services_yaml_is_valid_against_the_schema() {
    let root = repo_root();
    let mut files = Vec::new();
    services_files(&root.join("hosts"), &mut files);
    services_files(&root.join("world-fixtures"), &mut files);
    let mut docs = Vec::new();
    for file in &files {
        let yaml = std::fs::read_to_string(file).unwrap();
        let name = file.strip_prefix(&root).unwrap().display().to_string();
        let node = file.parent().unwrap().file_name().unwrap();
        let node = node.to_str().unwrap();
        assert!(loader_accepts(node, &yaml), "{name} is shipped valid");
        docs.push((name, as_json(&yaml)));
    }
    for (i, yaml) in guide_examples().iter().enumerate() {
        docs.push((format!("operator-guide example {i}"), as_json(yaml)));
    }
    assert!(docs.len() >= 45, "{} files", docs.len());
    if let Some(refused) = schema_refuses(&docs) {
        assert!(refused.is_empty(), "refused by the schema:\n{refused:#?}");
    }
}

#[test]
fn the_schema_refuses_what_the_loader_refuses() {
    let cases = [
        ("unknown top-level key", "servics: {}\n"),
        (
            "unknown supervisor key",
            "supervisor:\n  presett: balanced\n",
        ),
        ("unknown service key", "services:\n  web:\n    prot: http\n"),
        (
            "unknown health key",
            "services:\n  web:\n    health:\n      htp: http://x/\n",
        ),
        (
            "unknown window key",
            "supervisor:\n  maintenance:\n    - {from: \"01:00\", to: \"02:00\", day: [sat]}\n",
        ),
        ("bad service name", "services:\n  Web: {}\n"),
        ("boolean as text", "services:\n  web:\n    pinned: yes\n"),
        ("duration without unit", "supervisor:\n  idle_timeout: 30\n"),
        ("bad size", "services:\n  web:\n    memory: 8XB\n"),
        ("bad ratio", "supervisor:\n  memory_pressure: 1.5\n"),
        ("unknown preset", "supervisor:\n  preset: fast\n"),
        ("unknown kind", "services:\n  web:\n    kind: modle\n"),
        (
            "command as a string",
            "services:\n  web:\n    restart: systemctl restart web\n",
        ),
        ("empty command", "services:\n  web:\n    restart: []\n"),
        (
            "relative pidfile",
            "services:\n  web:\n    process:\n      pidfile: web.pid\n",
        ),
        (
            "bad time",
            "supervisor:\n  maintenance:\n    - {from: \"25:00\", to: \"02:00\"}\n",
        ),
        (
            "unknown day",
            "supervisor:\n  maintenance:\n    - {days: [sa], from: \"01:00\", to: \"02:00\"}\n",
        ),
        (
            "unknown event",
            "supervisor:\n  webhooks:\n    - {url: \"http://x\", events: [nope]}\n",
        ),
        (
            "unknown webhook format",
            "supervisor:\n  webhooks:\n    - {url: \"https://ntfy.sh/x\", format: ntfi}\n",
        ),
        (
            "bad url",
            "supervisor:\n  webhooks:\n    - {url: \"ftp://x\"}\n",
        ),
        (
            "negative count",
            "supervisor:\n  max_restart_attempts: -1\n",
        ),
    ];
    let mut docs = Vec::new();
    for (name, yaml) in cases {
        assert!(!loader_accepts("n1", yaml), "the loader refuses {name}");
        docs.push((name.to_string(), as_json(yaml)));
    }
    let Some(refused) = schema_refuses(&docs) else {
        return;
    };
    let names: Vec<&str> = refused
        .iter()
        .map(|l| l.split('\t').next().unwrap())
        .collect();
    let missing: Vec<&str> = cases
        .iter()
        .map(|(n, _)| *n)
        .filter(|n| !names.contains(n))
        .collect();
    assert!(missing.is_empty(), "accepted by the schema: {missing:?}");
}
