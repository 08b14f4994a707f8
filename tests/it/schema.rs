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
    entries.sort_by_key(std::fs::DirEntry::path);
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
    if !has_jsonschema() {
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
    let refused = python(
        script,
        &[dir.path().join("schema.json"), dir.path().join("docs.json")],
    );
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

/// The schema, written where a test can name it.
fn schema_file(dir: &Path) -> PathBuf {
    let out = bin().arg("schema").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let path = dir.join("services.schema.json");
    std::fs::write(&path, &out.stdout).unwrap();
    path
}

/// python-jsonschema's `best_match`, the error a tool shows first, names
/// the real problem of a bad value: optional fields are not `anyOf [X,
/// null]`, which reduced every error to "is not valid under any of the
/// given schemas". Each case: the file, where, and what the error says.
#[test]
fn best_match_names_the_real_problem() {
    let cases = [
        (
            "supervisor:\n  idle_timeout: 30\n",
            "supervisor/idle_timeout",
            "30 is not of type 'string'",
        ),
        (
            "services:\n  web:\n    health:\n      timeout: 5\n",
            "services/web/health/timeout",
            "5 is not of type 'string'",
        ),
        (
            "services:\n  web:\n    pinned: yes\n",
            "services/web/pinned",
            "'yes' is not of type 'boolean'",
        ),
        (
            "services:\n  web:\n    memory: true\n",
            "services/web/memory",
            "True is not of type 'integer', 'string'",
        ),
        (
            "services:\n  web:\n    memory: 8XB\n",
            "services/web/memory",
            "'8XB' does not match",
        ),
        (
            "supervisor:\n  memory_pressure: 1.5\n",
            "supervisor/memory_pressure",
            "1.5 is greater than the maximum of 1",
        ),
        (
            "services:\n  web:\n    restart: systemctl restart web\n",
            "services/web/restart",
            "is not of type 'array'",
        ),
        (
            "services:\n  web:\n    activity: conections\n",
            "services/web/activity",
            "'connections' was expected",
        ),
        (
            "services:\n  web:\n    activity: {metrics: \"ftp://x\"}\n",
            "services/web/activity/metrics",
            "'ftp://x' does not match",
        ),
        (
            "services:\n  web:\n    process:\n      pidfile: 7\n",
            "services/web/process/pidfile",
            "7 is not of type 'string'",
        ),
        (
            "supervisor:\n  webhooks:\n    - {url: \"http://x\", events: [nope]}\n",
            "supervisor/webhooks/0/events/0",
            "'nope' is not one of",
        ),
    ];
    if !has_jsonschema() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let schema = schema_file(dir.path());
    let docs: Vec<serde_json::Value> = cases.iter().map(|(yaml, _, _)| as_json(yaml)).collect();
    std::fs::write(
        dir.path().join("docs.json"),
        serde_json::to_string(&docs).unwrap(),
    )
    .unwrap();
    let script = r#"
import json, sys, jsonschema
from jsonschema.exceptions import best_match
v = jsonschema.Draft202012Validator(json.load(open(sys.argv[1])))
for doc in json.load(open(sys.argv[2])):
    e = best_match(v.iter_errors(doc))
    print(json.dumps(None if e is None else ["/".join(str(p) for p in e.absolute_path), e.message]))
"#;
    let got: Vec<serde_json::Value> = python(script, &[schema, dir.path().join("docs.json")])
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(got.len(), cases.len());
    for ((yaml, at, says), got) in cases.iter().zip(&got) {
        assert!(!loader_accepts("n1", yaml), "the loader refuses:\n{yaml}");
        assert_eq!(got[0], *at, "{yaml}{got}");
        let message = got[1].as_str().unwrap();
        assert!(message.contains(says), "{yaml}{message}");
        assert!(
            !message.contains("any of the given schemas"),
            "{yaml}{message}"
        );
    }
}

/// A yaml-language-server: `SUPERVISORCTL_YAML_LANGUAGE_SERVER` (`.ci/run`
/// sets it), else the one `tests/tools/yaml-language-server.sh` left in the
/// test cache.
fn yaml_language_server() -> Option<PathBuf> {
    crate::support::cached_tool(
        "SUPERVISORCTL_YAML_LANGUAGE_SERVER",
        "yaml-language-server-",
        "node_modules/.bin/yaml-language-server",
    )
}

/// What yaml-language-server says of `yaml` (a modeline naming the schema
/// is put first): its diagnostics (line, message; lines count from the
/// modeline, 0-based) and the hover text at each (line, column).
fn ask_the_language_server(
    server: &Path,
    yaml: &str,
    hovers: &[(usize, usize)],
) -> (Vec<(u64, String)>, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    schema_file(dir.path());
    let file = dir.path().join("services.yaml");
    std::fs::write(
        &file,
        format!("# yaml-language-server: $schema=./services.schema.json\n{yaml}"),
    )
    .unwrap();
    let out = Command::new("python3")
        .arg(repo_root().join("tests/tools/yamlls-check.py"))
        .arg(server)
        .arg(&file)
        .args(hovers.iter().map(|(l, c)| format!("{l}:{c}")))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let diagnostics = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["line"].as_u64().unwrap(),
                d["message"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let hovers = v["hovers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_str().unwrap().to_string())
        .collect();
    (diagnostics, hovers)
}

/// Through the language server editors run, over LSP: a shipped file has
/// no diagnostics; a bad file gets one per problem, each naming it (not
/// "string | null"); hovering a field shows its description (the field
/// table's meaning).
#[test]
fn the_yaml_language_server_validates_and_describes_with_the_schema() {
    let Some(server) = yaml_language_server() else {
        skip("yaml-language-server: run `bash tests/tools/yaml-language-server.sh` once (npm)");
        return;
    };
    let shipped = std::fs::read_to_string(repo_root().join("hosts/gpu-box/services.yaml")).unwrap();
    let (diagnostics, _) = ask_the_language_server(&server, &shipped, &[]);
    assert!(diagnostics.is_empty(), "hosts/gpu-box: {diagnostics:?}");

    let bad = "supervisor:\n  idle_timeout: 30\nservices:\n  web:\n    prot: http\n    pinned: true\n    memory: 8XB\n";
    // Lines (0-based, after the modeline): 2 idle_timeout, 5 prot, 6 pinned, 7 memory.
    let (diagnostics, hovers) = ask_the_language_server(&server, bad, &[(6, 6), (2, 4)]);
    let on = |line: u64| -> Vec<&str> {
        diagnostics
            .iter()
            .filter(|(l, _)| *l == line)
            .map(|(_, m)| m.as_str())
            .collect()
    };
    assert_eq!(
        on(2),
        ["Incorrect type. Expected \"string\"."],
        "{diagnostics:?}"
    );
    assert_eq!(on(5), ["Property prot is not allowed."], "{diagnostics:?}");
    assert!(
        on(7)
            .iter()
            .any(|m| m.contains("does not match the pattern")),
        "{diagnostics:?}"
    );
    assert_eq!(diagnostics.len(), 3, "{diagnostics:?}");
    assert!(hovers[0].contains("Keep it: never evicted"), "{hovers:?}");
    assert!(
        hovers[1].contains("A running model without activity"),
        "{hovers:?}"
    );
}

/// Every field path of the schema (`services.<name>.health.timeout`),
/// following `$ref`s, maps (`<name>`), lists (`[]`) and `if`/`else`.
fn schema_paths(
    root: &serde_json::Value,
    node: &serde_json::Value,
    prefix: &str,
    out: &mut Vec<String>,
) {
    let node = match node["$ref"].as_str() {
        Some(r) => {
            let name = r.trim_start_matches("#/$defs/");
            &root["$defs"][name]
        }
        None => node,
    };
    for (name, prop) in node["properties"].as_object().into_iter().flatten() {
        let path = format!("{prefix}{name}");
        out.push(path.clone());
        schema_paths(root, prop, &format!("{path}."), out);
    }
    if node["additionalProperties"].is_object() {
        schema_paths(
            root,
            &node["additionalProperties"],
            &format!("{prefix}<name>."),
            out,
        );
    }
    if node["items"].is_object() {
        let list = format!("{}[].", prefix.trim_end_matches('.'));
        schema_paths(root, &node["items"], &list, out);
    }
    for branch in ["then", "else"] {
        if node[branch].is_object() {
            schema_paths(root, &node[branch], prefix, out);
        }
    }
}

/// docs/reference/services-yaml.md documents every field of the schema,
/// and no field the schema does not have.
#[test]
fn the_field_reference_documents_exactly_the_schema() {
    let out = bin().arg("schema").output().unwrap();
    let schema: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut in_schema = vec![];
    schema_paths(&schema, &schema, "", &mut in_schema);
    in_schema.sort();
    let doc = std::fs::read_to_string(repo_root().join("docs/reference/services-yaml.md")).unwrap();
    // The field tables: under "## Fields".
    let doc = doc.split("\n## Fields\n").nth(1).expect("a Fields section");
    let mut documented: Vec<String> = doc
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split_once("` |"))
        .map(|(path, _)| path.to_string())
        .collect();
    documented.sort();
    assert!(in_schema.len() >= 75, "{in_schema:?}");
    let missing: Vec<&String> = in_schema
        .iter()
        .filter(|p| !documented.contains(p))
        .collect();
    let extra: Vec<&String> = documented
        .iter()
        .filter(|p| !in_schema.contains(p))
        .collect();
    assert!(missing.is_empty(), "not in the reference: {missing:?}");
    assert!(extra.is_empty(), "documented, not in the schema: {extra:?}");
    // Each row: type, default, meaning and example filled in.
    for line in doc.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.split(" | ").collect();
        assert!(
            cells.len() >= 5 && cells.iter().all(|c| !c.trim().is_empty()),
            "{line}"
        );
    }
}

/// Whether python3 has the jsonschema module; says why a test skips when
/// it has not (a failure under `CI=true`).
fn has_jsonschema() -> bool {
    let probe = Command::new("python3")
        .args(["-c", "import jsonschema"])
        .output();
    let has = probe.is_ok_and(|o| o.status.success());
    if !has {
        skip("python3 with the jsonschema module (apt python3-jsonschema)");
    }
    has
}

/// What a python3 `script` prints, run with `args`; it must succeed.
fn python(script: &str, args: &[PathBuf]) -> String {
    let run = Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    String::from_utf8(run.stdout).unwrap()
}
