//! The serde shape of `services.yaml` (docs/reference/services-yaml.md), as close to the file as
//! possible: every field optional where the file allows it, unknown fields
//! refused, values checked by the types in `scalars`. Defaults, presets and
//! cross-field rules are applied later, in `resolve` and `graph`.
//!
//! `supervisor`, each service and a service's `process` and `health` are
//! read field by field (see `walk`), so that one bad field does not hide
//! the next: the `sectioned!` macro gives them a [`Fields`] reader instead
//! of a derived `Deserialize`, and a field marked `as section` is itself
//! read field by field. The same types describe the file in
//! `supervisorctl schema` (`schema`).
use schemars::JsonSchema;
use serde::de::Deserializer;
use serde::Deserialize;

use super::scalars::{
    AbsPath, Argv, CaFile, Clock, Day, Dur, EnvName, EnvValue, EventName, NonEmpty, Ratio,
    RetryAfter, Size, SpawnPath, Url,
};
use super::spec::{Kind, Preset};

/// The top-level keys, for "unknown field" messages.
pub(crate) const TOP_FIELDS: [&str; 3] = ["node", "supervisor", "services"];

#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
#[schemars(rename = "Preset")]
pub(crate) enum RawPreset {
    Conservative,
    Balanced,
    Aggressive,
}

