//! Webhooks (docs/reference/events.md, "Webhooks"; docs/reference/behaviour.md, "Webhooks after the record"): each event of a listed type is sent in a POST as its JSON
//! line, signed with `X-Supervisor-Signature: sha256=<hex HMAC-SHA256 of the
//! body>` when the webhook has a `secret_file`; with `format: slack`,
//! `discord` or `ntfy`, as one line for people in that service's shape
//! (`chat.rs`), unsigned. Deliveries happen after the
//! run's record is durable; a failed one is kept (`store::outbox`), retried
//! by the next run and reported there as `webhook_failed`. It never fails
//! the run.
//!
//! Guarantees: 5 s timeout per delivery; after one failure, the remaining
//! deliveries to that URL in this run are not attempted (each is kept for
//! the next run), so a dead receiver costs one timeout, not one per event.
//! Owed deliveries go first, oldest first, so a receiver sees each URL's
//! events in `seq` order.
//! Events of a node go to that node's webhooks; events with no node
//! (`run_started`, `run_finished`, …) to every webhook of the fleet that
//! lists them, once per URL.
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use serde_json::Value;
use sha2::Sha256;

use crate::desired::{Fleet, Webhook};
use crate::events::{Body, Common, Event, EventKind, WebhookFailed};
use crate::store::outbox::Pending;

pub mod chat;

pub const TIMEOUT: Duration = Duration::from_secs(5);

/// `sha256=<hex>` of HMAC-SHA256(secret, body).
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(body);
    let mut out = String::from("sha256=");
    for b in mac.finalize().into_bytes() {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// Whether `hook` takes events of type `ty`. Without a list, every type
/// but `webhook_failed`: reports of failed deliveries would themselves be
/// owed to the receiver that is down, and double every run.
fn wants(hook: &Webhook, ty: &str) -> bool {
    if hook.events.is_empty() {
        ty != EventKind::WebhookFailed.as_str()
    } else {
        hook.events.iter().any(|e| e == ty)
    }
}

/// The webhooks an event goes to: its node's, or every node's for node-less events.
fn targets<'a>(fleet: &'a Fleet, node: Option<&str>, ty: &str) -> Vec<&'a Webhook> {
    let mut by_url: BTreeMap<&str, &Webhook> = BTreeMap::new();
    let nodes: Vec<_> = match node {
        Some(n) => fleet.nodes.get(n).into_iter().collect(),
        None => fleet.nodes.values().collect(),
    };
    for n in nodes {
        for h in n.settings.webhooks.iter().filter(|h| wants(h, ty)) {
            by_url.entry(h.url.as_str()).or_insert(h);
        }
    }
    by_url.into_values().collect()
}

/// The largest `secret_file` read: a key, not a document.
const MAX_SECRET_BYTES: u64 = 64 << 10;

fn post(agent: &ureq::Agent, hook: &Webhook, line: &str) -> Result<(), String> {
    let chat = chat::request(hook.format, line);
    let (content_type, body) = match &chat {
        Some(c) => (c.content_type, c.body.as_str()),
        None => ("application/json", line),
    };
    let mut req = agent.post(&hook.url).header("content-type", content_type);
    for (name, value) in chat.iter().flat_map(|c| &c.headers) {
        req = req.header(*name, value.as_str());
    }
    if let (Some(path), None) = (&hook.secret_file, &chat) {
        let secret = crate::desired::opened::read_small_file(path, MAX_SECRET_BYTES)
            .map_err(|e| format!("cannot read secret_file `{}`: {e}", path.display()))?;
        let secret = secret.strip_suffix(b"\n").unwrap_or(&secret);
        req = req.header("X-Supervisor-Signature", signature(secret, body.as_bytes()));
    }
    match req.send(body) {
        Ok(resp) if resp.status().is_success() => Ok(()),
        Ok(resp) => Err(format!("HTTP {}", resp.status().as_u16())),
        Err(ureq::Error::Timeout(_)) => {
            Err(format!("timed out after {}", crate::fmt::duration(TIMEOUT)))
        }
        Err(e) => Err(crate::http::tls_reason(&e).unwrap_or_else(|| e.to_string())),
    }
}

/// The deliveries a run's `events` call for; `lines`: each one's line.
pub fn owed(fleet: &Fleet, events: &[Event], lines: &[String]) -> Vec<Pending> {
    let mut out = vec![];
    for (e, line) in events.iter().zip(lines) {
        // A failed delivery is never reported to the receiver it failed for.
        let about = match &e.body {
            Body::WebhookFailed(f) => Some(f.url.as_str()),
            _ => None,
        };
        for hook in targets(fleet, e.node.as_deref(), e.kind().as_str())
            .into_iter()
            .filter(|h| Some(h.url.as_str()) != about)
        {
            out.push(Pending {
                url: hook.url.clone(),
                line: line.trim_end().to_string(),
                attempts: 0,
                error: String::new(),
                reported: false,
            });
        }
    }
    out
}

/// Tries every delivery in `owed`; returns those that failed, their
/// `attempts` and `error` updated. A URL no longer configured is dropped.
pub fn deliver(fleet: &Fleet, owed: Vec<Pending>) -> Vec<Pending> {
    if owed.is_empty() {
        return owed;
    }
    let hooks: BTreeMap<&str, &Webhook> = fleet
        .nodes
        .values()
        .flat_map(|n| n.settings.webhooks.iter())
        .map(|h| (h.url.as_str(), h))
        .collect();
    let mut dead: BTreeMap<String, String> = BTreeMap::new();
    let mut failed = vec![];
    for mut p in owed {
        let Some(hook) = hooks.get(p.url.as_str()) else {
            continue;
        };
        let result = match dead.get(&p.url) {
            Some(first) => Err(format!(
                "not attempted: an earlier delivery to this URL failed ({first})"
            )),
            None => crate::http::agent(TIMEOUT, hook.ca_file.as_deref())
                .and_then(|agent| post(&agent, hook, &p.line)),
        };
        if let Err(error) = result {
            // Only a delivery that was tried counts as an attempt.
            if !dead.contains_key(&p.url) {
                p.attempts += 1;
            }
            dead.entry(p.url.clone()).or_insert_with(|| error.clone());
            p.error = error;
            failed.push(p);
        }
    }
    failed
}

/// The `webhook_failed` event for a delivery still owed from an earlier run.
pub fn failed_event(p: &Pending) -> Event {
    // Its common fields only: an event of a type this version does not
    // know (kept by another) is still said as it was.
    let c = Common::parse(&p.line).unwrap_or_default();
    let body = WebhookFailed {
        attempts: p.attempts,
        error: p.error.clone(),
        // Every event has its own `seq` and `run_id`: the undelivered
        // event's are `event_seq` and `event_run_id`.
        event_run_id: c.run_id.map_or(Value::Null, Value::from),
        event_seq: c.seq.map_or(Value::Null, Value::from),
        event_type: c.kind.map_or(Value::Null, Value::from),
        url: p.url.clone(),
    };
    Event::new(c.node.as_deref(), c.service.as_deref(), body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_rfc_4231_case_2() {
        // RFC 4231, test case 2: key "Jefe".
        let sig = signature(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            sig,
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
