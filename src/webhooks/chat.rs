//! Chat formats of a webhook delivery (`webhooks[].format`): one line a
//! person reads, e.g. `edge-01/llama-8b restart failed: exited 3: out of
//! memory`, in the body each service documents for its incoming webhooks:
//! Slack `{"text": …}`, Discord `{"content": …}`, ntfy a plain-text body
//! with `Title`, `Priority` and `Tags` headers. Only `generic` is signed.
use serde_json::{json, Value};

use crate::desired::WebhookFormat;

/// The longest line sent (Discord takes 2,000 characters; ntfy 4,096 bytes).
const MAX_CHARS: usize = 1900;

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or("")
}

/// `: reason` when the event has one (or `detail`, or `error`).
fn why(v: &Value) -> String {
    ["reason", "detail", "error", "advice"]
        .iter()
        .map(|k| s(v, k))
        .find(|r| !r.is_empty())
        .map(|r| format!(": {r}"))
        .unwrap_or_default()
}

/// Where it happened: `node/service`, the node, or `fleet`.
fn who(v: &Value) -> String {
    match (s(v, "node"), s(v, "service")) {
        ("", "") => "fleet".to_string(),
        (n, "") => n.to_string(),
        ("", svc) => svc.to_string(),
        (n, svc) => format!("{n}/{svc}"),
    }
}

/// What an action's outcome reads as: `restarted`, `restart failed`, …
fn done(action: &str, outcome: &str) -> String {
    let past = match action {
        "restart" => "restarted",
        "evict" => "evicted",
        "preload" => "preloaded",
        "activate_fallback" => "switched to its fallback",
        "deactivate_fallback" => "switched back from its fallback",
        other => return format!("{other} {outcome}"),
    };
    match outcome {
        "success" => past.to_string(),
        "started" => format!("{action} started"),
        other => format!("{action} {other}"),
    }
}

