//! The CI drift-check recipe users copy (docs/ci/drift-check.sh), run
//! verbatim against fixture worlds: 0 for nominal, 0 with a warning for
//! degraded, 1 for unstable and for a path typo.
use std::process::Command;

use crate::support::repo_root;

fn recipe(fixture: &str, world: Option<&str>, extra: &[(&str, &str)]) -> (i32, String) {
    let root = repo_root();
    let case = root.join("world-fixtures").join(fixture);
    let out_file = tempfile::NamedTempFile::new().unwrap();
    let mut cmd = Command::new("bash");
    cmd.arg(root.join("docs/ci/drift-check.sh"))
        .env("SUPERVISORCTL", env!("CARGO_BIN_EXE_supervisorctl"))
        .env("HOSTS", case.join("hosts"))
        .env("WORLD", world.map_or(case.join("world"), Into::into))
        .env("NOW", "2026-11-23T12:00:00Z")
        .env("OUT", out_file.path());
    for (k, v) in extra {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

#[test]
fn the_drift_check_recipe_acts_on_each_exit_code() {
    let (code, out) = recipe("all-healthy-fleet", None, &[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("nominal"), "{out}");

    let (code, out) = recipe("drift-missing-service", None, &[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("degraded or reconciling (exit 2)"), "{out}");
    assert!(out.contains("drift: "), "{out}");
    let (code, _) = recipe("drift-missing-service", None, &[("FAIL_ON_DEGRADED", "1")]);
    assert_eq!(code, 1);

    let (code, out) = recipe("offline-node-by-status", None, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("unstable (exit 3)"), "{out}");

    // A path typo is an error, not drift.
    let (code, out) = recipe("all-healthy-fleet", Some("/nonexistent/world"), &[]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("error (exit 1)"), "{out}");
}

/// `check --shard K/N`: the shards of a CI matrix cover every node once.
#[test]
fn shards_cover_every_node_exactly_once() {
    let root = repo_root();
    let nodes_of = |shard: &str| -> Vec<String> {
        let out = crate::support::Run::bare()
            .command()
            .arg("--hosts")
            .arg(root.join("hosts"))
            .arg("--world")
            .arg(root.join("world-fixtures/sample/world"))
            .args(["check", "--now", "2026-11-23T12:00:00Z", "--output", "json"])
            .args(["--shard", shard])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|e| {
                e["type"] == "decision"
                    || (e["type"] == "reconcile_required" && e["condition"] == "offline_node")
            })
            .filter_map(|e| e["node"].as_str().map(str::to_string))
            .collect()
    };
    let mut all: Vec<String> = (1..=3).flat_map(|k| nodes_of(&format!("{k}/3"))).collect();
    all.sort();
    all.dedup_by(|a, b| a == b);
    let mut expected: Vec<String> = std::fs::read_dir(root.join("hosts"))
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| !n.starts_with('.'))
        .collect();
    expected.sort();
    assert_eq!(all, expected);
    let total: usize = (1..=3)
        .map(|k| {
            let mut v = nodes_of(&format!("{k}/3"));
            v.dedup();
            v.len()
        })
        .sum();
    assert_eq!(total, expected.len(), "each node in one shard only");
    let bad = crate::support::Run::new("check")
        .args(["--shard", "4/3"])
        .command()
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(1));
}
