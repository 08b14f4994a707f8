//! `scenario.yaml` (docs/decision-quality.md): when the replay starts, which node is local,
//! the world of each step and the faults that are the ground truth of the
//! score. Every problem is reported at its `file:line:col` with a hint, like
//! a problem in `services.yaml`: values are checked while they are read
//! (the node and service names against `hosts/`, the world folders against
//! the scenario folder), so the YAML reader places each error.
use std::cell::RefCell;
use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer};

use crate::desired::{ConfigError, Fleet};

mod place;
use place::{locate, locate_value, read, yaml_error};

pub const FILE: &str = "scenario.yaml";

/// The largest scenario file read: about 200,000 steps (a recording of
/// two months at 30 s).
pub const MAX_BYTES: u64 = 8 * 1024 * 1024;

/// The most steps a recording may ask for, so that its scenario.yaml stays
/// within [`MAX_BYTES`].
pub const MAX_STEPS: u32 = 200_000;

#[derive(Debug, Clone)]
pub struct Scenario {
    pub dir: PathBuf,
    pub start: DateTime<Utc>,
    pub node: String,
    pub steps: Vec<Step>,
    pub faults: Vec<Fault>,
    /// `description:`, shown under the timeline's header.
    pub description: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Step {
    /// Offset from `start`.
    pub at: chrono::Duration,
    /// The step's world directory (inside the scenario folder).
    pub world: PathBuf,
}

impl Scenario {
    pub fn time_of(&self, step: &Step) -> DateTime<Utc> {
        self.start + step.at
    }
}

/// What the score expects of a service: the action that handles the fault,
/// or `none` (nothing may be done to it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Expected {
    Restart,
    Evict,
    Preload,
    ActivateFallback,
    None,
}

impl Expected {
    pub fn as_str(self) -> &'static str {
        match self {
            Expected::Restart => "restart",
            Expected::Evict => "evict",
            Expected::Preload => "preload",
            Expected::ActivateFallback => "activate_fallback",
            Expected::None => "none",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Fault {
    pub service: String,
    pub from: chrono::Duration,
    pub to: Option<chrono::Duration>,
    pub action: Expected,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    start: Time,
    node: NodeName,
    #[serde(default)]
    description: Option<String>,
    steps: Vec<RawStep>,
    #[serde(default)]
    faults: Vec<RawFault>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    at: Offset,
    world: WorldDir,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFault {
    service: ServiceName,
    from: Offset,
    #[serde(default)]
    to: Option<Offset>,
    action: Expected,
}

/// What the checks made while reading need to know.
struct Context {
    dir: PathBuf,
    nodes: BTreeSet<String>,
    /// The services of the node named so far.
    services: Option<(String, BTreeSet<String>)>,
    /// Fault services read before `node`: checked once it is known.
    deferred: Vec<String>,
    fleet_services: Vec<(String, BTreeSet<String>)>,
}

thread_local! {
    static CONTEXT: RefCell<Option<Context>> = const { RefCell::new(None) };
    /// The key and value a check refused last: the YAML reader places such
    /// an error at the start of the enclosing mapping, so it is placed
    /// again, at the value.
    static REFUSED: RefCell<Option<(&'static str, String)>> = const { RefCell::new(None) };
}

fn refuse<E: serde::de::Error>(key: &'static str, value: &str, message: String) -> E {
    REFUSED.with(|r| *r.borrow_mut() = Some((key, value.to_string())));
    E::custom(message)
}

fn with_context<T>(f: impl FnOnce(&mut Context) -> T) -> Option<T> {
    CONTEXT.with(|c| c.borrow_mut().as_mut().map(f))
}

struct Time(DateTime<Utc>);
impl<'de> Deserialize<'de> for Time {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        DateTime::parse_from_rfc3339(&s)
            .map(|t| Time(t.with_timezone(&Utc)))
            .map_err(|_| {
                refuse(
                    "start",
                    &s,
                    format!("`{s}` is not an RFC 3339 time (like 2026-11-20T12:00:00Z)"),
                )
            })
    }
}

/// An offset and how it was written (to place a later error).
struct Offset(chrono::Duration, String);
impl<'de> Deserialize<'de> for Offset {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let d = crate::desired::parse_duration(&s).map_err(|e| refuse("", &s, e))?;
        chrono::Duration::from_std(d)
            .map(|d| Offset(d, s.clone()))
            .map_err(|_| refuse("", &s, format!("`{s}` is too long an offset")))
    }
}

struct NodeName(String);
impl<'de> Deserialize<'de> for NodeName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let known = with_context(|c| {
            let found = c.fleet_services.iter().find(|(n, _)| *n == s).cloned();
            c.services.clone_from(&found);
            (found.is_some(), c.nodes.iter().cloned().collect::<Vec<_>>())
        });
        match known {
            Some((false, nodes)) => Err(refuse(
                "node",
                &s,
                format!(
                    "node `{s}` is not declared in the scenario's hosts/ (nodes: {})",
                    nodes.join(", ")
                ),
            )),
            _ => Ok(NodeName(s)),
        }
    }
}

