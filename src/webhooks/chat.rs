//! Chat formats of a webhook delivery (`webhooks[].format`): one line a
//! person reads, e.g. `edge-01/llama-8b restart failed: exited 3: out of
//! memory`, in the body each service documents for its incoming webhooks:
//! Slack `{"text": …}`, Discord `{"content": …}`, ntfy a plain-text body
//! with `Title`, `Priority` and `Tags` headers. Only `generic` is signed.
use serde::Deserialize;
use serde_json::json;

use crate::checkpoint::Health;
use crate::core::{Action, Severity};
use crate::events::{Body, Event, Outcome};

use crate::desired::WebhookFormat;

/// The longest line sent (Discord takes 2,000 characters; ntfy 4,096 bytes).
const MAX_CHARS: usize = 1900;

/// `: reason` when the event has one (or a `detail`, `error`, `advice`).
fn why(e: &Event) -> String {
    let or = |a: &Option<String>, b: &str| {
        a.as_deref()
            .filter(|r| !r.is_empty())
            .unwrap_or(b)
            .to_string()
    };
    let r = match &e.body {
        Body::ActionExecuted(b) => b.reason.clone(),
        Body::ActionVerified(b) => b.reason.clone(),
        Body::HealthChanged(b) => or(&b.reason, ""),
        Body::DriftDetected(b) => or(&b.reason, &b.detail),
        Body::ReconcileRequired(b) | Body::ReconcileRecommended(b) | Body::ReconcileBlocked(b) => {
            b.reason.clone()
        }
        Body::FailurePredicted(b) if b.reason.is_empty() => b.advice.clone(),
        Body::FailurePredicted(b) => b.reason.clone(),
        Body::ObservationInvalid(b) => b.error.clone(),
        Body::WebhookFailed(b) => b.error.clone(),
        Body::IntentRecovered(b) => b.reason.clone(),
        Body::ServiceRemoved(b) => b.reason.clone(),
        Body::CircuitHalfOpen(b) => b.reason.clone(),
        Body::ThrashDetected(b) => b.reason.clone(),
        Body::TuningChanged(b) => b.reason.clone(),
        Body::RunStarted(_)
        | Body::ConflictResolved(_)
        | Body::Decision(_)
        | Body::RunFinished(_)
        | Body::ConfigInsecure(_)
        | Body::OrphanDetected(_)
        | Body::ReplayScore(_) => String::new(),
    };
    if r.is_empty() {
        r
    } else {
        format!(": {r}")
    }
}

/// Where it happened: `node/service`, the node, or `fleet`.
fn who(e: &Event) -> String {
    let s = |v: &Option<String>| v.clone().unwrap_or_default();
    match (s(&e.node).as_str(), s(&e.service).as_str()) {
        ("", "") => "fleet".to_string(),
        (n, "") => n.to_string(),
        ("", svc) => svc.to_string(),
        (n, svc) => format!("{n}/{svc}"),
    }
}

/// What an action's outcome reads as: `restarted`, `restart failed`, …
fn done(action: Action, outcome: Outcome) -> String {
    let past = match action {
        Action::Restart => "restarted",
        Action::Evict => "evicted",
        Action::Preload => "preloaded",
        Action::ActivateFallback => "switched to its fallback",
        Action::DeactivateFallback => "switched back from its fallback",
        other => return format!("{other} {outcome}"),
    };
    match outcome {
        Outcome::Success => past.to_string(),
        Outcome::Started => format!("{action} started"),
        other => format!("{action} {other}"),
    }
}

/// The event as one line for people (control characters escaped).
pub fn line(e: &Event) -> String {
    let who = who(e);
    let why = why(e);
    let ty = e.kind().as_str();
    let text = match &e.body {
        Body::ActionExecuted(b) => format!("{who} {}{why}", done(b.action, b.outcome)),
        Body::ActionVerified(b) if b.outcome == Outcome::Success => {
            format!("{who} {} worked{why}", b.action)
        }
        Body::ActionVerified(b) => format!("{who} {} did not work{why}", b.action),
        Body::HealthChanged(b) => {
            format!("{who} is {} (was {}){why}", b.to.as_str(), b.from.as_str())
        }
        Body::DriftDetected(b) => {
            format!("{who}: {}{why}", b.condition.as_str().replace('_', " "))
        }
        Body::ReconcileRequired(b) | Body::ReconcileRecommended(b) | Body::ReconcileBlocked(b) => {
            format!(
                "{who}: {} {}{why}",
                b.action,
                ty.trim_start_matches("reconcile_")
            )
        }
        Body::FailurePredicted(b) => format!(
            "{who}: {} predicted to reach {} at {}{why}",
            b.metric.replace('_', " "),
            b.threshold,
            b.projected_at,
        ),
        Body::CircuitHalfOpen(_) => format!("{who}: restart circuit half-open, one trial start"),
        Body::RunFinished(b) => format!(
            "run on {who} finished {}: {} executed, {} failed",
            b.state, b.counts.executed, b.counts.failed
        ),
        Body::RunStarted(_) => format!("run started on {who}"),
        _ => format!("{who}: {}{why}", ty.replace('_', " ")),
    };
    cut(crate::text::escape_control(&text).into_owned())
}

