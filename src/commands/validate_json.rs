//! `validate --output json`: the checks of `validate` (config errors, the
//! root trust check, unreadable world files) with every problem printed to
//! stdout as one JSON object a line,
//! `{"file", "line", "column", "message", "hint"}` (`line` and `column`
//! null for a problem with a whole file or folder, `hint` null when there
//! is nothing to add), and exit 1; or, when all is well, one summary line
//! `{"ok": true, "nodes": N, "services": M, "hosts": "..."}` and exit 0.
use crate::exit::Exit;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::Result;
use serde_json::{json, Value};

use crate::desired::load::{load_read, own_links};
use crate::desired::opened::HostsRead;
use crate::desired::ConfigError;
use crate::world::load::load_world;

fn problem(file: &Path, pos: Option<(usize, usize)>, message: &str, hint: Option<&str>) -> Value {
    json!({
        "file": file.to_string_lossy(),
        "line": pos.map(|p| p.0),
        "column": pos.map(|p| p.1),
        "message": message,
        "hint": hint,
    })
}

fn config_problem(e: &ConfigError) -> Value {
    let pos = (e.line > 0).then_some((e.line, e.column));
    problem(&e.file, pos, &e.message, e.hint.as_deref())
}

/// Prints the lines; false when stdout has gone (`| head`).
fn print(lines: &[Value]) -> Result<bool> {
    let mut text = String::new();
    for v in lines {
        let _ = writeln!(text, "{v}");
    }
    super::stdout::write(&text)
}

pub fn run(hosts: &Path, world: &Path, insecure_config: bool) -> Result<Exit> {
    let read = HostsRead::open(hosts, own_links());
    let fleet = match load_read(&read) {
        Ok(fleet) => fleet,
        Err(errors) => {
            print(&errors.iter().map(config_problem).collect::<Vec<_>>())?;
            return Ok(Exit::Invalid);
        }
    };
    let mut problems = Vec::new();
    if nix::unistd::geteuid().is_root() {
        for p in crate::desired::trust::check_read(&read, 0) {
            if insecure_config {
                eprintln!("warning: {p} (--insecure-config)");
                continue;
            }
            problems.push(problem(
                &p.path,
                None,
                &p.to_string(),
                Some("fix the permissions (chmod go-w, chown root), or pass `--insecure-config` to run anyway"),
            ));
        }
    }
    if world.exists() {
        for inv in &load_world(world, &fleet).invalid {
            problems.push(problem(
                &world.join(&inv.path),
                None,
                &format!("invalid world file: {}", inv.error),
                Some("a run treats it as an unknown observation"),
            ));
        }
    }
    if !problems.is_empty() {
        print(&problems)?;
        return Ok(Exit::Invalid);
    }
    let services: usize = fleet.nodes.values().map(|n| n.services.len()).sum();
    print(&[json!({
        "ok": true,
        "nodes": fleet.nodes.len(),
        "services": services,
        "hosts": hosts.to_string_lossy(),
    })])?;
    Ok(Exit::Ok)
}
