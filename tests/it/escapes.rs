//! Text from world files or commands never reaches a terminal raw (SPEC §9
//! "Output"): in human output, control characters are shown escaped; JSON
//! output carries the text exactly (JSON escapes it).
use std::path::{Path, PathBuf};

use crate::support::{copy_tree, repo_root, Run, NOW};

/// An OSC sequence that would retitle the terminal, then ring the bell.
const HOSTILE: &str = "\u{1b}]0;pwned\u{7}";
const SHOWN: &str = "\\x1b]0;pwned\\x07";

/// The fixture with an open incident, its summary made hostile, and a
/// service record whose bad value carries a CSI (C1) and a newline.
fn hostile_world(dir: &Path) -> (PathBuf, PathBuf) {
    let case = repo_root().join("world-fixtures/incident-warning-open");
    let (hosts, world) = (dir.join("hosts"), dir.join("world"));
    copy_tree(&case.join("hosts"), &hosts);
    copy_tree(&case.join("world"), &world);
    let incident = serde_json::json!({
        "id": "INC-101", "node": "n1", "service": "api", "severity": "warning",
        "status": "open", "opened_at": "2026-11-23T11:20:00Z",
        "summary": format!("latency {HOSTILE} high\r\nforged: line"),
    });
    std::fs::write(world.join("incidents/INC-101.json"), incident.to_string()).unwrap();
    let web = serde_json::json!({"status": "o\u{9b}31mk\n", "observed_at": "2026-11-23T11:59:30Z"});
    std::fs::write(world.join("services/n1/web.json"), web.to_string()).unwrap();
    (hosts, world)
}

fn assert_escaped(text: &str, context: &str) {
    for c in text.chars() {
        assert!(
            c == '\n' || !(c.is_control()),
            "{context}: raw control character {c:?} in:\n{text}"
        );
    }
}

#[test]
fn check_escapes_world_text_in_human_output() {
    let dir = tempfile::tempdir().unwrap();
    let (hosts, world) = hostile_world(dir.path());
    let out = Run::bare()
        .arg("--hosts")
        .arg(&hosts)
        .arg("--world")
        .arg(&world)
        .args(["--now", NOW, "check"])
        .run();
    assert_eq!(out.code, 2, "{}", out.describe());
    assert!(!out.stdout.contains('\u{1b}'), "{}", out.describe());
    assert_escaped(&out.stdout, "check stdout");
    assert_escaped(&out.stderr, "check stderr");
    assert!(out.stdout.contains(SHOWN), "{}", out.describe());
    assert!(
        out.stdout.contains("high\\r\\nforged: line"),
        "{}",
        out.describe()
    );
    assert!(!out.stdout.contains("\nforged"), "{}", out.describe());

    // JSON output keeps the text exactly.
    let out = Run::bare()
        .arg("--hosts")
        .arg(&hosts)
        .arg("--world")
        .arg(&world)
        .args(["--now", NOW, "--output", "json", "check"])
        .run();
    let events = out.expect_events();
    assert!(
        events
            .iter()
            .any(|e| e["detail"].as_str().is_some_and(|d| d.contains(HOSTILE))),
        "{}",
        out.describe()
    );
}

#[test]
fn reconcile_and_audit_escape_world_text() {
    let dir = tempfile::tempdir().unwrap();
    let (hosts, world) = hostile_world(dir.path());
    let state = dir.path().join("state");
    let base = |cli: Run| {
        cli.arg("--hosts")
            .arg(&hosts)
            .arg("--world")
            .arg(&world)
            .arg("--state-dir")
            .arg(&state)
            .args(["--node", "n1", "--now", NOW])
    };
    let out = base(Run::bare())
        .args(["reconcile", "--dry-run", "--no-probe"])
        .run();
    assert_eq!(out.code, 2, "{}", out.describe());
    assert_escaped(&out.stdout, "reconcile stdout");
    assert_escaped(&out.stderr, "reconcile stderr");
    assert!(out.stdout.contains(SHOWN), "{}", out.describe());
    for cmd in ["audit", "status"] {
        let out = base(Run::bare()).arg(cmd).run();
        assert_eq!(out.code, 0, "{}", out.describe());
        assert_escaped(&out.stdout, cmd);
        assert_escaped(&out.stderr, cmd);
    }
}