/// At most [`MAX_CHARS`] characters, an ellipsis after a cut.
fn cut(text: String) -> String {
    match text.char_indices().nth(MAX_CHARS) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text,
    }
}

/// Whether the event is bad news (ntfy's `high` priority, a siren tag).
fn alarming(e: &Event) -> bool {
    match &e.body {
        Body::ActionExecuted(b) => b.outcome == Outcome::Failed,
        Body::ActionVerified(b) => b.outcome == Outcome::Failed,
        Body::ServiceRemoved(b) => b.outcome == Outcome::Failed,
        Body::HealthChanged(b) => b.to == Health::Dead,
        Body::ReconcileBlocked(_) | Body::WebhookFailed(_) => true,
        Body::RunFinished(b) => b.state == "unstable",
        Body::ReconcileRequired(b) | Body::ReconcileRecommended(b) => {
            b.severity == Severity::Unstable
        }
        _ => false,
    }
}

/// Whether the event says something worked (ntfy's check-mark tag).
fn succeeded(e: &Event) -> bool {
    match &e.body {
        Body::ActionExecuted(b) => b.outcome == Outcome::Success,
        Body::ActionVerified(b) => b.outcome == Outcome::Success,
        _ => false,
    }
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

/// What a chat message says of one event: its sentence, who and what it is
/// about, and how it reads (bad news, good news, a warning).
struct Said {
    text: String,
    who: String,
    kind: String,
    bad: bool,
    good: bool,
    warning: bool,
}

impl Said {
    fn of(e: &Event) -> Said {
        Said {
            text: line(e),
            who: who(e),
            kind: e.kind().as_str().to_string(),
            bad: alarming(e),
            good: succeeded(e),
            warning: matches!(e.body, Body::FailurePredicted(_)),
        }
    }

    /// A line this version cannot read as an event (a type it does not
    /// know, a value outside its vocabulary, kept from another version):
    /// said from its common fields and its reason, as the words of any
    /// event are, never posted raw to a chat.
    fn foreign(l: &Loose) -> Said {
        fn s(t: &Text) -> &str {
            t.0.as_deref().unwrap_or("")
        }
        let who = match (s(&l.node), s(&l.service)) {
            ("", "") => "fleet".to_string(),
            (n, "") => n.to_string(),
            ("", svc) => svc.to_string(),
            (n, svc) => format!("{n}/{svc}"),
        };
        let why = [&l.reason, &l.detail, &l.error, &l.advice]
            .into_iter()
            .map(s)
            .find(|r| !r.is_empty())
            .map(|r| format!(": {r}"))
            .unwrap_or_default();
        // A type is a word of `[a-z_]` (a header and a tag carry it).
        let kind: String = s(&l.kind)
            .chars()
            .filter(|c| c.is_ascii_lowercase() || *c == '_')
            .take(64)
            .collect();
        let what = match kind.as_str() {
            "" => "an event this version cannot read".to_string(),
            k => k.replace('_', " "),
        };
        let text = crate::text::escape_control(&format!("{who}: {what}{why}")).into_owned();
        Said {
            bad: s(&l.outcome) == "failed"
                || s(&l.to) == "dead"
                || matches!(kind.as_str(), "reconcile_blocked" | "webhook_failed")
                || s(&l.state) == "unstable"
                || s(&l.severity) == "unstable",
            good: s(&l.outcome) == "success",
            warning: kind == "failure_predicted",
            text: cut(text),
            who,
            kind,
        }
    }
}

/// The fields of any event line that a message may say, each a string or
/// nothing (absent, or of another type).
#[derive(Default, Deserialize)]
#[serde(default)]
struct Loose {
    #[serde(rename = "type")]
    kind: Text,
    node: Text,
    service: Text,
    reason: Text,
    detail: Text,
    error: Text,
    advice: Text,
    outcome: Text,
    to: Text,
    state: Text,
    severity: Text,
}

#[derive(Default)]
struct Text(Option<String>);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let any = serde_json::Value::deserialize(d)?;
        Ok(Text(any.as_str().map(str::to_string)))
    }
}

/// The request posting the event of `line` (a stamped event line) in
/// `format`; `None` for `generic` (the line itself is posted).
pub fn request(format: WebhookFormat, line: &str) -> Option<Request> {
    if format == WebhookFormat::Generic {
        return None;
    }
    // Never the raw line to a chat: a line that is not even a JSON object
    // (torn, nested past the parser's depth) is said as unreadable.
    let said = match crate::events::Stamped::parse(line) {
        Some(s) => Said::of(&s.event),
        None => Said::foreign(&serde_json::from_str::<Loose>(line).unwrap_or_default()),
    };
    Some(said.request(format))
}

