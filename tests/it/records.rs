//! What runs leave behind: `reconcile` appends whole event lines with a
//! continuous `seq` and writes a versioned checkpoint in a private state
//! directory; `check` writes nothing at all.
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use serde_json::Value;

use crate::support::{copy_tree, parse_json_lines, repo_root, snapshot, Output, Run, NOW};

fn dry_run(state: &Path) -> Output {
    crate::support::sample_dry_run(state).run()
}

#[test]
fn dry_runs_append_whole_lines_with_continuous_seq() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("state");
    let first = dry_run(&state);
    assert!(matches!(first.code, 2 | 3), "{}", first.describe());
    let second = dry_run(&state);
    assert!(matches!(second.code, 2 | 3), "{}", second.describe());

    let log = fs::read_to_string(state.join("events.jsonl")).expect("events.jsonl");
    assert!(log.ends_with('\n'), "the log ends inside a line");
    let events = parse_json_lines(&log).unwrap_or_else(|e| panic!("events.jsonl: {e}"));
    let seqs: Vec<u64> = events
        .iter()
        .map(|e| e["seq"].as_u64().expect("a numeric seq"))
        .collect();
    let expected: Vec<u64> = (1..=events.len() as u64).collect();
    assert_eq!(seqs, expected, "seq must run 1..N across both runs");

    // stdout carries exactly the lines appended to the log
    assert_eq!(log, format!("{}{}", first.stdout, second.stdout));
    let split = first.expect_events().len();
    assert!(split > 0 && split < events.len());
    assert_eq!(
        events[split]["type"], "run_started",
        "the second run starts a new run"
    );
    assert_eq!(events[split - 1]["type"], "run_finished");

    let text = fs::read_to_string(state.join("checkpoint.json")).expect("checkpoint.json");
    let checkpoint: Value = serde_json::from_str(&text).expect("the checkpoint is JSON");
    assert_eq!(checkpoint["version"], 1);
    if let Some(next) = checkpoint.get("next_seq") {
        assert_eq!(next.as_u64(), Some(events.len() as u64 + 1), "next_seq");
    }

    let mode = fs::metadata(&state)
        .expect("state dir")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o700, "state dir mode is {:o}", mode & 0o777);
}

#[test]
fn dry_run_executes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("state");
    let out = dry_run(&state);
    let events = out.expect_events();
    let executed: Vec<&Value> = events
        .iter()
        .filter(|e| e["type"] == "action_executed")
        .collect();
    assert!(
        !executed.is_empty(),
        "the sample has due actions on gpu-box"
    );
    for e in executed {
        assert_eq!(e["outcome"], "skipped", "{e}");
        assert_eq!(e["node"], "gpu-box", "only the local node acts: {e}");
    }
    assert!(
        !state.join("fallbacks.json").exists(),
        "a dry run wrote fallbacks.json"
    );
}

#[test]
fn check_writes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let world = dir.path().join("world");
    copy_tree(&repo_root().join("world-fixtures/sample/world"), &world);
    let state = dir.path().join("state");
    fs::create_dir(&state).expect("state dir");
    let before = snapshot(dir.path());

    let cli = Run::bare();
    let xdg = cli.scratch().join("xdg-state");
    let out = cli
        .args(["check", "--state-dir"])
        .arg(&state)
        .arg("--hosts")
        .arg(repo_root().join("hosts"))
        .arg("--world")
        .arg(&world)
        .args(["--now", NOW, "--output", "json"])
        .run();
    assert!(matches!(out.code, 2 | 3), "{}", out.describe());
    assert!(!out.expect_events().is_empty());
    assert_eq!(snapshot(dir.path()), before, "check changed files");
    assert!(fs::read_dir(&state).expect("state dir").next().is_none());
    assert!(!xdg.exists(), "check created the default state dir");
}

