//! Tests of `spawn_detached` against real processes.
use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::time::Duration;

use super::*;
use crate::exec::stop::{stop_process, StopOutcome};
use crate::exec::test_support::{argv, pid_gone, wait_for, KillOnDrop};
use crate::procfs::is_same_process;

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_default()
}

/// A launch of `argv` with its log and pid file where given, its exit
/// record beside the pid file, and a fixed unit name (used only under
/// systemd).
fn launch(argv: &[String], log: &Path, pid: &Path, unit: &str) -> Launch {
    let mut l = Launch::new("svc", argv, Path::new("/nonexistent"), unit);
    l.request.log = log.to_path_buf();
    l.pid = pid.to_path_buf();
    l.request.exits = pid.with_extension("exit.json");
    l
}

fn detached(argv: &[String], log: &Path, pid: &Path) -> io::Result<ProcessIdentity> {
    spawn_detached(&launch(argv, log, pid, "supervisorctl-test-svc.service"))
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn sleep_runs_in_its_own_session_with_a_pid_file() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("logs/deep/sleep.log");
    let pid_file = dir.path().join("pids/sleep.pid");
    let id = detached(&argv(&["sleep", "30"]), &log, &pid_file).unwrap();
    let _guard = KillOnDrop(id);

    assert_eq!(read(&pid_file), format!("{}\n", id.pid));
    assert_eq!(crate::procfs::identity(id.pid), Some(id));
    let stat = crate::procfs::read_stat(id.pid).expect("stat");
    assert_eq!(stat.session, id.pid, "session");
    assert_eq!(stat.pgrp, id.pid, "group");
    assert_eq!(mode(&dir.path().join("logs")), 0o700);
    assert_eq!(mode(&dir.path().join("logs/deep")), 0o700);
    assert_eq!(mode(&dir.path().join("pids")), 0o700);
    assert_eq!(mode(&log) & !0o640, 0, "log no wider than 0640");
    // No temporary file is left beside the pid file.
    assert_eq!(fs::read_dir(dir.path().join("pids")).unwrap().count(), 1);

    let outcome = stop_process(Some(id), None, Duration::from_secs(5));
    assert!(
        matches!(
            outcome,
            StopOutcome::Stopped {
                signal: "SIGTERM",
                ..
            }
        ),
        "{outcome:?}"
    );
    assert!(!is_same_process(id) || pid_gone(id.pid));
}

#[test]
fn output_is_appended_to_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("svc.log");
    fs::write(&log, "earlier\n").unwrap();
    let script = "echo hello; echo err >&2; sleep 30";
    let id = detached(
        &argv(&["sh", "-c", script]),
        &log,
        &dir.path().join("svc.pid"),
    )
    .unwrap();
    let _guard = KillOnDrop(id);
    assert!(
        wait_for(Duration::from_secs(5), || read(&log).contains(" err\n")),
        "log: {:?}",
        read(&log)
    );
    let text = read(&log);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "earlier");
    assert!(
        lines[1].ends_with(&format!(
            " [supervisorctl] started pid {}: sh -c {script}",
            id.pid
        )),
        "{text}"
    );
    // Each line of the service's own, with the time it came.
    assert_eq!(lines.len(), 4, "{text}");
    for (line, said) in lines[2..].iter().zip(["hello", "err"]) {
        let (stamp, rest) = line.split_once(' ').unwrap();
        assert_eq!(rest, said);
        assert!(
            stamp.ends_with('Z') && chrono::DateTime::parse_from_rfc3339(stamp).is_ok(),
            "{line}"
        );
    }
}

#[test]
fn environment_is_clean() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("env.log");
    let id = detached(&argv(&["env"]), &log, &dir.path().join("env.pid")).unwrap();
    let _guard = KillOnDrop(id);
    assert!(wait_for(Duration::from_secs(5), || pid_gone(id.pid)));
    assert!(wait_for(Duration::from_secs(5), || read(&log)
        .contains("exited with status 0")));
    let text: Vec<String> = read(&log)
        .lines()
        .map(|l| without_time(l).to_string())
        .filter(|l| !l.starts_with("[supervisorctl]"))
        .collect();
    let allowed = [
        "PATH",
        "LANG",
        "HOME",
        "USER",
        "LOGNAME",
        "TZ",
        "SUPERVISORCTL",
    ];
    for line in &text {
        let name = line.split('=').next().unwrap();
        assert!(allowed.contains(&name), "unexpected {line:?}");
    }
    assert!(text.iter().any(|l| l == "SUPERVISORCTL=1"), "{text:?}");
}

