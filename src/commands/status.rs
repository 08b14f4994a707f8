//! `status`: each service's health, failures, restart attempts, backoff,
//! pins, holds and last action, as the last run left them in the checkpoint
//! (and `overrides.json`), "as of" that run. A backoff already over is not
//! shown; an evicted model says so. Times for people are relative to that
//! run (`3m ago`, `in 12s`; `fmt::relative`); `--output json` keeps RFC 3339.
//! A `spawn:` service also gets its process's line, as supervisord shows
//! it (state, pid, uptime, last exit, starts in the last hour: see
//! [`super::process_view`]).
use crate::exit::Exit;
use std::fmt::Write;
use std::path::Path;

use anyhow::Result;
use chrono::{DateTime, Utc};
use serde_json::json;

use crate::checkpoint::{key, Checkpoint, Health, ServiceState};
use crate::core::guardrails::backoff_until;
use crate::desired::{Fleet, NodeSpec, ServiceSpec};
use crate::fmt::{relative, ts_secs};
use crate::run::format_ts;
use crate::store::overrides::{Hold, Overrides};
use crate::text::escape_control;

use super::process_view::{Circumstances, ProcessView};

/// `now`: `--now`, else the wall clock (what a backoff is over by).
/// `local`: this machine's node, whose spawned services have a process
/// line (the pid files of `dir` are this machine's).
pub fn run(
    fleet: &Fleet,
    dir: &Path,
    local: Option<&str>,
    json_out: bool,
    now: DateTime<Utc>,
) -> Result<Exit> {
    let view = View::read(dir, local, now)?;
    let mut out = String::new();
    if !json_out {
        let _ = writeln!(
            out,
            "as of {}",
            view.as_of.map_or("no run yet".to_string(), |t| format!(
                "{} ({})",
                format_ts(t),
                relative(t, now)
            ))
        );
    }
    for node in fleet.nodes.values() {
        if !json_out {
            let _ = writeln!(out, "{}", node.name);
        }
        for svc in node.services.values() {
            let row = view.row(node, svc);
            if json_out {
                let _ = writeln!(out, "{}", view.json(&row));
            } else {
                view.text(&row, &mut out);
            }
        }
    }
    super::stdout::write(&out)?;
    Ok(Exit::Ok)
}

/// What `status` shows the services from: the state the last run left and
/// the run it describes.
struct View<'a> {
    cp: Checkpoint,
    overrides: Overrides,
    /// The checkpoint's newest instant: the run it describes.
    as_of: Option<DateTime<Utc>>,
    /// What relative times count from: the run, else (no run yet) the clock.
    from: DateTime<Utc>,
    now: DateTime<Utc>,
    dir: &'a Path,
    local: Option<&'a str>,
}

/// What one service's row shows.
struct Row<'a> {
    node: &'a NodeSpec,
    svc: &'a ServiceSpec,
    k: String,
    st: ServiceState,
    /// A backoff not over yet.
    backoff: Option<DateTime<Utc>>,
    pinned: bool,
    held: Option<&'a Hold>,
    /// The circuit is open.
    open: bool,
    trial: Option<DateTime<Utc>>,
    last: Option<String>,
    process: Option<ProcessView>,
    /// Loading (docs/reference/behaviour.md, "Loading"): its failures do not count yet.
    loading: Option<DateTime<Utc>>,
    /// An operator's stop (docs/reference/behaviour.md, "Operator commands"): the asked state, not a fault.
    stopped: Option<DateTime<Utc>>,
}

/// The checkpoint's newest instant: the run it describes. A run that
/// probed sooner than a fast tick after the last probe still wrote the
/// times of what it saw (loading, a sample, a start).
fn as_of(cp: &Checkpoint) -> Option<DateTime<Utc>> {
    cp.services
        .values()
        .filter_map(|s| {
            [
                s.probed_at,
                s.observed_at,
                s.health_probed_at,
                s.last_action.as_ref().map(|a| a.at),
                s.started_at,
                s.evicted_at,
                s.loading_since,
                s.loading_ended_at,
                s.load_sample.map(|l| l.at),
                s.cpu_at,
                s.stopped_by_operator_at,
            ]
            .into_iter()
            .flatten()
            .max()
        })
        .max()
}

