//! Loading hosts/ the one way every command does: every config error
//! printed with its `file:line:col`, the root trust check, and the local node
//! resolved (a `--node` typo is an error, not drift).
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

use crate::desired::load::{load_read, own_links};
use crate::desired::opened::HostsRead;
use crate::desired::trust::{check_read, TrustProblem};
use crate::desired::{load_fleet, suggest, Fleet};
use crate::resolved::LocalNode;

/// Loads hosts/ the one way every command that reads it does (docs/reference/behaviour.md,
/// "Trust"): every config error, then, as root, the trust check of
/// [`check_read`], printed to stderr. None when the fleet may not be used:
/// a config error, or a trust problem without `insecure_config`. With it,
/// the problems come back for the caller to report (a run records each as
/// a `config_insecure` event).
pub fn load_trusted_fleet(
    hosts: &Path,
    insecure_config: bool,
) -> Option<(Fleet, Vec<TrustProblem>)> {
    match load_checked(hosts, insecure_config) {
        Ok(loaded) => Some(loaded),
        Err(Refused::Config(errors)) => {
            report_config_errors(&errors);
            None
        }
        Err(Refused::Untrusted(problems)) => {
            for p in &problems {
                eprintln!("error: {p}");
            }
            eprintln!("\nhint: fix the permissions (chmod go-w, chown root), or pass `--insecure-config` to run anyway");
            None
        }
    }
}

/// [`load_trusted_fleet`] without a word: for `watch`, which reads hosts/
/// between its runs (when to run next, what to watch), and whose runs
/// report what is wrong with it.
pub fn load_trusted_fleet_quietly(hosts: &Path, insecure_config: bool) -> Option<Fleet> {
    load_checked(hosts, insecure_config).ok().map(|(f, _)| f)
}

enum Refused {
    Config(Vec<crate::desired::ConfigError>),
    Untrusted(Vec<TrustProblem>),
}

fn load_checked(
    hosts: &Path,
    insecure_config: bool,
) -> Result<(Fleet, Vec<TrustProblem>), Refused> {
    // One look-up: the trust check judges the descriptors the loader reads
    // through, so a link swapped between the two cannot change what runs.
    let read = HostsRead::open(hosts, own_links());
    let fleet = load_read(&read).map_err(Refused::Config)?;
    if !nix::unistd::geteuid().is_root() {
        return Ok((fleet, vec![]));
    }
    // As root, hosts/ is code (its argv runs as root): refuse it when
    // others could have written it, the way sshd's StrictModes does.
    let problems = check_read(&read, 0);
    if !problems.is_empty() && !insecure_config {
        return Err(Refused::Untrusted(problems));
    }
    Ok((fleet, problems))
}

/// The local node: `--node`, else this machine's host name. A `--node`
/// that names no node of `fleet` is an error (docs/reference/behaviour.md,
/// "Mistakes are errors, not drift"); so is a host name that names none when `needed`
/// (a command that executes or probes, run without `--node`). Otherwise a
/// host name that is no node leaves every node a remote one.
pub fn local_node(
    fleet: &Fleet,
    hosts: &Path,
    node: &LocalNode,
    needed: bool,
) -> Result<Option<String>> {
    let (name, given) = match (&node.given, &node.host_name) {
        (Some(n), _) => (n.clone(), true),
        (None, host_name) => match host_name.clone() {
            Some(h) => (h, false),
            None if needed => {
                bail!("cannot read this machine's host name\n\nhint: pass `--node NAME`")
            }
            None => return Ok(None),
        },
    };
    if fleet.nodes.contains_key(&name) || !(given || needed) {
        return Ok(Some(name));
    }
    let known: Vec<&str> = fleet.nodes.keys().map(String::as_str).collect();
    let known_list = match known.as_slice() {
        [] => "none".to_string(),
        names => names.join(", "),
    };
    let guess = suggest::hint(&name, known.iter().copied());
    let hosts = hosts.display();
    if given {
        let hint = guess.map(|g| format!("\n\nhint: {g}")).unwrap_or_default();
        bail!("node `{name}` is not a folder in `{hosts}` (known nodes: {known_list}){hint}");
    }
    let guess = guess.map(|g| format!("; {g}")).unwrap_or_default();
    bail!(
        "this machine's host name `{name}` is not a folder in `{hosts}` (known nodes: {known_list}); \
         without `--node`, the local node is the host name\n\nhint: pass `--node NAME` to name the local node{guess}"
    )
}

/// Loads hosts/, printing every error to stderr; None when there were any.
pub fn load_fleet_or_report(hosts: &Path) -> Option<Fleet> {
    match load_fleet(hosts) {
        Ok(fleet) => Some(fleet),
        Err(errors) => {
            report_config_errors(&errors);
            None
        }
    }
}

pub fn report_config_errors(errors: &[crate::desired::ConfigError]) {
    let mut sources: BTreeMap<PathBuf, Option<String>> = BTreeMap::new();
    for e in errors {
        let src = sources
            .entry(e.file.clone())
            .or_insert_with(|| snippet_source(&e.file));
        eprintln!("{}\n", e.render(src.as_deref()));
    }
    let files = sources.len();
    eprintln!(
        "error: {} problem{} in {} file{}; fix them and run again (nothing was executed)",
        errors.len(),
        if errors.len() == 1 { "" } else { "s" },
        files,
        if files == 1 { "" } else { "s" }
    );
}

/// The text of a config file for error snippets: only a regular file within
/// the loader's size limit (a FIFO or a huge file is never read again).
fn snippet_source(path: &Path) -> Option<String> {
    let meta = std::fs::symlink_metadata(path).ok()?;
    if !meta.is_file() || meta.len() > crate::desired::MAX_FILE_BYTES {
        return None;
    }
    std::fs::read_to_string(path).ok()
}
