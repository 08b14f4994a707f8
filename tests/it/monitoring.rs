//! docs/monitoring/: the alerting rules pass `promtool check rules` and
//! their unit tests (`promtool test rules`), and every query of the Grafana
//! dashboard returns at least one series from a real Prometheus scraping
//! real node exporters fed by real runs' `--metrics-file`: the sample
//! fleet's dry run on one exporter, a memory leak played step by step (its
//! predictions) on another. Loopback only; every wait is bounded; every
//! process is killed when the test ends.
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{repo_root, sample_dry_run, skip, Run};

fn tool(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|d| names.iter().map(move |n| d.join(n)))
        .find(|p| p.is_file())
}

fn monitoring() -> PathBuf {
    repo_root().join("docs/monitoring")
}

#[test]
fn alert_rules_pass_promtool_and_their_unit_tests() {
    let Some(promtool) = tool(&["promtool"]) else {
        skip("promtool is not installed (Debian's `prometheus` brings it)");
        return;
    };
    for args in [
        vec!["check", "rules", "alerts.yml"],
        vec!["test", "rules", "alerts_test.yml"],
    ] {
        let out = Command::new(&promtool)
            .args(&args)
            .current_dir(monitoring())
            .output()
            .expect("run promtool");
        assert!(
            out.status.success(),
            "promtool {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// A child killed (and reaped) when the test ends, however it ends.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(bin: &Path, args: &[String]) -> Killed {
    Killed(
        Command::new(bin)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", bin.display())),
    )
}

fn exporter(bin: &Path, dir: &Path) -> (Killed, u16) {
    let port = crate::support::free_port();
    let args = vec![
        format!("--web.listen-address=127.0.0.1:{port}"),
        format!("--collector.textfile.directory={}", dir.display()),
        "--collector.disable-defaults".into(),
        "--collector.textfile".into(),
    ];
    (spawn(bin, &args), port)
}

/// `query` percent-encoded for a URL.
fn encode(query: &str) -> String {
    query
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            b => format!("%{b:02X}"),
        })
        .collect()
}

/// GET `path` from the loopback port; the body when the answer is 200.
fn get(port: u16, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let req = format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
    s.write_all(req.as_bytes()).ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.1 200")
        .then(|| body.to_string())
        .or_else(|| head.starts_with("HTTP/1.0 200").then(|| body.to_string()))
}

fn query(port: u16, q: &str) -> Result<Vec<Value>, String> {
    let body = get(port, &format!("/api/v1/query?query={}", encode(q)))
        .ok_or_else(|| format!("no answer to `{q}`"))?;
    let v: Value = serde_json::from_str(&body).map_err(|e| format!("{e}: {body}"))?;
    if v["status"] != "success" {
        return Err(format!("`{q}`: {body}"));
    }
    Ok(v["data"]["result"].as_array().cloned().unwrap_or_default())
}

/// Every query expression of the dashboard, with its panel's title.
fn dashboard_queries() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(monitoring().join("grafana-dashboard.json")).unwrap();
    let d: Value = serde_json::from_str(&text).expect("the dashboard is JSON");
    let mut out = vec![];
    let mut stack: Vec<&Value> = d["panels"].as_array().expect("panels").iter().collect();
    while let Some(p) = stack.pop() {
        stack.extend(p["panels"].as_array().into_iter().flatten());
        for t in p["targets"].as_array().into_iter().flatten() {
            let expr = t["expr"].as_str().expect("a target's expr");
            assert_eq!(t["datasource"]["uid"], "${datasource}", "{expr}");
            out.push((
                p["title"].as_str().unwrap_or("").to_string(),
                expr.to_string(),
            ));
        }
        if p["type"] != "row" {
            assert!(
                p["targets"].as_array().is_some_and(|t| !t.is_empty()),
                "panel {p} has no query"
            );
        }
    }
    out
}

