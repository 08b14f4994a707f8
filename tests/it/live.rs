//! Issue-level behaviour with real processes: the built binary probes and
//! acts on `sleep` processes, a real HTTP health endpoint and a real
//! redis-server, across several runs with an advancing `--now`.
use super::live_support::*;

const T0: &str = "2026-11-23T12:00:00Z";

fn t(secs: i64) -> String {
    let t0: chrono::DateTime<chrono::Utc> = T0.parse().unwrap();
    (t0 + chrono::Duration::seconds(secs)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[test]
fn killed_spawned_service_is_detected_and_spawned_again() {
    let mut n = Node::new("services:\n  sleeper:\n    spawn: [sleep, \"3600.77\"]\n");
    let r = n.reconcile(T0, &[]);
    assert_eq!(
        r.executed("sleeper", "restart")
            .map(|e| e["outcome"].clone()),
        Some("started".into()),
        "{:?} {}",
        r.events,
        r.stderr
    );
    let first = n.spawned_pid("sleeper").expect("pid file written");
    assert!(alive(first));
    let r = n.reconcile(&t(5), &[]);
    assert!(r
        .of("health_changed", "sleeper")
        .iter()
        .any(|e| e["to"] == "healthy"));
    let verified = r.of("action_verified", "sleeper");
    assert_eq!(verified.len(), 1, "{:?}", r.events);
    assert_eq!(verified[0]["outcome"], "success", "{}", verified[0]);
    assert_eq!(verified[0]["action"], "restart");
    assert_eq!(verified[0]["after_ms"], 5000);
    assert_eq!(r.code, 0, "healthy fleet is nominal: {:?}", r.events);
    nix::sys::signal::kill(
        crate::support::nix_pid(first),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    assert!(wait_until(|| !alive(first)));
    let r = n.reconcile(&t(20), &[]);
    assert_eq!(
        r.executed("sleeper", "restart")
            .map(|e| e["outcome"].clone()),
        Some("started".into()),
        "{:?}",
        r.events
    );
    let second = n.spawned_pid("sleeper").expect("pid file");
    assert_ne!(first, second);
    assert!(alive(second));
}

#[test]
fn failing_health_walks_healthy_degraded_dead_then_restarts() {
    let health = Health::start(200);
    let mut n = Node::new("");
    let (pid, pidfile) = n.sleep_with_pidfile("web", "3600.12");
    let yaml = format!(
        "services:\n  web:\n    process:\n      pidfile: {}\n    health:\n      http: {}\n      timeout: 1s\n    restart: [\"true\"]\n",
        pidfile.display(),
        health.url()
    );
    write_file(&n.path("hosts/testnode/services.yaml"), &yaml);
    let r = n.reconcile(T0, &[]);
    assert_eq!(
        r.of("health_changed", "web")[0]["to"],
        "healthy",
        "{:?}",
        r.events
    );
    health.set(503);
    let mut walk = vec![];
    // A failure counts once per probe period (10s, SPEC §13).
    for step in 1..=5 {
        let r = n.reconcile(&t(10 * step), &[]);
        if let Some(e) = r.of("health_changed", "web").first() {
            walk.push(format!(
                "{}->{}@{}",
                e["from"].as_str().unwrap(),
                e["to"].as_str().unwrap(),
                e["failures"]
            ));
        }
        if step == 5 {
            let restart = r
                .executed("web", "restart")
                .expect("restart executed when dead");
            assert_eq!(restart["outcome"], "started");
            assert_eq!(restart["exit_code"], 0);
        } else {
            assert!(
                r.executed("web", "restart").is_none(),
                "no restart before dead (step {step})"
            );
        }
    }
    assert_eq!(walk, vec!["healthy->degraded@2", "degraded->dead@5"]);
    assert!(alive(pid), "a restart command, not a kill");
}

/// SPEC §13: a model whose activity no source can give (`sleep` listens on
/// no port, no metrics, no world record) is never idle.
#[test]
fn a_model_with_unknown_activity_is_never_evicted_and_status_says_why() {
    let mut n = Node::new("services:\n  tiny:\n    kind: model\n    idle_timeout: 1m\n    spawn: [sleep, \"3600.92\"]\n");
    n.reconcile(T0, &[]);
    let pid = n.spawned_pid("tiny").expect("spawned");
    for secs in [5, 180, 600, 3600] {
        let r = n.reconcile(&t(secs), &[]);
        assert!(r.executed("tiny", "evict").is_none(), "{:?}", r.events);
        assert!(r.of("drift_detected", "tiny").is_empty(), "{:?}", r.events);
    }
    assert!(alive(pid));
    let status = n.cli(&["status"]);
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(
        text.contains(
            "activity unknown (never idle): connections: the process listens on no TCP port"
        ),
        "{text}"
    );
    let policies = n.cli(&["policies"]);
    let text = String::from_utf8_lossy(&policies.stdout);
    assert!(text.contains("unknown activity    never idle"), "{text}");
}

#[test]
fn idle_model_is_evicted_and_its_process_is_gone() {
    // Unknown activity may be idle only when the node says so.
    let mut n = Node::new("supervisor:\n  idle_without_activity: true\nservices:\n  tiny:\n    kind: model\n    idle_timeout: 1m\n    spawn: [sleep, \"3600.91\"]\n");
    n.reconcile(T0, &[]);
    let pid = n.spawned_pid("tiny").expect("spawned");
    n.reconcile(&t(5), &[]);
    let r = n.reconcile(&t(180), &[]);
    let evict = r
        .executed("tiny", "evict")
        .unwrap_or_else(|| panic!("no evict: {:?}", r.events));
    assert_eq!(evict["outcome"], "success", "{evict}");
    assert!(wait_until(|| !alive(pid)), "evicted process still alive");
    let r = n.reconcile(&t(240), &[]);
    assert!(
        r.of("action_executed", "tiny").is_empty(),
        "an evicted model is not restarted: {:?}",
        r.events
    );
    assert_eq!(r.code, 0);
    let status = n.cli(&["status", "--output", "json"]);
    assert!(String::from_utf8_lossy(&status.stdout).contains("\"health\":\"evicted\""));
    // Issue: `diff` exited 2 on a model evicted on purpose while `check`
    // and `reconcile` call it nominal: a CI gate on `diff` flapped.
    let diff = n.cli(&["diff", "--live"]);
    assert_eq!(
        diff.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&diff.stdout)
    );
}

fn start_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    stat.rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .nth(19)
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn stale_pidfile_pointing_at_an_unrelated_process_is_never_signalled() {
    let mut n = Node::new("");
    let (unrelated, pidfile) = n.sleep_with_pidfile("m", "3600.33");
    let yaml = format!("services:\n  m:\n    kind: model\n    process:\n      pidfile: {}\n    spawn: [sleep, \"3600.34\"]\n", pidfile.display());
    write_file(&n.path("hosts/testnode/services.yaml"), &yaml);
    // The checkpoint remembers the model at this pid with another start time:
    // the pid was reused by an unrelated process.
    let cp = serde_json::json!({"version": 1, "next_seq": 1, "services": {"testnode/m": {"health": "healthy",
        "process": {"pid": unrelated, "start_ticks": start_ticks(unrelated) + 1}}}});
    write_file(&n.state().join("checkpoint.json"), &cp.to_string());
    let r = n.reconcile(T0, &[]);
    assert_eq!(
        r.of("health_changed", "m")[0]["to"],
        "dead",
        "{:?}",
        r.events
    );
    assert!(
        alive(unrelated),
        "the unrelated process must not be signalled"
    );
    let restart = r.executed("m", "restart").expect("spawned anew");
    assert_eq!(restart["outcome"], "started");
    n.spawned_pid("m");
}

#[test]
fn failing_restart_backs_off_then_opens_the_circuit_until_reset() {
    let n = Node::new("supervisor:\n  max_restart_attempts: 2\nservices:\n  flaky:\n    process:\n      pidfile: /nonexistent/flaky.pid\n    restart: [\"false\"]\n");
    let r = n.reconcile(T0, &[]);
    let e = r.executed("flaky", "restart").expect("the first start");
    assert_eq!(
        (e["outcome"].as_str(), e["exit_code"].as_i64()),
        (Some("failed"), Some(1))
    );
    let r = n.reconcile(&t(1), &[]);
    assert_eq!(r.executed("flaky", "restart").unwrap()["reason"], "backoff");
    // Two restarts (a first start is not one) reach the maximum.
    for at in [30, 45] {
        let r = n.reconcile(&t(at), &[]);
        assert_eq!(r.executed("flaky", "restart").unwrap()["outcome"], "failed");
    }
    let r = n.reconcile(&t(60), &[]);
    assert!(r.executed("flaky", "restart").is_none());
    assert!(r
        .of("reconcile_blocked", "flaky")
        .iter()
        .any(|e| e["condition"] == "restart_exhausted"));
    assert_eq!(r.code, 3);
    assert!(n.cli(&["reset", "testnode/flaky"]).status.success());
    let r = n.reconcile(&t(90), &[]);
    assert_eq!(
        r.executed("flaky", "restart").unwrap()["outcome"],
        "failed",
        "tried again after reset"
    );
}

#[test]
fn maintenance_window_and_hold_skip_actions_with_reasons() {
    let n = Node::new(
        "supervisor:\n  maintenance:\n    - from: \"11:00\"\n      to: \"13:00\"\nservices:\n  a:\n    process:\n      pidfile: /nonexistent/a.pid\n    restart: [\"true\"]\n  b:\n    process:\n      pidfile: /nonexistent/b.pid\n    restart: [\"true\"]\n",
    );
    let r = n.reconcile(T0, &[]);
    assert_eq!(r.executed("a", "restart").unwrap()["reason"], "maintenance");
    assert_eq!(r.executed("b", "restart").unwrap()["reason"], "maintenance");
    assert!(n
        .cli(&["hold", "testnode/b", "--reason", "migration"])
        .status
        .success());
    let r = n.reconcile("2026-11-23T14:00:00Z", &[]);
    assert_eq!(r.executed("a", "restart").unwrap()["outcome"], "started");
    assert_eq!(r.executed("b", "restart").unwrap()["reason"], "held");
    assert!(n.cli(&["release", "testnode/b"]).status.success());
}

#[test]
fn observe_output_round_trips_through_check() {
    let health = Health::start(200);
    let mut n = Node::new("");
    let (_, pidfile) = n.sleep_with_pidfile("web", "3600.44");
    let yaml = format!(
        "services:\n  web:\n    process:\n      pidfile: {}\n    health:\n      http: {}\n    restart: [\"true\"]\n  gone:\n    process:\n      pidfile: /nonexistent/gone.pid\n    restart: [\"true\"]\n",
        pidfile.display(),
        health.url()
    );
    write_file(&n.path("hosts/testnode/services.yaml"), &yaml);
    let observed = n.path("observed");
    let out = n.cli(&[
        "observe",
        "--out",
        &observed.display().to_string(),
        "--now",
        T0,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let check = n.cli(&[
        "check",
        "--world",
        &observed.display().to_string(),
        "--now",
        &t(10),
        "--output",
        "json",
    ]);
    let events: Vec<serde_json::Value> = String::from_utf8_lossy(&check.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let find = |ty: &str, svc: &str| {
        events
            .iter()
            .find(|e| e["type"] == ty && e["service"] == svc)
            .cloned()
    };
    assert_eq!(find("health_changed", "web").unwrap()["to"], "healthy");
    assert!(find("drift_detected", "web").is_none());
    assert_eq!(
        find("reconcile_required", "gone").unwrap()["action"],
        "restart"
    );
    assert_eq!(check.status.code(), Some(2));
}

#[test]
fn redis_server_is_supervised_and_restarted() {
    if std::process::Command::new("redis-server")
        .arg("--version")
        .output()
        .is_err()
    {
        crate::support::skip("redis-server is not installed (.ci/run installs it)");
        return;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();
    let yaml = format!(
        "services:\n  redis:\n    health:\n      command: [redis-cli, -p, \"{port}\", ping]\n    spawn: [redis-server, --port, \"{port}\", --bind, 127.0.0.1, --save, \"\", --appendonly, \"no\"]\n"
    );
    let mut n = Node::new(&yaml);
    let ping = || {
        std::process::Command::new("redis-cli")
            .args(["-p", &port, "ping"])
            .output()
            .is_ok_and(|o| o.stdout.starts_with(b"PONG"))
    };
    let r = n.reconcile(T0, &[]);
    assert_eq!(
        r.executed("redis", "restart").map(|e| e["outcome"].clone()),
        Some("started".into()),
        "{:?}",
        r.events
    );
    let first = n.spawned_pid("redis").unwrap();
    assert!(wait_until(ping), "redis answers");
    let r = n.reconcile(&t(5), &[]);
    assert_eq!(
        r.of("health_changed", "redis")[0]["to"],
        "healthy",
        "{:?}",
        r.events
    );
    nix::sys::signal::kill(
        crate::support::nix_pid(first),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    assert!(wait_until(|| !alive(first)));
    let r = n.reconcile(&t(20), &[]);
    assert_eq!(
        r.executed("redis", "restart").map(|e| e["outcome"].clone()),
        Some("started".into()),
        "{:?}",
        r.events
    );
    n.spawned_pid("redis");
    assert!(wait_until(ping), "redis answers again");
}

#[test]
fn fallback_is_published_while_the_primary_is_dead_and_withdrawn_after() {
    let health = Health::start(503);
    let mut n = Node::new("");
    let (_, pidfile) = n.sleep_with_pidfile("big", "3600.55");
    let yaml = format!(
        "supervisor:\n  max_restart_attempts: 1\nservices:\n  big:\n    kind: model\n    process:\n      pidfile: {}\n    health:\n      http: {}\n      degraded_after: 1\n      dead_after: 1\n    restart: [\"true\"]\n    fallback: small\n  small:\n    kind: model\n    restart: [\"true\"]\n",
        pidfile.display(),
        health.url()
    );
    write_file(&n.path("hosts/testnode/services.yaml"), &yaml);
    let r = n.reconcile(T0, &[]);
    assert_eq!(
        r.executed("big", "activate_fallback")
            .map(|e| e["outcome"].clone()),
        Some("success".into()),
        "{:?}",
        r.events
    );
    let published: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(n.state().join("fallbacks.json")).unwrap())
            .unwrap();
    assert_eq!(published["testnode/big"]["to"], "small");
    health.set(200);
    let r = n.reconcile(&t(10), &[]);
    assert_eq!(
        r.executed("big", "deactivate_fallback")
            .map(|e| e["outcome"].clone()),
        Some("success".into()),
        "{:?}",
        r.events
    );
    let published: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(n.state().join("fallbacks.json")).unwrap())
            .unwrap();
    assert!(published.get("testnode/big").is_none(), "{published}");
}

/// Issue: `observe` without `--state-dir` (as the shipped observer unit
/// runs it) looked for no pid files and wrote 0 service records for
/// `spawn:` services. It resolves the state directory as every command
/// does. Run as `nobody`, so that the default is a temporary
/// `$XDG_STATE_HOME` and not root's `/var/lib`.
#[test]
fn observe_without_state_dir_finds_spawned_services() {
    if !nix::unistd::geteuid().is_root() {
        return crate::support::skip("switching to `nobody` needs root");
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o777),
    )
    .unwrap();
    let hosts = dir.path().join("hosts/n1");
    std::fs::create_dir_all(&hosts).unwrap();
    write_file(
        &hosts.join("services.yaml"),
        "services:\n  sp:\n    spawn: [sleep, \"3600.57\"]\n",
    );
    let as_nobody = |args: &[&str]| {
        let out = std::process::Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(env!("CARGO_BIN_EXE_supervisorctl"))
            .args([
                "--hosts",
                &dir.path().join("hosts").display().to_string(),
                "--node",
                "n1",
            ])
            .args(args)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("HOME", dir.path())
            .env("XDG_STATE_HOME", dir.path().join("xdg"))
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.code().is_some_and(|c| c == 0 || c == 2),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    };
    as_nobody(&[
        "--world",
        &dir.path().join("world").display().to_string(),
        "reconcile",
    ]);
    let pid: u32 = std::fs::read_to_string(dir.path().join("xdg/supervisorctl/pids/sp.pid"))
        .expect("spawned under the default state directory")
        .trim()
        .parse()
        .unwrap();
    let out = dir.path().join("observed");
    let o = as_nobody(&["observe", "--out", &out.display().to_string()]);
    let _ = nix::sys::signal::kill(
        crate::support::nix_pid(pid),
        nix::sys::signal::Signal::SIGKILL,
    );
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("(1 service record)"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    let rec = std::fs::read_to_string(out.join("services/n1/sp.json")).unwrap();
    assert!(rec.contains(&format!("\"pid\": {pid}")), "{rec}");
}

/// A walk found a restart of a live spawned service silent about the old
/// process (killed by SIGKILL after its stop timeout): the start says what became
/// of it.
#[test]
fn a_restart_of_a_live_spawned_service_says_how_the_old_one_was_stopped() {
    let closed = crate::support::free_port();
    let mut n = Node::new(&format!(
        "services:\n  sp:\n    spawn: [sleep, \"3600.58\"]\n    health:\n      tcp: 127.0.0.1:{closed}\n      degraded_after: 1\n      dead_after: 1\n    start_grace: 1s\n"
    ));
    n.reconcile(T0, &[]);
    let first = n.spawned_pid("sp").expect("spawned");
    let mut restarted = None;
    for secs in [15, 30, 45, 60, 75] {
        let r = n.reconcile(&t(secs), &[]);
        if let Some(e) = r.executed("sp", "restart") {
            restarted = Some(e.clone());
            break;
        }
    }
    let e = restarted.expect("the failing spawned service was restarted");
    n.spawned_pid("sp");
    let reason = e["reason"].as_str().unwrap();
    assert!(
        reason.starts_with(&format!("stopped the old pid {first} with SIGTERM after ")),
        "{reason}"
    );
    assert!(wait_until(|| !alive(first)));
}
