//! A start succeeds only if it stays up (SPEC §9): a spawned process that
//! dies at once is a failed attempt, with its exit status and the end of
//! its log, never `success`; one that stays up but never passes its health
//! probe within `start_grace` is verified as failed by a later run.
use crate::live_support::{Health, Node, NODE};

#[test]
fn a_start_that_dies_at_once_is_a_failure_with_its_log() {
    let n = Node::new(
        "services:\n  bad:\n    spawn: [python3, -c, \"import sys; print('boom: missing model file'); sys.exit(3)\"]\n",
    );
    // A first start and three restarts (the default maximum), all failed.
    for (i, now) in [
        "2026-11-23T12:00:00Z",
        "2026-11-23T12:10:00Z",
        "2026-11-23T12:20:00Z",
        "2026-11-23T12:25:00Z",
    ]
    .iter()
    .enumerate()
    {
        let r = n.reconcile(now, &[]);
        let e = r
            .executed("bad", "restart")
            .unwrap_or_else(|| panic!("run {i}: no restart: {:?}", r.events));
        assert_eq!(e["outcome"], "failed", "run {i}: {e}");
        assert_eq!(e["exit_code"], 3, "{e}");
        let reason = e["reason"].as_str().unwrap();
        assert!(reason.contains("exited with status 3 at once"), "{reason}");
        assert_eq!(
            reason.matches("boom: missing model file").count(),
            1,
            "only this start's output: {reason}"
        );
    }
    // Three failed restarts: the circuit is open.
    let r = n.reconcile("2026-11-23T12:30:00Z", &[]);
    assert!(r.executed("bad", "restart").is_none(), "{:?}", r.events);
    assert!(r
        .events
        .iter()
        .any(|e| e["type"] == "reconcile_blocked" && e["service"] == "bad"));
}

#[test]
fn a_start_never_healthy_within_its_grace_is_verified_failed() {
    let mut n = Node::new("");
    let server = Health::start(503);
    let yaml = format!(
        "services:\n  web:\n    start_grace: 30s\n    health:\n      http: {}\n      degraded_after: 5\n      dead_after: 9\n    spawn: [sleep, \"3600.12\"]\n",
        server.url()
    );
    std::fs::write(n.path(&format!("hosts/{NODE}/services.yaml")), yaml).unwrap();
    let r = n.reconcile("2026-11-23T12:00:00Z", &[]);
    assert_eq!(r.executed("web", "restart").unwrap()["outcome"], "started");
    n.spawned_pid("web");
    // Within the grace: too early to tell.
    let r = n.reconcile("2026-11-23T12:00:10Z", &[]);
    assert!(r.of("action_verified", "web").is_empty(), "{:?}", r.events);
    // Past it, still failing: the start failed, and why.
    let r = n.reconcile("2026-11-23T12:00:40Z", &[]);
    let v = r.of("action_verified", "web");
    assert_eq!(v.len(), 1, "{:?}", r.events);
    assert_eq!(v[0]["outcome"], "failed", "{}", v[0]);
    assert_eq!(v[0]["after_ms"], 40_000);
    let reason = v[0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("not healthy within start_grace (30s): HTTP 503"),
        "{reason}"
    );
    let status = n.cli(&["status", "--output", "json"]);
    assert!(String::from_utf8_lossy(&status.stdout).contains(r#""outcome":"failed""#));
}
