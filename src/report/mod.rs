//! `report`: one self-contained HTML page about the fleet, for people: a
//! grid of every service's state, per-service timelines over a window,
//! memory series with their predicted crossings, and the last incidents.
//!
//! **Pure.** Everything here is a function of [`Inputs`], which
//! `commands/report.rs` gathers (hosts/, checkpoint, overrides, the event
//! log and its rotated files) and whose page it writes atomically. What
//! could not be read is in `Inputs::problems` and shown on the page: bad
//! input never stops a report.
//!
//! **Safe to open.** The page holds no script and loads nothing: its
//! styles and SVG are inline, and a Content-Security-Policy meta tag
//! forbids any other source. Every string from the event log, the
//! checkpoint or hosts/ goes through [`html::esc`].
use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::checkpoint::{Checkpoint, Health, ServiceState};
use crate::events::EventKind;
use crate::store::overrides::Overrides;

pub mod chart;
pub mod grid;
pub mod html;
pub mod timeline;

/// Services whose timeline is drawn when the fleet has more than this
/// many: only those with events in the window, the busiest first, this many.
pub const MAX_TIMELINES: usize = 100;
/// Memory charts drawn at most: every service with a prediction first.
pub const MAX_CHARTS: usize = 40;
/// Incidents listed, newest first.
pub const MAX_INCIDENTS: usize = 50;
/// Markers kept per service timeline (the newest).
const MAX_MARKS: usize = 200;

/// One node of hosts/ as the report needs it.
#[derive(Debug, Clone, Default)]
pub struct NodeInfo {
    pub name: String,
    pub memory_pressure: f64,
    pub gpu_pressure: f64,
    pub max_restart_attempts: u32,
    /// Declared services: name, kind, pinned in services.yaml.
    pub services: Vec<(String, String, bool)>,
}

impl NodeInfo {
    /// The fleet's nodes as the report sees them.
    pub fn from_fleet(fleet: &crate::desired::Fleet) -> Vec<NodeInfo> {
        fleet
            .nodes
            .values()
            .map(|n| NodeInfo {
                name: n.name.clone(),
                memory_pressure: n.settings.memory_pressure,
                gpu_pressure: n.settings.gpu_pressure,
                max_restart_attempts: n.settings.max_restart_attempts,
                services: n
                    .services
                    .values()
                    .map(|s| (s.name.clone(), kind_name(s.kind), s.pinned))
                    .collect(),
            })
            .collect()
    }
}

fn kind_name(k: crate::desired::Kind) -> String {
    match k {
        crate::desired::Kind::Model => "model",
        crate::desired::Kind::Service => "service",
    }
    .to_string()
}

/// What a report is made of.
#[derive(Debug, Clone)]
pub struct Inputs {
    /// The page's heading.
    pub title: String,
    /// Where it was read from, in words (shown under the heading).
    pub source: String,
    pub made_at: DateTime<Utc>,
    /// The window's start; it ends at `made_at`.
    pub since: DateTime<Utc>,
    /// hosts/ (empty when it could not be read: then the checkpoint and
    /// the events name the services).
    pub nodes: Vec<NodeInfo>,
    pub checkpoint: Checkpoint,
    pub overrides: Overrides,
    pub events: Events,
    /// What could not be read, for people.
    pub problems: Vec<String>,
    /// A replay's score (its table as text), shown after the incidents.
    pub score: Option<String>,
}

/// The events a report keeps from the log (see [`Events::add`]).
#[derive(Debug, Clone, Default)]
pub struct Events {
    /// In the window and of a type the page shows, in log order.
    pub kept: Vec<Value>,
    /// Lines read in all (each file of the log).
    pub lines: u64,
    /// The last `run_finished` of the whole log, whatever its time.
    pub last_run: Option<Value>,
    /// Nodes the last run found offline (`drift_detected` `offline_node`).
    pub offline: BTreeSet<String>,
    last_run_id: Option<String>,
    run_offline: BTreeSet<String>,
}

/// The types drawn or listed on the page.
const KEPT: [EventKind; 12] = [
    EventKind::HealthChanged,
    EventKind::ActionExecuted,
    EventKind::ActionVerified,
    EventKind::ReconcileBlocked,
    EventKind::FailurePredicted,
    EventKind::WebhookFailed,
    EventKind::ObservationInvalid,
    EventKind::IntentRecovered,
    EventKind::CircuitHalfOpen,
    EventKind::ThrashDetected,
    EventKind::ServiceRemoved,
    EventKind::ConfigInsecure,
];

