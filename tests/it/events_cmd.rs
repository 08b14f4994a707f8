//! `events` like `tail` (SPEC §10): `-n N` keeps the last N matching
//! events, `--follow` starts at the end of the log (or after the last N),
//! `--since`/`--until` take RFC 3339 or a duration ago (on `audit` too),
//! an unknown `--type` is a usage error that lists the types, and
//! `--service NODE/SERVICE` filters both.
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

use serde_json::Value;
use supervisorctl::events::EventKind;

use crate::support::{Output, Run};

const NOW: &str = "2026-11-23T12:00:00Z";

fn line(ts: &str, seq: u64, kind: &str, node: &str, service: Option<&str>) -> String {
    let service = service.map_or("null".to_string(), |s| format!("\"{s}\""));
    format!(
        "{{\"ts\":\"{ts}\",\"run_id\":\"r\",\"seq\":{seq},\"type\":\"{kind}\",\"node\":\"{node}\",\"service\":{service},\"schema_version\":2}}\n"
    )
}

/// A log of five events: two hours, one hour and 30 minutes before NOW
/// (n1/web, n2/web, n1/db), then two at NOW (a decision of n1, n2/web).
fn sample_log(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("events.jsonl");
    let text = [
        line(
            "2026-11-23T10:00:00Z",
            1,
            "health_changed",
            "n1",
            Some("web"),
        ),
        line(
            "2026-11-23T11:00:00Z",
            2,
            "health_changed",
            "n2",
            Some("web"),
        ),
        line(
            "2026-11-23T11:30:00Z",
            3,
            "drift_detected",
            "n1",
            Some("db"),
        ),
        line(NOW, 4, "decision", "n1", None),
        line(NOW, 5, "run_finished", "n2", Some("web")),
    ]
    .concat();
    std::fs::write(&path, text).expect("write the log");
    path
}

fn events(log: &Path, args: &[&str]) -> Output {
    Run::bare()
        .arg("events")
        .arg("--events")
        .arg(log)
        .args(args)
        .run()
}

fn seqs(out: &Output) -> Vec<u64> {
    assert_eq!(out.code, 0, "{}", out.describe());
    out.expect_events()
        .iter()
        .map(|e| e["seq"].as_u64().expect("a seq"))
        .collect()
}

#[test]
fn last_n_events_of_those_that_match() {
    let dir = tempfile::tempdir().unwrap();
    let log = sample_log(dir.path());
    assert_eq!(seqs(&events(&log, &["-n", "2"])), [4, 5]);
    assert_eq!(seqs(&events(&log, &["--lines", "10"])), [1, 2, 3, 4, 5]);
    assert_eq!(seqs(&events(&log, &["-n", "0"])), Vec::<u64>::new());
    let web = events(&log, &["-n", "2", "--type", "health_changed"]);
    assert_eq!(seqs(&web), [1, 2]);
}

#[test]
fn since_and_until_take_a_time_or_a_duration_ago() {
    let dir = tempfile::tempdir().unwrap();
    let log = sample_log(dir.path());
    let now = ["--now", NOW];
    let ago = |args: &[&str]| seqs(&events(&log, &[args, &now[..]].concat()));
    assert_eq!(ago(&["--since", "1h"]), [2, 3, 4, 5]);
    assert_eq!(ago(&["--since", "45m"]), [3, 4, 5]);
    assert_eq!(ago(&["--until", "1h"]), [1, 2]);
    assert_eq!(ago(&["--since", "90m", "--until", "30m"]), [2, 3]);
    let at = events(&log, &["--since", "2026-11-23T11:00:00Z"]);
    assert_eq!(seqs(&at), [2, 3, 4, 5]);
    let bad = events(&log, &["--since", "yesterday"]);
    assert_eq!(bad.code, 1, "{}", bad.describe());
    assert!(bad.stderr.contains("RFC 3339"), "{}", bad.describe());
}

#[test]
fn audit_since_takes_a_duration_ago() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.jsonl");
    let text = [
        line("2026-11-23T10:00:00Z", 1, "decision", "n1", None),
        line("2026-11-23T11:45:00Z", 2, "decision", "n1", None),
    ]
    .concat();
    std::fs::write(&path, text).unwrap();
    let out = Run::bare()
        .arg("audit")
        .arg("--events")
        .arg(&path)
        .args(["--since", "1h", "--now", NOW, "--output", "json"])
        .run();
    assert_eq!(seqs(&out), [2]);
}

