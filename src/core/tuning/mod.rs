//! Adaptive tuning (`supervisor.adaptive`, SPEC §10 `tuning_changed`): from
//! what each run observes and verifies, per-service `degraded_after`,
//! `dead_after` and the restart backoff base move, one step at a time,
//! within [`bounds`]:
//!
//! - a service that recovers on its own (an episode of observations that
//!   were not `up`, ended `up`, with no action of this tool in between)
//!   after reaching or coming within one observation of `degraded_after`,
//!   three times in a row, gets more patience: `degraded_after` + 1 (and
//!   `dead_after` with it, to stay above);
//! - three restarts in a row verified up at their first attempt: less
//!   patience (`dead_after` − 1) and a shorter backoff base (÷2);
//! - three restarts in a row verified up only after earlier attempts
//!   failed: a longer backoff base (×2).
//!
//! At most one step per setting per hour. The values in force are the
//! configured ones unless adaptive tuning is on and a tuned value exists
//! for the same configured value (a changed configuration wins). Pure: the
//! caller passes the observation, the verdict and `now`.
pub mod bounds;
#[cfg(test)]
mod tests;

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::health::Observation;
use super::verify::Verified;
use crate::checkpoint::tuning::{Tuned, Tuning};
use crate::checkpoint::{Health, ServiceState};
use crate::desired::{HealthSpec, ServiceSpec, Settings};
use crate::events::{Event, EventKind};

/// Consistent outcomes in a row needed for one step.
pub const MIN_EVIDENCE: u32 = 3;

/// At most one step per setting in this long.
pub const STEP_EVERY: chrono::Duration = chrono::Duration::hours(1);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setting {
    DegradedAfter,
    DeadAfter,
    BackoffBase,
}

impl Setting {
    pub const ALL: [Setting; 3] = [
        Setting::DegradedAfter,
        Setting::DeadAfter,
        Setting::BackoffBase,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Setting::DegradedAfter => "degraded_after",
            Setting::DeadAfter => "dead_after",
            Setting::BackoffBase => "backoff_base",
        }
    }

    pub fn slot(self, t: &Tuning) -> Option<Tuned> {
        match self {
            Setting::DegradedAfter => t.degraded_after,
            Setting::DeadAfter => t.dead_after,
            Setting::BackoffBase => t.backoff_base_ms,
        }
    }

    fn slot_mut(self, t: &mut Tuning) -> &mut Option<Tuned> {
        match self {
            Setting::DegradedAfter => &mut t.degraded_after,
            Setting::DeadAfter => &mut t.dead_after,
            Setting::BackoffBase => &mut t.backoff_base_ms,
        }
    }

    /// A value as people read it: a count, or a duration (`5s`).
    pub fn show(self, v: u64) -> String {
        match self {
            Setting::BackoffBase => crate::fmt::duration(Duration::from_millis(v)),
            _ => v.to_string(),
        }
    }
}

/// What the configuration says for one service (the preset or
/// `services.yaml`), in the units of the checkpoint (the base in ms).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Configured {
    pub degraded_after: u64,
    pub dead_after: u64,
    pub backoff_base_ms: u64,
    pub backoff_max_ms: u64,
}

impl Configured {
    pub fn of(health: &HealthSpec, settings: &Settings) -> Configured {
        Configured {
            degraded_after: u64::from(health.degraded_after),
            dead_after: u64::from(health.dead_after),
            backoff_base_ms: settings.backoff_base.as_millis() as u64,
            backoff_max_ms: settings.backoff_max.as_millis() as u64,
        }
    }

    pub fn get(&self, s: Setting) -> u64 {
        match s {
            Setting::DegradedAfter => self.degraded_after,
            Setting::DeadAfter => self.dead_after,
            Setting::BackoffBase => self.backoff_base_ms,
        }
    }

    pub fn range(&self, s: Setting) -> bounds::Range {
        match s {
            Setting::BackoffBase => bounds::backoff_ms(self.backoff_base_ms, self.backoff_max_ms),
            _ => bounds::count(self.get(s)),
        }
    }
}

/// The values in force: configured, or tuned (within bounds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Effective {
    pub degraded_after: u64,
    pub dead_after: u64,
    pub backoff_base_ms: u64,
}

impl Effective {
    pub fn get(&self, s: Setting) -> u64 {
        match s {
            Setting::DegradedAfter => self.degraded_after,
            Setting::DeadAfter => self.dead_after,
            Setting::BackoffBase => self.backoff_base_ms,
        }
    }
}