#[test]
fn check_leaves_a_corrupt_checkpoint_in_place() {
    let dir = tempfile::tempdir().expect("tempdir");
    let case = repo_root().join("world-fixtures/checkpoint-corrupt-set-aside");
    let checkpoint = dir.path().join("checkpoint.json");
    fs::copy(case.join("checkpoint.json"), &checkpoint).expect("copy checkpoint");
    let before = snapshot(dir.path());
    let out = Run::bare()
        .arg("check")
        .arg("--hosts")
        .arg(case.join("hosts"))
        .arg("--world")
        .arg(case.join("world"))
        .arg("--checkpoint")
        .arg(&checkpoint)
        .args(["--now", NOW, "--output", "json", "--node", "n1"])
        .run();
    assert!(matches!(out.code, 2 | 3), "{}", out.describe());
    let events = out.expect_events();
    assert!(
        events.iter().any(|e| e["type"] == "observation_invalid"
            && e["path"]
                .as_str()
                .is_some_and(|p| p.ends_with("checkpoint.json"))),
        "no observation_invalid for the checkpoint\n{}",
        out.describe()
    );
    assert_eq!(
        snapshot(dir.path()),
        before,
        "check moved or rewrote the checkpoint"
    );
}

/// Issue: a pinned model past its idle timeout logged `drift_detected idle`
/// and `conflict_resolved` on every run, forever; an open incident its
/// drift and advice. A reconcile says a persisting condition once, counts
/// it as `unchanged` after, and says it again once it is gone and back.
#[test]
fn a_persisting_condition_is_said_once() {
    let (_dir, hosts, world, state) = crate::support::fixture_copy("conflict-keep-vs-idle-evict");
    let run = |now: &str| {
        crate::support::Run::bare()
            .hosts(&hosts)
            .world(&world)
            .state(&state)
            .node("n1")
            .args(["--now", now, "reconcile", "--dry-run", "--no-probe"])
            .output_json()
            .run()
            .expect_events()
    };
    let of = |events: &[serde_json::Value], ty: &str| {
        events
            .iter()
            .filter(|e| e["type"] == ty && e["service"] == "chat-70b")
            .count()
    };
    let first = run("2026-11-23T12:00:00Z");
    assert_eq!(of(&first, "conflict_resolved"), 1, "{first:?}");
    assert_eq!(of(&first, "drift_detected"), 1, "{first:?}");
    for now in ["2026-11-23T12:01:00Z", "2026-11-23T12:02:00Z"] {
        let again = run(now);
        assert_eq!(of(&again, "conflict_resolved"), 0, "{again:?}");
        assert_eq!(of(&again, "drift_detected"), 0, "{again:?}");
        let finished = again.last().unwrap();
        assert_eq!(finished["counts"]["unchanged"], 2, "{finished}");
        assert_eq!(finished["state"], "nominal");
    }
    // `check` says everything, every time.
    let check = crate::support::Run::bare()
        .hosts(&hosts)
        .world(&world)
        .state(&state)
        .node("n1")
        .args(["--now", "2026-11-23T12:03:00Z", "check"])
        .output_json()
        .run()
        .expect_events();
    assert_eq!(of(&check, "conflict_resolved"), 1, "{check:?}");
}

/// Issue: whoever writes the world filled the state directory: 200
/// incidents with 500 KB summaries made one run append 200 MB of events and
/// write a 200 MB checkpoint (over its 64 MiB limit: set aside next run,
/// with every attempt and backoff). Summaries are cut in events and the
/// checkpoint keeps digests of what it reported.
#[test]
fn huge_incident_summaries_cannot_fill_the_state_directory() {
    let (_dir, hosts, world, state) = crate::support::fixture_copy("incident-warning-open");
    let summary = "x".repeat(500_000);
    for i in 0..50 {
        let inc = serde_json::json!({"id": format!("BIG-{i}"), "node": "n1", "severity": "warning",
            "status": "open", "opened_at": "2026-11-23T11:00:00Z", "summary": summary});
        std::fs::write(
            world.join(format!("incidents/BIG-{i}.json")),
            inc.to_string(),
        )
        .unwrap();
    }
    for now in ["2026-11-23T12:00:00Z", "2026-11-23T12:01:00Z"] {
        let out = crate::support::Run::bare()
            .hosts(&hosts)
            .world(&world)
            .state(&state)
            .node("n1")
            .args(["--now", now, "reconcile", "--dry-run", "--no-probe"])
            .run();
        assert!(out.code == 2 || out.code == 3, "{}", out.describe());
    }
    let log = std::fs::metadata(state.join("events.jsonl")).unwrap().len();
    let cp = std::fs::metadata(state.join("checkpoint.json"))
        .unwrap()
        .len();
    assert!(log < 200_000, "{log} bytes of events for 50 incidents");
    assert!(cp < 50_000, "a {cp}-byte checkpoint");
    let text = std::fs::read_to_string(state.join("events.jsonl")).unwrap();
    assert!(text.contains("… (499500 more bytes)"), "the cut is said");
}
