//! The log-shipping configs of docs/logs/ against real event logs written
//! by the binary: lnav's format file is loaded by lnav itself (headless)
//! and must parse every line of a rotated log; the Vector and OpenTelemetry
//! Collector configs, whose tools are not installed here, must parse as
//! YAML, and every event field they read must be in real event lines and
//! documented in docs/reference/events.md.
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::support::{parse_json_lines, repo_root, Run};

/// Three dry runs of the sample fleet's gpu-box, rotated at 5,000 bytes:
/// events.jsonl.1 and events.jsonl, oldest first, and their events.
pub(crate) fn rotated_log(state: &Path) -> (Vec<PathBuf>, Vec<Value>) {
    let root = repo_root();
    for now in [
        "2026-11-23T12:00:00Z",
        "2026-11-23T12:05:00Z",
        "2026-11-23T12:10:00Z",
    ] {
        let out = Run::new("reconcile")
            .args(["--dry-run", "--no-probe"])
            .hosts(root.join("hosts"))
            .world(root.join("world-fixtures/sample/world"))
            .state(state)
            .node("gpu-box")
            .now(now)
            .env("SUPERVISORCTL_EVENTS_MAX_BYTES", "5000")
            .env("SUPERVISORCTL_EVENTS_KEEP", "5")
            .run();
        assert!(matches!(out.code, 2 | 3), "{}", out.describe());
    }
    let files: Vec<PathBuf> = ["events.jsonl.2", "events.jsonl.1", "events.jsonl"]
        .iter()
        .map(|name| state.join(name))
        .filter(|p| p.is_file())
        .collect();
    assert!(files.len() >= 2, "the log was rotated: {files:?}");
    let mut events = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("read the log");
        events.extend(parse_json_lines(&text).expect("JSON lines"));
    }
    (files, events)
}

/// Every key of every event: the sample's rotated log, and a world with a
/// torn record (`observation_invalid` has `error` and `path`).
fn real_fields(events: &[Value]) -> BTreeSet<String> {
    let case = repo_root().join("world-fixtures/world-file-torn");
    let out = Run::new("check")
        .hosts(case.join("hosts"))
        .world(case.join("world"))
        .node("n1")
        .now(crate::support::NOW)
        .output_json()
        .run();
    let more = out.expect_events();
    events
        .iter()
        .chain(&more)
        .filter_map(Value::as_object)
        .flat_map(|e| e.keys().cloned())
        .collect()
}

fn documented(field: &str) -> bool {
    let doc =
        std::fs::read_to_string(repo_root().join("docs/reference/events.md")).expect("events.md");
    doc.contains(&format!("`{field}`"))
}

fn assert_real(fields: &BTreeSet<String>, used: &[String], what: &str) {
    for f in used {
        assert!(
            fields.contains(f),
            "{what} reads `{f}`, which no real event has (events have: {fields:?})"
        );
        assert!(
            documented(f),
            "{what} reads `{f}`, which docs/reference/events.md does not document"
        );
    }
}

/// The severity vocabulary of docs/reference/events.md.
const SEVERITIES: [&str; 3] = ["nominal", "degraded", "unstable"];

fn yaml(name: &str) -> serde_yaml::Value {
    let path = repo_root().join("docs/logs").join(name);
    let text = std::fs::read_to_string(&path).expect("the config");
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{name} is not YAML: {e}"))
}

fn include_paths(v: &serde_yaml::Value) -> Vec<String> {
    v["include"]
        .as_sequence()
        .expect("include")
        .iter()
        .map(|p| p.as_str().expect("a path").to_string())
        .collect()
}

/// The default state directory's log, and its rotated files.
fn assert_follows_rotation(paths: &[String], what: &str) {
    assert!(
        paths
            .iter()
            .any(|p| p == "/var/lib/supervisorctl/events.jsonl")
            && paths
                .iter()
                .any(|p| p == "/var/lib/supervisorctl/events.jsonl.*"),
        "{what} reads the log and its rotated files: {paths:?}"
    );
}

