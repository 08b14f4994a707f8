//! The reference docs keep up with the code: every event type
//! (`EventKind::ALL`) is described in docs/reference/events.md, and so is
//! every top-level field that the fixture worlds make `check` emit.
use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use serde_json::Value;
use supervisorctl::events::EventKind;

use crate::support::{repo_root, Run};

fn events_md() -> String {
    let path = repo_root().join("docs/reference/events.md");
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read `{}`: {e}", path.display()))
}

#[test]
fn every_event_type_is_described() {
    let doc = events_md();
    let missing: Vec<&str> = EventKind::ALL
        .iter()
        .map(|k| k.as_str())
        .filter(|name| !doc.contains(&format!("`{name}`")))
        .collect();
    assert!(missing.is_empty(), "not in events.md: {missing:?}");
}

/// `check --output json` of one fixture case, as its expect.json sets it up.
fn check_events(case: &Path) -> Vec<Value> {
    let expect: Value = fs::read_to_string(case.join("expect.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Null);
    let hosts = match case.join("hosts") {
        own if own.is_dir() => own,
        _ => repo_root().join("hosts"),
    };
    let now = expect["now"].as_str().unwrap_or("2026-11-23T12:00:00Z");
    let mut cli = Run::bare()
        .arg("check")
        .arg("--hosts")
        .arg(hosts)
        .arg("--world")
        .arg(case.join("world"))
        .args(["--now", now, "--output", "json"]);
    for (flag, file) in [
        ("--checkpoint", "checkpoint.json"),
        ("--overrides", "overrides.json"),
    ] {
        if case.join(file).is_file() {
            cli = cli.arg(flag).arg(case.join(file));
        }
    }
    if let Some(node) = expect["node"].as_str() {
        cli = cli.args(["--node", node]);
    }
    let out = cli.run();
    assert!(matches!(out.code, 0 | 2 | 3), "{}", out.describe());
    out.expect_events()
}

#[test]
fn every_field_the_fixtures_emit_is_described() {
    let mut cases: Vec<_> = fs::read_dir(repo_root().join("world-fixtures"))
        .expect("world-fixtures/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("world").is_dir())
        .collect();
    cases.sort();
    assert!(cases.len() > 10, "fixture cases: {cases:?}");
    let mut fields: BTreeSet<String> = BTreeSet::new();
    for case in &cases {
        for event in check_events(case) {
            if let Some(map) = event.as_object() {
                fields.extend(map.keys().cloned());
            }
        }
    }
    let doc = events_md();
    let missing: Vec<&String> = fields
        .iter()
        .filter(|f| !doc.contains(&format!("`{f}`")))
        .collect();
    assert!(missing.is_empty(), "fields not in events.md: {missing:?}");
}

/// Every command of `--help` has a row in exit-codes.md's per-command
/// table.
#[test]
fn every_command_has_its_exit_codes() {
    let doc = fs::read_to_string(repo_root().join("docs/reference/exit-codes.md")).unwrap();
    let table = doc
        .split("## Per command")
        .nth(1)
        .and_then(|t| t.split("\n## ").next())
        .expect("a per-command table");
    let rows: Vec<&str> = table.lines().filter(|l| l.starts_with("| `")).collect();
    let help = Run::new("--help").run();
    let commands: Vec<String> = help
        .stdout
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next().map(String::from))
        .collect();
    assert!(commands.len() > 20, "{}", help.stdout);
    let missing: Vec<&String> = commands
        .iter()
        .filter(|c| {
            let cell = format!("`{c}");
            !rows
                .iter()
                .any(|r| r.split(" | ").next().unwrap_or("").contains(&cell))
        })
        .collect();
    assert!(missing.is_empty(), "not in exit-codes.md: {missing:?}");
}

/// Every file under `dir` (recursively), with its text.
fn texts(dir: &Path, out: &mut Vec<(std::path::PathBuf, String)>) {
    let mut entries: Vec<_> = fs::read_dir(dir).unwrap().flatten().collect();
    entries.sort_by_key(std::fs::DirEntry::path);
    for e in entries {
        let path = e.path();
        if path.is_dir() {
            texts(&path, out);
        } else if let Ok(text) = fs::read_to_string(&path) {
            out.push((path, text));
        }
    }
}

/// A clone has no SPEC.md: the code and the docs cite the docs of the
/// repository (docs/reference/…), never a section of the contract, and
/// the README and the configuration page do not send readers to it.
/// Every docs/… path cited in src/ exists.
#[test]
fn the_code_and_docs_cite_the_repository_docs_not_the_contract() {
    let root = repo_root();
    let mut files = vec![];
    texts(&root.join("src"), &mut files);
    texts(&root.join("docs"), &mut files);
    files.push((
        root.join("README.md"),
        fs::read_to_string(root.join("README.md")).unwrap(),
    ));
    assert!(files.len() > 100, "{} files", files.len());
    let mut cited = BTreeSet::new();
    for (path, text) in &files {
        for (n, line) in text.lines().enumerate() {
            assert!(
                !line.contains("SPEC §") && !line.contains("SPEC.md"),
                "{}:{}: {line}",
                path.display(),
                n + 1
            );
        }
        if path.starts_with(root.join("src")) {
            for word in text.split(|c: char| c.is_whitespace() || "(),;\"`".contains(c)) {
                if word.starts_with("docs/") && Path::new(word).extension() == Some("md".as_ref()) {
                    cited.insert(word.to_string());
                }
            }
        }
    }
    assert!(cited.contains("docs/reference/behaviour.md"), "{cited:?}");
    for doc in &cited {
        assert!(
            root.join(doc).is_file(),
            "src/ cites {doc}, which does not exist"
        );
    }
    // The sections of behaviour.md that src/ names exist.
    let behaviour = fs::read_to_string(root.join("docs/reference/behaviour.md")).unwrap();
    let headings: BTreeSet<&str> = behaviour
        .lines()
        .filter_map(|l| {
            l.trim_start_matches('#')
                .strip_prefix(' ')
                .filter(|_| l.starts_with('#'))
        })
        .collect();
    for (path, text) in files
        .iter()
        .filter(|(p, _)| p.starts_with(root.join("src")))
    {
        // Comments joined into one line: a citation may wrap.
        let flat: Vec<&str> = text
            .lines()
            .map(|l| {
                let l = l.trim_start();
                ["//! ", "/// ", "// "]
                    .iter()
                    .find_map(|m| l.strip_prefix(m))
                    .unwrap_or(l)
            })
            .collect();
        let flat = flat.join(" ");
        for cite in flat.split("docs/reference/behaviour.md, \"").skip(1) {
            let Some((section, _)) = cite.split_once('"') else {
                continue;
            };
            let section = section.split_whitespace().collect::<Vec<_>>().join(" ");
            assert!(
                headings.contains(section.as_str()),
                "{} cites behaviour.md \"{section}\", which has no such section",
                path.display()
            );
        }
    }
}
