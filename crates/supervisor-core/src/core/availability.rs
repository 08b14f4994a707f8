//! Priority 1, availability: restart what is dead or missing (unless the
//! circuit is open or a dependency is down), activate and deactivate
//! fallbacks, and turn failed deployments, degraded health and open
//! incidents into advice.
use super::types::Condition;
use super::types::{Action, Drift, Policy, Proposal, Severity, Urgency};
use super::view::View;
use super::{Findings, NodeCtx};
use crate::checkpoint::{key, Health};
use crate::world::{AttemptOutcome, IncidentSeverity, IncidentStatus};

/// Why a restart is due, if one is.
pub fn restart_due(view: &View) -> Option<(Condition, String)> {
    // An operator's stop is the asked state, until `start` (docs/reference/behaviour.md, "Operator commands").
    if view.stopped_by_operator() {
        return None;
    }
    if view.is_missing() {
        // How the last process ended, when its monitor said.
        let ended = view
            .live
            .and_then(|l| l.reason.as_deref())
            .filter(|r| r.starts_with("exited ") || r.starts_with("killed by "));
        let detail = match ended {
            Some(how) => format!("declared but no world record and no live process: {how}"),
            None => "declared but no world record and no live process".into(),
        };
        return Some((Condition::MissingService, detail));
    }
    match view.health() {
        Health::Dead => Some((Condition::UnhealthyService, dead_detail(view))),
        Health::Evicted => {
            let evicted_at = view.state.evicted_at?;
            let activity = view.record.and_then(|r| r.last_activity)?;
            (activity > evicted_at).then(|| {
                (
                    Condition::ReloadOnDemand,
                    format!(
                        "activity at {} after eviction at {}",
                        ts(activity),
                        ts(evicted_at)
                    ),
                )
            })
        }
        _ => None,
    }
}

fn dead_detail(view: &View) -> String {
    match view.state.failures {
        0 => "service is dead".to_string(),
        n => format!("service is dead after {n} consecutive failed probes"),
    }
}

pub use crate::fmt::ts;

/// Availability's restart of a dead or missing service.
fn restart(view: &View, condition: Condition, detail: String) -> Proposal {
    propose(
        view,
        Action::Restart,
        Urgency::Required,
        condition,
        detail,
        Severity::Degraded,
    )
}

fn propose(
    view: &View,
    action: Action,
    urgency: Urgency,
    condition: Condition,
    reason: String,
    severity: Severity,
) -> Proposal {
    Proposal {
        service: Some(view.name().to_string()),
        policy: Policy::Availability,
        action,
        urgency,
        condition,
        reason,
        severity,
    }
}

pub fn evaluate(ctx: &NodeCtx, view: &View, out: &mut Findings) {
    let name = view.name();
    let settings = &ctx.node.settings;
    if let Some((condition, detail)) = restart_due(view) {
        out.drift(name, condition, detail.clone());
        let attempts = view.state.restart_attempts;
        let unhealthy_deps: Vec<&str> = view
            .spec
            .depends_on
            .iter()
            .filter(|d| ctx.health_of(d) != Some(Health::Healthy))
            .map(String::as_str)
            .collect();
        let open = super::breaker::is_open(settings, &view.state);
        let trial = super::breaker::trial_due(settings, &view.state, ctx.input.now);
        if let (true, Some(at)) = (open, trial) {
            let detail = format!(
                "circuit half-open: one trial start (due {}, trial {} since it opened)",
                ts(at),
                view.state.breaker_trials + 1
            );
            out.half_open.push((name.to_string(), detail.clone()));
            out.push(restart(view, condition, detail));
        } else if open {
            let detail = format!(
                "{attempts} restart attempts reached max_restart_attempts {}",
                settings.max_restart_attempts
            );
            out.drift(name, Condition::RestartExhausted, detail.clone());
            out.push(propose(view, Action::Diagnostics, Urgency::Blocked, Condition::RestartExhausted, format!("circuit open: {detail}; run `supervisorctl reset {name}` after fixing the cause"), Severity::Unstable));
        } else if !unhealthy_deps.is_empty() {
            let detail = format!("restart waits for {}", deps_detail(ctx, &unhealthy_deps));
            out.drift(name, Condition::DependencyUnavailable, detail.clone());
            out.push(propose(
                view,
                Action::DelayedDeployment,
                Urgency::Recommended,
                Condition::DependencyUnavailable,
                detail,
                Severity::Degraded,
            ));
        } else {
            out.push(restart(view, condition, detail));
        }
    }
    if view.health() == Health::Degraded {
        let detail = format!(
            "health degraded ({} consecutive failures)",
            view.state.failures
        );
        out.drift(name, Condition::UnhealthyService, detail.clone());
        out.push(propose(
            view,
            Action::Diagnostics,
            Urgency::Recommended,
            Condition::UnhealthyService,
            detail,
            Severity::Degraded,
        ));
    }
    fallback(ctx, view, out);
    deployment(ctx, view, out);
    for inc in ctx.incidents_for(Some(name)) {
        incident(out, Some(view), inc);
    }
}