#[test]
fn vector_config_reads_fields_that_real_events_have() {
    let dir = tempfile::tempdir().expect("scratch");
    let (_, events) = rotated_log(&dir.path().join("state"));
    let fields = real_fields(&events);
    let v = yaml("vector.yaml");
    let source = &v["sources"]["supervisorctl_events"];
    assert_eq!(source["type"].as_str(), Some("file"));
    assert_follows_rotation(&include_paths(source), "vector.yaml");
    assert_eq!(source["fingerprint"]["strategy"].as_str(), Some("checksum"));
    let vrl = v["transforms"]["supervisorctl_parse"]["source"]
        .as_str()
        .expect("the VRL program");
    // Vector's own fields, and the ones the program sets.
    let own = ["message", "file", "timestamp", "level", "log_file"];
    let mut used: Vec<String> = vrl_paths(vrl)
        .into_iter()
        .filter(|f| !own.contains(&f.as_str()))
        .collect();
    used.extend(
        v["transforms"]["supervisorctl_dedupe"]["fields"]["match"]
            .as_sequence()
            .expect("dedupe fields")
            .iter()
            .map(|f| f.as_str().expect("a name").to_string()),
    );
    for needed in ["ts", "severity", "run_id", "seq"] {
        assert!(
            used.iter().any(|f| f == needed),
            "vector.yaml uses `{needed}`: {used:?}"
        );
    }
    assert_real(&fields, &used, "vector.yaml");
    for severity in ["degraded", "unstable"] {
        assert!(vrl.contains(&format!("\"{severity}\"")), "maps {severity}");
    }
}

/// `.name` paths of a VRL program (outside comments).
fn vrl_paths(vrl: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in vrl.lines().map(|l| l.split('#').next().unwrap_or("")) {
        let bytes = line.as_bytes();
        for (i, _) in line.match_indices('.') {
            let before = i.checked_sub(1).map(|j| bytes[j]);
            if before.is_some_and(|b| b.is_ascii_alphanumeric() || b == b'"' || b == b')') {
                continue;
            }
            let name: String = line[i + 1..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                out.push(name);
            }
        }
    }
    out
}

#[test]
fn otel_collector_config_reads_fields_that_real_events_have() {
    let dir = tempfile::tempdir().expect("scratch");
    let (_, events) = rotated_log(&dir.path().join("state"));
    let fields = real_fields(&events);
    let v = yaml("otelcol.yaml");
    let receiver = &v["receivers"]["filelog/supervisorctl"];
    assert_follows_rotation(&include_paths(receiver), "otelcol.yaml");
    let operators = receiver["operators"].as_sequence().expect("operators");
    let mut used = Vec::new();
    let mut mapped = BTreeSet::new();
    for op in operators {
        for from in [
            &op["parse_from"],
            &op["timestamp"]["parse_from"],
            &op["severity"]["parse_from"],
        ] {
            if let Some(field) = from.as_str().and_then(|p| p.strip_prefix("attributes.")) {
                used.push(field.to_string());
            }
        }
        if let Some(mapping) = op["mapping"].as_mapping() {
            mapped.extend(
                mapping
                    .values()
                    .filter_map(|s| s.as_str())
                    .map(String::from),
            );
        }
    }
    for needed in ["ts", "severity"] {
        assert!(
            used.iter().any(|f| f == needed),
            "otelcol.yaml parses `{needed}`: {used:?}"
        );
    }
    assert_real(&fields, &used, "otelcol.yaml");
    assert_eq!(
        mapped,
        SEVERITIES.iter().map(ToString::to_string).collect(),
        "every severity is mapped to a level"
    );
    let pipelines = &v["service"]["pipelines"]["logs"]["receivers"];
    assert!(
        pipelines.as_sequence().is_some_and(|r| r
            .iter()
            .any(|r| r.as_str() == Some("filelog/supervisorctl"))),
        "the receiver is in the logs pipeline"
    );
}

