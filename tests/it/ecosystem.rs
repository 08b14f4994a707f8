//! Fitting the ecosystem: completions and a man page generated from the
//! CLI definition (SPEC §10), each command's help listing only the flags
//! it uses, `--output json` on the commands that print (SPEC §9
//! "Output"), and `schema_version` on every event line.
use serde_json::Value;

use crate::support::{parse_json_lines, repo_root, Output, Run, NOW};

fn run(args: &[&str]) -> Output {
    Run::bare().args(args).run()
}

#[test]
fn completions_for_three_shells_from_the_cli_definition() {
    let bash = run(&["completions", "bash"]);
    assert_eq!(bash.code, 0, "{}", bash.describe());
    assert!(bash.stdout.contains("reconcile"), "{}", bash.describe());
    assert!(bash.stdout.contains("--dry-run"), "{}", bash.describe());
    for shell in ["zsh", "fish"] {
        let out = run(&["completions", shell]);
        assert_eq!(out.code, 0, "{}", out.describe());
        assert!(out.stdout.contains("reconcile"), "{}", out.describe());
    }
    let out = run(&["completions", "tcsh"]);
    assert_eq!(out.code, 1, "{}", out.describe());
}

#[test]
fn man_page_is_roff_from_the_cli_definition() {
    let out = run(&["man"]);
    assert_eq!(out.code, 0, "{}", out.describe());
    assert!(out.stdout.starts_with(".TH"), "{}", out.describe());
    assert!(out.stdout.contains("reconcile"), "{}", out.describe());
    assert!(out.stdout.contains("dry\\-run"), "{}", out.describe());
}

#[test]
fn each_command_lists_only_the_flags_it_uses() {
    let help = |cmd: &str| {
        let out = run(&[cmd, "--help"]);
        assert_eq!(out.code, 0, "{}", out.describe());
        out.stdout
    };
    let events = help("events");
    for flag in ["--metrics-file", "--insecure-config", "--wait", "--dry-run"] {
        assert!(
            !events.contains(flag),
            "events --help lists {flag}:\n{events}"
        );
    }
    for flag in ["--follow", "--type", "--since", "--hosts", "--output"] {
        assert!(
            events.contains(flag),
            "events --help lacks {flag}:\n{events}"
        );
    }
    let audit = help("audit");
    assert!(!audit.contains("--metrics-file") && !audit.contains("--insecure-config"));
    let status = help("status");
    assert!(!status.contains("--metrics-file") && !status.contains("--now"));
    let reconcile = help("reconcile");
    for flag in ["--metrics-file", "--insecure-config", "--wait", "--now"] {
        assert!(reconcile.contains(flag), "reconcile --help lacks {flag}");
    }
}

/// Flags moved to their commands work after the command name, and still
/// before it, where they always were accepted.
#[test]
fn command_flags_work_after_and_before_the_command() {
    let root = repo_root();
    for before in [false, true] {
        let cli = Run::bare();
        let metrics = cli.scratch().join("metrics.prom");
        let state = cli.scratch().join("state");
        let flags = [
            "--metrics-file".as_ref(),
            metrics.as_os_str(),
            "--now".as_ref(),
            NOW.as_ref(),
        ];
        let mut cli = cli
            .arg("--hosts")
            .arg(root.join("hosts"))
            .arg("--world")
            .arg(root.join("world-fixtures/sample/world"))
            .arg("--state-dir")
            .arg(&state)
            .args(["--node", "gpu-box"]);
        if before {
            cli = cli.args(flags);
        }
        cli = cli.args(["reconcile", "--dry-run", "--no-probe"]);
        if !before {
            cli = cli.args(flags);
        }
        let out = cli.run();
        assert_eq!(out.code, 3, "{}", out.describe());
        let text = std::fs::read_to_string(&metrics).unwrap_or_default();
        assert!(text.contains("supervisor_service_health"), "{text}");
    }
    let out = run(&["events", "--metrics-file", "m.prom"]);
    assert_eq!(
        out.code,
        1,
        "events takes no --metrics-file\n{}",
        out.describe()
    );
}

const BROKEN: &str =
    "services:\n  web:\n    restart: [x]\n    restat: [x]\n  api:\n    kind: modle\n";

