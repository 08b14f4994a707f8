//! Loading (SPEC §12): a started process whose log is still growing is
//! `loading`, not failing: its failing health probes do not count, and
//! `status` says so; once the log stops growing, the failures count.
use std::time::Duration;

use serde_json::Value;

use crate::live_support::{Node, NODE};

/// A port nothing listens on.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

fn status(n: &Node) -> Value {
    let out = n.cli(&["status", "--output", "json"]);
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().find(|l| l.contains(r#""service":"loader""#));
    serde_json::from_str(line.unwrap_or_else(|| panic!("no status line: {text}"))).unwrap()
}

fn log_size(n: &Node) -> u64 {
    let log = n.state().join("logs").join("loader.log");
    std::fs::metadata(log).map_or(0, |m| m.len())
}

#[test]
fn a_growing_log_is_loading_and_its_failures_count_once_it_stops() {
    let mut n = Node::new("");
    let yaml = format!(
        "services:\n  loader:\n    health:\n      http: http://127.0.0.1:{}/health\n      degraded_after: 1\n      dead_after: 2\n    spawn: [sh, -c, \"i=0; while [ $i -lt 50 ]; do echo loading $i; i=$((i+1)); sleep 0.05; done; exec sleep 3600\"]\n",
        closed_port()
    );
    std::fs::write(n.path(&format!("hosts/{NODE}/services.yaml")), yaml).unwrap();
    let r = n.reconcile("2026-11-23T12:00:00Z", &[]);
    assert_eq!(
        r.executed("loader", "restart").unwrap()["outcome"],
        "started"
    );
    n.spawned_pid("loader");
    // Still writing its log: loading, whatever its health probe says.
    for now in ["2026-11-23T12:00:05Z", "2026-11-23T12:00:10Z"] {
        let before = log_size(&n);
        assert!(
            crate::live_support::wait_until(|| log_size(&n) > before),
            "the log stopped growing too early"
        );
        let r = n.reconcile(now, &[]);
        assert!(
            r.of("health_changed", "loader").is_empty(),
            "{now}: {:?}",
            r.events
        );
        assert!(
            r.of("action_verified", "loader").is_empty(),
            "{now}: {:?}",
            r.events
        );
        let s = status(&n);
        assert_eq!(s["loading"], true, "{now}: {s}");
        assert_eq!(s["health"], "unknown", "{now}: {s}");
        assert_eq!(s["failures"], 0, "{now}: {s}");
    }
    let human = String::from_utf8_lossy(&n.cli(&["status"]).stdout).into_owned();
    assert!(human.contains("loading since"), "{human}");
    // Wait for the log to stop growing.
    let mut last = log_size(&n);
    loop {
        std::thread::sleep(Duration::from_millis(300));
        let now = log_size(&n);
        if now == last {
            break;
        }
        last = now;
    }
    // The first run that sees no growth since the previous one ends
    // loading (+15 may still see the last lines written after +10); from
    // then on the failures count: degraded at once, dead at the next.
    let mut changes = vec![];
    let mut ended = None;
    for now in [
        "2026-11-23T12:00:15Z",
        "2026-11-23T12:00:20Z",
        "2026-11-23T12:00:25Z",
    ] {
        let r = n.reconcile(now, &[]);
        n.spawned_pid("loader");
        changes.extend(r.of("health_changed", "loader").into_iter().cloned());
        let s = status(&n);
        if ended.is_none() && s["loading"] == false {
            assert_eq!(s["health"], "degraded", "{now}: {s}");
            assert_eq!(s["failures"], 1, "{now}: {s}");
            ended = Some(now);
        }
    }
    assert!(
        ended.is_some_and(|t| t <= "2026-11-23T12:00:20Z"),
        "{ended:?}"
    );
    let text = format!("{changes:?}");
    assert!(text.contains("degraded") && text.contains("dead"), "{text}");
}
