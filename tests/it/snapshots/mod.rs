//! Whole-output snapshots (insta): every fixture world's full stdout in
//! both formats, and the full stderr of every user-facing error, with the
//! exit code. A `contains` check passes a doubled message or an extra
//! event; a snapshot does not. What differs from one machine or run to the
//! next is redacted before comparing: the scratch and repository paths,
//! `duration_ms`, the run id (a hash of inputs that include paths), the
//! local host name, pids and the version. Snapshots live in
//! `tests/it/snapshots/cases/`; docs/testing.md says how to update them.
mod errors;
mod fixtures;

use std::path::Path;

use crate::support::{repo_root, Output};

/// The exit code and both streams of one run, paths named by `labels`
/// (the longest first, so a folder inside another is named first).
pub fn render(out: &Output, labels: &[(&Path, &str)]) -> String {
    let text = format!(
        "command: {}\nexit code: {}\n--- stdout\n{}--- stderr\n{}",
        out.command,
        out.code,
        ended(&out.stdout),
        ended(&out.stderr)
    );
    relabel(&text, labels)
}

/// Ends a non-empty text with a newline, so sections stay on their lines.
fn ended(text: &str) -> String {
    if text.is_empty() || text.ends_with('\n') {
        text.to_string()
    } else {
        format!("{text}\n[no newline at the end]\n")
    }
}

/// Replaces each path (and its canonical form: temp dirs may sit behind a
/// symlink) with its label, then the repository root with `[REPO]`.
fn relabel(text: &str, labels: &[(&Path, &str)]) -> String {
    let root = repo_root();
    let mut pairs: Vec<(String, String)> = Vec::new();
    for (path, label) in labels.iter().copied().chain([(root.as_path(), "[REPO]")]) {
        pairs.push((path.display().to_string(), label.to_string()));
        if let Ok(real) = path.canonicalize() {
            pairs.push((real.display().to_string(), label.to_string()));
        }
    }
    pairs.sort_by_key(|(p, _)| std::cmp::Reverse(p.len()));
    pairs
        .into_iter()
        .filter(|(p, _)| !p.is_empty())
        .fold(text.to_string(), |acc, (p, label)| acc.replace(&p, &label))
}

/// Compares `text` with the stored snapshot `name`, after redaction.
pub fn assert_whole(name: &str, text: &str) {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("cases");
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    for (pattern, replacement) in filters() {
        settings.add_filter(&pattern, replacement);
    }
    settings.bind(|| insta::assert_snapshot!(name, text));
}

/// What varies between machines and runs, as (regex, replacement).
fn filters() -> Vec<(String, &'static str)> {
    let mut filters = vec![
        (
            r#""duration_ms":\d+"#.to_string(),
            r#""duration_ms":"[ms]""#,
        ),
        (
            r#""run_id":"[0-9a-f]+""#.to_string(),
            r#""run_id":"[RUN_ID]""#,
        ),
        (r#""pid":\d+"#.to_string(), r#""pid":"[PID]""#),
        (
            format!(r#""version":"{}""#, regex_escape(env!("CARGO_PKG_VERSION"))),
            r#""version":"[VERSION]""#,
        ),
        (r"\(pid \d+\)".to_string(), "(pid [PID])"),
        (r"\bpid \d+\b".to_string(), "pid [PID]"),
    ];
    if let Some(host) = hostname() {
        let host = regex_escape(&host);
        filters.push((format!(r#""node":"{host}""#), r#""node":"[HOST]""#));
        filters.push((
            format!(r#""local_node":"{host}""#),
            r#""local_node":"[HOST]""#,
        ));
    }
    filters
}

/// The machine's host name, as the binary reads it (the local node when
/// `--node` is not given).
fn hostname() -> Option<String> {
    let name = nix::unistd::gethostname().ok()?;
    let name = name.to_string_lossy().trim().to_string();
    (!name.is_empty()).then_some(name)
}

fn regex_escape(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let special = "\\.+*?()|[]{}^$#&-~".contains(c);
            special.then_some('\\').into_iter().chain([c])
        })
        .collect()
}

/// Runs every case, each under its own snapshot, and fails once at the end
/// with the names of those that differ (each prints its own diff).
pub fn all_cases<T>(cases: &[T], name: impl Fn(&T) -> String, check: impl Fn(&T)) {
    let failed: Vec<String> = cases
        .iter()
        .filter(|case| {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(case))).is_err()
        })
        .map(&name)
        .collect();
    assert!(
        failed.is_empty(),
        "{} of {} snapshots differ: {}\n(see docs/testing.md to review and update them)",
        failed.len(),
        cases.len(),
        failed.join(", ")
    );
}