/// A decision record whose action reason carries a command's stderr.
#[test]
fn audit_escapes_reasons_and_names_from_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("events.jsonl");
    let decision = serde_json::json!({
        "ts": NOW, "run_id": "r1", "seq": 1, "type": "decision", "node": "n\u{7f}1",
        "actions": [{"service": "web", "action": "restart", "outcome": "failed",
            "reason": format!("exit 1: {HOSTILE}\ttab")}],
        "conflicts": [{"service": "w\u{1b}[2Jeb", "winner": {"policy": "safety", "action": "keep"},
            "loser": {"policy": "idle_eviction", "action": "evict"}}],
    });
    std::fs::write(&log, format!("{decision}\n")).unwrap();
    let out = Run::bare().arg("--events").arg(&log).arg("audit").run();
    assert_eq!(out.code, 0, "{}", out.describe());
    assert_escaped(&out.stdout, "audit");
    assert!(out.stdout.contains(SHOWN), "{}", out.describe());
    assert!(out.stdout.contains("\\ttab"), "{}", out.describe());
    assert!(out.stdout.contains("n\\x7f1"), "{}", out.describe());
    assert!(out.stdout.contains("w\\x1b[2Jeb"), "{}", out.describe());
    let out = Run::bare()
        .arg("--events")
        .arg(&log)
        .args(["--output", "json", "audit"])
        .run();
    assert_eq!(out.expect_events(), [decision], "JSON is unchanged");
}

/// `events` prints the log's lines, which JSON keeps free of C0; DEL and
/// C1 may stand raw in a JSON string, so they are printed as `\u` escapes:
/// the same JSON value, no raw control character.
#[test]
fn events_print_del_and_c1_as_json_escapes() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("events.jsonl");
    let event = serde_json::json!({"ts": NOW, "type": "drift_detected", "detail": "a\u{9b}2Jb\u{7f}c\u{1b}"});
    std::fs::write(&log, format!("{event}\n")).unwrap();
    let out = Run::bare().arg("--events").arg(&log).arg("events").run();
    assert_eq!(out.code, 0, "{}", out.describe());
    assert_escaped(&out.stdout, "events");
    assert!(
        out.stdout.contains("a\\u009b2Jb\\u007fc\\u001b"),
        "{}",
        out.describe()
    );
    assert_eq!(out.expect_events(), [event], "the same JSON value");
}

/// Issue: raw C1 controls, DEL and bidi overrides from world strings
/// reached `--output json` and events.jsonl (`serde_json` escapes only C0).
/// Every JSON line the tool writes carries them as `\u` escapes.
#[test]
fn json_output_and_the_event_log_carry_no_raw_c1_or_bidi_control() {
    let dir = tempfile::tempdir().unwrap();
    let (hosts, world) = hostile_world(dir.path());
    let incident = serde_json::json!({
        "id": "INC-101", "node": "n1", "service": "api", "severity": "warning",
        "status": "open", "opened_at": "2026-11-23T11:20:00Z",
        "summary": "evil\u{202e}txt.exe \u{9b}31m \u{7f} \u{2066}x",
    });
    std::fs::write(world.join("incidents/INC-101.json"), incident.to_string()).unwrap();
    let state = dir.path().join("state");
    let out = Run::bare()
        .arg("--hosts")
        .arg(&hosts)
        .arg("--world")
        .arg(&world)
        .arg("--state-dir")
        .arg(&state)
        .args([
            "--node",
            "n1",
            "--now",
            NOW,
            "--output",
            "json",
            "reconcile",
            "--dry-run",
            "--no-probe",
        ])
        .run();
    assert_eq!(out.code, 2, "{}", out.describe());
    let bad = |c: char| matches!(c, '\u{7f}'..='\u{9f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
    assert!(!out.stdout.chars().any(bad), "{}", out.describe());
    assert!(
        out.stdout
            .contains("evil\\u202etxt.exe \\u009b31m \\u007f \\u2066x"),
        "{}",
        out.describe()
    );
    let log = std::fs::read_to_string(state.join("events.jsonl")).unwrap();
    assert!(!log.chars().any(bad), "{log}");
    let cp = std::fs::read_to_string(state.join("checkpoint.json")).unwrap();
    assert!(!cp.chars().any(bad), "{cp}");
    // The same values for any JSON reader.
    for line in out.stdout.lines() {
        serde_json::from_str::<serde_json::Value>(line).expect("valid JSON");
    }
}
