//! The body of each type of event: its own fields, typed, under the serde
//! names of docs/reference/events.md. Writers build these; readers match on
//! [`Body`](super::Body)'s variants, so a misspelt field is a compile
//! error, not `""`.
//!
//! Reading is lenient: a missing field reads as empty (a line of an older
//! version still reads), except the vocabulary (`action`, `condition`,
//! `policy`, `severity`, `outcome`), without which a line is not of its
//! type and a reader passes over it. A field documented as "may be null" is an
//! `Option` always written; one that is "absent when it does not apply" is
//! skipped when `None`.
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Number, Value};

use crate::checkpoint::Health;
use crate::core::{Action, Condition, Policy, Severity, Verdict};

fn zero() -> Number {
    Number::from(0)
}

#[allow(
    clippy::trivially_copy_pass_by_ref,
    reason = "serde's skip_serializing_if passes a reference"
)]
fn is_false(b: &bool) -> bool {
    !*b
}

/// Reads a present field (null included) as `Some`: with `default`, an
/// absent one stays `None` (`set_aside` is absent for world files, null
/// for a checkpoint `check` did not move).
#[allow(
    clippy::option_option,
    reason = "absent and null mean different things"
)]
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RunStarted {
    pub command: String,
    pub dry_run: bool,
    pub local_node: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replay_step: Option<u64>,
    pub version: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HealthChanged {
    pub failures: u32,
    pub from: Health,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub to: Health,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ObservationInvalid {
    pub error: String,
    pub path: String,
    /// Checkpoint only: where it was moved (null: `check`, which moves nothing).
    #[allow(
        clippy::option_option,
        reason = "absent and null mean different things"
    )]
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "present")]
    pub set_aside: Option<Option<String>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DriftDetected {
    pub condition: Condition,
    #[serde(default)]
    pub detail: String,
    /// `unhealthy_service` and `missing_service`, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// `reconcile_required`, `reconcile_recommended` and `reconcile_blocked`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reconcile {
    pub action: Action,
    pub condition: Condition,
    pub policy: Policy,
    #[serde(default)]
    pub reason: String,
    pub severity: Severity,
}

