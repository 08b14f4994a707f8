//! Putting outcomes into the [`World`]: valid records into their maps,
//! unusable files and folders into `invalid` (with `Obs::Invalid` where a
//! record was expected), and the final scoping and sorting.
use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use super::run::{Content, Job, Slot};
use super::{Plan, Scope};
use crate::desired::Fleet;
use crate::world::{Incident, IncidentStatus, InvalidObservation, Obs, World};

/// The most incidents of one node a run considers (documented in
/// docs/reference/world.md): whoever writes the world cannot make a run
/// slow or its record huge with more.
pub const MAX_INCIDENTS_PER_NODE: usize = 1000;

impl Plan {
    /// An unusable folder: one invalid observation, and every declared
    /// record it would hold is `Obs::Invalid`.
    pub(super) fn folder_invalid(
        &mut self,
        path: String,
        error: String,
        fleet: &Fleet,
        scope: Scope<'_>,
    ) {
        let w = &mut self.world;
        let node = match scope {
            Scope::Services(n) | Scope::Deployments(n) => n.map(str::to_string),
            _ => None,
        };
        w.invalid.push(InvalidObservation {
            path,
            error,
            node,
            service: None,
        });
        let all = matches!(scope, Scope::All);
        for (name, spec) in &fleet.nodes {
            if all || matches!(scope, Scope::Nodes) {
                w.nodes.insert(name.clone(), Obs::Invalid);
            }
            if all || matches!(scope, Scope::Resources) {
                w.resources.insert(name.clone(), Obs::Invalid);
            }
            for service in spec.services.keys() {
                let key = || (name.clone(), service.clone());
                match scope {
                    Scope::Services(n) if n.is_none_or(|n| n == name) => {
                        w.services.insert(key(), Obs::Invalid);
                    }
                    Scope::Deployments(n) if n.is_none_or(|n| n == name) => {
                        w.deployments.insert(key(), Obs::Invalid);
                    }
                    Scope::All => {
                        w.services.insert(key(), Obs::Invalid);
                        w.deployments.insert(key(), Obs::Invalid);
                    }
                    _ => {}
                }
            }
        }
    }

    pub(super) fn valid(
        &mut self,
        job: &Job,
        content: Content,
        incidents: &mut Vec<(String, Incident)>,
    ) {
        let w = &mut self.world;
        match (&job.slot, content) {
            (Slot::Node(n), Content::Node(r)) => {
                w.nodes.insert(n.clone(), Obs::Valid(r));
            }
            (Slot::Resource(n), Content::Resource(r)) => {
                w.resources.insert(n.clone(), Obs::Valid(r));
            }
            (Slot::Service(k), Content::Service(r)) => {
                w.services.insert(k.clone(), Obs::Valid(r));
            }
            (Slot::Deployment(k), Content::Deployment(r)) => {
                w.deployments.insert(k.clone(), Obs::Valid(r));
            }
            (Slot::Incident, Content::Incident(i)) => incidents.push((job.rel.clone(), i)),
            _ => {}
        }
    }

    pub(super) fn file_invalid(&mut self, job: &Job, error: String) {
        let w = &mut self.world;
        let (node, service) = match &job.slot {
            Slot::Node(n) => {
                w.nodes.insert(n.clone(), Obs::Invalid);
                (Some(n.clone()), None)
            }
            Slot::Resource(n) => {
                w.resources.insert(n.clone(), Obs::Invalid);
                (Some(n.clone()), None)
            }
            Slot::Service(k) => {
                w.services.insert(k.clone(), Obs::Invalid);
                (Some(k.0.clone()), Some(k.1.clone()))
            }
            Slot::Deployment(k) => {
                w.deployments.insert(k.clone(), Obs::Invalid);
                (Some(k.0.clone()), Some(k.1.clone()))
            }
            Slot::Incident => (None, None),
        };
        let path = job.rel.clone();
        w.invalid.push(InvalidObservation {
            path,
            error,
            node,
            service,
        });
    }

    /// At most [`MAX_INCIDENTS_PER_NODE`] incidents a node, open ones first
    /// (each group in id order); what is left out is reported once per
    /// node, with its count, as an invalid observation of `incidents/`.
    fn cap_incidents(&mut self, kept: Vec<(String, Incident)>) -> Vec<(String, Incident)> {
        let mut per_node: BTreeMap<String, Vec<(String, Incident)>> = BTreeMap::new();
        for (rel, inc) in kept {
            per_node
                .entry(inc.node.clone())
                .or_default()
                .push((rel, inc));
        }
        let mut out = Vec::new();
        for (node, mut list) in per_node {
            if list.len() > MAX_INCIDENTS_PER_NODE {
                // Stable: open first, the id order kept within each group.
                list.sort_by_key(|(_, i)| i.status != IncidentStatus::Open);
                let left = list.len() - MAX_INCIDENTS_PER_NODE;
                list.truncate(MAX_INCIDENTS_PER_NODE);
                self.world.invalid.push(InvalidObservation {
                    path: "incidents".into(),
                    error: format!(
                        "node `{node}` has {left} more incidents than the {MAX_INCIDENTS_PER_NODE} read (open ones first, in id order); the rest are left out: close or archive resolved incidents"
                    ),
                    node: Some(node),
                    service: None,
                });
            }
            out.extend(list);
        }
        out.sort_by(|(pa, a), (pb, b)| a.id.cmp(&b.id).then_with(|| pa.cmp(pb)));
        out
    }

    /// Scopes and sorts incidents, sorts `invalid`, seals the fingerprint.
    pub(super) fn finish(
        mut self,
        incidents: Vec<(String, Incident)>,
        fleet: &Fleet,
        hasher: Sha256,
    ) -> World {
        let mut kept: Vec<_> = incidents
            .into_iter()
            .filter(|(_, i)| match fleet.nodes.get(&i.node) {
                Some(spec) => i
                    .service
                    .as_ref()
                    .is_none_or(|s| spec.services.contains_key(s)),
                None => false,
            })
            .collect();
        kept.sort_by(|(pa, a), (pb, b)| a.id.cmp(&b.id).then_with(|| pa.cmp(pb)));
        let kept = self.cap_incidents(kept);
        self.world.incidents = kept.into_iter().map(|(_, i)| i).collect();
        self.world.invalid.sort_by(|a, b| a.path.cmp(&b.path));
        self.world.fingerprint = hasher.finalize().into();
        self.world
    }
}
