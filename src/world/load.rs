//! Reads the world directory (docs/reference/world.md) into a [`World`], restricted to the
//! nodes and services declared in hosts/.
//!
//! **Guarantees.** [`load_world`] never fails and never panics: a folder or
//! file that cannot be used becomes an `InvalidObservation` (and, for a
//! file, `Obs::Invalid` in its map), so one bad file never stops the run.
//! Nothing is followed through a symlink inside the world directory, nothing
//! blocks on a FIFO, and no file is read past 1 MiB. The result, the order
//! of `invalid` and the `fingerprint` depend only on the files' names and
//! bytes, not on listing order or thread timing. Files are read by up to
//! four threads, folder by folder, so a fleet of thousands of nodes holds
//! only a handful of descriptors; declared names are looked up directly, so
//! undeclared files are never opened (incidents, whose scope is inside the
//! file, are the exception).
//!
//! **Assumptions.** The observer replaces files by rename, so a file read
//! while it changes is either the old or the new version; if not, it simply
//! parses or it does not. The world directory itself may be a symlink (the
//! operator named it); the folders inside it may not.
//!
//! **Caveats.** A folder that exists but cannot be used (a symlink, a plain
//! file, no permission) is one invalid observation for the folder, and every
//! declared record it would hold is `Obs::Invalid` rather than absent: an
//! unreadable `services/<node>/` must not look like "every service missing"
//! and lead to restarts. A missing folder is simply empty. Files that were
//! not read (unusable ones) do not enter the fingerprint; they appear in
//! `invalid` instead.
mod assemble;
mod read;
pub use read::FILE_LIMIT;
mod run;

use std::os::fd::OwnedFd;
use std::path::Path;

use nix::errno::Errno;
use nix::fcntl::{open, OFlag};
use nix::sys::stat::Mode;
use sha2::{Digest, Sha256};

use self::read::{describe, open_dir, valid_name, OpenError};
use self::run::{run_groups, Folder, Group, GroupOutcome, Job, Slot, GROUP};
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

    let groups = plan.sorted_groups();
    let dirs = std::mem::take(&mut plan.dirs);
    let mut hasher = Sha256::new();
    let mut incidents = Vec::new();
    let mut reported: Option<String> = None;
    run_groups(&groups, &dirs, threads, |group, outcome| match outcome {
        GroupOutcome::Missing => {}
        GroupOutcome::Unusable(error) => {
            // A folder split into several groups is reported once.
            if reported.as_deref() != Some(group.rel.as_str()) {
                reported = Some(group.rel.clone());
                let scope = match &group.folder {
                    Folder::Node { node, .. } if group.rel.starts_with("services/") => {
                        Scope::Services(Some(node))
                    }
                    Folder::Node { node, .. } => Scope::Deployments(Some(node)),
                    Folder::Open(_) => Scope::Incidents,
                };
                plan.folder_invalid(group.rel.clone(), error, fleet, scope);
            }
        }
        GroupOutcome::Files(outcomes) => {
            for (job, outcome) in group.jobs.iter().zip(outcomes) {
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
            }
        }
    });
    plan.finish(incidents, fleet, hasher)
}

/// Which declared records an unusable folder would have held.
#[derive(Clone, Copy)]
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
    /// Sort key (`<folder>/`), folder, jobs.
    folders: Vec<(String, Folder, Vec<Job>)>,
    /// The world's top-level folders that exist.
    dirs: Vec<OwnedFd>,
}

impl Plan {
    /// `nodes/<node>.json` or `resources/<node>.json` for each declared node.
    fn flat_folder(&mut self, root: &OwnedFd, folder: &str, fleet: &Fleet) {
        let nodes = folder == "nodes";
        let scope = if nodes {
            Scope::Nodes
        } else {
            Scope::Resources
        };
        let Some(fd) = self.open_folder(root, folder, fleet, scope) else {
            return;
        };
        let dir = self.push_dir(fd);
        let jobs = fleet
            .nodes
            .keys()
            .filter(|n| valid_name(n))
            .map(|node| Job {
                rel: format!("{folder}/{node}.json"),
                slot: if nodes {
                    Slot::Node(node.clone())
                } else {
                    Slot::Resource(node.clone())
                },
            });
        self.folders
            .push((folder.to_string(), Folder::Open(dir), jobs.collect()));
    }