#[test]
fn exited_child_is_reaped_not_a_zombie() {
    let dir = tempfile::tempdir().unwrap();
    let id = detached(
        &argv(&["true"]),
        &dir.path().join("t.log"),
        &dir.path().join("t.pid"),
    )
    .unwrap();
    let _guard = KillOnDrop(id);
    assert!(
        wait_for(Duration::from_secs(5), || !is_same_process(id)),
        "pid {} still in /proc",
        id.pid
    );
}

#[test]
fn symlinked_log_is_refused_and_nothing_starts() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("elsewhere");
    fs::write(&target, "").unwrap();
    let log = dir.path().join("svc.log");
    symlink(&target, &log).unwrap();
    let pid_file = dir.path().join("svc.pid");
    let err = detached(&argv(&["sleep", "30"]), &log, &pid_file).unwrap_err();
    assert!(err.to_string().contains("cannot open log"), "{err}");
    assert!(!pid_file.exists());
    assert_eq!(read(&target), "");
}

#[test]
fn missing_binary_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = detached(
        &argv(&["no-such-binary-xyz"]),
        &dir.path().join("x.log"),
        &dir.path().join("x.pid"),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot run `no-such-binary-xyz`: no such file or directory"
    );
    assert!(!dir.path().join("x.pid").exists());
}

#[test]
fn unwritable_pid_file_stops_the_child_again() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("svc.pid");
    fs::create_dir(&pid_file).unwrap(); // a rename over a folder fails
    let err = detached(
        &argv(&["sleep", "30"]),
        &dir.path().join("svc.log"),
        &pid_file,
    )
    .unwrap_err();
    let text = err.to_string();
    assert!(text.starts_with("cannot write pid file"), "{text}");
    let pid: u32 = text
        .split("(pid ")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .and_then(|n| n.parse().ok())
        .expect("pid in message");
    assert!(pid_gone(pid), "pid {pid} left running");
    assert_eq!(
        fs::read_dir(dir.path()).unwrap().count(),
        2,
        "no temp file left"
    );
}

/// A folder with stand-ins for `systemd-run` (records its argv to `argv`,
/// starts the command itself with `setsid`, output to the log, and writes
/// its pid to `mainpid`) and `systemctl` (prints that pid as `MainPID`).
/// `run_body` replaces the stand-in systemd-run's body when given.
fn stand_ins(run_body: Option<&str>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    let default_run = format!(
        r#"printf '%s\n' "$@" > '{d}/argv'
log=
while [ $# -gt 0 ]; do
  case "$1" in
    --property=StandardOutput=append:*) log="${{1#--property=StandardOutput=append:}}" ;;
    --) shift; break ;;
  esac
  shift
done
setsid "$@" >>"$log" 2>&1 </dev/null &
echo $! > '{d}/mainpid'"#
    );
    let run = format!("#!/bin/sh\n{}\n", run_body.unwrap_or(&default_run));
    let ctl = format!(
        "#!/bin/sh\necho \"$*\" >> '{d}/systemctl.calls'\ncase \"$*\" in *MainPID*) cat '{d}/mainpid' ;; esac\n"
    );
    for (name, text) in [("systemd-run", run), ("systemctl", ctl)] {
        let path = dir.path().join(name);
        fs::write(&path, text).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    }
    dir
}

fn tools(dir: &Path) -> Systemd {
    Systemd::detect_from(Some("abc".into()), &dir.display().to_string(), false)
        .expect("stand-ins found")
}

#[test]
fn under_systemd_a_service_starts_as_a_transient_unit() {
    let fake = stand_ins(None);
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("logs/web.log");
    let pid_file = dir.path().join("pids/web.pid");
    let sd = tools(fake.path());
    let unit = transient::unit_name("gpu-01", "web");
    let (id, _exited) = spawn_watched_with(
        &launch(&argv(&["sleep", "30"]), &log, &pid_file, &unit),
        Some(&sd),
    )
    .unwrap();
    let _guard = KillOnDrop(id);

    let recorded = read(&fake.path().join("argv"));
    let args: Vec<&str> = recorded.lines().collect();
    assert_eq!(
        args[0], "--unit=supervisorctl-gpu-01-web.service",
        "{args:?}"
    );
    let log_text = log.display();
    for expected in [
        "--collect".to_string(),
        "--quiet".to_string(),
        "--service-type=exec".to_string(),
        "--property=KillMode=mixed".to_string(),
        format!("--property=StandardOutput=append:{log_text}"),
        format!("--property=StandardError=append:{log_text}"),
        "--setenv=SUPERVISORCTL=1".to_string(),
    ] {
        assert!(args.contains(&expected.as_str()), "{expected} in {args:?}");
    }
    assert!(!args.contains(&"--wait"), "{args:?}");
    let dashes = args.iter().position(|a| *a == "--").expect("--");
    assert_eq!(&args[dashes + 1..], ["sleep", "30"]);

    assert_eq!(read(&pid_file), format!("{}\n", id.pid));
    assert_eq!(crate::procfs::identity(id.pid), Some(id));
    let comm = read(Path::new(&format!("/proc/{}/comm", id.pid)));
    assert_eq!(comm.trim(), "sleep");
    let calls = read(&fake.path().join("systemctl.calls"));
    assert!(
        calls.contains("show --property=MainPID --value supervisorctl-gpu-01-web.service"),
        "{calls}"
    );
}

