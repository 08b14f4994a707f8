//! Operator commands a script can trust (SPEC §13): `restart`, `stop` and
//! `start` exit 0 when the service ends in the asked state, 1 with the
//! reason on stderr when refused (held, backoff, circuit open, ambiguous,
//! not this node) or failed; `--force` passes a backoff and an open
//! circuit, never a hold; `--no-wait` exits once the action ran.
use std::time::{Duration, Instant};

use crate::live_support::{alive, Health, Node, Outcome, NODE};

const T0: &str = "2026-11-23T12:00:00Z";
/// Two seconds after T0: the backoff of a first attempt (5s) still runs.
const T2: &str = "2026-11-23T12:00:02Z";
const SLEEPER: &str = "services:\n  sleeper:\n    spawn: [sleep, \"3600.31\"]\n";

/// `supervisorctl <verb> --output json --now <now> <args…>`.
fn act(n: &Node, verb: &str, now: &str, args: &[&str]) -> Outcome {
    let mut all = vec![verb, "--output", "json", "--now", now];
    all.extend_from_slice(args);
    Outcome::from_output(&n.cli(&all))
}

#[test]
fn a_restart_that_comes_up_exits_0() {
    let port = crate::support::free_port();
    let mut n = Node::new(&format!(
        "services:\n  web:\n    health:\n      http: http://127.0.0.1:{port}/\n    spawn: [python3, -m, http.server, --bind, 127.0.0.1, \"{port}\"]\n"
    ));
    let r = act(&n, "restart", T0, &["testnode/web"]);
    assert_eq!(r.code, 0, "{:?} {}", r.events, r.stderr);
    let e = r.executed("web", "restart").expect("recorded");
    assert_eq!(e["outcome"], "started", "{e}");
    assert!(r.stderr.contains("up"), "{}", r.stderr);
    let pid = n.spawned_pid("web").expect("spawned");
    assert!(alive(pid));
    let started = &r.events[0];
    assert_eq!(started["type"], "run_started");
    assert_eq!(started["command"], "restart", "{started}");
}

#[test]
fn a_held_service_is_refused_with_exit_1_even_forced() {
    let mut n = Node::new(SLEEPER);
    n.reconcile(T0, &[]);
    let pid = n.spawned_pid("sleeper").expect("spawned");
    let held = n.cli(&["hold", "sleeper", "--reason", "disk swap"]);
    assert!(held.status.success(), "{held:?}");
    for extra in [&[][..], &["--force"][..]] {
        let mut args = vec!["testnode/sleeper"];
        args.extend_from_slice(extra);
        for verb in ["restart", "stop"] {
            let r = act(&n, verb, "2026-11-23T12:10:00Z", &args);
            assert_eq!(r.code, 1, "{verb} {extra:?}: {:?}", r.events);
            assert!(r.stderr.contains("held"), "{verb} {extra:?}: {}", r.stderr);
            assert!(alive(pid), "{verb} {extra:?}: a held service is left alone");
        }
    }
    assert_eq!(n.spawned_pid("sleeper"), Some(pid));
}

#[test]
fn a_restart_in_backoff_exits_1_and_force_passes_it_with_exit_0() {
    let mut n = Node::new(SLEEPER);
    n.reconcile(T0, &[]);
    let first = n.spawned_pid("sleeper").expect("spawned");
    let r = act(&n, "restart", T2, &["testnode/sleeper"]);
    assert_eq!(r.code, 1, "{:?}", r.events);
    assert!(r.stderr.contains("backoff"), "{}", r.stderr);
    assert!(
        r.stderr.contains("--force"),
        "says how to pass it: {}",
        r.stderr
    );
    assert_eq!(n.spawned_pid("sleeper"), Some(first), "not restarted");

    let r = act(&n, "restart", T2, &["testnode/sleeper", "--force"]);
    assert_eq!(r.code, 0, "{:?} {}", r.events, r.stderr);
    let e = r.executed("sleeper", "restart").expect("recorded");
    assert_eq!(e["forced"], true, "{e}");
    let pid = n.spawned_pid("sleeper").expect("spawned again");
    assert_ne!(pid, first);
    assert!(alive(pid));
}

#[test]
fn a_start_whose_program_exits_at_once_exits_1_with_the_reason() {
    let n = Node::new(
        "services:\n  bad:\n    spawn: [python3, -c, \"import sys; print('no model file'); sys.exit(3)\"]\n",
    );
    for verb in ["start", "restart"] {
        let r = act(
            &n,
            verb,
            "2026-11-23T12:00:00Z",
            &["testnode/bad", "--force"],
        );
        assert_eq!(r.code, 1, "{verb}: {:?}", r.events);
        assert!(
            r.stderr.contains("exited with status 3"),
            "{verb}: {}",
            r.stderr
        );
        assert!(r.stderr.contains("no model file"), "{verb}: {}", r.stderr);
    }
}

#[test]
fn a_start_never_healthy_within_start_grace_exits_1_after_the_grace() {
    let mut n = Node::new("");
    let server = Health::start(503);
    let yaml = format!(
        "services:\n  web:\n    start_grace: 3s\n    health:\n      http: {}\n    spawn: [sleep, \"3600.32\"]\n",
        server.url()
    );
    std::fs::write(n.path(&format!("hosts/{NODE}/services.yaml")), yaml).unwrap();
    let began = Instant::now();
    let r = act(&n, "start", T0, &["testnode/web"]);
    let took = began.elapsed();
    n.spawned_pid("web");
    assert_eq!(r.code, 1, "{:?}", r.events);
    assert!(r.stderr.contains("start_grace"), "{}", r.stderr);
    assert!(r.stderr.contains("HTTP 503"), "{}", r.stderr);
    assert!(took >= Duration::from_secs(3), "waited the grace: {took:?}");
    assert!(took < Duration::from_secs(20), "not much longer: {took:?}");
}

