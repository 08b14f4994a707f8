//! The data-driven core of the suite: every `world-fixtures/<case>/` is a
//! fleet, a world and an `expect.json`; this walks them all, runs each one
//! through the real binary and reports every failing case together, each
//! with a readable list of what differed. `UPDATE_EXPECT=1` also prints the
//! actual events of failing cases, to help rewrite an expectation by hand;
//! nothing is ever rewritten automatically.
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

use crate::matcher::{brief, invariants, matches, without_durations};
use crate::support::{repo_root, Output, Run};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    description: String,
    pub command: String,
    now: String,
    #[serde(default)]
    node: Option<String>,
    exit_code: i32,
    state: String,
    #[serde(default)]
    must: Vec<Value>,
    #[serde(default)]
    must_not: Vec<Value>,
    #[serde(default)]
    count: Vec<Count>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Count {
    #[serde(rename = "match")]
    matcher: Value,
    n: usize,
}

/// Every case folder (one with an `expect.json`), sorted by name.
pub fn cases() -> Vec<PathBuf> {
    let root = repo_root().join("world-fixtures");
    let mut dirs: Vec<PathBuf> = fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("cannot read `{}`: {e}", root.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.join("expect.json").is_file())
        .collect();
    dirs.sort();
    dirs
}

pub fn load(dir: &Path) -> Result<Expect, String> {
    let path = dir.join("expect.json");
    let text = fs::read_to_string(&path).map_err(|e| format!("cannot read expect.json: {e}"))?;
    serde_json::from_str(&text).map_err(|e| format!("bad expect.json: {e}"))
}

/// Runs one case the way its `command` says, with JSON output.
fn run(dir: &Path, expect: &Expect) -> Result<Output, String> {
    run_as(dir, expect, true)
}

/// Runs one case the way its `command` says; `json` picks the output.
pub fn run_as(dir: &Path, expect: &Expect, json: bool) -> Result<Output, String> {
    let hosts = match dir.join("hosts") {
        own if own.is_dir() => own,
        _ => repo_root().join("hosts"),
    };
    let checkpoint = dir.join("checkpoint.json");
    let overrides = dir.join("overrides.json");
    let common = |cli: Run| {
        let cli = cli.hosts(&hosts).world(dir.join("world")).now(&expect.now);
        if json {
            cli.output_json()
        } else {
            cli
        }
    };
    match expect.command.as_str() {
        "check" => {
            let mut cli = common(Run::new("check"));
            if checkpoint.is_file() {
                cli = cli.arg("--checkpoint").arg(&checkpoint);
            }
            if overrides.is_file() {
                cli = cli.arg("--overrides").arg(&overrides);
            }
            if let Some(node) = &expect.node {
                cli = cli.node(node);
            }
            Ok(cli.run())
        }
        "reconcile-dry-run" => {
            let node = expect
                .node
                .as_ref()
                .ok_or("reconcile-dry-run needs `node` in expect.json")?;
            let cli = Run::bare();
            let state = cli.scratch().join("state");
            fs::create_dir(&state).map_err(|e| format!("cannot create the state dir: {e}"))?;
            for file in [&checkpoint, &overrides] {
                if file.is_file() {
                    let name = file.file_name().expect("a file name");
                    fs::copy(file, state.join(name)).map_err(|e| format!("cannot copy: {e}"))?;
                }
            }
            let cli = cli
                .args(["reconcile", "--dry-run", "--no-probe"])
                .state(&state);
            Ok(common(cli).node(node).run())
        }
        other => Err(format!(
            "unknown command `{other}` (expected check or reconcile-dry-run)"
        )),
    }
}

/// Everything that differs between the run and the expectation.
fn compare(expect: &Expect, out: &Output, events: &[Value]) -> Vec<String> {
    let mut problems = Vec::new();
    if out.code != expect.exit_code {
        problems.push(format!(
            "exit code: expected {}, got {}",
            expect.exit_code, out.code
        ));
    }
    let finished = events
        .iter()
        .rev()
        .find(|e| e.get("type").and_then(Value::as_str) == Some("run_finished"));
    let state = finished
        .and_then(|e| e.get("state"))
        .and_then(Value::as_str);
    if state != Some(expect.state.as_str()) {
        problems.push(format!(
            "state: expected {}, got {}",
            expect.state,
            state.unwrap_or("(no run_finished state)")
        ));
    }
    problems.extend(invariants(events, &expect.now, expect.command == "check"));
    for m in &expect.must {
        if !events.iter().any(|e| matches(m, e)) {
            problems.push(format!("missing: {m}"));
        }
    }
    for m in &expect.must_not {
        for e in events.iter().filter(|e| matches(m, e)) {
            problems.push(format!("unexpected (must_not {m}): {}", brief(e)));
        }
    }
    for c in &expect.count {
        let n = events.iter().filter(|e| matches(&c.matcher, e)).count();
        if n != c.n {
            problems.push(format!("count {}: expected {}, got {n}", c.matcher, c.n));
        }
    }
    problems
}

