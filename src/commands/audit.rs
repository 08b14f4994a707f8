//! `audit`: the decision records of past runs (one per node per run), from
//! the event log (its rotated files too, oldest first), filtered by time,
//! node and service.
use crate::events::{Body, Decision, Stamped};
use crate::exit::Exit;
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

fn mentions(d: &Decision, service: &str) -> bool {
    let is = |s: &Option<String>| s.as_deref() == Some(service);
    d.proposals.iter().any(|p| is(&p.service))
        || d.actions.iter().any(|a| is(&a.service))
        || d.conflicts.iter().any(|c| is(&c.service))
}

impl Query {
    /// The decision record of a line (as read, kept for `--output json`),
    /// when it is one this query keeps.
    fn keeps(&self, raw: &Value) -> Option<Stamped> {
        let s = Stamped::from_value(raw.clone())?;
        let Body::Decision(d) = &s.body else {
            return None;
        };
        let ts = s.ts.parse::<DateTime<Utc>>().ok();
        let kept = self
            .since
            .is_none_or(|since| ts.is_some_and(|t| t >= since))
            && self.until.is_none_or(|u| ts.is_some_and(|t| t <= u))
            && self
                .node
                .as_deref()
                .is_none_or(|n| s.node.as_deref() == Some(n))
            && self.service.as_deref().is_none_or(|svc| mentions(d, svc));
        kept.then_some(s)
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
    let mut kept: Vec<(Value, Stamped)> = reader
        .filter_map(Result::ok)
        .filter_map(|v| q.keeps(&v).map(|s| (v, s)))
        .collect();
    if let Some(n) = q.limit {
        kept.drain(..kept.len().saturating_sub(n));
    }
    let mut out = String::new();
    for (v, s) in &kept {
        if json_out {
            let _ = writeln!(out, "{v}");
            continue;
        }
        let Body::Decision(d) = &s.body else {
            continue;
        };
        let _ = writeln!(
            out,
            "{} {} run {} seq {}",
            esc(&s.ts),
            esc(s.node.as_deref().unwrap_or("")),
            esc(&s.run_id),
            s.seq
        );
        for a in &d.actions {
            let _ = writeln!(out, "{}", crate::render::action_line(a, ""));
        }
        for c in &d.conflicts {
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
    super::stdout::write(&out)?;
    Ok(Exit::Ok)
}