#[test]
fn audit_service_takes_node_slash_service() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.jsonl");
    let decision = |seq: u64, node: &str| {
        line(NOW, seq, "decision", node, None).replace(
            "}\n",
            ",\"actions\":[{\"service\":\"web\",\"action\":\"restart\",\"outcome\":\"recommended\"}]}\n",
        )
    };
    std::fs::write(&path, [decision(1, "n1"), decision(2, "n2")].concat()).unwrap();
    let audit = |service: &str| {
        Run::bare()
            .arg("audit")
            .arg("--events")
            .arg(&path)
            .args(["--service", service, "--output", "json"])
            .run()
    };
    assert_eq!(seqs(&audit("web")), [1, 2]);
    assert_eq!(seqs(&audit("n2/web")), [2]);
}

/// A walk found `audit` dropping, without a word, a decision record with
/// one value this version does not know (a newer condition, a `null`
/// reason): the record is the audit trail, so it is shown, and what could
/// not be read is said.
#[test]
fn audit_shows_a_decision_it_cannot_fully_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.jsonl");
    let decision = |seq: u64, action: &str| {
        line(NOW, seq, "decision", "n1", None).replace(
            "}\n",
            &format!(",\"actions\":[{{\"service\":\"web\",\"action\":\"{action}\",\"outcome\":\"planned\",\"reason\":\"\"}}]}}\n"),
        )
    };
    // Its `actions` not even a list: its proposals still name `web`.
    let odd = line(NOW, 4, "decision", "n1", None).replace(
        "}\n",
        ",\"actions\":\"notalist\",\"proposals\":[{\"service\":\"web\",\"policy\":\"new\"}]}\n",
    );
    let text = [
        decision(1, "restart"),
        decision(2, "teleport"),
        decision(3, "evict"),
        odd,
    ]
    .concat();
    std::fs::write(&path, text).unwrap();
    let audit = |args: &[&str]| {
        Run::bare()
            .arg("audit")
            .arg("--events")
            .arg(&path)
            .args(args)
            .run()
    };
    assert_eq!(seqs(&audit(&["--output", "json"])), [1, 2, 3, 4]);
    assert_eq!(
        seqs(&audit(&["--service", "web", "--output", "json"])),
        [1, 2, 3, 4]
    );
    let out = audit(&[]);
    assert_eq!(out.code, 0, "{}", out.describe());
    assert!(out.stdout.contains("run r seq 2\n"), "{}", out.describe());
    assert!(
        out.stdout.contains("this version cannot read this record"),
        "{}",
        out.describe()
    );
    assert!(out.stdout.contains("teleport"), "{}", out.describe());
}

#[test]
fn an_unknown_type_is_an_error_that_lists_the_types() {
    let dir = tempfile::tempdir().unwrap();
    let log = sample_log(dir.path());
    let out = events(&log, &["--type", "helth_changed"]);
    assert_eq!(out.code, 1, "{}", out.describe());
    assert!(out.stdout.is_empty(), "{}", out.describe());
    for kind in EventKind::ALL {
        assert!(out.stderr.contains(kind.as_str()), "{}", out.describe());
    }
    assert!(
        out.stderr.contains("did you mean `health_changed`?"),
        "{}",
        out.describe()
    );
}

#[test]
fn service_takes_node_slash_service() {
    let dir = tempfile::tempdir().unwrap();
    let log = sample_log(dir.path());
    assert_eq!(seqs(&events(&log, &["--service", "web"])), [1, 2, 5]);
    assert_eq!(seqs(&events(&log, &["--service", "n2/web"])), [2, 5]);
    assert_eq!(seqs(&events(&log, &["--service", "n1/db"])), [3]);
    let clash = events(&log, &["--service", "n2/web", "--node", "n1"]);
    assert_eq!(clash.code, 1, "{}", clash.describe());
}

/// `events --follow ...` in the background, its stdout lines on a channel.
fn follow(log: &Path, args: &[&str]) -> (Child, Receiver<String>) {
    let mut child = crate::support::Run::new("events")
        .command()
        .arg("--events")
        .arg(log)
        .arg("--follow")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start events --follow");
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for l in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(l).is_err() {
                return;
            }
        }
    });
    (child, rx)
}