fn deps_detail(ctx: &NodeCtx, deps: &[&str]) -> String {
    deps.iter()
        .map(|d| format!("`{d}` ({})", ctx.health_of(d).unwrap_or_default().as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn fallback(ctx: &NodeCtx, view: &View, out: &mut Findings) {
    let Some(backup) = &view.spec.fallback else {
        return;
    };
    let fkey = key(&ctx.node.name, view.name());
    let active = ctx.fallbacks.get(&fkey);
    // Another node's service serves only while the world shows it healthy.
    // `node/service` on this very node is a local fallback: this run's view
    // of it (a live probe) says, no observer's record needed.
    let remote_ok = match backup.split_once('/') {
        None => true,
        Some((node, service)) if node == ctx.node.name => {
            ctx.health_of(service).is_none_or(|h| h == Health::Healthy)
        }
        Some((node, service)) => remote_healthy(ctx, node, service),
    };
    if let (Some(active), false) = (active, remote_ok) {
        out.push(propose(
            view,
            Action::DeactivateFallback,
            Urgency::Required,
            Condition::UnhealthyService,
            format!(
                "fallback `{}` is not healthy in the world: stop routing to it",
                active.to
            ),
            Severity::Degraded,
        ));
        return;
    }
    if view.health() == Health::Dead && active.is_none() && !remote_ok {
        out.drift(
            view.name(),
            Condition::UnhealthyService,
            format!("fallback `{backup}` is not healthy in the world: not activated"),
        );
    }
    if view.health() == Health::Dead && active.is_none() && remote_ok {
        out.push(propose(
            view,
            Action::ActivateFallback,
            Urgency::Required,
            Condition::UnhealthyService,
            format!(
                "route `{}` traffic to `{backup}` while it is dead",
                view.name()
            ),
            Severity::Degraded,
        ));
    }
    if let Some(active) = active {
        if view.health() == Health::Healthy {
            out.push(propose(
                view,
                Action::DeactivateFallback,
                Urgency::Recommended,
                Condition::PrimaryRecovered,
                format!(
                    "`{}` is healthy again; stop routing to `{}`",
                    view.name(),
                    active.to
                ),
                Severity::Nominal,
            ));
        }
    }
}

fn deployment(ctx: &NodeCtx, view: &View, out: &mut Findings) {
    let Some(record) = ctx.deployment(view.name()) else {
        return;
    };
    let mut attempts: Vec<_> = record.attempts.iter().collect();
    attempts.sort_by_key(|a| a.at);
    let Some(latest) = attempts.last() else {
        return;
    };
    if latest.outcome != AttemptOutcome::Failed {
        return;
    }
    let name = view.name();
    let message = latest
        .message
        .as_deref()
        .map(|m| format!(": {m}"))
        .unwrap_or_default();
    let last3 = attempts
        .iter()
        .rev()
        .take(3)
        .filter(|a| a.outcome == AttemptOutcome::Failed)
        .count();
    // Three failures in a row are for a person; one is redeployed.
    let (detail, action, urgency, severity) = if attempts.len() >= 3 && last3 == 3 {
        let detail = format!(
            "last 3 deployment attempts failed (latest at {}{message})",
            ts(latest.at)
        );
        (
            detail,
            Action::Diagnostics,
            Urgency::Blocked,
            Severity::Unstable,
        )
    } else {
        let detail = format!(
            "latest deployment attempt at {} failed{message}",
            ts(latest.at)
        );
        (
            detail,
            Action::Redeploy,
            Urgency::Required,
            Severity::Degraded,
        )
    };
    out.drift(name, Condition::FailedDeployment, detail.clone());
    out.push(propose(
        view,
        action,
        urgency,
        Condition::FailedDeployment,
        detail,
        severity,
    ));
}

/// An open incident becomes advice; `view` is None for a node's own incident.
pub fn incident(out: &mut Findings, view: Option<&View>, inc: &crate::world::Incident) {
    if inc.status != IncidentStatus::Open {
        return;
    }
    let severity = if inc.severity == IncidentSeverity::Critical {
        Severity::Unstable
    } else {
        Severity::Degraded
    };
    let level = match inc.severity {
        IncidentSeverity::Info => "info",
        IncidentSeverity::Warning => "warning",
        IncidentSeverity::Critical => "critical",
    };
    let detail = format!(
        "open {level} incident `{}` since {}: {}",
        inc.id,
        ts(inc.opened_at),
        clip(&inc.summary, MAX_SUMMARY)
    );
    let service = view.map(|v| v.name().to_string());
    out.drifts.push((
        service.clone(),
        Drift {
            condition: Condition::UnresolvedIncident,
            detail: detail.clone(),
        },
    ));
    out.push(Proposal {
        service,
        policy: Policy::Availability,
        action: Action::ReviewIncident,
        urgency: Urgency::Recommended,
        condition: Condition::UnresolvedIncident,
        reason: detail,
        severity,
    });
}

/// The most of an incident's summary an event carries: whoever writes the
/// world cannot fill the event log (a 500 KB summary, 200 incidents, was
/// 200 MB a run).
pub const MAX_SUMMARY: usize = 500;

/// `s` cut to at most `max` bytes (at a character boundary), saying how
/// much was left out.
pub fn clip(s: &str, max: usize) -> std::borrow::Cow<'_, str> {
    if s.len() <= max {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    std::borrow::Cow::Owned(format!("{}… ({} more bytes)", &s[..end], s.len() - end))
}

/// Whether the world shows `node`'s `service` healthy: a valid record with
/// status `ok`, on a node whose own record says online and is fresh.
fn remote_healthy(ctx: &NodeCtx, node: &str, service: &str) -> bool {
    let world = ctx.input.world;
    let node_ok = world
        .nodes
        .get(node)
        .and_then(crate::world::Obs::valid)
        .is_some_and(|n| {
            n.status == crate::world::NodeStatus::Online
                && ctx.input.fleet.nodes.get(node).is_none_or(|spec| {
                    (ctx.input.now - n.last_seen)
                        .to_std()
                        .is_ok_and(|age| age <= spec.settings.node_offline_after)
                })
        });
    node_ok
        && world
            .services
            .get(&(node.to_string(), service.to_string()))
            .and_then(crate::world::Obs::valid)
            .is_some_and(|r| r.status == crate::world::ServiceStatus::Ok)
}
