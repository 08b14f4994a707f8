//! Record before act under SIGKILL (SPEC §9): real restarts, each of which
//! appends a line to a counter file, while runs are killed at pseudo-random
//! moments. Whatever the kills, every restart that ran is counted: the
//! counter never holds more lines than the attempts the state records (plus
//! the service's first start, which is not a restart), and the circuit
//! opens at `max_restart_attempts`, not later.
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::Value;

const MAX_ATTEMPTS: u64 = 3;

/// Node n1 whose services are dead (a pidfile that never exists) and
/// whose restart commands append a line to `counter`.
pub(super) struct Node {
    pub hosts: PathBuf,
    pub world: PathBuf,
    pub state: PathBuf,
    pub counter: PathBuf,
    _dir: tempfile::TempDir,
}

impl Node {
    fn new() -> Node {
        Node::with(&["web"], "0.02", None)
    }

    /// `services` each restarted by a command that appends to the counter,
    /// then sleeps `sleep` seconds; the state directory at `state` if given.
    pub(super) fn with(services: &[&str], sleep: &str, state: Option<PathBuf>) -> Node {
        let dir = tempfile::tempdir().expect("scratch");
        let hosts = dir.path().join("hosts");
        let world = dir.path().join("world");
        let state = state.unwrap_or_else(|| dir.path().join("state"));
        let counter = dir.path().join("counter");
        std::fs::create_dir_all(hosts.join("n1")).unwrap();
        std::fs::create_dir_all(world.join("nodes")).unwrap();
        // `never`: the circuit stays open, so an epoch can count to it.
        let mut yaml = format!(
            "supervisor:\n  max_restart_attempts: {MAX_ATTEMPTS}\n  breaker_retry: never\nservices:\n"
        );
        for s in services {
            let _ = write!(yaml,
                "  {s}:\n    process:\n      pidfile: {}\n    restart: [sh, -c, \"echo {s} >> '{}'; sleep {sleep}\"]\n",
                dir.path().join("never.pid").display(),
                counter.display()
            );
        }
        std::fs::write(hosts.join("n1/services.yaml"), yaml).unwrap();
        Node {
            hosts,
            world,
            state,
            counter,
            _dir: dir,
        }
    }

    /// A real `reconcile` of n1 at `now`, with the node record fresh.
    pub(super) fn reconcile(&self, now: DateTime<Utc>) -> Command {
        let ts = now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        std::fs::write(
            self.world.join("nodes/n1.json"),
            format!(r#"{{"status":"online","last_seen":"{ts}"}}"#),
        )
        .unwrap();
        let mut cmd = crate::support::Run::bare().command();
        cmd.arg("--hosts")
            .arg(&self.hosts)
            .arg("--world")
            .arg(&self.world)
            .arg("--state-dir")
            .arg(&self.state)
            .args(["--node", "n1", "--now", &ts, "reconcile"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        cmd
    }

    pub(super) fn run_ok(&self, now: DateTime<Utc>) {
        let out = self.reconcile(now).output().expect("run");
        assert!(
            super::succeeded(out.status.code()),
            "a run left alone failed: {:?}\n{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    pub(super) fn ran(&self) -> u64 {
        std::fs::read_to_string(&self.counter).map_or(0, |s| s.lines().count() as u64)
    }

    pub(super) fn attempts(&self) -> u64 {
        self.attempts_of("web")
    }

    pub(super) fn attempts_of(&self, service: &str) -> u64 {
        let cp: Value =
            serde_json::from_slice(&std::fs::read(self.state.join("checkpoint.json")).unwrap())
                .unwrap();
        cp["services"][format!("n1/{service}")]["restart_attempts"]
            .as_u64()
            .unwrap_or(0)
    }

    fn reset(&self) {
        let out = crate::support::Run::bare()
            .command()
            .arg("--hosts")
            .arg(&self.hosts)
            .arg("--state-dir")
            .arg(&self.state)
            .args(["reset", "n1/web"])
            .output()
            .expect("reset");
        assert_eq!(out.status.code(), Some(0), "{out:?}");
    }
}

fn xorshift(x: &mut u64) -> u64 {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *x
}

/// Returns (kills that landed, restarts that ran, attempts counted).
fn kill_runs_with_real_restarts(epochs: usize, seed: u64) -> (usize, u64, u64) {
    let node = Node::new();
    let mut now: DateTime<Utc> = "2026-11-20T12:00:00Z".parse().unwrap();
    let step = chrono::Duration::minutes(10);
    // A run's length, to spread the kills over it.
    let t = Instant::now();
    node.run_ok(now);
    now += step;
    let per_run = t.elapsed();
    let span_us = (u64::try_from(per_run.as_micros()).unwrap_or(u64::MAX / 2) * 13 / 10).max(1_000);
    let mut rng = seed;
    let (mut kills, mut total_ran, mut total_counted) = (0, 0, 0);
    let mut ran_before = 0;
    for epoch in 0..epochs {
        // The first start of the service is not a restart: uncounted.
        let first = u64::from(epoch == 0);
        // Until the circuit opens: bursts of killed runs, each followed by
        // a run left alone.
        for _ in 0..(3 * MAX_ATTEMPTS) {
            for _ in 0..=(xorshift(&mut rng) % 2) {
                let mut child = node.reconcile(now).spawn().expect("start");
                now += step;
                thread::sleep(Duration::from_micros(xorshift(&mut rng) % span_us));
                if child.try_wait().unwrap().is_none() {
                    let _ = child.kill();
                    kills += 1;
                }
                let _ = child.wait();
            }
            node.run_ok(now);
            now += step;
            let (ran, counted) = (node.ran() - ran_before, node.attempts());
            assert!(
                ran <= counted + first,
                "seed {seed}, epoch {epoch}: {ran} restarts ran, {counted} counted"
            );
        }
        let (ran, counted) = (node.ran() - ran_before, node.attempts());
        assert_eq!(
            counted, MAX_ATTEMPTS,
            "seed {seed}, epoch {epoch}: the circuit must open at {MAX_ATTEMPTS} attempts"
        );
        assert!(
            ran <= MAX_ATTEMPTS + first,
            "seed {seed}, epoch {epoch}: {ran} restarts ran"
        );
        total_ran += ran;
        total_counted += counted;
        ran_before = node.ran();
        node.reset();
    }
    assert!(
        no_journal_left(&node.state),
        "a finished run clears the journal"
    );
    (kills, total_ran, total_counted)
}

fn no_journal_left(state: &Path) -> bool {
    !state.join("intents.jsonl").exists()
}

#[test]
fn every_restart_that_ran_is_counted_whatever_the_kills() {
    let (kills, ran, counted) = kill_runs_with_real_restarts(6, 0x5eed_0007_0001);
    println!("record before act: {kills} kills, {ran} restarts ran, {counted} attempts counted");
    assert!(kills >= 10, "too few kills landed: {kills}");
}

/// The long version (`just crash`).
#[test]
#[ignore = "long: run with `just crash`"]
fn every_restart_that_ran_is_counted_long() {
    for seed in [1u64, 0xdead_beef, 0x0bad_f00d] {
        let (kills, ran, counted) = kill_runs_with_real_restarts(40, seed);
        println!("seed {seed}: {kills} kills, {ran} restarts ran, {counted} attempts counted");
    }
}
