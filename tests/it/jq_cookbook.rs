//! Every example of docs/reference/jq-cookbook.md runs, with the real `jq`,
//! against a real event log, and prints valid JSON. `jq` must exist under
//! `CI=true` (.ci/run installs it); elsewhere its absence skips the test.
use std::process::{Command, Stdio};

use crate::support::repo_root;

#[test]
fn every_cookbook_example_runs_against_a_real_log() {
    if Command::new("jq").arg("--version").output().is_err() {
        crate::support::skip("no jq");
        return;
    }
    // A real log: two dry runs of the sample fleet.
    let root = repo_root();
    let state = tempfile::tempdir().unwrap();
    for now in ["2026-11-23T12:00:00Z", "2026-11-23T12:05:00Z"] {
        let out = crate::support::Run::bare()
            .command()
            .arg("--hosts")
            .arg(root.join("hosts"))
            .arg("--world")
            .arg(root.join("world-fixtures/sample/world"))
            .arg("--state-dir")
            .arg(state.path())
            .args([
                "--node",
                "gpu-box",
                "--now",
                now,
                "reconcile",
                "--dry-run",
                "--no-probe",
            ])
            .stdout(Stdio::null())
            .output()
            .unwrap();
        assert!(matches!(out.status.code(), Some(0 | 2 | 3)), "{out:?}");
    }
    let book = std::fs::read_to_string(root.join("docs/reference/jq-cookbook.md")).unwrap();
    let examples: Vec<&str> = book
        .split("```sh\n")
        .skip(1)
        .filter_map(|b| b.split("```").next())
        .map(str::trim)
        .collect();
    assert!(examples.len() >= 6, "{}", examples.len());
    for example in examples {
        let out = Command::new("sh")
            .args(["-c", example])
            .current_dir(state.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{example}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        for line in String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| !l.trim().is_empty())
        {
            // -c prints one value a line; -s pretty-prints one value.
            if example.contains("jq -c") {
                serde_json::from_str::<serde_json::Value>(line)
                    .unwrap_or_else(|e| panic!("{example}: not JSON: {line}: {e}"));
            }
        }
        if example.contains("run_finished") {
            assert!(!out.stdout.is_empty(), "{example} found no run");
        }
    }
}
