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

/// The shell steps of docs/ci/github-actions.yml for one matrix shard,
/// with each step's `env:` (`${{ … }}` expressions filled in as Actions
/// would). The install step is left out: the built binary is on `PATH`.
fn workflow_steps(
    shard: &str,
    runner_temp: &std::path::Path,
) -> Vec<(String, Vec<(String, String)>)> {
    let text = std::fs::read_to_string(repo_root().join("docs/ci/github-actions.yml")).unwrap();
    let doc: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let fill = |v: &str| {
        v.replace("${{ matrix.shard }}", shard)
            .replace("${{ runner.temp }}", &runner_temp.display().to_string())
    };
    let steps = doc["jobs"]["drift"]["steps"].as_sequence().unwrap();
    steps
        .iter()
        .filter_map(|step| Some((step["run"].as_str()?, step)))
        .filter(|(run, _)| !run.starts_with("cargo install"))
        .map(|(run, step)| {
            let env = step["env"]
                .as_mapping()
                .into_iter()
                .flatten()
                .map(|(k, v)| (k.as_str().unwrap().to_string(), fill(v.as_str().unwrap())))
                .collect();
            (fill(run), env)
        })
        .collect()
}

/// Issue 19: the shipped workflow set no `NOW`, so against the checked-in
/// sample every node was offline (exit 1 whatever the pull request), and
/// it left `drift.jsonl` in the checkout. Its steps, run as written in a
/// checkout of the sample fleet, exit as its header says: 1 in both
/// shards, for the sample's own drift (only edge-01 is offline), and
/// write nothing in the checkout.
#[test]
fn the_github_actions_recipe_exits_as_documented_on_the_sample_fleet() {
    let root = repo_root();
    let header = std::fs::read_to_string(root.join("docs/ci/github-actions.yml")).unwrap();
    assert!(
        header.contains("both shards end `unstable (exit 3)` and the job\n# fails with exit 1"),
        "the documented outcome changed: update this test with it"
    );
    let bin_dir = std::path::Path::new(env!("CARGO_BIN_EXE_supervisorctl"))
        .parent()
        .unwrap()
        .to_path_buf();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    for shard in ["1/2", "2/2"] {
        let checkout = tempfile::tempdir().unwrap();
        for part in ["hosts", "docs", "world-fixtures"] {
            std::os::unix::fs::symlink(root.join(part), checkout.path().join(part)).unwrap();
        }
        let runner_temp = tempfile::tempdir().unwrap();
        let steps = workflow_steps(shard, runner_temp.path());
        assert_eq!(steps.len(), 1, "one drift-check step: {steps:?}");
        let (run, env) = &steps[0];
        let out = Command::new("bash")
            .args(["-e", "-c", run])
            .current_dir(checkout.path())
            .env("PATH", &path)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "shard {shard}: {text}");
        assert!(text.contains("unstable (exit 3)"), "shard {shard}: {text}");
        let offline: Vec<&str> = text
            .lines()
            .filter(|l| l.contains("\"condition\":\"offline_node\""))
            .collect();
        assert!(
            offline.iter().all(|l| l.contains("\"node\":\"edge-01\"")),
            "shard {shard}: only edge-01 is offline at the snapshot's time: {offline:?}"
        );
        let left: Vec<_> = std::fs::read_dir(checkout.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .filter(|n| !["hosts", "docs", "world-fixtures"].contains(&n.to_str().unwrap()))
            .collect();
        assert!(
            left.is_empty(),
            "shard {shard} left {left:?} in the checkout"
        );
        assert!(
            runner_temp.path().join("drift.jsonl").is_file(),
            "shard {shard}"
        );
    }
}
