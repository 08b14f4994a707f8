//! The lines lnav shows through docs/logs/supervisorctl.lnav.json, rendered
//! headless (`lnav -n`) from a real event log: fields keep their
//! separators, and what does not fit the line (`detail`, `from`, `to`) is
//! on labelled lines under it.
use std::process::Command;

use serde_json::Value;

use crate::log_shipping::{lnav_with_format, rotated_log};

/// The rendered view: each event's line and the labelled lines under it.
fn rendered(lines: &str, seq: &Value) -> (String, Vec<String>) {
    let mut it = lines.lines().skip_while(|l| {
        l.split_whitespace().nth(1) != seq.as_u64().map(|n| n.to_string()).as_deref()
    });
    let line = it
        .next()
        .unwrap_or_else(|| panic!("no line for seq {seq}:\n{lines}"));
    let under = it
        .take_while(|l| l.starts_with("  "))
        .map(|l| l.trim().to_string())
        .collect();
    (line.to_string(), under)
}

fn s<'a>(e: &'a Value, key: &str) -> &'a str {
    e[key].as_str().unwrap_or_else(|| panic!("{key} in {e}"))
}

#[test]
fn lnav_renders_separated_fields_of_real_events() {
    if Command::new("lnav").arg("-V").output().is_err() {
        crate::support::skip("lnav is not installed");
        return;
    }
    let dir = tempfile::tempdir().expect("scratch");
    let (files, events) = rotated_log(&dir.path().join("state"));
    let out = lnav_with_format(&dir.path().join("home"))
        .arg("-n")
        .args(&files)
        .output()
        .expect("lnav -n");
    let view = String::from_utf8_lossy(&out.stdout).into_owned();
    let find = |pred: &dyn Fn(&Value) -> bool, what: &str| -> Value {
        events
            .iter()
            .find(|e| pred(e))
            .cloned()
            .unwrap_or_else(|| panic!("the log has {what}"))
    };

    // A drift with both texts: the reason on the line, the detail under it.
    let drift = find(
        &|e| e["type"] == "drift_detected" && e["reason"].is_string(),
        "a drift with a reason",
    );
    let (line, under) = rendered(&view, &drift["seq"]);
    let (detail, reason) = (s(&drift, "detail"), s(&drift, "reason"));
    let head = format!("{}/{}", s(&drift, "node"), s(&drift, "service"));
    assert!(line.contains(&head), "{line}");
    assert!(
        line.contains(&format!(" {} ", s(&drift, "condition"))) && line.ends_with(reason),
        "{line}"
    );
    assert!(!line.contains(detail), "the detail is not glued on: {line}");
    assert!(under.contains(&format!("detail: {detail}")), "{under:?}");

    // A health change: from and to.
    let health = find(
        &|e| e["type"] == "health_changed" && e["reason"].is_string(),
        "a health change with a reason",
    );
    let (line, under) = rendered(&view, &health["seq"]);
    assert!(
        line.ends_with(&format!(" {}", s(&health, "reason"))),
        "{line}"
    );
    assert!(
        under.contains(&format!("from: {}", s(&health, "from"))),
        "{under:?}"
    );
    assert!(
        under.contains(&format!("to: {}", s(&health, "to"))),
        "{under:?}"
    );

    // An executed action: action, then outcome, then its reason.
    let done = find(&|e| e["type"] == "action_executed", "an executed action");
    let (line, under) = rendered(&view, &done["seq"]);
    let words: Vec<&str> = line.split_whitespace().collect();
    let at = words
        .iter()
        .position(|w| *w == s(&done, "action"))
        .unwrap_or_else(|| panic!("the action in {line}"));
    assert_eq!(words[at + 1], s(&done, "outcome"), "{line}");
    assert!(
        line.ends_with(&format!(" {}", s(&done, "reason"))),
        "{line}"
    );
    assert!(under.is_empty(), "nothing bulky under it: {under:?}");

    // The decision's objects and run_started's fields stay hidden.
    let decision = find(&|e| e["type"] == "decision", "a decision");
    assert!(rendered(&view, &decision["seq"]).1.is_empty(), "{view}");
    assert!(rendered(&view, &events[0]["seq"]).1.is_empty(), "{view}");
}
