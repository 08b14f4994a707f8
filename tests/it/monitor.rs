//! The monitor of `spawn:` services (issue: a service that exited with
//! status 3 was reported `exited after the start: no process`, a `kill -9`
//! as `no live process`; its log had no times, no markers, no rotation).
//! Real processes: the service's exit status or signal must reach
//! `exits/<service>.json`, the events and `status`; its output must be
//! timestamped and rotated by `logs.max_size` × `logs.keep`.
use serde_json::Value;

use super::live_support::*;

const T0: &str = "2026-11-23T12:00:00Z";
const T1: &str = "2026-11-23T12:00:30Z";

fn exit_record(n: &Node, service: &str) -> Option<Value> {
    let path = n.state().join("exits").join(format!("{service}.json"));
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

fn wait_for_exit(n: &Node, service: &str) -> Value {
    assert!(
        wait_until(|| exit_record(n, service).is_some()),
        "no exit record for {service}"
    );
    exit_record(n, service).unwrap()
}

/// Every event of a run as one text, to find what it says.
fn said(r: &Outcome) -> String {
    r.events
        .iter()
        .map(Value::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

fn status_text(n: &Node) -> String {
    let out = n.cli(&["status"]);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn an_exit_status_is_recorded_and_named_in_events_log_and_status() {
    let mut n = Node::new(
        "services:\n  web:\n    spawn: [sh, -c, \"echo starting; sleep 2; exit 3\"]\n    start_grace: 1s\n",
    );
    let r = n.reconcile(T0, &[]);
    assert!(r.executed("web", "restart").is_some(), "{:?}", r.events);
    let pid = n.spawned_pid("web").expect("pid file");
    let rec = wait_for_exit(&n, "web");
    assert_eq!(rec["pid"], pid, "{rec}");
    assert_eq!(rec["status"], 3, "{rec}");
    assert!(rec.get("signal").is_none(), "{rec}");
    assert_eq!(rec["core_dumped"], false, "{rec}");
    let started: chrono::DateTime<chrono::Utc> =
        rec["started_at"].as_str().unwrap().parse().unwrap();
    let exited: chrono::DateTime<chrono::Utc> = rec["exited_at"].as_str().unwrap().parse().unwrap();
    let ran = (exited - started).num_milliseconds();
    assert!((1900..4000).contains(&ran), "ran {ran} ms: {rec}");

    let r = n.reconcile(T1, &[]);
    let text = said(&r);
    assert!(text.contains("exited with status 3 after 2s"), "{text}");
    assert!(!text.contains("no process"), "{text}");
    let verified = r.of("action_verified", "web");
    assert_eq!(verified.len(), 1, "{text}");
    assert_eq!(
        verified[0]["reason"], "exited with status 3 after 2s",
        "{text}"
    );

    let log = std::fs::read_to_string(n.state().join("logs/web.log")).unwrap();
    let lines: Vec<&str> = log.lines().map(untimed).collect();
    assert_eq!(
        lines[..3],
        [
            format!("[supervisorctl] started pid {pid}: sh -c echo starting; sleep 2; exit 3")
                .as_str(),
            "starting",
            format!("[supervisorctl] pid {pid} exited with status 3 after 2s").as_str(),
        ],
        "{log}"
    );
    let status = status_text(&n);
    assert!(status.contains("exited with status 3 after 2s"), "{status}");
}

/// A walk found `diff --live` saying a crashed `spawn:` service was
/// `stopped (no process)` where `status` gave its exit status.
#[test]
fn diff_live_names_the_exit_of_a_crashed_spawn() {
    let n = Node::new("services:\n  web:\n    spawn: [sh, -c, \"exit 3\"]\n");
    let r = n.reconcile(T0, &[]);
    assert!(r.executed("web", "restart").is_some(), "{:?}", r.events);
    wait_for_exit(&n, "web");
    let out = n.cli(&["diff", "--live"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("+service web: stopped (exited with status 3 after "),
        "{text}"
    );
    assert!(!text.contains("no process"), "{text}");
}

#[test]
fn a_kill_9_is_said_as_killed_by_sigkill() {
    let mut n =
        Node::new("services:\n  web:\n    spawn: [sleep, \"3600.77\"]\n    start_grace: 1s\n");
    n.reconcile(T0, &[]);
    let pid = n.spawned_pid("web").expect("pid file");
    assert!(alive(pid));
    nix::sys::signal::kill(
        crate::support::nix_pid(pid),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let rec = wait_for_exit(&n, "web");
    assert_eq!(rec["pid"], pid, "{rec}");
    assert_eq!(rec["signal"], "SIGKILL", "{rec}");
    assert_eq!(rec["signal_number"], 9, "{rec}");
    assert!(rec.get("status").is_none(), "{rec}");

    let r = n.reconcile(T1, &[]);
    let text = said(&r);
    assert!(text.contains("killed by SIGKILL after"), "{text}");
    assert!(
        r.executed("web", "restart").is_some(),
        "brought back: {text}"
    );
    // Tracked, so that the node's drop ends the new one too.
    assert!(n.spawned_pid("web").is_some_and(|p| p != pid));
}

#[test]
fn a_segfault_with_a_core_dump_says_so() {
    let n = Node::new("");
    let cwd = n.path("cores");
    std::fs::create_dir_all(&cwd).unwrap();
    let script = "ulimit -c unlimited; exec python3 -c 'import os, signal, time; time.sleep(1.5); os.kill(os.getpid(), signal.SIGSEGV)'";
    write_file(
        &n.path("hosts/testnode/services.yaml"),
        &format!(
            "services:\n  crashy:\n    spawn: [sh, -c, \"{script}\"]\n    cwd: {}\n    start_grace: 1s\n",
            cwd.display()
        ),
    );
    let mut n = n;
    n.reconcile(T0, &[]);
    n.spawned_pid("crashy").expect("pid file");
    let rec = wait_for_exit(&n, "crashy");
    assert_eq!(rec["signal"], "SIGSEGV", "{rec}");
    let pattern = std::fs::read_to_string("/proc/sys/kernel/core_pattern").unwrap_or_default();
    // With a plain file pattern the kernel writes the core into `cwd`.
    if !pattern.starts_with('|') {
        assert_eq!(rec["core_dumped"], true, "{rec} (core_pattern {pattern:?})");
        let r = n.reconcile(T1, &[]);
        let text = said(&r);
        assert!(
            text.contains("killed by SIGSEGV (core dumped) after 1s"),
            "{text}"
        );
    }
}

#[test]
fn a_20_mib_burst_is_rotated_to_the_configured_size() {
    let mut n = Node::new(
        "services:\n  loud:\n    spawn: [python3, -c, \"import sys\\nfor i in range(210000): sys.stdout.write('%099d\\\\n' % i)\"]\n    logs: {max_size: 1MiB, keep: 3}\n    start_grace: 1s\n",
    );
    n.reconcile(T0, &[]);
    n.spawned_pid("loud").expect("pid file");
    let rec = wait_for_exit(&n, "loud");
    assert_eq!(rec["status"], 0, "{rec}");
    let log = n.state().join("logs/loud.log");
    let files: Vec<std::path::PathBuf> = std::iter::once(log.clone())
        .chain((1..=3).map(|i| n.state().join(format!("logs/loud.log.{i}"))))
        .collect();
    for f in &files {
        let len = std::fs::metadata(f)
            .unwrap_or_else(|e| panic!("{}: {e}", f.display()))
            .len();
        assert!(len <= 1 << 20, "{} is {len} bytes", f.display());
    }
    assert!(!n.state().join("logs/loud.log.4").exists(), "keep: 3");
    // The newest lines are whole, timed, in order, ending with the exit.
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = text.lines().map(untimed).collect();
    assert_eq!(lines[lines.len() - 2], format!("{:099}", 209_999));
    assert!(
        lines[lines.len() - 1].contains("exited with status 0"),
        "{}",
        lines[lines.len() - 1]
    );
}

/// The environment of a live process, from `/proc/PID/environ`.
fn environ(pid: u32) -> Vec<(String, String)> {
    let raw = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
    raw.split(|&b| b == 0)
        .filter(|v| !v.is_empty())
        .map(|v| {
            let text = String::from_utf8_lossy(v);
            let (k, v) = text.split_once('=').unwrap_or((&text, ""));
            (k.to_string(), v.to_string())
        })
        .collect()
}

#[test]
fn env_env_file_and_cwd_reach_the_service_and_nothing_else_does() {
    let mut n = Node::new("");
    let envfile = n.path("model.env");
    write_file(
        &envfile,
        "# the model\nMODEL_PATH=/models/8b.gguf\nCUDA_VISIBLE_DEVICES=0\n",
    );
    let cwd = n.path("work");
    std::fs::create_dir_all(&cwd).unwrap();
    write_file(
        &n.path("hosts/testnode/services.yaml"),
        &format!(
            "services:\n  llm:\n    spawn: [sleep, \"3600.78\"]\n    env: {{CUDA_VISIBLE_DEVICES: 1, THREADS: 8}}\n    env_file: {}\n    cwd: {}\n",
            envfile.display(),
            cwd.display()
        ),
    );
    let out = n
        .command(&["reconcile", "--output", "json", "--now", T0])
        .env("SECRET_OF_THE_CALLER", "x")
        .output()
        .unwrap();
    assert!(out.status.code().is_some_and(|c| c != 1), "{out:?}");
    let pid = n.spawned_pid("llm").expect("pid file");
    let env = environ(pid);
    let get = |k: &str| {
        env.iter()
            .find(|(name, _)| name == k)
            .map(|(_, v)| v.as_str())
    };
    // `env` wins over `env_file`.
    assert_eq!(get("CUDA_VISIBLE_DEVICES"), Some("1"), "{env:?}");
    assert_eq!(get("THREADS"), Some("8"), "{env:?}");
    assert_eq!(get("MODEL_PATH"), Some("/models/8b.gguf"), "{env:?}");
    assert_eq!(get("SECRET_OF_THE_CALLER"), None, "{env:?}");
    let allowed = [
        "PATH",
        "LANG",
        "HOME",
        "USER",
        "LOGNAME",
        "TZ",
        "SUPERVISORCTL",
        "CUDA_VISIBLE_DEVICES",
        "THREADS",
        "MODEL_PATH",
    ];
    for (k, _) in &env {
        assert!(allowed.contains(&k.as_str()), "unexpected {k} in {env:?}");
    }
    let at = std::fs::read_link(format!("/proc/{pid}/cwd")).unwrap();
    assert_eq!(at, cwd);
}

#[test]
fn a_missing_env_file_fails_the_start_with_its_name() {
    let n = Node::new(
        "services:\n  llm:\n    spawn: [sleep, \"3600.79\"]\n    env_file: /nonexistent/model.env\n",
    );
    let r = n.reconcile(T0, &[]);
    let e = r.executed("llm", "restart").expect("attempted");
    assert_eq!(e["outcome"], "failed", "{e}");
    let reason = e["reason"].as_str().unwrap();
    assert!(
        reason.contains("cannot read env_file `/nonexistent/model.env`"),
        "{reason}"
    );
    assert!(!n.state().join("pids/llm.pid").exists());
}

/// `Uid:` and `Groups:` of `/proc/PID/status`.
fn ids(pid: u32) -> (String, String) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .unwrap_or_default()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    (field("Uid:"), field("Groups:"))
}

#[test]
fn user_drops_to_that_user_with_its_groups_and_owns_the_log() {
    use std::os::unix::fs::MetadataExt;
    if !nix::unistd::geteuid().is_root() {
        crate::support::skip("`user:` needs the tests to run as root");
        return;
    }
    let mut n = Node::new(
        "services:\n  web:\n    spawn: [sh, -c, \"echo hi; exec sleep 3600.81\"]\n    user: nobody\n",
    );
    n.reconcile(T0, &[]);
    let pid = n.spawned_pid("web").expect("pid file");
    let nobody = nix::unistd::User::from_name("nobody")
        .unwrap()
        .expect("user nobody");
    let uid = nobody.uid.as_raw();
    assert!(
        wait_until(|| ids(pid).0 == format!("{uid} {uid} {uid} {uid}")),
        "{:?}",
        ids(pid)
    );
    let name = std::ffi::CString::new("nobody").unwrap();
    let mut want: Vec<u32> = nix::unistd::getgrouplist(&name, nobody.gid)
        .unwrap()
        .into_iter()
        .map(nix::unistd::Gid::as_raw)
        .collect();
    want.sort_unstable();
    want.dedup();
    let groups: Vec<u32> = ids(pid)
        .1
        .split(' ')
        .filter(|g| !g.is_empty())
        .map(|g| g.parse().unwrap())
        .collect();
    assert_eq!(groups, want, "supplementary groups of nobody, not root's");
    let env = environ(pid);
    assert!(env.contains(&("USER".into(), "nobody".into())), "{env:?}");
    let meta = std::fs::metadata(n.state().join("logs/web.log")).unwrap();
    assert_eq!(meta.uid(), uid, "the log is the user's");
}

#[test]
fn env_on_a_service_without_spawn_is_a_config_error_at_its_line() {
    let n = Node::new("services:\n  web:\n    restart: [\"true\"]\n    env: {A: b}\n");
    let out = n.cli(&["validate"]);
    let text = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("services.yaml:4:5"), "{text}");
    assert!(
        text.contains("`env` applies to `spawn:` services only"),
        "{text}"
    );
    let bad = Node::new("services:\n  web:\n    spawn: [sleep, \"1\"]\n    env: {\"1BAD\": b}\n    cwd: relative/dir\n");
    let out = bad.cli(&["validate"]);
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(
        text.contains("invalid environment variable name `1BAD`"),
        "{text}"
    );
    assert!(
        text.contains("expected an absolute path, found `relative/dir`"),
        "{text}"
    );
}

#[test]
fn status_shows_a_running_process_like_supervisord() {
    let mut n =
        Node::new("services:\n  web:\n    spawn: [sleep, \"3600.82\"]\n    start_grace: 1s\n");
    n.reconcile(T0, &[]);
    let pid = n.spawned_pid("web").expect("pid file");
    // The next run verifies the start.
    n.reconcile(T1, &[]);
    let text = status_text(&n);
    let line = text
        .lines()
        .find(|l| l.contains("RUNNING"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        line.contains(&format!("RUNNING   pid {pid}, uptime 0:00:0")),
        "{text}"
    );
    assert!(line.ends_with("; 1 start in the last hour"), "{text}");
    let out = n.cli(&["status", "--output", "json"]);
    let row: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(row["process"]["state"], "RUNNING", "{row}");
    assert_eq!(row["process"]["pid"], pid, "{row}");
    assert_eq!(row["process"]["starts_last_hour"], 1, "{row}");
}

#[test]
fn a_cwd_that_is_not_a_folder_is_named_in_the_failed_start() {
    // Before, the start said "cannot run `sleep`: not a directory", which
    // reads as if the program were the problem.
    let n = Node::new("services:\n  web:\n    spawn: [sleep, \"3600.91\"]\n    cwd: /etc/passwd\n");
    let r = n.reconcile(T0, &[]);
    let action = r.executed("web", "restart").expect("a start");
    assert_eq!(action["outcome"], "failed", "{action}");
    let reason = action["reason"].as_str().unwrap();
    assert!(
        reason.contains("working directory `/etc/passwd`: not a directory"),
        "{reason}"
    );
}

/// A start is judged on evidence seen after it: the run of an operator's
/// `restart`, a second after a timer's run started the service, may not
/// call it "not healthy within `start_grace`: no process" from the
/// observation made before the start.
#[test]
fn a_start_is_not_judged_on_the_observation_before_it() {
    let mut n =
        Node::new("services:\n  web:\n    spawn: [sleep, \"3600.84\"]\n    start_grace: 1s\n");
    let r = n.reconcile("2026-11-23T12:00:00Z", &[]);
    assert_eq!(r.executed("web", "restart").unwrap()["outcome"], "started");
    let pid = n.spawned_pid("web").expect("pid file");
    // Grace is over, the next counted probe is not due yet.
    let out = n.cli(&[
        "restart",
        "--output",
        "json",
        "--now",
        "2026-11-23T12:00:01.100Z",
        "testnode/web",
    ]);
    let r = crate::live_support::Outcome::from_output(&out);
    assert!(alive(pid));
    let v = r.of("action_verified", "web");
    assert_eq!(v.len(), 1, "{:?}", r.events);
    assert_eq!(v[0]["outcome"], "success", "{:?}", r.events);
    // The restart itself waits out the backoff of that first start.
    assert_eq!(r.code, 1, "{:?} {}", r.events, r.stderr);
    assert!(
        r.stderr.contains("in restart backoff") && r.stderr.contains("(after its first start)"),
        "{}",
        r.stderr
    );
}

/// "Starts in the last hour" counts every start, those that failed at once
/// included: a crash loop shows as one, like supervisord's.
#[test]
fn a_crash_loop_shows_its_starts_in_status() {
    let n = Node::new("services:\n  bad:\n    spawn: [sh, -c, \"exit 3\"]\n");
    for now in [
        "2026-11-23T12:00:00Z",
        "2026-11-23T12:01:00Z",
        "2026-11-23T12:02:00Z",
    ] {
        let r = n.reconcile(now, &[]);
        assert_eq!(
            r.executed("bad", "restart").unwrap()["outcome"],
            "failed",
            "{now}: {:?}",
            r.events
        );
    }
    let out = n.cli(&["status", "--output", "json"]);
    let row: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(row["process"]["starts_last_hour"], 3, "{row}");
}

/// The process line is this machine's: another node's service of the same
/// name shows none (its pid file would be this node's).
#[test]
fn status_shows_a_process_only_for_the_local_nodes_services() {
    let mut n = Node::new("services:\n  web:\n    spawn: [sleep, \"3600.85\"]\n");
    crate::live_support::write_file(
        &n.path("hosts/remote/services.yaml"),
        "services:\n  web:\n    spawn: [sleep, \"3600.86\"]\n",
    );
    n.reconcile(T0, &[]);
    let pid = n.spawned_pid("web").expect("spawned here");
    let out = n.cli(&["status", "--output", "json"]);
    let rows: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let row = |node: &str| {
        rows.iter()
            .find(|r| r["node"] == node && r["service"] == "web")
            .unwrap_or_else(|| panic!("{rows:?}"))
    };
    assert_eq!(row(NODE)["process"]["pid"], pid, "{rows:?}");
    assert!(row("remote")["process"].is_null(), "{rows:?}");
}
