//! Resolving a `SERVICE` argument to `<node>/<service>`: `node/service`, or
//! a bare service name that is either on `--node` or unique in the fleet.
use anyhow::{bail, Result};

use crate::desired::Fleet;

pub fn resolve(fleet: &Fleet, arg: &str, node: Option<&str>) -> Result<(String, String)> {
    if let Some((n, s)) = arg.split_once('/') {
        match fleet.nodes.get(n) {
            Some(spec) if spec.services.contains_key(s) => return Ok((n.into(), s.into())),
            Some(_) => bail!("node `{n}` declares no service `{s}`"),
            None => bail!("no node `{n}` in hosts/"),
        }
    }
    if let Some(n) = node {
        return match fleet.nodes.get(n) {
            Some(spec) if spec.services.contains_key(arg) => Ok((n.into(), arg.into())),
            Some(_) => bail!("node `{n}` declares no service `{arg}`"),
            None => bail!("no node `{n}` in hosts/"),
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
        [] => bail!("no service `{arg}` in hosts/"),
        many => bail!(
            "service `{arg}` exists on several nodes ({}); name one as `node/{arg}`",
            many.join(", ")
        ),
    }
}
