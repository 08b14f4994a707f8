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
use serde_json::json;

use crate::checkpoint::{key, Health};
use crate::core::guardrails::backoff_until;
use crate::desired::Fleet;
use crate::fmt::{relative, ts_secs};
use crate::run::format_ts;
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
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Exit> {
    let cp = crate::checkpoint::read_for_command(dir)?.unwrap_or_default();
    // An unusable file is an error, as for the checkpoint: shown as "no
    // pins, no holds" it would mislead.
    let overrides =
        crate::store::overrides::load_overrides(&crate::store::Layout::of(dir).overrides())
            .map_err(|e| {
                anyhow::anyhow!("{e}\n\nhint: {}", crate::store::overrides::UNREADABLE_HINT)
            })?;
    // The checkpoint's newest instant: the run it describes. A run that
    // probed sooner than a fast tick after the last probe still wrote the
    // times of what it saw (loading, a sample, a start).
    let as_of = cp
        .services
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
        .max();
    // What relative times count from: the run, else (no run yet) the clock.
    let from = as_of.unwrap_or(now);
    let rel = |t| relative(t, from);
    // Something that began (loading, an eviction, a stop) began by the run
    // that recorded it: never "in 2s".
    let since = |t: chrono::DateTime<chrono::Utc>| relative(t.min(from), from);
    let mut out = String::new();
    if !json_out {
        let _ = writeln!(
            out,
            "as of {}",
            as_of.map_or("no run yet".to_string(), |t| format!(
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
            let k = key(&node.name, &svc.name);
            let st = cp.services.get(&k).cloned().unwrap_or_default();
            let backoff =
                backoff_until(&node.settings, &svc.name, &st).filter(|until| *until > now);
            let pinned = overrides.pins.get(&k).copied().unwrap_or(svc.pinned);
            let held = overrides.holds.get(&k);
            let open = st.restart_attempts >= node.settings.max_restart_attempts;
            let trial = crate::core::guardrails::breaker_trial_at(&node.settings, &st);
            let last = st
                .last_action
                .as_ref()
                .map(|a| format!("{} {} {}", a.action, a.outcome, rel(a.at)));
            let spawned_here = local == Some(node.name.as_str())
                && matches!(svc.start, Some(crate::desired::Start::Spawn(_)));
            let process = spawned_here.then(|| {
                let c = Circumstances {
                    stopped_by_operator: st.stopped_by_operator_at.is_some(),
                    circuit_open: open,
                    in_backoff: backoff.is_some(),
                    as_of,
                };
                ProcessView::read(dir, &svc.name, &st, &c)
            });
            // Loading (docs/reference/behaviour.md, "Loading"): its failures do not count yet.
            let loading = st.loading_since;
            // An operator's stop (docs/reference/behaviour.md, "Operator commands"): the asked state, not a fault.
            let stopped = st.stopped_by_operator_at;
            let health = match (loading, stopped) {
                (Some(_), _) => "loading",
                (None, Some(_)) if st.health == Health::Evicted => "stopped",
                _ => st.health.as_str(),
            };
            // Not running (dead, evicted, stopped): no CPU use to show, and
            // no failing probe count unless probes did fail.
            let not_running =
                matches!(st.health, Health::Dead | Health::Evicted) || stopped.is_some();
            // A start not verified yet whose circuit was open: the trial.
            let trial_running = open
                && st.breaker_trials > 0
                && st
                    .pending
                    .as_ref()
                    .is_some_and(|p| p.action != crate::core::Action::Evict)
                && st.started_at.is_some()
                && st.started_at >= st.breaker_opened_at;
            // The last error is about what the last counted observation saw;
            // a start since then (not verified yet) replaced that process.
            let seen_at = st.probed_at.max(st.observed_at);
            let replaced = st
                .pending
                .as_ref()
                .is_some_and(|p| p.action != crate::core::Action::Evict)
                && st
                    .started_at
                    .is_some_and(|s| seen_at.is_none_or(|o| s >= o));
            if json_out {
                let line = json!({"node": node.name, "service": svc.name, "health": st.health.as_str(), "loading": loading.is_some(),
                    "loading_since": loading.map(format_ts), "failures": st.failures,
                    "restart_attempts": st.restart_attempts, "cpu_cores": st.cpu_use, "circuit": if open {"open"} else {"closed"}, "next_trial_at": trial.map(format_ts), "backoff_until": backoff.map(format_ts),
                    "last_action": st.last_action, "last_error": st.last_error, "pinned": pinned,
                    "stopped_by_operator": stopped.is_some(), "stopped_at": stopped.map(format_ts),
                    "held": held.map(|h| json!({"since": format_ts(h.since), "reason": h.reason})), "fallback": cp.fallbacks.get(&k).map(|f| f.to.clone()),
                    "activity": super::activity_view::shown(svc).then(|| super::activity_view::json(svc, &st)),
                    "process": process.as_ref().map(ProcessView::json)});
                let _ = writeln!(out, "{line}");
            } else {
                let failures = if not_running && st.failures == 0 {
                    String::new()
                } else {
                    format!(" failures {:<2}", st.failures)
                };
                let _ = writeln!(
                    out,
                    "  {:<24} {:<9}{failures} attempts {:<2}{}{}{}{}",
                    svc.name,
                    health,
                    st.restart_attempts,
                    st.cpu_use
                        .filter(|_| !not_running)
                        .map(|c| format!(" cpu {:.0}%", c * 100.0))
                        .unwrap_or_default(),
                    match (open, trial) {
                        _ if trial_running => {
                            " circuit half-open (its trial start is not verified yet)".to_string()
                        }
                        (true, Some(t)) => format!(" circuit open (next trial {})", rel(t)),
                        (true, None) => " circuit open".to_string(),
                        _ => String::new(),
                    },
                    backoff
                        .map(|b| format!(" backoff ends {}", rel(b)))
                        .unwrap_or_default(),
                    last.map(|l| format!(" last: {}", escape_control(&l)))
                        .unwrap_or_default(),
                );
                if let Some(p) = &process {
                    let _ = writeln!(out, "  {:<24} {}", "", p.line());
                }
                if let Some(t) = loading {
                    let _ = writeln!(out, "  {:<24} loading since {}", "", since(t));
                }
                match (stopped, st.evicted_at) {
                    (Some(t), _) => {
                        let _ = writeln!(
                            out,
                            "  {:<24} stopped by operator {} (`supervisorctl start {}` starts it)",
                            "",
                            since(t),
                            svc.name
                        );
                    }
                    (None, Some(t)) => {
                        let _ = writeln!(out, "  {:<24} evicted {}", "", since(t));
                    }
                    (None, None) => {}
                }
                let activity = super::activity_view::shown(svc)
                    .then(|| {
                        super::activity_view::seen(&st, node.settings.idle_without_activity, rel)
                    })
                    .flatten();
                if let Some(a) = activity {
                    let _ = writeln!(out, "  {:<24} {}", "", escape_control(&a));
                }
                if pinned {
                    let _ = writeln!(out, "  {:<24} pinned", "");
                }
                if let Some(h) = held {
                    let why = h
                        .reason
                        .as_deref()
                        .map(|r| format!(": {}", escape_control(r)));
                    // A hold is set by a person, maybe after the run.
                    let when = match as_of {
                        Some(t) if h.since > t => "after this run".to_string(),
                        _ => rel(h.since),
                    };
                    let _ = writeln!(
                        out,
                        "  {:<24} held since {} ({when}){}",
                        "",
                        ts_secs(h.since),
                        why.unwrap_or_default()
                    );
                }
                // A new process whose start is not verified yet, and not
                // probed since: the last error was about the one before it.
                if let Some(e) = st.last_error.as_ref().filter(|_| !replaced) {
                    let _ = writeln!(out, "  {:<24} why: {}", "", escape_control(e));
                }
            }
        }
    }
    super::stdout::write(&out)?;
    Ok(Exit::Ok)
}
