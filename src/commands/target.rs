//! Resolving a `SERVICE` argument to `<node>/<service>`: `node/service`, or
//! a bare service name that is either on `--node` or unique in the fleet.
use anyhow::{bail, Result};

use crate::desired::spec::NodeSpec;
use crate::desired::Fleet;

/// `no node `n` in hosts/`, with the closest node name.
fn no_node(fleet: &Fleet, n: &str) -> anyhow::Error {
    match crate::desired::suggest::hint(n, fleet.nodes.keys().map(String::as_str)) {
        Some(hint) => anyhow::anyhow!("no node `{n}` in hosts/\n\nhint: {hint}"),
        None => anyhow::anyhow!("no node `{n}` in hosts/"),
    }
}

/// "node `n` declares no service `s`", with the closest name or the list.
fn no_service(n: &str, spec: &NodeSpec, typed: &str) -> anyhow::Error {
    let names = spec.services.keys().map(String::as_str);
    let hint = match crate::desired::suggest::hint(typed, names.clone()) {
        Some(hint) => hint,
        None => format!("its services: {}", names.collect::<Vec<_>>().join(", ")),
    };
    anyhow::anyhow!("node `{n}` declares no service `{typed}`\n\nhint: {hint}")
}

pub fn resolve(fleet: &Fleet, arg: &str, node: Option<&str>) -> Result<(String, String)> {
    if let Some((n, s)) = arg.split_once('/') {
        match fleet.nodes.get(n) {
            Some(spec) if spec.services.contains_key(s) => return Ok((n.into(), s.into())),
            Some(spec) => return Err(no_service(n, spec, s)),
            None => return Err(no_node(fleet, n)),
        }
    }
    if let Some(n) = node {
        return match fleet.nodes.get(n) {
            Some(spec) if spec.services.contains_key(arg) => Ok((n.into(), arg.into())),
            Some(spec) => Err(no_service(n, spec, arg)),
            None => Err(no_node(fleet, n)),
        };
    }
    let found: Vec<&str> = fleet
        .nodes
        .values()
        .filter(|n| n.services.contains_key(arg))
        .map(|n| n.name.as_str())
        .collect();
    match found.as_slice() {
        [one] => Ok((one.to_string(), arg.into())),
        [] => {
            let all = fleet.nodes.values().flat_map(|n| n.services.keys());
            match crate::desired::suggest::hint(arg, all.map(String::as_str)) {
                Some(hint) => bail!("no service `{arg}` in hosts/\n\nhint: {hint}"),
                None => bail!("no service `{arg}` in hosts/"),
            }
        }
        many => bail!(
            "service `{arg}` exists on several nodes ({}); name one as `node/{arg}`",
            many.join(", ")
        ),
    }
}
