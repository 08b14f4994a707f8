//! Activity from the servers themselves (SPEC §13), against real processes:
//! established connections to a real server's listening socket, and a
//! Prometheus counter that rises. A model in use is never evicted; once the
//! requests stop it is, after its idle timeout; `observe` writes
//! `last_activity` and `requests_total`; `forecast` shows the rate.
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use serde_json::Value;

use crate::live_support::{alive, wait_until, write_file, Node, NODE};

fn at(secs: u32) -> String {
    format!("2026-11-23T12:{:02}:{:02}Z", secs / 60, secs % 60)
}

#[test]
fn a_model_with_an_open_connection_is_in_use_and_is_evicted_once_it_closes() {
    let port = crate::support::free_port();
    let mut n = Node::new(&format!(
        "services:\n  web-model:\n    kind: model\n    idle_timeout: 1m\n    spawn: [python3, -m, http.server, --bind, 127.0.0.1, \"{port}\"]\n"
    ));
    let r = n.reconcile(&at(0), &[]);
    assert!(
        r.executed("web-model", "restart").is_some(),
        "{:?}",
        r.events
    );
    let pid = n.spawned_pid("web-model").expect("spawned");
    assert!(wait_until(
        || TcpStream::connect(("127.0.0.1", port)).is_ok()
    ));
    // A client keeps a connection open: in use at every run.
    let client = TcpStream::connect(("127.0.0.1", port)).unwrap();
    for secs in [60, 120, 180, 240] {
        let r = n.reconcile(&at(secs), &[]);
        assert!(
            r.executed("web-model", "evict").is_none(),
            "{secs}s: {:?}",
            r.events
        );
    }
    let status = String::from_utf8_lossy(&n.cli(&["status"]).stdout).into_owned();
    assert!(status.contains("last used"), "{status}");
    drop(client);
    // Gone: idle from the last run that saw it (240s), evicted after 1m.
    let r = n.reconcile(&at(290), &[]);
    assert!(r.executed("web-model", "evict").is_none(), "{:?}", r.events);
    let r = n.reconcile(&at(301), &[]);
    let evict = r
        .executed("web-model", "evict")
        .unwrap_or_else(|| panic!("not evicted: {:?}", r.events));
    assert_eq!(evict["outcome"], "success");
    assert!(wait_until(|| !alive(pid)));
}

/// A Prometheus endpoint serving llama.cpp's counter and gauge, whose
/// values a test sets.
struct Metrics {
    port: u16,
    tokens: Arc<AtomicU64>,
}

impl Metrics {
    fn start() -> Metrics {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let tokens = Arc::new(AtomicU64::new(100));
        let t = tokens.clone();
        std::thread::spawn(move || {
            for mut conn in listener.incoming().flatten() {
                let mut buf = [0u8; 2048];
                let _ = conn.read(&mut buf);
                let body = format!(
                    "# TYPE llamacpp:tokens_predicted_total counter\nllamacpp:tokens_predicted_total {}\n# TYPE llamacpp:requests_processing gauge\nllamacpp:requests_processing 0\n",
                    t.load(Ordering::SeqCst)
                );
                let _ = write!(
                    conn,
                    "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        Metrics { port, tokens }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/metrics", self.port)
    }
}

fn record(out: &std::path::Path) -> Value {
    let text = std::fs::read_to_string(out.join(format!("services/{NODE}/llm.json"))).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn observe_writes_last_activity_and_requests_total_from_the_counter() {
    let metrics = Metrics::start();
    let mut n = Node::new("");
    let (_, pidfile) = n.sleep_with_pidfile("llm", "3600.71");
    let yaml = format!(
        "services:\n  llm:\n    kind: model\n    process:\n      pidfile: {}\n    activity:\n      metrics: {}\n",
        pidfile.display(),
        metrics.url()
    );
    write_file(&n.path(&format!("hosts/{NODE}/services.yaml")), &yaml);
    let out = n.path("observed");
    let observe = |now: &str| {
        let o = n.cli(&["observe", "--out", &out.display().to_string(), "--now", now]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        record(&out)
    };
    // First reading: known from now on.
    let r = observe(&at(0));
    assert_eq!(r["last_activity"], at(0), "{r}");
    assert_eq!(r["requests_total"], 100);
    assert_eq!(r["in_flight"], 0);
    // Unchanged counter: the last activity stays.
    let r = observe(&at(30));
    assert_eq!(r["last_activity"], at(0), "{r}");
    // Requests served: now.
    metrics.tokens.store(140, Ordering::SeqCst);
    let r = observe(&at(60));
    assert_eq!(r["last_activity"], at(60), "{r}");
    assert_eq!(r["requests_total"], 140);
}

#[test]
fn the_counter_feeds_forecast_and_a_flat_counter_is_idle() {
    let metrics = Metrics::start();
    let mut n = Node::new("");
    let (_, pidfile) = n.sleep_with_pidfile("llm", "3600.72");
    let yaml = format!(
        "services:\n  llm:\n    kind: model\n    idle_timeout: 2m\n    process:\n      pidfile: {}\n    activity:\n      metrics: {}\n    stop: [\"true\"]\n",
        pidfile.display(),
        metrics.url()
    );
    write_file(&n.path(&format!("hosts/{NODE}/services.yaml")), &yaml);
    n.reconcile(&at(0), &[]);
    metrics.tokens.store(160, Ordering::SeqCst);
    n.reconcile(&at(60), &[]);
    metrics.tokens.store(280, Ordering::SeqCst);
    let r = n.reconcile(&at(120), &[]);
    assert!(r.executed("llm", "evict").is_none(), "{:?}", r.events);
    let f = n.cli(&["forecast", "--output", "json"]);
    let line: Value = serde_json::from_slice(&f.stdout).unwrap();
    assert_eq!(line["requests_total"], 280, "{line}");
    assert!(line["rate_per_s"].as_f64().unwrap() > 0.5, "{line}");
    assert_eq!(line["trend"], "rising", "{line}");
    // No more requests: idle from the last rise (120s), evicted after 2m.
    let r = n.reconcile(&at(200), &[]);
    assert!(r.executed("llm", "evict").is_none(), "{:?}", r.events);
    let r = n.reconcile(&at(241), &[]);
    let d = r.of("drift_detected", "llm");
    assert_eq!(d.len(), 1, "{:?}", r.events);
    assert!(
        d[0]["detail"]
            .as_str()
            .unwrap()
            .contains("no activity since 2026-11-23T12:02:00Z"),
        "{}",
        d[0]
    );
    assert!(r.executed("llm", "evict").is_some(), "{:?}", r.events);
}

/// With no model and no prediction, `forecast` says so instead of
/// printing nothing.
#[test]
fn forecast_of_a_fleet_without_models_says_why_it_is_empty() {
    let n = Node::new("services:\n  web:\n    restart: [\"true\"]\n");
    let out = n.cli(&["forecast"]);
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("no models and no predictions"), "{text}");
    let json = n.cli(&["forecast", "--output", "json"]);
    assert!(json.stdout.is_empty(), "{json:?}");
}
