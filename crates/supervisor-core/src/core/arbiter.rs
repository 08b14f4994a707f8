//! The arbiter: when proposals for one service disagree, the policy with the
//! lower priority number wins and the conflict is recorded; equal actions
//! merge under the higher-priority policy.
use std::collections::{BTreeMap, BTreeSet};

use super::types::{Action, Conflict, Policy, Proposal, Verdict};

/// Resolves one service's (or the node's) proposals. Returns every proposal
/// with its verdict, in priority order, and the conflicts.
pub fn arbitrate(mut proposals: Vec<Proposal>) -> (Vec<(Proposal, Verdict)>, Vec<Conflict>) {
    // Stable: within a policy, proposals keep the order they were made in.
    proposals.sort_by_key(|p| p.policy.rank());
    let mut judged: Vec<(Proposal, Verdict)> = Vec::with_capacity(proposals.len());
    let mut conflicts = vec![];
    // What was accepted so far, by action: the first accepted proposal of
    // each action (the winner of a conflict is the earliest accepted one)
    // and the policies that proposed it. Linear in the proposals: a node
    // with thousands of open incidents is judged in one pass.
    let mut first: BTreeMap<Action, usize> = BTreeMap::new();
    let mut policies: BTreeMap<Action, BTreeSet<Policy>> = BTreeMap::new();
    for p in proposals {
        let winner = first
            .iter()
            .filter(|(a, _)| a.conflicts_with(p.action))
            .map(|(_, &i)| i)
            .min();
        let verdict = if let Some(w) = winner {
            let winner = &judged[w].0;
            conflicts.push(Conflict {
                service: p.service.clone(),
                winner: (winner.policy, winner.action),
                loser: (p.policy, p.action),
            });
            Verdict::Overruled
        } else if policies
            .get(&p.action)
            .is_some_and(|s| s.iter().any(|q| *q != p.policy))
        {
            Verdict::Merged
        } else {
            first.entry(p.action).or_insert(judged.len());
            policies.entry(p.action).or_default().insert(p.policy);
            Verdict::Accepted
        };
        judged.push((p, verdict));
    }
    (judged, conflicts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::types::{Action, Policy, Severity, Urgency};

    fn p(policy: Policy, action: Action) -> Proposal {
        Proposal {
            service: Some("m".into()),
            policy,
            action,
            urgency: Urgency::Recommended,
            condition: crate::core::Condition::Idle,
            reason: String::new(),
            severity: Severity::Degraded,
        }
    }

    #[test]
    fn lower_priority_number_wins_whatever_the_order() {
        let (judged, conflicts) = arbitrate(vec![
            p(Policy::IdleEviction, Action::Evict),
            p(Policy::Pinned, Action::Keep),
        ]);
        assert_eq!(judged[0].1, Verdict::Accepted);
        assert_eq!(judged[0].0.action, Action::Keep);
        assert_eq!(judged[1].1, Verdict::Overruled);
        assert_eq!(conflicts[0].winner, (Policy::Pinned, Action::Keep));
        assert_eq!(conflicts[0].loser, (Policy::IdleEviction, Action::Evict));
    }

    #[test]
    fn equal_actions_merge_under_the_higher_priority_policy() {
        let (judged, conflicts) = arbitrate(vec![
            p(Policy::Pinned, Action::Restart),
            p(Policy::Availability, Action::Restart),
        ]);
        assert_eq!(judged[0].0.policy, Policy::Availability);
        assert_eq!(judged[1].1, Verdict::Merged);
        assert!(conflicts.is_empty());
    }

    #[test]
    fn unrelated_actions_both_stand() {
        let (judged, _) = arbitrate(vec![
            p(Policy::Availability, Action::Restart),
            p(Policy::Availability, Action::Redeploy),
        ]);
        assert!(judged.iter().all(|(_, v)| *v == Verdict::Accepted));
    }
}
