//! Decides one node: is it online, what each service's health is, what the
//! policies propose, what the arbiter keeps, and what the guardrails let
//! through.
use super::types::Condition;
use crate::events::{GpuRatio, Seen, Snapshot};

use super::availability::{self, ts};
use super::gpu::GpuReading;
use super::guardrails::{backoff_until, in_maintenance};
use super::safety::{self, Resources};
use super::types::{
    Action, Conflict, Disposition, Drift, NodePlan, PlannedAction, Policy, Proposal, ServicePlan,
    Severity, Urgency, Verdict,
};
use super::view::View;
use super::{arbiter, operator, orphans, policies, Findings, Input, Mode, NodeCtx};
use std::collections::BTreeMap;

use crate::checkpoint::{key, Checkpoint, Fallback, Health, ServiceState};
use crate::desired::NodeSpec;
use crate::num::as_f64;
use crate::world::{Incident, NodeStatus, Obs};

/// Whether the node can be judged; if not, why it counts as offline.
fn offline_reason(input: &Input, node: &NodeSpec) -> Option<String> {
    if input.live.contains_key(&node.name) {
        return None; // live probes of the local node: it is up, we run on it
    }
    match input.world.nodes.get(&node.name) {
        None => Some("no node record in the world".into()),
        Some(Obs::Invalid) => None, // an observation_invalid, not an offline node
        Some(Obs::Valid(rec)) => {
            if rec.status == NodeStatus::Offline {
                return Some(format!(
                    "node record says offline (last seen {})",
                    ts(rec.last_seen)
                ));
            }
            let limit = chrono::Duration::from_std(node.settings.node_offline_after).ok()?;
            let age = input.now - rec.last_seen;
            (age > limit).then(|| {
                format!(
                    "last seen {} ({}s ago > node_offline_after {}s)",
                    ts(rec.last_seen),
                    age.num_seconds(),
                    limit.num_seconds()
                )
            })
        }
    }
}

fn resources(input: &Input, node: &NodeSpec) -> Resources {
    if let Some(live) = input.live.get(&node.name) {
        if live.memory.is_some() || !live.gpus.is_empty() {
            return Resources {
                memory: live.memory,
                gpus: live.gpus.clone(),
            };
        }
    }
    match input.world.resources.get(&node.name).and_then(Obs::valid) {
        Some(r) => Resources {
            memory: r.memory.map(|m| (m.total_bytes, m.used_bytes)),
            gpus: r.gpus.iter().map(GpuReading::from).collect(),
        },
        None => Resources::default(),
    }
}