#[test]
fn no_wait_exits_0_once_the_start_ran() {
    let mut n = Node::new("");
    let server = Health::start(503);
    let yaml = format!(
        "services:\n  web:\n    start_grace: 20s\n    health:\n      http: {}\n    spawn: [sleep, \"3600.33\"]\n",
        server.url()
    );
    std::fs::write(n.path(&format!("hosts/{NODE}/services.yaml")), yaml).unwrap();
    let began = Instant::now();
    let r = act(&n, "start", T0, &["testnode/web", "--no-wait"]);
    assert_eq!(r.code, 0, "{:?} {}", r.events, r.stderr);
    assert!(began.elapsed() < Duration::from_secs(15), "did not wait");
    let e = r.executed("web", "restart").expect("recorded");
    assert_eq!(e["outcome"], "started", "{e}");
    assert!(alive(n.spawned_pid("web").expect("spawned")));
}

#[test]
fn an_open_circuit_exits_1_and_force_passes_it() {
    let mut n = Node::new(
        "supervisor:\n  max_restart_attempts: 1\nservices:\n  web:\n    spawn: [python3, -c, \"import sys; sys.exit(4)\"]\n",
    );
    // A first start is not a restart: its failure and one failed restart
    // open the circuit.
    for now in [T0, "2026-11-23T12:05:00Z"] {
        let r = n.reconcile(now, &[]);
        assert_eq!(
            r.executed("web", "restart").unwrap()["outcome"],
            "failed",
            "{now}"
        );
    }
    // The program is fixed; the circuit is still open.
    std::fs::write(
        n.path(&format!("hosts/{NODE}/services.yaml")),
        "supervisor:\n  max_restart_attempts: 1\nservices:\n  web:\n    spawn: [sleep, \"3600.34\"]\n",
    )
    .unwrap();
    let later = "2026-11-23T12:10:00Z"; // before the half-open trial (30m)
    let r = act(&n, "restart", later, &["testnode/web"]);
    assert_eq!(r.code, 1, "{:?}", r.events);
    assert!(r.stderr.contains("circuit"), "{}", r.stderr);
    let e = r.executed("web", "restart").expect("recorded");
    assert_eq!(e["outcome"], "skipped", "{e}");
    assert_eq!(e["reason"], "circuit_open", "{e}");

    let r = act(&n, "restart", later, &["testnode/web", "--force"]);
    assert_eq!(r.code, 0, "{:?} {}", r.events, r.stderr);
    assert_eq!(r.executed("web", "restart").unwrap()["forced"], true);
    assert!(alive(n.spawned_pid("web").expect("spawned")));
}

#[test]
fn an_ambiguous_service_is_refused_with_exit_1() {
    let mut n = Node::new(
        "services:\n  web:\n    process:\n      cmdline_contains: \"3600.35\"\n    restart: [\"true\"]\n    stop: [\"true\"]\n",
    );
    n.sleep("3600.35");
    n.sleep("3600.35");
    for verb in ["restart", "stop"] {
        let r = act(&n, verb, T0, &["testnode/web"]);
        assert_eq!(r.code, 1, "{verb}: {:?}", r.events);
        assert!(r.stderr.contains("ambiguous"), "{verb}: {}", r.stderr);
    }
}

#[test]
fn a_stop_that_ends_with_the_service_stopped_exits_0() {
    let mut n = Node::new(SLEEPER);
    n.reconcile(T0, &[]);
    let pid = n.spawned_pid("sleeper").expect("spawned");
    let r = act(&n, "stop", T2, &["testnode/sleeper"]);
    assert_eq!(r.code, 0, "{:?} {}", r.events, r.stderr);
    assert!(!alive(pid), "stopped before the command returned");
    // Stopping it again: it is in the asked state already.
    let r = act(&n, "stop", "2026-11-23T12:00:30Z", &["testnode/sleeper"]);
    assert_eq!(r.code, 0, "{:?} {}", r.events, r.stderr);
}

#[test]
fn a_start_of_a_running_service_exits_0() {
    let mut n = Node::new(SLEEPER);
    n.reconcile(T0, &[]);
    let pid = n.spawned_pid("sleeper").expect("spawned");
    let r = act(&n, "start", "2026-11-23T12:00:30Z", &["testnode/sleeper"]);
    assert_eq!(r.code, 0, "{:?} {}", r.events, r.stderr);
    assert!(r.stderr.contains("already running"), "{}", r.stderr);
    assert_eq!(n.spawned_pid("sleeper"), Some(pid));
}

/// The plan an operator's command prints does not claim an exit code of
/// its own: the command exits with its verdict (here 0), not the pass's
/// state (`reconciling`, 2).
#[test]
fn the_human_plan_of_a_stop_does_not_say_another_exit_code() {
    let mut n = Node::new(SLEEPER);
    n.reconcile(T0, &[]);
    let pid = n.spawned_pid("sleeper").expect("spawned");
    let out = n.cli(&["stop", "--now", T2, "testnode/sleeper"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(!alive(pid) || crate::live_support::wait_until(|| !alive(pid)));
    assert!(text.contains("\nstate: "), "{text}");
    assert!(!text.contains("(exit "), "{text}");
    assert!(text.contains("stop testnode/sleeper: stopped"), "{text}");
}
