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
    pub action: Step,
    /// For a restart: the attempt it counts as (1 for the first); else 0.
    #[serde(default)]
    pub attempt: u32,
    /// `evict_orphan` only: the orphan's pid (`service` is then empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
}

/// What an intent records: a policy's action, or one of the executor's
/// own (stopping a removed service, evicting a GPU orphan). Written by its
/// `snake_case` name, as the journal always was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    Restart,
    Preload,
    Evict,
    ActivateFallback,
    DeactivateFallback,
    StopRemoved,
    EvictOrphan,
}

impl Step {
    /// The policy action it executes; None for the executor's own steps.
    pub fn action(self) -> Option<crate::core::Action> {
        use crate::core::Action;
        match self {
            Step::Restart => Some(Action::Restart),
            Step::Preload => Some(Action::Preload),
            Step::Evict => Some(Action::Evict),
            Step::ActivateFallback => Some(Action::ActivateFallback),
            Step::DeactivateFallback => Some(Action::DeactivateFallback),
            Step::StopRemoved | Step::EvictOrphan => None,
        }
    }

    /// Its name in the journal and in events.
    pub fn as_str(self) -> &'static str {
        match self {
            Step::StopRemoved => "stop_removed",
            Step::EvictOrphan => "evict_orphan",
            other => other.action().map_or("", crate::core::Action::as_str),
        }
    }

    /// The step that executes `action`, for the actions the executor runs.
    pub fn of(action: crate::core::Action) -> Option<Step> {
        use crate::core::Action;
        match action {
            Action::Restart => Some(Step::Restart),
            Action::Preload => Some(Step::Preload),
            Action::Evict => Some(Step::Evict),
            Action::ActivateFallback => Some(Step::ActivateFallback),
            Action::DeactivateFallback => Some(Step::DeactivateFallback),
            _ => None,
        }
    }
}
