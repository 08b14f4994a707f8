//! The loader against real world directories in temp folders: every file
//! kind, every way a file can be unusable, scope rules and the fingerprint.
mod bench;
mod files;

use std::fs;
use std::path::{Path, PathBuf};

use crate::desired::*;
use crate::world::*;

/// The core's one test builder (the balanced preset), without the breaker's
/// retry.
fn settings() -> Settings {
    Settings {
        breaker_retry: None,
        ..crate::core::testutil::settings()
    }
}

fn service(name: &str) -> ServiceSpec {
    ServiceSpec::new(name, Kind::Service)
}

/// A fleet of `(node, [services])`.
pub(super) fn fleet(nodes: &[(&str, &[&str])]) -> Fleet {
    let nodes = nodes
        .iter()
        .map(|(node, services)| {
            let services = services
                .iter()
                .map(|s| (s.to_string(), service(s)))
                .collect();
            let spec = NodeSpec {
                name: node.to_string(),
                file: PathBuf::from(format!("hosts/{node}/services.yaml")),
                settings: settings(),
                services,
            };
            (node.to_string(), spec)
        })
        .collect();
    Fleet {
        nodes,
        fingerprint: [0; 32],
    }
}

pub(super) fn put(root: &Path, rel: &str, body: impl AsRef<[u8]>) {
    let path = root.join(rel);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, body).unwrap();
}

pub(super) const T: &str = "2026-03-01T12:00:00Z";

pub(super) fn svc(status: &str) -> String {
    format!(
        r#"{{"status": "{status}", "observed_at": "{T}", "pid": 42, "in_flight": 1, "extra": true}}"#
    )
}

pub(super) fn incident(id: &str, node: &str, service: Option<&str>) -> String {
    let service = service.map_or(String::new(), |s| format!(r#""service": "{s}","#));
    format!(
        r#"{{"id": "{id}", "node": "{node}", {service} "severity": "critical",
            "status": "open", "opened_at": "{T}", "summary": "disk"}}"#
    )
}

pub(super) fn invalid<'a>(w: &'a World, path: &str) -> &'a InvalidObservation {
    w.invalid
        .iter()
        .find(|i| i.path == path)
        .unwrap_or_else(|| panic!("no invalid observation for {path}: {:?}", w.invalid))
}

pub(super) fn key(n: &str, s: &str) -> ServiceKey {
    (n.into(), s.into())
}
