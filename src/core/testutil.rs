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
