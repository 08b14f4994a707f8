//! As root, the state directory and the folders used under it must be
//! root's and not writable by group or others, and no symlink in it is
//! followed (SPEC §9 "Trust"); `observe --out` follows no symlink either, and
//! as root writes only into a folder of root's.
use std::os::unix::fs::PermissionsExt;

use super::live_support::*;

const NOW: &str = "2026-11-23T12:00:00Z";

fn needs_root() -> bool {
    if nix::unistd::geteuid().is_root() {
        return true;
    }
    crate::support::skip("needs root");
    false
}

fn chown_nobody(path: &std::path::Path) {
    nix::unistd::chown(
        path,
        Some(nix::unistd::Uid::from_raw(65534)),
        Some(nix::unistd::Gid::from_raw(65534)),
    )
    .unwrap();
}

#[test]
fn a_loose_state_dir_is_refused_as_root() {
    if !needs_root() {
        return;
    }
    let n = Node::new("services:\n  web:\n    restart: [\"true\"]\n");
    std::fs::create_dir(n.state()).unwrap();
    std::fs::set_permissions(n.state(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let out = n.cli(&["reconcile", "--now", NOW]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("not be writable by group or others (mode 0777)"),
        "{stderr}"
    );
    assert!(stderr.contains("chmod go-w"), "{stderr}");
    assert!(!n.state().join("events.jsonl").exists(), "nothing recorded");

    std::fs::set_permissions(n.state(), std::fs::Permissions::from_mode(0o700)).unwrap();
    chown_nobody(&n.state());
    let out = n.cli(&["reconcile", "--now", NOW]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("owned by uid 65534"), "{stderr}");
    assert!(stderr.contains("chown root"), "{stderr}");
    // Pin, hold and reset write there too.
    let out = n.cli(&["hold", "web"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
}

#[test]
fn a_pid_file_planted_by_another_user_is_never_used() {
    if !needs_root() {
        return;
    }
    let mut n = Node::new(
        "services:\n  sp:\n    kind: model\n    idle_timeout: 1m\n    spawn: [sleep, \"3600\"]\n",
    );
    // A root process the attacker wants dead, named by a planted pid file
    // in a pids/ folder that `nobody` owns.
    let victim = n.sleep("3600");
    let pids = n.state().join("pids");
    std::fs::create_dir_all(&pids).unwrap();
    std::fs::set_permissions(n.state(), std::fs::Permissions::from_mode(0o700)).unwrap();
    chown_nobody(&pids);
    write_file(&pids.join("sp.pid"), &format!("{victim}\n"));
    write_file(
        &n.path(&format!("world/services/{NODE}/sp.json")),
        r#"{"status":"ok","observed_at":"2026-11-23T12:00:00Z","last_activity":"2026-11-23T11:00:00Z"}"#,
    );
    let out = n.cli(&["reconcile", "--now", NOW]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("pids"), "{stderr}");
    assert!(alive(victim), "the planted pid was signalled");
}

#[test]
fn a_symlinked_logs_folder_is_refused() {
    let n = Node::new("services:\n  sp:\n    spawn: [sleep, \"3600\"]\n");
    let elsewhere = n.path("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    std::fs::create_dir(n.state()).unwrap();
    std::fs::set_permissions(n.state(), std::fs::Permissions::from_mode(0o700)).unwrap();
    std::os::unix::fs::symlink(&elsewhere, n.state().join("logs")).unwrap();
    let out = n.cli(&["reconcile", "--now", NOW]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("symbolic link"), "{stderr}");
    assert_eq!(
        std::fs::read_dir(&elsewhere).unwrap().count(),
        0,
        "nothing written through the link"
    );
    assert!(!n.state().join("pids/sp.pid").exists(), "nothing spawned");
}

#[test]
fn observe_out_follows_no_symlinked_folder() {
    let n = Node::new("services:\n  web:\n    restart: [\"true\"]\n");
    let out_dir = n.path("observed");
    let elsewhere = n.path("elsewhere");
    std::fs::create_dir_all(&out_dir).unwrap();
    std::fs::create_dir_all(&elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, out_dir.join("resources")).unwrap();
    let out = n.cli(&["observe", "--out", out_dir.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("symbolic link"), "{stderr}");
    assert_eq!(
        std::fs::read_dir(&elsewhere).unwrap().count(),
        0,
        "nothing written through the link"
    );

    // `--out` itself a symlink: refused too.
    let link = n.path("observed-link");
    std::os::unix::fs::symlink(&elsewhere, &link).unwrap();
    let out = n.cli(&["observe", "--out", link.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0);
}

#[test]
fn as_root_observe_refuses_an_out_folder_another_user_owns() {
    if !needs_root() {
        return;
    }
    let n = Node::new("services:\n  web:\n    restart: [\"true\"]\n");
    // `nobody` made the folder first: they could rename what is in it
    // while the probes run.
    let out_dir = n.path("observed");
    std::fs::create_dir(&out_dir).unwrap();
    chown_nobody(&out_dir);
    let path = out_dir.to_str().unwrap();
    for extra in [&[][..], &["--every", "1s", "--count", "1"][..]] {
        let mut args = vec!["observe", "--out", path];
        args.extend_from_slice(extra);
        let out = n.cli(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains("owned by uid 65534"), "{stderr}");
        assert!(stderr.contains("chown root:root"), "{stderr}");
        assert_eq!(std::fs::read_dir(&out_dir).unwrap().count(), 0);
    }
    // A folder it creates is root's.
    let fresh = n.path("fresh/observed");
    let out = n.cli(&["observe", "--out", fresh.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(fresh.join(format!("nodes/{NODE}.json")).is_file());
}

#[test]
fn a_pidfile_another_user_can_write_never_names_a_root_process() {
    if !needs_root() {
        return;
    }
    let mut n = Node::new("");
    // A folder `nobody` owns, with a pidfile naming a root process.
    let run = n.path("run");
    std::fs::create_dir(&run).unwrap();
    chown_nobody(&run);
    let victim = n.sleep("3600.93");
    let pidfile = run.join("pm.pid");
    write_file(&pidfile, &format!("{victim}\n"));
    chown_nobody(&pidfile);
    let yaml = format!(
        "services:\n  pm:\n    kind: model\n    idle_timeout: 1m\n    process:\n      pidfile: {}\n",
        pidfile.display()
    );
    write_file(&n.path(&format!("hosts/{NODE}/services.yaml")), &yaml);
    write_file(
        &n.path(&format!("world/services/{NODE}/pm.json")),
        r#"{"status":"ok","observed_at":"2026-11-23T11:00:00Z","last_activity":"2026-11-23T10:00:00Z"}"#,
    );
    let r = n.reconcile(NOW, &[]);
    assert!(
        alive(victim),
        "a root process named by nobody's pidfile was signalled"
    );
    let executed: Vec<_> = r
        .of("action_executed", "pm")
        .into_iter()
        .filter(|e| e["outcome"] != "skipped")
        .collect();
    assert!(executed.is_empty(), "{executed:?}");
    let why = r.of("health_changed", "pm");
    assert!(
        why.iter()
            .any(|e| e["reason"].as_str().unwrap_or("").contains("not trusted")),
        "{:?}",
        r.events
    );
}
