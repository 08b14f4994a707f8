//! `status` as an operator reads it: as of when, pins and holds with their
//! reason, no backoff that is already over.
use crate::live_support::{write_file, Node, NODE};

#[test]
fn status_shows_holds_pins_and_only_current_backoffs() {
    let n = Node::new("");
    write_file(
        &n.path(&format!("hosts/{NODE}/services.yaml")),
        &format!(
            "services:\n  web:\n    process:\n      pidfile: {}\n    restart: [\"true\"]\n  db:\n    restart: [\"true\"]\n",
            n.path("none.pid").display()
        ),
    );
    // A restart long ago: its backoff is over.
    n.reconcile("2020-01-01T00:00:00Z", &[]);
    assert!(n
        .cli(&["hold", "db", "--reason", "migration"])
        .status
        .success());
    assert!(n.cli(&["pin", "web"]).status.success());
    let out = n.cli(&["status"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("as of 2020-01-01T00:00:00Z"), "{text}");
    assert!(text.contains("held since"), "{text}");
    assert!(text.contains(": migration"), "{text}");
    assert!(text.contains("pinned"), "{text}");
    assert!(
        !text.contains("backoff until"),
        "a backoff from 2020 is over: {text}"
    );
    let out = n.cli(&["status", "--output", "json"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(r#""reason":"migration""#), "{text}");
    assert!(text.contains(r#""pinned":true"#), "{text}");
}

/// Times for people: relative to the run the status describes ("3m ago",
/// "in 12s"), a hold's to the second; `--output json` keeps RFC 3339.
#[test]
fn status_times_read_relative_to_the_run() {
    let n = Node::new("");
    write_file(
        &n.path(&format!("hosts/{NODE}/services.yaml")),
        &format!(
            "supervisor:\n  max_restart_attempts: 1\n  breaker_retry: 5m\nservices:\n  web:\n    process:\n      pidfile: {}\n    restart: [\"false\"]\n",
            n.path("none.pid").display()
        ),
    );
    // A failed first start at 11:59, then a failed restart at 12:00 opens
    // the circuit (one attempt at most; a first start is not a restart).
    n.reconcile("2026-11-23T11:59:00Z", &[]);
    n.reconcile("2026-11-23T12:00:00Z", &[]);
    let out = n.cli(&["--now", "2026-11-23T12:03:00Z", "status"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("as of 2026-11-23T12:00:00Z (3m ago)"),
        "{text}"
    );
    assert!(text.contains("last: restart failed just now"), "{text}");
    assert!(text.contains("next trial in 5m"), "{text}");
    // A hold set at the wall clock, after that run: to the second.
    assert!(n.cli(&["hold", "web"]).status.success());
    let text = String::from_utf8_lossy(&n.cli(&["status"]).stdout).into_owned();
    let since = text
        .split("held since ")
        .nth(1)
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("{text}"));
    assert_eq!(since.len(), "2026-11-27T16:42:52Z".len(), "{text}");
    let json = String::from_utf8_lossy(&n.cli(&["status", "--output", "json"]).stdout).into_owned();
    let line: serde_json::Value = serde_json::from_str(json.lines().next().unwrap()).unwrap();
    assert_eq!(line["next_trial_at"], "2026-11-23T12:05:00Z", "{line}");
    assert!(
        line["held"]["since"].as_str().unwrap().ends_with('Z'),
        "{line}"
    );
}

/// `status`'s line of `service` and the lines under it (up to the next
/// service's line).
fn block<'a>(text: &'a str, service: &str) -> Vec<&'a str> {
    let mut lines = text
        .lines()
        .skip_while(|l| l.split_whitespace().next() != Some(service) || !l.starts_with("  "));
    let first = lines
        .next()
        .unwrap_or_else(|| panic!("no {service}: {text}"));
    let rest = lines.take_while(|l| l.starts_with(&format!("  {:<24}", "")));
    std::iter::once(first).chain(rest).collect()
}

/// A checkpoint of `services` (`<node>/<service>` to its state) written
/// where `status` reads it.
fn write_checkpoint(n: &Node, services: &serde_json::Value) {
    let cp = serde_json::json!({"version": 1, "next_seq": 1, "services": services});
    std::fs::create_dir_all(n.state()).unwrap();
    write_file(&n.state().join("checkpoint.json"), &cp.to_string());
}

/// Live numbers are about a running process: an evicted model shows no
/// CPU use, and a service dead for want of a process no failure count
/// (its failing probes are not why it is dead).
#[test]
fn status_shows_no_live_numbers_for_what_is_not_running() {
    let n = Node::new("");
    write_file(
        &n.path(&format!("hosts/{NODE}/services.yaml")),
        "services:\n  llm:\n    kind: model\n    restart: [\"true\"]\n  db:\n    restart: [\"true\"]\n  web:\n    restart: [\"true\"]\n",
    );
    let t = "2026-11-23T12:00:00Z";
    write_checkpoint(
        &n,
        &serde_json::json!({
            format!("{NODE}/llm"): {"health": "evicted", "evicted_at": t, "cpu_use": 0.01,
                "cpu_at": t, "last_action": {"action": "evict", "at": t, "outcome": "success"}},
            format!("{NODE}/db"): {"health": "dead", "failures": 0, "probed_at": t,
                "last_error": "no process"},
            format!("{NODE}/web"): {"health": "healthy", "failures": 0, "probed_at": t,
                "cpu_use": 0.25, "cpu_at": t},
        }),
    );
    let out = n.cli(&["--now", "2026-11-23T12:01:00Z", "status"]);
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let llm = block(&text, "llm").join("\n");
    assert!(llm.contains("evicted"), "{text}");
    assert!(
        !llm.contains("cpu"),
        "an evicted model uses no CPU:\n{text}"
    );
    let db = block(&text, "db").join("\n");
    assert!(db.contains("why: no process"), "{text}");
    assert!(
        !db.contains("failures 0"),
        "dead without a failing probe:\n{text}"
    );
    // A running service keeps its numbers.
    let web = block(&text, "web").join("\n");
    assert!(
        web.contains("failures 0") && web.contains("cpu 25%"),
        "{text}"
    );
}

/// A server that says it is loading, seen by a run sooner than a fast tick
/// after the start: its loading began at that run, not "in 2s".
#[test]
fn status_says_since_when_a_service_loads_never_a_future_time() {
    let health = crate::live_support::Health::start(200);
    health.set_loading(true);
    let mut n = Node::new("");
    write_file(
        &n.path(&format!("hosts/{NODE}/services.yaml")),
        &format!(
            "services:\n  loader:\n    health:\n      http: {}\n    spawn: [sleep, \"3600.51\"]\n",
            health.url()
        ),
    );
    n.reconcile("2026-11-23T12:00:00Z", &[]);
    n.spawned_pid("loader").expect("spawned");
    n.reconcile("2026-11-23T12:00:02Z", &[]);
    let out = n.cli(&["--now", "2026-11-23T12:00:03Z", "status"]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let loader = block(&text, "loader").join("\n");
    assert!(loader.contains("loading since"), "{text}");
    assert!(
        !text.contains("since in "),
        "a past time said as a future one:\n{text}"
    );
    assert!(
        text.starts_with("as of 2026-11-23T12:00:02Z"),
        "the run that saw it loading:\n{text}"
    );
}

/// A `restart:` service found dead ("no process") and restarted: the new
/// process runs, so the reason of the old one is no longer shown as why.
#[test]
fn status_drops_the_why_of_the_process_a_restart_replaced() {
    let mut n = Node::new("");
    let pidfile = n.path("web.pid");
    write_file(
        &n.path(&format!("hosts/{NODE}/services.yaml")),
        &format!(
            "services:\n  web:\n    process:\n      pidfile: {pid}\n    restart: [sh, -c, \"sleep 3600.52 >/dev/null 2>&1 & echo $! > {pid}\"]\n",
            pid = pidfile.display()
        ),
    );
    let r = n.reconcile("2026-11-23T12:00:00Z", &[]);
    assert!(r.executed("web", "restart").is_some(), "{:?}", r.events);
    let pid: u32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    n.extra_pids.push(pid);
    let out = n.cli(&["--now", "2026-11-23T12:00:01Z", "status"]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let web = block(&text, "web").join("\n");
    assert!(web.contains("last: restart started"), "{text}");
    assert!(
        !web.contains("why: no process"),
        "the reason of the process before the restart:\n{text}"
    );
}
