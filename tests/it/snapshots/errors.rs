//! Every user-facing error, whole: the exit code and the full stderr (and
//! stdout, which must stay empty or say nothing misleading). A doubled
//! message, a wrong position or a confusing hint shows in the snapshot.
//! Config errors come from the corpus in `config_errors/` (one broken
//! `services.yaml` each); the rest are built here.
use std::fs;
use std::path::{Path, PathBuf};

use super::{all_cases, assert_whole, render};
use crate::support::{repo_root, Output, Run, NOW};

/// The snapshot of `out`, its scratch directory shown as `[TMP]`.
fn assert_error(name: &str, out: &Output) {
    assert_ne!(out.code, 0, "an error exits non-zero\n{}", out.describe());
    assert!(!out.stderr.contains("panicked"), "{}", out.describe());
    assert_whole(
        &format!("error__{name}"),
        &render(out, &[(out.scratch(), "[TMP]")]),
    );
}

fn corpus() -> Vec<PathBuf> {
    let dir = repo_root().join("tests/it/snapshots/config_errors");
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .expect("the config error corpus")
        .map(|e| e.expect("an entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .expect("a name")
        .to_string_lossy()
        .into_owned()
}

/// A run whose hosts/ holds one node, `n1`, with `yaml` as its file.
fn with_config(subcommand: &str, yaml: &str) -> Run {
    let run = Run::new(subcommand);
    let node = run.scratch().join("hosts/n1");
    fs::create_dir_all(&node).expect("the node folder");
    fs::write(node.join("services.yaml"), yaml).expect("services.yaml");
    let hosts = run.scratch().join("hosts");
    run.hosts(hosts)
}

#[test]
fn every_config_error_whole_stderr() {
    let files = corpus();
    assert!(files.len() >= 10, "the corpus of broken files");
    all_cases(
        &files,
        |f| stem(f),
        |file| {
            let yaml = fs::read_to_string(file).expect("a corpus file");
            let out = with_config("validate", &yaml).run();
            assert_eq!(out.code, 1, "{}", out.describe());
            assert_error(&format!("config__{}", stem(file)), &out);
        },
    );
}

/// `check` reports a broken file exactly as `validate` does, and runs
/// nothing.
#[test]
fn check_of_a_broken_config_whole_stderr() {
    let yaml = fs::read_to_string(
        repo_root().join("tests/it/snapshots/config_errors/several_errors.yaml"),
    )
    .expect("a corpus file");
    let run = with_config("check", &yaml);
    let world = run.scratch().join("world");
    fs::create_dir_all(&world).expect("a world");
    let out = run.world(world).now(NOW).run();
    assert!(out.stdout.is_empty(), "{}", out.describe());
    assert_error("check_broken_config", &out);
}

/// A named way to set up a run.
type Setup = (&'static str, fn() -> Run);

/// The sample fleet and world, a state directory in the scratch one.
fn sample(subcommand: &str) -> Run {
    let root = repo_root();
    let run = Run::new(subcommand);
    let state = run.scratch().join("state");
    run.hosts(root.join("hosts"))
        .world(root.join("world-fixtures/sample/world"))
        .state(state)
}

fn state_of(run: &Run) -> PathBuf {
    let state = run.scratch().join("state");
    fs::create_dir_all(&state).expect("a state dir");
    state
}

#[test]
fn usage_errors_whole_stderr() {
    let cases: [(&str, &[&str]); 9] = [
        ("unknown_flag", &["reconcile", "--wiat", "30s"]),
        ("bad_duration", &["reconcile", "--wait", "banana"]),
        ("duration_too_large", &["watch", "--interval", "366d"]),
        ("bad_now", &["--now", "yesterday", "check"]),
        ("unknown_subcommand", &["frobnicate"]),
        ("no_subcommand", &[]),
        ("negative_limit", &["audit", "--limit", "-3"]),
        ("bad_output", &["check", "--output", "yaml"]),
        ("bad_shard", &["check", "--shard", "4/3"]),
    ];
    all_cases(
        &cases,
        |(name, _)| name.to_string(),
        |(name, args)| {
            let out = Run::bare().args(*args).run();
            assert_eq!(out.code, 1, "a usage error exits 1\n{}", out.describe());
            assert_error(&format!("usage__{name}"), &out);
        },
    );
}

#[test]
fn a_mistyped_node_or_world_whole_stderr() {
    let out = sample("check").node("gpu-bx").now(NOW).run();
    assert_error("node_typo", &out);
    let out = sample("reconcile")
        .args(["--dry-run", "--no-probe"])
        .node("nass")
        .now(NOW)
        .run();
    assert_error("node_typo_reconcile", &out);
    let root = repo_root();
    let out = Run::new("check")
        .hosts(root.join("hosts"))
        .world(root.join("world-fixtures/sampel/world"))
        .now(NOW)
        .run();
    assert_error("world_missing", &out);
}

#[test]
fn a_held_lock_whole_stderr() {
    let run = sample("reconcile")
        .args(["--dry-run", "--no-probe"])
        .node("gpu-box")
        .now(NOW);
    let lock = state_of(&run).join("lock");
    let file = fs::File::create(&lock).expect("the lock file");
    file.try_lock().expect("hold the lock");
    fs::write(&lock, format!("{}\n", std::process::id())).expect("a pid");
    let out = run.run();
    assert_error("lock_held", &out);
    drop(file);
}

fn with_file(run: Run, name: &str, bytes: &[u8]) -> Run {
    fs::write(state_of(&run).join(name), bytes).expect("write the file");
    run
}

#[test]
fn an_unusable_overrides_file_whole_stderr() {
    let garbage = b"{\"version\": 1, \"pins\": ";
    let cases: [Setup; 4] = [
        ("reconcile", || {
            sample("reconcile")
                .args(["--dry-run", "--no-probe"])
                .node("gpu-box")
                .now(NOW)
        }),
        ("pin", || sample("pin").arg("gpu-box/llama-70b")),
        ("hold", || sample("hold").arg("gpu-box/llama-70b")),
        ("status", || sample("status").node("gpu-box")),
    ];
    all_cases(
        &cases,
        |(name, _)| name.to_string(),
        |(name, make)| {
            let out = with_file(make(), "overrides.json", garbage).run();
            assert_error(&format!("overrides_corrupt__{name}"), &out);
        },
    );
    // `check --overrides FILE`, and a file of another version.
    let run = Run::new("check");
    let file = run.scratch().join("overrides.json");
    fs::write(&file, garbage).expect("overrides");
    let root = repo_root();
    let out = run
        .hosts(root.join("hosts"))
        .world(root.join("world-fixtures/sample/world"))
        .arg("--overrides")
        .arg(&file)
        .now(NOW)
        .run();
    assert_error("overrides_corrupt__check", &out);
    let out = with_file(
        sample("pin").arg("gpu-box/llama-70b"),
        "overrides.json",
        b"{\"version\": 2}",
    )
    .run();
    assert_error("overrides_version", &out);
}

/// A corrupt checkpoint given to `check` is an error; in a state dir it is
/// set aside with a warning and the run goes on (the fixture
/// `checkpoint-corrupt-set-aside`), but `status` refuses it.
#[test]
fn a_corrupt_checkpoint_whole_stderr() {
    let run = Run::new("check");
    let file = run.scratch().join("checkpoint.json");
    fs::write(&file, b"\x00garbage").expect("checkpoint");
    let root = repo_root();
    let out = run
        .hosts(root.join("hosts"))
        .world(root.join("world-fixtures/sample/world"))
        .arg("--checkpoint")
        .arg(&file)
        .now(NOW)
        .run();
    if out.code != 0 {
        assert_error("checkpoint_corrupt__check", &out);
    } else {
        assert_whole(
            "error__checkpoint_corrupt__check",
            &render(&out, &[(out.scratch(), "[TMP]")]),
        );
    }
    let out = with_file(
        sample("status").node("gpu-box"),
        "checkpoint.json",
        b"{\"version\": 1, ",
    )
    .run();
    assert_error("checkpoint_corrupt__status", &out);
}

#[test]
fn unknown_names_whole_stderr() {
    let out = sample("pin").arg("gpu-box/llama70b").run();
    assert_error("pin_unknown_service_close", &out);
    let out = sample("pin").arg("gpu-box/xyzzy").run();
    assert_error("pin_unknown_service", &out);
    let out = sample("hold").arg("nass/postgres").run();
    assert_error("hold_unknown_node", &out);
    let out = sample("pin").arg("postgress").run();
    assert_error("pin_unknown_bare_service", &out);
    let run = Run::new("events");
    let log = run.scratch().join("events.jsonl");
    fs::write(&log, b"").expect("a log");
    let out = run
        .arg("--events")
        .arg(&log)
        .args(["--type", "helth_changed"])
        .run();
    assert_error("events_unknown_type", &out);
}

/// As root a state directory that others can write is refused; without
/// root this cannot be set up.
#[test]
fn an_untrusted_state_dir_whole_stderr() {
    use std::os::unix::fs::PermissionsExt;
    if !nix::unistd::geteuid().is_root() {
        crate::support::skip("needs root");
        return;
    }
    let run = sample("reconcile")
        .args(["--dry-run", "--no-probe"])
        .node("gpu-box")
        .now(NOW);
    let state = state_of(&run);
    fs::set_permissions(&state, fs::Permissions::from_mode(0o777)).expect("chmod");
    let out = run.run();
    assert_error("state_dir_untrusted", &out);
}

/// `replay` of a folder that is no scenario, and of scenarios with a
/// problem in `scenario.yaml`.
#[test]
fn a_broken_scenario_whole_stderr() {
    let out = Run::new("replay").arg("no-such-scenario").run();
    assert_error("replay_not_a_scenario", &out);
    let cases: [(&str, &str); 3] = [
        ("steps_not_a_list", "steps: nope\n"),
        (
            "world_missing",
            "start: 2026-11-20T12:00:00Z\nnode: n1\nsteps:\n  - at: 0s\n    world: steps/00\n",
        ),
        (
            "unknown_node",
            "start: 2026-11-20T12:00:00Z\nnode: n2\nsteps:\n  - at: 0s\n    world: steps/00\n",
        ),
    ];
    all_cases(
        &cases,
        |(name, _)| name.to_string(),
        |(name, yaml)| {
            let run = Run::new("replay");
            let dir = run.scratch().join("scenario");
            fs::create_dir_all(dir.join("hosts/n1")).expect("hosts");
            fs::write(dir.join("hosts/n1/services.yaml"), "services: {}\n").expect("services.yaml");
            fs::write(dir.join("scenario.yaml"), yaml).expect("scenario.yaml");
            let out = run.arg("scenario").run();
            assert_error(&format!("replay__{name}"), &out);
        },
    );
}
