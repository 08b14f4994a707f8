//! `diff`: desired against actual, one unified diff per node. The desired
//! side is what hosts/ declares (every service running), less what is down
//! on purpose (a model evicted by a policy, a service an operator stopped);
//! the actual side is what the world directory says. Identical nodes print
//! nothing.
use crate::exit::Exit;
use std::fmt::Write;
use std::path::Path;

use anyhow::Result;
use similar::TextDiff;

use std::collections::{BTreeMap, HashMap};

use crate::checkpoint::{key, Checkpoint, Health};
use crate::desired::{Fleet, NodeSpec};
use crate::probe::{probe_node, ProbeOptions, ProbeOutcome, ProcessState};
use crate::world::{load::load_world, NodeStatus, Obs, ServiceStatus, World};

/// Services down on purpose, and the word for it: a model this tool
/// evicted (the checkpoint says `evicted`: unloaded by a policy), or any
/// service an operator stopped (`stop`, remembered until `start`). That
/// is what is desired of them now, as every run treats it.
fn asked_down(node: &NodeSpec, cp: &Checkpoint) -> BTreeMap<String, &'static str> {
    node.services
        .values()
        .filter_map(|svc| {
            let st = cp.services.get(&key(&node.name, &svc.name))?;
            let word = if st.stopped_by_operator_at.is_some() {
                "stopped by operator"
            } else if svc.is_model() && st.health == Health::Evicted {
                "evicted"
            } else {
                return None;
            };
            Some((svc.name.clone(), word))
        })
        .collect()
}

fn desired(node: &NodeSpec, down: &BTreeMap<String, &'static str>) -> String {
    let mut s = format!("node {}: online\n", node.name);
    for svc in node.services.values() {
        let kind = if svc.is_model() { "model" } else { "service" };
        let pinned = if svc.pinned { " (pinned)" } else { "" };
        let want = match down.get(&svc.name) {
            Some(word) => word.to_string(),
            None => format!("running{pinned}"),
        };
        let _ = writeln!(s, "{kind} {}: {want}", svc.name);
    }
    s
}

/// A service down on purpose that is not running shows as such on the
/// actual side too; one that runs shows as it is.
fn mark_down(actual: &str, down: &BTreeMap<String, &'static str>) -> String {
    actual
        .lines()
        .map(|l| {
            let line = ["model ", "service "].iter().find_map(|kind| {
                let (name, _) = l.strip_prefix(kind)?.split_once(':')?;
                let word = down.get(name)?;
                (!l.contains(": running")).then(|| format!("{kind}{name}: {word}\n"))
            });
            line.unwrap_or_else(|| format!("{l}\n"))
        })
        .collect()
}

fn actual(node: &NodeSpec, world: &World) -> String {
    let status = match world.nodes.get(&node.name) {
        None => "no record".to_string(),
        Some(Obs::Invalid) => "unreadable record".to_string(),
        Some(Obs::Valid(r)) if r.status == NodeStatus::Online => "online".to_string(),
        Some(Obs::Valid(_)) => "offline".to_string(),
    };
    let mut s = format!("node {}: {status}\n", node.name);
    for svc in node.services.values() {
        let kind = if svc.is_model() { "model" } else { "service" };
        let pinned = if svc.pinned { " (pinned)" } else { "" };
        let state = match world.services.get(&(node.name.clone(), svc.name.clone())) {
            None => "absent".to_string(),
            Some(Obs::Invalid) => "unreadable record".to_string(),
            Some(Obs::Valid(r)) => match r.status {
                ServiceStatus::Ok => format!("running{pinned}"),
                ServiceStatus::Degraded => format!("degraded{pinned}"),
                ServiceStatus::Failed => format!("failed{pinned}"),
                ServiceStatus::Stopped => format!("stopped{pinned}"),
            },
        };
        let _ = writeln!(s, "{kind} {}: {state}", svc.name);
    }
    s
}

/// This machine's services as live probes see them (`diff --live`):
/// (node, one line per service). Probes only; writes nothing.
pub fn probe(fleet: &Fleet, node: &str, state_dir: &Path) -> (String, String) {
    let Some(spec) = fleet.nodes.get(node) else {
        return (node.to_string(), String::new());
    };
    let opts = ProbeOptions {
        state_dir: Some(state_dir.to_path_buf()),
        max_parallel: spec.services.len().clamp(1, 64),
        ..ProbeOptions::default()
    };
    let live = probe_node(spec, &HashMap::new(), &opts);
    let mut s = format!("node {node}: online (probed live)\n");
    for svc in spec.services.values() {
        let kind = if svc.is_model() { "model" } else { "service" };
        let pinned = if svc.pinned { " (pinned)" } else { "" };
        let state = match live.services.get(&svc.name) {
            None => "absent".to_string(),
            Some(l) => match (&l.process, &l.health) {
                (_, Some(ProbeOutcome::Failing(why))) => format!("failing{pinned} ({why})"),
                (_, Some(ProbeOutcome::Loading(why))) => format!("loading{pinned} ({why})"),
                (_, Some(ProbeOutcome::Unknown(why))) => format!("not checkable{pinned} ({why})"),
                (ProcessState::Found(_), _)
                | (ProcessState::NotConfigured, Some(ProbeOutcome::Up)) => {
                    format!("running{pinned}")
                }
                (ProcessState::NotConfigured, None) => {
                    "not probed (no process or health check declared)".to_string()
                }
                // A `spawn:` service's monitor says how it ended.
                (ProcessState::NotFound | ProcessState::StalePidfile { .. }, _) => {
                    let why = l.failure_reason().unwrap_or_else(|| "no process".into());
                    format!("stopped ({why})")
                }
                (ProcessState::Ambiguous { pids }, _) => format!("ambiguous (pids {pids:?})"),
                (ProcessState::UnknownUser(u), _) => format!("unknown user `{u}`"),
            },
        };
        let _ = writeln!(s, "{kind} {}: {state}", svc.name);
    }
    (node.to_string(), s)
}

/// Prints the diffs; exit code 0 when every node matches, 2 when any
/// differs. `live`: one node's actual side from [`probe`], the rest from
/// the world.
pub fn run(
    fleet: &Fleet,
    world_dir: &Path,
    cp: &Checkpoint,
    live: Option<&(String, String)>,
    json: bool,
) -> Result<Exit> {
    let world = load_world(world_dir, fleet);
    let mut differs = false;
    let mut out = String::new();
    for node in fleet.nodes.values() {
        let down = asked_down(node, cp);
        let have = match live {
            Some((name, text)) if *name == node.name => text.clone(),
            _ => actual(node, &world),
        };
        let have = mark_down(&have, &down);
        let want = desired(node, &down);
        let want = if live.is_some_and(|(n, _)| *n == node.name) {
            want.replacen(": online\n", ": online (probed live)\n", 1)
        } else {
            want
        };
        let text = if want == have {
            String::new()
        } else {
            differs = true;
            TextDiff::from_lines(&want, &have)
                .unified_diff()
                .context_radius(2)
                .header(
                    &format!("desired/{}", node.name),
                    &format!("actual/{}", node.name),
                )
                .to_string()
        };
        if json {
            // One object per node, matching or not.
            let line = serde_json::json!({
                "node": node.name,
                "differs": !text.is_empty(),
                "desired": want.lines().collect::<Vec<_>>(),
                "actual": have.lines().collect::<Vec<_>>(),
                "diff": text,
            });
            let _ = writeln!(out, "{line}");
        } else {
            out.push_str(&text);
        }
    }
    super::stdout::write(&out)?;
    Ok(if differs { Exit::Differs } else { Exit::Ok })
}