fn text<'a>(e: &'a Value, k: &str) -> &'a str {
    e.get(k).and_then(Value::as_str).unwrap_or("")
}

fn ts_of(e: &Value) -> Option<DateTime<Utc>> {
    text(e, "ts").parse().ok()
}

impl Events {
    /// Takes one event of the log (oldest first): kept when it is in the
    /// window `[since, until]` and of a type the page shows.
    pub fn add(&mut self, e: Value, since: DateTime<Utc>, until: DateTime<Utc>) {
        self.lines += 1;
        let ty = text(&e, "type");
        let run_id = text(&e, "run_id");
        match EventKind::parse(ty) {
            Some(EventKind::RunStarted) => {
                self.last_run_id = Some(run_id.to_string());
                self.run_offline.clear();
            }
            Some(EventKind::DriftDetected)
                if text(&e, "condition") == "offline_node"
                    && self.last_run_id.as_deref() == Some(run_id) =>
            {
                self.run_offline.insert(text(&e, "node").to_string());
            }
            Some(EventKind::RunFinished) => {
                if self.last_run_id.as_deref() == Some(run_id) {
                    self.offline = std::mem::take(&mut self.run_offline);
                }
                self.last_run = Some(e);
                return;
            }
            _ => {}
        }
        let Some(kind) = EventKind::parse(ty) else {
            return;
        };
        let inside = ts_of(&e).is_some_and(|t| t >= since && t <= until);
        if inside && KEPT.contains(&kind) {
            self.kept.push(e);
        }
    }
}

/// What a service is, as shown in the grid: one word, a symbol, a class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum State {
    Dead,
    Degraded,
    Loading,
    Unknown,
    Evicted,
    Healthy,
}

impl State {
    pub const ALL: [State; 6] = [
        State::Healthy,
        State::Degraded,
        State::Dead,
        State::Loading,
        State::Evicted,
        State::Unknown,
    ];

    pub fn word(self) -> &'static str {
        match self {
            State::Dead => "dead",
            State::Degraded => "degraded",
            State::Loading => "loading",
            State::Unknown => "unknown",
            State::Evicted => "evicted",
            State::Healthy => "healthy",
        }
    }

    /// The CSS class (colour and pattern).
    pub fn class(self) -> &'static str {
        match self {
            State::Dead => "s-dead",
            State::Degraded => "s-degraded",
            State::Loading => "s-loading",
            State::Unknown => "s-unknown",
            State::Evicted => "s-evicted",
            State::Healthy => "s-healthy",
        }
    }

    /// A symbol that reads without colour.
    pub fn symbol(self) -> &'static str {
        match self {
            State::Dead => "✖",
            State::Degraded => "▲",
            State::Loading => "↻",
            State::Unknown => "?",
            State::Evicted => "○",
            State::Healthy => "✔",
        }
    }

    pub fn of_health(h: Health) -> State {
        match h {
            Health::Unknown => State::Unknown,
            Health::Healthy => State::Healthy,
            Health::Degraded => State::Degraded,
            Health::Dead => State::Dead,
            Health::Evicted => State::Evicted,
        }
    }

    fn of_word(w: &str) -> Option<State> {
        Some(match w {
            "healthy" => State::Healthy,
            "degraded" => State::Degraded,
            "dead" => State::Dead,
            "evicted" => State::Evicted,
            "unknown" => State::Unknown,
            _ => return None,
        })
    }
}

/// One service of the grid.
#[derive(Debug, Clone)]
#[allow(
    clippy::struct_excessive_bools,
    reason = "independent facts about the service, each shown as its own flag"
)]
pub struct Service {
    pub node: String,
    pub name: String,
    pub kind: String,
    pub state: State,
    pub pinned: bool,
    pub held: Option<String>,
    pub circuit_open: bool,
    pub declared: bool,
    /// The checkpoint or the events know it (else: never recorded).
    pub recorded: bool,
    pub last_error: Option<String>,
    pub last_action: Option<String>,
    pub restart_attempts: u32,
}

impl Service {
    pub fn key(&self) -> String {
        crate::checkpoint::key(&self.node, &self.name)
    }

    /// The flags after the state, in words.
    pub fn flags(&self) -> Vec<String> {
        let mut f = vec![];
        if self.pinned {
            f.push("pinned".to_string());
        }
        if self.held.is_some() {
            f.push("held".to_string());
        }
        if self.circuit_open {
            f.push("circuit open".to_string());
        }
        if !self.declared {
            f.push("not in hosts/".to_string());
        }
        if !self.recorded {
            f.push("never recorded".to_string());
        }
        f
    }
}

