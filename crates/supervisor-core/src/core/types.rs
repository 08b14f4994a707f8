//! The vocabulary of decisions: policies, actions, severities, proposals,
//! conflicts and the plan that the decision core hands to the executor.
use serde::{Deserialize, Serialize};

use crate::checkpoint::Health;

/// The five policies, in priority order (lower number wins), and the
/// operator's one-off request (`restart`/`stop`/`start`), which outranks
/// them all (the arbiter's [`Policy::rank`]); the guardrails still apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Policy {
    Safety,
    Availability,
    Pinned,
    IdleEviction,
    ResourceOptimization,
    Operator,
}

impl Policy {
    pub const ALL: [Policy; 5] = [
        Policy::Safety,
        Policy::Availability,
        Policy::Pinned,
        Policy::IdleEviction,
        Policy::ResourceOptimization,
    ];

    /// The policy's number in the documented order (`Operator` is not one
    /// of the five; see [`Policy::rank`]).
    pub fn priority(self) -> u8 {
        self as u8
    }

    /// The arbiter's order: the operator's explicit request first, then the
    /// five policies by priority.
    pub fn rank(self) -> u8 {
        match self {
            Policy::Operator => 0,
            p => p.priority() + 1,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Policy::Safety => "safety",
            Policy::Availability => "availability",
            Policy::Pinned => "pinned",
            Policy::IdleEviction => "idle_eviction",
            Policy::ResourceOptimization => "resource_optimization",
            Policy::Operator => "operator",
        }
    }
}

/// Why a policy speaks: the `condition` of `drift_detected`, `reconcile_*`
/// and `decision` proposals (docs/reference/events.md, "Conditions").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    UnhealthyService,
    MissingService,
    OfflineNode,
    MemoryPressure,
    GpuPressure,
    Idle,
    FailedDeployment,
    UnresolvedIncident,
    RestartExhausted,
    DependencyUnavailable,
    ReloadOnDemand,
    DemandRising,
    PrimaryRecovered,
    Pinned,
    OperatorRequest,
}

impl Condition {
    pub fn as_str(self) -> &'static str {
        match self {
            Condition::UnhealthyService => "unhealthy_service",
            Condition::MissingService => "missing_service",
            Condition::OfflineNode => "offline_node",
            Condition::MemoryPressure => "memory_pressure",
            Condition::GpuPressure => "gpu_pressure",
            Condition::Idle => "idle",
            Condition::FailedDeployment => "failed_deployment",
            Condition::UnresolvedIncident => "unresolved_incident",
            Condition::RestartExhausted => "restart_exhausted",
            Condition::DependencyUnavailable => "dependency_unavailable",
            Condition::ReloadOnDemand => "reload_on_demand",
            Condition::DemandRising => "demand_rising",
            Condition::PrimaryRecovered => "primary_recovered",
            Condition::Pinned => "pinned",
            Condition::OperatorRequest => "operator_request",
        }
    }
}

