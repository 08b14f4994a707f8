//! The preset table of docs/reference/services-yaml.md, "Presets": the node settings each preset starts from,
//! before a node's explicit settings override them.
use std::time::Duration;

use super::spec::{Preset, Settings};

const fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// The settings of `preset` with no overrides, no maintenance windows and
/// no webhooks. Values shared by every preset: backoff base 5s and cap 5m,
/// `node_offline_after` 5m, `max_actions_per_run` 5.
pub fn preset_settings(preset: Preset) -> Settings {
    // (fast tick, pressure, idle timeout, max restart attempts, idle
    // eviction and resource optimization). The medium and slow ticks of the first preset table
    // pace nothing in one pass (docs/decisions.md): not kept.
    let (tick, pressure, idle, attempts, optimize) = match preset {
        Preset::Conservative => (5, 0.95, 60 * 60, 1, false),
        Preset::Balanced => (3, 0.90, 30 * 60, 3, true),
        Preset::Aggressive => (2, 0.80, 10 * 60, 5, true),
    };
    Settings {
        preset,
        fast_tick: secs(tick),
        memory_pressure: pressure,
        gpu_pressure: pressure,
        idle_timeout: secs(idle),
        max_restart_attempts: attempts,
        idle_eviction: optimize,
        resource_optimization: optimize,
        max_actions_per_run: 5,
        node_offline_after: secs(5 * 60),
        start_grace: secs(10),
        breaker_retry: Some(secs(30 * 60)),
        load_timeout: secs(10 * 60),
        evict_orphans: false,
        predictive: true,
        predict_horizon: secs(30 * 60),
        adaptive: false,
        probe_period: PROBE_PERIOD,
        idle_without_activity: false,
        backoff_base: secs(5),
        backoff_max: secs(5 * 60),
        maintenance: Vec::new(),
        webhooks: Vec::new(),
    }
}

/// Health defaults, the same in every preset.
pub const DEGRADED_AFTER: u32 = 2;
pub const DEAD_AFTER: u32 = 5;
pub const PROBE_TIMEOUT: Duration = secs(2);
/// Least time between two counted probe results (docs/reference/behaviour.md, "Probe period").
pub const PROBE_PERIOD: Duration = secs(10);
pub const STOP_TIMEOUT: Duration = secs(10);
/// How long a `restart` command may run (extension field).
pub const RESTART_TIMEOUT: Duration = secs(60);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_matches_the_spec() {
        let c = preset_settings(Preset::Conservative);
        assert_eq!(c.fast_tick, secs(5));
        assert_eq!((c.memory_pressure, c.gpu_pressure), (0.95, 0.95));
        assert_eq!((c.idle_timeout, c.max_restart_attempts), (secs(3600), 1));
        assert!(!c.idle_eviction && !c.resource_optimization);
        let b = preset_settings(Preset::Balanced);
        assert_eq!(b.fast_tick, secs(3));
        assert_eq!(
            (b.memory_pressure, b.idle_timeout, b.max_restart_attempts),
            (0.9, secs(1800), 3)
        );
        assert!(b.idle_eviction && b.resource_optimization);
        let a = preset_settings(Preset::Aggressive);
        assert_eq!(a.fast_tick, secs(2));
        assert_eq!(
            (a.gpu_pressure, a.idle_timeout, a.max_restart_attempts),
            (0.8, secs(600), 5)
        );
        for s in [c, b, a] {
            assert_eq!((s.backoff_base, s.backoff_max), (secs(5), secs(300)));
            assert_eq!(
                (s.node_offline_after, s.max_actions_per_run),
                (secs(300), 5)
            );
        }
    }
}