/// The memory-leak scenario played as real dry runs, each writing `metrics`.
fn play_memory_leak(state: &Path, metrics: &Path) {
    let scenario = repo_root().join("world-fixtures/scenarios/memory-leak");
    let start: chrono::DateTime<chrono::Utc> = "2026-11-20T12:00:00Z".parse().unwrap();
    for (at, world) in crate::report::steps(&scenario) {
        let now = crate::report::rfc3339(start + chrono::Duration::seconds(at));
        let out = Run::new("reconcile")
            .args(["--dry-run", "--no-probe", "--metrics-file"])
            .arg(metrics)
            .hosts(scenario.join("hosts"))
            .world(&world)
            .state(state)
            .now(&now)
            .node("app-1")
            .output_json()
            .run();
        assert!(matches!(out.code, 0 | 2 | 3), "{}", out.describe());
    }
}

#[test]
fn every_dashboard_query_returns_a_series_from_a_real_prometheus() {
    let (Some(prometheus), Some(node_exporter)) = (
        tool(&["prometheus"]),
        tool(&["prometheus-node-exporter", "node_exporter"]),
    ) else {
        skip("prometheus or prometheus-node-exporter is not installed");
        return;
    };
    let root = tempfile::tempdir().unwrap();
    let (a, b) = (root.path().join("a"), root.path().join("b"));
    std::fs::create_dir_all(&a).unwrap();
    std::fs::create_dir_all(&b).unwrap();
    let run = sample_dry_run(&root.path().join("state-a"))
        .arg("--metrics-file")
        .arg(a.join("supervisorctl.prom"))
        .run();
    assert_eq!(run.code, 3, "{}", run.describe());
    play_memory_leak(&root.path().join("state-b"), &b.join("supervisorctl.prom"));
    let leak = std::fs::read_to_string(b.join("supervisorctl.prom")).unwrap();
    assert!(
        leak.contains("supervisor_failure_predicted_timestamp_seconds{"),
        "{leak}"
    );

    let (_ea, pa) = exporter(&node_exporter, &a);
    let (_eb, pb) = exporter(&node_exporter, &b);
    let port = crate::support::free_port();
    let config = root.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global: {{scrape_interval: 1s, evaluation_interval: 1s}}\nrule_files: [\"{}\"]\nscrape_configs:\n  - job_name: node\n    static_configs:\n      - targets: [\"127.0.0.1:{pa}\", \"127.0.0.1:{pb}\"]\n",
            monitoring().join("alerts.yml").display()
        ),
    )
    .unwrap();
    let _prometheus = spawn(
        &prometheus,
        &[
            format!("--config.file={}", config.display()),
            format!("--storage.tsdb.path={}", root.path().join("tsdb").display()),
            format!("--web.listen-address=127.0.0.1:{port}"),
        ],
    );
    // Both exporters scraped, the metrics of both runs there.
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let n = query(port, "count(supervisor_last_run_timestamp_seconds)")
            .ok()
            .and_then(|r| {
                r.first()
                    .and_then(|s| s["value"][1].as_str().map(String::from))
            });
        if n.as_deref() == Some("2") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "Prometheus never scraped both exporters (last: {n:?})"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    let queries = dashboard_queries();
    assert!(queries.len() >= 15, "{queries:?}");
    let empty: Vec<String> = queries
        .iter()
        .filter_map(|(title, q)| match query(port, q) {
            Ok(r) if !r.is_empty() => None,
            Ok(_) => Some(format!("{title}: `{q}` returned no series")),
            Err(e) => Some(format!("{title}: {e}")),
        })
        .collect();
    assert!(empty.is_empty(), "{empty:#?}");
    // The alerting rules load in the real Prometheus too.
    let rules = get(port, "/api/v1/rules").expect("rules");
    let rules: Value = serde_json::from_str(&rules).unwrap();
    let loaded: Vec<&Value> = rules["data"]["groups"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|g| g["rules"].as_array().into_iter().flatten())
        .collect();
    assert_eq!(loaded.len(), 8, "{rules}");
    assert!(loaded.iter().all(|r| r["health"] != "err"), "{rules}");
}