pub fn decide_node(
    input: &Input,
    fallbacks: &BTreeMap<String, Fallback>,
    node: &NodeSpec,
    incidents: Vec<&Incident>,
    checkpoint: &mut Checkpoint,
    states: &mut Vec<(String, Box<ServiceState>)>,
) -> NodePlan {
    if let Some(reason) = offline_reason(input, node) {
        let p = Proposal {
            service: None,
            policy: Policy::Availability,
            action: Action::FailoverReview,
            urgency: Urgency::Required,
            condition: Condition::OfflineNode,
            reason: reason.clone(),
            severity: Severity::Unstable,
        };
        return NodePlan {
            name: node.name.clone(),
            online: false,
            drifts: vec![Drift {
                condition: Condition::OfflineNode,
                detail: reason,
            }],
            emitted: vec![p.clone()],
            services: vec![],
            orphans: vec![],
            orphan_evictions: vec![],
            predictions: vec![],
            proposals: vec![(p, Verdict::Accepted)],
            snapshot: Snapshot {
                online: false,
                services: node.services.len() as u64,
                seen: None,
            },
        };
    }
    let views: Vec<View> = node
        .services
        .values()
        .map(|s| {
            let key = key(&node.name, &s.name);
            let prev = checkpoint.services.remove(&key).unwrap_or_default();
            View::build(input, node, s, key, &prev)
        })
        .collect();
    let mut ctx = NodeCtx {
        input,
        node,
        fallbacks,
        views,
        resources: resources(input, node),
        incidents,
    };

    let mut f = Findings::default();
    for inc in ctx.incidents_for(None) {
        availability::incident(&mut f, None, inc);
    }
    let gpu_processes = input.live.get(&node.name).map(|l| &l.gpu_processes[..]);
    let found = orphans::find(
        gpu_processes.unwrap_or_default(),
        &orphans::claimed(&ctx.views),
    );
    let uid = input.live.get(&node.name).and_then(|l| l.user_uid);
    let evictable: Vec<_> = found
        .iter()
        .filter(|o| node.settings.evict_orphans && orphans::evictable(o, uid))
        .collect();
    let mut projection = safety::pressure(&ctx, &evictable, &mut f);
    for v in &ctx.views {
        availability::evaluate(&ctx, v, &mut f);
        policies::pinned(&ctx, v, &mut f);
        policies::idle(&ctx, v, &mut f);
        policies::optimization(&ctx, v, &mut f);
    }
    safety::defer(&ctx, &mut projection, &mut f);
    if let Some(req) = input.operator.filter(|r| r.node == node.name) {
        f.push(operator::proposal(req));
    }

    let mut plan = NodePlan {
        name: node.name.clone(),
        online: true,
        orphans: found,
        ..Default::default()
    };
    let (node_props, mut service_props): (Vec<_>, Vec<_>) =
        f.proposals.into_iter().partition(|p| p.service.is_none());
    let half_open = f.half_open;
    let mut drifts = f.drifts;
    plan.drifts = drifts
        .iter()
        .filter(|(s, _)| s.is_none())
        .map(|(_, d)| d.clone())
        .collect();
    drifts.retain(|(s, _)| s.is_some());
    let (judged, _) = arbiter::arbitrate(node_props);
    plan.emitted = emitted(&judged);
    plan.proposals.extend(judged);

    let maintenance = in_maintenance(&node.settings.maintenance, input.now);
    let mut budget = Budget {
        used: 0,
        max: node.settings.max_actions_per_run,
    };
    // Orphans first: safety's first choice, and waste.
    let remote = matches!(input.mode, Mode::Reconcile { .. })
        && input.local_node != Some(node.name.as_str());
    for o in std::mem::take(&mut projection.orphans) {
        let (used, max) = (&mut budget.used, budget.max);
        let disposition = if operator::pass_on(input.operator, &node.name) {
            Disposition::Skip("operator_pass")
        } else {
            orphans::guard(remote, maintenance, used, max, input.mode)
        };
        plan.orphan_evictions.push(orphans::Eviction {
            orphan: o,
            disposition,
        });
    }
    // What an operator's request that needed nothing leaves in a state.
    let mut needless = vec![];
    for (i, v) in ctx.views.iter().enumerate() {
        let mine: Vec<Proposal> = extract(&mut service_props, v.name());
        let (judged, conflicts) = arbiter::arbitrate(mine);
        let mut sp = service_plan(v, &half_open, &drifts, conflicts, &judged);
        for (p, _) in judged
            .iter()
            .filter(|(p, verdict)| *verdict == Verdict::Accepted && p.action.is_executable())
        {
            let a = plan_action(input, node, v, p, maintenance, &mut budget);
            if let (Disposition::Skip(why), Policy::Operator) = (&a.disposition, a.policy) {
                needless.push((i, *why));
            }
            sp.actions.push(a);
        }
        plan.proposals.extend(judged);
        plan.services.push(sp);
    }
    plan.snapshot = snapshot(&ctx, maintenance);
    plan.predictions = super::predict::node(&mut ctx, &mut checkpoint.gpus);
    for (i, why) in needless {
        operator::settle_needless(&mut ctx.views[i].state, why, input.now);
    }
    states.extend(ctx.views.into_iter().map(|v| (v.key, Box::new(v.state))));
    plan
}

fn extract(props: &mut Vec<Proposal>, service: &str) -> Vec<Proposal> {
    let (mine, rest): (Vec<_>, Vec<_>) = std::mem::take(props)
        .into_iter()
        .partition(|p| p.service.as_deref() == Some(service));
    *props = rest;
    mine
}

fn emitted(judged: &[(Proposal, Verdict)]) -> Vec<Proposal> {
    judged
        .iter()
        .filter(|(p, v)| *v == Verdict::Accepted && p.action != Action::Keep)
        .map(|(p, _)| p.clone())
        .collect()
}

/// What the run says of one service besides its actions.
fn service_plan(
    v: &View,
    half_open: &[(String, String)],
    drifts: &[(Option<String>, Drift)],
    conflicts: Vec<Conflict>,
    judged: &[(Proposal, Verdict)],
) -> ServicePlan {
    let name = v.name();
    ServicePlan {
        name: name.to_string(),
        health_change: (v.before != v.state.health).then_some((
            v.before,
            v.state.health,
            v.state.failures,
        )),
        verified: v.verified.clone(),
        tuning: v.tuning.clone(),
        half_open: half_open
            .iter()
            .find(|(s, _)| s == name)
            .map(|(_, d)| d.clone()),
        reason: (v.state.health != Health::Healthy)
            .then(|| v.state.last_error.clone())
            .flatten(),
        drifts: drifts
            .iter()
            .filter(|(s, _)| s.as_deref() == Some(name))
            .map(|(_, d)| d.clone())
            .collect(),
        conflicts,
        emitted: emitted(judged),
        actions: vec![],
    }
}

