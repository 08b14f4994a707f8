//! `report --out FILE.html`: reports of real state directories, opened in
//! a real browser (Debian's `chromium`, headless): the DOM it builds must
//! hold every service with its state as text, the file must load nothing
//! and run nothing, and a screenshot is taken (`target/report-*.png`, the
//! page beside it as `target/report-*.html`; with
//! `SUPERVISORCTL_SCREENSHOTS=DIR`, the fixture's is also copied to
//! `DIR/report.png`: `just screenshots`). Bad input never stops a report.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{copy_tree, repo_root, sample_dry_run, skip, Run, NOW};

#[allow(dead_code)]
#[path = "../../examples/bench/gen.rs"]
mod gen;

/// The browser, if this machine has one.
fn chromium() -> Option<PathBuf> {
    ["chromium", "chromium-browser"]
        .into_iter()
        .find_map(|name| {
            std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|d| d.join(name))
                    .find(|p| p.is_file())
            })
        })
}

/// The build's target folder (`target/` or `$CARGO_TARGET_DIR`): this
/// test binary is `<target>/debug/deps/it-…`.
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary");
    exe.ancestors().nth(3).expect("target folder").to_path_buf()
}

/// Runs the browser with `args` on `page`, at most a minute; its stdout.
fn browse(chromium: &Path, page: &Path, args: &[&str]) -> String {
    let profile = tempfile::tempdir().expect("profile folder");
    let mut child = Command::new(chromium)
        .args(["--headless", "--no-sandbox", "--disable-gpu"])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(["--no-first-run", "--disable-extensions"])
        .args(args)
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromium");
    let mut out = child.stdout.take().expect("stdout");
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut out, &mut s);
        s
    });
    let started = Instant::now();
    loop {
        if child.try_wait().expect("wait for chromium").is_some() {
            break;
        }
        if started.elapsed() > Duration::from_mins(1) {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "chromium did not finish within a minute on {}",
                page.display()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    reader.join().expect("chromium's output")
}

/// `report` of `state` (and `hosts`) into `<state>/report.html`.
fn report(hosts: &Path, state: &Path, now: &str, since: &str) -> PathBuf {
    let out = state.join("report.html");
    let run = Run::new("report")
        .hosts(hosts)
        .state(state)
        .now(now)
        .args(["--since", since, "--out"])
        .arg(&out)
        .output_json()
        .run();
    assert_eq!(run.code, 0, "{}", run.describe());
    let line: Value = serde_json::from_str(run.stdout.trim()).expect("one JSON line");
    assert_eq!(line["out"], out.display().to_string());
    out
}

/// What the page may never hold: a script, or anything fetched from afar.
fn check_self_contained(html: &str) {
    let lower = html.to_ascii_lowercase();
    for bad in [
        "<script", "http://", "https://", "<link", "<iframe", "@import", "url(http", "src=\"",
    ] {
        assert!(!lower.contains(bad), "the report holds `{bad}`");
    }
    assert!(html.contains(
        r#"<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:"#
    ));
    assert!(html.contains("prefers-color-scheme: dark"));
}

/// Every declared service's state as `status --output json` says it.
fn states(hosts: &Path, state: &Path) -> BTreeMap<String, String> {
    let out = Run::new("status")
        .hosts(hosts)
        .state(state)
        .output_json()
        .run();
    assert_eq!(out.code, 0, "{}", out.describe());
    out.stdout
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("status line"))
        .map(|v| {
            let state = if v["loading"] == true {
                "loading".to_string()
            } else {
                v["health"].as_str().expect("health").to_string()
            };
            (
                format!(
                    "{}/{}",
                    v["node"].as_str().unwrap(),
                    v["service"].as_str().unwrap()
                ),
                state,
            )
        })
        .collect()
}

