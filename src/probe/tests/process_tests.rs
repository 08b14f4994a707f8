//! Finding processes: pidfiles (live, dead, garbage, symlinked, stale,
//! reused) and name / command line matches against real children.
use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::{node, service, spawned, with_process, Kid};
use crate::desired::ProcessMatch;
use crate::probe::process::{by_pidfile, find_all, Finder};
use crate::probe::{probe_node, ProbeOptions, ProcessState};
use crate::procfs::{identity, ProcessIdentity};

fn pidfile_with(dir: &tempfile::TempDir, text: &str) -> std::path::PathBuf {
    let path = dir.path().join("svc.pid");
    std::fs::write(&path, text).expect("write pidfile");
    path
}

#[test]
fn pidfile_finds_a_live_child_then_not_after_it_dies() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut kid = Kid::spawn("sleep", &["30"]);
    let path = pidfile_with(&dir, &format!("{}\n", kid.pid()));

    match by_pidfile(&path, None) {
        ProcessState::Found(info) => {
            assert_eq!(info.identity, identity(kid.pid()).expect("alive"));
            assert_eq!(info.name, "sleep");
            assert!(info.rss_bytes > 0);
        }
        other => panic!("expected found, got {other:?}"),
    }
    kid.kill();
    assert_eq!(by_pidfile(&path, None), ProcessState::NotFound);
}

#[test]
fn unusable_pidfiles_are_not_found() {
    let dir = tempfile::tempdir().expect("tempdir");
    for text in ["", "abc", "12 34", "-5", "0", "99999999999"] {
        let path = pidfile_with(&dir, text);
        assert_eq!(by_pidfile(&path, None), ProcessState::NotFound, "{text:?}");
    }
    let missing = dir.path().join("missing.pid");
    assert_eq!(by_pidfile(&missing, None), ProcessState::NotFound);
}

#[test]
fn a_symlinked_pidfile_is_not_followed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let kid = Kid::spawn("sleep", &["30"]);
    let target = pidfile_with(&dir, &kid.pid().to_string());
    assert!(matches!(by_pidfile(&target, None), ProcessState::Found(_)));
    let link = dir.path().join("link.pid");
    std::os::unix::fs::symlink(&target, &link).expect("symlink");
    assert_eq!(by_pidfile(&link, None), ProcessState::NotFound);
}

#[test]
fn a_fifo_at_the_pidfile_path_does_not_hang() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fifo = dir.path().join("fifo.pid");
    let ok = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo")
        .success();
    assert!(ok);
    let started = Instant::now();
    assert_eq!(by_pidfile(&fifo, None), ProcessState::NotFound);
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[test]
fn own_pid_and_init_are_stale() {
    let dir = tempfile::tempdir().expect("tempdir");
    let me = std::process::id();
    let path = pidfile_with(&dir, &me.to_string());
    match by_pidfile(&path, None) {
        ProcessState::StalePidfile { pid, reason } => {
            assert_eq!(pid, me);
            assert!(reason.contains("own process"), "{reason}");
        }
        other => panic!("expected stale, got {other:?}"),
    }
    let path = pidfile_with(&dir, "1");
    if identity(1).is_some() {
        assert!(matches!(
            by_pidfile(&path, None),
            ProcessState::StalePidfile { pid: 1, .. }
        ));
    }
}

