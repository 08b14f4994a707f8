//! The inference check (SPEC §12): "healthy" means the model can serve, not
//! that the port answers. A small OpenAI-compatible server whose `/health`
//! always answers 200 while its completions hang: the inference check goes
//! degraded then dead with the reason, a plain `http` check on `/health`
//! stays healthy. `every` runs the deep check on every Nth fast tick only.
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use crate::live_support::{write_file, Node, NODE};

struct Server {
    port: u16,
    hang: Arc<AtomicBool>,
    completions: Arc<AtomicUsize>,
}

fn serve() -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let hang = Arc::new(AtomicBool::new(true));
    let completions = Arc::new(AtomicUsize::new(0));
    let (h, c) = (hang.clone(), completions.clone());
    std::thread::spawn(move || {
        for mut conn in listener.incoming().flatten() {
            let (h, c) = (h.clone(), c.clone());
            std::thread::spawn(move || {
                let req = read_request(&mut conn);
                let body = if req.starts_with("POST /v1/completions") {
                    // The one-token request of SPEC §12.
                    if req.contains("\"max_tokens\":1") && req.contains("\"prompt\":\"1\"") {
                        c.fetch_add(1, Ordering::SeqCst);
                    }
                    if h.load(Ordering::SeqCst) {
                        // Generation hangs: the port stays open, no answer.
                        std::thread::sleep(std::time::Duration::from_secs(3));
                        return;
                    }
                    r#"{"choices":[{"text":"2"}]}"#
                } else {
                    "ok"
                };
                let _ = write!(
                    conn,
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
            });
        }
    });
    Server {
        port,
        hang,
        completions,
    }
}

/// Headers and, by its content-length, the body.
fn read_request(conn: &mut std::net::TcpStream) -> String {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = conn.read(&mut buf).unwrap_or(0);
        if n == 0 {
            break;
        }
        data.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&data).to_string();
        if let Some(end) = text.find("\r\n\r\n") {
            let len = text[..end]
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                })
                .unwrap_or(0);
            if data.len() >= end + 4 + len {
                break;
            }
        }
    }
    String::from_utf8_lossy(&data).into_owned()
}

fn at(secs: i64) -> String {
    let t0: chrono::DateTime<chrono::Utc> = "2026-11-23T12:00:00Z".parse().unwrap();
    (t0 + chrono::Duration::seconds(secs)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[test]
fn a_hung_generation_fails_the_inference_check_while_health_answers() {
    let mut n = Node::new("");
    let server = serve();
    let pid = n.sleep("3600.61");
    let pidfile = n.path("llm.pid");
    write_file(&pidfile, &format!("{pid}\n"));
    let yaml = format!(
        "services:\n  llm:\n    kind: model\n    process:\n      pidfile: {p}\n    health:\n      inference:\n        url: http://127.0.0.1:{port}/v1/completions\n        model: tiny\n        timeout: 1s\n      degraded_after: 1\n      dead_after: 2\n  port-only:\n    process:\n      pidfile: {p}\n    health:\n      http: http://127.0.0.1:{port}/health\n",
        p = pidfile.display(),
        port = server.port
    );
    write_file(&n.path(&format!("hosts/{NODE}/services.yaml")), &yaml);
    let mut walk = vec![];
    for step in 0..2 {
        let r = n.reconcile(&at(step * 10), &["--dry-run"]);
        for e in r.of("health_changed", "llm") {
            walk.push(format!(
                "{}:{}",
                e["to"].as_str().unwrap(),
                e["reason"].as_str().unwrap_or("")
            ));
        }
        let plain = r.of("health_changed", "port-only");
        if step == 0 {
            assert_eq!(plain.len(), 1, "{:?}", r.events);
            assert_eq!(plain[0]["to"], "healthy", "the port answers");
        } else {
            assert!(plain.is_empty(), "the http check stays healthy: {plain:?}");
        }
    }
    assert_eq!(
        walk,
        [
            "degraded:inference timed out after 1s",
            "dead:inference timed out after 1s"
        ]
    );
    // Generation works again: healthy.
    server.hang.store(false, Ordering::SeqCst);
    let r = n.reconcile(&at(20), &["--dry-run"]);
    let e = r.of("health_changed", "llm");
    assert_eq!(e.len(), 1, "{:?}", r.events);
    assert_eq!(e[0]["to"], "healthy");
}

#[test]
fn every_runs_the_deep_check_on_every_nth_tick() {
    let mut n = Node::new("");
    let server = serve();
    server.hang.store(false, Ordering::SeqCst);
    let pid = n.sleep("3600.62");
    let pidfile = n.path("llm.pid");
    write_file(&pidfile, &format!("{pid}\n"));
    // `every` counts probe periods (SPEC §13): 3 × 10s = 30s.
    let yaml = format!(
        "services:\n  llm:\n    process:\n      pidfile: {}\n    health:\n      inference:\n        url: http://127.0.0.1:{}/v1/completions\n      every: 3\n",
        pidfile.display(),
        server.port
    );
    write_file(&n.path(&format!("hosts/{NODE}/services.yaml")), &yaml);
    for secs in [0, 10, 20, 30, 40, 50, 60] {
        n.reconcile(&at(secs), &["--dry-run"]);
    }
    // Checked at 0, 30 and 60 only.
    assert_eq!(server.completions.load(Ordering::SeqCst), 3);
}

#[test]
fn every_zero_is_a_config_error() {
    let n = Node::new(
        "services:\n  llm:\n    health:\n      http: http://127.0.0.1:1/\n      every: 0\n",
    );
    let out = n.cli(&["validate"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("`every` must be at least 1"), "{stderr}");
}
