//! `validate`: the sample fleet and every fixture fleet are valid, and a
//! broken fleet gets every error reported, each at its `file:line:col`.
use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use crate::support::{repo_root, Run};

#[test]
fn sample_hosts_are_valid() {
    let out = Run::bare()
        .arg("validate")
        .arg("--hosts")
        .arg(repo_root().join("hosts"))
        .run();
    assert_eq!(out.code, 0, "{}", out.describe());
    assert!(
        out.stdout.starts_with("ok: 3 nodes, "),
        "{}",
        out.describe()
    );
}

#[test]
fn one_node_and_one_service_are_counted_in_the_singular() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "n1",
        "services:\n  web:\n    restart: [\"true\"]\n",
    );
    let out = Run::bare()
        .arg("validate")
        .arg("--hosts")
        .arg(dir.path())
        .run();
    assert_eq!(out.code, 0, "{}", out.describe());
    assert!(
        out.stdout.starts_with("ok: 1 node, 1 service in "),
        "{}",
        out.describe()
    );
}

#[test]
fn sample_hosts_and_world_are_valid() {
    let root = repo_root();
    let out = Run::bare()
        .arg("validate")
        .arg("--hosts")
        .arg(root.join("hosts"))
        .arg("--world")
        .arg(root.join("world-fixtures/sample/world"))
        .run();
    assert_eq!(out.code, 0, "{}", out.describe());
}

