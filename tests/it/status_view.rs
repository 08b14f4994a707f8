//! `status` as an operator reads it: as of when, pins and holds with their
//! reason, no backoff that is already over.
use crate::live_support::{write_file, Node, NODE};

#[test]
fn status_shows_holds_pins_and_only_current_backoffs() {
    let n = Node::new("");
    write_file(
        &n.path(&format!("hosts/{NODE}/services.yaml")),
        &format!(
            "services:\n  web:\n    process:\n      pidfile: {}\n    restart: [\"true\"]\n  db:\n    restart: [\"true\"]\n",
            n.path("none.pid").display()
        ),
    );
    // A restart long ago: its backoff is over.
    n.reconcile("2020-01-01T00:00:00Z", &[]);
    assert!(n
        .cli(&["hold", "db", "--reason", "migration"])
        .status
        .success());
    assert!(n.cli(&["pin", "web"]).status.success());
    let out = n.cli(&["status"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("as of 2020-01-01T00:00:00Z"), "{text}");
    assert!(text.contains("held since"), "{text}");
    assert!(text.contains(": migration"), "{text}");
    assert!(text.contains("pinned"), "{text}");
    assert!(
        !text.contains("backoff until"),
        "a backoff from 2020 is over: {text}"
    );
    let out = n.cli(&["status", "--output", "json"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(r#""reason":"migration""#), "{text}");
    assert!(text.contains(r#""pinned":true"#), "{text}");
}

/// Times for people: relative to the run the status describes ("3m ago",
/// "in 12s"), a hold's to the second; `--output json` keeps RFC 3339.
#[test]
fn status_times_read_relative_to_the_run() {
    let n = Node::new("");
    write_file(
        &n.path(&format!("hosts/{NODE}/services.yaml")),
        &format!(
            "supervisor:\n  max_restart_attempts: 1\n  breaker_retry: 5m\nservices:\n  web:\n    process:\n      pidfile: {}\n    restart: [\"false\"]\n",
            n.path("none.pid").display()
        ),
    );
    // A failed first start at 11:59, then a failed restart at 12:00 opens
    // the circuit (one attempt at most; a first start is not a restart).
    n.reconcile("2026-11-23T11:59:00Z", &[]);
    n.reconcile("2026-11-23T12:00:00Z", &[]);
    let out = n.cli(&["--now", "2026-11-23T12:03:00Z", "status"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("as of 2026-11-23T12:00:00Z (3m ago)"),
        "{text}"
    );
    assert!(text.contains("last: restart failed just now"), "{text}");
    assert!(text.contains("next trial in 5m"), "{text}");
    // A hold set at the wall clock, after that run: to the second.
    assert!(n.cli(&["hold", "web"]).status.success());
    let text = String::from_utf8_lossy(&n.cli(&["status"]).stdout).into_owned();
    let since = text
        .split("held since ")
        .nth(1)
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("{text}"));
    assert_eq!(since.len(), "2026-11-27T16:42:52Z".len(), "{text}");
    let json = String::from_utf8_lossy(&n.cli(&["status", "--output", "json"]).stdout).into_owned();
    let line: serde_json::Value = serde_json::from_str(json.lines().next().unwrap()).unwrap();
    assert_eq!(line["next_trial_at"], "2026-11-23T12:05:00Z", "{line}");
    assert!(
        line["held"]["since"].as_str().unwrap().ends_with('Z'),
        "{line}"
    );
}
