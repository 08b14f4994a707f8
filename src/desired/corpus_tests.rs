//! The loader's answer to each of ~400 `services.yaml` texts, recorded in
//! `tests/yaml-corpus.json`: the cases of the other tests of this module,
//! each field with a wrong type or value, unknown and duplicate keys at
//! each level, several errors in one file, syntax errors, flow style,
//! anchors and aliases, block scalars, comments, tabs, CRLF, a BOM, deep
//! nesting. It was checked against the loader that re-read files section
//! by section (every difference is listed in docs/decisions.md), and keeps
//! messages, positions, hints and their order from drifting.
//!
//! `UPDATE_EXPECT=1 cargo test --lib corpus` rewrites the file (then review
//! its diff). Lists that grow with the code (`expected one of …`: fields,
//! event types) are cut from the recorded messages.
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::load_node;

#[derive(Deserialize, Serialize)]
struct Case {
    name: String,
    yaml: String,
    expect: Vec<String>,
}

/// Each error as `line:col: message [hint: …]`, or the services loaded.
fn outcome(text: &str) -> Vec<String> {
    let folder = if text.contains("node: gpu-box") {
        "gpu-box"
    } else {
        "n1"
    };
    let file = format!("hosts/{folder}/services.yaml");
    match load_node(folder, Path::new(&file), text) {
        Ok(spec) => {
            let names: Vec<&str> = spec.services.keys().map(String::as_str).collect();
            vec![format!("ok: [{}]", names.join(", "))]
        }
        Err(errors) => errors
            .iter()
            .map(|e| {
                let message = match e.message.split_once(", expected one of ") {
                    Some((head, _)) => format!("{head}, expected one of …"),
                    None => e.message.clone(),
                };
                let hint = e
                    .hint
                    .as_ref()
                    .map(|h| format!(" [hint: {h}]"))
                    .unwrap_or_default();
                format!("{}:{}: {message}{hint}", e.line, e.column)
            })
            .collect(),
    }
}

#[test]
fn every_case_of_the_corpus_reads_as_recorded() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/yaml-corpus.json");
    let cases: Vec<Case> = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert!(cases.len() >= 400, "{} cases", cases.len());
    let mut differ = Vec::new();
    let mut updated = Vec::new();
    for case in cases {
        let got = outcome(&case.yaml);
        if got != case.expect {
            differ.push(format!(
                "{} {:?}\nexpected: {:#?}\ngot: {got:#?}",
                case.name, case.yaml, case.expect
            ));
        }
        updated.push(Case {
            expect: got,
            ..case
        });
    }
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        let text = serde_json::to_string_pretty(&updated).unwrap() + "\n";
        std::fs::write(&path, text).unwrap();
        return;
    }
    assert!(
        differ.is_empty(),
        "{} cases differ:\n{}",
        differ.len(),
        differ.join("\n")
    );
}
