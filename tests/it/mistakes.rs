//! Mistakes are errors, not drift (SPEC §9): a `--node` that names no
//! folder in hosts/ and a `--world` that does not exist exit 1 with a
//! message that says what is known, before anything is executed, probed
//! or recorded.
use crate::support::{repo_root, Output, Run, NOW};

/// The sample fleet with `args`, state in the scratch directory.
fn sample(args: &[&str]) -> Output {
    let cli = Run::bare().sample_fleet();
    let state = cli.scratch().join("state");
    let out = cli.state(&state).args(args).run();
    assert!(
        !state.join("events.jsonl").exists(),
        "a mistake recorded a run\n{}",
        out.describe()
    );
    out
}

fn assert_unknown_node(out: &Output, typed: &str, suggestion: Option<&str>) {
    assert_eq!(out.code, 1, "{}", out.describe());
    assert!(
        out.stderr.contains(&format!("`{typed}`")),
        "the message names what was typed\n{}",
        out.describe()
    );
    assert!(
        out.stderr.contains("edge-01, gpu-box, nas"),
        "the message names the known nodes\n{}",
        out.describe()
    );
    if let Some(s) = suggestion {
        assert!(
            out.stderr.contains(&format!("did you mean `{s}`?")),
            "{}",
            out.describe()
        );
    }
    assert!(!out.stderr.contains("panicked"), "{}", out.describe());
    assert!(out.stdout.is_empty(), "nothing ran\n{}", out.describe());
}

#[test]
fn a_mistyped_node_is_an_error_for_every_command_that_executes_or_probes() {
    let cases: [&[&str]; 5] = [
        &["reconcile", "--no-probe"],
        &["reconcile", "--dry-run", "--no-probe"],
        &["reconcile", "--dry-run"],
        &["check"],
        &["watch", "--dry-run", "--no-probe"],
    ];
    for args in cases {
        let mut all = vec!["--node", "gpu-bx"];
        all.extend_from_slice(args);
        assert_unknown_node(&sample(&all), "gpu-bx", Some("gpu-box"));
    }
    // Nothing close: the known nodes, no guess.
    let out = sample(&["--node", "zzzzzzzz", "reconcile", "--dry-run"]);
    assert_unknown_node(&out, "zzzzzzzz", None);
    assert!(!out.stderr.contains("did you mean"), "{}", out.describe());
}

#[test]
fn observe_names_the_known_nodes_and_a_suggestion() {
    let cli = Run::bare();
    let out_dir = cli.scratch().join("observed");
    let out = cli
        .arg("--hosts")
        .arg(repo_root().join("hosts"))
        .args(["--node", "nass", "observe", "--out"])
        .arg(&out_dir)
        .run();
    assert_unknown_node(&out, "nass", Some("nas"));
    assert!(!out_dir.exists(), "nothing written");
}

/// Without `--node`, reconcile runs as the host name's node; a host name
/// that is no node in hosts/ would execute nothing for ever (a systemd
/// timer on a renamed machine), so it is an error too (docs/decisions.md).
#[test]
fn reconcile_on_a_host_that_is_no_node_is_an_error() {
    let host = nix::unistd::gethostname().unwrap();
    let host = host.to_string_lossy().into_owned();
    if ["edge-01", "gpu-box", "nas"].contains(&host.as_str()) {
        crate::support::skip("this machine's host name is a sample node");
        return;
    }
    let out = sample(&["reconcile", "--dry-run", "--no-probe"]);
    assert_unknown_node(&out, &host, None);
    assert!(out.stderr.contains("host name"), "{}", out.describe());
    assert!(out.stderr.contains("--node"), "{}", out.describe());
    // `check` treats every node alike and needs no local node.
    let out = sample(&["check"]);
    assert_eq!(out.code, 3, "{}", out.describe());
}

#[test]
fn a_missing_world_is_an_error_for_check_and_diff() {
    let cli = Run::bare();
    let missing = cli.scratch().join("no-such-world");
    for cmd in ["check", "diff"] {
        let out = Run::bare()
            .arg("--hosts")
            .arg(repo_root().join("hosts"))
            .arg("--world")
            .arg(&missing)
            .args(["--now", NOW, cmd])
            .run();
        assert_eq!(out.code, 1, "{}", out.describe());
        assert!(
            out.stderr.contains(&missing.display().to_string()),
            "the message names the path\n{}",
            out.describe()
        );
        assert!(out.stdout.is_empty(), "{}", out.describe());
    }
}
