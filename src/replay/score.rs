//! The replay score (docs/decision-quality.md): how the decisions of a replay compare with
//! the scenario's ground truth. A pure function of the scenario, its fleet
//! and the replayed events; the rules are in docs/decision-quality.md.
use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};

use super::scenario::{Expected, Fault, Scenario};
use super::StepSummary;
use crate::desired::Fleet;
use crate::events::{Event, ReplayScore};

/// The window in which more than `max_restart_attempts` restarts of one
/// service is a storm.
pub const STORM_WINDOW: Duration = Duration::minutes(10);

#[derive(Debug, Clone, PartialEq)]
pub struct FaultScore {
    pub service: String,
    pub action: Expected,
    pub from: DateTime<Utc>,
    pub detected_at: Option<DateTime<Utc>>,
    pub acted_at: Option<DateTime<Utc>>,
    pub ok: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Score {
    pub faults: Vec<FaultScore>,
    /// Each executed restart or eviction no fault accounts for.
    pub false_actions: Vec<Executed>,
    /// Services restarted more than `max_restart_attempts` times in 10 min.
    pub storms: Vec<String>,
    pub pinned_evicted: usize,
    /// Models started again within their idle timeout of being evicted.
    pub flaps: usize,
}

/// One action the replay executed (as a real run would have).
#[derive(Debug, Clone, PartialEq)]
pub struct Executed {
    pub at: DateTime<Utc>,
    pub service: String,
    pub action: String,
}

impl Score {
    /// Every fault handled in time and nothing else to count.
    pub fn clean(&self) -> bool {
        self.faults.iter().all(|f| f.ok)
            && self.false_actions.is_empty()
            && self.storms.is_empty()
            && self.pinned_evicted == 0
            && self.flaps == 0
    }

    pub fn event(&self, node: &str) -> Event {
        let secs =
            |from: DateTime<Utc>, t: Option<DateTime<Utc>>| t.map(|t| (t - from).num_seconds());
        let faults: Vec<Value> = self
            .faults
            .iter()
            .map(|f| {
                json!({
                    "service": f.service,
                    "action": f.action.as_str(),
                    "from": crate::fmt::ts(f.from),
                    "detected_at": f.detected_at.map(crate::fmt::ts),
                    "acted_at": f.acted_at.map(crate::fmt::ts),
                    "time_to_detect_s": secs(f.from, f.detected_at),
                    "time_to_act_s": secs(f.from, f.acted_at),
                    "ok": f.ok,
                })
            })
            .collect();
        let false_list: Vec<Value> = self
            .false_actions
            .iter()
            .map(|e| json!({"at": crate::fmt::ts(e.at), "service": e.service, "action": e.action}))
            .collect();
        let n = |x: usize| x as u64;
        let body = ReplayScore {
            faults,
            false_action_list: false_list,
            false_actions: n(self.false_actions.len()),
            flaps: n(self.flaps),
            passed: self.clean(),
            pinned_evicted: n(self.pinned_evicted),
            storm_services: self.storms.clone(),
            storms: n(self.storms.len()),
        };
        Event::new(Some(node), None, body)
    }
}

pub fn score(fleet: &Fleet, scenario: &Scenario, steps: &[StepSummary]) -> Score {
    let executed: Vec<Executed> = steps
        .iter()
        .flat_map(|s| s.executed.iter().cloned())
        .collect();
    score_actions(fleet, scenario, &executed, |f| {
        let from = scenario.start + f.from;
        steps
            .iter()
            .filter(|s| s.at >= from)
            .find(|s| s.node_drift || s.detected.contains(&f.service))
            .map(|s| s.at)
    })
}

/// Scores any sequence of executed actions against the scenario's faults
/// (the replay's, or a model of another supervisor's on the same
/// timeline); `detected` says when each fault was first seen.
pub fn score_actions(
    fleet: &Fleet,
    scenario: &Scenario,
    executed: &[Executed],
    detected: impl Fn(&Fault) -> Option<DateTime<Utc>>,
) -> Score {
    let spec = fleet.nodes.get(&scenario.node);
    let faults = scenario
        .faults
        .iter()
        .map(|f| fault_score(scenario, f, detected(f), executed))
        .collect();
    let false_actions = executed
        .iter()
        .filter(|e| matches!(e.action.as_str(), "restart" | "evict"))
        .filter(|e| {
            !scenario.faults.iter().any(|f| {
                f.service == e.service
                    && f.action.as_str() == e.action
                    && e.at >= scenario.start + f.from
            })
        })
        .cloned()
        .collect();
    let max = spec.map_or(u32::MAX, |n| n.settings.max_restart_attempts) as usize;
    let mut restarts: BTreeMap<&str, Vec<DateTime<Utc>>> = BTreeMap::new();
    for e in executed.iter().filter(|e| e.action == "restart") {
        restarts.entry(&e.service).or_default().push(e.at);
    }
    let storms = restarts
        .into_iter()
        .filter(|(_, times)| {
            times.iter().enumerate().any(|(i, t)| {
                times[i..]
                    .iter()
                    .filter(|u| **u - *t < STORM_WINDOW)
                    .count()
                    > max
            })
        })
        .map(|(s, _)| s.to_string())
        .collect();
    let service = |name: &str| spec.and_then(|n| n.services.get(name));
    let pinned_evicted = executed
        .iter()
        .filter(|e| e.action == "evict" && service(&e.service).is_some_and(|s| s.pinned))
        .count();
    let mut flaps = 0;
    let mut evicted_at: BTreeMap<&str, DateTime<Utc>> = BTreeMap::new();
    for e in executed {
        match e.action.as_str() {
            "evict" => {
                evicted_at.insert(&e.service, e.at);
            }
            "preload" | "restart" => {
                if let (Some(at), Some(s)) =
                    (evicted_at.remove(e.service.as_str()), service(&e.service))
                {
                    let idle = Duration::from_std(s.idle_timeout).unwrap_or(Duration::MAX);
                    if e.at - at < idle {
                        flaps += 1;
                    }
                }
            }
            _ => {}
        }
    }
    Score {
        faults,
        false_actions,
        storms,
        pinned_evicted,
        flaps,
    }
}

fn fault_score(
    scenario: &Scenario,
    f: &Fault,
    detected_at: Option<DateTime<Utc>>,
    executed: &[Executed],
) -> FaultScore {
    let from = scenario.start + f.from;
    let until = f.to.map(|t| scenario.start + t);
    let mine = executed
        .iter()
        .filter(|e| e.service == f.service && e.at >= from);
    let (acted_at, ok) = match f.action {
        // Nothing may be done to it while the fault lasts.
        Expected::None => {
            let acted = mine
                .filter(|e| until.is_none_or(|u| e.at <= u))
                .map(|e| e.at)
                .next();
            (acted, acted.is_none())
        }
        action => {
            let acted = mine
                .filter(|e| e.action == action.as_str())
                .map(|e| e.at)
                .next();
            let in_time = acted.is_some_and(|a| until.is_none_or(|u| a <= u));
            (acted, in_time)
        }
    };
    FaultScore {
        service: f.service.clone(),
        action: f.action,
        from,
        detected_at,
        acted_at,
        ok,
    }
}
