//! Which process is the service (SPEC §9): a name or command line matches
//! only processes of `process.user` (default: the user this tool runs as),
//! and more than one match is `ambiguous`: reported, and never signalled.
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

use crate::live_support::{alive, write_file, Node, NODE};

const T0: &str = "2026-11-23T12:00:00Z";

/// A `sleep` started under the name `comm` (a symlink gives it that comm).
fn sleep_named(n: &mut Node, comm: &str) -> u32 {
    let link = n.path(comm);
    if !link.exists() {
        std::os::unix::fs::symlink("/usr/bin/sleep", &link).expect("symlink");
    }
    let child = Command::new(&link)
        .arg("3600")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("sleep");
    let pid = child.id();
    n.children.push(child);
    pid
}

#[test]
fn an_ambiguous_name_is_reported_and_nothing_is_signalled() {
    let comm = format!("amb{}", std::process::id() % 100_000);
    let mut n = Node::new("");
    let marker = n.path("restarted");
    write_file(
        &n.path(&format!("hosts/{NODE}/services.yaml")),
        &format!(
            "services:\n  tiny:\n    kind: model\n    idle_timeout: 1m\n    process:\n      name: {comm}\n    restart: [sh, -c, \"echo ran > {}\"]\n  plain:\n    process:\n      name: {comm}\n    restart: [sh, -c, \"echo ran > {}\"]\n",
            marker.display(),
            marker.display()
        ),
    );
    let a = sleep_named(&mut n, &comm);
    let b = sleep_named(&mut n, &comm);
    // The world says it ran and has been idle for an hour.
    write_file(
        &n.path(&format!("world/services/{NODE}/tiny.json")),
        r#"{"status":"ok","observed_at":"2026-11-23T12:00:00Z","last_activity":"2026-11-23T11:00:00Z"}"#,
    );
    let r = n.reconcile(T0, &[]);
    // `plain` has no world record: ambiguous is not missing either.
    assert!(!marker.exists(), "a restart ran for an ambiguous service");
    assert!(r.of("drift_detected", "plain").is_empty(), "{:?}", r.events);
    let invalid = r.of("observation_invalid", "tiny");
    assert_eq!(invalid.len(), 1, "{:?}", r.events);
    let error = invalid[0]["error"].as_str().unwrap();
    assert!(error.contains("ambiguous"), "{error}");
    assert!(
        error.contains(&a.to_string()) && error.contains(&b.to_string()),
        "{error}"
    );
    let executed: Vec<_> = r
        .of("action_executed", "tiny")
        .into_iter()
        .filter(|e| e["outcome"] != "skipped")
        .collect();
    assert!(executed.is_empty(), "nothing may act on it: {executed:?}");
    assert!(alive(a) && alive(b), "an ambiguous match was signalled");
    assert!(
        r.code >= 2,
        "an invalid observation makes the run at least degraded"
    );
}

#[test]
fn another_users_process_never_makes_a_dead_service_look_alive() {
    if !nix::unistd::geteuid().is_root() {
        crate::support::skip("needs root");
        return;
    }
    let marker = format!("--served-model-name web{}", std::process::id());
    let counter = tempfile::NamedTempFile::new().unwrap();
    let mut n = Node::new(&format!(
        "services:\n  web:\n    process:\n      cmdline_contains: \"{marker}\"\n    restart: [sh, -c, \"echo ran >> {}\"]\n",
        counter.path().display()
    ));
    // `nobody` runs a process whose command line holds the marker.
    let mut impostor = Command::new("sh");
    impostor
        .args(["-c", "sleep 3600", &format!("x {marker}")])
        .uid(65534)
        .gid(65534)
        .process_group(0)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let child = impostor.spawn().expect("start a process as nobody");
    let pid = child.id();
    n.children.push(child);
    let r = n.reconcile(T0, &[]);
    let restart = r.executed("web", "restart").unwrap_or_else(|| {
        panic!(
            "the root service is not running: it must be restarted: {:?}",
            r.events
        )
    });
    assert_eq!(restart["outcome"], "started", "{restart}");
    assert!(alive(pid), "the impostor is left alone");
    // With `user: nobody` it is the service, and healthy.
    let yaml = format!(
        "services:\n  web:\n    process:\n      cmdline_contains: \"{marker}\"\n      user: nobody\n"
    );
    write_file(&n.path(&format!("hosts/{NODE}/services.yaml")), &yaml);
    let r = n.reconcile("2026-11-23T12:10:00Z", &[]);
    let _ = nix::sys::signal::killpg(
        crate::support::nix_pid(pid),
        nix::sys::signal::Signal::SIGKILL,
    );
    assert!(r.executed("web", "restart").is_none(), "{:?}", r.events);
}

/// Within one fast tick after a pidfile goes stale, an idle eviction has no
/// confirmed process to stop: it is skipped (`no_process`), not attempted
/// and reported failed.
#[test]
fn an_eviction_without_a_confirmed_process_is_skipped_not_failed() {
    let mut n = Node::new("");
    let (pid, pidfile) = n.sleep_with_pidfile("m", "3600.95");
    write_file(
        &n.path(&format!("hosts/{NODE}/services.yaml")),
        &format!(
            "services:\n  m:\n    kind: model\n    idle_timeout: 1m\n    process:\n      pidfile: {}\n",
            pidfile.display()
        ),
    );
    write_file(
        &n.path(&format!("world/services/{NODE}/m.json")),
        r#"{"status":"ok","observed_at":"2026-11-23T11:59:00Z","last_activity":"2026-11-23T10:00:00Z"}"#,
    );
    // Healthy and idle, probed once.
    n.reconcile(T0, &["--dry-run"]);
    // The process dies; a run within the same fast tick cannot count the
    // probe, so the model still looks healthy and idle.
    for c in &mut n.children {
        let _ = c.kill();
        let _ = c.wait();
    }
    assert!(!alive(pid));
    let r = n.reconcile("2026-11-23T12:00:01Z", &[]);
    let e = r
        .executed("m", "evict")
        .unwrap_or_else(|| panic!("the idle eviction is planned: {:?}", r.events));
    assert_eq!(e["outcome"], "skipped", "{e}");
    assert_eq!(e["reason"], "no_process", "{e}");
    assert!(
        r.of("action_executed", "m")
            .iter()
            .all(|e| e["outcome"] != "failed"),
        "{:?}",
        r.events
    );
}
