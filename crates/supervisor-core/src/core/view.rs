//! One service as the policies see it in this run: its spec, what the world
//! and the live probes say, and its state advanced from the checkpoint.
//! Two steps: [`advance`] moves every per-service state machine on by this
//! run (health, loading, verification, tuning, activity, the breaker, CPU
//! and demand); [`View`] is the read-only result the policies judge.
use chrono::{DateTime, Utc};

use super::activity::Activity;
use super::health::{observe, LiveObservation, Observation, Pace};
use super::loading::Loading;
use super::verify::Verified;
use super::{Input, LiveService};
use crate::checkpoint::{Health, ServiceState};
use crate::desired::{NodeSpec, ServiceSpec, Settings};
use crate::world::{Obs, ServiceRecord};

pub struct View<'a> {
    pub spec: &'a ServiceSpec,
    pub key: String,
    pub record: Option<&'a ServiceRecord>,
    /// A world file exists for it (valid or not).
    pub has_record_file: bool,
    pub live: Option<&'a LiveService>,
    pub observation: Observation,
    /// Its health in the checkpoint, before this run.
    pub before: Health,
    /// The state after this run's observation (before any action).
    pub state: ServiceState,
    pub pinned: bool,
    pub held: bool,
    /// What this run concluded about the last start or eviction.
    pub verified: Option<Verified>,
    /// Adaptive tuning's steps this run (`tuning_changed`).
    pub tuning: Vec<super::tuning::Change>,
    /// When it was last in use, or why that is unknown (docs/reference/behaviour.md, "Activity").
    pub activity: Activity,
}

/// What this run reads of one service: its world file (valid or not), the
/// record in it, and the live probe's result.
#[derive(Clone, Copy)]
pub struct Seen<'a> {
    pub file: Option<&'a Obs<ServiceRecord>>,
    pub record: Option<&'a ServiceRecord>,
    pub live: Option<&'a LiveService>,
}

impl<'a> Seen<'a> {
    pub fn of(input: &'a Input<'a>, node: &NodeSpec, spec: &ServiceSpec) -> Seen<'a> {
        let file = input
            .world
            .services
            .get(&(node.name.clone(), spec.name.clone()));
        let live = input
            .live
            .get(&node.name)
            .and_then(|l| l.services.get(&spec.name));
        Seen {
            file,
            record: file.and_then(Obs::valid),
            live,
        }
    }

    fn live_activity(&self) -> Option<&'a super::activity::LiveActivity> {
        self.live.and_then(|l| l.activity.as_ref())
    }
}

/// One service's state machines after this run's advance.
pub struct Advanced {
    pub observation: Observation,
    pub state: ServiceState,
    pub verified: Option<Verified>,
    pub tuning: Vec<super::tuning::Change>,
    pub activity: Activity,
}

/// Advances every per-service state machine of `prev` (the checkpoint's
/// state) by what this run saw, in their order: health, loading and the
/// observer's reasons; the verdict on the last start or eviction; adaptive
/// tuning; the healthy streak; activity and thrash; the breaker; the
/// process and its CPU use; demand.
pub fn advance(
    prev: &ServiceState,
    seen: Seen,
    node: &NodeSpec,
    spec: &ServiceSpec,
    now: DateTime<Utc>,
) -> Advanced {
    let settings = &node.settings;
    let pace = Pace {
        fast_tick: settings.fast_tick,
        probe_period: settings.probe_period,
    };
    let live_obs = seen.live.map(|l| l.observation);
    let (observation, counted) = observe(seen.file, live_obs, prev, now, pace);
    let mut state = prev.clone();
    let observed = (observation, counted.record);
    let (counts, loading) = advance_health(&mut state, prev, seen, observed, spec, settings, now);
    note_why(
        &mut state,
        counted,
        observation,
        seen.live,
        seen.record,
        now,
    );
    let verified = advance_verdict(&state, prev, seen, observation, loading, spec, now);
    if let Some(v) = &verified {
        settle_verified(&mut state, v, settings);
    }
    let tuning = super::tuning::on_run(
        &mut state,
        prev,
        spec,
        settings,
        counts,
        verified.as_ref(),
        now,
    );
    note_healthy_since(&mut state, prev.health, now);
    let activity = advance_use(&mut state, prev, seen, spec, settings, now);
    super::breaker::on_run(&mut state, settings.max_restart_attempts, now);
    if let Some(l) = seen.live {
        if l.identity.is_some() {
            state.process = l.identity;
        }
        update_cpu(&mut state, prev, l, now);
    }
    let counter = demand_counter(seen.live_activity(), seen.record, now);
    update_demand(&mut state, counter);
    Advanced {
        observation,
        state,
        verified,
        tuning,
        activity,
    }
}

