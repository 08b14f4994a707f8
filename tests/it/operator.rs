//! `restart`, `stop`, `start` and `logs` against real processes: the
//! operator's request goes through the executor, the guardrails and the
//! records of an ordinary run, with `policy: operator`.
use crate::live_support::{alive, wait_until, Node, Outcome};

const T0: &str = "2026-11-23T12:00:00Z";
const T1: &str = "2026-11-23T12:00:05Z";
const SLEEPER: &str = "services:\n  sleeper:\n    spawn: [sleep, \"3600.9\"]\n";

/// `supervisorctl <verb> --output json --now <now> <args…>`.
fn act(n: &Node, verb: &str, now: &str, args: &[&str]) -> Outcome {
    let mut all = vec![verb, "--output", "json", "--now", now];
    all.extend_from_slice(args);
    Outcome::from_output(&n.cli(&all))
}

#[test]
fn restart_starts_a_spawned_service_as_the_operator() {
    let mut n = Node::new(SLEEPER);
    let r = act(&n, "restart", T0, &["testnode/sleeper"]);
    let e = r
        .executed("sleeper", "restart")
        .unwrap_or_else(|| panic!("no restart: {:?} {}", r.events, r.stderr));
    assert_eq!(e["policy"], "operator", "{e}");
    assert_eq!(e["outcome"], "started", "{e}");
    assert!(e.get("forced").is_none(), "{e}");
    let pid = n.spawned_pid("sleeper").expect("pid file written");
    assert!(alive(pid));
}

#[test]
fn stop_stops_the_process() {
    let mut n = Node::new(SLEEPER);
    n.reconcile(T0, &[]);
    let pid = n.spawned_pid("sleeper").expect("spawned");
    let r = act(&n, "stop", T1, &["sleeper"]);
    let e = r
        .executed("sleeper", "evict")
        .unwrap_or_else(|| panic!("no stop: {:?} {}", r.events, r.stderr));
    assert_eq!(e["policy"], "operator", "{e}");
    assert_eq!(e["outcome"], "success", "{e}");
    assert!(wait_until(|| !alive(pid)), "stopped process still alive");
    let r = n.reconcile("2026-11-23T12:01:00Z", &[]);
    assert!(
        r.executed("sleeper", "restart").is_none(),
        "a stopped service stays stopped: {:?}",
        r.events
    );
}

#[test]
fn a_held_service_is_skipped_unless_forced() {
    let mut n = Node::new(SLEEPER);
    n.reconcile(T0, &[]);
    let pid = n.spawned_pid("sleeper").expect("spawned");
    let held = n.cli(&["hold", "sleeper"]);
    assert!(held.status.success(), "{held:?}");
    let r = act(&n, "stop", T1, &["sleeper"]);
    let e = r.executed("sleeper", "evict").expect("recorded");
    assert_eq!(e["outcome"], "skipped", "{e}");
    assert_eq!(e["reason"], "held", "{e}");
    assert!(alive(pid), "a held service is left alone");
    let r = act(&n, "stop", T1, &["sleeper", "--force"]);
    let e = r.executed("sleeper", "evict").expect("recorded");
    assert_eq!(e["outcome"], "success", "{e}");
    assert_eq!(e["forced"], true, "{e}");
    assert_eq!(e["policy"], "operator", "{e}");
    assert!(wait_until(|| !alive(pid)), "forced stop left it alive");
}

#[test]
fn another_nodes_service_is_an_error() {
    let n = Node::new(SLEEPER);
    let other = n.path("hosts/othernode");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(
        other.join("services.yaml"),
        "services:\n  web:\n    restart: [\"true\"]\n",
    )
    .unwrap();
    for verb in ["restart", "stop", "start"] {
        let out = n.cli(&[verb, "othernode/web"]);
        assert_eq!(out.status.code(), Some(1), "{verb}: {out:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("not on this node"), "{stderr}");
    }
    assert!(!n.state().join("events.jsonl").exists(), "nothing ran");
}

#[test]
fn logs_prints_the_last_lines() {
    let mut n = Node::new(
        "services:\n  chatty:\n    spawn: [sh, -c, \"echo one; echo two; echo three; exec sleep 3600.9\"]\n",
    );
    n.reconcile(T0, &[]);
    n.spawned_pid("chatty").expect("spawned");
    let log = n.state().join("logs/chatty.log");
    assert!(
        wait_until(|| std::fs::read_to_string(&log).is_ok_and(|s| s.contains("three"))),
        "no output in the log"
    );
    let out = n.cli(&["logs", "testnode/chatty", "-n", "2"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "two\nthree\n");
}

#[test]
fn logs_of_a_service_not_spawned_explains_where_its_output_goes() {
    let n = Node::new("services:\n  web:\n    restart: [\"true\"]\n");
    let out = n.cli(&["logs", "web"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("restart"));
}
