//! Every fixture world, whole: the exit code, every event line of
//! `--output json`, the human report and stderr. The `expect.json`
//! matchers say what a case is about; the snapshot is the full oracle
//! (an extra event, a changed field or a reworded line shows up here).
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
                text.push_str(&format!("=== {title}\n{}", render(&out, &labels)));
            }
            assert_whole(&format!("fixture__{}", name(dir)), &text);
        },
    );
}