fn lnav_format() -> Value {
    let path = repo_root().join("docs/logs/supervisorctl.lnav.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("the format")).expect("JSON")
}

#[test]
fn lnav_format_names_fields_that_real_events_have() {
    let dir = tempfile::tempdir().expect("scratch");
    let (_, events) = rotated_log(&dir.path().join("state"));
    let fields = real_fields(&events);
    let format = &lnav_format()["supervisorctl_log"];
    let mut used: Vec<String> = format["value"]
        .as_object()
        .expect("values")
        .keys()
        .cloned()
        .collect();
    for key in ["timestamp-field", "level-field"] {
        used.push(format[key].as_str().expect(key).to_string());
    }
    assert_real(&fields, &used, "supervisorctl.lnav.json");
    let levels = format["level"].as_object().expect("levels");
    for severity in SEVERITIES {
        assert!(
            levels
                .values()
                .any(|re| re.as_str() == Some(&format!("^{severity}$"))),
            "{severity} has a level"
        );
    }
}

/// `lnav` with a scratch HOME into which docs/logs/'s format is installed
/// (`lnav -i`, once per HOME).
pub(crate) fn lnav_with_format(home: &Path) -> Command {
    let lnav = || {
        let mut cmd = Command::new("lnav");
        cmd.env("HOME", home).env_remove("XDG_CONFIG_HOME");
        cmd
    };
    if !home.join(".lnav/formats/installed").is_dir() {
        std::fs::create_dir_all(home).expect("a HOME");
        let installed = lnav()
            .arg("-i")
            .arg(repo_root().join("docs/logs/supervisorctl.lnav.json"))
            .output()
            .expect("lnav -i");
        let said = String::from_utf8_lossy(&installed.stderr).into_owned()
            + &String::from_utf8_lossy(&installed.stdout);
        assert!(
            installed.status.success() && !said.contains("error"),
            "lnav -i: {said}"
        );
    }
    lnav()
}

/// lnav itself loads the format (`lnav -i`, into a scratch HOME) and reads
/// a rotated log written by the binary: every line is parsed, fields are
/// columns, and `severity` sets the level.
#[test]
fn lnav_reads_a_real_rotated_log_through_the_format() {
    if Command::new("lnav").arg("-V").output().is_err() {
        crate::support::skip("lnav is not installed");
        return;
    }
    let dir = tempfile::tempdir().expect("scratch");
    let (files, events) = rotated_log(&dir.path().join("state"));
    let home = dir.path().join("home");
    let lnav = || lnav_with_format(&home);
    let query = |sql: &str| -> Vec<Value> {
        let out = lnav()
            .arg("-n")
            .arg("-c")
            .arg(format!(";{sql}"))
            .args(["-c", ":write-json-to -"])
            .args(&files)
            .output()
            .expect("lnav -n");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let json = &stdout[stdout.find('[').unwrap_or(0)..];
        serde_json::from_str::<Value>(json)
            .unwrap_or_else(|e| {
                panic!(
                    "lnav printed no JSON ({e}) for {sql}:\n{stdout}\n{}",
                    String::from_utf8_lossy(&out.stderr)
                )
            })
            .as_array()
            .cloned()
            .expect("rows")
    };
    let unstable = events
        .iter()
        .filter(|e| e["severity"] == "unstable")
        .count();
    let degraded = events
        .iter()
        .filter(|e| e["severity"] == "degraded")
        .count();
    let rows = query(
        "SELECT count(*) AS n, count(DISTINCT run_id) AS runs, min(seq) AS first, \
         max(seq) AS last, sum(log_level = 'error') AS errors, \
         sum(log_level = 'warning') AS warnings FROM supervisorctl_log",
    );
    let row = &rows[0];
    assert_eq!(row["n"], events.len(), "every line is parsed: {row}");
    assert_eq!(row["runs"], 3, "{row}");
    assert_eq!(row["first"], events[0]["seq"], "{row}");
    assert_eq!(row["last"], events[events.len() - 1]["seq"], "{row}");
    assert_eq!(row["errors"], unstable, "unstable is an error: {row}");
    assert_eq!(row["warnings"], degraded, "degraded is a warning: {row}");
    // One extracted field: the first required action, and its timestamp.
    let first = events
        .iter()
        .find(|e| e["type"] == "reconcile_required" && e["service"].is_string())
        .expect("a required action");
    let rows = query(
        "SELECT log_time, seq, node, service, action FROM supervisorctl_log \
         WHERE type = 'reconcile_required' AND service IS NOT NULL ORDER BY seq LIMIT 1",
    );
    assert_eq!(rows[0]["seq"], first["seq"], "{rows:?}");
    assert_eq!(rows[0]["service"], first["service"], "{rows:?}");
    assert_eq!(rows[0]["action"], first["action"], "{rows:?}");
    assert_eq!(rows[0]["log_time"], "2026-11-23 12:00:00.000", "{rows:?}");
}
