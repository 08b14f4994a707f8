//! Loading (SPEC §13), positive evidence only: a server that answers it is
//! loading (llama.cpp's 503 "Loading model") is `loading`, its failing
//! probes do not count and `status` says so; a log that grows is **not**
//! loading (servers log every request, the health probe's included), so a
//! plain 503 after a start counts, and a start not yet verified keeps the
//! run `reconciling` (exit 2), never `nominal`.
use serde_json::Value;

use crate::live_support::{Health, Node, NODE};

fn status(n: &Node) -> Value {
    let out = n.cli(&["status", "--output", "json"]);
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().find(|l| l.contains(r#""service":"loader""#));
    serde_json::from_str(line.unwrap_or_else(|| panic!("no status line: {text}"))).unwrap()
}

fn at(secs: u32) -> String {
    format!("2026-11-23T12:{:02}:{:02}Z", secs / 60, secs % 60)
}

fn node(health: &Health, spawn: &str) -> Node {
    let n = Node::new("");
    let yaml = format!(
        "services:\n  loader:\n    health:\n      http: {}\n      degraded_after: 1\n      dead_after: 3\n    spawn: {spawn}\n",
        health.url()
    );
    std::fs::write(n.path(&format!("hosts/{NODE}/services.yaml")), yaml).unwrap();
    n
}

/// The defect of v2: a service answering 503 after a restart, whose log
/// grows with every request, was `loading` (and `nominal`) for minutes.
#[test]
fn a_growing_log_is_not_loading_and_a_503_after_the_start_counts() {
    let health = Health::start(503);
    // Logs a line every 50 ms for as long as it runs.
    let spawn = r#"[sh, -c, "while true; do echo request; sleep 0.05; done"]"#;
    let mut n = node(&health, spawn);
    let r = n.reconcile(&at(0), &[]);
    assert_eq!(
        r.executed("loader", "restart").unwrap()["outcome"],
        "started"
    );
    n.spawned_pid("loader");
    let r = n.reconcile(&at(10), &[]);
    assert_ne!(
        r.code, 0,
        "a start that answers 503 is not nominal: {:?}",
        r.events
    );
    let s = status(&n);
    assert_eq!(s["loading"], false, "{s}");
    assert_eq!(s["health"], "degraded", "{s}");
    assert_eq!(s["failures"], 1, "{s}");
    // start_grace (10s) over and still 503: the start failed.
    let r = n.reconcile(&at(20), &[]);
    let v = r.of("action_verified", "loader");
    assert_eq!(v.len(), 1, "{:?}", r.events);
    assert_eq!(v[0]["outcome"], "failed", "{}", v[0]);
    assert_ne!(r.code, 0);
}

#[test]
fn a_server_that_says_loading_is_loading_until_it_answers() {
    let health = Health::start(200);
    health.set_loading(true);
    let mut n = node(&health, r#"[sleep, "3600.47"]"#);
    n.reconcile(&at(0), &[]);
    n.spawned_pid("loader");
    // Well past start_grace, the server still says it is loading: not
    // failing, not verified, and the run is reconciling (exit 2).
    for secs in [10, 20, 30, 40, 50] {
        let r = n.reconcile(&at(secs), &[]);
        assert!(
            r.of("health_changed", "loader").is_empty(),
            "{:?}",
            r.events
        );
        assert!(
            r.of("action_verified", "loader").is_empty(),
            "{:?}",
            r.events
        );
        assert_eq!(r.code, 2, "{secs}s: {:?}", r.events);
        let s = status(&n);
        assert_eq!(s["loading"], true, "{s}");
        assert_eq!(s["failures"], 0, "{s}");
    }
    let human = String::from_utf8_lossy(&n.cli(&["status"]).stdout).into_owned();
    assert!(human.contains("loading since"), "{human}");
    // Loaded: up, the start verified, nominal.
    health.set_loading(false);
    let r = n.reconcile(&at(60), &[]);
    let v = r.of("action_verified", "loader");
    assert_eq!(v[0]["outcome"], "success", "{:?}", r.events);
    assert_eq!(r.code, 0, "{:?}", r.events);
}

#[test]
fn a_server_still_loading_after_load_timeout_has_failed() {
    let health = Health::start(200);
    health.set_loading(true);
    let mut n = Node::new("");
    let yaml = format!(
        "supervisor:\n  load_timeout: 30s\nservices:\n  loader:\n    health:\n      http: {}\n    spawn: [sleep, \"3600.48\"]\n",
        health.url()
    );
    std::fs::write(n.path(&format!("hosts/{NODE}/services.yaml")), yaml).unwrap();
    n.reconcile(&at(0), &[]);
    n.spawned_pid("loader");
    n.reconcile(&at(20), &[]);
    let r = n.reconcile(&at(40), &[]);
    let v = r.of("action_verified", "loader");
    assert_eq!(v.len(), 1, "{:?}", r.events);
    assert_eq!(v[0]["outcome"], "failed");
    assert!(
        v[0]["reason"]
            .as_str()
            .unwrap()
            .contains("still loading after load_timeout (30s)"),
        "{}",
        v[0]
    );
}
