//! Reads the world directory (SPEC §3) into a [`World`], restricted to the
//! nodes and services declared in hosts/.
//!
//! **Guarantees.** [`load_world`] never fails and never panics: a folder or
//! file that cannot be used becomes an [`InvalidObservation`] (and, for a
//! file, [`Obs::Invalid`] in its map), so one bad file never stops the run.
//! Nothing is followed through a symlink inside the world directory, nothing
//! blocks on a FIFO, and no file is read past 1 MiB. The result, the order
//! of `invalid` and the `fingerprint` depend only on the files' names and
//! bytes, not on listing order or thread timing.
//!
//! **Assumptions.** The observer replaces files by rename, so a file read
//! while it changes is either the old or the new version; if not, it simply
//! parses or it does not. The world directory itself may be a symlink (the
//! operator named it); the folders inside it may not.
//!
//! **Caveats.** A folder that exists but cannot be used (a symlink, a plain
//! file, no permission) is one invalid observation for the folder, and every
//! declared record it would hold is [`Obs::Invalid`] rather than absent: an
//! unreadable `services/<node>/` must not look like "every service missing"
//! and lead to restarts. A missing folder is simply empty. Files that were
//! not read (unusable ones) do not enter the fingerprint; they appear in
//! `invalid` instead.
mod assemble;
mod read;
mod run;

use std::os::fd::OwnedFd;
use std::path::Path;

use nix::errno::Errno;
use nix::fcntl::{open, OFlag};
use nix::sys::stat::Mode;
use sha2::{Digest, Sha256};

use self::read::{describe, open_dir, valid_name, OpenError};
use self::run::{run_jobs, Job, Slot};
use super::World;
use crate::desired::Fleet;

/// Loads the world directory `dir` for the declared `fleet`. Never fails.
pub fn load_world(dir: &Path, fleet: &Fleet) -> World {
    load_world_threads(dir, fleet, run::default_threads())
}

/// [`load_world`] with an explicit number of reading threads (1: none).
pub(crate) fn load_world_threads(dir: &Path, fleet: &Fleet, threads: usize) -> World {
    let mut plan = Plan::default();
    let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
    let root = match open(dir, flags, Mode::empty()) {
        Ok(fd) => fd,
        Err(Errno::ENOENT) => return plan.finish(Vec::new(), fleet, Sha256::new()),
        Err(e) => {
            let error = format!("cannot open world directory: {}", describe(e));
            plan.folder_invalid(".".into(), error, fleet, Scope::All);
            return plan.finish(Vec::new(), fleet, Sha256::new());
        }
    };
    plan.flat_folder(&root, "nodes", fleet);
    plan.flat_folder(&root, "resources", fleet);
    plan.node_folders(&root, "services", fleet);
    plan.node_folders(&root, "deployments", fleet);
    plan.incidents(dir, &root);

    plan.jobs.sort_unstable_by(|a, b| a.rel.cmp(&b.rel));
    let jobs = std::mem::take(&mut plan.jobs);
    let dirs = std::mem::take(&mut plan.dirs);
    let count = |f: fn(&Slot) -> bool| plan.jobs.iter().filter(|j| f(&j.slot)).count();
    let services = count(|s| matches!(s, Slot::Service(_)));
    let deployments = count(|s| matches!(s, Slot::Deployment(_)));
    plan.world.services.reserve(services);
    plan.world.deployments.reserve(deployments);
    let mut hasher = Sha256::new();
    let mut incidents = Vec::new();
    run_jobs(&jobs, &dirs, threads, |job, outcome| {
        if let Some(bytes) = &outcome.bytes {
            hasher.update(job.rel.as_bytes());
            hasher.update([0u8]);
            hasher.update((bytes.len() as u64).to_le_bytes());
            hasher.update(bytes);
        }
        match outcome.result {
            None => {}
            Some(Ok(content)) => plan.valid(job, content, &mut incidents),
            Some(Err(error)) => plan.file_invalid(job, error),
        }
    });
    plan.finish(incidents, fleet, hasher)
}

