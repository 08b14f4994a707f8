//! Node and service names for shell completion (`restart`, `stop`,
//! `start`, `logs`, `pin`, `hold` …): read from hosts/ while completing,
//! through `clap_complete`'s dynamic engine (`COMPLETE=bash supervisorctl`,
//! or the script `completions SHELL --dynamic` prints).
//!
//! hosts/ is the `--hosts` on the line being completed, else
//! `SUPERVISORCTL_HOSTS` (the environment file is read first, as for a
//! command), else `hosts`. Each `<node>/services.yaml` is read as plain
//! YAML for its `services:` keys only (a file that does not parse offers
//! none); nothing is trusted, executed or written.
use std::ffi::OsStr;
use std::path::PathBuf;

use clap_complete::CompletionCandidate;

/// The most bytes of a services.yaml read for names.
const MAX_FILE: u64 = 4 << 20;

/// `NODE/SERVICE` for every service, and `SERVICE` alone, that start with
/// what is typed so far.
pub fn targets(current: &OsStr) -> Vec<CompletionCandidate> {
    let typed = current.to_string_lossy();
    let mut names: Vec<String> = Vec::new();
    for (node, services) in fleet_names(&hosts_dir()) {
        for service in services {
            names.push(format!("{node}/{service}"));
            names.push(service);
        }
    }
    names.sort();
    names.dedup();
    names
        .into_iter()
        .filter(|n| n.starts_with(typed.as_ref()))
        .map(CompletionCandidate::new)
        .collect()
}

/// The hosts/ folder of the command line being completed.
fn hosts_dir() -> PathBuf {
    let args: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let on_line = args
        .iter()
        .enumerate()
        .find_map(|(i, a)| match a.strip_prefix("--hosts=") {
            Some(v) => Some(v.to_string()),
            None if a == "--hosts" => args.get(i + 1).cloned(),
            None => None,
        });
    on_line
        .or_else(|| std::env::var("SUPERVISORCTL_HOSTS").ok())
        .map_or_else(|| PathBuf::from("hosts"), PathBuf::from)
}

/// Each node folder's name and its services' names, sorted.
fn fleet_names(hosts: &std::path::Path) -> Vec<(String, Vec<String>)> {
    let Ok(entries) = std::fs::read_dir(hosts) else {
        return Vec::new();
    };
    let mut nodes: Vec<(String, Vec<String>)> = entries
        .flatten()
        .filter_map(|e| {
            let node = e.file_name().to_str()?.to_string();
            let bytes =
                crate::store::read_limited(&e.path().join("services.yaml"), MAX_FILE).ok()?;
            Some((node, service_names(&bytes)))
        })
        .collect();
    nodes.sort();
    nodes
}

/// The keys of `services:` in a services.yaml; none when it does not parse.
fn service_names(bytes: &[u8]) -> Vec<String> {
    let Ok(doc) = serde_yaml::from_slice::<serde_yaml::Value>(bytes) else {
        return Vec::new();
    };
    let Some(services) = doc.get("services").and_then(|s| s.as_mapping()) else {
        return Vec::new();
    };
    services
        .keys()
        .filter_map(|k| k.as_str())
        .filter(|k| crate::desired::is_valid_name(k))
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_from_each_nodes_services_keys() {
        let dir = tempfile::tempdir().unwrap();
        for (node, yaml) in [
            (
                "gpu-01",
                "services:\n  llama-8b: {kind: model}\n  web: {}\n",
            ),
            ("nas", "services:\n  web: {}\n  broken: [\n"),
        ] {
            std::fs::create_dir_all(dir.path().join(node)).unwrap();
            std::fs::write(dir.path().join(node).join("services.yaml"), yaml).unwrap();
        }
        let names = fleet_names(dir.path());
        assert_eq!(
            names,
            vec![
                (
                    "gpu-01".to_string(),
                    vec!["llama-8b".to_string(), "web".to_string()]
                ),
                ("nas".to_string(), vec![]),
            ]
        );
    }
}
