//! An intent: the record, written durably before an action is executed, of
//! the action and the restart attempt it counts as (docs/reference/behaviour.md,
//! "Record before act"). A run that finishes replaces every intent it wrote with its
//! checkpoint; a run killed or failing in between leaves them for the next
//! run, which counts them (`core::recover`). This is the data format only:
//! `store::intents` writes and reads it.
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One line of `<state-dir>/intents.jsonl`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Intent {
    /// The `seq` of the first event of the run that wrote it: a checkpoint
    /// whose `next_seq` is greater already counts it (that run finished).
    pub run_seq: u64,
    /// The run's clock (`--now` or the time it started).
    pub at: DateTime<Utc>,
    pub node: String,
    pub service: String,
    /// `restart`, `preload`, `evict`, `activate_fallback`,
    /// `deactivate_fallback`, `stop_removed`, `evict_orphan`.
    pub action: String,
    /// For a restart: the attempt it counts as (1 for the first); else 0.
    #[serde(default)]
    pub attempt: u32,
    /// `evict_orphan` only: the orphan's pid (`service` is then empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
}