/// The DOM as the browser built it holds each service with its state in
/// words, the sections, and nothing the page does not say.
fn check_dom(dom: &str, expected: &BTreeMap<String, String>) {
    assert!(
        dom.contains("Fleet report") || dom.contains("Replay of "),
        "not the report's DOM: {}",
        &dom[..dom.len().min(500)]
    );
    for (key, state) in expected {
        let at = dom
            .find(&format!(r#"data-service="{key}""#))
            .unwrap_or_else(|| panic!("{key} is not in the DOM"));
        // Up to the cell's end, or the next service's start (a list of cells).
        let cell = &dom[at..];
        let end = [
            cell.find("</td>"),
            cell[1..].find("data-service=").map(|i| i + 1),
        ]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(cell.len());
        let cell = &cell[..end];
        assert!(
            cell.contains(&format!(r#"data-state="{state}""#))
                && cell.contains(&format!(" {state}</span>")),
            "{key} should read `{state}` in its cell: {cell}"
        );
    }
    for section in ["Fleet", "Timelines", "Memory", "Incidents"] {
        assert!(
            dom.contains(&format!(">{section}</h2>")),
            "no {section} section"
        );
    }
}

/// Browser checks of one report: the DOM, then a screenshot.
fn in_browser(name: &str, page: &Path, expected: &BTreeMap<String, String>) -> Option<PathBuf> {
    let Some(chromium) = chromium() else {
        skip("chromium is not installed (.ci/run installs Debian's `chromium`)");
        return None;
    };
    // Kept beside the screenshot, to be opened by hand.
    let kept = target_dir().join(format!("report-{name}.html"));
    std::fs::copy(page, &kept).expect("keep the report");
    let dom = browse(&chromium, page, &["--dump-dom"]);
    check_dom(&dom, expected);
    let png = target_dir().join(format!("report-{name}.png"));
    let _ = std::fs::remove_file(&png);
    browse(
        &chromium,
        page,
        &[
            &format!("--screenshot={}", png.display()),
            "--window-size=1280,900",
        ],
    );
    let bytes =
        std::fs::read(&png).unwrap_or_else(|e| panic!("no screenshot {}: {e}", png.display()));
    assert!(
        bytes.starts_with(b"\x89PNG") && bytes.len() > 10_000,
        "{} is no screenshot",
        png.display()
    );
    Some(png)
}

#[test]
fn report_of_the_sample_fleet_after_a_dry_run() {
    let state = tempfile::tempdir().unwrap();
    let run = sample_dry_run(state.path()).run();
    assert_eq!(run.code, 3, "{}", run.describe());
    let hosts = repo_root().join("hosts");
    let page = report(&hosts, state.path(), "2026-11-23T12:05:00Z", "2h");
    let html = std::fs::read_to_string(&page).unwrap();
    check_self_contained(&html);
    // The dead model, its skipped restart with its reason, the offline node.
    assert!(html.contains(r#"data-service="gpu-box/llama-70b" data-state="dead""#));
    assert!(html.contains("restart skipped: dry_run"));
    assert!(html.contains("✖ offline"));
    assert!(html.contains("the observer reported `failed`"));
    let expected = states(&hosts, state.path());
    assert_eq!(expected.len(), 11, "{expected:?}");
    in_browser("sample", &page, &expected);
}

pub fn rfc3339(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The `at:` offsets (seconds) and worlds of a scenario's steps.
pub fn steps(scenario: &Path) -> Vec<(i64, PathBuf)> {
    let text = std::fs::read_to_string(scenario.join("scenario.yaml")).unwrap();
    let mut out = vec![];
    let mut at = None;
    for line in text.lines().map(str::trim) {
        if let Some(v) = line.strip_prefix("- at:") {
            let v = v.trim();
            let (n, unit) = v.split_at(v.len() - 1);
            let n: i64 = n.parse().unwrap_or_else(|_| panic!("`{v}`"));
            at = Some(
                n * match unit {
                    "s" => 1,
                    "m" => 60,
                    "h" => 3600,
                    _ => panic!("unit of `{v}`"),
                },
            );
        } else if let (Some(w), Some(a)) = (line.strip_prefix("world:"), at.take()) {
            out.push((a, scenario.join(w.trim())));
        }
    }
    out
}

/// A fleet of five shipped scenarios (a memory leak, a crash loop, GPU
/// pressure, a maintenance hold, an offline node), played as real
/// `reconcile --dry-run --no-probe` runs into one state directory: at each
/// step time the world holds every scenario's latest step; `web-1` (the
/// crash loop's) is the local node, whose actions are recorded. Returns the
/// hosts/ folder and the last run's time.
fn play_incident_fleet(root: &Path, state: &Path) -> (PathBuf, chrono::DateTime<chrono::Utc>) {
    let names = [
        "memory-leak",
        "crash-loop",
        "gpu-pressure",
        "maintenance-hold",
        "offline-node",
    ];
    let base = repo_root().join("world-fixtures/scenarios");
    let hosts = root.join("hosts");
    let all: Vec<Vec<(i64, PathBuf)>> = names
        .iter()
        .map(|n| {
            copy_tree(&base.join(n).join("hosts"), &hosts);
            steps(&base.join(n))
        })
        .collect();
    let mut times: Vec<i64> = all.iter().flatten().map(|s| s.0).collect();
    times.sort_unstable();
    times.dedup();
    let start: chrono::DateTime<chrono::Utc> = "2026-11-20T12:00:00Z".parse().unwrap();
    let mut last = start;
    for t in times {
        let world = root.join(format!("world-{t}"));
        for scenario in &all {
            if let Some((_, w)) = scenario.iter().rev().find(|s| s.0 <= t) {
                copy_tree(w, &world);
            }
        }
        last = start + chrono::Duration::seconds(t);
        let now = rfc3339(last);
        let out = Run::new("reconcile")
            .args(["--dry-run", "--no-probe"])
            .hosts(&hosts)
            .world(&world)
            .state(state)
            .now(&now)
            .node("web-1")
            .output_json()
            .run();
        assert!(matches!(out.code, 0 | 2 | 3), "{}", out.describe());
        std::fs::remove_dir_all(&world).unwrap();
    }
    (hosts, last)
}

#[test]
fn report_of_a_fleet_through_five_incidents() {
    let root = tempfile::tempdir().unwrap();
    let state = root.path().join("state");
    let (hosts, last) = play_incident_fleet(root.path(), &state);
    let now = rfc3339(last + chrono::Duration::minutes(2));
    let page = report(&hosts, &state, &now, "1h");
    let html = std::fs::read_to_string(&page).unwrap();
    check_self_contained(&html);
    // The leak's prediction is charted, the crash loop's deaths are bands.
    assert!(
        html.contains(r#"data-chart="app-1/worker/memory""#),
        "no memory chart of the leak"
    );
    assert!(html.contains("<b>predicted</b>"), "no predicted crossing");
    assert!(html.contains(r#"class="b-dead""#), "no dead band");
    assert!(html.contains("failure_predicted") || html.contains("predicted to cross"));
    let expected = states(&hosts, &state);
    assert!(expected.len() >= 5, "{expected:?}");
    if let Some(png) = in_browser("fixture", &page, &expected) {
        if let Some(dir) = std::env::var_os("SUPERVISORCTL_SCREENSHOTS") {
            std::fs::copy(&png, Path::new(&dir).join("report.png")).expect("copy the screenshot");
        }
    }
}

#[test]
fn report_of_a_generated_200_node_fleet() {
    let root = tempfile::tempdir().unwrap();
    gen::fleet(root.path(), 200, 8);
    let state = root.path().join("state");
    let hosts = root.path().join("hosts");
    let out = Run::new("reconcile")
        .args(["--dry-run", "--no-probe"])
        .hosts(&hosts)
        .world(root.path().join("world"))
        .state(&state)
        .now(gen::NOW)
        .node("node-0000")
        .output_json()
        .run();
    assert!(matches!(out.code, 0 | 2 | 3), "{}", out.describe());
    let page = report(&hosts, &state, "2026-11-23T12:01:00Z", "24h");
    let html = std::fs::read_to_string(&page).unwrap();
    check_self_contained(&html);
    let expected = states(&hosts, &state);
    assert_eq!(expected.len(), 1600);
    assert!(expected.values().any(|s| s == "dead") && expected.values().any(|s| s == "healthy"));
    // Timelines are capped; the page says how many are left out.
    assert!(html.contains("more with events in the window are not drawn"));
    in_browser("200-nodes", &page, &expected);
}

#[test]
fn bad_input_never_stops_a_report() {
    let state = tempfile::tempdir().unwrap();
    let run = sample_dry_run(state.path()).run();
    assert_eq!(run.code, 3, "{}", run.describe());
    let dir = state.path();
    // A checkpoint with one entry of the wrong shape, a torn and a garbage
    // line in the log, a rotated file with a bad line, broken overrides.
    let cp = dir.join("checkpoint.json");
    let mut v: Value = serde_json::from_slice(&std::fs::read(&cp).unwrap()).unwrap();
    v["services"]["gpu-box/llama-8b"]["health"] = "exploded".into();
    std::fs::write(&cp, v.to_string()).unwrap();
    let log = dir.join("events.jsonl");
    let mut text = std::fs::read_to_string(&log).unwrap();
    text.push_str("not json at all\n{\"ts\": \"2026-11-23T12:00:01Z\", \"type\": \"action_exec");
    std::fs::write(&log, text).unwrap();
    std::fs::write(dir.join("events.jsonl.1"), "{\"half\": \n").unwrap();
    std::fs::write(dir.join("overrides.json"), "{").unwrap();
    let out = dir.join("out.html");
    let r = Run::new("report")
        .hosts(repo_root().join("hosts"))
        .state(dir)
        .now("2026-11-23T12:05:00Z")
        .arg("--out")
        .arg(&out)
        .run();
    assert_eq!(r.code, 0, "{}", r.describe());
    let html = std::fs::read_to_string(&out).unwrap();
    for said in [
        "Not everything could be read",
        "8 of 9 service entries read",
        "incomplete last line",
        "pins and holds are not shown",
        "events.jsonl.1",
    ] {
        assert!(html.contains(said), "the page does not say `{said}`");
    }
    assert!(r.stderr.contains("warning: "), "{}", r.describe());
    // What could be read is there: llama-8b's state from its event.
    assert!(html.contains(r#"data-service="gpu-box/llama-8b" data-state="healthy""#));
    assert!(html.contains(r#"data-service="gpu-box/llama-70b" data-state="dead""#));

    // Nothing at all: an empty state directory still gives a page.
    let empty = tempfile::tempdir().unwrap();
    let r = Run::new("report")
        .hosts(empty.path().join("no-hosts"))
        .state(empty.path())
        .now(NOW)
        .arg("--out")
        .arg(empty.path().join("r.html"))
        .run();
    assert_eq!(r.code, 0, "{}", r.describe());
    let html = std::fs::read_to_string(empty.path().join("r.html")).unwrap();
    assert!(html.contains("could not be loaded") && html.contains("no event log"));

    // An unwritable destination is an error.
    let r = Run::new("report")
        .state(empty.path())
        .arg("--out")
        .arg(empty.path().join("no/such/dir/r.html"))
        .run();
    assert_eq!(r.code, 1, "{}", r.describe());
}

#[test]
fn replay_output_html_draws_the_replay_and_its_score() {
    let scenario = repo_root().join("world-fixtures/scenarios/memory-leak");
    let run = || {
        Run::new("replay")
            .arg(&scenario)
            .args(["--output", "html"])
            .run()
    };
    let out = run();
    let json = Run::new("replay").arg(&scenario).output_json().run();
    assert_eq!(out.code, json.code, "the same verdict: {}", out.describe());
    assert!(matches!(out.code, 0 | 2), "{}", out.describe());
    let html = &out.stdout;
    check_self_contained(html);
    assert!(
        html.contains("<h1>Replay of "),
        "{}",
        &html[..html.len().min(2000)]
    );
    assert!(html.contains(">Score</h2>"));
    assert!(
        html.contains(r#"data-chart="app-1/worker/memory""#),
        "the leak's series is charted"
    );
    assert!(html.contains("predicted to cross its threshold"));
    assert_eq!(run().stdout, *html, "the same scenario gives the same page");
    let page = tempfile::tempdir().unwrap();
    let file = page.path().join("replay.html");
    std::fs::write(&file, html).unwrap();
    let expected = BTreeMap::from([("app-1/worker".to_string(), "healthy".to_string())]);
    in_browser("replay", &file, &expected);

    // Any other command refuses `--output html`.
    let status = Run::new("status").args(["--output", "html"]).run();
    assert_eq!(status.code, 1, "{}", status.describe());
    assert!(
        status
            .stderr
            .contains("`--output html` is for `replay` only"),
        "{}",
        status.describe()
    );
}