    /// `<folder>/<node>/<service>.json` for each declared service. The node
    /// folders are opened only when read.
    fn node_folders(&mut self, root: &OwnedFd, folder: &str, fleet: &Fleet) {
        let services = folder == "services";
        let scope = if services {
            Scope::Services(None)
        } else {
            Scope::Deployments(None)
        };
        let Some(fd) = self.open_folder(root, folder, fleet, scope) else {
            return;
        };
        let parent = self.push_dir(fd);
        for (node, spec) in fleet.nodes.iter().filter(|(n, _)| valid_name(n)) {
            let jobs = spec
                .services
                .keys()
                .filter(|s| valid_name(s))
                .map(|service| {
                    let key = (node.clone(), service.clone());
                    Job {
                        rel: format!("{folder}/{node}/{service}.json"),
                        slot: if services {
                            Slot::Service(key)
                        } else {
                            Slot::Deployment(key)
                        },
                    }
                });
            let jobs: Vec<Job> = jobs.collect();
            if !jobs.is_empty() {
                let node_folder = Folder::Node {
                    parent,
                    node: node.clone(),
                };
                self.folders
                    .push((format!("{folder}/{node}"), node_folder, jobs));
            }
        }
    }

    /// Every `incidents/<id>.json`: their scope is known only once parsed.
    fn incidents(&mut self, dir: &Path, root: &OwnedFd) {
        let none = Fleet::default();
        let Some(fd) = self.open_folder(root, "incidents", &none, Scope::Incidents) else {
            return;
        };
        // Listing goes by path; the files are still opened through `fd`, so
        // a folder swapped meanwhile yields at worst names that are missing.
        let listing = std::fs::read_dir(dir.join("incidents")).and_then(|entries| {
            entries
                .map(|e| e.map(|e| e.file_name()))
                .collect::<Result<Vec<_>, _>>()
        });
        let names = match listing {
            Ok(names) => names,
            Err(e) => {
                let error = format!("cannot list folder: {}", read::io_describe(&e));
                return self.folder_invalid("incidents".into(), error, &none, Scope::Incidents);
            }
        };
        let dir = self.push_dir(fd);
        let jobs = names
            .iter()
            .filter_map(|name| name.to_str().and_then(read::incident_stem))
            .map(|stem| Job {
                rel: format!("incidents/{stem}.json"),
                slot: Slot::Incident,
            });
        self.folders
            .push(("incidents".into(), Folder::Open(dir), jobs.collect()));
    }

    fn open_folder(
        &mut self,
        root: &OwnedFd,
        name: &str,
        fleet: &Fleet,
        scope: Scope<'_>,
    ) -> Option<OwnedFd> {
        match open_dir(root, name) {
            Ok(fd) => Some(fd),
            Err(OpenError::Missing) => None,
            Err(OpenError::Unusable(error)) => {
                self.folder_invalid(name.to_string(), error, fleet, scope);
                None
            }
        }
    }

    fn push_dir(&mut self, fd: OwnedFd) -> usize {
        self.dirs.push(fd);
        self.dirs.len() - 1
    }

    /// The groups to read, in the order of their files' relative paths:
    /// folders sorted by `<folder>/` (no name holds a `/`, so that is the
    /// order of their files), files sorted within, split into pieces.
    fn sorted_groups(&mut self) -> Vec<Group> {
        let mut folders = std::mem::take(&mut self.folders);
        folders.sort_by_cached_key(|(rel, _, _)| format!("{rel}/"));
        let mut groups = Vec::new();
        for (rel, folder, mut jobs) in folders {
            jobs.sort_unstable_by(|a, b| a.rel.cmp(&b.rel));
            let mut jobs = jobs.into_iter().peekable();
            while jobs.peek().is_some() {
                let piece: Vec<Job> = jobs.by_ref().take(GROUP).collect();
                groups.push(Group {
                    rel: rel.clone(),
                    folder: folder.clone(),
                    jobs: piece,
                });
            }
        }
        groups
    }
}

#[cfg(test)]
mod tests;
