//! `report --out FILE.html [--since 24h]`: gathers what the page shows
//! (hosts/, the checkpoint, the overrides, the event log with its rotated
//! files), has `crate::report` render it, and replaces the file
//! atomically. Nothing unreadable stops it: a corrupt checkpoint gives what
//! its readable services say, torn or invalid event lines are skipped, a
//! hosts/ that does not load leaves the checkpoint and the events to name
//! the services; each is listed on the page (and on stderr).
use crate::exit::Exit;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::checkpoint::{Checkpoint, ServiceState};
use crate::report::{Events, Inputs, NodeInfo};
use crate::store::checkpoint::{load, Loaded};
use crate::store::eventlog::EventReader;

/// Bad lines described per file of the log; the rest are counted.
const BAD_LINES_SHOWN: usize = 5;

pub struct Request<'a> {
    pub hosts: &'a Path,
    pub state_dir: &'a Path,
    pub events_log: PathBuf,
    pub out: &'a Path,
    pub now: DateTime<Utc>,
    pub since: DateTime<Utc>,
}

/// Writes the report; exit 0 when written (whatever could not be read),
/// an error when the file cannot be written.
pub fn run(r: &Request) -> Result<Exit> {
    let started = std::time::Instant::now();
    let inputs = gather(r);
    let html = crate::report::render(&inputs);
    crate::store::atomic::write_atomic_mode(r.out, html.as_bytes(), 0o644)
        .with_context(|| format!("cannot write report `{}`", r.out.display()))?;
    for p in &inputs.problems {
        eprintln!("warning: {}", crate::text::escape_control(p));
    }
    let services: usize = inputs.nodes.iter().map(|n| n.services.len()).sum();
    let text = format!(
        "wrote {} ({}): {} declared on {}, {} shown from the window since {}{}",
        r.out.display(),
        kib(html.len()),
        crate::fmt::count(services as u64, "service", "services"),
        crate::fmt::count(inputs.nodes.len() as u64, "node", "nodes"),
        crate::fmt::count(inputs.events.kept.len() as u64, "event", "events"),
        crate::fmt::ts_secs(r.since),
        match inputs.problems.len() {
            0 => String::new(),
            n => format!(
                "; {} (shown on the page)",
                crate::fmt::count(n as u64, "problem", "problems")
            ),
        }
    );
    super::stdout::message(
        &crate::text::escape_control(&text),
        json!({
            "out": r.out.display().to_string(),
            "bytes": html.len(),
            "nodes": inputs.nodes.len(),
            "services": services,
            "events": inputs.events.kept.len(),
            "problems": inputs.problems,
            "duration_ms": crate::num::millis(started.elapsed()),
        }),
    )?;
    Ok(Exit::Ok)
}

/// A file's size for people: KiB under a MiB.
fn kib(bytes: usize) -> String {
    if bytes < 1 << 20 {
        format!("{} KiB", bytes.div_ceil(1024))
    } else {
        crate::fmt::size(bytes as u64)
    }
}

/// Everything the page is made of; what cannot be read becomes a problem.
pub fn gather(r: &Request) -> Inputs {
    let mut problems = vec![];
    // The report runs nothing from hosts/: its trust check is moot.
    let nodes = if let Some((fleet, _)) = crate::run::load_trusted_fleet(r.hosts, true) {
        NodeInfo::from_fleet(&fleet)
    } else {
        problems.push(format!(
            "hosts/ `{}` could not be loaded (its errors are on stderr): the services shown are those the checkpoint and the events name",
            r.hosts.display()
        ));
        vec![]
    };
    let checkpoint = read_checkpoint(
        &crate::store::Layout::of(r.state_dir).checkpoint(),
        &mut problems,
    );
    let overrides_path = crate::store::Layout::of(r.state_dir).overrides();
    let overrides = crate::store::overrides::load_overrides(&overrides_path).unwrap_or_else(|e| {
        problems.push(format!("{e}: pins and holds are not shown"));
        crate::store::overrides::Overrides::default()
    });
    let events = read_events(&r.events_log, r.since, r.now, &mut problems);
    Inputs {
        title: "Fleet report".to_string(),
        source: format!("state directory {}", r.state_dir.display()),
        made_at: r.now,
        since: r.since,
        nodes,
        checkpoint,
        overrides,
        events,
        problems,
        score: None,
    }
}

/// The checkpoint; when it does not parse as a whole, each service entry
/// that does (a JSON file with one bad entry keeps the others).
fn read_checkpoint(path: &Path, problems: &mut Vec<String>) -> Checkpoint {
    let shown = path.display();
    let error = match load::<Checkpoint>(path) {
        Loaded::Ready(cp) => return cp,
        Loaded::Missing => {
            problems.push(format!(
                "no checkpoint at `{shown}` (no run recorded there yet): states come from the event log"
            ));
            return Checkpoint::default();
        }
        Loaded::Unreadable { error } => error,
    };
    let Loaded::Ready(v) = load::<Value>(path) else {
        problems.push(format!(
            "cannot read checkpoint `{shown}`: {error}; states come from the event log"
        ));
        return Checkpoint::default();
    };
    let mut cp = Checkpoint::default();
    let entries = v.get("services").and_then(Value::as_object);
    let total = entries.map_or(0, serde_json::Map::len);
    for (k, sv) in entries.into_iter().flatten() {
        if let Ok(st) = serde_json::from_value::<ServiceState>(sv.clone()) {
            cp.services.insert(k.clone(), Box::new(st));
        }
    }
    problems.push(format!(
        "checkpoint `{shown}` is not all readable ({error}): {} of {total} service entries read",
        cp.services.len()
    ));
    cp
}

/// The log and its rotated files, oldest first; bad lines are skipped and
/// described (the first few of each file).
fn read_events(
    path: &Path,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
    problems: &mut Vec<String>,
) -> Events {
    let mut events = Events::default();
    let files = match crate::store::rotate::open_all(path) {
        Ok(files) => files,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            problems.push(format!(
                "no event log at `{}`: no timeline, no incident",
                path.display()
            ));
            return events;
        }
        Err(e) => {
            problems.push(format!(
                "{}: no timeline, no incident",
                crate::text::io_error_text(&e)
            ));
            return events;
        }
    };
    for (name, file) in files {
        let mut bad = vec![];
        for item in EventReader::from_file(file) {
            match item {
                Ok(v) if v.is_object() => events.add(v, since, until),
                Ok(_) => bad.push("line is not a JSON object".to_string()),
                Err(b) => bad.push(format!("line {}: {}", b.line, b.error)),
            }
        }
        if !bad.is_empty() {
            let more = bad.len().saturating_sub(BAD_LINES_SHOWN);
            bad.truncate(BAD_LINES_SHOWN);
            problems.push(format!(
                "`{}`: {} skipped ({}{})",
                name.display(),
                crate::fmt::count((bad.len() + more) as u64, "line", "lines"),
                bad.join("; "),
                if more > 0 {
                    format!("; {more} more")
                } else {
                    String::new()
                }
            ));
        }
    }
    events
}