/// What became of an action: the `outcome` of `action_executed`,
/// `action_verified`, `service_removed` and a decision's actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// `check`: it would be executed.
    Planned,
    /// A start, verified by a later run.
    Started,
    Success,
    Failed,
    Skipped,
    /// Another node's action.
    Recommended,
    /// A removed service's process, stopped.
    Stopped,
    /// A removed service this tool did not start, left running.
    LeftAlone,
    /// A removed service started by this tool, with no process known.
    Gone,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Planned => "planned",
            Outcome::Started => "started",
            Outcome::Success => "success",
            Outcome::Failed => "failed",
            Outcome::Skipped => "skipped",
            Outcome::Recommended => "recommended",
            Outcome::Stopped => "stopped",
            Outcome::LeftAlone => "left_alone",
            Outcome::Gone => "gone",
        }
    }

    /// It ran (a start, a success or a failure): what `executed` counts.
    pub fn ran(self) -> bool {
        matches!(self, Outcome::Started | Outcome::Success | Outcome::Failed)
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One side of a conflict: `{"action": …, "policy": …}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyAction {
    pub action: Action,
    pub policy: Policy,
}

impl From<(Policy, Action)> for PolicyAction {
    fn from((policy, action): (Policy, Action)) -> Self {
        PolicyAction { action, policy }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConflictResolved {
    pub loser: PolicyAction,
    pub winner: PolicyAction,
}

/// An orphan's eviction's fields on `action_executed` (and its `decision`
/// action: `orphan` and `pid`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvictedOrphan {
    pub gpu_index: Option<u32>,
    pub gpu_memory_bytes: u64,
    /// Always `true`.
    pub orphan: bool,
    pub pid: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionExecuted {
    pub action: Action,
    #[serde(default)]
    pub duration_ms: u64,
    #[serde(default)]
    pub exit_code: Option<i32>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub forced: bool,
    pub outcome: Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<Policy>,
    #[serde(default)]
    pub reason: String,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub orphan: Option<EvictedOrphan>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionVerified {
    pub action: Action,
    #[serde(default)]
    pub after_ms: u64,
    pub outcome: Outcome,
    #[serde(default)]
    pub reason: String,
}

/// A proposal as the `decision` record lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecidedProposal {
    pub action: Action,
    pub condition: Condition,
    pub policy: Policy,
    pub service: Option<String>,
    pub verdict: Verdict,
}

/// A conflict as the `decision` record lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecidedConflict {
    pub loser: PolicyAction,
    pub service: Option<String>,
    pub winner: PolicyAction,
}

/// An action as the `decision` record lists it (an orphan's: `service`
/// null, `orphan` and `pid`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecidedAction {
    pub action: Action,
    #[serde(default, skip_serializing_if = "is_false")]
    pub orphan: bool,
    pub outcome: Outcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    #[serde(default)]
    pub reason: String,
    pub service: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Decision {
    pub actions: Vec<DecidedAction>,
    pub conflicts: Vec<DecidedConflict>,
    pub proposals: Vec<DecidedProposal>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proposals_omitted: Option<u64>,
    pub snapshot: Snapshot,
}

/// What was seen of a node (docs/reference/events.md, `decision`); of an
/// offline node only `online` and `services`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    #[serde(default)]
    pub online: bool,
    #[serde(default)]
    pub services: u64,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub seen: Option<Seen>,
}

/// The counts and ratios of an online node's snapshot.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Seen {
    pub evicted: u64,
    pub gpus: Vec<GpuRatio>,
    /// Services per health state (by its name).
    pub health: std::collections::BTreeMap<String, u64>,
    pub held: u64,
    pub maintenance: bool,
    /// Null when the node's memory is not known.
    pub memory_used_ratio: Option<f64>,
    pub pinned: u64,
    /// Live probes ran.
    pub probed: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct GpuRatio {
    pub index: u32,
    pub used_ratio: f64,
}

/// `run_finished`'s `counts`: each counts this run's events.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Counts {
    pub blocked: u64,
    pub conflicts: u64,
    pub drift: u64,
    pub executed: u64,
    pub failed: u64,
    pub health_changed: u64,
    pub invalid: u64,
    pub nodes: u64,
    pub nodes_offline: u64,
    pub recommended: u64,
    pub required: u64,
    pub services: u64,
    pub skipped: u64,
    /// Events of persisting conditions left out (only when above 0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unchanged: Option<u64>,
    /// Set by whoever writes the record (the run, or replay).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_failed: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RunFinished {
    pub counts: Counts,
    pub duration_ms: u64,
    /// The signal that interrupted the run, if one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interrupted: Option<String>,
    pub state: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct WebhookFailed {
    pub attempts: u32,
    pub error: String,
    pub event_run_id: Value,
    pub event_seq: Value,
    pub event_type: Value,
    pub url: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConfigInsecure {
    pub path: String,
    pub problem: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct IntentRecovered {
    /// An action, or `stop_removed`, `evict_orphan`.
    pub action: String,
    pub at: String,
    pub attempt: u32,
    pub interrupted_run_seq: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceRemoved {
    pub outcome: Outcome,
    #[serde(default)]
    pub pid: Option<u32>,
    #[serde(default)]
    pub reason: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CircuitHalfOpen {
    pub reason: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ThrashDetected {
    pub from: String,
    pub reason: String,
    pub to: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct OrphanDetected {
    pub cmdline: String,
    pub gpu_index: Option<u32>,
    pub gpu_memory_bytes: u64,
    pub pid: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ReplayScore {
    pub faults: Vec<Value>,
    pub false_action_list: Vec<Value>,
    pub false_actions: u64,
    pub flaps: u64,
    pub passed: bool,
    pub pinned_evicted: u64,
    pub storm_services: Vec<String>,
    pub storms: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TuningChanged {
    pub from: String,
    pub reason: String,
    pub setting: String,
    pub to: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FailurePredicted {
    #[serde(default)]
    pub advice: String,
    /// Bytes as an integer; milliseconds and °C with decimals.
    #[serde(default = "zero")]
    pub current: Number,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evict: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu_index: Option<u32>,
    #[serde(default)]
    pub metric: String,
    #[serde(default)]
    pub projected_at: String,
    #[serde(default)]
    pub r2: f64,
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub recommended: String,
    #[serde(default)]
    pub samples: u64,
    #[serde(default)]
    pub slope: f64,
    #[serde(default = "zero")]
    pub threshold: Number,
}
