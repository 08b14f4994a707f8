//! What `watch` watches: the folders the world format defines and hosts/'s
//! node folders, each on its own (never a recursive watch of an arbitrary
//! subtree: 193,000 empty folders planted in the world once took 192,540 of
//! root's inotify watches), plus the folders holding hosts/ and the world,
//! so that replacing either by a rename (git checkouts, rsync) is seen.
//! After every run the set is armed again, on whatever the paths name then.
use std::path::{Path, PathBuf};

use notify::RecursiveMode;
use notify_debouncer_full::{Debouncer, RecommendedCache};

use crate::desired::Fleet;

type Watcher = Debouncer<notify::RecommendedWatcher, RecommendedCache>;

/// The folders to watch for `fleet` (the declared nodes; none when hosts/
/// cannot be read): hosts/ and each node folder; the world and its format's
/// folders; the parents of both.
pub fn wanted(hosts: &Path, world: &Path, fleet: Option<&Fleet>) -> Vec<PathBuf> {
    let mut out = vec![hosts.to_path_buf(), world.to_path_buf()];
    for dir in [hosts, world] {
        if let Some(parent) = absolute(dir).parent() {
            out.push(parent.to_path_buf());
        }
    }
    for folder in ["nodes", "resources", "incidents", "services", "deployments"] {
        out.push(world.join(folder));
    }
    if let Some(fleet) = fleet {
        for node in fleet.nodes.keys() {
            out.push(hosts.join(node));
            out.push(world.join("services").join(node));
            out.push(world.join("deployments").join(node));
        }
    }
    out.sort();
    out.dedup();
    out
}

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

/// Drops the watches of `armed` and watches `wanted` (those that exist, as
/// folders), one level each; returns what is now watched.
pub fn rearm(w: &mut Watcher, armed: &[PathBuf], wanted: Vec<PathBuf>) -> Vec<PathBuf> {
    for p in armed {
        let _ = w.unwatch(p);
    }
    wanted
        .into_iter()
        .filter(|p| std::fs::metadata(p).is_ok_and(|m| m.is_dir()))
        .filter(|p| w.watch(p, RecursiveMode::NonRecursive).is_ok())
        .collect()
}

/// Whether a change at `path` concerns hosts/ or the world (an event in a
/// watched parent may be about a sibling, such as the state directory).
pub fn concerns(path: &Path, hosts: &Path, world: &Path, state: &Path) -> bool {
    let path = absolute(path);
    !path.starts_with(state) && [hosts, world].iter().any(|d| path.starts_with(absolute(d)))
}