fn append(log: &Path, text: &str) {
    let mut f = std::fs::OpenOptions::new().append(true).open(log).unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

fn seq_of(l: &str) -> u64 {
    serde_json::from_str::<Value>(l).expect("a JSON line")["seq"]
        .as_u64()
        .expect("a seq")
}

#[test]
fn follow_without_n_starts_at_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let log = sample_log(dir.path());
    let (mut child, rx) = follow(&log, &[]);
    // Append until the follower shows one: it reached the end by then.
    let started = Instant::now();
    let mut got = Vec::new();
    let mut seq = 100;
    while got.is_empty() && started.elapsed() < Duration::from_secs(30) {
        append(&log, &line(NOW, seq, "run_started", "n1", None));
        seq += 1;
        got.extend(rx.recv_timeout(Duration::from_millis(400)).ok());
    }
    std::thread::sleep(Duration::from_millis(700));
    got.extend(rx.try_iter());
    let _ = child.kill();
    let _ = child.wait();
    assert!(!got.is_empty(), "--follow printed nothing new");
    let seqs: Vec<u64> = got.iter().map(|l| seq_of(l)).collect();
    assert!(
        seqs.iter().all(|s| *s >= 100),
        "history was printed: {seqs:?}"
    );
}

#[test]
fn follow_with_n_prints_the_last_n_then_follows() {
    let dir = tempfile::tempdir().unwrap();
    let log = sample_log(dir.path());
    let (mut child, rx) = follow(&log, &["-n", "1"]);
    let first = rx.recv_timeout(Duration::from_secs(30));
    append(&log, &line(NOW, 6, "run_started", "n1", None));
    let second = rx.recv_timeout(Duration::from_secs(30));
    std::thread::sleep(Duration::from_millis(700));
    let rest: Vec<String> = rx.try_iter().collect();
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(first.map(|l| seq_of(&l)), Ok(5), "the last event first");
    assert_eq!(second.map(|l| seq_of(&l)), Ok(6), "then the new one");
    assert!(rest.is_empty(), "nothing else: {rest:?}");
}

/// Issue: after a `copytruncate` (logrotate's, or `> events.jsonl`) the
/// follower waited until the file outgrew its old offset, and 490 events
/// were never shown. A log shorter than what was read is read again from
/// its start.
#[test]
fn follow_reads_a_truncated_log_from_its_start() {
    let dir = tempfile::tempdir().unwrap();
    let log = sample_log(dir.path());
    let (mut child, rx) = follow(&log, &["-n", "1"]);
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(30)).map(|l| seq_of(&l)),
        Ok(5)
    );
    // Truncated in place, then one short event: far below the old offset.
    std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(&log)
        .unwrap();
    append(&log, &line(NOW, 6, "run_started", "n1", None));
    let next = rx.recv_timeout(Duration::from_secs(10));
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(
        next.map(|l| seq_of(&l)),
        Ok(6),
        "the event after the truncation"
    );
}

