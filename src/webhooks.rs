//! Webhooks (SPEC §7): each event of a listed type is POSTed as its JSON
//! line, signed with `X-Supervisor-Signature: sha256=<hex HMAC-SHA256 of the
//! body>` when the webhook has a `secret_file`. A failed delivery becomes a
//! `webhook_failed` event and never fails the run.
//!
//! Guarantees: 5 s timeout per delivery; after one failure, the remaining
//! deliveries to that URL in this run are not attempted (each is still
//! reported), so a dead receiver costs one timeout, not one per event.
//! Events of a node go to that node's webhooks; events with no node
//! (`run_started`, `run_finished`, …) to every webhook of the fleet that
//! lists them, once per URL.
use std::collections::BTreeMap;
use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use serde_json::Value;
use sha2::Sha256;

use crate::desired::{Fleet, Webhook};
use crate::events::Event;

pub const TIMEOUT: Duration = Duration::from_secs(5);

/// `sha256=<hex>` of HMAC-SHA256(secret, body).
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(body);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256={hex}")
}

fn wants(hook: &Webhook, ty: &str) -> bool {
    hook.events.is_empty() || hook.events.iter().any(|e| e == ty)
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

fn post(agent: &ureq::Agent, hook: &Webhook, body: &str) -> Result<(), String> {
    let mut req = agent
        .post(&hook.url)
        .header("content-type", "application/json");
    if let Some(path) = &hook.secret_file {
        let secret = std::fs::read(path)
            .map_err(|e| format!("cannot read secret_file `{}`: {e}", path.display()))?;
        let secret = secret.strip_suffix(b"\n").unwrap_or(&secret);
        req = req.header("X-Supervisor-Signature", signature(secret, body.as_bytes()));
    }
    match req.send(body) {
        Ok(resp) if resp.status().is_success() => Ok(()),
        Ok(resp) => Err(format!("http {}", resp.status().as_u16())),
        Err(e) => Err(e.to_string()),
    }
}

/// Delivers the stamped `lines` (one event each, with the trailing newline);
/// returns a `webhook_failed` event per failed delivery.
pub fn deliver(fleet: &Fleet, lines: &[String]) -> Vec<Event> {
    let any = fleet
        .nodes
        .values()
        .any(|n| !n.settings.webhooks.is_empty());
    if !any {
        return vec![];
    }
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(TIMEOUT))
        .http_status_as_error(false)
        .build()
        .into();
    let mut dead: BTreeMap<String, String> = BTreeMap::new();
    let mut failed = vec![];
    for line in lines {
        let Ok(v) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        let ty = v["type"].as_str().unwrap_or("");
        let node = v["node"].as_str();
        for hook in targets(fleet, node, ty) {
            let result = match dead.get(&hook.url) {
                Some(first) => Err(format!(
                    "not attempted: an earlier delivery to this URL failed in this run ({first})"
                )),
                None => post(&agent, hook, line.trim_end()),
            };
            if let Err(error) = result {
                dead.entry(hook.url.clone())
                    .or_insert_with(|| error.clone());
                failed.push(
                    Event::new("webhook_failed", node, v["service"].as_str())
                        .with("url", hook.url.as_str())
                        .with("event_type", ty)
                        .with("event_seq", v["seq"].clone())
                        .with("error", error),
                );
            }
        }
    }
    failed
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
