//! The checkpoint: what one run hands to the next (health, failure counts,
//! restart attempts, evictions, active fallbacks, demand, the next `seq`).
//!
//! Guarantees: the format is versioned (`version: 1`); every field but
//! `version` is optional on read, unknown fields are ignored, so older and
//! newer binaries of the same major version can read each other's files.
//! Writing is atomic (see `store::checkpoint`): a reader sees the old or
//! the new file, never a mix.
use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub mod metric_map;
pub mod trends;
pub mod tuning;
pub use trends::Trends;

pub const CHECKPOINT_VERSION: u32 = 1;

/// A process, as plain data: a pid alone can be reused, (pid, start time
/// in clock ticks since boot) cannot within one boot. Read from `/proc` by
/// `procfs`; kept here so the decision core can hold one without touching
/// the module that reads `/proc`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessIdentity {
    pub pid: u32,
    /// Field 22 of `/proc/PID/stat`: start time in clock ticks after boot.
    pub start_ticks: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub version: u32,
    /// Persisting conditions the last reconcile reported (`drift_detected`
    /// of an open incident or an overruled idle eviction, their advice, a
    /// conflict resolved the same way): said again only once gone and back.
    #[serde(default, skip_serializing_if = "std::collections::BTreeSet::is_empty")]
    pub reported: BTreeSet<String>,
    #[serde(default = "one")]
    pub next_seq: u64,
    /// Keyed by `<node>/<service>`.
    #[serde(default)]
    pub services: BTreeMap<String, Box<ServiceState>>,
    /// Active fallbacks, keyed by `<node>/<primary>`.
    #[serde(default)]
    pub fallbacks: BTreeMap<String, Fallback>,
    /// Per GPU, keyed by `<node>/<index>`: its temperature series.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub gpus: BTreeMap<String, Trends>,
}

fn one() -> u64 {
    1
}

#[allow(
    clippy::trivially_copy_pass_by_ref,
    reason = "serde's `skip_serializing_if` passes a reference"
)]
fn is_zero(n: &u32) -> bool {
    *n == 0
}

#[allow(
    clippy::trivially_copy_pass_by_ref,
    reason = "serde's `skip_serializing_if` passes a reference"
)]
fn is_one_or_less(n: &u32) -> bool {
    *n <= 1
}

impl Default for Checkpoint {
    fn default() -> Self {
        Checkpoint {
            version: CHECKPOINT_VERSION,
            next_seq: 1,
            services: BTreeMap::new(),
            fallbacks: BTreeMap::new(),
            gpus: BTreeMap::new(),
            reported: BTreeSet::default(),
        }
    }
}

/// A service's health state (docs/reference/behaviour.md, "Health"), plus `evicted` for models this tool
/// unloaded on purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Health {
    #[default]
    Unknown,
    Healthy,
    Degraded,
    Dead,
    Evicted,
}

impl Health {
    /// Every state, in the order of the enum.
    pub const ALL: [Health; 5] = [
        Health::Unknown,
        Health::Healthy,
        Health::Degraded,
        Health::Dead,
        Health::Evicted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Health::Unknown => "unknown",
            Health::Healthy => "healthy",
            Health::Degraded => "degraded",
            Health::Dead => "dead",
            Health::Evicted => "evicted",
        }
    }

    /// The Prometheus gauge value of docs/monitoring/README.md (evicted counts as dead: not serving).
    pub fn gauge(self) -> u8 {
        match self {
            Health::Dead | Health::Evicted => 0,
            Health::Degraded => 1,
            Health::Healthy => 2,
            Health::Unknown => 3,
        }
    }

    /// A model that is loaded and serving (or trying to).
    pub fn is_running(self) -> bool {
        matches!(self, Health::Healthy | Health::Degraded)
    }
}

