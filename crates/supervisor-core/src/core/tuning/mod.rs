//! Adaptive tuning (`supervisor.adaptive`, `tuning_changed`, docs/configuration.md, "Adaptive tuning"): from
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
mod replay_tests;
mod rules;
#[cfg(test)]
mod tests;

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::health::Observation;
use super::verify::Verified;
use crate::checkpoint::tuning::{Tuned, Tuning};
use crate::checkpoint::{Health, ServiceState};
use crate::desired::{HealthSpec, ServiceSpec, Settings};
use crate::events::Event;
use crate::num::millis;

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

    pub(super) fn slot_mut(self, t: &mut Tuning) -> &mut Option<Tuned> {
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
            backoff_base_ms: millis(settings.backoff_base),
            backoff_max_ms: millis(settings.backoff_max),
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
    let value = |s| {
        if adaptive {
            tuned(c, t, s).unwrap_or(c.get(s))
        } else {
            c.get(s)
        }
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
        degraded_after: u32::try_from(e.degraded_after).unwrap_or(u32::MAX),
        dead_after: u32::try_from(e.dead_after).unwrap_or(u32::MAX),
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

/// The configured values a backoff needs (the counts play no part).
fn backoff_configured(settings: &Settings) -> Configured {
    Configured {
        degraded_after: 0,
        dead_after: 0,
        backoff_base_ms: millis(settings.backoff_base),
        backoff_max_ms: millis(settings.backoff_max),
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
        let body = crate::events::TuningChanged {
            from: self.setting.show(self.from),
            reason: self.reason.clone(),
            setting: self.setting.as_str().into(),
            to: self.setting.show(self.to),
        };
        Event::new(node, service, body)
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

/// The hook of the view's advance (`view::advance`): updates
/// `state.tuning` from this run and returns the steps taken (none when
/// adaptive tuning is off).
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
        // Tuned values were not in force: nothing went back.
        state.tuning.reset = None;
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

/// The reason of a `tuning_changed` that an operator's reset caused.
pub const RESET_REASON: &str = "reset by an operator (`reset --tuning`)";

/// Folds one run into `t` and takes the steps the evidence calls for; a
/// reset since the last run comes first, as the values that went back.
pub fn update(t: &mut Tuning, c: &Configured, seen: &Seen, now: DateTime<Utc>) -> Vec<Change> {
    let mut changes = t.reset.take().map_or_else(Vec::new, |before| {
        let (was, is) = (effective(c, &before, true), effective(c, t, true));
        Setting::ALL
            .into_iter()
            .filter(|&s| was.get(s) != is.get(s))
            .map(|setting| Change {
                setting,
                from: was.get(setting),
                to: is.get(setting),
                reason: RESET_REASON.into(),
            })
            .collect()
    });
    changes.extend(steps(t, c, seen, now));
    changes
}

fn steps(t: &mut Tuning, c: &Configured, seen: &Seen, now: DateTime<Utc>) -> Vec<Change> {
    // A configuration that changed since a value was tuned wins.
    for s in Setting::ALL {
        let slot = s.slot_mut(t);
        if slot.is_some_and(|x| x.configured != c.get(s)) {
            *slot = None;
        }
    }
    let e = effective(c, t, true);
    rules::observe(t, &e, seen, now);
    rules::step(t, c, &e, now)
}
