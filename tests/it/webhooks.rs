//! Webhooks: listed events are POSTed as their exact log line, signed with
//! HMAC-SHA256 when a secret is set; a dead receiver becomes
//! `webhook_failed` events and never fails the run.
use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use super::live_support::*;

type Received = Arc<Mutex<Vec<(Option<String>, String)>>>;

/// A receiver on 127.0.0.1 that records (signature header, body) and answers 204.
fn receiver() -> (u16, Received) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let got: Received = Arc::default();
    let sink = got.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let mut reader = BufReader::new(conn.try_clone().unwrap());
            let (mut sig, mut len) = (None, 0usize);
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                let lower = line.to_ascii_lowercase();
                if let Some(v) = lower.strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
                if lower.starts_with("x-supervisor-signature:") {
                    sig = Some(line.split_once(':').unwrap().1.trim().to_string());
                }
            }
            let mut body = vec![0u8; len];
            let _ = reader.read_exact(&mut body);
            sink.lock()
                .unwrap()
                .push((sig, String::from_utf8_lossy(&body).into_owned()));
            let _ = std::io::Write::write_all(
                &mut &conn,
                b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n",
            );
        }
    });
    (port, got)
}

#[test]
fn listed_events_are_posted_signed_and_dead_receivers_are_reported() {
    let (port, got) = receiver();
    let dead = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port(); // closed once dropped
    let n = Node::new("");
    let secret = n.path("hook.secret");
    write_file(&secret, "s3cret\n");
    let yaml = format!(
        "supervisor:\n  webhooks:\n    - url: http://127.0.0.1:{port}/hook\n      events: [run_started, reconcile_required]\n      secret_file: {}\n    - url: http://127.0.0.1:{dead}/hook\n      events: [reconcile_required]\nservices:\n  a:\n    process:\n      pidfile: /nonexistent/a.pid\n    restart: [\"true\"]\n  b:\n    process:\n      pidfile: /nonexistent/b.pid\n    restart: [\"true\"]\n",
        secret.display()
    );
    write_file(&n.path("hosts/testnode/services.yaml"), &yaml);
    let r = n.reconcile("2026-11-23T12:00:00Z", &["--dry-run"]);
    assert_eq!(r.code, 2, "{}", r.stderr);

    let log = std::fs::read_to_string(n.state().join("events.jsonl")).unwrap();
    let lines: Vec<&str> = log.lines().collect();
    let got = got.lock().unwrap().clone();
    let types: Vec<String> = got
        .iter()
        .map(|(_, b)| {
            serde_json::from_str::<serde_json::Value>(b).unwrap()["type"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        types,
        ["run_started", "reconcile_required", "reconcile_required"]
    );
    for (sig, body) in &got {
        assert!(
            lines.contains(&body.as_str()),
            "the body is the logged line: {body}"
        );
        assert_eq!(
            sig.as_deref(),
            Some(supervisorctl::webhooks::signature(b"s3cret", body.as_bytes()).as_str())
        );
    }

    let failed: Vec<_> = r
        .events
        .iter()
        .filter(|e| e["type"] == "webhook_failed")
        .collect();
    assert_eq!(failed.len(), 2, "one per undelivered event: {failed:?}");
    assert!(failed
        .iter()
        .all(|e| e["url"] == format!("http://127.0.0.1:{dead}/hook")
            && e["event_type"] == "reconcile_required"));
    assert!(
        failed[1]["error"]
            .as_str()
            .unwrap()
            .starts_with("not attempted"),
        "a dead receiver costs one attempt"
    );
    assert_eq!(r.events.last().unwrap()["type"], "run_finished");
    assert_eq!(r.events.last().unwrap()["counts"]["webhook_failed"], 2);
}