/// One accepted executable proposal with its disposition: the operator's
/// request (which may need nothing, or pass a backoff or an open circuit
/// with `--force`), another action in an operator's pass (it waits for
/// the next run), or a policy's through the guardrails.
fn plan_action(
    input: &Input,
    node: &NodeSpec,
    v: &View,
    p: &Proposal,
    maintenance: bool,
    budget: &mut Budget,
) -> PlannedAction {
    let request = input
        .operator
        .filter(|r| p.policy == Policy::Operator && r.node == node.name);
    let force = request.is_some_and(|r| r.force);
    let disposition = if let Some(why) = request.and_then(|r| operator::needless(r, v)) {
        Disposition::Skip(why)
    } else if operator::out_of_scope(input.operator, &node.name, p.policy) {
        Disposition::Skip("operator_pass")
    } else {
        guard(input, node, v, p.action, maintenance, force, budget)
    };
    // Recorded only when `--force` is what let it through.
    let forced = force
        && disposition == Disposition::Execute
        && p.action == Action::Restart
        && (backoff(input, node, v) || circuit_open(input, node, v));
    PlannedAction {
        node: node.name.clone(),
        service: v.name().to_string(),
        action: p.action,
        disposition,
        policy: p.policy,
        forced,
    }
}

fn backoff(input: &Input, node: &NodeSpec, v: &View) -> bool {
    backoff_until(&node.settings, v.name(), &v.state).is_some_and(|until| input.now < until)
}

fn circuit_open(input: &Input, node: &NodeSpec, v: &View) -> bool {
    super::breaker::blocks_restart(&node.settings, &v.state, input.now)
}

struct Budget {
    used: u32,
    max: u32,
}

/// The guardrails, first that applies: another node's action, maintenance,
/// hold, backoff, an open restart circuit, an ambiguous process, no command
/// to run, no confirmed process to stop, the per-run budget, dry-run.
/// `force` (an operator's `--force`) passes a backoff and an open circuit,
/// never a hold (docs/reference/behaviour.md, "Operator commands").
#[allow(clippy::too_many_arguments)]
fn guard(
    input: &Input,
    node: &NodeSpec,
    v: &View,
    action: Action,
    maintenance: bool,
    force: bool,
    budget: &mut Budget,
) -> Disposition {
    if let Mode::Reconcile { .. } = input.mode {
        if input.local_node != Some(node.name.as_str()) {
            return Disposition::Remote;
        }
    }
    if maintenance {
        return Disposition::Skip("maintenance");
    }
    if v.held {
        return Disposition::Skip("held");
    }
    // An open circuit is said before a backoff that runs with it: it is
    // the reason that lasts (a person's `reset`, or the half-open trial).
    if action == Action::Restart && !force && circuit_open(input, node, v) {
        return Disposition::Skip("circuit_open");
    }
    if action == Action::Restart && !force && backoff(input, node, v) {
        return Disposition::Skip("backoff");
    }
    // Which process is the service is unknown: starting another copy or
    // stopping a guess are both wrong.
    if matches!(action, Action::Restart | Action::Preload | Action::Evict)
        && v.live.is_some_and(|l| l.ambiguous)
    {
        return Disposition::Skip("ambiguous");
    }
    if matches!(action, Action::Restart | Action::Preload) && v.spec.start.is_none() {
        return Disposition::Skip("no_command");
    }
    // An eviction signals the process this run's probe confirmed; with
    // none (gone, stale pidfile, ambiguous match) and no `stop` command
    // there is nothing it may do.
    if action == Action::Evict
        && v.spec.stop.is_none()
        && input.live.contains_key(&node.name)
        && v.live.is_none_or(|l| l.identity.is_none())
    {
        return Disposition::Skip("no_process");
    }
    if budget.used >= budget.max {
        return Disposition::Skip("max_actions");
    }
    budget.used += 1;
    match input.mode {
        Mode::Reconcile { dry_run: true } => Disposition::Skip("dry_run"),
        _ => Disposition::Execute,
    }
}

fn snapshot(ctx: &NodeCtx, maintenance: bool) -> Snapshot {
    let mut health = std::collections::BTreeMap::new();
    for v in &ctx.views {
        *health.entry(v.health().as_str().to_string()).or_insert(0) += 1;
    }
    let count = |f: &dyn Fn(&&View) -> bool| ctx.views.iter().filter(f).count() as u64;
    let memory = ctx
        .resources
        .memory
        .filter(|m| m.0 > 0)
        .map(|(t, u)| as_f64(u) / as_f64(t));
    let gpus: Vec<_> = ctx
        .resources
        .gpus
        .iter()
        .filter_map(|g| {
            Some(GpuRatio {
                index: g.index,
                used_ratio: g.used_ratio()?,
            })
        })
        .collect();
    Snapshot {
        online: true,
        services: ctx.views.len() as u64,
        seen: Some(Seen {
            evicted: count(&|v| v.health() == Health::Evicted),
            gpus,
            health,
            held: count(&|v| v.held),
            maintenance,
            memory_used_ratio: memory,
            pinned: count(&|v| v.pinned),
            probed: ctx.input.live.contains_key(&ctx.node.name),
        }),
    }
}