/// Which declared records an unusable folder would have held.
enum Scope<'a> {
    All,
    Nodes,
    Resources,
    Services(Option<&'a str>),
    Deployments(Option<&'a str>),
    Incidents,
}

#[derive(Default)]
struct Plan {
    world: World,
    jobs: Vec<Job>,
    dirs: Vec<OwnedFd>,
}

impl Plan {
    /// `nodes/<node>.json` or `resources/<node>.json` for each declared node.
    fn flat_folder(&mut self, root: &OwnedFd, folder: &str, fleet: &Fleet) {
        let scope = if folder == "nodes" {
            Scope::Nodes
        } else {
            Scope::Resources
        };
        let Some(fd) = self.open_folder(root, folder.to_string(), fleet, scope) else {
            return;
        };
        let dir = self.push_dir(fd);
        for node in fleet.nodes.keys().filter(|n| valid_name(n)) {
            let rel = format!("{folder}/{node}.json");
            let slot = if folder == "nodes" {
                Slot::Node(node.clone())
            } else {
                Slot::Resource(node.clone())
            };
            self.jobs.push(Job { rel, dir, slot });
        }
    }

    /// `<folder>/<node>/<service>.json` for each declared service.
    fn node_folders(&mut self, root: &OwnedFd, folder: &str, fleet: &Fleet) {
        let scope = |n| {
            if folder == "services" {
                Scope::Services(n)
            } else {
                Scope::Deployments(n)
            }
        };
        let Some(top) = self.open_folder(root, folder.to_string(), fleet, scope(None)) else {
            return;
        };
        for (node, spec) in fleet.nodes.iter().filter(|(n, _)| valid_name(n)) {
            let rel = format!("{folder}/{node}");
            let Some(fd) = self.open_folder(&top, rel, fleet, scope(Some(node))) else {
                continue;
            };
            let dir = self.push_dir(fd);
            for service in spec.services.keys().filter(|s| valid_name(s)) {
                let rel = format!("{folder}/{node}/{service}.json");
                let key = (node.clone(), service.clone());
                let slot = if folder == "services" {
                    Slot::Service(key)
                } else {
                    Slot::Deployment(key)
                };
                self.jobs.push(Job { rel, dir, slot });
            }
        }
    }

    /// Every `incidents/<id>.json`: their scope is known only once parsed.
    fn incidents(&mut self, dir: &Path, root: &OwnedFd) {
        let fleet = Fleet::default();
        let rel = "incidents".to_string();
        let Some(fd) = self.open_folder(root, rel.clone(), &fleet, Scope::Incidents) else {
            return;
        };
        // Listing goes by path; the files are still opened through `fd`, so
        // a folder swapped meanwhile yields at worst names that are missing.
        let entries = match std::fs::read_dir(dir.join("incidents")) {
            Ok(entries) => entries,
            Err(e) => {
                let error = format!("cannot list folder: {}", read::io_describe(&e));
                return self.folder_invalid(rel, error, &fleet, Scope::Incidents);
            }
        };
        let dir = self.push_dir(fd);
        for entry in entries {
            let entry = match entry {
                Ok(entry) => entry,
                Err(e) => {
                    let error = format!("cannot list folder: {}", read::io_describe(&e));
                    return self.folder_invalid(rel, error, &fleet, Scope::Incidents);
                }
            };
            let name = entry.file_name();
            if let Some(stem) = name.to_str().and_then(read::incident_stem) {
                let rel = format!("incidents/{stem}.json");
                self.jobs.push(Job {
                    rel,
                    dir,
                    slot: Slot::Incident,
                });
            }
        }
    }

    fn open_folder(
        &mut self,
        parent: &OwnedFd,
        rel: String,
        fleet: &Fleet,
        scope: Scope<'_>,
    ) -> Option<OwnedFd> {
        let name = rel.rsplit('/').next().unwrap_or(&rel);
        match open_dir(parent, name) {
            Ok(fd) => Some(fd),
            Err(OpenError::Missing) => None,
            Err(OpenError::Unusable(error)) => {
                self.folder_invalid(rel, error, fleet, scope);
                None
            }
        }
    }

    fn push_dir(&mut self, fd: OwnedFd) -> usize {
        self.dirs.push(fd);
        self.dirs.len() - 1
    }
}

#[cfg(test)]
mod tests;
