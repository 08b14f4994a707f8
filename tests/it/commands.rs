//! The operator commands around the run: `policies`, `audit`, `forecast`,
//! `status`, `events`, against the sample fleet and a real state directory.
use serde_json::Value;

fn cli(state: &std::path::Path, args: &[&str]) -> (i32, Vec<Value>, String) {
    let out = crate::support::Run::bare()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .command()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "--hosts",
            "hosts",
            "--world",
            "world-fixtures/sample/world",
            "--state-dir",
        ])
        .arg(state)
        .args(args)
        .output()
        .expect("run binary");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    // Lines of JSON output must be JSON: a broken one fails the test
    // instead of being dropped (human text is skipped).
    let json = stdout
        .lines()
        .filter(|l| args.contains(&"json") || l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    (out.status.code().unwrap_or(-1), json, stdout)
}

#[test]
fn policies_show_effective_settings_and_the_policy_order() {
    let state = tempfile::tempdir().unwrap();
    let (code, nodes, _) = cli(state.path(), &["policies", "--output", "json"]);
    assert_eq!(code, 0);
    let names: Vec<&str> = nodes.iter().map(|n| n["node"].as_str().unwrap()).collect();
    assert_eq!(names, ["edge-01", "gpu-box", "nas"]);
    let order: Vec<&str> = nodes[0]["policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["policy"].as_str().unwrap())
        .collect();
    assert_eq!(
        order,
        [
            "safety",
            "availability",
            "pinned",
            "idle_eviction",
            "resource_optimization"
        ]
    );
    assert_eq!(nodes[0]["preset"], "aggressive");
    assert_eq!(nodes[2]["preset"], "conservative");
    assert_eq!(
        nodes[2]["policies"][3]["enabled"], false,
        "conservative turns idle eviction off"
    );
    // The SPEC §12 settings and the thrash rule (no run yet: nothing raised).
    let n = &nodes[1];
    assert_eq!(
        (
            &n["breaker_retry"],
            &n["load_timeout"],
            &n["start_grace"],
            &n["predict_horizon"]
        ),
        (&"30m".into(), &"10m".into(), &"10s".into(), &"30m".into()),
        "{n}"
    );
    assert_eq!(
        (&n["predictive"], &n["evict_orphans"]),
        (&true.into(), &false.into())
    );
    assert_eq!(n["adaptive"], false);
    let thrash = &n["thrash"];
    assert_eq!(
        (
            &thrash["cycles"],
            &thrash["window"],
            &thrash["max_multiplier"]
        ),
        (&3.into(), &"1h".into(), &4.into()),
        "{n}"
    );
    assert!(thrash["rule"].as_str().unwrap().contains("doubled"), "{n}");
    assert_eq!(thrash["raised"], serde_json::json!([]), "{n}");

    let (_, _, human) = cli(state.path(), &["policies"]);
    for line in [
        "restarts            at most 1 attempt, backoff",
        "restarts            at most 3 attempts, backoff",
        "circuit breaker     half-open after 30m",
        "start grace         10s",
        "load timeout        10m",
        "prediction          on, 30m ahead",
        "thrash              a model evicted and started again within its idle timeout 3 times in an hour",
    ] {
        assert!(human.contains(line), "{line:?} in:\n{human}");
    }
    assert!(!human.contains("1 attempts"), "{human}");
}

/// Issue 19: `policies` showed a medium and a slow tick that nothing uses
/// (one pass has one cadence: the timer's). Only the fast tick is shown,
/// the one a live probe counts by.
#[test]
fn policies_show_only_the_tick_that_is_used() {
    let state = tempfile::tempdir().unwrap();
    let (_, nodes, _) = cli(state.path(), &["policies", "--output", "json"]);
    for n in &nodes {
        assert!(
            n.get("medium_tick").is_none() && n.get("slow_tick").is_none(),
            "{n}"
        );
    }
    assert_eq!(nodes[0]["fast_tick"], "2s", "aggressive");
    let (_, _, human) = cli(state.path(), &["policies"]);
    assert!(
        !human.contains("medium") && !human.contains("slow"),
        "{human}"
    );
    assert!(
        human.contains("fast tick           2s (a live probe counts at most once a tick)"),
        "{human}"
    );
}

#[test]
fn audit_status_events_and_forecast_read_what_runs_recorded() {
    let state = tempfile::tempdir().unwrap();
    for now in ["2026-11-23T12:00:00Z", "2026-11-23T12:01:00Z"] {
        let (code, _, _) = cli(
            state.path(),
            &[
                "reconcile",
                "--dry-run",
                "--no-probe",
                "--node",
                "gpu-box",
                "--now",
                now,
                "--output",
                "json",
            ],
        );
        assert_eq!(code, 3);
    }
    let (_, decisions, _) = cli(state.path(), &["audit", "--output", "json"]);
    assert_eq!(decisions.len(), 6, "3 nodes × 2 runs");
    assert!(decisions.iter().all(|d| d["type"] == "decision"));
    let (_, last, _) = cli(
        state.path(),
        &[
            "audit",
            "--node",
            "gpu-box",
            "--since",
            "2026-11-23T12:00:30Z",
            "--output",
            "json",
        ],
    );
    assert_eq!(last.len(), 1);
    assert_eq!(last[0]["ts"], "2026-11-23T12:01:00Z");
    let (_, about, _) = cli(
        state.path(),
        &[
            "audit",
            "--service",
            "redis",
            "--limit",
            "1",
            "--output",
            "json",
        ],
    );
    assert_eq!((about.len(), about[0]["node"].as_str()), (1, Some("nas")));

    let (_, status, _) = cli(state.path(), &["status", "--output", "json"]);
    let llama = status.iter().find(|s| s["service"] == "llama-70b").unwrap();
    assert_eq!(llama["health"], "dead");
    let (_, restarts, _) = cli(
        state.path(),
        &[
            "events",
            "--type",
            "action_executed",
            "--service",
            "llama-70b",
        ],
    );
    assert!(restarts.iter().all(|e| e["reason"] == "dry_run") && !restarts.is_empty());

    let (code, models, _) = cli(state.path(), &["forecast", "--output", "json"]);
    assert_eq!(code, 0);
    assert!(models
        .iter()
        .any(|m| m["service"] == "llama-70b" && m["node"] == "gpu-box"));
    assert!(
        models.iter().all(|m| m["service"] != "redis"),
        "only models are forecast"
    );
}

#[test]
fn diff_shows_desired_against_actual_per_node() {
    let state = tempfile::tempdir().unwrap();
    let (code, _, text) = cli(state.path(), &["diff"]);
    assert_eq!(code, 2, "the sample world differs");
    assert!(text.contains("--- desired/nas\n+++ actual/nas\n"), "{text}");
    assert!(
        text.contains("-service redis: running\n+service redis: absent\n"),
        "{text}"
    );
    assert!(
        text.contains("-model llama-70b: running (pinned)\n+model llama-70b: failed (pinned)\n"),
        "{text}"
    );
    assert!(
        !text.contains("desired/gpu-box\n+++ actual/gpu-box\n@@ -1,"),
        "unchanged lines are context only"
    );
}

/// Issue 19: `--version` said 0.1.0 while CHANGELOG.md had released 0.2.0.
/// The binary says the newest released version of the changelog.
#[test]
fn version_is_the_changelogs_latest_release() {
    let changelog =
        std::fs::read_to_string(crate::support::repo_root().join("CHANGELOG.md")).unwrap();
    let released = changelog
        .lines()
        .filter_map(|l| l.strip_prefix("## "))
        .find_map(|h| {
            h.split_whitespace()
                .next()
                .filter(|v| v.starts_with(char::is_numeric))
        })
        .expect("a released version in CHANGELOG.md");
    let out = crate::support::Run::bare().arg("--version").run();
    assert_eq!(out.stdout.trim(), format!("supervisorctl {released}"));
}

/// The plan's last line, "hint: `--output json` …", is for a person at a
/// terminal: under `script` (a pseudo-terminal) it is printed, through a
/// pipe (a timer's journal, `| less`) it is not.
#[test]
fn the_plan_hint_is_printed_only_to_a_terminal() {
    const HINT: &str = "hint: `--output json` prints these as events";
    let have_script = std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    let root = crate::support::repo_root();
    let args = [
        "check".to_string(),
        "--hosts".into(),
        root.join("hosts").display().to_string(),
        "--world".into(),
        root.join("world-fixtures/sample/world")
            .display()
            .to_string(),
        "--now".into(),
        crate::support::NOW.into(),
    ];
    let piped = crate::support::Run::bare()
        .command()
        .args(&args)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&piped.stdout).into_owned();
    assert!(text.contains("\nstate: "), "{text}");
    assert!(!text.contains(HINT), "through a pipe:\n{text}");
    if !have_script {
        crate::support::skip("`script` (util-linux) for a pseudo-terminal");
        return;
    }
    let quote = |s: &str| format!("'{}'", s.replace('\'', r"'\''"));
    let line: Vec<String> = std::iter::once(env!("CARGO_BIN_EXE_supervisorctl").to_string())
        .chain(args.iter().cloned())
        .map(|a| quote(&a))
        .collect();
    let tty = std::process::Command::new("script")
        .args(["-qec", &line.join(" "), "/dev/null"])
        .env("SUPERVISORCTL_ENV_FILE", "")
        .env("NO_COLOR", "1")
        .env_remove("SUPERVISORCTL_STATE_DIR")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&tty.stdout).into_owned();
    assert!(text.contains(HINT), "at a terminal:\n{text}");
}