impl Said {
    fn request(self, format: WebhookFormat) -> Request {
        let json = "application/json";
        let text = self.text;
        match format {
            WebhookFormat::Generic | WebhookFormat::Slack => Request {
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
                let tag = match (self.bad, self.warning, self.good) {
                    (true, _, _) => "rotating_light",
                    (_, true, _) => "warning",
                    (_, _, true) => "white_check_mark",
                    _ => "information_source",
                };
                let kind = if self.kind.is_empty() {
                    "event"
                } else {
                    &self.kind
                };
                let ty = header_safe(kind);
                Request {
                    content_type: "text/plain; charset=utf-8",
                    headers: vec![
                        (
                            "Title",
                            header_safe(&format!("supervisorctl: {} {kind}", self.who)),
                        ),
                        ("Priority", if self.bad { "high" } else { "default" }.into()),
                        ("Tags", format!("{tag},supervisorctl,{ty}")),
                    ],
                    body: text,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// The event of a line (as a delivery reads it back).
    fn ev(json: &Value) -> Event {
        crate::events::Stamped::from_value(json.clone())
            .unwrap_or_else(|| panic!("not an event: {json}"))
            .event
    }

    fn line(json: &Value) -> String {
        super::line(&ev(json))
    }

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
        let long = json!({"type": "drift_detected", "node": "n", "condition": "idle", "detail": "é".repeat(5000)});
        assert_eq!(line(&long).chars().count(), MAX_CHARS + 1);
    }

    #[test]
    fn slack_text_cannot_mention_and_ntfy_headers_stay_ascii() {
        let v = json!({"type": "action_executed", "node": "n", "service": "s", "action": "restart",
            "outcome": "failed", "reason": "<!channel> & <http://x|y>"});
        let r = request(WebhookFormat::Slack, &v.to_string()).unwrap();
        let body: Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(
            body["text"],
            "n/s restart failed: &lt;!channel&gt; &amp; &lt;http://x|y&gt;"
        );
        let r = request(
            WebhookFormat::Ntfy,
            &json!({"type": "health_changed", "node": "nœud", "service": "s", "to": "dead"})
                .to_string(),
        )
        .unwrap();
        assert!(
            r.headers.iter().all(|(_, v)| v.is_ascii()),
            "{:?}",
            r.headers
        );
        assert_eq!(r.headers[1], ("Priority", "high".to_string()));
        assert!(request(WebhookFormat::Generic, &v.to_string()).is_none());
    }

    /// A walk found a delivery retried from the outbox posted raw to a
    /// chat (`application/json`, no ntfy headers) when its line was of a
    /// type, or had a value, this version does not know.
    #[test]
    fn a_line_this_version_cannot_read_is_still_said_in_words() {
        let unknown_outcome = json!({"type": "action_executed", "node": "n1", "service": "web",
            "action": "restart", "outcome": "brand_new_outcome", "reason": "x"});
        let r = request(WebhookFormat::Slack, &unknown_outcome.to_string()).unwrap();
        let body: Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(body["text"], "n1/web: action executed: x");
        let future = json!({"type": "from_the_future", "node": "n1", "service": null,
            "severity": "unstable", "reason": 7, "detail": "\u{1b}[2J disk"});
        let r = request(WebhookFormat::Ntfy, &future.to_string()).unwrap();
        assert_eq!(r.body, "n1: from the future: \\x1b[2J disk");
        assert_eq!(r.headers[1], ("Priority", "high".to_string()));
        assert!(
            r.headers[2].1.starts_with("rotating_light,"),
            "{:?}",
            r.headers
        );
        let r = request(WebhookFormat::Discord, &future.to_string()).unwrap();
        assert!(r.body.contains("allowed_mentions"), "{}", r.body);
        // Not even an object: said as unreadable, never posted raw.
        let r = request(WebhookFormat::Slack, "not json \u{1b}[31m").unwrap();
        let body: Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(body["text"], "fleet: an event this version cannot read");
        let deep = format!(
            r#"{{"content":"@everyone","reason":{}1{}}}"#,
            "[".repeat(200),
            "]".repeat(200)
        );
        let r = request(WebhookFormat::Discord, &deep).unwrap();
        assert!(r.body.contains("allowed_mentions"), "{}", r.body);
        assert!(!r.body.contains("@everyone"), "{}", r.body);
        let odd = json!({"type": "a,b\nc", "node": "n1"}).to_string();
        let r = request(WebhookFormat::Ntfy, &odd).unwrap();
        assert_eq!(r.headers[2].1, "information_source,supervisorctl,abc");
    }
}
