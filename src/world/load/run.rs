//! Reading and parsing the planned world files, in parallel where that
//! helps, handing the outcomes back strictly in plan order so that the
//! loaded world and its fingerprint never depend on thread timing.
use std::collections::BTreeMap;
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

use serde::de::DeserializeOwned;

use super::read::{read_file, OpenError};
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

/// One file to read: its path relative to the world directory, the index of
/// its opened folder, and where its record goes.
pub struct Job {
    pub rel: String,
    pub dir: usize,
    pub slot: Slot,
}

impl Job {
    fn file_name(&self) -> &str {
        self.rel.rsplit('/').next().unwrap_or(&self.rel)
    }
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
const CHUNK: usize = 256;
const MAX_THREADS: usize = 4;

/// The number of reading threads for this machine.
pub fn default_threads() -> usize {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(MAX_THREADS)
}

/// Runs every job on up to `threads` threads and calls `sink` with each
/// outcome, in job order.
pub fn run_jobs(
    jobs: &[Job],
    dirs: &[OwnedFd],
    threads: usize,
    mut sink: impl FnMut(&Job, Outcome),
) {
    if threads < 2 || jobs.len() < PARALLEL_FROM {
        for job in jobs {
            sink(job, process(job, dirs));
        }
        return;
    }
    let chunks: Vec<&[Job]> = jobs.chunks(CHUNK).collect();
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        let (tx, rx) = mpsc::channel::<(usize, Vec<Outcome>)>();
        for _ in 0..threads.min(MAX_THREADS) {
            let tx = tx.clone();
            let (chunks, next) = (&chunks, &next);
            scope.spawn(move || loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(chunk) = chunks.get(i) else { break };
                let outcomes = chunk.iter().map(|job| process(job, dirs)).collect();
                if tx.send((i, outcomes)).is_err() {
                    break;
                }
            });
        }
        drop(tx);
        // Reorder: hand chunk i over only once chunks 0..i have been.
        let mut pending = BTreeMap::new();
        let mut want = 0;
        for (i, outcomes) in rx {
            pending.insert(i, outcomes);
            while let Some(outcomes) = pending.remove(&want) {
                for (job, outcome) in chunks[want].iter().zip(outcomes) {
                    sink(job, outcome);
                }
                want += 1;
            }
        }
    });
}

fn process(job: &Job, dirs: &[OwnedFd]) -> Outcome {
    let bytes = match read_file(&dirs[job.dir], job.file_name()) {
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
