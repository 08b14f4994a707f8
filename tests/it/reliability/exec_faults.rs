//! Record before act when recording fails (SPEC §9): a full state
//! directory, or an event log that is a symlink or a FIFO, must stop every
//! action before it runs (exit 1); a SIGTERM during a restart lets that
//! restart finish, starts nothing more and records it all.
use std::process::Stdio;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::crash_exec::Node;
use super::state_dir::{fill, Tmpfs};

fn t0() -> DateTime<Utc> {
    "2026-11-20T12:00:00Z".parse().unwrap()
}

fn minutes(m: i64) -> DateTime<Utc> {
    t0() + chrono::Duration::minutes(m)
}

#[test]
fn a_full_state_dir_executes_nothing() {
    let Some(fs_) = Tmpfs::mount("64k") else {
        return;
    };
    let node = Node::with(&["web"], "0", Some(fs_.point.join("state")));
    node.run_ok(t0());
    // The first start: not a restart.
    assert_eq!((node.ran(), node.attempts()), (1, 0));
    let filler = fill(&fs_.point);
    for m in 1..=5 {
        let out = node.reconcile(minutes(10 * m)).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains("no space left on device"), "{stderr}");
    }
    assert_eq!(
        node.ran(),
        1,
        "a restart ran although nothing could record it"
    );
    std::fs::remove_file(filler).unwrap();
    node.run_ok(minutes(60));
    assert_eq!((node.ran(), node.attempts()), (2, 1), "the first restart");
}

#[test]
fn an_event_log_that_is_a_symlink_or_fifo_executes_nothing() {
    for kind in ["symlink", "fifo"] {
        let node = Node::with(&["web"], "0", None);
        std::fs::create_dir_all(&node.state).unwrap();
        let log = node.state.join("events.jsonl");
        if kind == "symlink" {
            std::os::unix::fs::symlink("/dev/null", &log).unwrap();
        } else {
            nix::unistd::mkfifo(&log, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        }
        let out = node.reconcile(t0()).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{kind}: {stderr}");
        assert!(stderr.contains("events.jsonl"), "{kind}: {stderr}");
        // A FIFO with no reader used to read "no such device or address".
        let why = match kind {
            "symlink" => "is a symbolic link",
            _ => "not a regular file",
        };
        assert!(stderr.contains(why), "{kind}: {stderr}");
        assert_eq!(
            node.ran(),
            0,
            "{kind}: a restart ran with no log to record it"
        );
    }
}

#[test]
fn sigterm_during_a_restart_finishes_it_and_records_everything() {
    let node = Node::with(&["a", "b"], "1", None);
    let mut child = node.reconcile(t0()).stdout(Stdio::piped()).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while node.ran() == 0 {
        assert!(Instant::now() < deadline, "the first restart never started");
        std::thread::sleep(Duration::from_millis(5));
    }
    nix::sys::signal::kill(
        crate::support::nix_pid(child.id()),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let status = child.wait().unwrap();
    let mut human = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut human).unwrap();
    assert!(
        human.contains("(exit 1;"),
        "the summary says exit 1: {human}"
    );
    let out = child.stderr.take().map(|mut e| {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut e, &mut s).unwrap();
        s
    });
    assert_eq!(status.code(), Some(1), "{out:?}");
    assert!(out.unwrap_or_default().contains("interrupted by SIGTERM"));
    assert_eq!(node.ran(), 1, "nothing starts after the signal");
    let log = std::fs::read_to_string(node.state.join("events.jsonl")).unwrap();
    let events: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let executed = |s: &str| {
        events
            .iter()
            .find(|e| e["type"] == "action_executed" && e["service"] == s)
            .cloned()
            .unwrap_or_else(|| panic!("no action_executed for {s}: {log}"))
    };
    assert_eq!(executed("a")["outcome"], "started");
    assert_eq!(executed("b")["outcome"], "skipped");
    assert_eq!(executed("b")["reason"], "interrupted by SIGTERM");
    assert_eq!(events.last().unwrap()["type"], "run_finished");
    // `a`'s start ran and was recorded: its first start, not a restart.
    assert_eq!((node.attempts_of("a"), node.attempts_of("b")), (0, 0));
    assert!(!node.state.join("intents.jsonl").exists());
}