#[test]
fn the_exit_of_a_unit_process_is_reported() {
    let fake = stand_ins(None);
    let dir = tempfile::tempdir().unwrap();
    let sd = tools(fake.path());
    let (id, exited) = spawn_watched_with(
        &launch(
            &argv(&["sleep", "0.3"]),
            &dir.path().join("s.log"),
            &dir.path().join("s.pid"),
            "supervisorctl-n-s.service",
        ),
        Some(&sd),
    )
    .unwrap();
    let _guard = KillOnDrop(id);
    let ending = exited
        .recv_timeout(Duration::from_secs(5))
        .expect("exit seen");
    // The stand-in keeps no exit status: it reads as "exited", no code.
    assert_eq!(ending, crate::monitor::Ending::Unknown);
}

#[test]
fn without_invocation_id_systemd_run_is_not_called() {
    let fake = stand_ins(None);
    let search = fake.path().display().to_string();
    assert_eq!(Systemd::detect_from(None, &search, false), None);
    assert_eq!(Systemd::detect_from(Some("".into()), &search, false), None);
    assert_eq!(
        Systemd::detect_from(Some("x".into()), "/nonexistent", false),
        None
    );

    let dir = tempfile::tempdir().unwrap();
    let sd = Systemd::detect_from(None, &search, false);
    let pid_file = dir.path().join("plain.pid");
    let (id, _) = spawn_watched_with(
        &launch(
            &argv(&["sleep", "30"]),
            &dir.path().join("plain.log"),
            &pid_file,
            "supervisorctl-n-s.service",
        ),
        sd.as_ref(),
    )
    .unwrap();
    let _guard = KillOnDrop(id);
    assert!(!fake.path().join("argv").exists(), "systemd-run was called");
    assert_eq!(read(&pid_file), format!("{}\n", id.pid));
    let stat = crate::procfs::read_stat(id.pid).expect("stat");
    assert_eq!(stat.session, id.pid, "started directly, own session");
}

#[test]
fn without_a_reachable_manager_the_service_starts_directly() {
    let body = "echo 'Failed to connect to bus: No such file or directory' >&2; exit 1";
    let fake = stand_ins(Some(body));
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("d.pid");
    let sd = tools(fake.path());
    let (id, _) = spawn_watched_with(
        &launch(
            &argv(&["sleep", "30"]),
            &dir.path().join("d.log"),
            &pid_file,
            "supervisorctl-n-s.service",
        ),
        Some(&sd),
    )
    .unwrap();
    let _guard = KillOnDrop(id);
    assert_eq!(read(&pid_file), format!("{}\n", id.pid));
}

#[test]
fn a_failed_systemd_run_is_an_error_and_writes_no_pid_file() {
    let body = "echo 'Job for supervisorctl-n-x.service failed.' >&2; exit 1";
    let fake = stand_ins(Some(body));
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("x.pid");
    let sd = tools(fake.path());
    let err = spawn_watched_with(
        &launch(
            &argv(&["sleep", "30"]),
            &dir.path().join("x.log"),
            &pid_file,
            "supervisorctl-n-x.service",
        ),
        Some(&sd),
    )
    .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("--unit=supervisorctl-n-x.service` exited 1"),
        "{text}"
    );
    assert!(
        text.contains("Job for supervisorctl-n-x.service failed."),
        "{text}"
    );
    assert!(!pid_file.exists());
}

#[test]
fn unit_names_name_the_node_and_the_service_escaped_like_systemd_escape() {
    let name = transient::unit_name;
    assert_eq!(name("gpu-01", "web"), "supervisorctl-gpu-01-web.service");
    assert_eq!(
        name("n1", "llama_3.1-8b"),
        "supervisorctl-n1-llama_3.1-8b.service"
    );
    assert_eq!(name("a b", "c"), "supervisorctl-a\\x20b-c.service");
    assert_eq!(name("n", "a b"), "supervisorctl-n-a\\x20b.service");
    assert_eq!(name("n", "a/b"), "supervisorctl-n-a\\x2fb.service");
    // A leading dot is escaped in each part, as systemd-escape does.
    assert_eq!(name(".n", ".s"), "supervisorctl-\\x2en-\\x2es.service");
}
