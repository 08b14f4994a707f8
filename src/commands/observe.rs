//! `observe --out DIR`: probe this machine and write what was seen as a world
//! directory (nodes/, services/, resources/), so a real machine can be
//! recorded as a fixture or serve as the observer for its own node.
use crate::exit::Exit;
use std::collections::HashMap;
use std::path::Path;

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::desired::NodeSpec;
use crate::probe::{self, ProbeOptions, ProbeOutcome, ProcessState};
use crate::run::format_ts;
use crate::store::dirhandle::DirHandle;

pub fn run(node: &NodeSpec, out: &Path, state_dir: &Path, now: DateTime<Utc>) -> Result<Exit> {
    // Not through a symlink either: a planted `/tmp/out -> /etc` link must
    // not receive root's records.
    if std::fs::symlink_metadata(out).is_ok_and(|m| m.file_type().is_symlink()) {
        anyhow::bail!(
            "`{}` is a symbolic link; refusing to write through it\n\nhint: pass the folder it points to, if that is what you mean",
            out.display()
        );
    }
    let dir = open_out(out)?;
    let written = observe_once(node, &dir, state_dir, now)?;
    let text = format!(
        "wrote node `{}` ({}) to `{}`",
        node.name,
        crate::fmt::count(written as u64, "service record", "service records"),
        out.display()
    );
    super::stdout::message(
        &text,
        json!({"node": node.name, "out": out.display().to_string(), "records": written}),
    )?;
    Ok(Exit::Ok)
}

/// Opens `--out` once, creating it if missing, before anything is probed:
/// every later write goes through this open folder, so a symlink swapped
/// in meanwhile, at `out` or under it, is never followed
/// (`store::dirhandle`). As root, an existing folder must be root's: its
/// owner could rename what is in it while the probes run.
pub(super) fn open_out(out: &Path) -> Result<DirHandle> {
    let dir = DirHandle::create_or_open(out)?;
    let owner = dir.owner()?;
    if nix::unistd::geteuid().is_root() && owner != 0 {
        anyhow::bail!(
            "refusing `--out` folder `{0}`: as root, it must be owned by root, and it is owned by uid {owner}\n\nhint: whoever owns it could swap what is in it while the probes run; choose a folder of root's, or `chown root:root {0}`",
            out.display()
        );
    }
    Ok(dir)
}

