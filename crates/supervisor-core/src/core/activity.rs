//! Activity (docs/reference/behaviour.md, "Activity"): when a service was last in use, from, in order, the
//! world record's `last_activity` and the live probes (a request counter
//! that rose, an in-flight gauge above 0, established connections from
//! other peers). **Unknown activity is never idle**: a model no source
//! speaks for is not evicted for idleness unless the node sets
//! `idle_without_activity: true` (then its last start counts). Pure: the
//! caller passes `now`.
use chrono::{DateTime, Utc};

use crate::checkpoint::{ActivityState, ServiceState};
use crate::world::ServiceRecord;

/// What the live activity probe read this run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LiveActivity {
    Known {
        /// `metrics` or `connections`.
        source: &'static str,
        requests_total: Option<u64>,
        in_flight: Option<u64>,
        connections: Option<u64>,
        /// Requests of this tool's own checks the counter includes since
        /// the last reading: a rise by no more is not use.
        own_requests: u64,
        /// Why a configured source was passed over, if one was.
        note: Option<String>,
    },
    /// Why no source could say.
    Unknown(String),
}

/// What a run concludes about a service's activity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Activity {
    /// Idle since this time at most (its last use, or when activity became
    /// known, or its last start by this tool: the latest of these).
    Known(DateTime<Utc>),
    /// No source can say; why.
    Unknown(String),
}

impl Activity {
    pub fn since(&self) -> Option<DateTime<Utc>> {
        match self {
            Activity::Known(t) => Some(*t),
            Activity::Unknown(_) => None,
        }
    }
}

/// CPU use (in cores, since the previous run) that counts as use when the
/// only source is `connections`: sampling connections at each run misses
/// requests shorter than the gap between runs, and a server answering them
/// works. An idle server's threads use next to nothing.
pub const BUSY_CORES: f64 = 0.01;

/// Folds this run's live reading into `state.activity` (a run without one
/// keeps what the last run saw) and returns the service's activity.
/// `(idle_without_activity, cpu_busy)`: the node's setting, and whether the
/// process used at least [`BUSY_CORES`] since the last run.
pub fn track(
    state: &mut ServiceState,
    record: Option<&ServiceRecord>,
    live: Option<&LiveActivity>,
    (idle_without_activity, cpu_busy): (bool, bool),
    now: DateTime<Utc>,
) -> Activity {
    if let Some(live) = live {
        state.activity = fold(&state.activity, live, cpu_busy, now);
    }
    let a = &state.activity;
    let from_live = a.known_since.map(|k| a.seen_at.map_or(k, |s| s.max(k)));
    let world = record.and_then(|r| r.last_activity);
    match world.max(from_live) {
        Some(t) => Activity::Known(state.started_at.map_or(t, |s| s.max(t))),
        None if idle_without_activity => match state.started_at {
            Some(s) => Activity::Known(s),
            None => Activity::Unknown(unknown_reason(a)),
        },
        None => Activity::Unknown(unknown_reason(a)),
    }
}

fn unknown_reason(a: &ActivityState) -> String {
    match &a.unknown {
        Some(why) => why.clone(),
        None => {
            "no `last_activity` in the world record and no live activity probe of this node".into()
        }
    }
}

fn fold(
    prev: &ActivityState,
    live: &LiveActivity,
    cpu_busy: bool,
    now: DateTime<Utc>,
) -> ActivityState {
    match live {
        LiveActivity::Known {
            source,
            requests_total,
            in_flight,
            connections,
            own_requests,
            note,
        } => {
            // A counter that changed (rose past our own checks' requests,
            // or was reset by a restart) is use.
            let counted = matches!((prev.counter, requests_total),
                (Some(a), Some(b)) if *b < a || b - a > *own_requests);
            let busy = in_flight.is_some_and(|n| n > 0)
                || connections.is_some_and(|n| n > 0)
                || (*source == "connections" && cpu_busy);
            ActivityState {
                seen_at: if counted || busy {
                    Some(now)
                } else {
                    prev.seen_at
                },
                known_since: prev.known_since.or(Some(now)),
                counter: requests_total.or(prev.counter),
                unknown: None,
                note: note.clone(),
            }
        }
        LiveActivity::Unknown(why) => ActivityState {
            seen_at: prev.seen_at,
            known_since: None,
            counter: prev.counter,
            unknown: Some(why.clone()),
            note: None,
        },
    }
}

/// The last use seen by an observer or a probe (never a start).
pub fn last_use(state: &ServiceState, record: Option<&ServiceRecord>) -> Option<DateTime<Utc>> {
    record
        .and_then(|r| r.last_activity)
        .max(state.activity.seen_at)
}

/// Requests in flight now: the live gauge, else the world record's.
pub fn in_flight(record: Option<&ServiceRecord>, live: Option<&LiveActivity>) -> u64 {
    match live {
        Some(LiveActivity::Known {
            in_flight: Some(n), ..
        }) => *n,
        _ => record.and_then(|r| r.in_flight).unwrap_or(0),
    }
}

#[cfg(test)]
#[path = "activity_tests.rs"]
mod tests;
