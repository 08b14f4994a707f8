//! `restart`, `stop`, `start` and `logs` against real processes: the
//! operator's request goes through the executor, the guardrails and the
//! records of an ordinary run, with `policy: operator` (exit codes:
//! `operator_exit.rs`; what else runs: `operator_scope.rs`; the stop that
//! is remembered: `operator_stop.rs`).
use crate::live_support::{alive, untimed, wait_until, Node, Outcome};

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
fn a_held_service_is_skipped_even_forced() {
    let mut n = Node::new(SLEEPER);
    n.reconcile(T0, &[]);
    let pid = n.spawned_pid("sleeper").expect("spawned");
    let held = n.cli(&["hold", "sleeper"]);
    assert!(held.status.success(), "{held:?}");
    for args in [&["sleeper"][..], &["sleeper", "--force"][..]] {
        let r = act(&n, "stop", T1, args);
        let e = r.executed("sleeper", "evict").expect("recorded");
        assert_eq!(e["outcome"], "skipped", "{e}");
        assert_eq!(e["reason"], "held", "{e}");
        assert_eq!(e["policy"], "operator", "{e}");
        assert!(e.get("forced").is_none(), "{e}");
        assert!(alive(pid), "a held service is left alone");
    }
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
    // Each line with the time the monitor read it.
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().map(untimed).collect();
    assert_eq!(lines, ["two", "three"], "{text}");
}

#[test]
fn logs_of_a_service_not_spawned_explains_where_its_output_goes() {
    let n = Node::new("services:\n  web:\n    restart: [\"true\"]\n");
    let out = n.cli(&["logs", "web"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("restart"));
}

#[test]
fn start_starts_a_stopped_spawned_service() {
    let mut n = Node::new(SLEEPER);
    n.reconcile(T0, &[]);
    let first = n.spawned_pid("sleeper").expect("spawned");
    let r = act(&n, "stop", T1, &["testnode/sleeper"]);
    assert!(r.executed("sleeper", "evict").is_some(), "{:?}", r.events);
    assert!(wait_until(|| !alive(first)), "stop left it alive");

    let r = act(&n, "start", "2026-11-23T12:00:10Z", &["testnode/sleeper"]);
    let e = r
        .executed("sleeper", "restart")
        .unwrap_or_else(|| panic!("no start: {:?} {}", r.events, r.stderr));
    assert_eq!(e["policy"], "operator", "{e}");
    assert_eq!(e["outcome"], "started", "{e}");
    let pid = n.spawned_pid("sleeper").expect("pid file written");
    assert_ne!(pid, first, "a new process");
    assert!(alive(pid), "the started process runs");
    // A second `start` finds it running and does nothing.
    let r = act(&n, "start", "2026-11-23T12:00:15Z", &["testnode/sleeper"]);
    let e = r.executed("sleeper", "restart").expect("recorded");
    assert_eq!(e["outcome"], "skipped", "{e}");
    assert_eq!(e["reason"], "already_running", "{e}");
    assert_eq!(n.spawned_pid("sleeper"), Some(pid));
}

/// A service whose restart "works" but never comes up: each run counts a
/// failed attempt, so the next restart waits for its backoff.
const NEVER_UP: &str = "services:\n  web:\n    start_grace: 1s\n    process:\n      pidfile: /nonexistent/never.pid\n    restart: [\"true\"]\n";

#[test]
fn restart_force_passes_a_backoff_and_is_recorded_as_forced() {
    let n = Node::new(NEVER_UP);
    let r = n.reconcile(T0, &[]);
    assert!(r.executed("web", "restart").is_some(), "{:?}", r.events);
    // Five seconds later the backoff of attempt 1 is still running.
    let r = act(&n, "restart", T1, &["testnode/web"]);
    let e = r
        .executed("web", "restart")
        .unwrap_or_else(|| panic!("no restart: {:?} {}", r.events, r.stderr));
    assert_eq!(e["outcome"], "skipped", "{e}");
    assert_eq!(e["reason"], "backoff", "{e}");
    assert!(e.get("forced").is_none(), "{e}");

    let r = act(&n, "restart", T1, &["testnode/web", "--force"]);
    let e = r.executed("web", "restart").expect("recorded");
    assert_eq!(e["policy"], "operator", "{e}");
    assert_eq!(e["outcome"], "started", "{e}");
    assert_eq!(e["forced"], true, "{e}");
    assert_eq!(e["reason"], "`true` exited 0", "{e}");
}

#[test]
fn logs_follow_prints_lines_appended_after_it_started() {
    use std::io::{BufRead, BufReader, Write};
    use std::process::Stdio;

    let mut n = Node::new(
        "services:\n  chatty:\n    spawn: [sh, -c, \"echo before; exec sleep 3600.9\"]\n",
    );
    n.reconcile(T0, &[]);
    n.spawned_pid("chatty").expect("spawned");
    let log = n.state().join("logs/chatty.log");
    assert!(
        wait_until(|| std::fs::read_to_string(&log).is_ok_and(|s| s.contains("before"))),
        "no output in the log"
    );
    let mut child = n
        .command(&["logs", "testnode/chatty", "-f", "-n", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start logs -f");
    let stdout = child.stdout.take().expect("stdout");
    let pid = child.id();
    n.children.push(child); // killed when the test ends, however it ends
                            // Read on a thread: a line that never comes fails the test, not hangs it.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if tx.send(line.unwrap_or_default()).is_err() {
                break;
            }
        }
    });
    let next = || {
        rx.recv_timeout(std::time::Duration::from_secs(30))
            .expect("a line")
    };
    assert_eq!(untimed(&next()), "before");
    let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    writeln!(f, "after one").unwrap();
    writeln!(f, "after two").unwrap();
    drop(f);
    assert_eq!(next(), "after one");
    assert_eq!(next(), "after two");
    assert!(alive(pid), "-f keeps following");
}
