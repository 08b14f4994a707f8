//! `restart`, `stop` and `start`: one-off operator actions on one service
//! of this node. Each is an ordinary reconcile pass with the request
//! injected into the decision core, where it outranks every policy
//! (`policy: operator`) yet still meets the guardrails (maintenance, hold,
//! backoff, the per-run budget; `--force` passes a hold or a backoff) and is
//! executed, verified and recorded like any other action.
use anyhow::{bail, Result};
use clap::Args;

use crate::cli::{RunFlags, EXIT_ERROR};
use crate::core::{OperatorAction, OperatorRequest};
use crate::run::RunOptions;

/// The arguments of `restart`, `stop` and `start`.
#[derive(Args, Debug, Clone)]
pub struct OperatorArgs {
    /// NODE/SERVICE, or a SERVICE on --node or unique in the fleet
    #[arg(add = clap_complete::ArgValueCompleter::new(super::complete_targets::targets))]
    pub service: String,
    /// Go past a hold or a restart backoff (recorded as `forced: true`)
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub run: RunFlags,
}

/// Runs the pass; returns its exit code. `opts` is a live reconcile pass.
pub fn run(
    mut opts: RunOptions,
    action: OperatorAction,
    service: &str,
    force: bool,
) -> Result<i32> {
    let Some((fleet, _)) = crate::run::load_trusted_fleet(&opts.hosts, opts.insecure_config) else {
        return Ok(EXIT_ERROR);
    };
    let Some(local) = crate::run::local_node(&fleet, &opts.hosts, opts.node.as_deref(), true)?
    else {
        return Ok(EXIT_ERROR);
    };
    let (node, service) = local_target(&fleet, service, &local)?;
    opts.operator = Some(OperatorRequest {
        node,
        service,
        action,
        force,
    });
    crate::metrics::run(&opts)
}

/// Resolves `SERVICE` (as `pin` does, on this node when it is there) and
/// refuses another node's service: only the local node's actions run here.
pub fn local_target(
    fleet: &crate::desired::Fleet,
    service: &str,
    local: &str,
) -> Result<(String, String)> {
    let on_local = !service.contains('/')
        && fleet
            .nodes
            .get(local)
            .is_some_and(|n| n.services.contains_key(service));
    let (node, svc) = if on_local {
        (local.to_string(), service.to_string())
    } else {
        super::target::resolve(fleet, service, None)?
    };
    if node != local {
        bail!(
            "`{node}/{svc}` is on node `{node}`, not on this node `{local}`\n\nhint: run it on `{node}` (or with `--node {node}` there)"
        );
    }
    Ok((node, svc))
}
