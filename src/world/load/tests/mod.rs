//! The loader against real world directories in temp folders: every file
//! kind, every way a file can be unusable, scope rules and the fingerprint.
mod bench;
mod files;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::desired::*;
use crate::world::*;

fn settings() -> Settings {
    let s = Duration::from_secs;
    Settings {
        preset: Preset::Balanced,
        fast_tick: s(3),
        medium_tick: s(15),
        slow_tick: s(60),
        memory_pressure: 0.9,
        gpu_pressure: 0.9,
        idle_timeout: s(1800),
        max_restart_attempts: 3,
        idle_eviction: true,
        resource_optimization: true,
        max_actions_per_run: 5,
        node_offline_after: s(300),
        backoff_base: s(5),
        backoff_max: s(300),
        maintenance: vec![],
        start_grace: std::time::Duration::from_secs(10),
        breaker_retry: None,
        load_timeout: std::time::Duration::from_secs(600),
        evict_orphans: false,
        predictive: true,
        predict_horizon: std::time::Duration::from_secs(30 * 60),
        adaptive: false,
        webhooks: vec![],
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
