//! A SIGKILL between starting a `spawn:` service and writing its pid file
//! (issue: 30 of 30 such kills left a second, untracked copy running). The
//! run is killed the moment its child (the monitor) appears in `/proc`, or,
//! every other try, the moment the monitor's own child (the service, still
//! waiting at its gate) appears; the next run must leave exactly one copy
//! of the service, the one its pid file names, under exactly one monitor,
//! and no gate shell or monitor of a dead start behind.
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

/// The children of `pid`, from every thread's `children` file.
fn children(pid: u32) -> Vec<u32> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return vec![];
    };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("children")).ok())
        .flat_map(|s| {
            s.split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect::<Vec<u32>>()
        })
        .collect()
}

/// Live (not zombie) processes whose command line is exactly `argv`.
fn copies(argv: &[&str]) -> Vec<u32> {
    let want: Vec<u8> = argv
        .iter()
        .flat_map(|a| [a.as_bytes(), b"\0"].concat())
        .collect();
    live_where(|cmdline| cmdline == want)
}

/// Live (not zombie) processes whose command line passes `keep`.
fn live_where(keep: impl Fn(&[u8]) -> bool) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| keep(&c)))
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .is_ok_and(|s| !s.rsplit_once(") ").is_some_and(|(_, r)| r.starts_with('Z')))
        })
        .collect()
}

/// Live processes whose command line holds `marker` but is not `argv`:
/// gate shells of a start that never got its `go`.
fn gate_shells(marker: &str, argv: &[&str]) -> Vec<u32> {
    let exact: Vec<u8> = argv
        .iter()
        .flat_map(|a| [a.as_bytes(), b"\0"].concat())
        .collect();
    live_where(|c| c != exact && c.windows(marker.len()).any(|w| w == marker.as_bytes()))
}

/// The parent of `pid`.
fn parent(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(") ")?.1.split(' ').nth(1)?.parse().ok()
}

fn is_monitor(pid: u32) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| c == b"supervisorctl\0__monitor\0")
}

fn reconcile(dir: &Path, now: DateTime<Utc>) -> std::process::Command {
    let ts = now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    std::fs::write(
        dir.join("world/nodes/n1.json"),
        format!(r#"{{"status":"online","last_seen":"{ts}"}}"#),
    )
    .unwrap();
    let mut cmd = crate::support::Run::bare().command();
    cmd.arg("--hosts")
        .arg(dir.join("hosts"))
        .arg("--world")
        .arg(dir.join("world"))
        .arg("--state-dir")
        .arg(dir.join("state"))
        .args(["--node", "n1", "--now", &ts, "reconcile"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd
}

fn kill_all(pids: &[u32]) {
    for pid in pids {
        let _ = nix::sys::signal::kill(
            crate::support::nix_pid(*pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
}

#[test]
fn a_run_killed_as_its_spawned_child_appears_leaves_no_second_copy() {
    kill_in_the_spawn_window(20);
}

/// The issue's figure: 100 kills, no duplicate (about 3.5 minutes here).
#[test]
#[ignore = "long: `cargo test --test it -- --ignored crash_spawn`"]
fn a_run_killed_as_its_spawned_child_appears_leaves_no_second_copy_long() {
    kill_in_the_spawn_window(100);
}

fn kill_in_the_spawn_window(tries: usize) {
    let marker = format!("3600.{}", std::process::id());
    let argv = ["sleep", marker.as_str()];
    let mut duplicates = 0;
    let mut killed_in_window = 0;
    for i in 0..tries {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("hosts/n1")).unwrap();
        std::fs::create_dir_all(dir.path().join("world/nodes")).unwrap();
        std::fs::write(
            dir.path().join("hosts/n1/services.yaml"),
            format!("services:\n  svc:\n    spawn: [sleep, \"{marker}\"]\n"),
        )
        .unwrap();
        let t0: DateTime<Utc> = "2026-11-23T12:00:00Z".parse().unwrap();
        let now = t0 + chrono::Duration::minutes(i64::try_from(i).unwrap());
        let mut run = reconcile(dir.path(), now).spawn().unwrap();
        let started = Instant::now();
        // Kill the run the moment a child (even tries) or a grandchild
        // (odd tries) of it shows.
        while started.elapsed() < Duration::from_secs(10) {
            let kids = children(run.id());
            let shown = if i % 2 == 0 {
                !kids.is_empty()
            } else {
                kids.iter().any(|k| !children(*k).is_empty())
            };
            if shown {
                let _ = run.kill();
                killed_in_window += 1;
                break;
            }
            if run.try_wait().unwrap().is_some() {
                break;
            }
        }
        let _ = run.wait();
        // A gated child whose parent died exits by itself.
        std::thread::sleep(Duration::from_millis(20));
        let out = reconcile(dir.path(), now + chrono::Duration::seconds(30))
            .output()
            .unwrap();
        assert!(
            out.status.code().is_some_and(|c| c == 0 || c == 2),
            "{out:?}"
        );
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut seen = copies(&argv);
        while (seen.len() > 1 || !gate_shells(&marker, &argv).is_empty())
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(20));
            seen = copies(&argv);
        }
        let left = gate_shells(&marker, &argv);
        assert!(
            left.is_empty(),
            "try {i}: gate shells of a dead start left: {left:?}"
        );
        for pid in &seen {
            let monitor = parent(*pid).unwrap_or(0);
            assert!(
                is_monitor(monitor),
                "try {i}: pid {pid}'s parent {monitor} is not its monitor"
            );
        }
        if seen.len() > 1 {
            duplicates += 1;
        }
        let named: Option<u32> = std::fs::read_to_string(dir.path().join("state/pids/svc.pid"))
            .ok()
            .and_then(|s| s.trim().parse().ok());
        if seen.len() == 1 {
            assert_eq!(
                Some(seen[0]),
                named,
                "the one copy is the one the pid file names"
            );
        }
        kill_all(&seen);
    }
    assert_eq!(
        duplicates, 0,
        "{duplicates} of {tries} kills left a second copy"
    );
    assert!(
        killed_in_window >= tries / 2,
        "only {killed_in_window} of {tries} runs were killed as their child appeared"
    );
}
