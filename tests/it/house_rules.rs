//! The claims of docs/ARCHITECTURE.md "Invariants" that are about where
//! something is done, kept by reading the source: stdout has one writer,
//! the clock one reader, the host name one reader, the environment is
//! read where listed, commands return an `Exit`, never a number, and
//! the readers of events match on their typed bodies.
use std::path::{Path, PathBuf};

use crate::support::repo_root;

/// Every `.rs` file under src/ but the test files (`*_tests.rs`,
/// `tests/`), as (path relative to the repository, text without its `//`
/// comments).
fn sources() -> Vec<(String, String)> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).expect("src/").flatten() {
            let p = e.path();
            if p.is_dir() && !p.ends_with("tests") {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs")
                && !p.to_string_lossy().ends_with("_tests.rs")
            {
                out.push(p);
            }
        }
    }
    let root = repo_root();
    let mut files = vec![];
    walk(&root.join("src"), &mut files);
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("read");
            let code: Vec<&str> = text
                .lines()
                .filter(|l| !l.trim_start().starts_with("//"))
                .collect();
            let rel = p.strip_prefix(&root).unwrap().display().to_string();
            (rel, code.join("\n"))
        })
        .collect()
}

/// The files that name any of `needles`, less those `allowed`.
fn offenders(needles: &[&str], allowed: &[&str]) -> Vec<String> {
    sources()
        .into_iter()
        .filter(|(path, _)| !allowed.iter().any(|a| path.starts_with(a)))
        .filter(|(_, code)| needles.iter().any(|n| names(code, n)))
        .map(|(path, _)| path)
        .collect()
}

/// Whether `code` holds `needle` not as the end of a longer name
/// (`eprintln!` does not name `println!`).
fn names(code: &str, needle: &str) -> bool {
    code.match_indices(needle).any(|(i, _)| {
        !code[..i]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '_')
    })
}

#[test]
fn stdout_has_one_writer() {
    // The monitor's stdout is the handshake pipe to the run, no output.
    let found = offenders(
        &["io::stdout()", "println!", "print!("],
        &["src/commands/stdout.rs", "src/monitor/"],
    );
    assert!(
        found.is_empty(),
        "write stdout through commands::stdout: {found:?}"
    );
}

#[test]
fn the_clock_is_read_in_one_place() {
    // The monitor is a process of its own, stamping a child's output.
    let found = offenders(
        &[
            "Utc::now",
            "SystemTime::now",
            "Local::now",
            "UNIX_EPOCH.elapsed",
        ],
        &["src/clock.rs", "src/monitor/"],
    );
    assert!(
        found.is_empty(),
        "read the time through crate::clock: {found:?}"
    );
}

#[test]
fn the_host_name_is_read_once() {
    let found = offenders(&["gethostname"], &["src/resolved.rs"]);
    assert!(
        found.is_empty(),
        "the local node is crate::resolved's: {found:?}"
    );
}

#[test]
fn the_environment_is_read_where_listed() {
    // docs/ARCHITECTURE.md "Invariants" says why each of these reads it.
    let found = offenders(
        &["env::var", "env::vars"],
        &[
            "src/resolved.rs",
            "src/envfile.rs",
            "src/exec/env.rs",
            "src/exec/transient.rs",
            "src/probe/gpu/smi.rs",
            "src/http.rs",
            "src/commands/complete_targets.rs",
        ],
    );
    assert!(
        found.is_empty(),
        "settings come from crate::resolved: {found:?}"
    );
}

#[test]
fn commands_return_an_exit_not_a_number() {
    let found = offenders(
        &[
            "Result<i32>",
            "EXIT_ERROR",
            "of_state(",
            "exit::OK",
            "exit::ERROR",
        ],
        &["src/exit.rs", "src/monitor/", "src/exec/"],
    );
    assert!(found.is_empty(), "return crate::exit::Exit: {found:?}");
}

#[test]
fn event_readers_match_on_typed_events() {
    // The readers of events work on `events::Body`'s variants, never on a
    // line's JSON by key (a misspelt key would read as nothing). `report`
    // and `events` read any line of any version as JSON on purpose.
    let readers = [
        "src/render.rs",
        "src/metrics.rs",
        "src/webhooks.rs",
        "src/webhooks/",
        "src/replay/",
        "src/commands/audit.rs",
        "src/run/",
    ];
    let found: Vec<String> = sources()
        .into_iter()
        .filter(|(path, _)| readers.iter().any(|r| path.starts_with(r)))
        .filter(|(_, code)| {
            [
                "[\"type\"]",
                "[\"node\"]",
                "[\"service\"]",
                "from_str::<Value>",
                ".fields",
                "e: &Value",
                "v: &Value",
                "events: &[Value]",
                "Vec<Value> = buf",
                "Vec<Value> = lines",
            ]
            .iter()
            .any(|n| code.contains(n))
        })
        .map(|(path, _)| path)
        .collect();
    assert!(
        found.is_empty(),
        "match on events::Body instead of reading JSON keys: {found:?}"
    );
}
