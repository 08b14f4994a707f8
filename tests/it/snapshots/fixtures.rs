//! Every fixture world, whole: the exit code, every event line of
//! `--output json`, the human report and stderr. The `expect.json`
//! matchers say what a case is about; the snapshot is the full oracle
//! (an extra event, a changed field or a reworded line shows up here).
use std::fmt::Write as _;
use std::path::Path;

use super::{all_cases, assert_whole, render};
use crate::fixtures::{cases, load, run_as};

fn name(dir: &Path) -> String {
    dir.file_name()
        .expect("a case folder")
        .to_string_lossy()
        .into_owned()
}

#[test]
fn every_fixture_world_whole_output() {
    let dirs = cases();
    assert!(dirs.len() >= 30, "expected the fixture cases");
    all_cases(
        &dirs,
        |d| name(d),
        |dir| {
            let expect = load(dir).unwrap_or_else(|e| panic!("{}: {e}", name(dir)));
            let mut text = String::new();
            for (json, title) in [(true, "json"), (false, "human")] {
                let out = run_as(dir, &expect, json).unwrap_or_else(|e| panic!("{e}"));
                let labels = [(out.scratch(), "[TMP]"), (dir.as_path(), "[CASE]")];
                let _ = write!(text, "=== {title}\n{}", render(&out, &labels));
            }
            assert_whole(&format!("fixture__{}", name(dir)), &text);
        },
    );
}

/// Every shipped replay scenario (`world-fixtures/scenarios/<name>/`),
/// whole: the exit code, every event and the `replay_score` line of
/// `--output json`, and the human timeline and score.
#[test]
fn every_replay_scenario_whole_output() {
    let root = crate::support::repo_root().join("world-fixtures/scenarios");
    let mut dirs: Vec<std::path::PathBuf> = std::fs::read_dir(&root)
        .expect("the scenarios")
        .map(|e| e.expect("an entry").path())
        .filter(|p| p.join("scenario.yaml").is_file())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 5, "expected the shipped scenarios");
    all_cases(
        &dirs,
        |d| name(d),
        |dir| {
            let mut text = String::new();
            for json in [true, false] {
                let run = crate::support::Run::new("replay").arg(dir);
                let out = if json { run.output_json() } else { run }.run();
                let labels = [(out.scratch(), "[TMP]"), (dir.as_path(), "[CASE]")];
                let title = if json { "json" } else { "human" };
                let _ = write!(text, "=== {title}\n{}", render(&out, &labels));
            }
            assert_whole(&format!("replay__{}", name(dir)), &text);
        },
    );
}