/// Loading, then health from this run's observation (with the time of
/// the record it counted) as it counts (a
/// loading service's failing probes do not, docs/reference/behaviour.md, "Loading"); returns that
/// observation and whether it is loading.
fn advance_health(
    state: &mut ServiceState,
    prev: &ServiceState,
    seen: Seen,
    (observation, counted_at): (Observation, Option<DateTime<Utc>>),
    spec: &ServiceSpec,
    settings: &Settings,
    now: DateTime<Utc>,
) -> (Observation, Loading) {
    let load_timeout = settings.load_timeout;
    let loading = super::loading::track(state, prev, seen.live, observation, load_timeout, now);
    let counts = match observation {
        Observation::Failing if loading == Loading::Yes => Observation::Unknown,
        o => o,
    };
    if counts == Observation::Failing {
        state.failure_counted_at = Some(counted_at.unwrap_or(now));
    }
    let thresholds = super::tuning::health_spec(spec, settings, &prev.tuning);
    let (health, failures) =
        super::health::advance(prev.health, prev.failures, counts, &thresholds);
    state.health = health;
    state.failures = failures;
    hold_stopped(state, counts);
    if seen.live.is_some_and(|l| l.health_probed) {
        state.health_probed_at = Some(now);
    }
    (counts, loading)
}

/// The verdict on the start or eviction the checkpoint waits on, if this
/// run reaches one.
fn advance_verdict(
    state: &ServiceState,
    prev: &ServiceState,
    seen: Seen,
    observation: Observation,
    loading: Loading,
    spec: &ServiceSpec,
    now: DateTime<Utc>,
) -> Option<Verified> {
    let p = prev.pending.as_ref()?;
    let reason = state.last_error.as_deref();
    let load = (loading, state.loading_ended_at);
    let as_seen = as_seen(p, observation, seen.live);
    super::verify::verify(p, as_seen, reason, spec.start_grace, load, now)
}

/// When it was last in use (docs/reference/behaviour.md, "Activity"), and a loaded model's thrash
/// bookkeeping.
fn advance_use(
    state: &mut ServiceState,
    prev: &ServiceState,
    seen: Seen,
    spec: &ServiceSpec,
    settings: &Settings,
    now: DateTime<Utc>,
) -> Activity {
    let live_activity = seen.live_activity();
    let cpu_busy = seen.live.is_some_and(|l| cpu_busy(prev, l, now));
    let activity = super::activity::track(
        state,
        seen.record,
        live_activity,
        (settings.idle_without_activity, cpu_busy),
        now,
    );
    let last_use = super::activity::last_use(state, seen.record);
    super::thrash::settle_loaded(
        state,
        spec.idle_timeout,
        last_use,
        super::activity::in_flight(seen.record, live_activity),
        now,
    );
    activity
}

