//! `audit`: the decision records of past runs (one per node per run), from
//! the event log, filtered by time, node and service.
use std::path::Path;

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::store::eventlog;

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
        if e["type"] != "decision" {
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
pub fn run(log: &Path, q: &Query, json_out: bool) -> Result<i32> {
    let reader = match eventlog::read(log) {
        Ok(r) => r,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => {
            return Err(e).with_context(|| format!("cannot read event log `{}`", log.display()))
        }
    };
    let mut kept: Vec<Value> = reader
        .filter_map(Result::ok)
        .filter(|e| q.keeps(e))
        .collect();
    if let Some(n) = q.limit {
        kept.drain(..kept.len().saturating_sub(n));
    }
    for d in &kept {
        if json_out {
            println!("{d}");
            continue;
        }
        println!(
            "{} {} run {} seq {}",
            d["ts"].as_str().unwrap_or(""),
            d["node"].as_str().unwrap_or(""),
            d["run_id"].as_str().unwrap_or(""),
            d["seq"]
        );
        for a in d["actions"].as_array().into_iter().flatten() {
            let reason = a["reason"]
                .as_str()
                .filter(|r| !r.is_empty())
                .map(|r| format!(" ({r})"))
                .unwrap_or_default();
            println!(
                "  {:<24} {} {}{reason}",
                a["service"].as_str().unwrap_or(""),
                a["action"].as_str().unwrap_or(""),
                a["outcome"].as_str().unwrap_or("")
            );
        }
        for c in d["conflicts"].as_array().into_iter().flatten() {
            println!(
                "  {:<24} conflict {}/{} over {}/{}",
                c["service"].as_str().unwrap_or(""),
                c["winner"]["policy"].as_str().unwrap_or(""),
                c["winner"]["action"].as_str().unwrap_or(""),
                c["loser"]["policy"].as_str().unwrap_or(""),
                c["loser"]["action"].as_str().unwrap_or("")
            );
        }
    }
    Ok(0)
}
