//! Adaptive tuning (SPEC §10 `tuning_changed`): a service that recovers on
//! its own after one failing observation, again and again, gets more
//! patience (`degraded_after` 2 → 3), once; `policies` shows the value as
//! `tuned`; `reset --tuning` brings the configured value back. From world
//! records alone, with a live probe (where the tuned value is in force),
//! and in a `replay` of recorded worlds.
use serde_json::Value;

use crate::live_support::{write_file, Node, Outcome, NODE};

/// `2026-11-23T12:00:00Z` plus `secs`.
fn at(secs: i64) -> String {
    let t0: chrono::DateTime<chrono::Utc> = "2026-11-23T12:00:00Z".parse().unwrap();
    (t0 + chrono::Duration::seconds(secs)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn record(n: &Node, status: &str, secs: i64) {
    write_file(
        &n.path(&format!("world/services/{NODE}/api.json")),
        &format!(r#"{{"status":"{status}","observed_at":"{}"}}"#, at(secs)),
    );
}

/// `policies --output json`: the `api` service's `setting` (value, origin).
fn shown(n: &Node, setting: &str) -> (Value, String) {
    let out = n.cli(&["policies", "--output", "json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let node: Value = serde_json::from_slice(&out.stdout).expect("one JSON line");
    let api = node["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["service"] == "api")
        .cloned()
        .expect("api in policies");
    let s = &api[setting];
    (
        s["value"].clone(),
        s["origin"].as_str().unwrap().to_string(),
    )
}

fn tuning_events(r: &Outcome) -> Vec<(String, String, String)> {
    r.of("tuning_changed", "api")
        .iter()
        .map(|e| {
            let f = |k: &str| e[k].as_str().unwrap_or_default().to_string();
            (f("setting"), f("from"), f("to"))
        })
        .collect()
}

#[test]
fn recovering_alone_from_world_records_raises_degraded_after_until_reset() {
    let n =
        Node::new("supervisor:\n  adaptive: true\nservices:\n  api:\n    restart: [\"true\"]\n");
    record(&n, "ok", 0);
    n.reconcile(&at(0), &[]);
    assert_eq!(shown(&n, "degraded_after"), (2.into(), "preset".into()));
    let mut changed = vec![];
    // Five blips, ten minutes apart: `degraded` once, `ok` a minute later.
    for i in 0..5 {
        let t = 600 * (i + 1);
        record(&n, "degraded", t);
        let r = n.reconcile(&at(t), &[]);
        assert!(r.executed("api", "restart").is_none(), "{:?}", r.events);
        assert!(tuning_events(&r).is_empty(), "{:?}", r.events);
        record(&n, "ok", t + 60);
        if i == 2 {
            // Human output this time; the log has the event.
            let out = n.cli(&["reconcile", "--now", &at(t + 60)]);
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(
                text.contains("tuned  degraded_after 2 -> 3: recovered on its own 3 times"),
                "{text}"
            );
            let out = n.cli(&["events", "--type", "tuning_changed"]);
            let r = Outcome::from_output(&out);
            for e in tuning_events(&r) {
                changed.push((i, e));
            }
            continue;
        }
        let r = n.reconcile(&at(t + 60), &[]);
        for e in tuning_events(&r) {
            changed.push((i, e));
        }
    }
    // The third recovery takes the one step; then it has converged.
    assert_eq!(
        changed,
        vec![(2, ("degraded_after".into(), "2".into(), "3".into()))]
    );
    assert_eq!(shown(&n, "degraded_after"), (3.into(), "tuned".into()));
    assert_eq!(shown(&n, "dead_after"), (5.into(), "preset".into()));
    let human = n.cli(&["policies"]);
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(text.contains("degraded_after 3 (tuned from 2)"), "{text}");
    // The user's file is untouched; the checkpoint holds the value.
    let yaml = std::fs::read_to_string(n.path(&format!("hosts/{NODE}/services.yaml"))).unwrap();
    assert!(!yaml.contains("degraded_after"));
    let cp = std::fs::read_to_string(n.state().join("checkpoint.json")).unwrap();
    assert!(cp.contains("\"tuning\""), "{cp}");

    let out = n.cli(&["reset", "api", "--tuning"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("degraded_after 3"), "{said}");
    assert_eq!(shown(&n, "degraded_after"), (2.into(), "preset".into()));
    // The next run says why the value went back; then nothing is left.
    record(&n, "ok", 4000);
    let r = n.reconcile(&at(4000), &[]);
    assert_eq!(
        tuning_events(&r),
        vec![("degraded_after".into(), "3".into(), "2".into())],
        "{:?}",
        r.events
    );
    let e = &r.of("tuning_changed", "api")[0];
    assert_eq!(
        e["reason"], "reset by an operator (`reset --tuning`)",
        "{e}"
    );
    let cp = std::fs::read_to_string(n.state().join("checkpoint.json")).unwrap();
    assert!(!cp.contains("\"tuning\""), "{cp}");
    let r = n.reconcile(&at(4060), &[]);
    assert!(tuning_events(&r).is_empty(), "{:?}", r.events);
}

#[test]
fn adaptive_off_tunes_nothing() {
    let n = Node::new("services:\n  api:\n    restart: [\"true\"]\n");
    record(&n, "ok", 0);
    n.reconcile(&at(0), &[]);
    for i in 0..4 {
        let t = 600 * (i + 1);
        record(&n, "degraded", t);
        n.reconcile(&at(t), &[]);
        record(&n, "ok", t + 60);
        let r = n.reconcile(&at(t + 60), &[]);
        assert!(tuning_events(&r).is_empty(), "{:?}", r.events);
    }
    let cp = std::fs::read_to_string(n.state().join("checkpoint.json")).unwrap();
    assert!(!cp.contains("\"tuning\""), "{cp}");
    assert_eq!(shown(&n, "degraded_after"), (2.into(), "preset".into()));
}

/// With a live probe, the tuned `degraded_after` is the one in force: two
/// failing probes in a row leave the service healthy at 3, degrade it at 2.
#[test]
fn the_tuned_threshold_is_in_force_for_live_probes() {
    let mut n = Node::new("");
    let (_, pidfile) = n.sleep_with_pidfile("api", "3600.77");
    let flag = n.path("up");
    write_file(
        &n.path(&format!("hosts/{NODE}/services.yaml")),
        &format!(
            "supervisor:\n  adaptive: true\nservices:\n  api:\n    process:\n      pidfile: {}\n    health:\n      command: [\"test\", \"-e\", \"{}\"]\n",
            pidfile.display(),
            flag.display()
        ),
    );
    let up = |yes: bool| {
        if yes {
            write_file(&flag, "");
        } else {
            let _ = std::fs::remove_file(&flag);
        }
    };
    up(true);
    n.reconcile(&at(0), &[]);
    let mut steps = vec![];
    for i in 0..3 {
        let t = 600 * (i + 1);
        up(false);
        n.reconcile(&at(t), &[]);
        up(true);
        steps.extend(tuning_events(&n.reconcile(&at(t + 60), &[])));
    }
    assert_eq!(
        steps,
        vec![("degraded_after".into(), "2".into(), "3".into())]
    );
    let to_health = |r: &Outcome| -> Vec<String> {
        r.of("health_changed", "api")
            .iter()
            .map(|e| e["to"].as_str().unwrap().to_string())
            .collect()
    };
    up(false);
    let mut seen = vec![];
    for t in [3000, 3060] {
        seen.extend(to_health(&n.reconcile(&at(t), &[])));
    }
    assert!(seen.is_empty(), "two failures < degraded_after 3: {seen:?}");
    up(true);
    n.reconcile(&at(3120), &[]);
    let out = n.cli(&["reset", "api", "--tuning"]);
    assert!(out.status.success());
    up(false);
    let mut seen = vec![];
    for t in [3180, 3240] {
        seen.extend(to_health(&n.reconcile(&at(t), &[])));
    }
    assert_eq!(seen, vec!["degraded".to_string()], "configured 2 again");
}

/// `replay` of the shipped `flapping` scenario (a health check that fails
/// every other probe, recorded in world records) with `adaptive: true`:
/// one step, `degraded_after` 2 → 3, at the third recovery; then it has
/// converged and the score is unchanged.
#[test]
fn replay_of_a_flapping_service_tunes_once_and_converges() {
    use crate::support::{copy_tree, repo_root, Run};
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("s");
    copy_tree(&repo_root().join("world-fixtures/scenarios/flapping"), &dir);
    let yaml_path = dir.join("hosts/web-1/services.yaml");
    let yaml = std::fs::read_to_string(&yaml_path).expect("read");
    std::fs::write(&yaml_path, format!("supervisor:\n  adaptive: true\n{yaml}")).expect("write");
    let out = Run::bare()
        .arg("replay")
        .arg(&dir)
        .args(["--output", "json"])
        .run();
    assert_eq!(out.code, 0, "{}", out.describe());
    let events = out.expect_events();
    let tuned: Vec<(&str, &str, &str, &str)> = events
        .iter()
        .filter(|e| e["type"] == "tuning_changed")
        .map(|e| {
            let f = |k: &str| e[k].as_str().unwrap_or_default();
            (f("ts"), f("setting"), f("from"), f("to"))
        })
        .collect();
    assert_eq!(
        tuned,
        vec![("2026-11-20T12:03:00Z", "degraded_after", "2", "3")]
    );
    let score = events.last().expect("a score line");
    assert_eq!(score["passed"], true, "{score}");
}
