//! Giving up does not need a human (SPEC §12 `breaker_retry`): an open
//! circuit half-opens after `breaker_retry` for one trial start; a failed
//! trial reopens it and doubles the wait; `never` keeps it open. The first
//! start of a service never seen up is not a restart: with
//! `max_restart_attempts: 3`, the circuit opens after the first start and
//! three restarts.
use crate::live_support::{write_file, Node, NODE};

fn at(minutes: i64) -> String {
    let t0: chrono::DateTime<chrono::Utc> = "2026-11-23T12:00:00Z".parse().unwrap();
    (t0 + chrono::Duration::minutes(minutes)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn node(retry: &str) -> Node {
    let n = Node::new("");
    write_file(
        &n.path(&format!("hosts/{NODE}/services.yaml")),
        &format!(
            "supervisor:\n  max_restart_attempts: 3\n{retry}services:\n  web:\n    process:\n      pidfile: {}\n    restart: [\"true\"]\n",
            n.path("never.pid").display()
        ),
    );
    n
}

/// Minutes at which a restart ran, over the given run times.
fn restarts(n: &Node, minutes: &[i64]) -> Vec<(i64, bool)> {
    minutes
        .iter()
        .filter_map(|&m| {
            let r = n.reconcile(&at(m), &[]);
            let half_open = !r.of("circuit_half_open", "web").is_empty();
            r.executed("web", "restart").map(|_| (m, half_open))
        })
        .collect()
}

#[test]
fn an_open_circuit_half_opens_with_a_doubling_wait() {
    let n = node("  breaker_retry: 30m\n");
    let runs: Vec<i64> = (0..=14).map(|i| i * 10).collect();
    // The first start (0), three restarts (10, 20, 30): open at 30; trials
    // at 60 (30m), then 120 (60m).
    assert_eq!(
        restarts(&n, &runs),
        [
            (0, false),
            (10, false),
            (20, false),
            (30, false),
            (60, true),
            (120, true)
        ]
    );
    // Two failed trials: the next waits 120m (from 120 to 240).
    let status = n.cli(&["status", "--output", "json"]);
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(
        text.contains(r#""next_trial_at":"2026-11-23T16:00:00Z""#),
        "{text}"
    );
}

#[test]
fn breaker_retry_never_keeps_the_circuit_open() {
    let n = node("  breaker_retry: never\n");
    let runs: Vec<i64> = (0..=8).map(|i| i * 10).collect();
    assert_eq!(
        restarts(&n, &runs),
        [(0, false), (10, false), (20, false), (30, false)]
    );
}

/// The status JSON object of the one service `web`.
fn circuit(n: &Node) -> String {
    let out = n.cli(&["status", "--output", "json"]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let line = text
        .lines()
        .find(|l| l.contains(r#""service":"web""#))
        .unwrap_or_else(|| panic!("no web in status: {text}"));
    let v: serde_json::Value = serde_json::from_str(line).unwrap();
    v["circuit"].as_str().unwrap_or_default().to_string()
}

#[test]
fn a_half_open_trial_that_succeeds_closes_the_circuit() {
    let mut n = Node::new("");
    let ready = n.path("ready");
    write_file(
        &n.path(&format!("hosts/{NODE}/services.yaml")),
        &format!(
            "supervisor:\n  max_restart_attempts: 3\n  breaker_retry: 30m\nservices:\n  web:\n    spawn: [sh, -c, \"test -f {} || exit 3; exec sleep 3600.7\"]\n",
            ready.display()
        ),
    );
    // A first start and three restarts that die at once (0, 10, 20, 30)
    // open the circuit.
    let runs: Vec<i64> = (0..=5).map(|i| i * 10).collect();
    assert_eq!(
        restarts(&n, &runs),
        [(0, false), (10, false), (20, false), (30, false)]
    );
    assert_eq!(circuit(&n), "open");
    // The cause is fixed; the trial at 60 starts it.
    write_file(&ready, "");
    assert_eq!(restarts(&n, &[60]), [(60, true)]);
    let pid = n.spawned_pid("web").expect("the trial spawned it");
    assert!(crate::live_support::alive(pid));
    // The next run sees it up: the trial succeeded, the circuit is closed.
    let r = n.reconcile(&at(61), &[]);
    let verified = r.of("action_verified", "web");
    assert_eq!(verified.len(), 1, "{:?}", r.events);
    assert_eq!(verified[0]["outcome"], "success", "{}", verified[0]);
    assert_eq!(circuit(&n), "closed");
    // Closed, a new failure is restarted at once, not at the next trial
    // (60 + 60 min): the attempts start again from one.
    nix::sys::signal::kill(
        crate::support::nix_pid(pid),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    assert!(crate::live_support::wait_until(|| {
        !crate::live_support::alive(pid)
    }));
    let r = n.reconcile(&at(63), &[]);
    let e = r
        .executed("web", "restart")
        .unwrap_or_else(|| panic!("no restart once closed: {:?}", r.events));
    assert!(
        r.of("circuit_half_open", "web").is_empty(),
        "{:?}",
        r.events
    );
    assert_eq!(e["outcome"], "started", "{e}");
    n.spawned_pid("web").expect("restarted");
}

/// The `restart_attempts` of `web` in `status --output json`.
fn attempts(n: &Node) -> u64 {
    let out = n.cli(&["status", "--output", "json"]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let line = text
        .lines()
        .find(|l| l.contains(r#""service":"web""#))
        .unwrap_or_else(|| panic!("no web in status: {text}"));
    let v: serde_json::Value = serde_json::from_str(line).unwrap();
    v["restart_attempts"].as_u64().unwrap()
}

/// Issue 19: the first-ever start counted as restart attempt 1. A first
/// start is not a restart (Kubernetes counts restarts after the first
/// start); the start of a service that has run is.
#[test]
fn a_first_start_is_not_a_restart() {
    let mut n = Node::new("");
    write_file(
        &n.path(&format!("hosts/{NODE}/services.yaml")),
        "services:\n  web:\n    spawn: [sleep, \"3600.71\"]\n",
    );
    let r = n.reconcile(&at(0), &[]);
    let e = r.executed("web", "restart").expect("first start");
    assert_eq!(e["outcome"], "started", "{e}");
    assert_eq!(attempts(&n), 0, "a first start");
    let pid = n.spawned_pid("web").expect("spawned");
    n.reconcile(&at(1), &[]);
    assert_eq!(attempts(&n), 0, "verified up");
    nix::sys::signal::kill(
        crate::support::nix_pid(pid),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    assert!(crate::live_support::wait_until(|| {
        !crate::live_support::alive(pid)
    }));
    let r = n.reconcile(&at(2), &[]);
    r.executed("web", "restart").expect("restarted");
    assert_eq!(attempts(&n), 1, "a restart");
}

/// The half-open trial is said in the plan a person reads, not only in
/// `--output json`, and `status` says the trial runs while it is not
/// verified.
#[test]
fn a_half_open_trial_is_shown_in_the_human_plan_and_status() {
    let n = node("  breaker_retry: 30m\n");
    let runs: Vec<i64> = (0..=3).map(|i| i * 10).collect();
    assert_eq!(restarts(&n, &runs).len(), 4);
    let out = n.cli(&["reconcile", "--now", &at(60)]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        text.contains("circuit half-open: one trial start (due 2026-11-23T13:00:00Z"),
        "{text}"
    );
    let status = n.cli(&["--now", &at(61), "status"]);
    let text = String::from_utf8_lossy(&status.stdout).into_owned();
    assert!(text.contains("circuit half-open"), "{text}");
}
