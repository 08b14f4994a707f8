//! Small models of what other supervisors' well-known defaults would do on
//! a scenario's timeline, for docs/decision-quality.md. Each model sees
//! what that supervisor can see and nothing more, second by second, the
//! recorded state holding from one step to the next (a recording does not
//! react to restarts: a service still down after one is down again):
//!
//! - Kubernetes: a liveness probe every 10 s, 3 failures to restart (30 s);
//!   a container that exits (`restartPolicy: Always`, whatever its exit
//!   status) is restarted after `CrashLoopBackOff`'s delay
//!   (10 s, doubling to 5 min, reset after 10 min without a restart).
//! - systemd: `Restart=on-failure` (100 ms; a clean exit stays down), no
//!   health checks;
//!   `StartLimitBurst=5` within `StartLimitIntervalSec=10s`, then it gives
//!   up until a person resets the unit.
//! - supervisord: `autorestart=unexpected` (its default; exit 0 is
//!   expected and stays down), no health checks; a start that dies within
//!   `startsecs=1` is retried after 1, 2, 3 s, `startretries=3`, then FATAL
//!   until a person acts.
//!
//! None evicts (no idle or GPU-pressure policy). A node that its observer
//! marks offline gives them no input (what the recording holds for it is
//! stale).
use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use chrono::{DateTime, Duration, Utc};
use serde_json::Value;

use supervisorctl::replay::scenario::{Fault, Scenario};
use supervisorctl::replay::score::Executed;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    Up,
    /// Process alive, its health check failing.
    Failing,
    /// The process failed (world status `failed`).
    Down,
    /// The process exited cleanly (world status `stopped`).
    Exited,
    /// No data (no record, or the node is offline).
    Nothing,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Model {
    Kubernetes,
    Systemd,
    Supervisord,
}

impl Model {
    pub const ALL: [Model; 3] = [Model::Kubernetes, Model::Systemd, Model::Supervisord];

    pub fn name(self) -> &'static str {
        match self {
            Model::Kubernetes => "Kubernetes (liveness 10s x 3, CrashLoopBackOff)",
            Model::Systemd => "systemd (Restart=on-failure, burst 5/10s)",
            Model::Supervisord => "supervisord (autorestart, startretries 3)",
        }
    }

    /// What the model can see of a service's state.
    fn sees(self, s: Seen) -> Seen {
        match (self, s) {
            // No health checks: a failing probe is invisible; a clean exit
            // is not restarted (`on-failure`, supervisord's `exitcodes=0`).
            (Model::Systemd | Model::Supervisord, Seen::Failing | Seen::Exited) => Seen::Up,
            // `restartPolicy: Always` restarts a container whatever its exit.
            (Model::Kubernetes, Seen::Exited) => Seen::Down,
            (_, s) => s,
        }
    }
}

/// The recorded state of every service of the scenario's node, by step.
pub fn timeline(scenario: &Scenario) -> BTreeMap<String, Vec<(DateTime<Utc>, Seen)>> {
    let mut out: BTreeMap<String, Vec<(DateTime<Utc>, Seen)>> = BTreeMap::new();
    for step in &scenario.steps {
        let at = scenario.time_of(step);
        let node: Option<Value> = read(
            &step
                .world
                .join("nodes")
                .join(format!("{}.json", scenario.node)),
        );
        let online = node.is_some_and(|n| n["status"] == "online");
        let services = step.world.join("services").join(&scenario.node);
        for entry in fs::read_dir(&services).into_iter().flatten().flatten() {
            let name = entry
                .path()
                .file_stem()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            out.entry(name).or_default();
        }
        for (name, states) in &mut out {
            let rec: Option<Value> = read(&services.join(format!("{name}.json")));
            let seen = match rec {
                _ if !online => Seen::Nothing,
                None => Seen::Nothing,
                Some(r) if r["status"] == "failed" => Seen::Down,
                Some(r) if r["status"] == "stopped" => Seen::Exited,
                Some(r) if r["probe"] == "failing" || r["status"] == "degraded" => Seen::Failing,
                Some(_) => Seen::Up,
            };
            states.push((at, seen));
        }
    }
    out
}

fn read(path: &Path) -> Option<Value> {
    serde_json::from_str(&fs::read_to_string(path).ok()?).ok()
}

/// The state at `t`: the latest step at or before it.
fn at(states: &[(DateTime<Utc>, Seen)], t: DateTime<Utc>) -> Seen {
    states
        .iter()
        .rev()
        .find(|(s, _)| *s <= t)
        .map_or(Seen::Nothing, |(_, seen)| *seen)
}

