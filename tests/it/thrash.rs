//! Thrash (SPEC §12): a model evicted and started again within its idle
//! timeout three times in an hour gets its effective idle timeout doubled,
//! and `thrash_detected` says so; the next idle eviction waits for the
//! doubled timeout.
use std::os::unix::process::CommandExt;
use std::path::PathBuf;

use crate::live_support::{write_file, Node, Outcome, NODE};

/// `2026-11-23T12:00:00Z` plus `secs`.
fn at(secs: i64) -> String {
    let t0: chrono::DateTime<chrono::Utc> = "2026-11-23T12:00:00Z".parse().unwrap();
    (t0 + chrono::Duration::seconds(secs)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

struct Model {
    n: Node,
    pidfile: PathBuf,
}

impl Model {
    fn new() -> Model {
        let n = Node::new("");
        let pidfile = n.path("llm.pid");
        write_file(
            &n.path(&format!("hosts/{NODE}/services.yaml")),
            &format!(
                "supervisor:\n  idle_eviction: true\n  max_restart_attempts: 10\nservices:\n  llm:\n    kind: model\n    idle_timeout: 1m\n    process:\n      pidfile: {}\n    restart: [\"true\"]\n",
                pidfile.display()
            ),
        );
        let mut m = Model { n, pidfile };
        m.load();
        m
    }

    /// The model's process, as a restart would have left it.
    fn load(&mut self) {
        // Its own process group: the tool never signals the group it runs in.
        let child = std::process::Command::new("sleep")
            .arg("3600.71")
            .process_group(0)
            .spawn()
            .expect("sleep");
        let pid = child.id();
        self.n.children.push(child);
        write_file(&self.pidfile, &format!("{pid}\n"));
    }

    /// The observer saw a request at `secs`.
    fn activity(&self, secs: i64) {
        write_file(
            &self.n.path(&format!("world/services/{NODE}/llm.json")),
            &format!(
                r#"{{"status":"ok","observed_at":"{}","last_activity":"{}"}}"#,
                at(secs),
                at(secs)
            ),
        );
    }

    fn run(&self, secs: i64) -> Outcome {
        self.n.reconcile(&at(secs), &[])
    }
}

fn outcome(r: &Outcome, action: &str) -> Option<String> {
    r.executed("llm", action)
        .map(|e| e["outcome"].as_str().unwrap_or_default().to_string())
}

#[test]
fn three_quick_reloads_double_the_idle_timeout() {
    let mut m = Model::new();
    m.activity(0);
    assert_eq!(outcome(&m.run(0), "evict"), None);
    // Three cycles: idle eviction at E, a request at E+20s, reload at E+30s.
    for (i, e) in [120, 300, 480].into_iter().enumerate() {
        let r = m.run(e);
        assert_eq!(
            outcome(&r, "evict").as_deref(),
            Some("success"),
            "cycle {i}: {:?}",
            r.events
        );
        m.activity(e + 20);
        let r = m.run(e + 30);
        assert_eq!(
            outcome(&r, "restart").as_deref(),
            Some("started"),
            "cycle {i}: {:?}",
            r.events
        );
        let thrash = r.of("thrash_detected", "llm");
        if i < 2 {
            assert!(thrash.is_empty(), "cycle {i}: {thrash:?}");
        } else {
            assert_eq!(thrash.len(), 1, "{:?}", r.events);
            assert_eq!(
                (thrash[0]["from"].as_str(), thrash[0]["to"].as_str()),
                (Some("1m"), Some("2m"))
            );
            assert!(
                thrash[0]["reason"]
                    .as_str()
                    .unwrap()
                    .contains("3 times in an hour"),
                "{}",
                thrash[0]
            );
            // It follows the start that made the third cycle.
            let pos = |ty: &str| {
                r.events
                    .iter()
                    .position(|e| e["type"] == ty && e["service"] == "llm")
            };
            assert!(pos("action_executed") < pos("thrash_detected"));
        }
        m.load();
        let r = m.run(e + 60);
        assert_eq!(outcome(&r, "evict"), None, "cycle {i}: {:?}", r.events);
    }
    // Last activity: the reload at 510s. Idle for 90s > 1m, but not > 2m: kept.
    let r = m.run(600);
    assert_eq!(
        outcome(&r, "evict"),
        None,
        "doubled timeout: {:?}",
        r.events
    );
    // Idle for 130s > 2m: evicted, and the reason says why it waited.
    let r = m.run(640);
    assert_eq!(
        outcome(&r, "evict").as_deref(),
        Some("success"),
        "{:?}",
        r.events
    );
    let idle = r.of("drift_detected", "llm");
    let detail = idle[0]["detail"].as_str().unwrap();
    assert!(
        detail.contains("idle_timeout 120s, 2× after thrash"),
        "{detail}"
    );
    let cp: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(m.n.state().join("checkpoint.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(cp["services"]["testnode/llm"]["idle_multiplier"], 2, "{cp}");
    // `policies` shows the raised timeout, from the checkpoint.
    let out = m.n.cli(&["policies", "--output", "json"]);
    let node: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        node["thrash"]["raised"],
        serde_json::json!([{"service": "llm", "multiplier": 2,
            "idle_timeout": "1m", "effective_idle_timeout": "2m"}]),
        "{node}"
    );
    let human = String::from_utf8_lossy(&m.n.cli(&["policies"]).stdout).into_owned();
    assert!(
        human.contains("thrash llm          idle timeout 2m (2× the declared 1m)"),
        "{human}"
    );
}

#[test]
fn a_model_in_use_for_a_full_timeout_goes_back_to_one() {
    let mut m = Model::new();
    m.activity(0);
    m.run(0);
    for e in [120, 300, 480] {
        m.run(e);
        m.activity(e + 20);
        m.run(e + 30);
        m.load();
        m.run(e + 60);
    }
    // In use (a request every 90s) for the full 2m since its start at 510s.
    m.activity(590);
    assert_eq!(outcome(&m.run(600), "evict"), None);
    m.activity(630);
    assert_eq!(outcome(&m.run(640), "evict"), None);
    let cp = std::fs::read_to_string(m.n.state().join("checkpoint.json")).unwrap();
    assert!(!cp.contains("idle_multiplier"), "back to 1×: {cp}");
    // 1× again: idle for 70s > 1m is enough.
    let r = m.run(700);
    assert_eq!(
        outcome(&r, "evict").as_deref(),
        Some("success"),
        "{:?}",
        r.events
    );
}