impl From<RawPreset> for Preset {
    fn from(p: RawPreset) -> Preset {
        match p {
            RawPreset::Conservative => Preset::Conservative,
            RawPreset::Balanced => Preset::Balanced,
            RawPreset::Aggressive => Preset::Aggressive,
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
#[schemars(rename = "Kind")]
pub(crate) enum RawKind {
    Model,
    Service,
}

/// `webhooks[].format`.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
#[schemars(rename = "WebhookFormat")]
pub(crate) enum RawWebhookFormat {
    /// The event's JSON line, signed with `secret_file` when set.
    Generic,
    /// Slack incoming webhook: `{"text": "…"}`.
    Slack,
    /// Discord webhook: `{"content": "…"}`.
    Discord,
    /// ntfy topic URL: a plain-text line with Title, Priority and Tags headers.
    Ntfy,
}

impl From<RawWebhookFormat> for super::spec::WebhookFormat {
    fn from(f: RawWebhookFormat) -> Self {
        use super::spec::WebhookFormat as F;
        match f {
            RawWebhookFormat::Generic => F::Generic,
            RawWebhookFormat::Slack => F::Slack,
            RawWebhookFormat::Discord => F::Discord,
            RawWebhookFormat::Ntfy => F::Ntfy,
        }
    }
}

impl From<RawKind> for Kind {
    fn from(k: RawKind) -> Kind {
        match k {
            RawKind::Model => Kind::Model,
            RawKind::Service => Kind::Service,
        }
    }
}

/// A struct read one field at a time, each field its own section.
pub(crate) trait Fields: Default {
    /// The struct's name, as a derived `Deserialize` would say it.
    const NAME: &'static str;
    const FIELDS: &'static [&'static str];
    /// Reads the value of `key` (one of `FIELDS`) from `value`.
    fn read<'de, D: Deserializer<'de>>(&mut self, key: &str, value: D) -> Result<(), D::Error>;
    /// Reads `key` through `reader` when it is a section of its own (a
    /// field marked `as section`); `false`: a plain value, for `read`.
    fn read_section<R: SectionReader>(&mut self, key: &str, reader: R) -> Result<bool, R::Stop>;
}

/// One field of a `sectioned!` struct: a value `read` deserializes, or a
/// section (`as section`) `read_section` walks.
macro_rules! field_kind {
    (read $place:expr, $value:ident) => {
        $place = Deserialize::deserialize($value)?
    };
    (read $place:expr, $value:ident, section) => {{}};
    (read $place:expr, $value:ident, map) => {{}};
    (section $place:expr, $reader:ident) => {
        return Ok(false)
    };
    (section $place:expr, $reader:ident, section) => {{
        $place = $reader.section()?;
        return Ok(true);
    }};
    (section $place:expr, $reader:ident, map) => {{
        $place = $reader.map()?;
        return Ok(true);
    }};
}

macro_rules! sectioned {
    ($(#[$meta:meta])* pub(crate) struct $name:ident {
        $($(#[$fmeta:meta])* pub $field:ident: Option<$ty:ty> $(as $kind:ident)?,)*
    }) => {
        #[derive(Debug, Clone, Default, JsonSchema)]
        #[schemars(deny_unknown_fields)]
        $(#[$meta])*
        pub(crate) struct $name {
            $($(#[$fmeta])* pub $field: Option<$ty>,)*
        }

        impl Fields for $name {
            const NAME: &'static str = stringify!($name);
            const FIELDS: &'static [&'static str] = &[$(stringify!($field)),*];
            fn read<'de, D: Deserializer<'de>>(&mut self, key: &str, value: D) -> Result<(), D::Error> {
                match key {
                    $(stringify!($field) => field_kind!(read self.$field, value $(, $kind)?),)*
                    _ => {}
                }
                Ok(())
            }
            // `reader` is unused in a struct without sections.
            #[allow(unused_variables)]
            fn read_section<R: SectionReader>(&mut self, key: &str, reader: R) -> Result<bool, R::Stop> {
                match key {
                    $(stringify!($field) => field_kind!(section self.$field, reader $(, $kind)?),)*
                    _ => Ok(false),
                }
            }
        }
    };
}

sectioned! {
/// `supervisor:`: node policy settings, each overriding the preset.
#[schemars(rename = "Supervisor")]
pub(crate) struct RawSupervisor {
    pub preset: Option<RawPreset>,
    pub memory_pressure: Option<Ratio>,
    pub gpu_pressure: Option<Ratio>,
    pub idle_timeout: Option<Dur>,
    pub max_restart_attempts: Option<u32>,
    pub idle_eviction: Option<bool>,
    pub resource_optimization: Option<bool>,
    pub max_actions_per_run: Option<u32>,
    pub node_offline_after: Option<Dur>,
    pub start_grace: Option<Dur<false>>,
    pub breaker_retry: Option<RetryAfter>,
    pub load_timeout: Option<Dur>,
    pub evict_orphans: Option<bool>,
    pub predictive: Option<bool>,
    pub predict_horizon: Option<Dur>,
    pub adaptive: Option<bool>,
    pub probe_period: Option<Dur>,
    pub idle_without_activity: Option<bool>,
    pub maintenance: Option<Vec<RawWindow>>,
    pub webhooks: Option<Vec<RawWebhook>>,
}
}

/// `supervisor.maintenance[]`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "MaintenanceWindow")]
pub(crate) struct RawWindow {
    pub days: Option<Vec<Day>>,
    pub from: Clock<false>,
    pub to: Clock<true>,
}

/// `supervisor.webhooks[]`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Webhook")]
pub(crate) struct RawWebhook {
    pub url: Url,
    pub format: Option<RawWebhookFormat>,
    pub events: Option<Vec<EventName>>,
    pub secret_file: Option<NonEmpty>,
    pub ca_file: Option<CaFile>,
}

sectioned! {
/// `services.<name>:`.
#[schemars(rename = "Service")]
pub(crate) struct RawService {
    pub kind: Option<RawKind>,
    pub pinned: Option<bool>,
    pub priority: Option<i64>,
    pub process: Option<RawProcess> as section,
    pub health: Option<RawHealth> as section,
    pub restart: Option<Argv>,
    pub spawn: Option<Argv>,
    pub stop: Option<Argv>,
    pub stop_timeout: Option<Dur<false>>,
    pub restart_timeout: Option<Dur>,
    pub start_grace: Option<Dur<false>>,
    pub idle_timeout: Option<Dur>,
    pub memory: Option<Size>,
    pub gpu_memory: Option<Size>,
    pub fallback: Option<String>,
    pub depends_on: Option<Vec<String>>,
    pub activity: Option<RawActivity>,
    pub env: Option<std::collections::BTreeMap<EnvName, EnvValue>> as map,
    pub env_file: Option<SpawnPath>,
    pub cwd: Option<SpawnPath>,
    pub user: Option<NonEmpty>,
    pub group: Option<NonEmpty>,
    pub logs: Option<RawLogs>,
}
}

/// `services.<name>.logs` (`spawn:` only): how the monitor rotates the
/// service's log.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Logs")]
pub(crate) struct RawLogs {
    /// Rotate before the log would grow past this (default 16MiB).
    pub max_size: Option<Size>,
    /// Rotated files kept beside the live one (default 3).
    pub keep: Option<u32>,
}

/// `services.<name>.activity`: where "in use" comes from, either
/// `connections` or a Prometheus endpoint with optional metric names.
#[derive(Debug, Clone)]
pub(crate) enum RawActivity {
    Mode(RawActivityMode),
    Metrics(RawActivityMetrics),
}

#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
#[schemars(rename = "ActivityMode")]
pub(crate) enum RawActivityMode {
    /// Established TCP connections to the process's listening sockets.
    Connections,
}

/// `activity: {metrics: URL, counter: NAME, gauge: NAME}`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "ActivityMetrics")]
pub(crate) struct RawActivityMetrics {
    pub metrics: Url,
    /// A request counter (rises with each request).
    pub counter: Option<NonEmpty>,
    /// An in-flight gauge (above 0 while a request runs).
    pub gauge: Option<NonEmpty>,
}

/// A string is the mode, anything else the map: `if`/`then`/`else`, not
/// `anyOf`, so that a validator names the real problem of either.
impl JsonSchema for RawActivity {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Activity".into()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let mode = generator.subschema_for::<RawActivityMode>();
        let metrics = generator.subschema_for::<RawActivityMetrics>();
        schemars::json_schema!({
            "description": "`connections`, or a map with `metrics: <url>`",
            "type": ["string", "object"],
            "if": { "type": "string" },
            "then": mode,
            "else": metrics
        })
    }
}

impl<'de> Deserialize<'de> for RawActivity {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = RawActivity;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("`connections` or a map with `metrics: <url>`")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<RawActivity, E> {
                match v {
                    "connections" => Ok(RawActivity::Mode(RawActivityMode::Connections)),
                    other => Err(E::custom(format!(
                        "unknown activity source `{other}`: expected `connections` or a map with `metrics: <url>`"
                    ))),
                }
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<RawActivity, A::Error> {
                let de = serde::de::value::MapAccessDeserializer::new(map);
                RawActivityMetrics::deserialize(de).map(RawActivity::Metrics)
            }
        }
        d.deserialize_any(V)
    }
}

sectioned! {
/// `services.<name>.process`: at most one way to find the process.
#[schemars(rename = "Process")]
pub(crate) struct RawProcess {
    pub pidfile: Option<AbsPath>,
    pub name: Option<NonEmpty>,
    pub cmdline_contains: Option<NonEmpty>,
    /// Whose processes `name` and `cmdline_contains` match.
    pub user: Option<NonEmpty>,
}
}

sectioned! {
/// `services.<name>.health`: at most one probe, and its thresholds.
#[schemars(rename = "Health")]
pub(crate) struct RawHealth {
    pub http: Option<Url>,
    pub tcp: Option<NonEmpty>,
    pub command: Option<Argv>,
    pub inference: Option<RawInference>,
    pub every: Option<u32>,
    pub ca_file: Option<CaFile>,
    pub timeout: Option<Dur>,
    pub degraded_after: Option<u32>,
    pub dead_after: Option<u32>,
    /// What the server answers while it loads (docs/reference/behaviour.md, "Loading").
    pub loading: Option<RawLoading>,
}
}

/// `health.loading: {status: 503, body: "loading"}`: an answer with this
/// status whose body contains this text means "loading", not failing.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Loading")]
pub(crate) struct RawLoading {
    pub status: u16,
    pub body: Option<NonEmpty>,
}

/// `health.inference`: a one-token completion against an OpenAI-compatible
/// server (docs/reference/behaviour.md, "Inference check").
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Inference")]
pub(crate) struct RawInference {
    pub url: Url,
    pub model: Option<NonEmpty>,
    pub timeout: Option<Dur>,
}

/// Reads a nested section field by field (`walk` implements it).
pub(crate) trait SectionReader {
    type Stop;
    /// `None`: the section is not a mapping (reported).
    fn section<T: Fields>(self) -> Result<Option<T>, Self::Stop>;
    /// A mapping of names to values (`env:`) read entry by entry, so that
    /// every bad name or value is reported; `None` when any was.
    fn map<K, V>(self) -> Result<Option<std::collections::BTreeMap<K, V>>, Self::Stop>
    where
        K: for<'de> Deserialize<'de> + Ord + AsRef<str>,
        V: for<'de> Deserialize<'de>;
}
