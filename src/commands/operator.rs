//! `restart`, `stop` and `start`: one-off operator actions on one service
//! of this node (docs/reference/behaviour.md, "Operator commands"). Each is a reconcile pass with the request
//! injected into the decision core, where it outranks every policy
//! (`policy: operator`) and no other action runs; it still meets the
//! guardrails (maintenance, hold, backoff, an open circuit; `--force`
//! passes a backoff and an open circuit, never a hold) and is executed and
//! recorded like any other action. A start is then waited for, up to its
//! `start_grace` (`--no-wait`: not). The exit code says whether the
//! service ended in the asked state: 0, or 1 with the reason on stderr.
use crate::exit::Exit;
use anyhow::{bail, Result};

use crate::cli::OperatorArgs;
use crate::core::operator::Verdict;
use crate::core::{OperatorAction, OperatorRequest};
use crate::run::{Output, RunOptions};

/// Runs the pass and waits for its start; returns the exit code. `opts`
/// is a live reconcile pass.
pub fn run(mut opts: RunOptions, action: OperatorAction, args: &OperatorArgs) -> Result<Exit> {
    let Some((fleet, _)) = crate::run::load_trusted_fleet(&opts.hosts, opts.insecure_config) else {
        return Ok(Exit::Error);
    };
    let Some(local) = crate::run::local_node(&fleet, &opts.hosts, &opts.node, true)? else {
        return Ok(Exit::Error);
    };
    let (node, service) = local_target(&fleet, &args.service, &local)?;
    let req = OperatorRequest {
        node,
        service,
        action,
        force: args.force,
    };
    opts.operator = Some(req.clone());
    let pass = crate::metrics::run_pass(&opts)?;
    let Some(verdict) = pass.operator else {
        return Ok(pass.exit); // the pass itself failed, and said why
    };
    let done = match verdict {
        Verdict::Started { reason, .. } if args.no_wait => {
            Ok(format!("{reason}; not waited for (--no-wait)"))
        }
        Verdict::Started { after, .. } => {
            let spec = &fleet.nodes[&req.node];
            crate::run::until_up(spec, &req.service, &opts.state_dir, after)
        }
        Verdict::Done(text) => Ok(text),
        Verdict::Refused(why) => Err(format!("refused: {why}")),
        Verdict::Failed(why) => Err(format!("failed: {why}")),
    };
    report(&opts, &req, done)
}

/// Says what came of the request and returns the exit code: a success on
/// stdout (stderr with `--output json`, whose stdout is events only), a
/// refusal or failure on stderr.
fn report(opts: &RunOptions, req: &OperatorRequest, done: Result<String, String>) -> Result<Exit> {
    let target = format!("{}/{}", req.node, req.service);
    let verb = req.action.as_str();
    match done {
        Ok(text) => {
            let line = format!("{verb} {target}: {}", crate::text::escape_control(&text));
            if opts.output == Output::Json {
                eprintln!("{line}");
            } else {
                super::stdout::write(&format!("{line}\n"))?;
            }
            Ok(Exit::Ok)
        }
        Err(why) => {
            eprintln!(
                "error: {verb} {target} {}",
                crate::text::escape_control(&why)
            );
            Ok(Exit::NotDone)
        }
    }
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
