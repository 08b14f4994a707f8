//! `audit`: the decision records of past runs (one per node per run), from
//! the event log (its rotated files too, oldest first), filtered by time,
//! node and service.
use crate::events::EventKind;
use crate::exit::Exit;
use std::fmt::Write;
use std::path::Path;

use anyhow::Result;
use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::store::eventlog;
use crate::text::escape_control;

/// A string of a record for human output: control characters escaped
/// (reasons carry commands' stderr); "" when absent or not a string.
fn text(v: &Value) -> std::borrow::Cow<'_, str> {
    escape_control(v.as_str().unwrap_or(""))
}

pub struct Query {
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub node: Option<String>,
    pub service: Option<String>,
    pub limit: Option<usize>,
}

fn mentions(decision: &Value, service: &str) -> bool {
    ["proposals", "actions", "conflicts"].iter().any(|k| {
        decision[*k]
            .as_array()
            .is_some_and(|items| items.iter().any(|i| i["service"] == service))
    })
}

impl Query {
    fn keeps(&self, e: &Value) -> bool {
        if e["type"] != EventKind::Decision.as_str() {
            return false;
        }
        let ts = e["ts"]
            .as_str()
            .and_then(|t| t.parse::<DateTime<Utc>>().ok());
        self.since.is_none_or(|s| ts.is_some_and(|t| t >= s))
            && self.until.is_none_or(|u| ts.is_some_and(|t| t <= u))
            && self.node.as_deref().is_none_or(|n| e["node"] == n)
            && self.service.as_deref().is_none_or(|s| mentions(e, s))
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
    let mut kept: Vec<Value> = reader
        .filter_map(Result::ok)
        .filter(|e| q.keeps(e))
        .collect();
    if let Some(n) = q.limit {
        kept.drain(..kept.len().saturating_sub(n));
    }
    let mut out = String::new();
    for d in &kept {
        if json_out {
            let _ = writeln!(out, "{d}");
            continue;
        }
        let _ = writeln!(
            out,
            "{} {} run {} seq {}",
            text(&d["ts"]),
            text(&d["node"]),
            text(&d["run_id"]),
            d["seq"]
        );
        for a in d["actions"].as_array().into_iter().flatten() {
            let _ = writeln!(out, "{}", crate::render::action_line(a, ""));
        }
        for c in d["conflicts"].as_array().into_iter().flatten() {
            let _ = writeln!(
                out,
                "  {:<24} conflict {}/{} over {}/{}",
                text(&c["service"]),
                text(&c["winner"]["policy"]),
                text(&c["winner"]["action"]),
                text(&c["loser"]["policy"]),
                text(&c["loser"]["action"])
            );
        }
    }
    super::stdout::write(&out)?;
    Ok(Exit::Ok)
}