/// One node of the grid.
#[derive(Debug, Clone)]
pub struct Node {
    pub name: String,
    pub offline: bool,
    pub memory_pressure: Option<f64>,
    pub gpu_pressure: Option<f64>,
    pub services: Vec<Service>,
}

/// The page's content, before it is written as HTML.
#[derive(Debug, Clone)]
pub struct Model {
    pub title: String,
    pub source: String,
    pub score: Option<String>,
    pub made_at: DateTime<Utc>,
    pub since: DateTime<Utc>,
    pub nodes: Vec<Node>,
    pub last_run: Option<Value>,
    pub timelines: Vec<timeline::Timeline>,
    /// Services with events in the window whose timeline is not drawn.
    pub timelines_left_out: usize,
    /// Services with no event in the window (not drawn on a large fleet).
    pub steady: usize,
    pub charts: Vec<chart::Chart>,
    pub charts_left_out: usize,
    /// Newest first, repeats folded.
    pub incidents: Vec<Repeated>,
    pub incidents_total: usize,
    pub problems: Vec<String>,
    pub events_in_window: usize,
    pub events_read: u64,
}

impl Model {
    pub fn count(&self, s: State) -> usize {
        self.nodes
            .iter()
            .flat_map(|n| &n.services)
            .filter(|x| x.state == s)
            .count()
    }

    pub fn services(&self) -> usize {
        self.nodes.iter().map(|n| n.services.len()).sum()
    }
}

/// The last `to` of each service's `health_changed` events (what the grid
/// shows when the checkpoint has no entry).
fn last_health(events: &[Value]) -> BTreeMap<String, State> {
    let mut out = BTreeMap::new();
    for e in events {
        if text(e, "type") == EventKind::HealthChanged.as_str() {
            if let Some(s) = State::of_word(text(e, "to")) {
                out.insert(format!("{}/{}", text(e, "node"), text(e, "service")), s);
            }
        }
    }
    out
}

fn service_of(
    node: &str,
    name: &str,
    info: Option<(&NodeInfo, &str, bool)>,
    st: Option<&ServiceState>,
    inputs: &Inputs,
    from_events: &BTreeMap<String, State>,
) -> Service {
    let k = crate::checkpoint::key(node, name);
    let state = match st {
        Some(st) if st.loading_since.is_some() => State::Loading,
        Some(st) => State::of_health(st.health),
        None => from_events.get(&k).copied().unwrap_or(State::Unknown),
    };
    let declared_pin = info.is_some_and(|i| i.2);
    let max = info.map_or(u32::MAX, |i| i.0.max_restart_attempts);
    let attempts = st.map_or(0, |s| s.restart_attempts);
    Service {
        node: node.to_string(),
        name: name.to_string(),
        kind: info.map(|i| i.1.to_string()).unwrap_or_default(),
        state,
        pinned: inputs
            .overrides
            .pins
            .get(&k)
            .copied()
            .unwrap_or(declared_pin),
        held: inputs
            .overrides
            .holds
            .get(&k)
            .map(|h| h.reason.clone().unwrap_or_default()),
        circuit_open: attempts >= max,
        declared: info.is_some(),
        recorded: st.is_some() || from_events.contains_key(&k),
        last_error: st.and_then(|s| s.last_error.clone()),
        last_action: st.and_then(|s| {
            s.last_action.as_ref().map(|a| {
                format!(
                    "{} {} at {}",
                    a.action,
                    a.outcome,
                    crate::fmt::ts_secs(a.at)
                )
            })
        }),
        restart_attempts: attempts,
    }
}

/// The grid: every declared service, then every service the checkpoint or
/// the events know that hosts/ does not declare.
fn grid_nodes(inputs: &Inputs, offline: &BTreeSet<String>) -> Vec<Node> {
    let from_events = last_health(&inputs.events.kept);
    let mut nodes: BTreeMap<String, Node> = BTreeMap::new();
    let mut seen = BTreeSet::new();
    for n in &inputs.nodes {
        let services = n
            .services
            .iter()
            .map(|(name, kind, pinned)| {
                let k = crate::checkpoint::key(&n.name, name);
                seen.insert(k.clone());
                service_of(
                    &n.name,
                    name,
                    Some((n, kind, *pinned)),
                    inputs.checkpoint.services.get(&k).map(|b| &**b),
                    inputs,
                    &from_events,
                )
            })
            .collect();
        nodes.insert(
            n.name.clone(),
            Node {
                name: n.name.clone(),
                offline: offline.contains(&n.name),
                memory_pressure: Some(n.memory_pressure),
                gpu_pressure: Some(n.gpu_pressure),
                services,
            },
        );
    }
    let extra: BTreeSet<&String> = inputs
        .checkpoint
        .services
        .keys()
        .chain(from_events.keys())
        .filter(|k| !seen.contains(*k))
        .collect();
    for k in extra {
        let Some((node, name)) = k.split_once('/') else {
            continue;
        };
        if name.is_empty() {
            continue;
        }
        let s = service_of(
            node,
            name,
            None,
            inputs.checkpoint.services.get(k).map(|b| &**b),
            inputs,
            &from_events,
        );
        nodes
            .entry(node.to_string())
            .or_insert_with(|| Node {
                name: node.to_string(),
                offline: offline.contains(node),
                memory_pressure: None,
                gpu_pressure: None,
                services: vec![],
            })
            .services
            .push(s);
    }
    nodes.into_values().collect()
}

