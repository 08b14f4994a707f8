//! Adaptive tuning's memory (`tuning_changed`, docs/configuration.md, "Adaptive tuning"): per service, the
//! tuned values and the evidence that leads to the next step. Tuned values
//! live here, never in the user's files; `reset --tuning` forgets them.
//! Every field is optional on read and absent when empty, so checkpoints
//! without tuning read and write exactly as before.
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tuning {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub degraded_after: Option<Tuned>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dead_after: Option<Tuned>,
    /// The restart backoff's base, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff_base_ms: Option<Tuned>,
    #[serde(default, skip_serializing_if = "Evidence::is_empty")]
    pub evidence: Evidence,
    /// The values an operator's `reset --tuning` took away (no evidence):
    /// the next run reports each one that was in force as `tuning_changed`
    /// back to the configured value, then drops this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reset: Option<Box<Tuning>>,
}

impl Tuning {
    pub fn is_empty(&self) -> bool {
        *self == Tuning::default()
    }
}

/// One tuned value, the configured value it was tuned from (a changed
/// configuration discards it) and when it last moved (one step an hour).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tuned {
    pub value: u64,
    pub configured: u64,
    pub changed_at: DateTime<Utc>,
}

/// What was seen since the last step, as counts of consistent outcomes in
/// a row (an outcome pointing the other way resets a count).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// Counted observations that were not `up` in the current episode.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub episode_len: u32,
    /// When the current episode began (its first observation not `up`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub episode_since: Option<DateTime<Utc>>,
    /// Episodes that ended `up` with no action of this tool, close to
    /// `degraded_after`: more patience.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub recovered_alone: u32,
    /// Restarts verified up at their first attempt: less patience.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub first_try: u32,
    /// The same, counted for the backoff base (lower).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub quick_backoff: u32,
    /// Restarts verified up only after earlier attempts failed and the
    /// backoff waited: a longer base.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub after_retries: u32,
}

impl Evidence {
    pub fn is_empty(&self) -> bool {
        *self == Evidence::default()
    }
}

#[allow(
    clippy::trivially_copy_pass_by_ref,
    reason = "serde's `skip_serializing_if` passes a reference"
)]
fn is_zero(n: &u32) -> bool {
    *n == 0
}
