//! Webhooks: listed events are sent in a POST as their exact log line, signed with
//! HMAC-SHA256 when a secret is set, only once that line is durable in the
//! log; a dead receiver's deliveries are kept, reported by the next run as
//! `webhook_failed` and retried until it answers; it never fails a run.
use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use super::live_support::*;

type Received = Arc<Mutex<Vec<(Option<String>, String)>>>;

/// A receiver on 127.0.0.1 that records (signature header, body) and
/// answers 204; with `log`, it panics unless the body is already a line of
/// that file when it arrives (delivered after the record).
fn receiver_on(addr: &str, log: Option<std::path::PathBuf>) -> (u16, Received) {
    let listener = TcpListener::bind(addr).unwrap();
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
            if let Some(log) = &log {
                let text = std::fs::read_to_string(log).unwrap_or_default();
                let body = String::from_utf8_lossy(&body);
                if !text.lines().any(|l| l == body) {
                    // Recorded as a body that fails every check below.
                    sink.lock()
                        .unwrap()
                        .push((None, format!("NOT YET IN THE LOG: {body}")));
                    continue;
                }
            }
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
fn listed_events_are_posted_after_the_record_and_dead_receivers_retried() {
    let n = Node::new("");
    let (port, got) = receiver_on("127.0.0.1:0", Some(n.state().join("events.jsonl")));
    let dead = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port(); // closed once dropped
    let secret = n.path("hook.secret");
    write_file(&secret, "s3cret\n");
    let yaml = format!(
        "supervisor:\n  webhooks:\n    - url: http://127.0.0.1:{port}/hook\n      events: [run_started, reconcile_required, run_finished]\n      secret_file: {}\n    - url: http://127.0.0.1:{dead}/hook\n      events: [reconcile_required]\nservices:\n  a:\n    process:\n      pidfile: /nonexistent/a.pid\n    restart: [\"true\"]\n  b:\n    process:\n      pidfile: /nonexistent/b.pid\n    restart: [\"true\"]\n",
        secret.display()
    );
    write_file(&n.path("hosts/testnode/services.yaml"), &yaml);
    let r = n.reconcile("2026-11-23T12:00:00Z", &["--dry-run"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.events.iter().all(|e| e["type"] != "webhook_failed"),
        "a run cannot report what it delivers after its record"
    );

    let log = std::fs::read_to_string(n.state().join("events.jsonl")).unwrap();
    let lines: Vec<&str> = log.lines().collect();
    let got = got.lock().unwrap().clone();
    let types: Vec<String> = got
        .iter()
        .map(|(_, b)| {
            serde_json::from_str::<serde_json::Value>(b).unwrap_or_else(|_| panic!("{b}"))["type"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        types,
        [
            "run_started",
            "reconcile_required",
            "reconcile_required",
            "run_finished"
        ]
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

    // The next run tries again what the dead receiver missed, before its
    // record, and reports what still fails.
    let r = n.reconcile("2026-11-23T12:01:00Z", &["--dry-run"]);
    let failed: Vec<_> = r
        .events
        .iter()
        .filter(|e| e["type"] == "webhook_failed")
        .collect();
    assert_eq!(failed.len(), 2, "one per undelivered event: {failed:?}");
    for f in &failed {
        assert_eq!(f["url"], format!("http://127.0.0.1:{dead}/hook"));
        assert_eq!(f["event_type"], "reconcile_required");
        assert!(f["event_seq"].as_u64().is_some(), "{f}");
    }
    // Only what was tried counts as an attempt: the first, in each run.
    assert_eq!(failed[0]["attempts"], 2);
    assert_eq!(failed[1]["attempts"], 0);
    assert!(
        failed[1]["error"]
            .as_str()
            .unwrap()
            .starts_with("not attempted"),
        "a dead receiver costs one attempt a run"
    );
    assert_eq!(r.events.last().unwrap()["counts"]["webhook_failed"], 2);

    // The receiver comes back: the next run delivers everything owed
    // before its record, oldest first, and so reports no failure (issue:
    // a receiver that got every event was told about as failing).
    let (_, late) = receiver_on(
        &format!("127.0.0.1:{dead}"),
        Some(n.state().join("events.jsonl")),
    );
    let r = n.reconcile("2026-11-23T12:02:00Z", &["--dry-run"]);
    let failed: Vec<_> = r
        .events
        .iter()
        .filter(|e| e["type"] == "webhook_failed")
        .collect();
    assert_eq!(failed.len(), 0, "{failed:?}");
    let late = late.lock().unwrap().clone();
    let seqs: Vec<u64> = late
        .iter()
        .map(|(_, b)| {
            serde_json::from_str::<serde_json::Value>(b).unwrap()["seq"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(
        seqs.len(),
        6,
        "2 owed from each of the first two runs, 2 of this one: {late:?}"
    );
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]),
        "in seq order: {seqs:?}"
    );
    let r = n.reconcile("2026-11-23T12:03:00Z", &["--dry-run"]);
    assert!(
        r.events.iter().all(|e| e["type"] != "webhook_failed"),
        "nothing owed any more"
    );
}

/// Issue: a SIGKILL during webhook delivery lost the undelivered events:
/// never retried, never reported. What a run owes is journaled before it
/// delivers.
#[test]
fn a_run_killed_while_delivering_leaves_its_events_owed() {
    let n = Node::new("");
    // A receiver that accepts and never answers: delivery hangs.
    let hang = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = hang.local_addr().unwrap().port();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut held = vec![];
        for conn in hang.incoming().flatten() {
            let _ = tx.send(());
            held.push(conn);
        }
    });
    let yaml = format!(
        "supervisor:\n  webhooks:\n    - url: http://127.0.0.1:{port}/hook\n      events: [run_finished]\nservices:\n  a:\n    restart: [\"true\"]\n"
    );
    write_file(&n.path("hosts/testnode/services.yaml"), &yaml);
    let mut run = n
        .command(&["--now", "2026-11-23T12:00:00Z", "reconcile", "--dry-run"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    rx.recv_timeout(std::time::Duration::from_secs(30))
        .expect("the delivery never started");
    run.kill().unwrap();
    run.wait().unwrap();
    let pending = std::fs::read_to_string(n.state().join("webhooks.pending.json"))
        .expect("what was owed is kept");
    assert!(pending.contains("run_finished"), "{pending}");
    // The next run reports it (and retries it).
    let r = n.reconcile("2026-11-23T12:01:00Z", &["--dry-run"]);
    let failed: Vec<_> = r
        .events
        .iter()
        .filter(|e| e["type"] == "webhook_failed")
        .collect();
    assert_eq!(failed.len(), 1, "{:?}", r.events);
    assert_eq!(failed[0]["event_type"], "run_finished");
}

/// Issue: the trailing newline of the secret is stripped, and a receiver
/// that HMACs the raw file failed every delivery. security.md says so and
/// shows a receiver in Python: this runs that very code against a real
/// signature.
#[test]
fn the_documented_python_receiver_verifies_a_real_signature() {
    let doc =
        std::fs::read_to_string(crate::support::repo_root().join("docs/security.md")).unwrap();
    let start = doc
        .find("```python\n")
        .expect("a python example in security.md")
        + "```python\n".len();
    let code: String = doc[start..]
        .split("```")
        .next()
        .unwrap()
        .lines()
        .map(|l| l.strip_prefix("  ").unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n");
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("hook.secret");
    std::fs::write(&secret, "s3cret\n").unwrap();
    let code = code.replace(
        "/etc/supervisorctl/hook.secret",
        &secret.display().to_string(),
    );
    let body = r#"{"seq":1,"type":"run_finished"}"#;
    let header = supervisorctl::webhooks::signature(b"s3cret", body.as_bytes());
    let script = format!(
        "{code}\nimport sys\nsys.exit(0 if verify({body:?}.encode(), {header:?}) and not verify(b'x', {header:?}) else 1)\n"
    );
    let ok = std::process::Command::new("python3")
        .arg("-c")
        .arg(&script)
        .status()
        .unwrap();
    assert!(
        ok.success(),
        "the documented receiver rejects a real signature:\n{script}"
    );
}

/// Issue: with no `events:` list and the receiver down, each run's
/// `webhook_failed` events were owed in turn: 3, 6, 12 … 768, then about
/// 1,000 a run. Failures are never owed to the receiver they are about, and
/// each undelivered event is reported once.
#[test]
fn a_receiver_that_stays_down_does_not_flood_the_log() {
    let n = Node::new("");
    let dead = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let yaml = format!(
        "supervisor:\n  webhooks:\n    - url: http://127.0.0.1:{dead}/hook\nservices:\n  a:\n    restart: [\"true\"]\n"
    );
    write_file(&n.path("hosts/testnode/services.yaml"), &yaml);
    let mut reported = vec![];
    for minute in 0..6 {
        let r = n.reconcile(&format!("2026-11-23T12:0{minute}:00Z"), &["--dry-run"]);
        reported.push(
            r.events
                .iter()
                .filter(|e| e["type"] == "webhook_failed")
                .count(),
        );
    }
    // Each run reports the events of the run before it, once: a constant.
    assert_eq!(reported[0], 0);
    assert!(reported[1] > 0);
    assert!(
        reported[2..].iter().all(|n| *n == reported[1]),
        "{reported:?}"
    );
}

/// One request as a receiver saw it: lowercased header names, the body.
type Request = (Vec<(String, String)>, String);

/// A receiver that records every request and answers `status`.
fn recorder(status: &'static str) -> (u16, Arc<Mutex<Vec<Request>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let got: Arc<Mutex<Vec<Request>>> = Arc::default();
    let sink = got.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let mut reader = BufReader::new(conn.try_clone().unwrap());
            let mut headers = vec![];
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some((k, v)) = line.split_once(':') {
                    headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
                }
            }
            let len = headers
                .iter()
                .find(|(k, _)| k == "content-length")
                .and_then(|(_, v)| v.parse().ok())
                .unwrap_or(0usize);
            let mut body = vec![0u8; len];
            let _ = reader.read_exact(&mut body);
            sink.lock()
                .unwrap()
                .push((headers, String::from_utf8_lossy(&body).into_owned()));
            let answer =
                format!("HTTP/1.1 {status}\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok");
            let _ = std::io::Write::write_all(&mut &conn, answer.as_bytes());
        }
    });
    (port, got)
}

fn header<'a>(r: &'a Request, name: &str) -> Option<&'a str> {
    r.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// Slack, Discord and ntfy receive one line a person can read, in the shape
/// each documents for its incoming webhooks; none is signed.
#[test]
fn chat_formats_post_a_readable_line_in_each_services_shape() {
    let n = Node::new("");
    let (slack, slack_got) = recorder("200 OK");
    let (discord, discord_got) = recorder("204 No Content");
    let (ntfy, ntfy_got) = recorder("200 OK");
    let events = "[health_changed, reconcile_required, run_finished]";
    let yaml = format!(
        "supervisor:\n  webhooks:\n    - {{url: \"http://127.0.0.1:{slack}/services/T0/B0/x\", format: slack, events: {events}}}\n    - {{url: \"http://127.0.0.1:{discord}/api/webhooks/1/x\", format: discord, events: {events}}}\n    - {{url: \"http://127.0.0.1:{ntfy}/fleet\", format: ntfy, events: {events}}}\nservices:\n  a:\n    process:\n      pidfile: /nonexistent/a.pid\n    restart: [\"true\"]\n"
    );
    write_file(&n.path("hosts/testnode/services.yaml"), &yaml);
    let r = n.reconcile("2026-11-23T12:00:00Z", &["--dry-run"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let logged: Vec<serde_json::Value> = r
        .events
        .iter()
        .filter(|e| {
            ["health_changed", "reconcile_required", "run_finished"]
                .contains(&e["type"].as_str().unwrap())
        })
        .cloned()
        .collect();
    let lines: Vec<String> = logged
        .iter()
        .map(|v| {
            let e = supervisorctl::events::Stamped::from_value(v.clone()).expect("an event");
            supervisorctl::webhooks::chat::line(&e)
        })
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("testnode/a: restart required: ")),
        "{lines:?}"
    );
    assert!(
        lines
            .last()
            .unwrap()
            .starts_with("run on testnode finished degraded: "),
        "{lines:?}"
    );

    let slack_got = slack_got.lock().unwrap().clone();
    let discord_got = discord_got.lock().unwrap().clone();
    let ntfy_got = ntfy_got.lock().unwrap().clone();
    for got in [&slack_got, &discord_got, &ntfy_got] {
        assert_eq!(got.len(), lines.len(), "every listed event, once: {got:?}");
        assert!(got
            .iter()
            .all(|r| header(r, "x-supervisor-signature").is_none()));
    }
    // Slack: {"text": …}, JSON, the line itself (no mrkdwn control characters here).
    for (r, line) in slack_got.iter().zip(&lines) {
        assert_eq!(header(r, "content-type"), Some("application/json"));
        let body: serde_json::Value = serde_json::from_str(&r.1).unwrap();
        assert_eq!(body.as_object().unwrap().len(), 1, "only `text`: {body}");
        assert_eq!(body["text"], line.as_str());
    }
    // Discord: {"content": …} of at most 2,000 characters, mentions off.
    for (r, line) in discord_got.iter().zip(&lines) {
        assert_eq!(header(r, "content-type"), Some("application/json"));
        let body: serde_json::Value = serde_json::from_str(&r.1).unwrap();
        assert_eq!(body["content"], line.as_str());
        assert!(body["content"].as_str().unwrap().chars().count() <= 2000);
        assert_eq!(body["allowed_mentions"]["parse"], serde_json::json!([]));
    }
    // ntfy: the line as plain text; Title, a known Priority, Tags.
    for (r, line) in ntfy_got.iter().zip(&lines) {
        assert!(header(r, "content-type").unwrap().starts_with("text/plain"));
        assert_eq!(&r.1, line);
        let title = header(r, "title").expect("Title");
        assert!(title.starts_with("supervisorctl: testnode"), "{title}");
        let priority = header(r, "priority").expect("Priority");
        assert!(
            ["min", "low", "default", "high", "urgent", "max", "1", "2", "3", "4", "5"]
                .contains(&priority)
        );
        let tags = header(r, "tags").expect("Tags");
        assert!(
            tags.split(',').all(|t| !t.is_empty() && !t.contains(' ')),
            "{tags}"
        );
    }
    // The run's state in words, a warning priority when it is bad news.
    let finished = ntfy_got.last().unwrap();
    assert_eq!(
        header(finished, "priority"),
        Some("default"),
        "degraded, not unstable"
    );
}
