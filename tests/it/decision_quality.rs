//! docs/decision-quality.md is computed, not claimed: every shipped
//! scenario replayed under the three presets, beside models of
//! Kubernetes', systemd's and supervisord's defaults on the same timeline
//! (`baselines.rs`), all scored by the same rules. The test fails when the
//! document's table differs from what the code computes now; rewrite it
//! with `UPDATE_DOCS=1 cargo test --test it decision_quality`.
use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use serde_json::Value;

use crate::baselines::{detected, restarts, Model};
use crate::replay::scenarios;
use crate::support::{copy_tree, repo_root, Run};
use supervisorctl::replay::{scenario, score};

const BEGIN: &str = "<!-- BEGIN GENERATED: tests/it/decision_quality.rs -->\n";
const END: &str = "<!-- END GENERATED -->\n";
const PRESETS: [&str; 3] = ["conservative", "balanced", "aggressive"];

/// `services.yaml` with `supervisor.preset` set to `preset`.
fn with_preset(yaml: &str, preset: &str) -> String {
    let kept: Vec<&str> = yaml
        .lines()
        .filter(|l| !l.trim_start().starts_with("preset:"))
        .collect();
    let mut text = kept.join("\n") + "\n";
    if let Some(i) = text.find("supervisor:\n") {
        text.insert_str(i + "supervisor:\n".len(), &format!("  preset: {preset}\n"));
    } else {
        text = format!("supervisor:\n  preset: {preset}\n{text}");
    }
    text
}

fn replay_with_preset(dir: &Path, preset: &str) -> Value {
    let tmp = tempfile::tempdir().expect("tempdir");
    let copy = tmp.path().join("s");
    copy_tree(dir, &copy);
    for entry in fs::read_dir(copy.join("hosts")).expect("hosts").flatten() {
        let file = entry.path().join("services.yaml");
        let yaml = fs::read_to_string(&file).expect("services.yaml");
        fs::write(&file, with_preset(&yaml, preset)).expect("write");
    }
    let out = Run::bare()
        .args(["replay", "--output", "json"])
        .arg(&copy)
        .run();
    assert!(matches!(out.code, 0 | 2), "{}", out.describe());
    out.expect_events().pop().expect("a score line")
}

fn model_score(dir: &Path, model: Model) -> Value {
    let fleet = supervisorctl::desired::load_fleet(&dir.join("hosts")).expect("hosts");
    let sc = scenario::load(dir, &fleet).unwrap_or_else(|(e, _)| panic!("{e}"));
    let done = restarts(model, &sc);
    let s = score::score_actions(&fleet, &sc, &done, |f| detected(model, &sc, f));
    let line = s.event(&sc.node).to_line("-", "-", 0);
    serde_json::from_str(&line).expect("a JSON line")
}

fn secs(v: &Value) -> String {
    v.as_i64().map_or("-".into(), |s| format!("{s}s"))
}

fn row(name: &str, score: &Value) -> String {
    let faults = score["faults"].as_array().cloned().unwrap_or_default();
    let handled = faults.iter().filter(|f| f["ok"] == true).count();
    let times = |k: &str| {
        if faults.is_empty() {
            "-".to_string()
        } else {
            faults
                .iter()
                .map(|f| secs(&f[k]))
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    format!(
        "| {name} | {handled}/{} | {} | {} | {} | {} | {} | {} | {} |\n",
        faults.len(),
        times("time_to_detect_s"),
        times("time_to_act_s"),
        score["false_actions"],
        score["storms"],
        score["pinned_evicted"],
        score["flaps"],
        if score["passed"] == true {
            "yes"
        } else {
            "**no**"
        }
    )
}

/// The generated part of docs/decision-quality.md.
fn generate() -> String {
    let mut out = String::new();
    for dir in scenarios() {
        let name = dir
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        let fleet = supervisorctl::desired::load_fleet(&dir.join("hosts")).expect("hosts");
        let sc = scenario::load(&dir, &fleet).unwrap_or_else(|(e, _)| panic!("{e}"));
        let description = sc.description.unwrap_or_default();
        let _ = write!(out, "### {name}\n\n{description}.\n\n");
        out.push_str("| supervisor | faults handled | time to detect | time to act | false actions | storms | pinned evicted | flaps | passed |\n");
        out.push_str("|---|---|---|---|---|---|---|---|---|\n");
        for preset in PRESETS {
            out.push_str(&row(
                &format!("supervisorctl, {preset}"),
                &replay_with_preset(&dir, preset),
            ));
        }
        for model in Model::ALL {
            out.push_str(&row(model.name(), &model_score(&dir, model)));
        }
        out.push('\n');
    }
    out
}

#[test]
fn the_decision_quality_table_is_what_the_code_computes() {
    let path = repo_root().join("docs/decision-quality.md");
    let doc = fs::read_to_string(&path).expect("docs/decision-quality.md");
    let (head, rest) = doc.split_once(BEGIN).expect("the BEGIN marker");
    let (_, tail) = rest.split_once(END).expect("the END marker");
    let table = generate();
    let wanted = format!("{head}{BEGIN}{table}{END}{tail}");
    if std::env::var_os("UPDATE_DOCS").is_some() {
        fs::write(&path, &wanted).expect("write docs/decision-quality.md");
        return;
    }
    assert!(
        doc == wanted,
        "docs/decision-quality.md is out of date; run `UPDATE_DOCS=1 cargo test --test it decision_quality`.\nComputed:\n{table}"
    );
}

#[test]
fn the_models_follow_their_rules_on_a_crash_loop() {
    let dir = repo_root().join("world-fixtures/scenarios/crash-loop");
    let fleet = supervisorctl::desired::load_fleet(&dir.join("hosts")).expect("hosts");
    let sc = scenario::load(&dir, &fleet).unwrap_or_else(|(e, _)| panic!("{e}"));
    let offsets = |m| -> Vec<i64> {
        restarts(m, &sc)
            .iter()
            .map(|e| (e.at - sc.start).num_seconds())
            .collect()
    };
    // Down from 60 s: back-off 10, 20, 40, 80, 160, 300, 300 ... seconds.
    let k8s = offsets(Model::Kubernetes);
    assert_eq!(&k8s[..7], &[70, 90, 130, 210, 370, 670, 970], "{k8s:?}");
    // Five starts in ten seconds, then the unit has failed for good.
    assert_eq!(offsets(Model::Systemd), vec![60, 61, 62, 63, 64]);
    // The start, then three retries 1, 2, 3 s after each failed start.
    assert_eq!(offsets(Model::Supervisord), vec![60, 62, 65, 69]);
}
