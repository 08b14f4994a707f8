//! The rules between services of one node: `fallback` and `depends_on` name
//! services of the same node (not the service itself), and dependencies
//! form no cycle.
use std::collections::{BTreeMap, BTreeSet};

use super::raw::RawService;
use super::report::Report;
use super::suggest;
use super::tree::{key, Seg};

fn field(name: &str, field: &str) -> Vec<Seg> {
    vec![key("services"), key(name), key(field)]
}

/// Checks every reference; `declared` holds every service name of the file,
/// including those that failed to load (they are reported already).
pub(crate) fn check_references(
    services: &[(String, RawService)],
    declared: &BTreeSet<String>,
    report: &mut Report,
) {
    let unknown = |what: &str, target: &str| {
        let hint = suggest::hint(target, declared.iter().map(String::as_str)).or_else(|| {
            Some("`fallback` and `depends_on` name services declared in the same file".into())
        });
        (format!("unknown service `{target}` in `{what}`"), hint)
    };
    for (name, raw) in services {
        if let Some(target) = &raw.fallback {
            let at = field(name, "fallback");
            if let Some((node, service)) = target.split_once('/') {
                // Another node's service (docs/reference/behaviour.md, "Fallback to another node"): its existence is the
                // world's to show; only its form is checked here.
                if !super::is_valid_name(node) || !super::is_valid_name(service) {
                    report.at_value(
                        &at,
                        format!(
                            "invalid fallback `{target}`: expected `service` or `node/service`"
                        ),
                        Some("e.g. fallback: edge-01/llama-8b".into()),
                    );
                }
            } else if target == name {
                report.at_value(
                    &at,
                    format!("service `{name}` cannot be its own fallback"),
                    None,
                );
            } else if !declared.contains(target) {
                let (message, hint) = unknown("fallback", target);
                report.at_value(&at, message, hint);
            }
        }
        let deps = raw.depends_on.as_deref().unwrap_or_default();
        let at = field(name, "depends_on");
        for (i, dep) in deps.iter().enumerate() {
            if dep == name {
                report.at_item(
                    &at,
                    i,
                    format!("service `{name}` cannot depend on itself"),
                    None,
                );
            } else if !declared.contains(dep) {
                let (message, hint) = unknown("depends_on", dep);
                report.at_item(&at, i, message, hint);
            } else if deps[..i].contains(dep) {
                report.at_item(
                    &at,
                    i,
                    format!("`{dep}` is listed twice in `depends_on`"),
                    None,
                );
            }
        }
    }
    check_cycles(services, report);
}

/// Reports each dependency cycle once, as `a -> b -> a` starting from its
/// smallest name, at the first edge of the cycle.
fn check_cycles(services: &[(String, RawService)], report: &mut Report) {
    let graph: BTreeMap<&str, Vec<&str>> = services
        .iter()
        .map(|(name, raw)| {
            (
                name.as_str(),
                raw.depends_on
                    .iter()
                    .flatten()
                    .map(String::as_str)
                    .collect(),
            )
        })
        .collect();
    let mut cycles: BTreeSet<Vec<&str>> = BTreeSet::new();
    let mut done: BTreeSet<&str> = BTreeSet::new();
    for start in graph.keys() {
        if done.contains(start) {
            continue;
        }
        // Depth-first, without recursion: the path and, per step, the next
        // edge to follow.
        let mut path: Vec<(&str, usize)> = vec![(start, 0)];
        while let Some(&(node, next)) = path.last() {
            let Some(target) = graph[node].get(next).copied() else {
                done.insert(node);
                path.pop();
                continue;
            };
            if let Some(top) = path.last_mut() {
                top.1 += 1;
            }
            if target == node || !graph.contains_key(target) || done.contains(target) {
                continue;
            }
            match path.iter().position(|(n, _)| *n == target) {
                Some(at) => {
                    let mut cycle: Vec<&str> = path[at..].iter().map(|(n, _)| *n).collect();
                    let smallest = (0..cycle.len()).min_by_key(|i| cycle[*i]).unwrap_or(0);
                    cycle.rotate_left(smallest);
                    cycles.insert(cycle);
                }
                None => path.push((target, 0)),
            }
        }
    }
    for cycle in cycles {
        let (first, second) = (cycle[0], cycle[1 % cycle.len()]);
        let shown: Vec<&str> = cycle.iter().copied().chain([first]).collect();
        let deps = services
            .iter()
            .find(|(n, _)| n == first)
            .and_then(|(_, r)| r.depends_on.clone())
            .unwrap_or_default();
        let index = deps.iter().position(|d| d == second).unwrap_or(0);
        report.at_item(
            &field(first, "depends_on"),
            index,
            format!("dependency cycle `{}`", shown.join(" -> ")),
            Some("services cannot wait on each other in a loop: remove one of these `depends_on` entries".into()),
        );
    }
}