/// The most start times a service's state keeps.
pub const MAX_RECENT_STARTS: usize = 100;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ServiceState {
    #[serde(default)]
    pub health: Health,
    #[serde(default)]
    pub failures: u32,
    /// The world record's `observed_at` last counted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_at: Option<DateTime<Utc>>,
    /// When a live probe was last counted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probed_at: Option<DateTime<Utc>>,
    /// When its health probe last ran (for `every`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_probed_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthy_since: Option<DateTime<Utc>>,
    /// It has been seen healthy at least once: a start from now on is a
    /// restart (`has_run`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub seen_up: bool,
    /// Restarts since it was last healthy for 10 minutes, a half-open
    /// trial was verified up, or `reset` (a first start is not one).
    #[serde(default)]
    pub restart_attempts: u32,
    /// When the restart circuit last opened (or a half-open trial failed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub breaker_opened_at: Option<DateTime<Utc>>,
    /// Half-open trials since the circuit first opened (docs/reference/behaviour.md, "Restarts: backoff and the circuit breaker").
    #[serde(default, skip_serializing_if = "is_zero")]
    pub breaker_trials: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_restart_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evicted_at: Option<DateTime<Utc>>,
    /// When this tool last started (restarted, spawned, preloaded) it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process: Option<ProcessIdentity>,
    /// `process` was started by this tool (`spawn`): when the service is
    /// removed from hosts/, it is stopped.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub spawned: bool,
    /// CPU time (seconds) of the process at the last probe, and when: CPU
    /// use comes from the difference between runs, without sleeping.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_seconds: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_at: Option<DateTime<Utc>>,
    /// CPU use between the last two probes, in cores (1.5 = 150 %).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_use: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_action: Option<LastAction>,
    /// Why the last counted observation was not `up` (a probe's reason, or
    /// what the observer reported); cleared by an `up`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// The action a later run is to verify.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<PendingCheck>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub demand: Option<Demand>,
    /// Evict→restart cycles of the last hour: starts of this evicted model
    /// within its idle timeout of the eviction (docs/reference/behaviour.md, "Thrash").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub thrash_cycles: Vec<DateTime<Utc>>,
    /// The thrash multiplier of its idle timeout: 2 or 4; absent (0) is 1×.
    #[serde(default, skip_serializing_if = "is_one_or_less")]
    pub idle_multiplier: u32,
    /// The last sample of what grows while a start loads (docs/reference/behaviour.md, "Loading").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_sample: Option<LoadSample>,
    /// Since when the started process has been loading (growth seen in
    /// every run since); absent when it is not loading.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loading_since: Option<DateTime<Utc>>,
    /// When its last loading ended: `start_grace` counts from here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loading_ended_at: Option<DateTime<Utc>>,
    /// Adaptive tuning's values and evidence (`supervisor.adaptive`).
    #[serde(default, skip_serializing_if = "tuning::Tuning::is_empty")]
    pub tuning: tuning::Tuning,
    /// Sample series for failure prediction, and what they predict.
    #[serde(default, skip_serializing_if = "Trends::is_empty")]
    pub trends: Trends,
    /// What the live activity probes saw (docs/reference/behaviour.md, "Activity").
    #[serde(default, skip_serializing_if = "ActivityState::is_empty")]
    pub activity: ActivityState,
    /// When this tool started it within the last hour (at most
    /// [`MAX_RECENT_STARTS`]): `status`'s "restarts in the last hour".
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recent_starts: Vec<DateTime<Utc>>,
    /// The time of the last failing observation counted toward
    /// `degraded_after`/`dead_after` (docs/reference/behaviour.md, "Probe period").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_counted_at: Option<DateTime<Utc>>,
    /// When an operator's `stop` left it stopped (docs/reference/behaviour.md, "Operator commands", supervisord's
    /// `STOPPED`): the policies do not start it again until `start` or
    /// `restart`. Absent in older checkpoints: not stopped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped_by_operator_at: Option<DateTime<Utc>>,
}

/// Live activity of a service (docs/reference/behaviour.md, "Activity"), kept between runs: a counter
/// rises between two runs, and idleness counts from the last use seen or
/// from when activity became readable, never from before.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityState {
    /// The last run whose probe saw it in use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seen_at: Option<DateTime<Utc>>,
    /// Since when every run could read its activity (reset by a run that
    /// could not).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub known_since: Option<DateTime<Utc>>,
    /// The request counter's last value (`activity.metrics`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counter: Option<u64>,
    /// Why the last probe could not read it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unknown: Option<String>,
    /// Why a configured source was passed over (metrics that failed, read
    /// from connections instead).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl ActivityState {
    pub fn is_empty(&self) -> bool {
        *self == ActivityState::default()
    }
}

impl ServiceState {
    /// Whether a start now is a restart: this tool started it before, or
    /// it was seen healthy (or evicted) once. The first start of a service
    /// never seen up is not a restart, as Kubernetes counts restarts after
    /// the first start (docs/operator-guide.md, "Restart attempts").
    pub fn has_run(&self) -> bool {
        self.started_at.is_some()
            || self.last_restart_at.is_some()
            || self.seen_up
            || self.health == Health::Healthy
            || self.evicted_at.is_some()
    }

    /// The restart attempt a start now counts as: one more, or the same
    /// count for a first start (0 for a service never seen).
    pub fn next_restart_attempt(&self) -> u32 {
        self.restart_attempts + u32::from(self.has_run())
    }

    /// This tool ran a start at `at`, whether it came up or failed at once:
    /// `status`'s "starts in the last hour" (a crash loop shows as one).
    pub fn note_start(&mut self, at: DateTime<Utc>) {
        self.recent_starts
            .retain(|t| *t <= at && at - *t < chrono::Duration::hours(1));
        self.recent_starts.push(at);
        let over = self.recent_starts.len().saturating_sub(MAX_RECENT_STARTS);
        self.recent_starts.drain(..over);
    }

    /// This tool started it (`action`: restart, spawn or preload) at `at`:
    /// its health is unknown until an observation newer than the start,
    /// which also verifies the start.
    pub fn mark_started(&mut self, action: crate::core::Action, at: DateTime<Utc>) {
        self.health = Health::Unknown;
        self.failures = 0;
        self.healthy_since = None;
        self.evicted_at = None;
        self.started_at = Some(at);
        self.pending = Some(PendingCheck { action, at });
    }

    /// This tool evicted it at `at`: evicted, not dead (no restart before
    /// new activity), and no process of it is known.
    pub fn mark_evicted(&mut self, at: DateTime<Utc>) {
        self.health = Health::Evicted;
        self.evicted_at = Some(at);
        self.failures = 0;
        self.healthy_since = None;
        self.process = None;
    }
}

/// Resident memory, GPU memory and log size of a service's process, as one
/// run saw them (any may be unknown).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoadSample {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rss: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log: Option<u64>,
    pub at: DateTime<Utc>,
}

/// A start or an eviction waiting for a later run to say whether it
/// worked (`action_verified`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingCheck {
    pub action: crate::core::Action,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LastAction {
    pub action: crate::core::Action,
    pub at: DateTime<Utc>,
    pub outcome: String,
}

/// Request-rate forecast state: an EWMA of requests per second.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Demand {
    pub requests_total: u64,
    pub at: DateTime<Utc>,
    #[serde(default)]
    pub rate: f64,
    #[serde(default)]
    pub prev_rate: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fallback {
    pub to: String,
    pub since: DateTime<Utc>,
}

pub fn key(node: &str, service: &str) -> String {
    format!("{node}/{service}")
}
