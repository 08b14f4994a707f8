//! `audit`: the decision records of past runs (one per node per run), from
//! the event log (its rotated files too, oldest first), filtered by time,
//! node and service.
use crate::events::{Body, Common, Decision, EventKind, Stamped};
use crate::exit::Exit;
use serde::Deserialize;
use std::fmt::Write;
use std::path::Path;

use anyhow::Result;
use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::store::eventlog;
use crate::text::escape_control as esc;

pub struct Query {
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub node: Option<String>,
    pub service: Option<String>,
    pub limit: Option<usize>,
}

/// A decision record the query keeps: its common fields, and the record
/// or why this version cannot read it (a value it does not know).
struct Kept {
    common: Common,
    decision: Result<Decision, String>,
}

fn mentions(d: &Decision, service: &str) -> bool {
    let is = |s: &Option<String>| s.as_deref() == Some(service);
    d.proposals.iter().any(|p| is(&p.service))
        || d.actions.iter().any(|a| is(&a.service))
        || d.conflicts.iter().any(|c| is(&c.service))
}

/// The services a record names, read leniently (a record this version
/// cannot read as a decision may still be about the service asked for).
#[derive(Default, serde::Deserialize)]
#[serde(default)]
struct Named {
    #[serde(deserialize_with = "list")]
    proposals: Vec<Common>,
    #[serde(deserialize_with = "list")]
    actions: Vec<Common>,
    #[serde(deserialize_with = "list")]
    conflicts: Vec<Common>,
}

/// A list of entries, each read for its `service`; an entry or a list
/// of another shape names none.
fn list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Common>, D::Error> {
    let any = Value::deserialize(d)?;
    let Value::Array(entries) = any else {
        return Ok(vec![]);
    };
    Ok(entries.iter().filter_map(Common::from_value).collect())
}

fn names(raw: &Value, service: &str) -> bool {
    let named = Named::deserialize(raw).unwrap_or_default();
    [named.proposals, named.actions, named.conflicts]
        .iter()
        .flatten()
        .any(|c| c.service.as_deref() == Some(service))
}

impl Query {
    /// The decision record of a line (as read, kept for `--output json`),
    /// when it is one this query keeps.
    fn keeps(&self, raw: &Value) -> Option<Kept> {
        let common = Common::from_value(raw)?;
        if common.kind.as_deref() != Some(EventKind::Decision.as_str()) {
            return None;
        }
        let decision = Stamped::try_from_value(raw.clone()).and_then(|s| match s.event.body {
            Body::Decision(d) => Ok(d),
            _ => Err("not a decision".to_string()),
        });
        let ts = common
            .ts
            .as_deref()
            .and_then(|t| t.parse::<DateTime<Utc>>().ok());
        let kept = self
            .since
            .is_none_or(|since| ts.is_some_and(|t| t >= since))
            && self.until.is_none_or(|u| ts.is_some_and(|t| t <= u))
            && self
                .node
                .as_deref()
                .is_none_or(|n| common.node.as_deref() == Some(n))
            && self.service.as_deref().is_none_or(|svc| match &decision {
                Ok(d) => mentions(d, svc),
                Err(_) => names(raw, svc),
            });
        kept.then_some(Kept { common, decision })
    }
}

/// Prints matching decision records, oldest first; `--limit N` keeps the last N.
pub fn run(log: &Path, q: &Query, json_out: bool) -> Result<Exit> {
    let reader = match eventlog::read_all(log) {
        Ok(r) => r,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Exit::Ok),
        // The error names the file (the log or a rotated one).
        Err(e) => return Err(e.into()),
    };
    let mut skipped = 0;
    let mut kept: Vec<(Value, Kept)> = reader
        .filter_map(|line| {
            line.ok().filter(Value::is_object).or_else(|| {
                skipped += 1;
                None
            })
        })
        .filter_map(|v| q.keeps(&v).map(|k| (v, k)))
        .collect();
    super::events::warn_skipped(skipped);
    if let Some(n) = q.limit {
        kept.drain(..kept.len().saturating_sub(n));
    }
    let mut out = String::new();
    for (v, k) in &kept {
        if json_out {
            let _ = writeln!(out, "{v}");
        } else {
            record(&mut out, v, k);
        }
    }
    super::stdout::write(&out)?;
    Ok(Exit::Ok)
}

/// One decision record for people: its stamp, then its actions and
/// conflicts, or why this version cannot read it and the line as it is.
fn record(out: &mut String, raw: &Value, kept: &Kept) {
    let stamp = &kept.common;
    let text = |s: &Option<String>| esc(s.as_deref().unwrap_or("-")).into_owned();
    let seq = stamp.seq.map_or_else(|| "-".to_string(), |s| s.to_string());
    let _ = writeln!(
        out,
        "{} {} run {} seq {seq}",
        text(&stamp.ts),
        text(&stamp.node),
        text(&stamp.run_id)
    );
    let decision = match &kept.decision {
        Ok(d) => d,
        Err(why) => {
            let _ = writeln!(
                out,
                "  this version cannot read this record ({}): {}",
                esc(why),
                esc(&raw.to_string())
            );
            return;
        }
    };
    for a in &decision.actions {
        let _ = writeln!(out, "{}", crate::render::action_line(a, ""));
    }
    for c in &decision.conflicts {
        let (w, l) = (c.winner, c.loser);
        let _ = writeln!(
            out,
            "  {:<24} conflict {}/{} over {}/{}",
            esc(c.service.as_deref().unwrap_or("")),
            w.policy.as_str(),
            w.action,
            l.policy.as_str(),
            l.action
        );
    }
}
