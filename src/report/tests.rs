use super::*;
use serde_json::json;

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn inputs() -> Inputs {
    Inputs {
        title: "Fleet report".into(),
        source: "state directory /var/lib/<x>".into(),
        made_at: t("2026-11-23T12:00:00Z"),
        since: t("2026-11-22T12:00:00Z"),
        nodes: vec![NodeInfo {
            name: "gpu-box".into(),
            memory_pressure: 0.9,
            gpu_pressure: 0.9,
            max_restart_attempts: 3,
            services: vec![("llm".into(), "model".into(), true)],
        }],
        checkpoint: Checkpoint::default(),
        overrides: Overrides::default(),
        events: Events::default(),
        problems: vec![],
        score: None,
    }
}

#[test]
fn every_string_from_events_is_escaped() {
    let mut i = inputs();
    let (since, until) = (i.since, i.made_at);
    for e in [
        json!({"ts": "2026-11-23T11:00:00Z", "run_id": "r", "type": "action_executed", "node": "gpu-box", "service": "llm",
               "action": "restart", "outcome": "failed", "reason": "exited 1: <script>alert(1)</script> & \"quoted\" 'x'\u{1b}[31m"}),
        json!({"ts": "2026-11-23T11:01:00Z", "run_id": "r", "type": "health_changed", "node": "gpu-box", "service": "<img src=x>",
               "from": "healthy", "to": "dead"}),
    ] {
        i.events.add(e, since, until);
    }
    let html = render(&i);
    assert!(!html.contains("<script"), "{html}");
    assert!(!html.contains("<img"), "{html}");
    assert!(html.contains(
        "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quoted&quot; &#39;x&#39;\\x1b[31m"
    ));
    assert!(html.contains("/var/lib/&lt;x&gt;"));
    assert!(!html.contains("http://") && !html.contains("https://"));
}

#[test]
fn states_are_written_as_text_with_flags() {
    let mut i = inputs();
    i.checkpoint.services.insert(
        "gpu-box/llm".into(),
        Box::new(ServiceState {
            health: Health::Dead,
            restart_attempts: 3,
            ..Default::default()
        }),
    );
    let m = build(&i);
    let s = &m.nodes[0].services[0];
    assert_eq!(s.state, State::Dead);
    assert_eq!(s.flags(), ["pinned", "circuit open"]);
    let html = html::page(&m);
    assert!(html.contains(r#"data-service="gpu-box/llm" data-state="dead""#));
    assert!(html.contains("✖ dead"));
}

#[test]
fn events_outside_the_window_are_not_kept_but_the_last_run_is() {
    let mut i = inputs();
    let (since, until) = (i.since, i.made_at);
    i.events.add(
        json!({"ts": "2026-11-20T11:00:00Z", "run_id": "a", "type": "run_started"}),
        since,
        until,
    );
    i.events.add(json!({"ts": "2026-11-20T11:00:00Z", "run_id": "a", "type": "drift_detected", "node": "gpu-box", "condition": "offline_node"}), since, until);
    i.events.add(json!({"ts": "2026-11-20T11:00:00Z", "run_id": "a", "type": "action_executed", "node": "gpu-box", "service": "llm", "outcome": "failed"}), since, until);
    i.events.add(json!({"ts": "2026-11-20T11:00:00Z", "run_id": "a", "type": "run_finished", "state": "unstable"}), since, until);
    assert!(i.events.kept.is_empty());
    assert_eq!(i.events.last_run.as_ref().unwrap()["state"], "unstable");
    assert!(i.events.offline.contains("gpu-box"));
}
