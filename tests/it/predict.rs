//! Failure prediction (SPEC §10): reconcile runs a minute apart over a
//! world whose model leaks memory report `failure_predicted` once, when
//! the projected crossing of `memory_pressure` comes within
//! `predict_horizon`, and never act on it; a steady world predicts
//! nothing; the same inputs give the same bytes.
use crate::live_support::{write_file, Node, Outcome, NODE};
use crate::matcher::without_durations;
use crate::support::copy_tree;

const MIB: u64 = 1 << 20;

/// `2026-11-23T12:00:00Z` plus `minutes`.
fn at(minutes: i64) -> String {
    let t0: chrono::DateTime<chrono::Utc> = "2026-11-23T12:00:00Z".parse().unwrap();
    (t0 + chrono::Duration::minutes(minutes)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn node() -> Node {
    Node::new(
        "supervisor:\n  idle_eviction: false\nservices:\n  llm:\n    kind: model\n    restart: [\"true\"]\n",
    )
}

/// The observer's files at `minute`: the node holds `node_mib` of 1000 MiB,
/// the model `llm_mib`.
fn observe(n: &Node, minute: i64, node_mib: u64, llm_mib: u64) {
    let now = at(minute);
    write_file(
        &n.path(&format!("world/nodes/{NODE}.json")),
        &format!(r#"{{"status":"online","last_seen":"{now}"}}"#),
    );
    write_file(
        &n.path(&format!("world/resources/{NODE}.json")),
        &format!(
            r#"{{"observed_at":"{now}","memory":{{"total_bytes":{},"used_bytes":{}}}}}"#,
            1000 * MIB,
            node_mib * MIB
        ),
    );
    write_file(
        &n.path(&format!("world/services/{NODE}/llm.json")),
        &format!(
            r#"{{"status":"ok","observed_at":"{now}","memory_bytes":{}}}"#,
            llm_mib * MIB
        ),
    );
}

fn reconcile(n: &Node, minute: i64) -> Outcome {
    n.reconcile(&at(minute), &["--no-probe"])
}

#[test]
fn a_leaking_model_is_predicted_once_and_never_acted_on() {
    let n = node();
    let mut predicted = vec![];
    for minute in 0..=14 {
        // 10 MiB a minute, the node's use with it: 900 MiB (90 %) at 12:40.
        let k = u64::try_from(minute).unwrap();
        observe(&n, minute, 500 + 10 * k, 100 + 10 * k);
        let r = reconcile(&n, minute);
        assert_eq!(r.code, 0, "minute {minute}: {:?} {}", r.events, r.stderr);
        assert!(
            r.events.iter().all(|e| e["type"] != "action_executed"
                && !e["type"].as_str().unwrap_or("").starts_with("reconcile_")),
            "minute {minute}: {:?}",
            r.events
        );
        for e in r.of("failure_predicted", "llm") {
            predicted.push((minute, e.clone()));
            // After the node's service events, just before its decision.
            let pos = |ty: &str| r.events.iter().position(|e| e["type"] == ty);
            assert_eq!(
                pos("failure_predicted").map(|p| p + 1),
                pos("decision"),
                "{:?}",
                r.events
            );
        }
    }
    assert_eq!(predicted.len(), 1, "{predicted:?}");
    let (minute, e) = &predicted[0];
    // 30 minutes ahead first at minute 10 (600 MiB, 1/6 MiB/s, 300 MiB to go).
    assert_eq!(*minute, 10);
    assert_eq!(e["metric"], "memory", "{e}");
    assert_eq!(e["projected_at"], "2026-11-23T12:40:00Z", "{e}");
    assert_eq!(e["threshold"], 900 * MIB, "{e}");
    assert_eq!(e["current"], 600 * MIB, "{e}");
    assert_eq!(e["recommended"], "restart_when_quiet", "{e}");
    assert_eq!(e["samples"], 11, "{e}");
    assert_eq!(e["r2"], 1.0, "{e}");
    let cp: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(n.state().join("checkpoint.json")).expect("checkpoint"),
    )
    .expect("json");
    let trends = &cp["services"][format!("{NODE}/llm")]["trends"];
    assert_eq!(
        trends["series"]["memory"].as_array().map(Vec::len),
        Some(15)
    );
    assert_eq!(
        trends["predicted"]["memory"]["projected_at"],
        "2026-11-23T12:40:00Z"
    );
    // `forecast` shows it beside the demand.
    let out = n.cli(&["forecast", "--output", "json"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(r#""projected_at":"2026-11-23T12:40:00Z""#),
        "{text}"
    );
    let out = n.cli(&["forecast"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("memory at 2026-11-23T12:40:00Z (restart_when_quiet)"),
        "{text}"
    );
}

#[test]
fn a_steady_model_predicts_nothing() {
    let n = node();
    for minute in 0..=14 {
        observe(&n, minute, 880, 400);
        let r = reconcile(&n, minute);
        assert_eq!(r.code, 0, "{:?}", r.events);
        assert!(
            r.of("failure_predicted", "llm").is_empty(),
            "{:?}",
            r.events
        );
    }
}

#[test]
fn the_same_inputs_predict_the_same_bytes() {
    let n = node();
    for minute in 0..=9 {
        let k = u64::try_from(minute).unwrap();
        observe(&n, minute, 500 + 10 * k, 100 + 10 * k);
        reconcile(&n, minute);
    }
    observe(&n, 10, 600, 200);
    let copy = tempfile::tempdir().expect("tempdir");
    copy_tree(&n.state(), copy.path());
    let restore = || {
        std::fs::remove_dir_all(n.state()).expect("rm state");
        copy_tree(copy.path(), &n.state());
    };
    let now = at(10);
    let args = ["reconcile", "--output", "json", "--now", &now, "--no-probe"];
    let first = n.cli(&args);
    // The second run starts from the same state directory.
    restore();
    let second = n.cli(&args);
    // Byte for byte, but for how long the run took.
    let text = |o: &std::process::Output| without_durations(&String::from_utf8_lossy(&o.stdout));
    assert_eq!(text(&first), text(&second));
    assert!(
        text(&first).contains("failure_predicted"),
        "{}",
        text(&first)
    );
    // In words, without `--output json`, from the same state again.
    restore();
    let human = n.cli(&["reconcile", "--now", &now, "--no-probe"]);
    let words = String::from_utf8_lossy(&human.stdout);
    let line = "node memory to reach 90.0% at 2026-11-23T12:40:00Z; restart `llm` during the next quiet period";
    assert!(
        words.contains("predicted") && words.contains(line),
        "{words}"
    );
}

#[test]
fn a_passing_live_probe_adds_a_latency_sample() {
    let health = crate::live_support::Health::start(200);
    let n = Node::new(&format!(
        "services:\n  web:\n    health:\n      http: {}\n      timeout: 2s\n",
        health.url()
    ));
    for minute in 0..2 {
        let r = n.reconcile(&at(minute), &[]);
        assert!(
            r.of("failure_predicted", "web").is_empty(),
            "{:?}",
            r.events
        );
    }
    let cp: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(n.state().join("checkpoint.json")).expect("checkpoint"),
    )
    .expect("json");
    let series = &cp["services"][format!("{NODE}/web")]["trends"]["series"]["probe_latency"];
    let samples = series.as_array().expect("a latency series");
    assert_eq!(samples.len(), 2, "{series}");
    assert_eq!(samples[1]["at"], at(1));
    let ms = samples[1]["v"].as_f64().expect("milliseconds");
    assert!(ms > 0.0 && ms < 2000.0, "{ms}");
    // `observe` writes it for an observer's records (and a replay).
    let out = n.path("observed");
    let o = n.cli(&["observe", "--out", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    let rec: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.join(format!("services/{NODE}/web.json"))).expect("record"),
    )
    .expect("json");
    let ms = rec["probe_latency_ms"].as_f64().expect("probe_latency_ms");
    assert!(ms > 0.0 && ms < 2000.0, "{rec}");
}