#[test]
fn a_kernel_thread_is_stale() {
    // kthreadd is pid 2 on a host; a container may show no kernel threads.
    let Some(kthread) = (2..200)
        .find(|&pid| crate::probe::procstat::read_stat(pid).is_some_and(|s| s.is_kernel_thread()))
    else {
        return crate::desired::trust::tests::skip(
            "no kernel thread is visible here (a container)",
        );
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let path = pidfile_with(&dir, &kthread.to_string());
    match by_pidfile(&path, None) {
        ProcessState::StalePidfile { pid, reason } => {
            assert_eq!(pid, kthread);
            assert!(reason.contains("kernel thread"), "{reason}");
        }
        other => panic!("expected stale, got {other:?}"),
    }
}

#[test]
fn a_reused_pid_is_stale_by_start_time() {
    let dir = tempfile::tempdir().expect("tempdir");
    let kid = Kid::spawn("sleep", &["30"]);
    let path = pidfile_with(&dir, &kid.pid().to_string());
    let real = identity(kid.pid()).expect("alive");

    let earlier = ProcessIdentity {
        pid: real.pid,
        start_ticks: real.start_ticks.saturating_sub(1000),
    };
    match by_pidfile(&path, Some(&earlier)) {
        ProcessState::StalePidfile { pid, reason } => {
            assert_eq!(pid, real.pid);
            assert!(reason.contains("reused"), "{reason}");
        }
        other => panic!("expected stale, got {other:?}"),
    }
    // The same identity, or one recorded for another pid, is no objection.
    assert!(matches!(
        by_pidfile(&path, Some(&real)),
        ProcessState::Found(_)
    ));
    let other_pid = ProcessIdentity {
        pid: real.pid + 1,
        start_ticks: 1,
    };
    assert!(matches!(
        by_pidfile(&path, Some(&other_pid)),
        ProcessState::Found(_)
    ));
}

fn me() -> u32 {
    nix::unistd::geteuid().as_raw()
}

#[test]
fn two_cmdline_matches_are_ambiguous_then_one_is_found() {
    let unique = format!("3000.{}", std::process::id());
    let mut first = Kid::spawn("sleep", &[&unique]);
    std::thread::sleep(Duration::from_millis(60));
    let second = Kid::spawn("sleep", &[&unique]);

    let finders = vec![(
        "svc".to_string(),
        Some(Finder::Cmdline(format!("sleep {unique}"), me())),
    )];
    let states = find_all(&finders, &HashMap::new());
    let mut both = vec![first.pid(), second.pid()];
    both.sort_unstable();
    assert_eq!(states[0], ProcessState::Ambiguous { pids: both });
    first.kill();
    let states = find_all(&finders, &HashMap::new());
    match &states[0] {
        ProcessState::Found(info) => assert_eq!(info.identity.pid, second.pid()),
        other => panic!("expected found, got {other:?}"),
    }
    drop(second);
    assert_eq!(
        find_all(&finders, &HashMap::new())[0],
        ProcessState::NotFound
    );
}

#[test]
fn name_match_is_exact() {
    // A symlink gives the child a comm of its own (comm is the executed
    // file's name, at most 15 bytes).
    let dir = tempfile::tempdir().expect("tempdir");
    let name = format!("pz{}", std::process::id() % 10_000_000);
    let link = dir.path().join(&name);
    std::os::unix::fs::symlink("/usr/bin/sleep", &link).expect("symlink");
    let program = link.to_str().expect("utf-8 path").to_string();
    let kid = Kid::spawn(&program, &["30"]);

    let finders = vec![
        ("exact".to_string(), Some(Finder::Name(name.clone(), me()))),
        (
            "prefix".to_string(),
            Some(Finder::Name(name[..4].to_string(), me())),
        ),
        // The same name among another user's processes: none.
        (
            "other-user".to_string(),
            Some(Finder::Name(name.clone(), me().wrapping_add(4242))),
        ),
    ];
    let states = find_all(&finders, &HashMap::new());
    match &states[0] {
        ProcessState::Found(info) => {
            assert_eq!(info.identity.pid, kid.pid());
            assert_eq!(info.name, name);
        }
        other => panic!("expected found, got {other:?}"),
    }
    assert_eq!(states[1], ProcessState::NotFound);
    assert_eq!(states[2], ProcessState::NotFound);
}

#[test]
fn a_child_of_the_match_is_not_a_second_candidate() {
    // `sh -c '…; wait'` with a `sleep` child: both command lines hold the
    // marker, but the sleep descends from the shell, which is the service.
    let unique = format!("marker-{}", std::process::id());
    let script = format!("sh -c 'sleep 30; : {unique}' & wait");
    let shell = Kid::spawn("sh", &["-c", &script, &unique]);
    let deadline = Instant::now() + Duration::from_secs(5);
    let finders = vec![(
        "svc".to_string(),
        Some(Finder::Cmdline(unique.clone(), me())),
    )];
    loop {
        let states = find_all(&finders, &HashMap::new());
        let seen_child = std::fs::read_to_string(format!(
            "/proc/{}/task/{}/children",
            shell.pid(),
            shell.pid()
        ))
        .is_ok_and(|c| !c.trim().is_empty());
        if seen_child {
            match &states[0] {
                ProcessState::Found(info) => assert_eq!(info.identity.pid, shell.pid()),
                other => panic!("expected the shell, got {other:?}"),
            }
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the shell never started its child"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn spawned_services_use_the_state_dir_pidfile() {
    let state = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(state.path().join("pids")).expect("mkdir");
    let kid = Kid::spawn("sleep", &["30"]);
    std::fs::write(state.path().join("pids/worker.pid"), kid.pid().to_string()).expect("write");

    let n = node(vec![
        spawned(service("worker")),
        spawned(service("never-started")),
        service("plain"),
        with_process(
            service("gone"),
            ProcessMatch::Pidfile(state.path().join("nothing.pid")),
        ),
    ]);
    let opts = ProbeOptions {
        state_dir: Some(state.path().to_path_buf()),
        nvidia_smi: "/nonexistent/nvidia-smi".into(),
        use_nvml: false,
        ..ProbeOptions::default()
    };
    let live = probe_node(&n, &HashMap::new(), &opts);
    match &live.services["worker"].process {
        ProcessState::Found(info) => assert_eq!(info.identity.pid, kid.pid()),
        other => panic!("expected found, got {other:?}"),
    }
    assert_eq!(
        live.services["never-started"].process,
        ProcessState::NotFound
    );
    assert_eq!(live.services["plain"].process, ProcessState::NotConfigured);
    assert_eq!(live.services["gone"].process, ProcessState::NotFound);

    // Without a state directory a spawned service has nothing to look at.
    let opts = ProbeOptions {
        state_dir: None,
        ..opts
    };
    let live = probe_node(&n, &HashMap::new(), &opts);
    assert_eq!(live.services["worker"].process, ProcessState::NotConfigured);
}

/// Issue: a user's own `~/run`, replaced by a link to a root folder whose
/// pidfile names a root process, made `stop` SIGTERM root's process: the
/// folder's owner was read through the link. Now whoever owns a link on
/// the way (or the folder holding it) is a writer of the pidfile too.
#[test]
fn a_pidfile_reached_through_another_users_link_may_name_only_their_process() {
    if !nix::unistd::geteuid().is_root() {
        return crate::desired::trust::tests::skip("the pidfile owner rule matters to root");
    }
    let nobody = nix::unistd::Uid::from_raw(65534);
    let dir = tempfile::tempdir().expect("tempdir");
    // Root's folder with root's pidfile naming root's process.
    let root_run = dir.path().join("root-run");
    std::fs::create_dir(&root_run).unwrap();
    let kid = Kid::spawn("sleep", &["30"]);
    std::fs::write(root_run.join("web.pid"), format!("{}\n", kid.pid())).unwrap();
    // The user's home, and in it their `run`: a link to root's folder.
    let home = dir.path().join("home");
    std::fs::create_dir(&home).unwrap();
    nix::unistd::chown(&home, Some(nobody), None).unwrap();
    let link = home.join("run");
    std::os::unix::fs::symlink(&root_run, &link).unwrap();
    nix::unistd::fchownat(
        nix::fcntl::AT_FDCWD,
        &link,
        Some(nobody),
        None,
        nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
    )
    .unwrap();
    match by_pidfile(&link.join("web.pid"), None) {
        ProcessState::StalePidfile { reason, .. } => {
            assert!(reason.contains("can be written by uid 65534"), "{reason}");
        }
        other => panic!("root's process must not be taken: {other:?}"),
    }
    // Reached directly, root's pidfile is root's to trust.
    assert!(matches!(
        by_pidfile(&root_run.join("web.pid"), None),
        ProcessState::Found(_)
    ));
}

/// Issue: a pidfile written inside a container (or long ago) named a host
/// process that had nothing to do with it. A process that started after
/// the pidfile was last written is not the one the file names.
#[test]
fn a_process_younger_than_its_pidfile_is_stale() {
    let dir = tempfile::tempdir().expect("tempdir");
    let kid = Kid::spawn("sleep", &["30"]);
    let path = pidfile_with(&dir, &format!("{}\n", kid.pid()));
    assert!(matches!(by_pidfile(&path, None), ProcessState::Found(_)));
    // The same file, as if written an hour ago.
    let hour_ago = nix::sys::time::TimeSpec::new(chrono::Utc::now().timestamp() - 3600, 0);
    nix::sys::stat::utimensat(
        nix::fcntl::AT_FDCWD,
        &path,
        &hour_ago,
        &hour_ago,
        nix::sys::stat::UtimensatFlags::NoFollowSymlink,
    )
    .unwrap();
    match by_pidfile(&path, None) {
        ProcessState::StalePidfile { reason, .. } => {
            assert!(
                reason.contains("started after the pidfile was written"),
                "{reason}"
            );
        }
        other => panic!("expected stale, got {other:?}"),
    }
}