/// A tuned value of `s`, if one applies to the configured value.
pub fn tuned(c: &Configured, t: &Tuning, s: Setting) -> Option<u64> {
    s.slot(t)
        .filter(|x| x.configured == c.get(s))
        .map(|x| c.range(s).clamp(x.value))
}

pub fn effective(c: &Configured, t: &Tuning, adaptive: bool) -> Effective {
    let value = |s| match adaptive {
        true => tuned(c, t, s).unwrap_or(c.get(s)),
        false => c.get(s),
    };
    let degraded_after = value(Setting::DegradedAfter);
    Effective {
        degraded_after,
        dead_after: value(Setting::DeadAfter).max(degraded_after),
        backoff_base_ms: value(Setting::BackoffBase),
    }
}

/// The service's health thresholds in force (for the health advance).
pub fn health_spec(spec: &ServiceSpec, settings: &Settings, t: &Tuning) -> HealthSpec {
    let e = effective(
        &Configured::of(&spec.health, settings),
        t,
        settings.adaptive,
    );
    HealthSpec {
        degraded_after: e.degraded_after as u32,
        dead_after: e.dead_after as u32,
        ..spec.health.clone()
    }
}

/// The restart backoff base in force for a service with tuning `t`.
pub fn backoff_base(settings: &Settings, t: &Tuning) -> Duration {
    if !settings.adaptive {
        return settings.backoff_base;
    }
    let c = backoff_configured(settings);
    tuned(&c, t, Setting::BackoffBase).map_or(settings.backoff_base, Duration::from_millis)
}

fn backoff_configured(settings: &Settings) -> Configured {
    Configured {
        degraded_after: 0,
        dead_after: 0,
        backoff_base_ms: settings.backoff_base.as_millis() as u64,
        backoff_max_ms: settings.backoff_max.as_millis() as u64,
    }
}

/// One step of one setting (`tuning_changed`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub setting: Setting,
    pub from: u64,
    pub to: u64,
    pub reason: String,
}

impl Change {
    pub fn event(&self, node: Option<&str>, service: Option<&str>) -> Event {
        Event::new(EventKind::TuningChanged, node, service)
            .with("setting", self.setting.as_str())
            .with("from", self.setting.show(self.from))
            .with("to", self.setting.show(self.to))
            .with("reason", self.reason.as_str())
    }
}

/// What one run saw of a service, for the evidence.
#[derive(Debug, Clone, Copy)]
pub struct Seen<'a> {
    /// This run's counted observation (Unknown when nothing new counted).
    pub observation: Observation,
    /// It is (or was) evicted on purpose: not an episode.
    pub evicted: bool,
    /// When this tool last acted on it.
    pub acted_at: Option<DateTime<Utc>>,
    /// A start of ours was waiting for its verdict.
    pub pending: bool,
    pub verified: Option<&'a Verified>,
    /// Restart attempts in the current series (1: the first attempt).
    pub attempts: u32,
}

/// The hook of `View::build`: updates `state.tuning` from this run and
/// returns the steps taken (none when adaptive tuning is off).
pub fn on_run(
    state: &mut ServiceState,
    prev: &ServiceState,
    spec: &ServiceSpec,
    settings: &Settings,
    observation: Observation,
    verified: Option<&Verified>,
    now: DateTime<Utc>,
) -> Vec<Change> {
    if !settings.adaptive {
        return vec![];
    }
    let seen = Seen {
        observation,
        evicted: prev.health == Health::Evicted || state.health == Health::Evicted,
        acted_at: prev.last_action.as_ref().map(|a| a.at),
        pending: prev.pending.is_some(),
        verified,
        attempts: prev.restart_attempts,
    };
    let c = Configured::of(&spec.health, settings);
    update(&mut state.tuning, &c, &seen, now)
}

/// Folds one run into `t` and takes the steps the evidence calls for.
pub fn update(t: &mut Tuning, c: &Configured, seen: &Seen, now: DateTime<Utc>) -> Vec<Change> {
    // A configuration that changed since a value was tuned wins.
    for s in Setting::ALL {
        let slot = s.slot_mut(t);
        if slot.is_some_and(|x| x.configured != c.get(s)) {
            *slot = None;
        }
    }
    let e = effective(c, t, true);
    observe(t, &e, seen, now);
    step(t, c, &e, now)
}

