//! An operator command acts on the service it names and on nothing else
//! (SPEC §13): in its pass no policy's action runs, however due; the next
//! ordinary run does them.
use crate::live_support::{alive, wait_until, Node, Outcome};

const T0: &str = "2026-11-23T12:00:00Z";
const T1: &str = "2026-11-23T12:01:00Z";
const T2: &str = "2026-11-23T12:02:00Z";

const THREE: &str = "services:\n  web:\n    spawn: [sleep, \"3600.41\"]\n  other:\n    spawn: [sleep, \"3600.42\"]\n    fallback: spare\n  spare:\n    spawn: [sleep, \"3600.43\"]\n";

/// Every `action_executed` that ran (not skipped or recommended).
fn ran(r: &Outcome) -> Vec<String> {
    r.events
        .iter()
        .filter(|e| e["type"] == "action_executed")
        .filter(|e| !matches!(e["outcome"].as_str(), Some("skipped" | "recommended")))
        .map(|e| format!("{} {}", e["service"].as_str().unwrap(), e["action"]))
        .collect()
}

#[test]
fn stop_restarts_no_dead_service_and_activates_no_fallback() {
    let mut n = Node::new(THREE);
    n.reconcile(T0, &[]);
    // Seen up: the fallback the first run switched on is off again.
    n.reconcile("2026-11-23T12:00:30Z", &[]);
    let path = n.state().join("fallbacks.json");
    let fallbacks = || std::fs::read_to_string(&path).unwrap_or_default();
    assert!(!fallbacks().contains("other"), "{}", fallbacks());
    let other = n.spawned_pid("other").expect("spawned");
    let web = n.spawned_pid("web").expect("spawned");
    nix::sys::signal::kill(
        crate::support::nix_pid(other),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    assert!(wait_until(|| !alive(other)), "killed");

    let out = n.cli(&["stop", "--output", "json", "--now", T1, "testnode/web"]);
    let r = Outcome::from_output(&out);
    assert_eq!(r.code, 0, "{:?} {}", r.events, r.stderr);
    assert_eq!(ran(&r), ["web \"evict\""], "only the asked action ran");
    assert!(!alive(web), "web stopped");
    assert_eq!(n.spawned_pid("other"), Some(other), "other not restarted");
    assert!(
        !fallbacks().contains("other"),
        "no fallback: {}",
        fallbacks()
    );
    let started = &r.events[0];
    assert_eq!(started["command"], "stop", "{started}");
    // What was due and left is said, with why it did not run.
    let skipped = r.executed("other", "restart").expect("recorded");
    assert_eq!(skipped["outcome"], "skipped", "{skipped}");
    assert_eq!(skipped["reason"], "operator_pass", "{skipped}");

    // The next ordinary run does what was due, and leaves web stopped.
    let r = n.reconcile(T2, &[]);
    assert!(r.executed("other", "restart").is_some(), "{:?}", r.events);
    assert!(r.executed("web", "restart").is_none(), "{:?}", r.events);
}