/// A FIFO or a symlink in place of the log is an error, never a hang or
/// silence.
#[test]
fn events_refuses_a_fifo_or_a_symlinked_log() {
    for kind in ["fifo", "symlink"] {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("events.jsonl");
        if kind == "fifo" {
            nix::unistd::mkfifo(&log, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        } else {
            std::fs::write(dir.path().join("real.jsonl"), "").unwrap();
            std::os::unix::fs::symlink(dir.path().join("real.jsonl"), &log).unwrap();
        }
        let mut child = Run::new("events")
            .state(dir.path())
            .command()
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let started = std::time::Instant::now();
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break Some(s);
            }
            if started.elapsed() > std::time::Duration::from_secs(10) {
                let _ = child.kill();
                break None;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        assert_eq!(
            status.and_then(|s| s.code()),
            Some(1),
            "{kind}: hung or succeeded"
        );
    }
}

/// Issue: `events --service nosuch` printed nothing and exited 0, while
/// `--type nope` is an error. A name hosts/ does not declare is an error
/// with a did-you-mean.
#[test]
fn an_unknown_service_or_node_is_an_error_with_a_suggestion() {
    let n = crate::live_support::Node::new("services:\n  web:\n    restart: [\"true\"]\n");
    n.reconcile("2026-11-23T12:00:00Z", &["--dry-run", "--no-probe"]);
    let out = n.cli(&["events", "--service", "wbe"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no service `wbe`") && err.contains("`web`"),
        "{err}"
    );
    let ok = n.cli(&["events", "--service", "web"]);
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
}

/// A walk found the truncation missed when the log grew back past the old
/// offset before the follower looked again: the first bytes tell.
#[test]
fn follow_reads_a_log_truncated_and_grown_back_from_its_start() {
    let dir = tempfile::tempdir().unwrap();
    let log = sample_log(dir.path());
    let (mut child, rx) = follow(&log, &["-n", "1"]);
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(30)).map(|l| seq_of(&l)),
        Ok(5)
    );
    let mut text = String::new();
    for seq in 6..30 {
        text.push_str(&line(NOW, seq, "run_started", "n1", None));
    }
    // Truncated and written again at once, longer than before.
    std::fs::write(&log, &text).unwrap();
    let mut got = vec![];
    while let Ok(l) = rx.recv_timeout(Duration::from_secs(5)) {
        got.push(seq_of(&l));
        if got.len() == 24 {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(got, (6..30).collect::<Vec<u64>>());
}

/// A service removed from hosts/ keeps its history: `events --service`
/// finds it in the log (the did-you-mean error is for names the log never
/// had either).
#[test]
fn a_removed_services_events_can_still_be_filtered() {
    let n = crate::live_support::Node::new(
        "services:\n  web:\n    restart: [\"true\"]\n  burner:\n    restart: [\"true\"]\n",
    );
    crate::live_support::write_file(
        &n.path(&format!("world/nodes/{}.json", crate::live_support::NODE)),
        r#"{"status":"online","last_seen":"2026-11-23T12:00:00Z"}"#,
    );
    n.reconcile("2026-11-23T12:00:00Z", &["--dry-run", "--no-probe"]);
    std::fs::write(
        n.path(&format!(
            "hosts/{}/services.yaml",
            crate::live_support::NODE
        )),
        "services:\n  web:\n    restart: [\"true\"]\n",
    )
    .unwrap();
    let out = n.cli(&["events", "--service", "burner"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("burner"), "{text}");
    let out = n.cli(&["events", "--service", "burnr"]);
    assert_eq!(out.status.code(), Some(1));
}

/// A walk found `check --events FILE` starting at `seq` 1 on every run, so
/// that `run_id` + `seq`, the key a receiver deduplicates on, repeated in
/// the one file; it continues from the file's last line, as a reconcile's
/// log does.
#[test]
fn check_appending_to_a_file_continues_its_seq() {
    let (dir, hosts, world, _) = crate::support::fixture_copy("conflict-keep-vs-idle-evict");
    let log = dir.path().join("check.jsonl");
    let check = |now: &str| {
        Run::bare()
            .hosts(&hosts)
            .world(&world)
            .node("n1")
            .arg("--events")
            .arg(&log)
            .args(["--now", now, "check"])
            .run()
    };
    check("2026-11-23T12:00:00Z");
    check("2026-11-23T12:01:00Z");
    let seqs: Vec<u64> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["seq"]
                .as_u64()
                .unwrap()
        })
        .collect();
    let expected: Vec<u64> = (1..=seqs.len() as u64).collect();
    assert_eq!(seqs, expected);
}

/// A walk found `events` and `audit` passing over a torn or foreign line
/// without a word (`report` said it): they say how many they skipped.
#[test]
fn events_and_audit_say_how_many_lines_they_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.jsonl");
    let text = [
        line(NOW, 1, "decision", "n1", None),
        "not json\n".to_string(),
        "{\"torn\": \n".to_string(),
        "[{\"type\":\"decision\"}]\n".to_string(),
    ]
    .concat();
    std::fs::write(&path, text).unwrap();
    for cmd in ["events", "audit"] {
        let out = Run::bare().arg(cmd).arg("--events").arg(&path).run();
        assert_eq!(out.code, 0, "{}", out.describe());
        assert!(
            out.stderr
                .contains("warning: 3 lines of the event log skipped: not a JSON object"),
            "{cmd}: {}",
            out.describe()
        );
        assert!(out.stdout.contains("n1"), "{cmd}: {}", out.describe());
    }
}

/// A walk found `events --events /nonexistent` (a typo) and `--events -`
/// printing nothing and exiting 0, as for a fleet with no events yet.
#[test]
fn a_log_named_that_is_not_there_is_an_error() {
    for cmd in ["events", "audit"] {
        let out = Run::bare()
            .arg(cmd)
            .args(["--events", "/nonexistent/events.jsonl"])
            .run();
        assert_eq!(out.code, 1, "{}", out.describe());
        assert!(
            out.stderr
                .contains("no event log at `/nonexistent/events.jsonl`"),
            "{}",
            out.describe()
        );
        let out = Run::bare().arg(cmd).args(["--events", "-"]).run();
        assert_eq!(out.code, 1, "{}", out.describe());
        assert!(out.stderr.contains("`--events -`"), "{}", out.describe());
    }
}
