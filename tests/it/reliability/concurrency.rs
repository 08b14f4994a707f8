//! One run at a time per state directory: twenty runs started together on
//! one state directory, with and without `--wait`, and a lock holder that
//! dies by SIGKILL (the kernel releases a `flock` with its last holder).
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use super::{check_checkpoint, succeeded, LogCheck, Sample};

const RUNS: usize = 20;

/// What one of the parallel runs did.
struct Ended {
    code: Option<i32>,
    stderr: String,
    /// From its start to its exit.
    took: Duration,
}

/// Starts `RUNS` dry runs at once and waits for all of them.
fn race(sample: &Sample, extra: &[&str]) -> Vec<Ended> {
    let children: Vec<(Instant, Child)> = (0..RUNS)
        .map(|_| {
            let child = sample
                .reconcile(extra)
                .stderr(Stdio::piped())
                .spawn()
                .expect("start supervisorctl");
            (Instant::now(), child)
        })
        .collect();
    let deadline = Instant::now() + Duration::from_mins(2);
    let mut ended: Vec<Option<Ended>> = (0..RUNS).map(|_| None).collect();
    let mut children = children;
    while ended.iter().any(Option::is_none) {
        assert!(Instant::now() < deadline, "parallel runs did not finish");
        for (i, (started, child)) in children.iter_mut().enumerate() {
            if ended[i].is_some() {
                continue;
            }
            if let Some(status) = child.try_wait().expect("poll a child") {
                let mut stderr = String::new();
                let _ = child
                    .stderr
                    .take()
                    .expect("piped stderr")
                    .read_to_string(&mut stderr);
                ended[i] = Some(Ended {
                    code: status.code(),
                    stderr,
                    took: started.elapsed(),
                });
            }
        }
        thread::sleep(Duration::from_millis(2));
    }
    ended.into_iter().map(Option::unwrap).collect()
}

/// A loser's message names the lock file and says how to wait.
fn assert_lost_the_lock(e: &Ended, lock: &Path) {
    let needle = format!("holds `{}`", lock.display());
    assert!(
        e.stderr.contains(&needle) && e.stderr.contains("--wait"),
        "a run that lost the lock must say so, naming `{}`; stderr: {}",
        lock.display(),
        e.stderr
    );
    assert!(
        e.took < Duration::from_secs(10),
        "a run that lost the lock took {:?}",
        e.took
    );
}

fn check_state(sample: &Sample) -> LogCheck {
    let mut log = LogCheck::default();
    log.advance(&sample.log())
        .and_then(|()| check_checkpoint(&sample.state, log.last_seq))
        .unwrap_or_else(|e| panic!("after the parallel runs: {e}"));
    log
}

#[test]
fn parallel_runs_without_wait_one_wins_the_others_exit_1_naming_the_lock() {
    let sample = Sample::new();
    let ended = race(&sample, &[]);
    let lock = sample.state.join("lock");
    let mut winners = 0;
    for e in &ended {
        if succeeded(e.code) {
            winners += 1;
        } else {
            assert_eq!(e.code, Some(1), "stderr: {}", e.stderr);
            assert_lost_the_lock(e, &lock);
        }
    }
    assert!(winners >= 1, "no run got the lock");
    let log = check_state(&sample);
    assert_eq!(log.runs, winners, "one whole run in the log per winner");
    println!("{winners} of {RUNS} parallel runs got the lock");
}

#[test]
fn parallel_runs_with_wait_all_succeed_one_at_a_time() {
    let sample = Sample::new();
    let ended = race(&sample, &["--wait", "30s"]);
    for e in &ended {
        assert!(succeeded(e.code), "exit {:?}; stderr: {}", e.code, e.stderr);
    }
    // Whole runs, never interleaved, seq 1, 2, 3 … without a repeat.
    let log = check_state(&sample);
    assert_eq!(log.runs, RUNS);
    let text = std::fs::read_to_string(sample.log()).expect("read the log");
    let started = text.matches(r#""type":"run_started""#).count();
    assert_eq!(started, RUNS, "one run_started per run");
}

/// Holds `<state>/lock` from a shell that then becomes `sleep`: the lock
/// lives exactly as long as that one process. None when `flock(1)` is
/// missing.
fn hold_lock(state: &Path) -> Option<Child> {
    if Command::new("flock").arg("--version").output().is_err() {
        crate::support::skip("flock(1) is not installed");
        return None;
    }
    std::fs::create_dir_all(state).expect("create the state directory");
    let script = r#"exec 9>>"$1" && flock -x 9 && echo locked && exec sleep 120"#;
    let mut child = Command::new("sh")
        .args(["-c", script, "sh"])
        .arg(state.join("lock"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the lock holder");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("piped stdout"))
        .read_line(&mut line)
        .expect("read from the lock holder");
    assert_eq!(line.trim(), "locked", "the holder did not take the lock");
    Some(child)
}

#[test]
fn a_held_lock_fails_every_run_fast_and_changes_nothing() {
    let sample = Sample::new();
    let Some(mut holder) = hold_lock(&sample.state) else {
        return;
    };
    let ended = race(&sample, &[]);
    let lock = sample.state.join("lock");
    for e in &ended {
        assert_eq!(e.code, Some(1), "stderr: {}", e.stderr);
        assert_lost_the_lock(e, &lock);
    }
    assert!(!sample.log().exists(), "a blocked run wrote events");
    assert!(
        !sample.checkpoint().exists(),
        "a blocked run wrote a checkpoint"
    );
    holder.kill().expect("kill the holder");
    holder.wait().expect("reap the holder");
}

#[test]
fn a_lock_holder_killed_by_sigkill_does_not_block_the_next_run() {
    let sample = Sample::new();
    let Some(mut holder) = hold_lock(&sample.state) else {
        return;
    };
    let out = sample.run(&[]);
    assert_eq!(out.status.code(), Some(1), "the lock is held");
    // A run that waits, then the holder dies without unlocking anything.
    let mut waiting = sample
        .reconcile(&["--wait", "30s"])
        .spawn()
        .expect("start a waiting run");
    thread::sleep(Duration::from_millis(300));
    assert!(
        waiting.try_wait().expect("poll").is_none(),
        "the waiting run did not wait for the lock"
    );
    holder.kill().expect("SIGKILL the holder");
    holder.wait().expect("reap the holder");
    let started = Instant::now();
    let status = waiting.wait().expect("wait for the waiting run");
    assert!(succeeded(status.code()), "the waiting run: {status:?}");
    assert!(started.elapsed() < Duration::from_secs(25));
    // And a plain run after it, without waiting.
    sample.run_ok("after the holder was killed");
    let log = check_state(&sample);
    assert_eq!(log.runs, 2);
}
