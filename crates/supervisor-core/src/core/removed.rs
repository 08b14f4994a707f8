//! Services removed from hosts/ (docs/reference/behaviour.md, "Services removed from hosts/"): a process this tool spawned for
//! a service that is no longer declared is stopped; one it did not spawn
//! is left alone. Either way a `service_removed` event says what happened.
//! Pure: which services were removed, and whether their process is ours,
//! comes from the checkpoint; the executor does the stopping.
use crate::checkpoint::Checkpoint;
use crate::checkpoint::ProcessIdentity;
use crate::desired::Fleet;

use super::settle::Report;
use super::{Disposition, Input, Mode};
use crate::events::{Event, Outcome, ServiceRemoved};

/// One service that the checkpoint knows and hosts/ no longer declares, on a
/// node that is still declared.
#[derive(Debug, Clone, PartialEq)]
pub struct Removal {
    pub node: String,
    pub service: String,
    /// The process this tool spawned for it, if it did.
    pub process: Option<ProcessIdentity>,
    /// Execute: stop `process`. Otherwise why not.
    pub disposition: Disposition,
}

/// The removals of this run, in (node, service) order.
pub fn removals(input: &Input, cp: &Checkpoint) -> Vec<Removal> {
    cp.services
        .iter()
        .filter_map(|(k, st)| {
            let (node, service) = k.split_once('/')?;
            let spec = input.fleet.nodes.get(node)?;
            if spec.services.contains_key(service) {
                return None;
            }
            let process = st.process.filter(|_| st.spawned);
            let disposition = match input.mode {
                _ if st.spawned && st.process.is_none() => Disposition::Skip("no_process"),
                _ if process.is_none() => Disposition::Skip("not_spawned"),
                Mode::Reconcile { .. } if input.local_node != Some(node) => Disposition::Remote,
                _ if super::operator::pass_on(input.operator, node) => {
                    Disposition::Skip("operator_pass")
                }
                Mode::Reconcile { dry_run: true } => Disposition::Skip("dry_run"),
                _ => Disposition::Execute,
            };
            Some(Removal {
                node: node.to_string(),
                service: service.to_string(),
                process,
                disposition,
            })
        })
        .collect()
}

/// Whether the checkpoint keeps the entry of `key`: a declared service, or a
/// removed one of the local node whose spawned process still waits to be
/// stopped (a dry run, or a run that could not stop it, leaves it for the
/// next; `settle` forgets it once stopped).
pub fn keep(fleet: &Fleet, removals: &[Removal], key: &str) -> bool {
    let (node, service) = key.split_once('/').unwrap_or((key, ""));
    if fleet
        .nodes
        .get(node)
        .is_some_and(|n| n.services.contains_key(service))
    {
        return true;
    }
    removals.iter().any(|r| {
        r.node == node
            && r.service == service
            && r.process.is_some()
            && r.disposition != Disposition::Remote
    })
}

/// The `service_removed` events of `node`, and the checkpoint entries of
/// removed services whose process was stopped forgotten. `outcomes` runs
/// beside `removals`.
pub fn settle_node(
    node: &str,
    removals: &[Removal],
    outcomes: &[Option<Report>],
    mode: Mode,
    cp: &mut Checkpoint,
) -> Vec<Event> {
    let mut events = vec![];
    for (i, r) in removals.iter().enumerate().filter(|(_, r)| r.node == node) {
        let outcome = outcomes.get(i).cloned().flatten();
        let (label, reason) = match (&outcome, &r.disposition) {
            (Some(o), _) if o.success => (Outcome::Stopped, o.reason.clone()),
            (Some(o), _) => (Outcome::Failed, o.reason.clone()),
            (None, Disposition::Skip("not_spawned")) => (
                Outcome::LeftAlone,
                "not started by this tool: left running".to_string(),
            ),
            (None, Disposition::Skip("no_process")) => (
                Outcome::Gone,
                "started by this tool, but no process of it is known: nothing to stop".to_string(),
            ),
            (None, Disposition::Remote) => (Outcome::Recommended, "not the local node".to_string()),
            (None, Disposition::Skip(why)) => (Outcome::Skipped, why.to_string()),
            (None, Disposition::Execute) if mode == Mode::Check => {
                (Outcome::Planned, String::new())
            }
            (None, Disposition::Execute) => (Outcome::Skipped, "not executed".to_string()),
        };
        if outcome.as_ref().is_some_and(|o| o.success) {
            cp.services
                .remove(&crate::checkpoint::key(node, &r.service));
        }
        events.push(Event::new(
            Some(node),
            Some(&r.service),
            ServiceRemoved {
                outcome: label,
                pid: r.process.map(|p| p.pid),
                reason,
            },
        ));
    }
    events
}
