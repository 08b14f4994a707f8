//! `observe --out DIR --every 30s --count N`: record a live node as a
//! replay scenario (docs/decision-quality.md). Each observation is a world directory
//! (`steps/NN/`); `hosts/` is copied beside them, and `scenario.yaml` is
//! written after every step (so an interrupted recording still replays)
//! with everything but the faults, which only a person can tell.
use crate::clock::Clock;
use crate::exit::Exit;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use chrono::{DateTime, Utc};
use serde_json::json;

use crate::desired::{Fleet, NodeSpec, MAX_FILE_BYTES, SERVICES_FILE};
use crate::store::dirhandle::DirHandle;

pub struct Recording<'a> {
    pub fleet: &'a Fleet,
    pub hosts: &'a Path,
    pub node: &'a NodeSpec,
    pub out: &'a Path,
    /// Where spawned services' pid files are (the resolved state directory).
    pub state_dir: &'a Path,
    /// Fixed (`--now`): the first step's time, and each later one `every`
    /// after it (a reproducible recording); else live, each step at the
    /// time it is observed.
    pub clock: Clock,
    pub every: Duration,
    pub count: u32,
}

pub fn record(r: &Recording) -> Result<Exit> {
    if r.count == 0 {
        bail!("`--count` must be at least 1");
    }
    if std::fs::symlink_metadata(r.out).is_ok_and(|m| m.file_type().is_symlink()) {
        bail!(
            "`{}` is a symbolic link; refusing to write through it",
            r.out.display()
        );
    }
    // Opened once: every folder and file below is reached from it, so a
    // symlink swapped in while the probes run is never followed.
    let out = super::observe::open_out(r.out)?;
    let scenario = r.out.join(crate::replay::scenario::FILE);
    if out.exists(crate::replay::scenario::FILE) {
        bail!(
            "`{}` already holds a recording\n\nhint: record into a new folder; a recording is never overwritten",
            r.out.display()
        );
    }
    copy_hosts(r, &out)?;
    let width = (r.count - 1).max(1).to_string().len().max(2);
    let start = r.clock.now();
    let mut steps: Vec<(String, String)> = vec![];
    let mut records = 0;
    for i in 0..r.count {
        let now = match r.clock.fixed() {
            Some(t) => t + chrono::Duration::from_std(r.every * i).unwrap_or_default(),
            None if i == 0 => start,
            None => crate::clock::wall(),
        };
        let folder = format!("steps/{i:0width$}");
        // No symlink under `out` is followed, `steps` included.
        let step = out.create_dirs(Path::new(&folder))?;
        records += super::observe::observe_once(r.node, &step, r.state_dir, now)?;
        let at = (now - start).to_std().unwrap_or_default();
        let at = Duration::from_millis(crate::num::millis(at));
        let at = if at.is_zero() {
            "0s".into()
        } else {
            crate::fmt::duration(at)
        };
        steps.push((at, folder));
        write_scenario(r, &out, start, &steps)?;
        if i + 1 < r.count {
            // The next observation `every` after this one started.
            let next = start + chrono::Duration::from_std(r.every * (i + 1)).unwrap_or_default();
            if r.clock.fixed().is_none() {
                let left = next - crate::clock::wall();
                std::thread::sleep(left.to_std().unwrap_or_default());
            } else {
                std::thread::sleep(r.every);
            }
        }
    }
    let text = format!(
        "recorded node `{}`: {}, {}, into `{}`\nnext: add the faults to `{}`, then `supervisorctl replay {}`",
        r.node.name,
        crate::fmt::count(steps.len() as u64, "step", "steps"),
        crate::fmt::count(records as u64, "service record", "service records"),
        r.out.display(),
        scenario.display(),
        r.out.display()
    );
    super::stdout::message(
        &text,
        json!({"node": r.node.name, "out": r.out.display().to_string(), "steps": steps.len(), "records": records}),
    )?;
    Ok(Exit::Ok)
}

/// Every node's services.yaml, so the recording replays on its own.
fn copy_hosts(r: &Recording, out: &DirHandle) -> Result<()> {
    for name in r.fleet.nodes.keys() {
        let from = r.hosts.join(name).join(SERVICES_FILE);
        let text = crate::store::read_limited(&from, MAX_FILE_BYTES)
            .with_context(|| format!("cannot copy `{}`", from.display()))?;
        let dir = out.create_dirs(&Path::new("hosts").join(name))?;
        dir.write_file(SERVICES_FILE, &text).with_context(|| {
            format!(
                "cannot write `{}`",
                dir.path().join(SERVICES_FILE).display()
            )
        })?;
    }
    Ok(())
}

fn write_scenario(
    r: &Recording,
    out: &DirHandle,
    start: DateTime<Utc>,
    steps: &[(String, String)],
) -> Result<()> {
    let mut text = format!(
        "# Recorded by `supervisorctl observe` on node {} every {}.\n\
         # To score a replay, list the faults that really happened, e.g.:\n\
         #   faults:\n\
         #     - service: <name>   # a service of this node\n\
         #       from: 1m          # first step at which the fault shows\n\
         #       to: 3m            # optional: handled by then\n\
         #       action: restart   # restart | evict | preload | activate_fallback | none\n\
         description: \"recorded on {} from {}, every {}\"\n\
         start: {}\nnode: {}\nsteps:\n",
        r.node.name,
        crate::fmt::duration(r.every),
        r.node.name,
        crate::fmt::ts(start),
        crate::fmt::duration(r.every),
        crate::fmt::ts(start),
        r.node.name
    );
    for (at, folder) in steps {
        let _ = write!(text, "  - at: {at}\n    world: {folder}\n");
    }
    text.push_str("faults: []\n");
    let name = crate::replay::scenario::FILE;
    out.write_file(name, text.as_bytes())
        .with_context(|| format!("cannot write `{}`", r.out.join(name).display()))
}
