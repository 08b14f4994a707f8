//! Failure prediction through `decide`: runs one after another, each with
//! the world of its minute and the checkpoint the last one left.
mod memory;
mod metrics;

use std::collections::BTreeMap;

use serde_json::Value;

use super::super::testutil::{at, fleet, service, NOW};
use super::super::{decide, Input, Mode, Overrides};
use super::*;
use crate::checkpoint::trends::{Spacing, MAX_SAMPLES};
use crate::checkpoint::Checkpoint;
use crate::desired::{Fleet, Kind};
use crate::num::{as_f64, signed_as_f64};
use crate::world::{GpuUse, MemoryUse, NodeRecord, NodeStatus, Obs, ResourceRecord};
use crate::world::{ServiceRecord, ServiceStatus, World};

pub(super) const MIB: u64 = 1 << 20;
/// 1000 MiB of memory; `memory_pressure` 90 % (balanced): 900 MiB.
pub(super) const TOTAL: u64 = 1000 * MIB;

pub(super) fn t(minute: i64) -> DateTime<Utc> {
    at(NOW) + Duration::minutes(minute)
}

/// What one minute's world says.
#[derive(Clone, Default)]
pub(super) struct Step {
    /// The node's used memory (MiB).
    pub(super) node_used: u64,
    /// Per service: its memory (MiB) and probe latency (ms).
    pub(super) services: Vec<(&'static str, Option<u64>, Option<f64>)>,
    pub(super) gpu_temperature: Option<f64>,
}

pub(super) fn world_at(minute: i64, s: &Step) -> World {
    world_at_time(t(minute), s)
}

pub(super) fn world_at_time(now: DateTime<Utc>, s: &Step) -> World {
    let mut w = World::default();
    w.nodes.insert(
        "n".into(),
        Obs::Valid(NodeRecord {
            status: NodeStatus::Online,
            last_seen: now,
        }),
    );
    for &(name, mem, latency) in &s.services {
        let rec = ServiceRecord {
            memory_bytes: mem.map(|m| m * MIB),
            probe_latency_ms: latency,
            ..ServiceRecord::new(ServiceStatus::Ok, now)
        };
        w.services
            .insert(("n".into(), name.into()), Obs::Valid(rec));
    }
    let gpus = s
        .gpu_temperature
        .map(|c| GpuUse {
            index: 0,
            name: None,
            memory_total_bytes: 80_000 * MIB,
            memory_used_bytes: 1000 * MIB,
            temperature_c: Some(c),
            utilization: None,
        })
        .into_iter()
        .collect();
    w.resources.insert(
        "n".into(),
        Obs::Valid(ResourceRecord {
            observed_at: now,
            memory: Some(MemoryUse {
                total_bytes: TOTAL,
                used_bytes: s.node_used * MIB,
            }),
            gpus,
        }),
    );
    w
}

/// Runs `decide` at `minute`; returns the `failure_predicted` events.
pub(super) fn run(f: &Fleet, cp: &mut Checkpoint, minute: i64, s: &Step) -> Vec<Event> {
    run_world(f, cp, minute, &world_at(minute, s))
}

/// Runs `decide` at `minute` over the records of `step_minute` (the
/// observer stopped updating them; the node is still seen).
pub(super) fn run_stale(
    f: &Fleet,
    cp: &mut Checkpoint,
    minute: i64,
    step_minute: i64,
    s: &Step,
) -> Vec<Event> {
    let mut w = world_at(step_minute, s);
    w.nodes.insert(
        "n".into(),
        Obs::Valid(NodeRecord {
            status: NodeStatus::Online,
            last_seen: t(minute),
        }),
    );
    run_world(f, cp, minute, &w)
}

pub(super) fn run_world(f: &Fleet, cp: &mut Checkpoint, minute: i64, w: &World) -> Vec<Event> {
    run_world_at(f, cp, t(minute), w)
}

pub(super) fn run_world_at(
    f: &Fleet,
    cp: &mut Checkpoint,
    now: DateTime<Utc>,
    w: &World,
) -> Vec<Event> {
    let live = BTreeMap::new();
    let overrides = Overrides::default();
    let d = decide(&Input {
        fleet: f,
        world: w,
        checkpoint: cp,
        overrides: &overrides,
        live: &live,
        now,
        mode: Mode::Check,
        local_node: None,
        operator: None,
    });
    *cp = d.checkpoint;
    d.nodes.into_iter().flat_map(|n| n.predictions).collect()
}

pub(super) fn one_model() -> Fleet {
    fleet("n", vec![service("llm", Kind::Model)])
}

/// `llm` leaks 10 MiB a minute; the node's use grows with it from 500 MiB.
pub(super) fn leak(minute: i64) -> Step {
    let k = u64::try_from(minute).unwrap();
    Step {
        node_used: 500 + 10 * k,
        services: vec![("llm", Some(100 + 10 * k), None)],
        ..Step::default()
    }
}

pub(super) fn field(e: &Event, k: &str) -> Value {
    e.fields().get(k).cloned().unwrap_or(Value::Null)
}