impl<'a> View<'a> {
    fn read(dir: &'a Path, local: Option<&'a str>, now: DateTime<Utc>) -> Result<Self> {
        let cp = crate::checkpoint::read_for_command(dir)?.unwrap_or_default();
        // An unusable file is an error, as for the checkpoint: shown as "no
        // pins, no holds" it would mislead.
        let overrides =
            crate::store::overrides::load_overrides(&crate::store::Layout::of(dir).overrides())
                .map_err(|e| {
                    anyhow::anyhow!("{e}\n\nhint: {}", crate::store::overrides::UNREADABLE_HINT)
                })?;
        let as_of = as_of(&cp);
        Ok(View {
            cp,
            overrides,
            as_of,
            from: as_of.unwrap_or(now),
            now,
            dir,
            local,
        })
    }

    fn rel(&self, t: DateTime<Utc>) -> String {
        relative(t, self.from)
    }

    /// Something that began (loading, an eviction, a stop) began by the run
    /// that recorded it: never "in 2s".
    fn since(&self, t: DateTime<Utc>) -> String {
        relative(t.min(self.from), self.from)
    }

    fn row<'r>(&'r self, node: &'r NodeSpec, svc: &'r ServiceSpec) -> Row<'r> {
        let k = key(&node.name, &svc.name);
        let st = self.cp.services.get(&k).cloned().unwrap_or_default();
        let backoff =
            backoff_until(&node.settings, &svc.name, &st).filter(|until| *until > self.now);
        let pinned = self.overrides.pins.get(&k).copied().unwrap_or(svc.pinned);
        let held = self.overrides.holds.get(&k);
        let open = st.restart_attempts >= node.settings.max_restart_attempts;
        let trial = crate::core::guardrails::breaker_trial_at(&node.settings, &st);
        let last = st
            .last_action
            .as_ref()
            .map(|a| format!("{} {} {}", a.action, a.outcome, self.rel(a.at)));
        let spawned_here = self.local == Some(node.name.as_str())
            && matches!(svc.start, Some(crate::desired::Start::Spawn(_)));
        let process = spawned_here.then(|| {
            let c = Circumstances {
                stopped_by_operator: st.stopped_by_operator_at.is_some(),
                circuit_open: open,
                in_backoff: backoff.is_some(),
                as_of: self.as_of,
            };
            ProcessView::read(self.dir, &svc.name, &st, &c)
        });
        Row {
            node,
            svc,
            k,
            loading: st.loading_since,
            stopped: st.stopped_by_operator_at,
            st: *st,
            backoff,
            pinned,
            held,
            open,
            trial,
            last,
            process,
        }
    }

    fn json(&self, r: &Row) -> serde_json::Value {
        let (st, loading, stopped) = (&r.st, r.loading, r.stopped);
        json!({"node": r.node.name, "service": r.svc.name, "health": st.health.as_str(), "loading": loading.is_some(),
            "loading_since": loading.map(format_ts), "failures": st.failures,
            "restart_attempts": st.restart_attempts, "cpu_cores": st.cpu_use, "circuit": if r.open {"open"} else {"closed"}, "next_trial_at": r.trial.map(format_ts), "backoff_until": r.backoff.map(format_ts),
            "last_action": st.last_action, "last_error": st.last_error, "pinned": r.pinned,
            "stopped_by_operator": stopped.is_some(), "stopped_at": stopped.map(format_ts),
            "held": r.held.map(|h| json!({"since": format_ts(h.since), "reason": h.reason})), "fallback": self.cp.fallbacks.get(&r.k).map(|f| f.to.clone()),
            "activity": super::activity_view::shown(r.svc).then(|| super::activity_view::json(r.svc, st)),
            "process": r.process.as_ref().map(ProcessView::json)})
    }

    /// The row for people: its line, then a line for each note.
    fn text(&self, r: &Row, out: &mut String) {
        let st = &r.st;
        let failures = if r.not_running() && st.failures == 0 {
            String::new()
        } else {
            format!(" failures {:<2}", st.failures)
        };
        let _ = writeln!(
            out,
            "  {:<24} {:<9}{failures} attempts {:<2}{}{}{}{}",
            r.svc.name,
            r.health(),
            st.restart_attempts,
            st.cpu_use
                .filter(|_| !r.not_running())
                .map(|c| format!(" cpu {:.0}%", c * 100.0))
                .unwrap_or_default(),
            self.circuit(r),
            r.backoff
                .map(|b| format!(" backoff ends {}", self.rel(b)))
                .unwrap_or_default(),
            r.last
                .as_ref()
                .map(|l| format!(" last: {}", escape_control(l)))
                .unwrap_or_default(),
        );
        self.notes(r, out);
    }

    fn circuit(&self, r: &Row) -> String {
        match (r.open, r.trial) {
            _ if r.trial_running() => {
                " circuit half-open (its trial start is not verified yet)".to_string()
            }
            (true, Some(t)) => format!(" circuit open (next trial {})", self.rel(t)),
            (true, None) => " circuit open".to_string(),
            _ => String::new(),
        }
    }

    /// The lines under a row: process, loading, stop or eviction, activity,
    /// pin, hold, last error.
    fn notes(&self, r: &Row, out: &mut String) {
        let st = &r.st;
        if let Some(p) = &r.process {
            let _ = writeln!(out, "  {:<24} {}", "", p.line());
        }
        if let Some(t) = r.loading {
            let _ = writeln!(out, "  {:<24} loading since {}", "", self.since(t));
        }
        match (r.stopped, st.evicted_at) {
            (Some(t), _) => {
                let _ = writeln!(
                    out,
                    "  {:<24} stopped by operator {} (`supervisorctl start {}` starts it)",
                    "",
                    self.since(t),
                    r.svc.name
                );
            }
            (None, Some(t)) => {
                let _ = writeln!(out, "  {:<24} evicted {}", "", self.since(t));
            }
            (None, None) => {}
        }
        let activity = super::activity_view::shown(r.svc)
            .then(|| {
                super::activity_view::seen(st, r.node.settings.idle_without_activity, |t| {
                    self.rel(t)
                })
            })
            .flatten();
        if let Some(a) = activity {
            let _ = writeln!(out, "  {:<24} {}", "", escape_control(&a));
        }
        if r.pinned {
            let _ = writeln!(out, "  {:<24} pinned", "");
        }
        if let Some(h) = r.held {
            self.held(h, out);
        }
        // A new process whose start is not verified yet, and not
        // probed since: the last error was about the one before it.
        if let Some(e) = st.last_error.as_ref().filter(|_| !r.replaced()) {
            let _ = writeln!(out, "  {:<24} why: {}", "", escape_control(e));
        }
    }

    fn held(&self, h: &Hold, out: &mut String) {
        let why = h
            .reason
            .as_deref()
            .map(|r| format!(": {}", escape_control(r)));
        // A hold is set by a person, maybe after the run.
        let when = match self.as_of {
            Some(t) if h.since > t => "after this run".to_string(),
            _ => self.rel(h.since),
        };
        let _ = writeln!(
            out,
            "  {:<24} held since {} ({when}){}",
            "",
            ts_secs(h.since),
            why.unwrap_or_default()
        );
    }
}

