//! `validate`: check hosts/ and the world directory and report every error,
//! not only the first.
use std::path::Path;

use anyhow::Result;

use crate::run::load_fleet_or_report;
use crate::text::escape_control;
use crate::world::load::load_world;

pub fn run(hosts: &Path, world: &Path) -> Result<i32> {
    let Some(fleet) = load_fleet_or_report(hosts) else {
        return Ok(1);
    };
    let services: usize = fleet.nodes.values().map(|n| n.services.len()).sum();
    let mut code = 0;
    if world.exists() {
        let w = load_world(world, &fleet);
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
                "error: {} invalid world file(s); a run treats them as unknown observations",
                w.invalid.len()
            );
            code = 1;
        }
    }
    if code == 0 {
        println!(
            "ok: {} node(s), {services} service(s) in `{}`",
            fleet.nodes.len(),
            hosts.display()
        );
    }
    Ok(code)
}