impl<'a> View<'a> {
    /// This run's view of one service: `prev` (its checkpoint entry, which
    /// the caller moved out of the checkpoint) advanced by what the world
    /// and the live probes say.
    pub fn build(
        input: &'a Input<'a>,
        node: &'a NodeSpec,
        spec: &'a ServiceSpec,
        key: String,
        prev: &ServiceState,
    ) -> View<'a> {
        let seen = Seen::of(input, node, spec);
        let a = advance(prev, seen, node, spec, input.now);
        let pinned = input
            .overrides
            .pins
            .get(&key)
            .copied()
            .unwrap_or(spec.pinned);
        let held = input.overrides.holds.contains(&key);
        View {
            spec,
            has_record_file: seen.file.is_some(),
            record: seen.record,
            live: seen.live,
            observation: a.observation,
            before: prev.health,
            state: a.state,
            pinned,
            held,
            key,
            verified: a.verified,
            tuning: a.tuning,
            activity: a.activity,
        }
    }

    pub fn name(&self) -> &str {
        &self.spec.name
    }

    pub fn health(&self) -> Health {
        self.state.health
    }

    /// An operator's `stop` holds (docs/reference/behaviour.md, "Operator commands"): no policy starts it.
    pub fn stopped_by_operator(&self) -> bool {
        self.state.stopped_by_operator_at.is_some()
    }

    /// Declared, no world record and no live process (an evicted model is
    /// not missing: it was unloaded on purpose).
    pub fn is_missing(&self) -> bool {
        // A process found is not missing, whether its health was checked
        // this run or not (`every`, a check that cannot be made).
        let live_process = self.live.is_some_and(|l| {
            l.ambiguous
                || l.identity.is_some()
                || matches!(
                    l.observation,
                    LiveObservation::Up | LiveObservation::Failing
                )
        });
        !self.has_record_file && !live_process && self.health() != Health::Evicted
    }

    /// Idle since when at most (docs/reference/behaviour.md, "Activity"); `None`: activity unknown.
    pub fn activity(&self) -> Option<DateTime<Utc>> {
        self.activity.since()
    }

    pub fn in_flight(&self) -> u64 {
        super::activity::in_flight(self.record, self.live.and_then(|l| l.activity.as_ref()))
    }

    pub fn memory(&self) -> u64 {
        self.live
            .and_then(|l| l.memory_bytes)
            .or(self.record.and_then(|r| r.memory_bytes))
            .or(self.spec.memory)
            .unwrap_or(0)
    }

    pub fn gpu_memory(&self) -> u64 {
        self.live
            .and_then(|l| l.gpu_memory_bytes)
            .or(self.record.and_then(|r| r.gpu_memory_bytes))
            .or(self.spec.gpu_memory)
            .unwrap_or(0)
    }

    /// Memory its process holds now (0 when none runs): a restart stops it
    /// first, so a start's projection takes this off before adding
    /// [`View::memory`].
    pub fn held_memory(&self) -> u64 {
        self.held(|l| l.memory_bytes, |r| r.memory_bytes)
    }

    /// GPU memory its process holds now (0 when none runs).
    pub fn held_gpu_memory(&self) -> u64 {
        self.held(|l| l.gpu_memory_bytes, |r| r.gpu_memory_bytes)
    }

    fn held(
        &self,
        live: impl Fn(&LiveService) -> Option<u64>,
        record: impl Fn(&ServiceRecord) -> Option<u64>,
    ) -> u64 {
        use crate::world::ServiceStatus;
        let running_live = self.live.filter(|l| {
            matches!(
                l.observation,
                LiveObservation::Up | LiveObservation::Failing
            )
        });
        if let Some(l) = running_live {
            return live(l).unwrap_or(0);
        }
        self.record
            .filter(|r| matches!(r.status, ServiceStatus::Ok | ServiceStatus::Degraded))
            .and_then(record)
            .unwrap_or(0)
    }

    pub fn gpu_index(&self) -> Option<u32> {
        self.record.and_then(|r| r.gpu_index)
    }
}

/// Why the last counted observation was not up: a live probe's reason, or
/// the observer's (its own words first, cut; else its status).
fn note_why(
    state: &mut ServiceState,
    counted: super::health::Counted,
    observation: Observation,
    live: Option<&LiveService>,
    record: Option<&ServiceRecord>,
    now: DateTime<Utc>,
) {
    if counted.probe {
        state.probed_at = Some(now);
        state.last_error = match observation {
            Observation::Up => None,
            _ => live.and_then(|l| l.reason.clone()),
        };
    }
    if let Some(at) = counted.record {
        state.observed_at = Some(at);
        let said = record
            .and_then(|r| r.reason.as_deref())
            .map(|r| super::availability::clip(r, super::availability::MAX_SUMMARY).into_owned());
        state.last_error = match observation {
            Observation::Up => None,
            Observation::Degraded => {
                said.or_else(|| Some("the observer reported `degraded`".into()))
            }
            _ => said.or_else(|| {
                record.map(|r| format!("the observer reported `{}`", r.status.as_str()))
            }),
        };
    }
}

/// A service an operator stopped stays `evicted` while it is not seen
/// running: a failing check of it (or its absence) is the asked state,
/// never a count toward `dead`.
fn hold_stopped(state: &mut ServiceState, counted: Observation) {
    let running = matches!(counted, Observation::Up | Observation::Degraded);
    if state.stopped_by_operator_at.is_some() && !running {
        state.health = Health::Evicted;
        state.failures = 0;
    }
}

