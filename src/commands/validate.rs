//! `validate`: check hosts/ and the world directory and report every error,
//! not only the first. hosts/ is loaded by the caller the way every command
//! loads it (`run::load_trusted_fleet`), so `validate` refuses what
//! `check` and `reconcile` refuse.
use crate::exit::Exit;
use std::path::Path;

use anyhow::Result;

use crate::desired::Fleet;
use crate::text::escape_control;
use crate::world::load::load_world;

pub fn run(fleet: &Fleet, hosts: &Path, world: &Path) -> Result<Exit> {
    let services: usize = fleet.nodes.values().map(|n| n.services.len()).sum();
    let mut exit = Exit::Ok;
    if world.exists() {
        let w = load_world(world, fleet);
        for inv in &w.invalid {
            let path = world.join(&inv.path);
            eprintln!(
                "error: invalid world file `{}`: {}",
                escape_control(&path.to_string_lossy()),
                escape_control(&inv.error)
            );
        }
        if !w.invalid.is_empty() {
            eprintln!(
                "error: {}; a run treats them as unknown observations",
                crate::fmt::count(
                    w.invalid.len() as u64,
                    "invalid world file",
                    "invalid world files"
                )
            );
            exit = Exit::Invalid;
        }
    }
    if exit == Exit::Ok {
        crate::outln!(
            "ok: {}, {} in `{}`",
            crate::fmt::count(fleet.nodes.len() as u64, "node", "nodes"),
            crate::fmt::count(services as u64, "service", "services"),
            hosts.display()
        )?;
    }
    Ok(exit)
}