impl Row<'_> {
    fn health(&self) -> &'static str {
        match (self.loading, self.stopped) {
            (Some(_), _) => "loading",
            (None, Some(_)) if self.st.health == Health::Evicted => "stopped",
            _ => self.st.health.as_str(),
        }
    }

    /// Not running (dead, evicted, stopped): no CPU use to show, and
    /// no failing probe count unless probes did fail.
    fn not_running(&self) -> bool {
        matches!(self.st.health, Health::Dead | Health::Evicted) || self.stopped.is_some()
    }

    /// A start not verified yet whose circuit was open: the trial.
    fn trial_running(&self) -> bool {
        let st = &self.st;
        self.open
            && st.breaker_trials > 0
            && st
                .pending
                .as_ref()
                .is_some_and(|p| p.action != crate::core::Action::Evict)
            && st.started_at.is_some()
            && st.started_at >= st.breaker_opened_at
    }

    /// The last error is about what the last counted observation saw;
    /// a start since then (not verified yet) replaced that process.
    fn replaced(&self) -> bool {
        let st = &self.st;
        let seen_at = st.probed_at.max(st.observed_at);
        st.pending
            .as_ref()
            .is_some_and(|p| p.action != crate::core::Action::Evict)
            && st
                .started_at
                .is_some_and(|s| seen_at.is_none_or(|o| s >= o))
    }
}