/// Runs one case; `Err` carries the report of a failing one.
fn check_case(dir: &Path) -> Result<(), String> {
    let expect = load(dir)?;
    let out = run(dir, &expect)?;
    let events = match out.events() {
        Ok(events) => events,
        Err(e) => return Err(format!("stdout is not JSON lines: {e}\n{}", out.describe())),
    };
    let mut problems = compare(&expect, &out, &events);
    if expect.command == "check" && problems.is_empty() {
        let again = run(dir, &expect)?;
        let (a, b) = (
            without_durations(&out.stdout),
            without_durations(&again.stdout),
        );
        if a != b {
            problems.push(format!(
                "not deterministic: a second run printed different events\n{}",
                first_difference(&a, &b)
            ));
        }
    }
    if problems.is_empty() {
        return Ok(());
    }
    let mut report = format!("{}\n  command: {}\n", expect.description, out.command);
    for p in &problems {
        let _ = writeln!(report, "  - {p}");
    }
    if !out.stderr.trim().is_empty() {
        let _ = writeln!(report, "  stderr: {}", out.stderr.trim());
    }
    if std::env::var_os("UPDATE_EXPECT").is_some_and(|v| v == "1") {
        report.push_str("  actual events:\n");
        for e in &events {
            let _ = writeln!(report, "    {}", brief(e));
        }
    }
    Err(report)
}

fn first_difference(a: &str, b: &str) -> String {
    let line = a
        .lines()
        .zip(b.lines())
        .position(|(x, y)| x != y)
        .unwrap_or_else(|| a.lines().count().min(b.lines().count()));
    format!(
        "    first run,  line {}: {}\n    second run, line {}: {}",
        line + 1,
        a.lines().nth(line).unwrap_or("(end)"),
        line + 1,
        b.lines().nth(line).unwrap_or("(end)")
    )
}

#[test]
fn every_fixture_case_meets_its_expectation() {
    let dirs = cases();
    assert!(
        dirs.len() >= 30,
        "expected the fixture cases, found {}",
        dirs.len()
    );
    let failures: Vec<String> = dirs
        .iter()
        .filter_map(|dir| {
            let name = dir
                .file_name()
                .expect("a name")
                .to_string_lossy()
                .into_owned();
            check_case(dir)
                .err()
                .map(|report| format!("── {name}: {report}"))
        })
        .collect();
    if !failures.is_empty() {
        let hint = if std::env::var_os("UPDATE_EXPECT").is_none() {
            "\n(hint: UPDATE_EXPECT=1 prints the actual events of each failing case)"
        } else {
            ""
        };
        panic!(
            "{} of {} fixture cases failed:\n\n{}{hint}",
            failures.len(),
            dirs.len(),
            failures.join("\n")
        );
    }
}

#[test]
fn every_expectation_is_well_formed() {
    let mut problems = Vec::new();
    for dir in cases() {
        let name = dir
            .file_name()
            .expect("a name")
            .to_string_lossy()
            .into_owned();
        match load(&dir) {
            Err(e) => problems.push(format!("{name}: {e}")),
            Ok(e) => {
                if e.description.trim().is_empty() {
                    problems.push(format!("{name}: empty description"));
                }
                if !matches!(e.command.as_str(), "check" | "reconcile-dry-run") {
                    problems.push(format!("{name}: unknown command {}", e.command));
                }
                if e.command == "reconcile-dry-run" && e.node.is_none() {
                    problems.push(format!("{name}: reconcile-dry-run without node"));
                }
                if !dir.join("world").is_dir() {
                    problems.push(format!("{name}: no world/"));
                }
                let all = e
                    .must
                    .iter()
                    .chain(&e.must_not)
                    .chain(e.count.iter().map(|c| &c.matcher));
                if let Some(m) = all.into_iter().find(|m| !m.is_object()) {
                    problems.push(format!("{name}: a matcher is not an object: {m}"));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
