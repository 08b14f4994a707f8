use serde_json::{json, Value};

use super::plan;
use crate::events::Event;
use crate::exit::Exit;

/// The event of a line with these fields (as a log reader gets it).
fn ev(ty: &str, fields: Value) -> Event {
    let mut e = json!({"type": ty, "node": "gpu-box", "service": null});
    let Value::Object(fields) = fields else {
        panic!("the fields are an object")
    };
    e.as_object_mut().unwrap().extend(fields);
    crate::events::Stamped::from_value(e.clone())
        .unwrap_or_else(|| panic!("not an event: {e}"))
        .event
}

#[test]
fn an_orphan_shows_its_pid_gpu_size_and_escaped_command_line() {
    let out = plan(
        &[ev(
            "orphan_detected",
            json!({"pid": 31457, "gpu_index": 0, "gpu_memory_bytes": 31_457_280_000u64,
                   "cmdline": "python3 train.py \u{1b}[2J"}),
        )],
        false,
        Some(Exit::Ok),
    );
    assert!(
        out.contains("(node)")
            && out.contains(
                "orphan      pid 31457 holds 29.3 GiB on gpu 0: `python3 train.py \\x1b[2J`"
            ),
        "{out}"
    );
    assert!(!out.contains('\u{1b}'), "{out}");
    let unknown = plan(
        &[ev(
            "orphan_detected",
            json!({"pid": 7, "gpu_index": null, "gpu_memory_bytes": 1u64 << 30, "cmdline": "x"}),
        )],
        false,
        Some(Exit::Ok),
    );
    assert!(
        unknown.contains("pid 7 holds 1.0 GiB on an unknown gpu"),
        "{unknown}"
    );
}

#[test]
fn an_orphan_eviction_names_the_pid_and_its_memory_in_gib() {
    let executed = ev(
        "action_executed",
        json!({"action": "evict", "outcome": "skipped", "reason": "dry_run", "orphan": true,
               "pid": 31457, "gpu_index": 0, "gpu_memory_bytes": 31_457_280_000u64}),
    );
    let out = plan(&[executed], false, Some(Exit::Ok));
    assert!(
        out.contains("skipped     evict orphan pid 31457 (29.3 GiB on gpu 0): dry_run"),
        "{out}"
    );
    // `check` lists the planned eviction from the decision.
    let decision = ev(
        "decision",
        json!({"actions": [{"service": null, "action": "evict", "orphan": true, "pid": 31457,
                            "outcome": "planned", "reason": ""}]}),
    );
    let out = plan(&[decision], true, Some(Exit::Ok));
    assert!(out.contains("(node)"), "{out}");
    assert!(
        out.contains("plan   evict orphan pid 31457 planned"),
        "{out}"
    );
}

#[test]
fn advice_is_labelled_for_a_person_with_its_reason() {
    let drift = ev(
        "drift_detected",
        json!({"service": "api", "condition": "failed_deployment", "detail": "image pull failed"}),
    );
    let advice = ev(
        "reconcile_required",
        json!({"service": "api", "action": "redeploy", "condition": "failed_deployment",
               "policy": "availability", "severity": "degraded", "reason": "image pull failed"}),
    );
    let restart = ev(
        "reconcile_required",
        json!({"service": "web", "action": "restart", "condition": "unhealthy_service",
               "policy": "availability", "severity": "unstable", "reason": "no process"}),
    );
    let out = plan(&[drift, advice.clone(), restart], false, Some(Exit::Ok));
    // The drift line above gives the reason.
    assert!(
        out.contains("api                      drift  failed_deployment: image pull failed\n  api                      needs a person: redeploy (required; availability, degraded)\n  web"),
        "{out}"
    );
    assert!(
        out.contains("web                      required    restart (availability, unstable)"),
        "{out}"
    );
    // Without one, a `why:` line does.
    let out = plan(&[advice], false, Some(Exit::Ok));
    assert!(
        out.contains("api                      needs a person: redeploy (required; availability, degraded)\n                           why: image pull failed\n"),
        "{out}"
    );
    // `defer` is the tool holding back, not advice.
    let defer = ev(
        "reconcile_recommended",
        json!({"service": "llm", "action": "defer", "condition": "memory_pressure",
               "policy": "safety", "severity": "degraded", "reason": "would cross 90%"}),
    );
    let out = plan(&[defer], false, Some(Exit::Ok));
    assert!(!out.contains("needs a person"), "{out}");
}

#[test]
fn the_summary_counts_agree_with_their_nouns() {
    let fin = |n: u64| {
        ev(
            "run_finished",
            json!({"state": "ok", "counts": {"nodes": n, "services": n, "drift": 0, "executed": n}}),
        )
    };
    assert!(
        plan(&[fin(1)], false, Some(Exit::Ok))
            .contains("1 node, 1 service, 0 drift, 1 action executed"),
        "{}",
        plan(&[fin(1)], false, Some(Exit::Ok))
    );
    assert!(plan(&[fin(2)], false, Some(Exit::Ok))
        .contains("2 nodes, 2 services, 0 drift, 2 actions executed"));
}

#[test]
fn a_half_open_circuit_is_said_in_words() {
    let half_open = ev(
        "circuit_half_open",
        json!({"service": "web",
        "reason": "circuit half-open: one trial start (due 2026-11-23T12:30:00Z, trial 1 since it opened)"}),
    );
    let out = plan(&[half_open], false, Some(Exit::Ok));
    assert!(
        out.contains("  web                      circuit half-open: one trial start (due 2026-11-23T12:30:00Z, trial 1 since it opened)"),
        "{out}"
    );
}