/// Consecutive events that say the same thing about the same service,
/// shown once with their count (a crash loop's 40 blocked restarts are
/// one line).
#[derive(Debug, Clone)]
pub struct Repeated {
    /// The first of them (in the order given).
    pub event: Value,
    pub count: usize,
    /// The `ts` of the last of them.
    pub last_ts: String,
}

impl Repeated {
    /// When: the time, or `first – last (×N)` (in time order).
    pub fn when(&self) -> String {
        let first = html::field(&self.event, "ts");
        if self.count == 1 {
            return first;
        }
        let last = html::esc(&self.last_ts);
        let (a, b) = if first <= last {
            (first, last)
        } else {
            (last, first)
        };
        format!("{a} – {b} (×{})", self.count)
    }
}

/// `events` with consecutive repeats folded.
pub fn fold<'a>(events: impl IntoIterator<Item = &'a Value>) -> Vec<Repeated> {
    let mut out: Vec<Repeated> = vec![];
    let mut last_key = None;
    for e in events {
        let key = (text(e, "node"), text(e, "service"), html::describe(e));
        match out.last_mut() {
            Some(r) if last_key.as_ref() == Some(&key) => {
                r.count += 1;
                r.last_ts = text(e, "ts").to_string();
            }
            _ => out.push(Repeated {
                event: e.clone(),
                count: 1,
                last_ts: text(e, "ts").to_string(),
            }),
        }
        last_key = Some(key);
    }
    out
}

/// Whether an event is an incident: a failed action or verification, a
/// service found dead, a blocked action, a prediction, an undelivered
/// webhook, an unreadable observation, a recovered intent, a thrash.
pub fn is_incident(e: &Value) -> bool {
    let Some(kind) = EventKind::parse(text(e, "type")) else {
        return false;
    };
    match kind {
        EventKind::ActionExecuted | EventKind::ActionVerified => text(e, "outcome") == "failed",
        EventKind::HealthChanged => text(e, "to") == "dead",
        EventKind::ServiceRemoved => text(e, "outcome") == "failed",
        EventKind::ReconcileBlocked
        | EventKind::FailurePredicted
        | EventKind::WebhookFailed
        | EventKind::ObservationInvalid
        | EventKind::IntentRecovered
        | EventKind::CircuitHalfOpen
        | EventKind::ThrashDetected
        | EventKind::ConfigInsecure => true,
        _ => false,
    }
}

/// Builds the page's content.
pub fn build(inputs: &Inputs) -> Model {
    let nodes = grid_nodes(inputs, &inputs.events.offline);
    let all: Vec<&Service> = nodes.iter().flat_map(|n| &n.services).collect();
    let (timelines, left_out, steady) = timeline::build(inputs, &all);
    let (charts, charts_left_out) = chart::build(inputs, &nodes);
    let incidents: Vec<&Value> = inputs
        .events
        .kept
        .iter()
        .filter(|e| is_incident(e))
        .collect();
    Model {
        title: inputs.title.clone(),
        source: inputs.source.clone(),
        score: inputs.score.clone(),
        made_at: inputs.made_at,
        since: inputs.since,
        last_run: inputs.events.last_run.clone(),
        timelines,
        timelines_left_out: left_out,
        steady,
        charts,
        charts_left_out,
        incidents_total: incidents.len(),
        incidents: fold(incidents.iter().rev().copied())
            .into_iter()
            .take(MAX_INCIDENTS)
            .collect(),
        problems: inputs.problems.clone(),
        events_in_window: inputs.events.kept.len(),
        events_read: inputs.events.lines,
        nodes,
    }
}

/// The whole page.
pub fn render(inputs: &Inputs) -> String {
    html::page(&build(inputs))
}

#[cfg(test)]
mod tests;
