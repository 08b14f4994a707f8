//! Builders for unit tests of the core.

use crate::desired::{Preset, Settings};

pub fn settings() -> Settings {
    crate::desired::preset_settings(Preset::Balanced)
}

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::{DateTime, Utc};

use crate::desired::{Fleet, Kind, NodeSpec, ServiceSpec, Start};
use crate::world::{NodeRecord, NodeStatus, Obs, ServiceRecord, ServiceStatus, World};

pub fn at(s: &str) -> DateTime<Utc> {
    s.parse().expect("timestamp")
}

pub const NOW: &str = "2026-11-23T12:00:00Z";

pub fn service(name: &str, kind: Kind) -> ServiceSpec {
    ServiceSpec {
        start: Some(Start::Restart(vec!["true".into()])),
        ..ServiceSpec::new(name, kind)
    }
}

pub fn fleet(node: &str, services: Vec<ServiceSpec>) -> Fleet {
    let services: BTreeMap<String, ServiceSpec> =
        services.into_iter().map(|s| (s.name.clone(), s)).collect();
    let spec = NodeSpec {
        name: node.into(),
        file: PathBuf::from("services.yaml"),
        settings: settings(),
        services,
    };
    Fleet {
        nodes: BTreeMap::from([(node.to_string(), spec)]),
        fingerprint: [0; 32],
    }
}

/// A world where `node` is online and each (service, status, `last_activity`) has a record.
pub fn world(node: &str, records: &[(&str, ServiceStatus, Option<&str>)]) -> World {
    let mut w = World::default();
    w.nodes.insert(
        node.into(),
        Obs::Valid(NodeRecord {
            status: NodeStatus::Online,
            last_seen: at(NOW),
        }),
    );
    for (svc, status, activity) in records {
        let rec = ServiceRecord {
            last_activity: activity.map(at),
            ..ServiceRecord::new(*status, at(NOW))
        };
        w.services
            .insert((node.into(), svc.to_string()), Obs::Valid(rec));
    }
    w
}