/// Probes the node once and writes what was seen under `out`; returns the
/// number of service records written.
pub fn observe_once(
    node: &NodeSpec,
    out: &DirHandle,
    state_dir: &Path,
    now: DateTime<Utc>,
) -> Result<usize> {
    let opts = ProbeOptions {
        state_dir: Some(state_dir.to_path_buf()),
        ..ProbeOptions::default()
    };
    let live = probe::probe_node(node, &HashMap::new(), &opts);
    let ts = format_ts(now);
    let put = |folder: String, name: String, v: Value| -> Result<()> {
        // Through the open folder, one component at a time: a `resources`
        // link, planted before or swapped in during the probes, is refused.
        let dir = out.create_dirs(Path::new(&folder))?;
        let mut body = crate::text::json_escape_c1(&serde_json::to_string_pretty(&v)?)
            .into_owned()
            .into_bytes();
        body.push(b'\n');
        dir.write_file(&name, &body)
            .with_context(|| format!("cannot write `{}`", dir.path().join(&name).display()))
    };
    put(
        "nodes".into(),
        format!("{}.json", node.name),
        json!({"status": "online", "last_seen": ts}),
    )?;
    let gpus: Vec<Value> = live
        .gpus
        .iter()
        .map(|g| {
            json!({"index": g.index, "name": g.name, "memory_total_bytes": g.memory_total_bytes,
                   "memory_used_bytes": g.memory_used_bytes, "temperature_c": g.temperature_c, "utilization": g.utilization})
        })
        .collect();
    let memory = live
        .memory
        .map(|m| json!({"total_bytes": m.total_bytes, "used_bytes": m.used_bytes}));
    put(
        "resources".into(),
        format!("{}.json", node.name),
        json!({"observed_at": ts, "memory": memory, "gpus": gpus}),
    )?;
    let mut written = 0;
    for (name, s) in &live.services {
        let healthy = s
            .health
            .as_ref()
            .filter(|h| !matches!(h, ProbeOutcome::Unknown(_)))
            .map(|h| matches!(h, ProbeOutcome::Up));
        let (status, pid, rss) = match &s.process {
            ProcessState::Found(p) => (
                if healthy == Some(false) {
                    "degraded"
                } else {
                    "ok"
                },
                Some(p.identity.pid),
                Some(p.rss_bytes),
            ),
            ProcessState::NotFound | ProcessState::StalePidfile { .. } => ("stopped", None, None),
            // Which process is the service is unknown: no record beats a wrong one.
            ProcessState::Ambiguous { pids } => {
                eprintln!(
                    "warning: service `{name}`: {} processes match (pids {pids:?}); no record written",
                    pids.len()
                );
                continue;
            }
            ProcessState::UnknownUser(user) => {
                eprintln!("warning: service `{name}`: `process.user` `{user}` is no user of this machine; no record written");
                continue;
            }
            ProcessState::NotConfigured => match healthy {
                Some(true) => ("ok", None, None),
                Some(false) => ("failed", None, None),
                None => continue, // nothing to say about it
            },
        };
        let mut rec = json!({"status": status, "observed_at": ts});
        // Why it is not ok: an extension field, ignored by older readers.
        let reason = s.failure_reason();
        if let Some(r) = reason {
            rec["reason"] = json!(r);
        }
        // The probe's raw result, so that a replay of these records counts
        // failing probes as a live run would (degraded_after, dead_after).
        if matches!(s.process, ProcessState::Found(_)) && healthy == Some(false) {
            rec["probe"] = json!("failing");
        }
        if let Some(pid) = pid {
            rec["pid"] = json!(pid);
        }
        if let Some(rss) = rss {
            rec["memory_bytes"] = json!(rss);
        }
        if let Some(g) = s.gpu_memory_bytes {
            rec["gpu_memory_bytes"] = json!(g);
        }
        if let Some(took) = s.health_latency.filter(|_| healthy == Some(true)) {
            rec["probe_latency_ms"] =
                json!((took.as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0);
        }
        let folder = format!("services/{}", node.name);
        if let Some(Ok(reading)) = &s.activity {
            let before = previous(out, &folder, name);
            activity_fields(&mut rec, reading, before.as_ref(), &ts);
        }
        put(folder, format!("{name}.json"), rec)?;
        written += 1;
    }
    Ok(written)
}

/// The record this observer wrote last time for `name`, if readable: the
/// counter's last value and the last activity come from it.
fn previous(out: &DirHandle, folder: &str, name: &str) -> Option<Value> {
    let dir = out.create_dirs(Path::new(folder)).ok()?;
    let bytes = dir
        .read_file(&format!("{name}.json"), crate::world::load::FILE_LIMIT)
        .ok()??;
    serde_json::from_slice(&bytes).ok()
}

/// `last_activity`, `requests_total` and `in_flight` from an activity
/// reading (docs/reference/behaviour.md, "Activity"): in use now (a counter that changed since the last
/// record, a request in flight, a connection) is `now`; not in use keeps
/// the last record's time, and a first reading starts the clock at `now`
/// (idleness is never counted from before it could be seen). Activity that
/// cannot be read writes none of these: unknown is never idle.
pub(crate) fn activity_fields(
    rec: &mut Value,
    reading: &probe::ActivityReading,
    before: Option<&Value>,
    now: &str,
) {
    let prev_total = before.and_then(|b| b.get("requests_total")?.as_u64());
    let prev_at = before
        .and_then(|b| b.get("last_activity")?.as_str())
        .filter(|t| t.parse::<DateTime<Utc>>().is_ok());
    let own = reading.own_requests;
    let counted =
        matches!((prev_total, reading.requests_total), (Some(a), Some(b)) if b < a || b - a > own);
    let busy =
        reading.in_flight.is_some_and(|n| n > 0) || reading.connections.is_some_and(|n| n > 0);
    let last = match prev_at {
        Some(t) if !counted && !busy => t,
        _ => now,
    };
    rec["last_activity"] = json!(last);
    if let Some(n) = reading.requests_total {
        rec["requests_total"] = json!(n);
    }
    if let Some(n) = reading.in_flight {
        rec["in_flight"] = json!(n);
    }
}