/// What an eviction's verdict goes by: a failing check with no process
/// found (none is declared to look for) says the service is gone.
fn as_seen(
    pending: &crate::checkpoint::PendingCheck,
    observation: Observation,
    live: Option<&LiveService>,
) -> Observation {
    let no_process = live.is_some_and(|l| l.identity.is_none() && !l.ambiguous);
    match observation {
        Observation::Failing if pending.action == super::Action::Evict && no_process => {
            Observation::Down
        }
        o => o,
    }
}

/// A later run's verdict on a start or eviction, into the state.
fn settle_verified(state: &mut ServiceState, v: &Verified, settings: &Settings) {
    state.pending = None;
    if let Some(last) = state.last_action.as_mut().filter(|a| a.action == v.action) {
        last.outcome = if v.success { "success" } else { "failed" }.into();
    }
    super::breaker::on_verified(state, v, settings);
}

/// Since when it has been healthy (and no longer evicted once it is).
fn note_healthy_since(state: &mut ServiceState, before: Health, now: DateTime<Utc>) {
    if state.health == Health::Healthy {
        state.seen_up = true;
        state.evicted_at = None;
        if before != Health::Healthy || state.healthy_since.is_none() {
            state.healthy_since = Some(now);
        }
    } else if state.health != before {
        state.healthy_since = None;
    }
}

/// The request counter and its time: the live metrics' (with our own
/// checks' requests), else the world record's.
fn demand_counter(
    live: Option<&super::activity::LiveActivity>,
    record: Option<&ServiceRecord>,
    now: DateTime<Utc>,
) -> Option<(u64, DateTime<Utc>, u64)> {
    match live {
        Some(super::activity::LiveActivity::Known {
            requests_total: Some(n),
            own_requests,
            ..
        }) => Some((*n, now, *own_requests)),
        _ => record.and_then(|r| Some((r.requests_total?, r.observed_at, 0))),
    }
}

/// The process worked since the previous sample: CPU use of at least
/// [`super::activity::BUSY_CORES`] (the same process, a sample to compare).
fn cpu_busy(prev: &ServiceState, live: &LiveService, now: DateTime<Utc>) -> bool {
    let same_process = live.identity.is_some() && live.identity == prev.process;
    match (live.cpu_seconds, prev.cpu_seconds, prev.cpu_at) {
        (Some(cpu), Some(before), Some(at)) if same_process && now > at && cpu >= before => {
            let wall = crate::num::signed_as_f64((now - at).num_milliseconds()) / 1000.0;
            (cpu - before) / wall >= super::activity::BUSY_CORES
        }
        _ => false,
    }
}

/// CPU use from the difference of CPU time since the previous sample of the
/// same process (a new process starts a new series).
fn update_cpu(
    state: &mut ServiceState,
    prev: &ServiceState,
    live: &LiveService,
    now: DateTime<Utc>,
) {
    let Some(cpu) = live.cpu_seconds else { return };
    let same_process = live.identity.is_some() && live.identity == prev.process;
    state.cpu_use = match (prev.cpu_seconds, prev.cpu_at) {
        (Some(before), Some(at)) if same_process && now > at && cpu >= before => {
            let wall = crate::num::signed_as_f64((now - at).num_milliseconds()) / 1000.0;
            Some((cpu - before) / wall)
        }
        _ => None,
    };
    state.cpu_seconds = Some(cpu);
    state.cpu_at = Some(now);
}

/// Demand forecast: an EWMA (α = 0.5) of the request rate between samples
/// of the request counter (`requests_total` of a world record, or the live
/// metrics counter), each with its time.
/// The counter's rise by no more than this tool's own checks (`own`) is no
/// demand.
fn update_demand(state: &mut ServiceState, counter: Option<(u64, DateTime<Utc>, u64)>) {
    let Some((total, at, own)) = counter else {
        return;
    };
    match &mut state.demand {
        Some(d) if at > d.at => {
            let secs = crate::num::signed_as_f64((at - d.at).num_milliseconds()) / 1000.0;
            // A counter that went backwards was reset: count from zero.
            let delta = match total.checked_sub(d.requests_total) {
                Some(rise) if rise <= own => 0,
                Some(rise) => rise,
                None => total,
            };
            let delta = crate::num::as_f64(delta);
            let instant = delta / secs;
            d.prev_rate = d.rate;
            d.rate = 0.5 * instant + 0.5 * d.rate;
            d.requests_total = total;
            d.at = at;
        }
        Some(_) => {}
        None => {
            state.demand = Some(crate::checkpoint::Demand {
                requests_total: total,
                at,
                rate: 0.0,
                prev_rate: 0.0,
            });
        }
    }
}
