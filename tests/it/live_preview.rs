//! A side-effect-free live preview (SPEC §10): `check --live` probes this
//! node like `reconcile` and starts from the state directory's checkpoint,
//! but takes no lock and writes nothing; `diff --live` shows the probed
//! state instead of the world's records.
use crate::live_support::{write_file, Node, NODE};
use crate::support::snapshot;

#[test]
fn check_live_probes_like_reconcile_and_writes_nothing() {
    let mut n = Node::new("");
    let (pid, pidfile) = n.sleep_with_pidfile("up", "3600.71");
    let yaml = format!(
        "services:\n  up:\n    process:\n      pidfile: {}\n    restart: [\"true\"]\n  down:\n    process:\n      pidfile: {}\n    restart: [\"true\"]\n",
        pidfile.display(),
        n.path("none.pid").display()
    );
    write_file(&n.path(&format!("hosts/{NODE}/services.yaml")), &yaml);
    // A state directory with history: held service `down`.
    assert!(n.cli(&["hold", "down"]).status.success());
    let before = snapshot(&n.state());
    let out = n.cli(&[
        "check",
        "--live",
        "--output",
        "json",
        "--now",
        "2026-11-23T12:00:00Z",
    ]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let events: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let health = |s: &str| {
        events
            .iter()
            .find(|e| e["type"] == "health_changed" && e["service"] == s)
            .map(|e| e["to"].clone())
    };
    assert_eq!(health("up"), Some("healthy".into()), "probed live: {text}");
    assert_eq!(health("down"), Some("dead".into()), "probed live: {text}");
    let decision = events.iter().find(|e| e["type"] == "decision").unwrap();
    let actions = decision["actions"].as_array().unwrap();
    assert!(
        actions
            .iter()
            .any(|a| a["service"] == "down" && a["reason"] == "held"),
        "the overrides of the state directory apply: {decision}"
    );
    assert!(events.iter().all(|e| e["type"] != "action_executed"));
    assert_eq!(
        snapshot(&n.state()),
        before,
        "check --live wrote to the state directory"
    );
    assert!(crate::live_support::alive(pid));

    // `diff --live`: the probed side, not the (empty) world.
    let out = n.cli(&["diff", "--live"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(
        text.contains("+service down: stopped (no process)"),
        "{text}"
    );
    assert!(
        !text.contains("+service up"),
        "up matches the desired state: {text}"
    );
}

/// Issue: `check --live` demanded a world directory it does not need
/// (`reconcile` on the same setup works). It probes this node itself.
#[test]
fn check_live_needs_no_world_directory() {
    let n = Node::new("services:\n  a:\n    restart: [\"true\"]\n");
    std::fs::remove_dir_all(n.path("world")).unwrap();
    let live = n.cli(&["check", "--live", "--now", "2026-11-23T12:00:00Z"]);
    // Probed: no process for `a`, so it is missing (2), not an error (1).
    assert_eq!(
        live.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&live.stderr)
    );
    // A plain `check` still needs one: it compares with an observer's records.
    let plain = n.cli(&["check", "--now", "2026-11-23T12:00:00Z"]);
    assert_eq!(plain.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&plain.stderr).contains("world directory"));
}