#[test]
fn validate_output_json_one_object_per_error_or_a_summary() {
    let cli = Run::bare();
    let hosts = cli.scratch().join("hosts");
    std::fs::create_dir_all(hosts.join("n1")).unwrap();
    std::fs::write(hosts.join("n1/services.yaml"), BROKEN).unwrap();
    let out = cli
        .arg("validate")
        .arg("--hosts")
        .arg(&hosts)
        .args(["--output", "json"])
        .run();
    assert_eq!(out.code, 1, "{}", out.describe());
    let errors = out.expect_events();
    assert!(errors.len() >= 2, "{}", out.describe());
    for e in &errors {
        for key in ["file", "line", "column", "message", "hint"] {
            assert!(e.get(key).is_some(), "no `{key}` in {e}");
        }
        assert!(
            e["file"].as_str().unwrap().ends_with("services.yaml"),
            "{e}"
        );
        assert!(e["line"].as_u64().is_some_and(|l| l > 0), "{e}");
    }
    assert!(
        errors
            .iter()
            .any(|e| e["hint"].as_str().is_some_and(|h| h.contains("restart"))),
        "a did-you-mean hint for `restat`\n{}",
        out.describe()
    );

    let out = Run::bare()
        .arg("validate")
        .arg("--hosts")
        .arg(repo_root().join("hosts"))
        .args(["--output", "json"])
        .run();
    assert_eq!(out.code, 0, "{}", out.describe());
    let summary = out.expect_events();
    assert_eq!(summary.len(), 1, "{}", out.describe());
    assert_eq!(summary[0]["ok"], true);
    assert!(summary[0]["services"].as_u64().is_some_and(|n| n > 0));
}

/// Every command that prints records (not a message) prints JSON lines with
/// `--output json`.
#[test]
fn output_json_on_the_commands_that_print_records() {
    let root = repo_root();
    let cli = Run::bare();
    let state = cli.scratch().join("state");
    let base = |cli: Run| {
        cli.arg("--hosts")
            .arg(root.join("hosts"))
            .arg("--world")
            .arg(root.join("world-fixtures/sample/world"))
            .arg("--state-dir")
            .arg(&state)
            .args(["--node", "gpu-box", "--output", "json"])
    };
    let out = base(cli)
        .args(["reconcile", "--dry-run", "--no-probe", "--now", NOW])
        .run();
    assert_eq!(out.code, 3, "{}", out.describe());
    for cmd in [
        &["validate"][..],
        &["check", "--now", NOW],
        &["status"],
        &["policies"],
        &["forecast"],
        &["audit"],
        &["events", "-n", "3"],
    ] {
        let out = base(Run::bare()).args(cmd).run();
        assert!(matches!(out.code, 0 | 2 | 3), "{}", out.describe());
        assert!(!out.stdout.trim().is_empty(), "{}", out.describe());
        if let Err(e) = parse_json_lines(&out.stdout) {
            panic!("{e}\n{}", out.describe());
        }
    }
}

#[test]
fn every_event_line_has_schema_version_after_the_common_fields() {
    let root = repo_root();
    let out = Run::bare()
        .arg("check")
        .arg("--hosts")
        .arg(root.join("hosts"))
        .arg("--world")
        .arg(root.join("world-fixtures/sample/world"))
        .args(["--now", NOW, "--output", "json"])
        .run();
    assert_eq!(out.code, 3, "{}", out.describe());
    assert!(!out.stdout.is_empty());
    for line in out.stdout.lines() {
        let (head, _) = line
            .split_once(",\"schema_version\":2")
            .unwrap_or_else(|| panic!("no schema_version 2: {line}"));
        let (common, service) = head
            .rsplit_once(",\"service\":")
            .unwrap_or_else(|| panic!("schema_version not after service: {line}"));
        assert!(
            serde_json::from_str::<Value>(service).is_ok(),
            "schema_version not right after service: {line}"
        );
        assert!(common.starts_with("{\"ts\":"), "{line}");
    }
}

/// Issue: completions offered no node or service names. The dynamic
/// script calls the binary, which reads hosts/ for them.
#[test]
fn dynamic_completion_offers_node_and_service_names_from_hosts() {
    let dir = tempfile::tempdir().unwrap();
    for (node, yaml) in [
        (
            "gpu-01",
            "services:\n  llama-8b:\n    kind: model\n  web: {}\n",
        ),
        ("nas", "services:\n  redis: {}\n"),
    ] {
        std::fs::create_dir_all(dir.path().join(node)).unwrap();
        std::fs::write(dir.path().join(node).join("services.yaml"), yaml).unwrap();
    }
    let hosts = dir.path().display().to_string();
    let complete = |words: &[&str]| {
        let mut argv = vec!["--", "supervisorctl", "--hosts", hosts.as_str()];
        argv.extend_from_slice(words);
        let out = Run::bare().env("COMPLETE", "fish").args(argv).run();
        assert_eq!(out.code, 0, "{}", out.describe());
        out.stdout
            .lines()
            .map(|l| l.split('\t').next().unwrap_or("").to_string())
            .collect::<Vec<_>>()
    };
    for verb in ["restart", "stop", "start", "logs", "pin", "hold"] {
        let got = complete(&[verb, "gpu"]);
        assert_eq!(got, ["gpu-01/llama-8b", "gpu-01/web"], "{verb}");
    }
    assert_eq!(complete(&["restart", "red"]), ["redis"]);
    let script = run(&["completions", "bash", "--dynamic"]);
    assert_eq!(script.code, 0, "{}", script.describe());
    assert!(
        script.stdout.contains("COMPLETE=\"bash\""),
        "{}",
        script.describe()
    );
}