/// The event as one line for people (control characters escaped).
pub fn line(v: &Value) -> String {
    let who = who(v);
    let ty = s(v, "type");
    let text = match ty {
        "action_executed" => format!("{who} {}{}", done(s(v, "action"), s(v, "outcome")), why(v)),
        "action_verified" => match s(v, "outcome") {
            "success" => format!("{who} {} worked{}", s(v, "action"), why(v)),
            _ => format!("{who} {} did not work{}", s(v, "action"), why(v)),
        },
        "health_changed" => format!("{who} is {} (was {}){}", s(v, "to"), s(v, "from"), why(v)),
        "drift_detected" => format!("{who}: {}{}", s(v, "condition").replace('_', " "), why(v)),
        "reconcile_required" | "reconcile_recommended" | "reconcile_blocked" => format!(
            "{who}: {} {}{}",
            s(v, "action"),
            ty.trim_start_matches("reconcile_"),
            why(v)
        ),
        "failure_predicted" => format!(
            "{who}: {} predicted to reach {} at {}{}",
            s(v, "metric").replace('_', " "),
            v["threshold"],
            s(v, "projected_at"),
            why(v)
        ),
        "circuit_half_open" => format!("{who}: restart circuit half-open, one trial start"),
        "run_finished" => format!(
            "run on {who} finished {}: {} executed, {} failed",
            s(v, "state"),
            v["counts"]["executed"].as_u64().unwrap_or(0),
            v["counts"]["failed"].as_u64().unwrap_or(0)
        ),
        "run_started" => format!("run started on {who}"),
        other => format!("{who}: {}{}", other.replace('_', " "), why(v)),
    };
    let text = crate::text::escape_control(&text).into_owned();
    match text.char_indices().nth(MAX_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

/// Whether the event is bad news (ntfy's `high` priority, a siren tag).
fn alarming(v: &Value) -> bool {
    matches!(s(v, "outcome"), "failed")
        || matches!(s(v, "to"), "dead")
        || matches!(s(v, "type"), "reconcile_blocked" | "webhook_failed")
        || s(v, "state") == "unstable"
        || s(v, "severity") == "unstable"
}

/// Slack's mrkdwn control characters (`&`, `<`, `>`) escaped, so event
/// text cannot make links or `<!channel>` mentions.
fn slack_escape(t: &str) -> String {
    t.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A header value: printable ASCII only (HTTP headers are not UTF-8).
fn header_safe(t: &str) -> String {
    t.chars()
        .map(|c| if (' '..='~').contains(&c) { c } else { '?' })
        .take(200)
        .collect()
}

/// The request for a chat format: content type, extra headers, body.
pub struct Request {
    pub content_type: &'static str,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
}

/// The request posting event `v` (its JSON line) in `format`; `None` for
/// `generic` (the line itself is posted).
pub fn request(format: WebhookFormat, v: &Value) -> Option<Request> {
    let text = line(v);
    let json = "application/json";
    Some(match format {
        WebhookFormat::Generic => return None,
        WebhookFormat::Slack => Request {
            content_type: json,
            headers: vec![],
            body: json!({ "text": slack_escape(&text) }).to_string(),
        },
        // No mention in the text pings anyone.
        WebhookFormat::Discord => Request {
            content_type: json,
            headers: vec![],
            body: json!({ "content": text, "allowed_mentions": { "parse": [] } }).to_string(),
        },
        WebhookFormat::Ntfy => {
            let bad = alarming(v);
            let tag = match (bad, s(v, "type")) {
                (true, _) => "rotating_light",
                (_, "failure_predicted") => "warning",
                (_, _) if s(v, "outcome") == "success" => "white_check_mark",
                _ => "information_source",
            };
            Request {
                content_type: "text/plain; charset=utf-8",
                headers: vec![
                    (
                        "Title",
                        header_safe(&format!("supervisorctl: {} {}", who(v), s(v, "type"))),
                    ),
                    ("Priority", if bad { "high" } else { "default" }.to_string()),
                    (
                        "Tags",
                        format!("{tag},supervisorctl,{}", header_safe(s(v, "type"))),
                    ),
                ],
                body: text,
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_read_as_sentences() {
        let v = json!({"type": "action_executed", "node": "edge-01", "service": "llama-8b",
            "action": "restart", "outcome": "failed", "reason": "`systemctl restart llama` exited 3: out of memory"});
        assert_eq!(
            line(&v),
            "edge-01/llama-8b restart failed: `systemctl restart llama` exited 3: out of memory"
        );
        let v = json!({"type": "health_changed", "node": "n", "service": "s", "from": "healthy", "to": "dead",
            "reason": "exited with status 3 after 4s\n\u{1b}[31m"});
        assert_eq!(
            line(&v),
            "n/s is dead (was healthy): exited with status 3 after 4s\\n\\x1b[31m"
        );
        let v = json!({"type": "run_finished", "node": "n", "state": "unstable", "counts": {"executed": 2, "failed": 1}});
        assert_eq!(line(&v), "run on n finished unstable: 2 executed, 1 failed");
        let long = json!({"type": "drift_detected", "node": "n", "condition": "x", "detail": "é".repeat(5000)});
        assert_eq!(line(&long).chars().count(), MAX_CHARS + 1);
    }

    #[test]
    fn slack_text_cannot_mention_and_ntfy_headers_stay_ascii() {
        let v = json!({"type": "action_executed", "node": "n", "service": "s", "action": "restart",
            "outcome": "failed", "reason": "<!channel> & <http://x|y>"});
        let r = request(WebhookFormat::Slack, &v).unwrap();
        let body: Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(
            body["text"],
            "n/s restart failed: &lt;!channel&gt; &amp; &lt;http://x|y&gt;"
        );
        let r = request(
            WebhookFormat::Ntfy,
            &json!({"type": "health_changed", "node": "nœud", "service": "s", "to": "dead"}),
        )
        .unwrap();
        assert!(
            r.headers.iter().all(|(_, v)| v.is_ascii()),
            "{:?}",
            r.headers
        );
        assert_eq!(r.headers[1], ("Priority", "high".to_string()));
        assert!(request(WebhookFormat::Generic, &v).is_none());
    }
}
