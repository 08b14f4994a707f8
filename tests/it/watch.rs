//! `watch` (SPEC §10): one run at start, then one per burst of content
//! changes under hosts/ or the world (never for its own reads or the state
//! directory), and at once when a process of a service exits.
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::live_support::{alive, wait_until, write_file, Node, NODE};

const T0: &str = "2026-11-23T12:00:00Z";

fn runs(n: &Node) -> usize {
    std::fs::read_to_string(n.state().join("events.jsonl"))
        .unwrap_or_default()
        .matches("\"type\":\"run_finished\"")
        .count()
}

/// A running `watch`: killed when the test ends, even by a failed assert,
/// so no watcher outlives its test.
pub(crate) struct Watching(Option<Child>);

impl Watching {
    fn pid(&self) -> Option<u32> {
        self.0.as_ref().map(Child::id)
    }

    /// `supervisorctl ARGS` on `n`'s files, its output discarded.
    pub(crate) fn start(n: &Node, args: &[&str]) -> Watching {
        let child = n
            .command(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start watch");
        Watching(Some(child))
    }

    /// SIGINT, then its exit code (None: it had to be killed).
    fn stop(mut self) -> Option<i32> {
        let mut child = self.0.take()?;
        nix::sys::signal::kill(
            crate::support::nix_pid(child.id()),
            nix::sys::signal::Signal::SIGINT,
        )
        .unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Some(status) = child.try_wait().unwrap() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        None
    }
}

impl Drop for Watching {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A node with one service and a world that says it is online at `T0`.
fn online_node() -> Node {
    let n = Node::new("services:\n  a:\n    restart: [\"true\"]\n");
    write_file(
        &n.path(&format!("world/nodes/{NODE}.json")),
        &format!("{{\"status\":\"online\",\"last_seen\":\"{T0}\"}}"),
    );
    n
}

#[test]
fn watch_rests_when_nothing_changes_and_runs_once_per_burst() {
    let n = online_node();
    let child = Watching::start(&n, &["--now", T0, "watch", "--dry-run", "--no-probe"]);
    assert!(wait_until(|| runs(&n) == 1), "the first run");
    // Idle: its own reads of hosts/ and the world must not wake it.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(runs(&n), 1, "watch re-ran with nothing changed");
    // One burst of writes: exactly one more run.
    for s in ["a", "b", "c", "d", "e"] {
        write_file(
            &n.path(&format!("world/services/{NODE}/{s}.json")),
            &format!("{{\"status\":\"ok\",\"observed_at\":\"{T0}\"}}"),
        );
    }
    assert!(wait_until(|| runs(&n) == 2), "a run after the burst");
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(runs(&n), 2, "one burst, one run");
    let log = std::fs::read_to_string(n.state().join("events.jsonl")).unwrap();
    assert!(
        log.contains("\"from\":\"unknown\",\"to\":\"healthy\""),
        "the run saw the record"
    );
    // A change of hosts/: one more, with the new service.
    write_file(
        &n.path(&format!("hosts/{NODE}/services.yaml")),
        "services:\n  a:\n    restart: [\"true\"]\n  b:\n    restart: [\"true\"]\n",
    );
    assert!(wait_until(|| runs(&n) == 3), "a run after the hosts change");
    let log = std::fs::read_to_string(n.state().join("events.jsonl")).unwrap();
    assert!(log.contains("\"service\":\"b\""));
    assert_eq!(child.stop(), Some(0), "SIGINT ends watch cleanly");
}

#[test]
fn watch_restarts_a_killed_service_at_once() {
    let mut n = Node::new("");
    let first = n.sleep("3600.31");
    let pidfile = n.path("svc.pid");
    write_file(&pidfile, &format!("{first}\n"));
    let yaml = format!(
        "services:\n  svc:\n    process:\n      pidfile: {p}\n    restart: [sh, -c, \"sleep 3600.32 >/dev/null 2>&1 & echo $! > {p}\"]\n",
        p = pidfile.display()
    );
    write_file(&n.path(&format!("hosts/{NODE}/services.yaml")), &yaml);
    write_file(
        &n.path(&format!("world/nodes/{NODE}.json")),
        r#"{"status":"online","last_seen":"2099-01-01T00:00:00Z"}"#,
    );
    let child = Watching::start(&n, &["watch"]);
    assert!(wait_until(|| runs(&n) == 1), "the first run");
    nix::sys::signal::kill(
        crate::support::nix_pid(first),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let new_pid = || {
        std::fs::read_to_string(&pidfile)
            .ok()
            .and_then(|t| t.trim().parse::<u32>().ok())
            .filter(|p| *p != first && alive(*p))
    };
    let restarted = wait_until(|| new_pid().is_some());
    let code = child.stop();
    if let Some(p) = new_pid() {
        n.extra_pids.push(p);
    }
    // No interval was given: only the exit (a pidfd) can have woken it.
    // How fast is measured by `just bench-mttr`, not asserted here.
    assert!(restarted, "the killed service was not restarted");
    assert_eq!(code, Some(0));
}

#[test]
fn a_stream_of_writes_runs_at_most_once_a_second() {
    let n = online_node();
    let node_file = n.path(&format!("world/nodes/{NODE}.json"));
    let child = Watching::start(&n, &["--now", T0, "watch", "--dry-run", "--no-probe"]);
    assert!(wait_until(|| runs(&n) == 1), "the first run");
    // Rewrite the world every 100 ms for 4 s.
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(4) {
        write_file(
            &node_file,
            &format!("{{\"status\":\"online\",\"last_seen\":\"{T0}\"}}"),
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let seen = runs(&n);
    assert_eq!(child.stop(), Some(0));
    // At most one run a second (plus the first and one in flight).
    assert!(seen <= 7, "{seen} runs in 4 s of writes");
}

#[test]
fn watch_ends_at_once_on_a_state_directory_it_can_never_use() {
    let n = Node::new("services:\n  a:\n    restart: [\"true\"]\n");
    std::fs::create_dir_all(n.path("elsewhere")).unwrap();
    std::os::unix::fs::symlink(n.path("elsewhere"), n.state()).unwrap();
    let out = n
        .command(&["watch", "--dry-run", "--no-probe"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("symbolic link"));
}

/// Issue: `watch --interval 0s` ran 258 passes in 5 s. Below a second is
/// refused, as `observe --every 0` is.
#[test]
fn an_interval_below_a_second_is_refused() {
    let n = online_node();
    for bad in ["0s", "500ms"] {
        let out = n.cli(&["watch", "--interval", bad]);
        assert_eq!(out.status.code(), Some(1), "{bad}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("is less than 1s"), "{bad}: {err}");
    }
}

/// The inotify watches `pid` holds (the `inotify wd:` lines of its fdinfo).
fn inotify_watches(pid: u32) -> usize {
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fdinfo")) else {
        return 0;
    };
    fds.flatten()
        .filter_map(|f| std::fs::read_to_string(f.path()).ok())
        .map(|t| t.lines().filter(|l| l.starts_with("inotify wd:")).count())
        .sum()
}

/// Issue: 193,000 empty folders in the world took 192,540 of root's
/// inotify watches. Only the folders the world format defines are watched.
#[test]
fn folders_planted_in_the_world_take_no_watches() {
    let n = online_node();
    for i in 0..2000 {
        std::fs::create_dir_all(n.path(&format!("world/junk/d{i}/e"))).unwrap();
    }
    let child = Watching::start(&n, &["--now", T0, "watch", "--dry-run", "--no-probe"]);
    assert!(wait_until(|| runs(&n) == 1), "the first run");
    let pid = child.pid().unwrap();
    let watches = inotify_watches(pid);
    assert_eq!(child.stop(), Some(0));
    assert!(watches > 0, "nothing watched");
    assert!(watches < 20, "{watches} watches for a world of one node");
}

/// Issue: `watch` went deaf when the world was replaced by a rename (the
/// atomic publish of git checkouts and rsync): later changes triggered
/// nothing. The parents are watched and the watches armed again.
#[test]
fn a_world_replaced_by_a_rename_is_still_watched() {
    let n = online_node();
    let child = Watching::start(&n, &["--now", T0, "watch", "--dry-run", "--no-probe"]);
    assert!(wait_until(|| runs(&n) == 1), "the first run");
    // Publish a new world atomically.
    let next = n.path("world.next");
    std::fs::create_dir_all(next.join("nodes")).unwrap();
    write_file(
        &next.join(format!("nodes/{NODE}.json")),
        &format!("{{\"status\":\"online\",\"last_seen\":\"{T0}\"}}"),
    );
    std::fs::rename(n.path("world"), n.path("world.old")).unwrap();
    std::fs::rename(&next, n.path("world")).unwrap();
    assert!(wait_until(|| runs(&n) >= 2), "the swap itself is a change");
    let after_swap = runs(&n);
    std::thread::sleep(Duration::from_millis(1500));
    // A change inside the new world wakes it too.
    write_file(
        &n.path(&format!("world/nodes/{NODE}.json")),
        &format!("{{\"status\":\"online\",\"last_seen\":\"{T0}\"}} "),
    );
    let woke = wait_until(|| runs(&n) > after_swap);
    assert_eq!(child.stop(), Some(0));
    assert!(woke, "a change in the swapped-in world went unseen");
}

#[test]
fn a_kill_seen_by_watch_is_reported_with_its_signal() {
    let mut n =
        Node::new("services:\n  svc:\n    spawn: [sleep, \"3600.34\"]\n    start_grace: 1s\n");
    write_file(
        &n.path(&format!("world/nodes/{NODE}.json")),
        r#"{"status":"online","last_seen":"2099-01-01T00:00:00Z"}"#,
    );
    let child = Watching::start(&n, &["watch"]);
    assert!(wait_until(|| runs(&n) == 1), "the first run");
    let first = n.spawned_pid("svc").expect("the first run spawned it");
    nix::sys::signal::kill(
        crate::support::nix_pid(first),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    // The exit wakes `watch`; the run it starts sees the monitor's record.
    assert!(wait_until(|| runs(&n) >= 2), "no run after the kill");
    child.stop();
    let _ = n.spawned_pid("svc");
    let log = std::fs::read_to_string(n.state().join("events.jsonl")).unwrap();
    let second: Vec<&str> = log
        .lines()
        .skip_while(|l| !l.contains("\"run_finished\""))
        .skip(1)
        .collect();
    assert!(
        second.iter().any(|l| l.contains("killed by SIGKILL")),
        "the cause of the exit is lost:\n{log}"
    );
}
