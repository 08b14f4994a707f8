//! Proof under stress for the state directory (SPEC §7): the real binary is
//! killed mid-run, raced against itself, and given a state directory that is
//! full, read-only or immutable, and after each of these the files it keeps
//! must still be whole and the next run must succeed on its own. This file
//! holds what the three concerns share: a copy of the sample fleet, the
//! command line of a dry run, and the checks of `events.jsonl` and
//! `checkpoint.json`.
mod concurrency;
mod crash;
mod crash_exec;
mod crash_spawn;
mod exec_faults;
mod log_check;
mod state_dir;

pub use log_check::LogCheck;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

use crate::support::{copy_tree, repo_root, NOW};

/// The sample fleet copied into a temporary directory, with a state
/// directory beside it that does not exist yet.
pub struct Sample {
    pub hosts: PathBuf,
    pub world: PathBuf,
    pub state: PathBuf,
    _dir: tempfile::TempDir,
}

impl Sample {
    pub fn new() -> Sample {
        let dir = tempfile::tempdir().expect("create a temporary directory");
        let hosts = dir.path().join("hosts");
        let world = dir.path().join("world");
        copy_tree(&repo_root().join("hosts"), &hosts);
        copy_tree(&repo_root().join("world-fixtures/sample/world"), &world);
        let state = dir.path().join("state");
        Sample {
            hosts,
            world,
            state,
            _dir: dir,
        }
    }

    /// Same fleet, state directory at `state` (e.g. on a mounted tmpfs).
    pub fn with_state(state: PathBuf) -> Sample {
        Sample {
            state,
            ..Sample::new()
        }
    }

    /// `reconcile --dry-run --no-probe` of node gpu-box at the fixture
    /// instant, plus `extra`; output discarded unless the caller pipes it.
    pub fn reconcile(&self, extra: &[&str]) -> Command {
        let mut cmd = crate::support::Run::bare().command();
        cmd.arg("--hosts")
            .arg(&self.hosts)
            .arg("--world")
            .arg(&self.world)
            .arg("--state-dir")
            .arg(&self.state)
            .args(["--node", "gpu-box", "--now", NOW])
            .args(["reconcile", "--dry-run", "--no-probe"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        cmd
    }

    /// Runs a dry run to its end, capturing stderr.
    pub fn run(&self, extra: &[&str]) -> Output {
        self.reconcile(extra)
            .stderr(Stdio::piped())
            .output()
            .expect("run supervisorctl")
    }

    /// Runs a dry run that must succeed (exit 0, 2 or 3).
    pub fn run_ok(&self, context: &str) {
        let out = self.run(&[]);
        assert!(
            succeeded(out.status.code()),
            "{context}: a normal run failed with {:?}\nstderr: {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    pub fn log(&self) -> PathBuf {
        self.state.join("events.jsonl")
    }

    pub fn checkpoint(&self) -> PathBuf {
        self.state.join("checkpoint.json")
    }
}

/// Exit codes of a run that did its work: nominal, degraded, unstable.
pub fn succeeded(code: Option<i32>) -> bool {
    matches!(code, Some(0 | 2 | 3))
}

/// `checkpoint.json`, if present, parses, has version 1 and is never ahead
/// of the log (events are appended before the checkpoint is replaced); no
/// checkpoint was ever set aside as unreadable.
pub fn check_checkpoint(state: &Path, last_seq: Option<u64>) -> Result<(), String> {
    let path = state.join("checkpoint.json");
    match std::fs::read(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(format!("cannot read the checkpoint: {e}")),
        Ok(bytes) => {
            let cp: Value = serde_json::from_slice(&bytes).map_err(|e| {
                format!(
                    "checkpoint is not JSON ({e}): {}",
                    String::from_utf8_lossy(&bytes)
                )
            })?;
            if cp["version"] != 1 {
                return Err(format!("checkpoint version is {}", cp["version"]));
            }
            let next = cp["next_seq"].as_u64().unwrap_or(0);
            let bound = last_seq.map_or(1, |s| s + 1);
            if next > bound {
                return Err(format!(
                    "checkpoint next_seq {next} is ahead of the log (last seq {last_seq:?})"
                ));
            }
        }
    }
    let set_aside = names_in(state, |n| n.starts_with("checkpoint.json.corrupt-"));
    if !set_aside.is_empty() {
        return Err(format!("a checkpoint was set aside: {set_aside:?}"));
    }
    Ok(())
}

/// File names in `dir` that match.
pub fn names_in(dir: &Path, keep: impl Fn(&str) -> bool) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| keep(n))
        .collect()
}

/// Temporary files of an atomic write (`.<name>.<pid>.<n>.tmp`).
pub fn temp_files(dir: &Path) -> Vec<String> {
    names_in(dir, |n| {
        n.starts_with('.') && Path::new(n).extension() == Some("tmp".as_ref())
    })
}

pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}
