//! `stop` is remembered, like supervisord's `STOPPED` (SPEC §13): the
//! policies do not start the service again until `start`, `status` says
//! `stopped by operator`, and a run is not degraded for it. A failed
//! `start` leaves the service desired-running: later runs are not
//! `nominal` while it is down, and retry it with backoff.
use std::process::Command;

use serde_json::Value;

use crate::live_support::{alive, wait_until, Node, Outcome};

const T0: &str = "2026-11-23T12:00:00Z";

fn at(minute: u32, second: u32) -> String {
    format!("2026-11-23T12:{minute:02}:{second:02}Z")
}

fn act(n: &Node, verb: &str, now: &str, args: &[&str]) -> Outcome {
    let mut all = vec![verb, "--output", "json", "--now", now];
    all.extend_from_slice(args);
    Outcome::from_output(&n.cli(&all))
}

/// `status --output json`'s line for `service`.
fn status_json(n: &Node, service: &str) -> Value {
    let out = n.cli(&["status", "--output", "json"]);
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|v| v["service"] == service)
        .expect("a line for the service")
}

fn status_text(n: &Node) -> String {
    let out = n.cli(&["status"]);
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A node whose `web` (`sleep ARG`) a run spawned and the operator then
/// stopped (exit 0, the process gone); returns it and the stopped pid.
fn started_then_stopped(arg: &str) -> (Node, u32) {
    let mut n = Node::new(&format!(
        "services:\n  web:\n    spawn: [sleep, \"{arg}\"]\n"
    ));
    n.reconcile(T0, &[]);
    let first = n.spawned_pid("web").expect("spawned");
    let r = act(&n, "stop", &at(0, 30), &["testnode/web"]);
    assert_eq!(r.code, 0, "{:?} {}", r.events, r.stderr);
    assert!(wait_until(|| !alive(first)));
    (n, first)
}

#[test]
fn a_stopped_service_stays_stopped_and_nominal_until_started() {
    let (mut n, first) = started_then_stopped("3600.51");
    // As a timer runs them: five runs, a minute apart.
    for minute in 1..=5 {
        let r = n.reconcile(&at(minute, 0), &[]);
        assert!(
            r.executed("web", "restart").is_none(),
            "run {minute}: {:?}",
            r.events
        );
        assert_eq!(r.code, 0, "run {minute} is nominal: {:?}", r.events);
    }
    assert!(
        n.spawned_pid("web").is_none_or(|p| p == first),
        "not started again"
    );
    assert!(
        status_text(&n).contains("stopped by operator"),
        "{}",
        status_text(&n)
    );
    let st = status_json(&n, "web");
    assert_eq!(st["stopped_by_operator"], true, "{st}");
    let cp = std::fs::read_to_string(n.state().join("checkpoint.json")).unwrap();
    assert!(cp.contains("stopped_by_operator"), "{cp}");

    let r = act(&n, "start", &at(6, 0), &["testnode/web"]);
    assert_eq!(r.code, 0, "{:?} {}", r.events, r.stderr);
    let pid = n.spawned_pid("web").expect("started");
    assert_ne!(pid, first);
    assert!(alive(pid));
    assert_eq!(status_json(&n, "web")["stopped_by_operator"], false);
    assert!(!status_text(&n).contains("stopped by operator"));
}

#[test]
fn a_stopped_service_whose_check_fails_is_not_restarted() {
    // No process to find: only a health check that fails once it stops.
    let port = crate::support::free_port();
    let n = Node::new(&format!(
        "services:\n  web:\n    health:\n      tcp: 127.0.0.1:{port}\n      dead_after: 2\n    restart: [\"true\"]\n    stop: [\"true\"]\n"
    ));
    let r = act(&n, "stop", T0, &["testnode/web"]);
    assert_eq!(r.code, 0, "{:?} {}", r.events, r.stderr);
    for minute in 1..=5 {
        let r = n.reconcile(&at(minute, 0), &[]);
        assert!(
            r.executed("web", "restart").is_none(),
            "run {minute}: {:?}",
            r.events
        );
        assert!(
            r.events
                .iter()
                .all(|e| e["type"] != "health_changed" || e["to"] != "dead"),
            "run {minute}: {:?}",
            r.events
        );
        assert_eq!(r.code, 0, "run {minute}: {:?}", r.events);
    }
}

/// A program that listens on `port` until killed, and exits 1 at once
/// when the port is taken.
fn listener(port: u16) -> String {
    format!(
        "import socket, time; s = socket.socket(); s.bind(('127.0.0.1', {port})); s.listen(); time.sleep(3600)"
    )
}

#[test]
fn a_failed_start_is_retried_with_backoff_until_it_runs() {
    let port = crate::support::free_port();
    let mut n = Node::new(&format!(
        "supervisor:\n  max_restart_attempts: 10\nservices:\n  web:\n    spawn: [python3, -c, \"{}\"]\n",
        listener(port)
    ));
    n.reconcile(T0, &[]);
    let first = n.spawned_pid("web").expect("spawned");
    let r = act(&n, "stop", &at(1, 0), &["testnode/web"]);
    assert_eq!(r.code, 0, "{:?} {}", r.events, r.stderr);
    assert!(wait_until(|| !alive(first)));
    // Someone else takes the port.
    let holder = Command::new("python3")
        .args(["-c", &listener(port)])
        .spawn()
        .expect("python3");
    let holder_pid = holder.id();
    n.children.push(holder);
    assert!(wait_until(|| std::net::TcpStream::connect((
        "127.0.0.1",
        port
    ))
    .is_ok()));

    let r = act(&n, "start", &at(2, 0), &["testnode/web"]);
    assert_eq!(r.code, 1, "{:?}", r.events);
    assert!(r.stderr.contains("Address already in use"), "{}", r.stderr);

    // Within the backoff: not retried, and not nominal while it is down.
    let r = n.reconcile(&at(2, 3), &[]);
    let e = r.executed("web", "restart").expect("due, and held back");
    assert_eq!(e["outcome"], "skipped", "{e}");
    assert_eq!(e["reason"], "backoff", "{e}");
    assert_ne!(r.code, 0, "{:?}", r.events);
    // After it: retried (and failing again, the port is still taken).
    let r = n.reconcile(&at(3, 0), &[]);
    let e = r.executed("web", "restart").expect("retried");
    assert_eq!(e["outcome"], "failed", "{e}");
    assert_eq!(e["policy"], "availability", "{e}");
    assert_ne!(r.code, 0, "{:?}", r.events);

    // The port is free again: a later run starts it.
    nix::sys::signal::kill(
        crate::support::nix_pid(holder_pid),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    assert!(wait_until(|| std::net::TcpStream::connect((
        "127.0.0.1",
        port
    ))
    .is_err()));
    let r = n.reconcile(&at(10, 0), &[]);
    let e = r.executed("web", "restart").expect("started");
    assert_eq!(e["outcome"], "started", "{e}");
    let pid = n.spawned_pid("web").expect("spawned");
    assert!(alive(pid));
    let r = n.reconcile(&at(11, 0), &[]);
    assert_eq!(r.code, 0, "verified and nominal: {:?}", r.events);
}

/// A walk found `diff --live` calling a stopped service a difference
/// (`-service web: running` / `+service web: stopped (no process)`, exit
/// 2) while every run calls it nominal: the operator asked for it.
#[test]
fn diff_shows_a_stopped_service_as_asked_not_as_drift() {
    let (mut n, _) = started_then_stopped("3600.52");
    let out = n.cli(&["diff", "--live"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert_eq!(text, "", "nothing differs");
    let out = n.cli(&["diff", "--live", "--output", "json"]);
    let row: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(row["differs"], false, "{row}");
    assert!(
        row["desired"]
            .as_array()
            .unwrap()
            .contains(&Value::from("service web: stopped by operator")),
        "{row}"
    );
    // Started again, it is desired running as before.
    let r = act(&n, "start", &at(1, 0), &["testnode/web"]);
    assert_eq!(r.code, 0, "{:?} {}", r.events, r.stderr);
    // Tracked, so that the node's drop ends it.
    assert!(n.spawned_pid("web").is_some_and(alive));
    let out = n.cli(&["diff", "--live"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
}

/// A checkpoint that cannot be read is set aside and the run starts from
/// an empty state; an operator's stop is not state the tool may forget,
/// so it survives in the overrides beside it.
#[test]
fn a_stop_survives_a_corrupt_checkpoint() {
    let (mut n, first) = started_then_stopped("3600.52");
    std::fs::write(n.state().join("checkpoint.json"), "{\"version\":1,").unwrap();
    for minute in 1..=2 {
        let r = n.reconcile(&at(minute, 0), &[]);
        assert!(
            r.executed("web", "restart").is_none(),
            "run {minute} started what the operator stopped: {:?}",
            r.events
        );
    }
    assert!(n.spawned_pid("web").is_none_or(|p| p == first));
    assert_eq!(status_json(&n, "web")["stopped_by_operator"], true);
    // `start` ends it as before.
    let r = act(&n, "start", &at(3, 0), &["testnode/web"]);
    assert_eq!(r.code, 0, "{:?} {}", r.events, r.stderr);
    assert!(n.spawned_pid("web").is_some_and(|p| p != first));
    let r = n.reconcile(&at(4, 0), &[]);
    assert!(r.executed("web", "restart").is_none(), "{:?}", r.events);
}