impl std::fmt::Display for Condition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Restart,
    Evict,
    Preload,
    ActivateFallback,
    DeactivateFallback,
    Keep,
    Defer,
    Redeploy,
    Diagnostics,
    FailoverReview,
    ReviewIncident,
    DelayedDeployment,
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Restart => "restart",
            Action::Evict => "evict",
            Action::Preload => "preload",
            Action::ActivateFallback => "activate_fallback",
            Action::DeactivateFallback => "deactivate_fallback",
            Action::Keep => "keep",
            Action::Defer => "defer",
            Action::Redeploy => "redeploy",
            Action::Diagnostics => "diagnostics",
            Action::FailoverReview => "failover_review",
            Action::ReviewIncident => "review_incident",
            Action::DelayedDeployment => "delayed_deployment",
        }
    }

    /// Actions the executor carries out (docs/reference/behaviour.md, "Drift and policies"); the rest are advice.
    pub fn is_executable(self) -> bool {
        matches!(
            self,
            Action::Restart
                | Action::Evict
                | Action::Preload
                | Action::ActivateFallback
                | Action::DeactivateFallback
        )
    }

    /// Advice for a person: neither carried out by the executor nor the
    /// tool holding back (`keep`, `defer`).
    pub fn needs_a_person(self) -> bool {
        !self.is_executable() && !matches!(self, Action::Keep | Action::Defer)
    }

    /// The action named `s` (as `as_str` writes it; serde's names are the
    /// same, checked by a test).
    pub fn parse(s: &str) -> Option<Action> {
        serde_json::from_value(serde_json::Value::from(s)).ok()
    }

    /// Whether two proposals for one service disagree (docs/reference/behaviour.md, "Drift and policies", "Conflicts").
    pub fn conflicts_with(self, other: Action) -> bool {
        use Action::{Defer, DelayedDeployment, Evict, Keep, Preload, Restart};
        let pair = |a, b| (self == a && other == b) || (self == b && other == a);
        pair(Keep, Evict)
            || pair(Defer, Restart)
            || pair(Defer, Preload)
            || pair(Evict, Restart)
            || pair(Evict, Preload)
            || pair(DelayedDeployment, Restart)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Nominal,
    Degraded,
    Unstable,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Nominal => "nominal",
            Severity::Degraded => "degraded",
            Severity::Unstable => "unstable",
        }
    }
}

/// Which `reconcile_*` event a winning proposal becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Urgency {
    Required,
    Recommended,
    Blocked,
}

impl Urgency {
    /// The `reconcile_*` event body of a proposal of this urgency.
    pub fn body(self, r: crate::events::Reconcile) -> crate::events::Body {
        use crate::events::Body;
        match self {
            Urgency::Required => Body::ReconcileRequired(r),
            Urgency::Recommended => Body::ReconcileRecommended(r),
            Urgency::Blocked => Body::ReconcileBlocked(r),
        }
    }
}

/// A detected difference between desired and actual state.
#[derive(Debug, Clone, PartialEq)]
pub struct Drift {
    pub condition: Condition,
    pub detail: String,
}

/// One policy's proposal for one service (or for the node: `service: None`).
#[derive(Debug, Clone, PartialEq)]
pub struct Proposal {
    pub service: Option<String>,
    pub policy: Policy,
    pub action: Action,
    pub urgency: Urgency,
    pub condition: Condition,
    pub reason: String,
    pub severity: Severity,
}

/// What became of a proposal after arbitration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Accepted,
    /// Same action as an accepted proposal of a higher-priority policy.
    Merged,
    /// Lost a conflict.
    Overruled,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Conflict {
    pub service: Option<String>,
    pub winner: (Policy, Action),
    pub loser: (Policy, Action),
}

/// Why an executable action will not run (or that it may).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disposition {
    /// Cleared by every guardrail: the executor runs it (unless dry-run).
    Execute,
    /// Another node's action: a recommendation only.
    Remote,
    Skip(&'static str),
}

#[derive(Debug, Clone, PartialEq)]
pub struct PlannedAction {
    pub node: String,
    pub service: String,
    pub action: Action,
    pub disposition: Disposition,
    /// The policy whose proposal this is.
    pub policy: Policy,
    /// An operator's `--force` let it past a hold or a backoff.
    pub forced: bool,
}

/// What an operator asks of one service (`supervisorctl restart|stop|start`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperatorAction {
    Restart,
    Stop,
    Start,
}

impl OperatorAction {
    pub fn as_str(self) -> &'static str {
        match self {
            OperatorAction::Restart => "restart",
            OperatorAction::Stop => "stop",
            OperatorAction::Start => "start",
        }
    }

    /// The executor's action: `stop` evicts, the others (re)start.
    pub fn action(self) -> Action {
        match self {
            OperatorAction::Stop => Action::Evict,
            OperatorAction::Restart | OperatorAction::Start => Action::Restart,
        }
    }
}

