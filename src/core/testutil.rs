//! Builders for unit tests of the core.
use std::time::Duration;

use crate::desired::{Preset, Settings};

pub fn settings() -> Settings {
    Settings {
        preset: Preset::Balanced,
        fast_tick: Duration::from_secs(3),
        medium_tick: Duration::from_secs(15),
        slow_tick: Duration::from_secs(60),
        memory_pressure: 0.9,
        gpu_pressure: 0.9,
        idle_timeout: Duration::from_secs(1800),
        max_restart_attempts: 3,
        idle_eviction: true,
        resource_optimization: true,
        max_actions_per_run: 5,
        node_offline_after: Duration::from_secs(300),
        backoff_base: Duration::from_secs(5),
        backoff_max: Duration::from_secs(300),
        maintenance: vec![],
        webhooks: vec![],
    }
}

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::{DateTime, Utc};

use crate::desired::{Fleet, HealthSpec, Kind, NodeSpec, ServiceSpec, Start};
use crate::world::{NodeRecord, NodeStatus, Obs, ServiceRecord, ServiceStatus, World};

pub fn at(s: &str) -> DateTime<Utc> {
    s.parse().expect("timestamp")
}

pub const NOW: &str = "2026-11-23T12:00:00Z";

pub fn service(name: &str, kind: Kind) -> ServiceSpec {
    ServiceSpec {
        name: name.into(),
        kind,
        pinned: false,
        priority: 0,
        process: None,
        health: HealthSpec {
            probe: None,
            timeout: Duration::from_secs(2),
            degraded_after: 2,
            dead_after: 5,
        },
        start: Some(Start::Restart(vec!["true".into()])),
        stop: None,
        stop_timeout: Duration::from_secs(10),
        restart_timeout: Duration::from_secs(60),
        idle_timeout: Duration::from_secs(1800),
        memory: None,
        gpu_memory: None,
        fallback: None,
        depends_on: vec![],
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

/// A world where `node` is online and each (service, status, last_activity) has a record.
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
            status: *status,
            observed_at: at(NOW),
            pid: None,
            last_activity: activity.map(at),
            requests_total: None,
            in_flight: None,
            gpu_index: None,
            memory_bytes: None,
            gpu_memory_bytes: None,
        };
        w.services
            .insert((node.into(), svc.to_string()), Obs::Valid(rec));
    }
    w
}
