//! The resolved desired state: what `hosts/<node>/services.yaml` means once
//! presets, defaults and overrides are applied. The decision core reads only
//! these types, never the raw YAML.
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// Every node declared in `hosts/`, sorted by name.
#[derive(Debug, Clone, Default)]
pub struct Fleet {
    pub nodes: BTreeMap<String, NodeSpec>,
    /// SHA-256 over (relative path, bytes) of every file read, in order:
    /// part of the run identity.
    pub fingerprint: [u8; 32],
}

#[derive(Debug, Clone)]
pub struct NodeSpec {
    pub name: String,
    /// The `services.yaml` this node came from.
    pub file: PathBuf,
    pub settings: Settings,
    /// Sorted by name.
    pub services: BTreeMap<String, ServiceSpec>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    Conservative,
    Balanced,
    Aggressive,
}

/// Node policy settings with the preset applied (docs/reference/services-yaml.md, "Presets").
#[derive(Debug, Clone)]
#[allow(
    clippy::struct_excessive_bools,
    reason = "each is its own yes/no setting of `services.yaml`"
)]
pub struct Settings {
    pub preset: Preset,
    /// A live probe counts at most once a fast tick (docs/reference/behaviour.md, "Health"; docs/reference/services-yaml.md, "Presets").
    pub fast_tick: Duration,
    /// Ratio in (0, 1].
    pub memory_pressure: f64,
    pub gpu_pressure: f64,
    pub idle_timeout: Duration,
    pub max_restart_attempts: u32,
    pub idle_eviction: bool,
    pub resource_optimization: bool,
    pub max_actions_per_run: u32,
    pub node_offline_after: Duration,
    /// How long a started process must stay up (and pass its health probe
    /// once) for the start to count as a success (docs/reference/behaviour.md, "A start succeeds only if it stays up").
    pub start_grace: Duration,
    /// An open circuit half-opens after this (doubling per failed trial, to
    /// 24 h); `None`: never (only `reset` or 10 healthy minutes close it).
    pub breaker_retry: Option<Duration>,
    /// The longest a start may be `loading` (docs/reference/behaviour.md, "Loading"); default 10m.
    pub load_timeout: Duration,
    /// Let safety evict GPU orphans under pressure (docs/reference/behaviour.md, "GPU orphans"); default false.
    pub evict_orphans: bool,
    /// Failure prediction from sample series (`failure_predicted`, docs/operator-guide.md, "Failure prediction");
    /// default on. It never acts by itself.
    pub predictive: bool,
    /// How far ahead a prediction looks; default 30m.
    pub predict_horizon: Duration,
    /// Adaptive tuning of per-service settings within bounds; default off.
    pub adaptive: bool,
    /// Least time between two probe results that count toward
    /// `degraded_after`/`dead_after` (docs/reference/behaviour.md, "Probe period"); default 10s.
    pub probe_period: Duration,
    /// A model whose activity is unknown may be evicted for idleness
    /// (counted from its start); default false: unknown is never idle.
    pub idle_without_activity: bool,
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    pub maintenance: Vec<MaintenanceWindow>,
    pub webhooks: Vec<Webhook>,
}

/// A daily window in UTC. `to_minute < from_minute` wraps past midnight
/// (the day named is the day the window opens).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaintenanceWindow {
    /// Empty means every day.
    pub days: Vec<chrono::Weekday>,
    /// Minutes since 00:00 UTC.
    pub from_minute: u32,
    pub to_minute: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    pub url: String,
    /// How each event is posted (`format:`; default `generic`).
    pub format: WebhookFormat,
    /// Event types to deliver; empty means every type.
    pub events: Vec<String>,
    pub secret_file: Option<PathBuf>,
    /// A private CA (PEM) trusted besides the system's roots.
    pub ca_file: Option<PathBuf>,
}

/// `webhooks[].format`: the event's JSON line as it is (`generic`,
/// signed when a secret is set), or one line for people in the body a chat
/// service's incoming webhook takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WebhookFormat {
    #[default]
    Generic,
    /// `{"text": LINE}` (Slack incoming webhooks).
    Slack,
    /// `{"content": LINE}` (Discord webhooks).
    Discord,
    /// LINE as a plain-text body with `Title`, `Priority` and `Tags` (ntfy).
    Ntfy,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Model,
    Service,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProcessMatch {
    Pidfile(PathBuf),
    /// Exact process name (comm).
    Name(String),
    CmdlineContains(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    /// GET; 2xx is up.
    Http(String),
    /// `host:port`; a connection accepted is up.
    Tcp(String),
    /// argv, no shell; exit 0 is up.
    Command(Vec<String>),
    /// POST a one-token completion; up only on 2xx with a choice (docs/reference/behaviour.md, "Inference check").
    Inference {
        url: String,
        model: Option<String>,
        /// Its own timeout (else the check's `timeout`).
        timeout: Option<Duration>,
    },
}

#[derive(Debug, Clone)]
pub struct HealthSpec {
    pub probe: Option<Probe>,
    /// Probe every `every`th probe period (1: every period; docs/reference/behaviour.md, "Probe period").
    pub every: u32,
    /// A private CA (PEM) trusted besides the system's roots, for `https://`.
    pub ca_file: Option<PathBuf>,
    pub timeout: Duration,
    pub degraded_after: u32,
    pub dead_after: u32,
    /// Where `degraded_after` and `dead_after` came from (`policies`).
    pub origins: (Origin, Origin),
    /// The answer that means "loading" besides llama.cpp's own (docs/reference/behaviour.md, "Loading").
    pub loading: Option<LoadingAnswer>,
}

/// `health.loading`: an HTTP answer with this status (and, when given, a
/// body containing this text, case-insensitively) means the server is
/// loading its model, not failing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadingAnswer {
    pub status: u16,
    pub body: Option<String>,
}

