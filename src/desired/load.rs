//! Loads the whole of `hosts/`: one folder per node, each with a
//! `services.yaml`, into a [`Fleet`], or every problem found in every file.
//!
//! How problems are found, and placed at a line and column:
//! 1. file-level checks (folder name, missing file, over 1 MiB, not UTF-8)
//!    are reported without a position;
//! 2. `document` parses the YAML once into a `tree` whose nodes keep their
//!    line and column (syntax errors end that file's checks), then `walk`
//!    reads it entry by entry and field by field (through `de`), so one
//!    broken field or service never hides another;
//! 3. `resolve` and `graph` apply the preset and defaults and check the
//!    rules between fields and between services; `report` places their
//!    problems at the nodes of the same tree.
//!
//! Errors are sorted by position within a file; files come in node order.
use std::collections::BTreeMap;
use std::fs;
use std::io::{ErrorKind, Read};
use std::path::Path;

use sha2::{Digest, Sha256};

use super::document;
use super::error::ConfigError;
use super::graph::check_references;
use super::raw::RawSupervisor;
use super::report::Report;
use super::resolve::{resolve_service, resolve_settings};
use super::scalars::{invalid_name, is_valid_name};
use super::spec::{Fleet, NodeSpec};

/// The largest `services.yaml` read; larger files are refused unread.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// The file each node folder holds.
pub const SERVICES_FILE: &str = "services.yaml";

/// Loads every node of `hosts_dir` (folders not starting with `.`; plain
/// files are ignored), in sorted order.
pub fn load_fleet(hosts_dir: &Path) -> Result<Fleet, Vec<ConfigError>> {
    let mut errors = Vec::new();
    let names = node_folders(hosts_dir, &mut errors);
    if names.is_empty() && errors.is_empty() {
        errors.push(
            ConfigError::whole(hosts_dir, format!("no nodes in `{}`", hosts_dir.display()))
                .with_hint(Some(format!(
                    "each node is a folder with a `{SERVICES_FILE}`, e.g. `{}`",
                    hosts_dir.join("gpu-box").join(SERVICES_FILE).display()
                ))),
        );
    }
    // Read and parse in parallel; hash and collect in name order.
    let loaded = crate::par::map(&names, |name| {
        let file = hosts_dir.join(name).join(SERVICES_FILE);
        read_text(&file).map(|text| {
            let node = load_node(name, &file, &text);
            (text, node)
        })
    });
    let mut hasher = Sha256::new();
    let mut nodes = BTreeMap::new();
    for (name, result) in names.into_iter().zip(loaded) {
        if !is_valid_name(&name) {
            let (message, hint) = split_hint(&invalid_name("node", &name));
            errors.push(ConfigError::whole(hosts_dir.join(&name), message).with_hint(hint));
        }
        let (text, node) = match result {
            Ok(r) => r,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        let relative = format!("{name}/{SERVICES_FILE}");
        hasher.update(relative.as_bytes());
        hasher.update([0u8]);
        hasher.update((text.len() as u64).to_le_bytes());
        hasher.update(text.as_bytes());
        match node {
            Ok(node) => {
                nodes.insert(name, node);
            }
            Err(mut node_errors) => errors.append(&mut node_errors),
        }
    }
    if errors.is_empty() {
        Ok(Fleet {
            nodes,
            fingerprint: hasher.finalize().into(),
        })
    } else {
        Err(errors)
    }
}

/// Loads one node from the text of its file. `folder` is the node's name;
/// `file` is only used in messages.
pub fn load_node(folder: &str, file: &Path, text: &str) -> Result<NodeSpec, Vec<ConfigError>> {
    let (raw, mut errors, tree) = document::read(text, folder, file);
    let mut report = Report::new(file.to_path_buf(), tree.as_ref());
    let settings = resolve_settings(
        raw.supervisor.as_ref().unwrap_or(&RawSupervisor::default()),
        &mut report,
    );
    let mut services = BTreeMap::new();
    for (name, service) in &raw.services {
        if let Some(spec) = resolve_service(
            name,
            service,
            settings.idle_timeout,
            settings.start_grace,
            &mut report,
        ) {
            services.insert(name.clone(), spec);
        }
    }
    check_references(&raw.services, &raw.declared, &mut report);
    errors.append(&mut report.errors);
    errors.sort_by_key(|e| (e.line, e.column));
    if errors.is_empty() {
        Ok(NodeSpec {
            name: folder.to_string(),
            file: file.to_path_buf(),
            settings,
            services,
        })
    } else {
        Err(errors)
    }
}

/// The sorted names of the node folders; problems go to `errors`.
fn node_folders(hosts_dir: &Path, errors: &mut Vec<ConfigError>) -> Vec<String> {
    let entries = match fs::read_dir(hosts_dir) {
        Ok(entries) => entries,
        Err(e) => {
            let (message, hint) = match e.kind() {
                ErrorKind::NotFound => (
                    format!("hosts directory `{}` does not exist", hosts_dir.display()),
                    Some(
                        "pass `--hosts DIR`, or create one folder per node with a `services.yaml`"
                            .to_string(),
                    ),
                ),
                ErrorKind::NotADirectory => (
                    format!("`{}` is not a directory", hosts_dir.display()),
                    None,
                ),
                _ => (
                    format!("cannot read hosts directory `{}`: {e}", hosts_dir.display()),
                    None,
                ),
            };
            errors.push(ConfigError::whole(hosts_dir, message).with_hint(hint));
            return Vec::new();
        }
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) => {
                errors.push(ConfigError::whole(
                    hosts_dir,
                    format!("cannot read hosts directory `{}`: {e}", hosts_dir.display()),
                ));
                continue;
            }
        };
        let path = entry.path();
        if !fs::metadata(&path).is_ok_and(|m| m.is_dir()) {
            continue;
        }
        match entry.file_name().into_string() {
            Ok(name) if name.starts_with('.') => {}
            Ok(name) => names.push(name),
            Err(raw) => errors.push(ConfigError::whole(
                path,
                format!(
                    "node folder name `{}` is not valid UTF-8",
                    raw.to_string_lossy()
                ),
            )),
        }
    }
    names.sort();
    names
}

