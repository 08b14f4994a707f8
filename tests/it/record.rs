//! `observe --out DIR --every D --count N` records a live node as a replay
//! scenario: a real process and a real HTTP health endpoint that starts
//! failing halfway; the recording replays on its own, and once its fault
//! is written down the replay handles it.
use std::fs;
use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::live_support::{Health, Node};

const NOW: &str = "2026-11-20T12:00:00Z";

fn record(node: &Node, out: &Path, count: &str) -> std::process::Output {
    node.cli(&[
        "observe",
        "--out",
        &out.display().to_string(),
        "--every",
        "300ms",
        "--count",
        count,
        "--now",
        NOW,
    ])
}

fn replay(out: &Path) -> (i32, Vec<Value>) {
    let o = crate::support::Run::new("replay")
        .output_json()
        .arg(out)
        .run();
    let events = o
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    (o.code, events)
}

#[test]
fn a_recording_replays_and_scores_the_fault_it_saw() {
    let health = Health::start(200);
    let mut node = Node::new("services: {}\n");
    let (_pid, pidfile) = node.sleep_with_pidfile("api", "60");
    fs::write(
        node.path("hosts/testnode/services.yaml"),
        format!(
            // Steps 300ms apart: failures count once per 100ms probe period.
            "supervisor:\n  probe_period: 100ms\nservices:\n  api:\n    process:\n      pidfile: {}\n    health:\n      http: {}\n    restart: [\"true\"]\n",
            pidfile.display(),
            health.url()
        ),
    )
    .expect("services.yaml");
    let out = node.path("recording");
    // The endpoint fails from the second step on.
    let watch = out.join("steps/01");
    let flipper = {
        let status = health.status.clone();
        std::thread::spawn(move || {
            for _ in 0..1000 {
                if watch.exists() {
                    status.store(503, std::sync::atomic::Ordering::SeqCst);
                    return;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    };
    let o = record(&node, &out, "9");
    flipper.join().expect("flipper");
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(String::from_utf8_lossy(&o.stdout).contains("recorded node `testnode`: 9 steps"));
    let scenario = fs::read_to_string(out.join("scenario.yaml")).expect("scenario.yaml");
    assert!(scenario.contains("start: 2026-11-20T12:00:00Z\nnode: testnode\nsteps:\n  - at: 0s\n    world: steps/00\n  - at: 300ms\n"), "{scenario}");
    assert!(
        scenario.ends_with("  - at: 2400ms\n    world: steps/08\nfaults: []\n"),
        "{scenario}"
    );
    assert!(out.join("hosts/testnode/services.yaml").is_file());
    let rec: Value = serde_json::from_str(
        &fs::read_to_string(out.join("steps/05/services/testnode/api.json")).expect("record"),
    )
    .expect("json");
    assert_eq!(rec["probe"], "failing", "{rec}");
    assert_eq!(rec["status"], "degraded");
    assert_eq!(rec["observed_at"], "2026-11-20T12:00:01.500Z");

    // Without faults: the replay restarts the service (five failing
    // probes), and nothing tells the score that was right: a false action.
    let (code, events) = replay(&out);
    assert_eq!(code, 2, "{events:?}");
    let score = events.last().expect("score");
    assert_eq!(score["type"], "replay_score");
    assert_eq!(score["false_actions"], 1, "{score}");
    let first_failing = (0..9)
        .find(|i| {
            let p = out.join(format!("steps/{i:02}/services/testnode/api.json"));
            fs::read_to_string(p).is_ok_and(|t| t.contains("\"failing\""))
        })
        .expect("a failing step");
    // Written down, the fault is handled: exit 0.
    let at = first_failing * 300;
    let with_fault = scenario.replace(
        "faults: []\n",
        &format!("faults:\n  - service: api\n    from: {at}ms\n    action: restart\n"),
    );
    fs::write(out.join("scenario.yaml"), with_fault).expect("write");
    let (code, events) = replay(&out);
    let score = events.last().expect("score");
    assert_eq!(code, 0, "{score}");
    assert_eq!(score["faults"][0]["ok"], true);

    // A recording is never overwritten.
    let again = record(&node, &out, "2");
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already holds a recording"));
}

#[test]
fn a_recording_needs_a_positive_interval_and_a_bounded_count() {
    let node = Node::new("services:\n  a:\n    restart: [\"true\"]\n");
    let out = node.path("rec");
    for (every, count) in [("0s", "3"), ("1s", "0"), ("1s", "200001")] {
        let o = node.cli(&[
            "observe",
            "--out",
            &out.display().to_string(),
            "--every",
            every,
            "--count",
            count,
        ]);
        assert_eq!(o.status.code(), Some(1), "{every} {count}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains("a recording needs `--every` above 0 and `--count` from 1 to 200000"),
            "{err}"
        );
        assert!(!out.exists(), "nothing written");
    }
}
