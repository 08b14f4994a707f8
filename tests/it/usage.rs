//! Usage errors and the hints of errors (SPEC §8, §9): a bad flag, a bad
//! flag value or an unknown subcommand exits 1 (never 2, which means
//! degraded), `--help` and `--version` exit 0 with their text on stdout,
//! and a lock that cannot be opened is not mistaken for a lock held.
use crate::support::Run;

fn usage_error(args: &[&str]) {
    let out = Run::bare().args(args).run();
    assert_eq!(out.code, 1, "a usage error exits 1\n{}", out.describe());
    assert!(out.stdout.is_empty(), "{}", out.describe());
    assert!(out.stderr.contains("error"), "{}", out.describe());
}

#[test]
fn usage_errors_exit_1() {
    usage_error(&["reconcile", "--wiat", "30s"]);
    usage_error(&["reconcile", "--wait", "banana"]);
    usage_error(&["--now", "yesterday", "check"]);
    usage_error(&["frobnicate"]);
    usage_error(&[]);
    usage_error(&["audit", "--limit", "-3"]);
}

#[test]
fn help_and_version_exit_0_on_stdout() {
    for args in [&["--help"][..], &["reconcile", "--help"], &["help"]] {
        let out = Run::bare().args(args).run();
        assert_eq!(out.code, 0, "{}", out.describe());
        assert!(out.stdout.contains("Usage:"), "{}", out.describe());
    }
    let out = Run::bare().arg("--version").run();
    assert_eq!(out.code, 0, "{}", out.describe());
    assert!(
        out.stdout.starts_with("supervisorctl "),
        "{}",
        out.describe()
    );
}

#[test]
fn duration_flags_are_bounded_like_config_durations() {
    let out = Run::bare().args(["reconcile", "--wait", "100000d"]).run();
    assert_eq!(out.code, 1, "{}", out.describe());
    assert!(out.stderr.contains("at most 365d"), "{}", out.describe());
    let out = Run::bare().args(["watch", "--interval", "366d"]).run();
    assert_eq!(out.code, 1, "{}", out.describe());
    assert!(out.stderr.contains("at most 365d"), "{}", out.describe());
}

/// A lock file that cannot be opened (here: a folder in its place) is an
/// I/O problem, not a lock held: no advice to wait.
#[test]
fn an_unopenable_lock_is_not_told_to_wait() {
    let cli = Run::bare().sample_fleet();
    let state = cli.scratch().join("state");
    std::fs::create_dir_all(state.join("lock")).expect("a folder named lock");
    let out = cli
        .state(&state)
        .node("gpu-box")
        .args(["reconcile", "--dry-run", "--no-probe"])
        .run();
    assert_eq!(out.code, 1, "{}", out.describe());
    assert!(out.stderr.contains("lock"), "{}", out.describe());
    assert!(!out.stderr.contains("--wait"), "{}", out.describe());
    assert!(!out.stderr.contains("wait for it"), "{}", out.describe());
}
