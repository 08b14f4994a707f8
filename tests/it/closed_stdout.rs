//! A closed stdout (`supervisorctl audit | head -1`) ends a command quietly
//! with its normal exit code (SPEC §9 "Output"): no panic, no 101. The
//! read end of the pipe is closed before the command starts, so every write
//! it makes fails with EPIPE, whatever the size of its output.
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::support::{repo_root, NOW};

fn command(state: &Path, args: &[&str]) -> Command {
    let now = if args.contains(&"--now") {
        &[][..]
    } else {
        &["--now", NOW][..]
    };
    let root = repo_root();
    let mut cmd = crate::support::Run::bare().command();
    cmd.arg("--hosts")
        .arg(root.join("hosts"))
        .arg("--world")
        .arg(root.join("world-fixtures/sample/world"))
        .arg("--state-dir")
        .arg(state)
        .args(now)
        .args(args)
        .stdin(Stdio::null());
    cmd
}

/// Runs with stdout and stderr captured: (code, stdout, stderr).
fn normal(state: &Path, args: &[&str]) -> (i32, String, String) {
    let out = command(state, args).output().expect("run binary");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs with a stdout whose reader is already gone: (code, stderr).
fn closed(state: &Path, args: &[&str]) -> (i32, String) {
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    let mut child = command(state, args)
        .stdout(writer)
        .stderr(Stdio::piped())
        .spawn()
        .expect("run binary");
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("piped stderr")
        .read_to_string(&mut stderr)
        .expect("read stderr");
    let status = child.wait().expect("wait");
    (status.code().unwrap_or(-1), stderr)
}

#[test]
fn every_command_that_prints_ends_quietly_on_a_closed_stdout() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("state");
    // Records for status, audit, events and forecast to print.
    for now in ["2026-11-23T12:00:00Z", "2026-11-23T12:01:00Z"] {
        let (code, _, err) = normal(
            &state,
            &[
                "--node",
                "gpu-box",
                "--now",
                now,
                "reconcile",
                "--dry-run",
                "--no-probe",
            ],
        );
        assert_eq!(code, 3, "{err}");
    }
    let cases: [&[&str]; 14] = [
        &["validate"],
        &["check"],
        &["check", "--output", "json"],
        &["diff"],
        &["status"],
        &["status", "--output", "json"],
        &["audit"],
        &["audit", "--output", "json"],
        &["events"],
        &["policies"],
        &["policies", "--output", "json"],
        &["forecast"],
        &["forecast", "--output", "json"],
        &["--node", "gpu-box", "reconcile", "--dry-run", "--no-probe"],
    ];
    let scenario = repo_root().join("world-fixtures/scenarios/crash-loop");
    let scenario = scenario.to_str().expect("a UTF-8 path");
    // `replay` streams its steps then the score: it once had a writer of
    // its own, now the one writer (`commands::stdout`).
    let replays: [&[&str]; 3] = [
        &["replay", scenario],
        &["replay", scenario, "--output", "json"],
        &["replay", scenario, "--output", "html"],
    ];
    let mut failures = vec![];
    for args in cases.into_iter().chain(replays) {
        let (want, stdout, err) = normal(&state, args);
        assert!(!stdout.is_empty(), "{args:?} prints nothing\n{err}");
        assert_ne!(want, 1, "{args:?} fails on its own\n{err}");
        let (code, stderr) = closed(&state, args);
        if code != want || stderr.contains("panicked") || stderr.contains("Broken pipe") {
            failures.push(format!("{args:?}: exit {code} (normally {want})\n{stderr}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
