//! `diff`: desired against actual, one unified diff per node. The desired
//! side is what hosts/ declares (every service running); the actual side is
//! what the world directory says. Identical nodes print nothing.
use std::fmt::Write;
use std::path::Path;

use anyhow::Result;
use similar::TextDiff;

use crate::desired::{Fleet, NodeSpec};
use crate::world::{load::load_world, NodeStatus, Obs, ServiceStatus, World};

fn desired(node: &NodeSpec) -> String {
    let mut s = format!("node {}: online\n", node.name);
    for svc in node.services.values() {
        let kind = if svc.is_model() { "model" } else { "service" };
        let pinned = if svc.pinned { " (pinned)" } else { "" };
        let _ = writeln!(s, "{kind} {}: running{pinned}", svc.name);
    }
    s
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

/// Prints the diffs; exit code 0 when every node matches, 2 when any differs.
pub fn run(fleet: &Fleet, world_dir: &Path) -> Result<i32> {
    let world = load_world(world_dir, fleet);
    let mut differs = false;
    let mut out = String::new();
    for node in fleet.nodes.values() {
        let (want, have) = (desired(node), actual(node, &world));
        if want == have {
            continue;
        }
        differs = true;
        let diff = TextDiff::from_lines(&want, &have);
        let _ = write!(
            out,
            "{}",
            diff.unified_diff().context_radius(2).header(
                &format!("desired/{}", node.name),
                &format!("actual/{}", node.name)
            )
        );
    }
    super::stdout::write(&out)?;
    Ok(if differs { 2 } else { 0 })
}
