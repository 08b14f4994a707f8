//! The README's demo runs as written: from the repository root, the sample
//! fleet against the sample world reports drift.
use crate::support::{repo_root, Run, NOW};

#[test]
fn demo_check_reports_drift() {
    let out = Run::bare()
        .current_dir(repo_root())
        .args([
            "check",
            "--hosts",
            "hosts",
            "--world",
            "world-fixtures/sample/world",
        ])
        .run();
    assert!(matches!(out.code, 2 | 3), "{}", out.describe());
    assert!(
        !out.stdout.trim().is_empty(),
        "the demo prints nothing\n{}",
        out.describe()
    );
}

#[test]
fn demo_at_its_instant_is_unstable() {
    let out = Run::bare()
        .current_dir(repo_root())
        .args([
            "check",
            "--hosts",
            "hosts",
            "--world",
            "world-fixtures/sample/world",
        ])
        .args(["--now", NOW])
        .run();
    assert_eq!(out.code, 3, "{}", out.describe());
    assert!(
        !out.stdout.trim().is_empty(),
        "the demo prints nothing\n{}",
        out.describe()
    );
}