fn observe(t: &mut Tuning, e: &Effective, seen: &Seen, now: DateTime<Utc>) {
    let ev = &mut t.evidence;
    let bump = |n: &mut u32| *n = (*n + 1).min(MIN_EVIDENCE);
    match seen.observation {
        Observation::Up => {
            if let Some(since) = ev.episode_since.filter(|_| ev.episode_len > 0) {
                let acted = seen.pending || seen.acted_at.is_some_and(|a| a >= since);
                let close = u64::from(ev.episode_len) + 1 >= e.degraded_after;
                if !acted && close {
                    bump(&mut ev.recovered_alone);
                    ev.first_try = 0;
                }
            }
            ev.episode_len = 0;
            ev.episode_since = None;
        }
        _ if seen.evicted => {
            ev.episode_len = 0;
            ev.episode_since = None;
        }
        Observation::Failing | Observation::Degraded | Observation::Down => {
            if ev.episode_len == 0 {
                ev.episode_since = Some(now);
            }
            ev.episode_len = ev.episode_len.saturating_add(1);
        }
        Observation::Unknown => {}
    }
    if let Some(v) = seen.verified.filter(|v| v.action == "restart") {
        match (v.success, seen.attempts <= 1) {
            (true, true) => {
                bump(&mut ev.first_try);
                bump(&mut ev.quick_backoff);
                ev.after_retries = 0;
                ev.recovered_alone = 0;
            }
            (true, false) => {
                bump(&mut ev.after_retries);
                ev.quick_backoff = 0;
                ev.first_try = 0;
            }
            (false, _) => {
                ev.first_try = 0;
                ev.quick_backoff = 0;
            }
        }
    }
}

/// Whether `s` may move now: never tuned, or last moved an hour ago (a
/// time in the future counts as now, see `core/clock.rs`).
fn may_move(t: &Tuning, s: Setting, now: DateTime<Utc>) -> bool {
    s.slot(t)
        .is_none_or(|x| now - x.changed_at.min(now) >= STEP_EVERY)
}

fn set(t: &mut Tuning, c: &Configured, s: Setting, value: u64, now: DateTime<Utc>) {
    *s.slot_mut(t) = Some(Tuned {
        value,
        configured: c.get(s),
        changed_at: now,
    });
}

fn step(t: &mut Tuning, c: &Configured, e: &Effective, now: DateTime<Utc>) -> Vec<Change> {
    let mut changes = vec![];
    let mut change = |t: &mut Tuning, s: Setting, to: u64, reason: String| {
        set(t, c, s, to, now);
        changes.push(Change {
            setting: s,
            from: e.get(s),
            to,
            reason,
        });
    };
    let (degraded, dead) = (Setting::DegradedAfter, Setting::DeadAfter);
    if t.evidence.recovered_alone >= MIN_EVIDENCE {
        let to = e.degraded_after + 1;
        // `dead_after` stays above `degraded_after`: it moves too, or neither does.
        let dead_to = (e.dead_after <= to).then_some(to + 1);
        let fits = c.range(degraded).contains(to)
            && dead_to.is_none_or(|d| c.range(dead).contains(d) && may_move(t, dead, now));
        if fits && may_move(t, degraded, now) {
            let why = format!(
                "recovered on its own {MIN_EVIDENCE} times in a row, each time at or within one observation of degraded_after {}, with no action: more patience",
                e.degraded_after
            );
            change(t, degraded, to, why.clone());
            if let Some(d) = dead_to {
                change(
                    t,
                    dead,
                    d,
                    format!("{why} (dead_after stays above degraded_after)"),
                );
            }
            t.evidence.recovered_alone = 0;
        }
    }
    let first_try =
        format!("the last {MIN_EVIDENCE} restarts were verified up at their first attempt");
    if t.evidence.first_try >= MIN_EVIDENCE {
        let to = e.dead_after.saturating_sub(1);
        let fits = c.range(dead).contains(to) && to > e.degraded_after;
        if fits && may_move(t, dead, now) {
            change(t, dead, to, format!("{first_try}: less patience"));
            t.evidence.first_try = 0;
        }
    }
    let base = Setting::BackoffBase;
    let range = c.range(base);
    if t.evidence.quick_backoff >= MIN_EVIDENCE && may_move(t, base, now) {
        let to = bounds::backoff_step(e.backoff_base_ms, false, range);
        if to != e.backoff_base_ms {
            change(t, base, to, format!("{first_try}: a shorter backoff"));
            t.evidence.quick_backoff = 0;
        }
    }
    if t.evidence.after_retries >= MIN_EVIDENCE && may_move(t, base, now) {
        let to = bounds::backoff_step(e.backoff_base_ms, true, range);
        if to != e.backoff_base_ms {
            let why = format!(
                "the last {MIN_EVIDENCE} restarts came up only after earlier attempts failed: a longer backoff"
            );
            change(t, base, to, why);
            t.evidence.after_retries = 0;
        }
    }
    changes
}