#[test]
fn every_fixture_fleet_is_valid() {
    let mut failures = Vec::new();
    for entry in fs::read_dir(repo_root().join("world-fixtures")).expect("world-fixtures/") {
        let hosts = entry.expect("an entry").path().join("hosts");
        if hosts.is_dir() {
            let out = Run::bare().arg("validate").arg("--hosts").arg(&hosts).run();
            if out.code != 0 {
                failures.push(out.describe());
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

const ALPHA: &str = "\
services:
  web:
    restart: [systemctl, restart, web]
    restat: [systemctl, restart, web]
  api:
    restart: [systemctl, restart, api]
  api:
    restart: [systemctl, restart, api]
";

const BETA: &str = "\
services:
  worker:
    restart: [systemctl, restart, worker]
    stop_timeout: 10 minutes
  llm:
    kind: model
    restart: [systemctl, restart, llm]
    fallback: llm-small
";

fn write(root: &Path, node: &str, text: &str) {
    fs::create_dir_all(root.join(node)).expect("create node dir");
    fs::write(root.join(node).join("services.yaml"), text).expect("write services.yaml");
}

/// Every `<node>/services.yaml:LINE:COL` named in `text`.
fn locations(text: &str) -> BTreeSet<(String, u32, u32)> {
    const FILE: &str = "/services.yaml:";
    let mut found = BTreeSet::new();
    for (at, _) in text.match_indices(FILE) {
        let node = ["alpha", "beta"]
            .into_iter()
            .find(|n| text[..at].ends_with(n))
            .unwrap_or("?");
        let rest = &text[at + FILE.len()..];
        let mut numbers = rest.splitn(3, ':').map(|part| {
            let digits: String = part.chars().take_while(char::is_ascii_digit).collect();
            digits.parse::<u32>().ok()
        });
        if let (Some(Some(line)), Some(Some(col))) = (numbers.next(), numbers.next()) {
            found.insert((node.to_string(), line, col));
        }
    }
    found
}

#[test]
fn every_error_is_reported_with_file_line_and_column() {
    let dir = tempfile::tempdir().expect("tempdir");
    let hosts = dir.path().join("hosts");
    write(&hosts, "alpha", ALPHA);
    write(&hosts, "beta", BETA);
    let out = Run::bare().arg("validate").arg("--hosts").arg(&hosts).run();
    assert_eq!(out.code, 1, "{}", out.describe());
    let err = &out.stderr;
    let at = locations(err);
    let has = |node: &str, lines: &[u32]| at.iter().any(|(n, l, _)| n == node && lines.contains(l));
    // the unknown key `restat` is on line 4
    assert!(
        has("alpha", &[4]) && err.contains("restat"),
        "unknown key: {at:?}\n{err}"
    );
    // `api` is declared again on line 7 (its body is on line 8)
    assert!(has("alpha", &[7, 8]), "duplicate service: {at:?}\n{err}");
    // `10 minutes` on line 4 is not a duration
    assert!(has("beta", &[4]), "bad duration: {at:?}\n{err}");
    // the fallback `llm-small` is not a service of beta
    assert!(err.contains("llm-small"), "unknown fallback:\n{err}");
    assert!(
        at.len() >= 4,
        "expected 4 errors at distinct file:line:col, found {at:?}\n{err}"
    );
}

#[test]
fn location_parsing_reads_file_line_and_column() {
    let text = "error: unknown field `restat`\n --> hosts/alpha/services.yaml:4:5\n\
                hosts/beta/services.yaml:8:15: unknown fallback\n`hosts/beta/services.yaml`";
    let at = locations(text);
    let expected: BTreeSet<_> = [("alpha".to_string(), 4, 5), ("beta".to_string(), 8, 15)].into();
    assert_eq!(at, expected);
}

/// Issue 19: `degraded_after 5 > dead_after 2` was reported only once the
/// other errors of `health:` were fixed (the block was read as one value,
/// so one bad field hid it), and a bad `process:` field hid the next. Each
/// section is read field by field: every error of the file in one run, and
/// none that only follows from another (a bad `pidfile` is not also "no
/// matcher"; a bad `dead_after` does not compare with the default).
/// `validate` of `hosts`, which must fail; the lines its errors point at.
fn refused_at_lines(hosts: &std::path::Path) -> (crate::support::Output, BTreeSet<u32>) {
    let out = Run::bare().arg("validate").arg("--hosts").arg(hosts).run();
    assert_eq!(out.code, 1, "{}", out.describe());
    let lines = locations(&out.stderr)
        .into_iter()
        .map(|(_, l, _)| l)
        .collect();
    (out, lines)
}

#[test]
fn every_error_of_a_section_is_reported_in_one_run() {
    let dir = tempfile::tempdir().unwrap();
    let hosts = dir.path().join("hosts");
    write(
        &hosts,
        "alpha",
        "services:\n  web:\n    process:\n      pidfile: relative.pid\n      user: [root]\n    health:\n      http: http://127.0.0.1:1/\n      timeout: abc\n      degraded_after: 5\n      dead_after: 2\n    restart: [\"true\"]\n  api:\n    health:\n      tcp: 127.0.0.1:1\n      degraded_after: x\n      dead_after: 2\n",
    );
    let (out, lines) = refused_at_lines(&hosts);
    assert_eq!(
        lines,
        BTreeSet::from([4, 5, 8, 9, 15]),
        "{}",
        out.describe()
    );
    assert!(
        out.stderr
            .contains("`degraded_after` (5) must not exceed `dead_after` (2)"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("needs one of"), "{}", out.stderr);
    assert!(
        out.stderr.contains("5 problems in 1 file"),
        "{}",
        out.stderr
    );
}

#[test]
fn every_bad_variable_of_env_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let hosts = dir.path().join("hosts");
    write(
        &hosts,
        "alpha",
        "services:\n  web:\n    spawn: [sleep, \"1\"]\n    env:\n      A: [x]\n      GOOD: yes\n      B: {y: 1}\n      1BAD: z\n      GOOD: again\n",
    );
    let (out, lines) = refused_at_lines(&hosts);
    assert_eq!(lines, BTreeSet::from([5, 7, 8, 9]), "{}", out.describe());
    assert!(
        out.stderr.contains("duplicate variable `GOOD`"),
        "{}",
        out.stderr
    );
}