struct ServiceName(String);
impl<'de> Deserialize<'de> for ServiceName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let problem = with_context(|c| {
            if let Some((node, services)) = &c.services {
                unknown_service(&s, node, services)
            } else {
                c.deferred.push(s.clone());
                None
            }
        })
        .flatten();
        match problem {
            Some(p) => Err(refuse("service", &s, p)),
            None => Ok(ServiceName(s)),
        }
    }
}

fn unknown_service(s: &str, node: &str, services: &BTreeSet<String>) -> Option<String> {
    (!services.contains(s)).then(|| {
        format!(
            "service `{s}` is not declared on node `{node}` (services: {})",
            services.iter().cloned().collect::<Vec<_>>().join(", ")
        )
    })
}

struct WorldDir(PathBuf);
impl<'de> Deserialize<'de> for WorldDir {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let rel = Path::new(&s);
        let parts: Vec<_> = rel
            .components()
            .filter(|c| *c != Component::CurDir)
            .collect();
        if parts.is_empty() || !parts.iter().all(|c| matches!(c, Component::Normal(_))) {
            return Err(refuse(
                "world",
                &s,
                format!("world `{s}` must be a relative path inside the scenario folder (no `..`, not absolute)"),
            ));
        }
        // Every folder on the way is a real folder: a link could lead a
        // replay to read worlds from anywhere.
        let mut dir = with_context(|c| c.dir.clone()).unwrap_or_default();
        for part in parts {
            dir.push(part);
            let problem = match std::fs::symlink_metadata(&dir) {
                Ok(m) if m.file_type().is_symlink() => Some(format!(
                    "world `{s}`: `{}` is a symbolic link; refusing to follow it",
                    dir.display()
                )),
                Ok(m) if !m.is_dir() => {
                    Some(format!("world `{s}`: `{}` is not a folder", dir.display()))
                }
                Ok(_) => None,
                Err(e) => Some(format!(
                    "world `{s}` cannot be read: {}",
                    crate::text::io_error_text(&e)
                )),
            };
            if let Some(p) = problem {
                return Err(refuse("world", &s, p));
            }
        }
        Ok(WorldDir(dir))
    }
}

/// Reads and checks `<dir>/scenario.yaml` against the scenario's fleet.
pub fn load(dir: &Path, fleet: &Fleet) -> Result<Scenario, (ConfigError, Option<String>)> {
    let file = dir.join(FILE);
    let text = read(&file).map_err(|e| (e, None))?;
    let with_text = |e| (e, Some(text.clone()));
    let (raw, context) = parse(dir, fleet, &file, &text).map_err(with_text)?;
    check_deferred(context.as_ref(), &file, &text).map_err(with_text)?;
    let steps = steps(raw.steps, &file, &text).map_err(with_text)?;
    let last = steps.last().map_or(chrono::Duration::zero(), |s| s.at);
    let faults = faults(raw.faults, last, &file, &text).map_err(with_text)?;
    Ok(Scenario {
        dir: dir.to_path_buf(),
        start: raw.start.0,
        node: raw.node.0,
        steps,
        faults,
        description: raw.description,
    })
}

/// Parses the text with the checks' context in place; a problem is placed
/// at the value a check refused, or at a repeated key.
fn parse(
    dir: &Path,
    fleet: &Fleet,
    file: &Path,
    text: &str,
) -> Result<(Raw, Option<Context>), ConfigError> {
    CONTEXT.with(|c| {
        *c.borrow_mut() = Some(Context {
            dir: dir.to_path_buf(),
            nodes: fleet.nodes.keys().cloned().collect(),
            services: None,
            deferred: vec![],
            fleet_services: fleet
                .nodes
                .iter()
                .map(|(n, s)| (n.clone(), s.services.keys().cloned().collect()))
                .collect(),
        });
    });
    REFUSED.with(|r| *r.borrow_mut() = None);
    let parsed: Result<Raw, _> = serde_yaml::from_str(text);
    let context = CONTEXT.with(|c| c.borrow_mut().take());
    let refused = REFUSED.with(|r| r.borrow_mut().take());
    let raw = parsed.map_err(|e| placed_error(file, text, &e, refused))?;
    Ok((raw, context))
}

