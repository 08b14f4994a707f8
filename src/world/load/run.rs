//! Reading and parsing the planned world files, folder group by folder
//! group, in parallel where that helps, handing the outcomes back strictly
//! in plan order so that the loaded world and its fingerprint never depend
//! on thread timing.
use std::collections::BTreeMap;
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

use serde::de::DeserializeOwned;

use super::read::{open_dir, read_file, OpenError};
use crate::world::{
    DeploymentRecord, Incident, NodeRecord, ResourceRecord, ServiceKey, ServiceRecord,
};

/// Where a file's record goes.
pub enum Slot {
    Node(String),
    Resource(String),
    Service(ServiceKey),
    Deployment(ServiceKey),
    Incident,
}

/// One file to read: its path relative to the world directory and where
/// its record goes.
pub struct Job {
    pub rel: String,
    pub slot: Slot,
}

impl Job {
    fn file_name(&self) -> &str {
        self.rel.rsplit('/').next().unwrap_or(&self.rel)
    }
}

/// How a group's folder is reached.
#[derive(Clone)]
pub enum Folder {
    /// Already open: an index into the open folders.
    Open(usize),
    /// `node` inside an open folder, opened by whoever reads the group
    /// and closed after it, so that a fleet of thousands of nodes never
    /// holds thousands of descriptors.
    Node { parent: usize, node: String },
}

/// Files of one folder (at most [`GROUP`]), the unit of parallel work.
pub struct Group {
    /// The folder relative to the world directory, e.g. `services/gpu-box`.
    pub rel: String,
    pub folder: Folder,
    pub jobs: Vec<Job>,
}

/// The most files in one [`Group`].
pub const GROUP: usize = 256;

pub enum GroupOutcome {
    /// The folder does not exist: no file in it does.
    Missing,
    /// The folder exists but cannot be used.
    Unusable(String),
    /// One outcome per job, in order.
    Files(Vec<Outcome>),
}

pub enum Content {
    Node(NodeRecord),
    Resource(ResourceRecord),
    Service(ServiceRecord),
    Deployment(DeploymentRecord),
    Incident(Incident),
}

pub struct Outcome {
    /// The file's bytes, when it was read whole.
    pub bytes: Option<Vec<u8>>,
    /// `None`: the file does not exist.
    pub result: Option<Result<Content, String>>,
}

/// Below this many files one thread does it all.
const PARALLEL_FROM: usize = 512;
const MAX_THREADS: usize = 4;

/// The number of reading threads for this machine.
pub fn default_threads() -> usize {
    std::thread::available_parallelism()
        .map_or(1, std::num::NonZero::get)
        .min(MAX_THREADS)
}

/// Reads every group on up to `threads` threads and calls `sink` with each
/// group's outcome, in group order, as soon as the groups before it are
/// done. Not `par::map_bounded`, which returns all results at the end:
/// here each group's bytes are hashed and parsed by the sink and dropped
/// while later groups are still being read, so a large world is never held
/// in memory whole.
pub fn run_groups(
    groups: &[Group],
    dirs: &[OwnedFd],
    threads: usize,
    mut sink: impl FnMut(&Group, GroupOutcome),
) {
    let files: usize = groups.iter().map(|g| g.jobs.len()).sum();
    if threads < 2 || files < PARALLEL_FROM {
        for group in groups {
            sink(group, process_group(group, dirs));
        }
        return;
    }
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        let (tx, rx) = mpsc::channel::<(usize, GroupOutcome)>();
        for _ in 0..threads.min(MAX_THREADS) {
            let tx = tx.clone();
            let next = &next;
            scope.spawn(move || loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(group) = groups.get(i) else { break };
                if tx.send((i, process_group(group, dirs))).is_err() {
                    break;
                }
            });
        }
        drop(tx);
        // Reorder: hand group i over only once groups 0..i have been.
        let mut pending = BTreeMap::new();
        let mut want = 0;
        for (i, outcome) in rx {
            pending.insert(i, outcome);
            while let Some(outcome) = pending.remove(&want) {
                sink(&groups[want], outcome);
                want += 1;
            }
        }
    });
}

fn process_group(group: &Group, dirs: &[OwnedFd]) -> GroupOutcome {
    let opened;
    let dir = match &group.folder {
        Folder::Open(i) => &dirs[*i],
        Folder::Node { parent, node } => match open_dir(&dirs[*parent], node) {
            Ok(fd) => {
                opened = fd;
                &opened
            }
            Err(OpenError::Missing) => return GroupOutcome::Missing,
            Err(OpenError::Unusable(e)) => return GroupOutcome::Unusable(e),
        },
    };
    GroupOutcome::Files(group.jobs.iter().map(|job| process(job, dir)).collect())
}

fn process(job: &Job, dir: &OwnedFd) -> Outcome {
    let bytes = match read_file(dir, job.file_name()) {
        Ok(bytes) => bytes,
        Err(OpenError::Missing) => {
            return Outcome {
                bytes: None,
                result: None,
            }
        }
        Err(OpenError::Unusable(e)) => {
            return Outcome {
                bytes: None,
                result: Some(Err(e)),
            }
        }
    };
    let result = match &job.slot {
        Slot::Node(_) => parse(&bytes).map(Content::Node),
        Slot::Resource(_) => parse(&bytes).map(Content::Resource),
        Slot::Service(_) => parse(&bytes).map(Content::Service),
        Slot::Deployment(_) => parse(&bytes).map(Content::Deployment),
        Slot::Incident => parse(&bytes).map(Content::Incident),
    };
    Outcome {
        bytes: Some(bytes),
        result: Some(result),
    }
}

fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    serde_json::from_slice(bytes).map_err(|e| {
        // Checked only on failure: the happy path pays nothing for it.
        if let Err(utf8) = std::str::from_utf8(bytes) {
            return format!("not valid UTF-8 (at byte {})", utf8.valid_up_to());
        }
        match e.classify() {
            serde_json::error::Category::Data => format!("unexpected shape: {e}"),
            _ => format!("invalid JSON: {e}"),
        }
    })
}
