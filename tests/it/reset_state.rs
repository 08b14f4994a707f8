//! A mistyped `--state-dir`: the commands that only take something away
//! (`reset`, `reset --tuning`, `release`) refuse a state directory that
//! does not exist, naming it, and create nothing; the ones that record
//! something new (`pin`, `unpin`, `hold`) create it, as on a fresh machine.
use crate::live_support::Node;

#[test]
fn reset_and_release_refuse_a_missing_state_dir_and_create_nothing() {
    let n = Node::new("services:\n  api:\n    restart: [\"true\"]\n");
    let state = n.state();
    assert!(!state.exists());
    for args in [
        &["reset", "api", "--tuning"][..],
        &["reset", "api"],
        &["release", "api"],
    ] {
        let out = n.cli(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.contains(&state.display().to_string()) && err.contains("does not exist"),
            "{args:?} names the folder: {err}"
        );
        assert!(
            err.contains("hint:") && err.contains("--state-dir"),
            "{err}"
        );
        assert!(!state.exists(), "{args:?} created {}", state.display());
    }
}

#[test]
fn pin_and_hold_create_the_state_dir_on_first_use() {
    let n = Node::new("services:\n  api:\n    restart: [\"true\"]\n");
    let out = n.cli(&["pin", "api"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(n.state().join("overrides.json").is_file());
    let out = n.cli(&["release", "api"]);
    assert!(out.status.success(), "an existing state dir is fine");
}