/// Reads a node's file: it must exist, be at most [`MAX_FILE_BYTES`] and be
/// UTF-8.
fn read_text(file: &Path) -> Result<String, ConfigError> {
    let folder = file.parent().unwrap_or(file);
    let fail =
        |message: String, hint: Option<String>| ConfigError::whole(file, message).with_hint(hint);
    let metadata = match fs::metadata(file) {
        Ok(m) => m,
        Err(e) if e.kind() == ErrorKind::NotFound => {
            return Err(ConfigError::whole(
                folder,
                format!(
                    "node folder `{}` has no `{SERVICES_FILE}`",
                    folder.display()
                ),
            )
            .with_hint(Some(format!(
                "create `{}`, or remove the folder",
                file.display()
            ))));
        }
        Err(e) => return Err(fail(format!("cannot read `{}`: {e}", file.display()), None)),
    };
    if !metadata.is_file() {
        return Err(fail(
            format!("`{}` is not a regular file", file.display()),
            None,
        ));
    }
    let too_large = |size: u64| {
        fail(
            format!("file is too large ({size} bytes; the limit is {MAX_FILE_BYTES} bytes, 1 MiB)"),
            Some("a node's desired state is a few kilobytes; is this the right file?".into()),
        )
    };
    if metadata.len() > MAX_FILE_BYTES {
        return Err(too_large(metadata.len()));
    }
    let mut bytes = Vec::new();
    let read =
        fs::File::open(file).and_then(|f| f.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes));
    if let Err(e) = read {
        return Err(fail(format!("cannot read `{}`: {e}", file.display()), None));
    }
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(too_large(bytes.len() as u64));
    }
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let line = e.as_bytes()[..at].iter().filter(|b| **b == b'\n').count() + 1;
        fail(
            format!("file is not valid UTF-8 (invalid byte at offset {at}, line {line})"),
            Some("save the file as UTF-8".into()),
        )
    })
}

fn split_hint(message: &str) -> (String, Option<String>) {
    match message.split_once("\nhint: ") {
        Some((m, h)) => (m.to_string(), Some(h.to_string())),
        None => (message.to_string(), None),
    }
}