/// The reader's error, placed at the refused value or the repeated key.
fn placed_error(
    file: &Path,
    text: &str,
    e: &serde_yaml::Error,
    refused: Option<(&'static str, String)>,
) -> ConfigError {
    let mut error = yaml_error(file, e);
    // (A value written with escapes is not found as read: then its key.)
    let placed = refused.and_then(|(k, v)| {
        locate_value(text, k, &v).or_else(|| {
            let (line, column) = locate(text, k, 0);
            (!k.is_empty() && line > 0).then_some((line, column))
        })
    });
    if let Some((line, column)) = placed {
        (error.line, error.column) = (line, column);
    }
    // The reader places a repeated key at its mapping: point at the repeat.
    let repeated = error.message.strip_prefix("duplicate field `").or_else(|| {
        error
            .message
            .split_once(": duplicate field `")
            .map(|(_, rest)| rest)
    });
    if let Some(key) = repeated.and_then(|r| r.split('`').next()) {
        if let (line, column @ 1..) = locate(text, key, 1) {
            (error.line, error.column) = (line, column);
        }
    }
    error
}

/// Fault services read before `node`, checked against its services.
fn check_deferred(context: Option<&Context>, file: &Path, text: &str) -> Result<(), ConfigError> {
    if let Some(Context {
        services: Some((node, services)),
        deferred,
        ..
    }) = context
    {
        for name in deferred {
            if let Some(problem) = unknown_service(name, node, services) {
                let (line, col) = locate_value(text, "service", name).unwrap_or((0, 0));
                return Err(ConfigError::new(file, line, col, problem));
            }
        }
    }
    Ok(())
}

/// The steps, in time order; at least one.
fn steps(raw: Vec<RawStep>, file: &Path, text: &str) -> Result<Vec<Step>, ConfigError> {
    let mut steps = Vec::with_capacity(raw.len());
    for (i, s) in raw.into_iter().enumerate() {
        if let Some(prev) = steps.last().map(|p: &Step| p.at) {
            if s.at.0 <= prev {
                let (line, col) = locate(text, "at", i);
                return Err(ConfigError::new(
                    file,
                    line,
                    col,
                    "steps must be in time order: this `at` is not after the previous step's",
                )
                .with_hint(Some(
                    "sort the steps by `at`; two observations cannot share one time".into(),
                )));
            }
        }
        steps.push(Step {
            at: s.at.0,
            world: s.world.0,
        });
    }
    if steps.is_empty() {
        let (line, col) = locate(text, "steps", 0);
        return Err(
            ConfigError::new(file, line, col, "a scenario needs at least one step")
                .with_hint(Some("add `- at: 0s` with `world: <folder>`".into())),
        );
    }
    Ok(steps)
}

/// The faults, each within the steps (`last`: the last step's offset).
fn faults(
    raw: Vec<RawFault>,
    last: chrono::Duration,
    file: &Path,
    text: &str,
) -> Result<Vec<Fault>, ConfigError> {
    let mut faults = Vec::with_capacity(raw.len());
    for f in raw {
        let problem = match &f.to {
            Some(to) if to.0 < f.from.0 => Some((
                "to",
                to.1.clone(),
                "`to` is before `from`: a fault must be handled after it starts",
                "`to` is the last time by which the fault must be handled",
            )),
            _ if f.from.0 > last => Some((
                "from",
                f.from.1.clone(),
                "`from` is after the last step: nothing could detect or handle this fault",
                "the steps end at the last `at`; record or write more steps, or move `from`",
            )),
            _ => None,
        };
        if let Some((key, value, message, hint)) = problem {
            let (line, col) = locate_value(text, key, &value).unwrap_or((0, 0));
            return Err(ConfigError::new(file, line, col, message).with_hint(Some(hint.into())));
        }
        faults.push(Fault {
            service: f.service.0,
            from: f.from.0,
            to: f.to.map(|t| t.0),
            action: f.action,
        });
    }
    Ok(faults)
}
