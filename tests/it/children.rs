//! Children inherit exactly stdin, stdout and stderr (SPEC §9, "Which
//! process is the service"): the binary is started with extra descriptors
//! open without close-on-exec, as under `flock lock supervisorctl
//! reconcile` or from a shell with open pipes, and every child it starts,
//! a spawned service, a health command, a restart command, must not see
//! them.
use std::path::Path;
use std::process::Command;

use super::live_support::*;

const T0: &str = "2026-11-23T12:00:00Z";
const T1: &str = "2026-11-23T12:00:05Z";

/// `reconcile --output json --now <now>` with fds 7 (write) and 8 (read)
/// open on `<node>/inherited` and inherited by the binary.
fn reconcile_with_extra_fds(n: &Node, now: &str) -> Outcome {
    let inner = n.command(&["reconcile", "--output", "json", "--now", now]);
    let out = Command::new("sh")
        .arg("-c")
        .arg(r#"exec 7>>"$0" 8<"$0"; exec "$@""#)
        .arg(n.path("inherited"))
        .arg(inner.get_program())
        .args(inner.get_args())
        .output()
        .expect("run binary under sh");
    Outcome::from_output(&out)
}

/// Descriptor numbers, sorted, from whitespace-separated text.
fn numbers(text: &str) -> Vec<u32> {
    let mut fds: Vec<u32> = text
        .split_whitespace()
        .map(|w| w.parse().unwrap_or_else(|_| panic!("not an fd: {w:?}")))
        .collect();
    fds.sort_unstable();
    fds
}

fn open_fds(pid: u32) -> Vec<u32> {
    let names: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("read /proc/PID/fd")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    numbers(&names.join(" "))
}

/// A command that writes the descriptors its shell holds to `file`. The
/// `exec >` redirects for good (a plain `ls > file` makes dash keep a copy
/// of stdout in fd 10 while `ls` runs), and `; true` keeps the shell from
/// exec'ing `ls` in its place (then `ls` would list its own handle on the
/// folder).
fn list_fds_into(file: &Path) -> String {
    format!(
        "[sh, -c, \"exec > '{}'; ls /proc/$$/fd; true\"]",
        file.display()
    )
}

#[test]
fn spawned_service_and_health_command_get_only_stdio() {
    let mut n = Node::new("");
    let health_fds = n.path("health-fds");
    let yaml = format!(
        "services:\n  sleeper:\n    spawn: [sleep, \"3600.41\"]\n    health:\n      command: {}\n      timeout: 5s\n",
        list_fds_into(&health_fds)
    );
    write_file(&n.path("hosts/testnode/services.yaml"), &yaml);

    let r = reconcile_with_extra_fds(&n, T0);
    let pid = n.spawned_pid("sleeper");
    assert!(
        r.executed("sleeper", "restart").is_some(),
        "{:?} {}",
        r.events,
        r.stderr
    );
    let pid = pid.expect("pid file written");
    assert!(alive(pid));
    // The next run probes the running service with its health command.
    std::fs::remove_file(&health_fds).ok();
    let r = reconcile_with_extra_fds(&n, T1);
    assert_eq!(
        open_fds(pid),
        [0, 1, 2],
        "the spawned service inherited the caller's descriptors"
    );
    let listed = std::fs::read_to_string(&health_fds)
        .unwrap_or_else(|e| panic!("health command did not run ({e}): {:?}", r.events));
    assert_eq!(
        numbers(&listed),
        [0, 1, 2],
        "the health command inherited the caller's descriptors"
    );
}

#[test]
fn restart_command_gets_only_stdio() {
    let n = Node::new("");
    let restart_fds = n.path("restart-fds");
    let yaml = format!(
        "services:\n  web:\n    process:\n      pidfile: /nonexistent/web.pid\n    restart: {}\n",
        list_fds_into(&restart_fds)
    );
    write_file(&n.path("hosts/testnode/services.yaml"), &yaml);

    let r = reconcile_with_extra_fds(&n, T0);
    let listed = std::fs::read_to_string(&restart_fds).unwrap_or_else(|e| {
        panic!(
            "restart command did not run ({e}): {:?} {}",
            r.events, r.stderr
        )
    });
    assert_eq!(
        numbers(&listed),
        [0, 1, 2],
        "the restart command inherited the caller's descriptors"
    );
}

#[test]
fn the_binary_really_inherits_the_extra_descriptors() {
    // Guards the two tests above: without this, a change to how they start
    // the binary could make them pass vacuously.
    let n = Node::new("");
    let inner = Command::new("sh")
        .arg("-c")
        .arg(r#"exec 7>>"$0" 8<"$0"; exec ls /proc/self/fd"#)
        .arg(n.path("inherited"))
        .output()
        .expect("sh");
    let fds = numbers(&String::from_utf8_lossy(&inner.stdout));
    assert!(fds.contains(&7) && fds.contains(&8), "{fds:?}");
}
