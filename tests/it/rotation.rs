//! Rotation of the event log (SPEC §7): with a small limit
//! (`SUPERVISORCTL_EVENTS_MAX_BYTES`), runs rotate `events.jsonl` to
//! `.1` … `.KEEP`; `seq` continues across the files with no gap or repeat,
//! `events` and `audit` read the rotated files oldest first, and
//! `events --follow` keeps following after a rotation.
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc::channel;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::parse_json_lines;

/// About one and a half runs of the sample fixture (some 9.7 KB each).
const MAX_BYTES: &str = "15000";

fn bin() -> Command {
    let mut cmd = crate::support::Run::bare().command();
    cmd.env_remove("SUPERVISORCTL_EVENTS_MAX_BYTES")
        .env_remove("SUPERVISORCTL_EVENTS_KEEP")
        .stdin(Stdio::null());
    cmd
}

/// One `reconcile --dry-run` with rotation at `MAX_BYTES`, keeping `keep`.
fn dry_run(state: &Path, keep: u32) -> Output {
    let out = crate::support::sample_dry_run(state)
        .env("SUPERVISORCTL_EVENTS_MAX_BYTES", MAX_BYTES)
        .env("SUPERVISORCTL_EVENTS_KEEP", keep.to_string())
        .command()
        .output()
        .expect("run supervisorctl");
    assert!(
        matches!(out.status.code(), Some(2 | 3)),
        "reconcile: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The log's files that exist, oldest first (`.N` … `.1`, the log).
fn files(state: &Path) -> Vec<PathBuf> {
    let log = state.join("events.jsonl");
    // Rotation keeps at most 1,000 files.
    let mut all: Vec<PathBuf> = (1..=1000)
        .map(|n| state.join(format!("events.jsonl.{n}")))
        .take_while(|p| p.exists())
        .collect();
    all.reverse();
    all.push(log);
    all
}

fn history(state: &Path) -> String {
    files(state)
        .iter()
        .map(|p| std::fs::read_to_string(p).expect("read a log file"))
        .collect()
}

fn seqs(events: &[Value]) -> Vec<u64> {
    events
        .iter()
        .map(|e| e["seq"].as_u64().expect("seq"))
        .collect()
}

fn read_cmd(args: &[&str], log: &Path) -> String {
    let out = bin()
        .args(args)
        .arg("--events")
        .arg(log)
        .output()
        .expect("run supervisorctl");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8")
}

#[test]
fn runs_rotate_keep_at_most_keep_files_and_seq_continues() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    for _ in 0..12 {
        dry_run(&state, 3);
    }
    assert!(
        state.join("events.jsonl.1").exists(),
        "the log never rotated"
    );
    assert!(state.join("events.jsonl.3").exists());
    assert!(
        !state.join("events.jsonl.4").exists(),
        "more than keep files"
    );
    let text = history(&state);
    let events = parse_json_lines(&text).unwrap();
    let seqs = seqs(&events);
    assert!(
        seqs.windows(2).all(|w| w[1] == w[0] + 1),
        "seq has a gap or a repeat: {seqs:?}"
    );
    // The current log starts with a run: rotation falls between runs.
    let current = std::fs::read_to_string(state.join("events.jsonl")).unwrap();
    let first = parse_json_lines(&current).unwrap();
    assert_eq!(first[0]["type"], "run_started");

    // `events` prints every event of every file, oldest first.
    let log = state.join("events.jsonl");
    assert_eq!(read_cmd(&["events"], &log), text);
    let tail = read_cmd(&["events", "-n", "1000"], &log);
    assert_eq!(tail, text);

    // `audit --limit` reaches decisions in the rotated files.
    let decisions = events.iter().filter(|e| e["type"] == "decision").count();
    let in_current = first.iter().filter(|e| e["type"] == "decision").count();
    assert!(decisions > in_current);
    let audit = read_cmd(
        &[
            "audit",
            "--output",
            "json",
            "--limit",
            &decisions.to_string(),
        ],
        &log,
    );
    let got = parse_json_lines(&audit).unwrap();
    assert_eq!(got.len(), decisions);
    assert!(got[0]["seq"].as_u64() < first[0]["seq"].as_u64());
    assert!(got
        .windows(2)
        .all(|w| w[0]["seq"].as_u64() < w[1]["seq"].as_u64()));
}

#[test]
fn with_nothing_deleted_seq_runs_from_one_across_all_files() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    for _ in 0..6 {
        dry_run(&state, 20);
    }
    let all = files(&state);
    assert!(all.len() >= 3, "expected several rotations: {all:?}");
    let events = parse_json_lines(&history(&state)).unwrap();
    let want: Vec<u64> = (1..=events.len() as u64).collect();
    assert_eq!(seqs(&events), want);
    // The checkpoint agrees with the log.
    let cp: Value =
        serde_json::from_str(&std::fs::read_to_string(state.join("checkpoint.json")).unwrap())
            .unwrap();
    if let Some(next) = cp.get("next_seq") {
        assert_eq!(next.as_u64(), Some(events.len() as u64 + 1));
    }
}

#[test]
fn seq_continues_from_a_rotated_file_when_the_log_is_empty() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    dry_run(&state, 5);
    dry_run(&state, 5);
    // As if a run rotated and then could not append, its checkpoint lost.
    let log = state.join("events.jsonl");
    std::fs::rename(&log, state.join("events.jsonl.1")).unwrap();
    std::fs::remove_file(state.join("checkpoint.json")).unwrap();
    dry_run(&state, 5);
    let events = parse_json_lines(&history(&state)).unwrap();
    let want: Vec<u64> = (1..=events.len() as u64).collect();
    assert_eq!(seqs(&events), want);
}

#[test]
fn follow_keeps_printing_after_a_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    dry_run(&state, 5);
    let log = state.join("events.jsonl");
    let mut child = bin()
        .arg("events")
        .arg("--events")
        .arg(&log)
        .arg("--follow")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start events --follow");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for l in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(l).is_err() {
                return;
            }
        }
    });
    // Give the follower time to reach the end of the current log.
    std::thread::sleep(Duration::from_millis(500));
    let mut last = None;
    for _ in 0..4 {
        let out = dry_run(&state, 5);
        let lines = parse_json_lines(&String::from_utf8_lossy(&out.stdout)).unwrap();
        last = lines[0]["seq"].as_u64();
    }
    assert!(
        state.join("events.jsonl.1").exists(),
        "no rotation happened"
    );
    let want = last.unwrap();
    let started = Instant::now();
    let mut seen = false;
    while !seen && started.elapsed() < Duration::from_secs(30) {
        if let Ok(l) = rx.recv_timeout(Duration::from_millis(200)) {
            let v: Value = serde_json::from_str(&l).unwrap();
            seen = v["type"] == "run_started" && v["seq"].as_u64() == Some(want);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        seen,
        "the follower never printed the last run's run_started (seq {want})"
    );
}