/// Where a service's activity comes from (docs/reference/behaviour.md, "Activity"), besides the world
/// record's `last_activity`, which always comes first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActivitySource {
    /// Established TCP connections to the process's listening sockets
    /// (the default for a service whose process is found).
    Connections,
    /// A Prometheus text endpoint: a request counter that rose, or an
    /// in-flight gauge above 0. `None` names: the known servers' defaults.
    Metrics {
        url: String,
        counter: Option<String>,
        gauge: Option<String>,
    },
}

/// Where a tunable value came from: the defaults (the preset) or the
/// service's own line in `services.yaml`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Preset,
    File,
}

impl Origin {
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Preset => "preset",
            Origin::File => "services.yaml",
        }
    }
}

/// How the tool (re)starts a service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    /// Run to completion (e.g. `systemctl restart x`).
    Restart(Vec<String>),
    /// Start detached; the pid goes to `<state-dir>/pids/<service>.pid`.
    Spawn(Vec<String>),
}

#[derive(Debug, Clone)]
pub struct ServiceSpec {
    pub name: String,
    pub kind: Kind,
    pub pinned: bool,
    pub priority: i64,
    pub process: Option<ProcessMatch>,
    /// `process.user`: whose processes `name` and `cmdline_contains` may
    /// match (a name or a uid); `None`: the user this tool runs as.
    pub process_user: Option<String>,
    pub health: HealthSpec,
    pub start: Option<Start>,
    pub stop: Option<Vec<String>>,
    pub stop_timeout: Duration,
    /// How long a `restart` command may run (extension; default 60s).
    pub restart_timeout: Duration,
    /// The service's own, else the node's.
    pub idle_timeout: Duration,
    /// The service's own, else the node's (`start_grace`, default 10s).
    pub start_grace: Duration,
    pub memory: Option<u64>,
    pub gpu_memory: Option<u64>,
    pub fallback: Option<String>,
    pub depends_on: Vec<String>,
    /// `activity:`; `None`: connections, when the process is found.
    pub activity: Option<ActivitySource>,
    /// How a `spawn:` service is started: environment, folder, user, logs.
    pub launch: LaunchSettings,
}

/// The settings of a `spawn:` start (all empty for other services).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaunchSettings {
    /// `env:`, added to the clean environment (over `env_file`'s).
    pub env: Vec<(String, String)>,
    /// `env_file:`, `KEY=VALUE` lines read at each start.
    pub env_file: Option<std::path::PathBuf>,
    /// `cwd:` (default `/`).
    pub cwd: Option<std::path::PathBuf>,
    /// `user:` and `group:` (names or numbers); only root may use them.
    pub user: Option<String>,
    pub group: Option<String>,
    /// `logs.max_size` (bytes; default 16 MiB) and `logs.keep` (rotated
    /// files kept beside the live one; default 3).
    pub log_max_size: u64,
    pub log_keep: u32,
}

impl Default for LaunchSettings {
    fn default() -> Self {
        LaunchSettings {
            env: Vec::new(),
            env_file: None,
            cwd: None,
            user: None,
            group: None,
            log_max_size: 16 * 1024 * 1024,
            log_keep: 3,
        }
    }
}

impl HealthSpec {
    /// No probe, every fast tick, the preset thresholds (2 and 5) and a
    /// 2 s timeout: what a service that declares no `health:` gets.
    pub fn unprobed() -> HealthSpec {
        HealthSpec {
            probe: None,
            every: 1,
            ca_file: None,
            timeout: super::presets::PROBE_TIMEOUT,
            degraded_after: super::presets::DEGRADED_AFTER,
            dead_after: super::presets::DEAD_AFTER,
            origins: (Origin::Preset, Origin::Preset),
            loading: None,
        }
    }
}

impl ServiceSpec {
    /// A service with every default of docs/reference/services-yaml.md (balanced preset's
    /// 30 m idle timeout), no process finder, no health probe, no command.
    pub fn new(name: &str, kind: Kind) -> ServiceSpec {
        ServiceSpec {
            name: name.to_string(),
            kind,
            pinned: false,
            priority: 0,
            process: None,
            process_user: None,
            health: HealthSpec::unprobed(),
            start: None,
            stop: None,
            stop_timeout: Duration::from_secs(10),
            restart_timeout: Duration::from_mins(1),
            idle_timeout: Duration::from_mins(30),
            start_grace: Duration::from_secs(10),
            memory: None,
            gpu_memory: None,
            fallback: None,
            depends_on: vec![],
            activity: None,
            launch: LaunchSettings::default(),
        }
    }

    pub fn is_model(&self) -> bool {
        self.kind == Kind::Model
    }
}