/// A one-off operator action injected into a reconcile pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorRequest {
    pub node: String,
    pub service: String,
    pub action: OperatorAction,
    /// Past a hold or a backoff (never maintenance or the other guardrails).
    pub force: bool,
}

/// Everything decided for one service in one run, in event order.
#[derive(Debug, Clone, Default)]
pub struct ServicePlan {
    pub name: String,
    pub health_change: Option<(Health, Health, u32)>,
    /// Why the service is not healthy, when a probe or the observer said.
    pub reason: Option<String>,
    /// The verdict on the last start or eviction, when this run reached one.
    pub verified: Option<super::verify::Verified>,
    /// The open circuit half-opens this run: one trial start (docs/reference/behaviour.md, "Restarts: backoff and the circuit breaker").
    pub half_open: Option<String>,
    /// Adaptive tuning's steps this run (`tuning_changed`).
    pub tuning: Vec<super::tuning::Change>,
    pub drifts: Vec<Drift>,
    pub conflicts: Vec<Conflict>,
    /// Winning proposals that become `reconcile_*` events.
    pub emitted: Vec<Proposal>,
    /// Executable winners with their guardrail disposition.
    pub actions: Vec<PlannedAction>,
}

#[derive(Debug, Clone, Default)]
pub struct NodePlan {
    pub name: String,
    pub online: bool,
    pub drifts: Vec<Drift>,
    pub emitted: Vec<Proposal>,
    pub services: Vec<ServicePlan>,
    /// GPU processes no declared service claims (`orphan_detected`).
    pub orphans: Vec<super::orphans::Orphan>,
    /// Orphans safety evicts under GPU pressure (`evict_orphans: true`),
    /// with their guardrail disposition; executed before the services' actions.
    pub orphan_evictions: Vec<super::orphans::Eviction>,
    /// `failure_predicted` events, reported before the node's `decision`.
    pub predictions: Vec<crate::events::Event>,
    /// Every proposal with its verdict, for the decision record.
    pub proposals: Vec<(Proposal, Verdict)>,
    pub snapshot: crate::events::Snapshot,
}

#[cfg(test)]
mod action_tests {
    use super::{Action, Condition};

    #[test]
    fn a_condition_is_written_by_its_name() {
        let all = [
            Condition::UnhealthyService,
            Condition::MissingService,
            Condition::OfflineNode,
            Condition::MemoryPressure,
            Condition::GpuPressure,
            Condition::Idle,
            Condition::FailedDeployment,
            Condition::UnresolvedIncident,
            Condition::RestartExhausted,
            Condition::DependencyUnavailable,
            Condition::ReloadOnDemand,
            Condition::DemandRising,
            Condition::PrimaryRecovered,
            Condition::Pinned,
            Condition::OperatorRequest,
        ];
        for c in all {
            let json = serde_json::to_value(c).unwrap();
            assert_eq!(json, c.as_str(), "{c:?}");
            assert_eq!(serde_json::from_value::<Condition>(json).unwrap(), c);
        }
    }

    #[test]
    fn advice_for_a_person_is_what_neither_executes_nor_holds_back() {
        let names = [
            "restart",
            "evict",
            "preload",
            "activate_fallback",
            "deactivate_fallback",
            "keep",
            "defer",
            "redeploy",
            "diagnostics",
            "failover_review",
            "review_incident",
            "delayed_deployment",
        ];
        let advice: Vec<&str> = names
            .into_iter()
            .filter(|n| {
                let a = Action::parse(n).expect(n);
                assert_eq!(a.as_str(), *n);
                a.needs_a_person()
            })
            .collect();
        assert_eq!(
            advice,
            [
                "redeploy",
                "diagnostics",
                "failover_review",
                "review_incident",
                "delayed_deployment"
            ]
        );
        assert_eq!(Action::parse("reboot"), None);
    }
}
