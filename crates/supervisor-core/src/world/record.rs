//! The shapes of the world directory's files (docs/reference/world.md). Unknown fields are
//! ignored; a file that does not fit these shapes is an invalid observation.
use chrono::{DateTime, Utc};
use serde::Deserialize;

pub type Timestamp = DateTime<Utc>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeStatus {
    Online,
    Offline,
}

#[derive(Debug, Clone, Deserialize)]
pub struct NodeRecord {
    pub status: NodeStatus,
    pub last_seen: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ServiceStatus {
    Ok,
    Degraded,
    Failed,
    Stopped,
}

impl ServiceStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceStatus::Ok => "ok",
            ServiceStatus::Degraded => "degraded",
            ServiceStatus::Failed => "failed",
            ServiceStatus::Stopped => "stopped",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct ServiceRecord {
    pub status: ServiceStatus,
    pub observed_at: Timestamp,
    #[serde(default)]
    pub pid: Option<u32>,
    #[serde(default)]
    pub last_activity: Option<Timestamp>,
    #[serde(default)]
    pub requests_total: Option<u64>,
    #[serde(default)]
    pub in_flight: Option<u64>,
    #[serde(default)]
    pub gpu_index: Option<u32>,
    #[serde(default)]
    pub memory_bytes: Option<u64>,
    #[serde(default)]
    pub gpu_memory_bytes: Option<u64>,
    /// The observer's own health probe, as raw evidence: `failing` means
    /// the process lives but its check fails, counted like a live probe
    /// towards `degraded_after`/`dead_after` (an extension of the world format, docs/reference/world.md).
    #[serde(default)]
    pub probe: Option<ProbeResult>,
    /// How long the observer's health probe took (failure prediction).
    #[serde(default)]
    pub probe_latency_ms: Option<f64>,
    /// Why it is not ok, as the observer words it (`observe` writes the
    /// probe's reason: `HTTP 503`, `inference timed out after 10s`).
    #[serde(default)]
    pub reason: Option<String>,
}

impl ServiceRecord {
    /// A record of `status` at `observed_at`, nothing else known.
    pub fn new(status: ServiceStatus, observed_at: Timestamp) -> ServiceRecord {
        ServiceRecord {
            status,
            observed_at,
            pid: None,
            last_activity: None,
            requests_total: None,
            in_flight: None,
            gpu_index: None,
            memory_bytes: None,
            gpu_memory_bytes: None,
            probe: None,
            probe_latency_ms: None,
            reason: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProbeResult {
    Passing,
    Failing,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AttemptOutcome {
    Succeeded,
    Failed,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Attempt {
    pub at: Timestamp,
    pub outcome: AttemptOutcome,
    #[serde(default)]
    pub message: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DeploymentRecord {
    pub attempts: Vec<Attempt>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
pub struct MemoryUse {
    pub total_bytes: u64,
    pub used_bytes: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct GpuUse {
    pub index: u32,
    #[serde(default)]
    pub name: Option<String>,
    pub memory_total_bytes: u64,
    pub memory_used_bytes: u64,
    #[serde(default)]
    pub temperature_c: Option<f64>,
    #[serde(default)]
    pub utilization: Option<f64>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ResourceRecord {
    pub observed_at: Timestamp,
    #[serde(default)]
    pub memory: Option<MemoryUse>,
    #[serde(default)]
    pub gpus: Vec<GpuUse>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IncidentSeverity {
    Info,
    Warning,
    Critical,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IncidentStatus {
    Open,
    Resolved,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Incident {
    pub id: String,
    pub node: String,
    #[serde(default)]
    pub service: Option<String>,
    pub severity: IncidentSeverity,
    pub status: IncidentStatus,
    pub opened_at: Timestamp,
    pub summary: String,
}
