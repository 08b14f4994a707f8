//! A clock that went backwards (SPEC §9 "Clock"): a run at a time a month
//! ahead must not block restarts at the right time until `reset`.
use crate::live_support::Node;

#[test]
fn a_run_a_month_ahead_does_not_block_later_restarts() {
    let mut n = Node::new("");
    let yaml = format!(
        "services:\n  web:\n    process:\n      pidfile: {}\n    restart: [\"true\"]\n",
        n.path("never.pid").display()
    );
    std::fs::write(n.path("hosts/testnode/services.yaml"), yaml).unwrap();
    n.extra_pids.clear();
    // A month ahead: the service is dead and restarted.
    let r = n.reconcile("2026-12-23T12:00:00Z", &[]);
    assert_eq!(
        r.executed("web", "restart").map(|e| e["outcome"].clone()),
        Some("started".into()),
        "{:?}",
        r.events
    );
    // The clock is right again. The restart from "the future" counts as
    // now: a backoff of seconds, not a month.
    n.reconcile("2026-11-23T12:00:00Z", &[]);
    let r = n.reconcile("2026-11-23T12:02:00Z", &[]);
    let restart = r
        .executed("web", "restart")
        .unwrap_or_else(|| panic!("no restart: {:?}", r.events));
    assert_eq!(restart["outcome"], "started", "{restart}");
}

/// `--now` is the clock of every command: a hold made at a fixed time is
/// held since that time, not since the machine's clock.
#[test]
fn a_hold_is_held_since_now() {
    let n = Node::new("services:\n  api:\n    restart: [\"true\"]\n");
    let out = n.cli(&["--now", "2020-01-02T03:04:05Z", "hold", "api"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(n.state().join("overrides.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let since = &v["holds"]["testnode/api"]["since"];
    assert_eq!(since, "2020-01-02T03:04:05Z", "{text}");
}

/// A second `hold` keeps when the first began and its reason (unless it
/// gives one), and says it was already held.
#[test]
fn a_second_hold_keeps_the_first() {
    let n = Node::new("services:\n  api:\n    restart: [\"true\"]\n");
    let first = n.cli(&[
        "--now",
        "2020-01-02T03:04:05Z",
        "hold",
        "api",
        "--reason",
        "migration",
    ]);
    assert!(first.status.success());
    let again = n.cli(&["--now", "2020-01-03T00:00:00Z", "hold", "api"]);
    assert!(again.status.success());
    let said = String::from_utf8_lossy(&again.stdout);
    assert!(
        said.contains("already held since 2020-01-02T03:04:05Z (migration)"),
        "{said}"
    );
    let text = std::fs::read_to_string(n.state().join("overrides.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let hold = &v["holds"]["testnode/api"];
    assert_eq!(hold["since"], "2020-01-02T03:04:05Z", "{text}");
    assert_eq!(hold["reason"], "migration", "{text}");
}