/// The restarts `model` would make, second by second over the scenario.
pub fn restarts(model: Model, scenario: &Scenario) -> Vec<Executed> {
    let start = scenario.start;
    let end = scenario.time_of(scenario.steps.last().expect("a step"));
    let mut all = vec![];
    for (service, states) in timeline(scenario) {
        let mut sim = Sim::default();
        let mut t = start;
        while t <= end {
            let seen = model.sees(at(&states, t));
            if sim.step(model, seen, t) {
                all.push(Executed {
                    at: t,
                    service: service.clone(),
                    action: "restart".into(),
                });
            }
            t += Duration::seconds(1);
        }
    }
    all.sort_by(|a, b| a.at.cmp(&b.at).then(a.service.cmp(&b.service)));
    all
}

/// When the model first sees the fault's service in trouble.
pub fn detected(model: Model, scenario: &Scenario, f: &Fault) -> Option<DateTime<Utc>> {
    let from = scenario.start + f.from;
    let states = timeline(scenario).remove(&f.service)?;
    states
        .iter()
        .filter(|(t, _)| *t >= from)
        .find(|(_, s)| matches!(model.sees(*s), Seen::Failing | Seen::Down))
        .map(|(t, _)| *t)
}

#[derive(Default)]
struct Sim {
    restarts: Vec<DateTime<Utc>>,
    /// Since when the current trouble (failing or down) lasts.
    trouble_since: Option<DateTime<Utc>>,
    given_up: bool,
    /// Kubernetes: restarts since the container last ran 10 minutes fine.
    streak: u32,
    /// supervisord's process state.
    sv: Supervisord,
}

#[derive(Default, Clone, Copy)]
enum Supervisord {
    #[default]
    Running,
    /// Started at, failed starts in a row so far.
    Starting(DateTime<Utc>, u32),
    /// Retry at, failed starts in a row so far.
    Backoff(DateTime<Utc>, u32),
}

impl Sim {
    /// One second of the model; true when it restarts now.
    fn step(&mut self, model: Model, seen: Seen, t: DateTime<Utc>) -> bool {
        if seen == Seen::Nothing || self.given_up {
            return false;
        }
        if seen == Seen::Up {
            self.trouble_since = None;
        } else if self.trouble_since.is_none() {
            self.trouble_since = Some(t);
        }
        let fire = match model {
            Model::Kubernetes => self.kubernetes(seen, t),
            Model::Systemd => self.systemd(seen, t),
            Model::Supervisord => self.supervisord(seen, t),
        };
        if fire {
            self.restarts.push(t);
            self.streak += 1;
            self.trouble_since = (seen != Seen::Up).then_some(t);
        }
        fire
    }

    fn kubernetes(&mut self, seen: Seen, t: DateTime<Utc>) -> bool {
        let last = self.restarts.last().copied();
        // CrashLoopBackOff: 10 s doubling to 5 min; reset once the
        // container has run 10 minutes without trouble.
        let Some(since) = self.trouble_since else {
            if last.is_none_or(|l| t - l >= Duration::minutes(10)) {
                self.streak = 0;
            }
            return false;
        };
        let n = self.streak;
        let backoff = Duration::seconds((10i64 << n.min(5)).min(300));
        let backed_off = last.is_none_or(|l| t - l >= backoff);
        match seen {
            Seen::Down => backed_off && t - since >= backoff,
            // Liveness: three failed probes, 10 s apart.
            _ => backed_off && t - since >= Duration::seconds(30),
        }
    }

    fn systemd(&mut self, seen: Seen, t: DateTime<Utc>) -> bool {
        if seen != Seen::Down {
            return false;
        }
        let burst = self
            .restarts
            .iter()
            .filter(|r| t - **r < Duration::seconds(10))
            .count();
        if burst >= 5 {
            self.given_up = true; // start limit hit: failed until reset
            return false;
        }
        true
    }

    fn supervisord(&mut self, seen: Seen, t: DateTime<Utc>) -> bool {
        let down = seen == Seen::Down;
        match self.sv {
            Supervisord::Running if down => {
                self.sv = Supervisord::Starting(t, 0);
                true
            }
            Supervisord::Running => false,
            Supervisord::Starting(at, fails) if t - at >= Duration::seconds(1) => {
                if !down {
                    self.sv = Supervisord::Running; // up for startsecs
                    return false;
                }
                let fails = fails + 1;
                if fails > 3 {
                    self.given_up = true; // FATAL
                } else {
                    self.sv = Supervisord::Backoff(t + Duration::seconds(i64::from(fails)), fails);
                }
                false
            }
            Supervisord::Starting(..) => false,
            Supervisord::Backoff(at, fails) if t >= at => {
                self.sv = Supervisord::Starting(t, fails);
                true
            }
            Supervisord::Backoff(..) => false,
        }
    }
}
