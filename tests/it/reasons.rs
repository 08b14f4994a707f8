//! Why a probe failed reaches the operator (SPEC §9 "Probe reasons"): in
//! `health_changed`, `drift_detected`, `status` and `observe`.
use crate::live_support::{Health, Node, NODE};

#[test]
fn a_failing_probe_carries_its_reason_everywhere() {
    let mut n = Node::new("");
    let server = Health::start(503);
    let pid = n.sleep("3600.44");
    let pidfile = n.path("web.pid");
    std::fs::write(&pidfile, format!("{pid}\n")).unwrap();
    let yaml = format!(
        "services:\n  web:\n    process:\n      pidfile: {}\n    health:\n      http: {}\n      dead_after: 2\n      degraded_after: 1\n  gone:\n    process:\n      pidfile: {}\n",
        pidfile.display(),
        server.url(),
        n.path("none.pid").display()
    );
    std::fs::write(n.path(&format!("hosts/{NODE}/services.yaml")), yaml).unwrap();
    let r = n.reconcile("2026-11-23T12:00:00Z", &["--dry-run"]);
    let changed = r.of("health_changed", "web");
    assert_eq!(changed.len(), 1, "{:?}", r.events);
    assert_eq!(changed[0]["reason"], "HTTP 503", "{}", changed[0]);
    let r = n.reconcile("2026-11-23T12:01:00Z", &["--dry-run"]);
    let drift = r.of("drift_detected", "web");
    assert_eq!(drift.len(), 1, "{:?}", r.events);
    assert_eq!(drift[0]["reason"], "HTTP 503", "{}", drift[0]);
    let gone = r.of("drift_detected", "gone");
    assert!(gone.iter().any(|d| d["reason"] == "no process"), "{gone:?}");

    let status = n.cli(&["status", "--output", "json"]);
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(text.contains(r#""last_error":"HTTP 503""#), "{text}");
    let status = n.cli(&["status"]);
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(text.contains("why: HTTP 503"), "{text}");

    let out = n.path("observed");
    let o = n.cli(&["observe", "--out", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    let rec = std::fs::read_to_string(out.join(format!("services/{NODE}/web.json"))).unwrap();
    assert!(rec.contains(r#""reason": "HTTP 503""#), "{rec}");
}
