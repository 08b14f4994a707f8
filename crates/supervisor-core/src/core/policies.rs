//! Priorities 2–4: pinned (keep pinned services, restart a dead one),
//! idle eviction (unload models nobody used for a while) and resource
//! optimization (preload evicted models whose demand is rising).
use super::availability::{restart_due, ts};
use super::thrash;
use super::types::Condition;
use super::types::{Action, Policy, Proposal, Severity, Urgency};
use super::view::View;
use super::{Findings, NodeCtx};
use crate::checkpoint::Health;

pub fn pinned(ctx: &NodeCtx, view: &View, out: &mut Findings) {
    // A pin keeps it running, an operator's stop wins until `start`.
    if !view.pinned || view.stopped_by_operator() {
        return;
    }
    let name = view.name().to_string();
    out.push(Proposal {
        service: Some(name.clone()),
        policy: Policy::Pinned,
        action: Action::Keep,
        urgency: Urgency::Recommended,
        condition: Condition::Pinned,
        reason: "pinned: keep it running".into(),
        severity: Severity::Nominal,
    });
    // A pinned model is loaded again even without new activity (docs/reference/behaviour.md, "Health").
    let due = restart_due(view).or_else(|| {
        (view.health() == Health::Evicted).then(|| {
            (
                Condition::ReloadOnDemand,
                "pinned model was evicted".to_string(),
            )
        })
    });
    if let Some((condition, detail)) = due {
        // An open circuit stops the pinned restart too.
        if !super::breaker::is_open(&ctx.node.settings, &view.state) {
            out.push(Proposal {
                service: Some(name),
                policy: Policy::Pinned,
                action: Action::Restart,
                urgency: Urgency::Required,
                condition,
                reason: format!("pinned service must run: {detail}"),
                severity: Severity::Degraded,
            });
        }
    }
}

pub fn idle(ctx: &NodeCtx, view: &View, out: &mut Findings) {
    if !ctx.node.settings.idle_eviction || !view.spec.is_model() || !view.health().is_running() {
        return;
    }
    let Some(activity) = view.activity() else {
        return;
    };
    if view.in_flight() > 0 {
        return;
    }
    // The thrash rule's multiplier stretches it (docs/reference/behaviour.md, "Thrash").
    let timeout = thrash::effective(view.spec.idle_timeout, &view.state);
    let idle_for = ctx.input.now - activity;
    let Ok(limit) = chrono::Duration::from_std(timeout) else {
        return;
    };
    if idle_for <= limit {
        return;
    }
    let times = match thrash::multiplier(&view.state) {
        1 => String::new(),
        m => format!(", {m}× after thrash"),
    };
    let detail = format!(
        "no activity since {} ({}s idle > idle_timeout {}s{times})",
        ts(activity),
        idle_for.num_seconds(),
        timeout.as_secs()
    );
    out.drift(view.name(), Condition::Idle, detail.clone());
    out.push(Proposal {
        service: Some(view.name().to_string()),
        policy: Policy::IdleEviction,
        action: Action::Evict,
        urgency: Urgency::Recommended,
        condition: Condition::Idle,
        reason: detail,
        severity: Severity::Degraded,
    });
}

pub fn optimization(ctx: &NodeCtx, view: &View, out: &mut Findings) {
    let evicted = view.health() == Health::Evicted && !view.stopped_by_operator();
    if !ctx.node.settings.resource_optimization || !evicted {
        return;
    }
    let Some(demand) = &view.state.demand else {
        return;
    };
    if demand.rate <= demand.prev_rate || demand.rate <= 0.0 {
        return;
    }
    // Room is checked by safety's `defer`, which beats a preload that does not fit.
    out.push(Proposal {
        service: Some(view.name().to_string()),
        policy: Policy::ResourceOptimization,
        action: Action::Preload,
        urgency: Urgency::Recommended,
        condition: Condition::DemandRising,
        reason: format!(
            "forecast demand rising: {:.3} req/s (was {:.3})",
            demand.rate, demand.prev_rate
        ),
        severity: Severity::Nominal,
    });
}
