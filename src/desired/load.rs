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
use std::io::ErrorKind;
use std::path::Path;

use sha2::{Digest, Sha256};

use super::document;
use super::error::ConfigError;
use super::graph::check_references;
use super::opened::{FileRead, HostsRead, NodeRead, OpenError};
use super::raw::RawSupervisor;
use super::report::Report;
use super::resolve::{resolve_service, resolve_settings};
use super::scalars::{invalid_name, is_valid_name};
use super::spec::{Fleet, NodeSpec, ServiceSpec};

/// The largest `services.yaml` read; larger files are refused unread.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// The file each node folder holds.
pub const SERVICES_FILE: &str = "services.yaml";

/// Loads every node of `hosts_dir` (folders not starting with `.`; plain
/// files are ignored), in sorted order, through opened descriptors
/// ([`HostsRead`]); symbolic links on the way to it are followed only when
/// root's or the caller's.
pub fn load_fleet(hosts_dir: &Path) -> Result<Fleet, Vec<ConfigError>> {
    load_read(&HostsRead::open(hosts_dir, own_links()))
}

/// Whose symbolic links a path to hosts/ may pass: root's and the caller's.
pub fn own_links() -> impl Fn(u32) -> bool {
    let me = nix::unistd::geteuid().as_raw();
    move |uid| uid == 0 || uid == me
}

/// Loads the nodes of hosts/ as read (the bytes the trust check's
/// descriptors gave).
pub fn load_read(read: &HostsRead) -> Result<Fleet, Vec<ConfigError>> {
    let hosts_dir = read.path.as_path();
    let mut errors = Vec::new();
    let names = node_folders(read, &mut errors);
    if names.is_empty() && errors.is_empty() {
        errors.push(
            ConfigError::whole(hosts_dir, format!("no nodes in `{}`", hosts_dir.display()))
                .with_hint(Some(format!(
                    "each node is a folder with a `{SERVICES_FILE}`, e.g. `{}`",
                    hosts_dir.join("gpu-box").join(SERVICES_FILE).display()
                ))),
        );
    }
    // Parse in parallel; hash and collect in name order.
    let loaded = crate::par::map(&names, |(name, node)| {
        let file = hosts_dir.join(name).join(SERVICES_FILE);
        text_of(node, &file).map(|text| {
            let node = load_node(name, &file, &text);
            (text, node)
        })
    });
    let mut hasher = Sha256::new();
    let mut nodes = BTreeMap::new();
    for ((name, _), result) in names.into_iter().zip(loaded) {
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
    // Collected, not inserted one by one: a map built from its items in
    // bulk has full nodes (half the memory of one grown in order).
    let services: BTreeMap<String, ServiceSpec> = raw
        .services
        .iter()
        .filter_map(|(name, service)| {
            let (idle, grace) = (settings.idle_timeout, settings.start_grace);
            let spec = resolve_service(name, service, idle, grace, &mut report)?;
            Some((name.clone(), spec))
        })
        .collect();
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

/// The node folders by name (sorted); problems go to `errors`.
fn node_folders<'a>(
    read: &'a HostsRead,
    errors: &mut Vec<ConfigError>,
) -> Vec<(String, &'a NodeRead)> {
    let hosts_dir = read.path.as_path();
    if let Err(e) = &read.root {
        errors.push(open_error(hosts_dir, e));
        return Vec::new();
    }
    let mut names = Vec::new();
    for node in &read.nodes {
        match node.name.clone().into_string() {
            Ok(name) => names.push((name, node)),
            Err(raw) => errors.push(ConfigError::whole(
                &node.folder,
                format!(
                    "node folder name `{}` is not valid UTF-8",
                    raw.to_string_lossy()
                ),
            )),
        }
    }
    names
}

/// Why hosts/ itself could not be opened, as a config error.
fn open_error(hosts_dir: &Path, e: &OpenError) -> ConfigError {
    let (message, hint) = match e {
        OpenError::Io(at, e) if e.kind() == ErrorKind::NotFound && at == hosts_dir => (
            format!("hosts directory `{}` does not exist", hosts_dir.display()),
            Some("pass `--hosts DIR`, or create one folder per node with a `services.yaml`".to_string()),
        ),
        OpenError::Io(_, e) if e.kind() == ErrorKind::NotFound => (
            format!("hosts directory `{}` does not exist", hosts_dir.display()),
            Some("pass `--hosts DIR`, or create one folder per node with a `services.yaml`".to_string()),
        ),
        OpenError::Io(at, e) if e.raw_os_error() == Some(nix::libc::ENOTDIR) && at == hosts_dir => {
            (format!("`{}` is not a directory", hosts_dir.display()), None)
        }
        OpenError::Io(at, e) => (
            format!(
                "cannot read hosts directory `{}`: `{}`: {}",
                hosts_dir.display(),
                at.display(),
                crate::text::io_error_text(e)
            ),
            None,
        ),
        OpenError::UntrustedLink { path, owner } => (
            format!(
                "`{}` is a symbolic link owned by uid {owner}: a path to hosts/ follows only links of root or of the user running this",
                path.display()
            ),
            Some(format!(
                "pass the folder the link points to, or have root (or you) own the link; another user could point it elsewhere between two runs, or during one (`{}`)",
                hosts_dir.display()
            )),
        ),
        OpenError::TooManyLinks(at) => (
            format!("`{}`: too many levels of symbolic links", at.display()),
            None,
        ),
    };
    ConfigError::whole(hosts_dir, message).with_hint(hint)
}

/// A node's file as read: it must exist, be at most [`MAX_FILE_BYTES`],
/// a regular file, and UTF-8.
fn text_of(node: &NodeRead, file: &Path) -> Result<String, ConfigError> {
    let folder = node.folder.as_path();
    let fail =
        |message: String, hint: Option<String>| ConfigError::whole(file, message).with_hint(hint);
    let too_large = |size: u64| {
        fail(
            format!("file is too large ({size} bytes; the limit is {MAX_FILE_BYTES} bytes, 1 MiB)"),
            Some("a node's desired state is a few kilobytes; is this the right file?".into()),
        )
    };
    let bytes = match &node.file {
        FileRead::Read { bytes, .. } => bytes.clone(),
        FileRead::Missing => {
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
        FileRead::NotRegular => {
            return Err(fail(
                format!("`{}` is not a regular file", file.display()),
                None,
            ))
        }
        FileRead::TooLarge(size) => return Err(too_large(*size)),
        FileRead::Error(e) => {
            return Err(fail(format!("cannot read `{}`: {e}", file.display()), None))
        }
    };
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        // One more than the newlines before it.
        let line = e.as_bytes()[..at].split(|b| *b == b'\n').count();
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
