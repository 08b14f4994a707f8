//! Series bounds, probe latency, GPU temperature and recommendations.
use serde_json::Value;

use super::*;

#[test]
fn a_series_keeps_its_last_samples_and_counts_a_record_once() {
    let mut tr = Trends::default();
    let every = Spacing {
        min_gap: Duration::zero(),
        span: Duration::days(1),
    };
    for i in 0..40 {
        assert!(tr.push(MEMORY, t(i), signed_as_f64(i), every));
    }
    let s = &tr.series[MEMORY];
    assert_eq!(s.len(), MAX_SAMPLES);
    // Older samples merged, none dropped: the series still starts at 0.
    assert!(s[0].at < t(1), "{:?}", s[0]);
    // The same record read again, or an older one: not a new sample.
    assert!(!tr.push(MEMORY, t(39), 99.0, every));
    assert!(!tr.push(MEMORY, t(3), 99.0, every));
    // Closer than a probe period to the last: not a new sample either.
    let gap = sample::spacing(&crate::core::testutil::settings());
    assert_eq!(gap.min_gap, Duration::seconds(10));
    assert!(!tr.push(MEMORY, t(39) + Duration::seconds(9), 99.0, gap));
    assert!(tr.push(MEMORY, t(40), 99.0, gap));
    // Nothing older than the horizon (30 minutes) before the newest.
    let s = &tr.series[MEMORY];
    assert!(s.len() <= MAX_SAMPLES && s[0].at >= t(10), "{s:?}");

    // Through decide: a world that did not change adds nothing.
    let f = one_model();
    let mut cp = Checkpoint::default();
    let w = leak(0);
    run(&f, &mut cp, 0, &w);
    let mut again = world_at(0, &w);
    again.nodes.insert(
        "n".into(),
        Obs::Valid(NodeRecord {
            status: NodeStatus::Online,
            last_seen: t(1),
        }),
    );
    let live = BTreeMap::new();
    let overrides = Overrides::default();
    let d = decide(&Input {
        fleet: &f,
        world: &again,
        checkpoint: &cp,
        overrides: &overrides,
        live: &live,
        now: t(1),
        mode: Mode::Check,
        local_node: None,
        operator: None,
    });
    assert_eq!(
        d.checkpoint.services["n/llm"].trends.series[MEMORY].len(),
        1
    );
}

#[test]
fn growing_probe_latency_is_projected_to_the_timeout() {
    let f = one_model();
    let mut cp = Checkpoint::default();
    let mut seen = vec![];
    // 2 s timeout; 100 ms more each minute from 200 ms: 2000 ms at minute 18.
    for minute in 0..=6 {
        let s = Step {
            node_used: 500,
            services: vec![(
                "llm",
                Some(100),
                Some(200.0 + 100.0 * signed_as_f64(minute)),
            )],
            ..Step::default()
        };
        seen.extend(run(&f, &mut cp, minute, &s));
    }
    assert_eq!(seen.len(), 1, "{seen:?}");
    let e = &seen[0];
    assert_eq!(field(e, "metric"), "probe_latency");
    assert_eq!(field(e, "threshold"), 2000.0);
    assert_eq!(field(e, "projected_at"), "2026-11-23T12:18:00Z");
    assert_eq!(field(e, "recommended"), "restart_when_quiet");
}

#[test]
fn a_lower_priority_model_is_recommended_for_eviction_first() {
    let mut llm = service("llm", Kind::Model);
    llm.priority = 5;
    let mut small = service("small", Kind::Model);
    small.priority = 1;
    let f = fleet("n", vec![llm, small]);
    let mut cp = Checkpoint::default();
    let mut seen = vec![];
    for minute in 0..=10 {
        let mut s = leak(minute);
        s.services.push(("small", Some(50), None));
        seen.extend(run(&f, &mut cp, minute, &s));
    }
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(field(&seen[0], "recommended"), "evict_lower_priority");
    assert_eq!(field(&seen[0], "evict"), "small");
}

#[test]
fn a_warming_gpu_is_a_node_prediction() {
    let f = one_model();
    let mut cp = Checkpoint::default();
    let mut seen = vec![];
    // 60 °C, +1 °C a minute: 85 °C at minute 25.
    for minute in 0..=5 {
        let s = Step {
            node_used: 500,
            services: vec![("llm", Some(100), None)],
            gpu_temperature: Some(60.0 + signed_as_f64(minute)),
        };
        seen.extend(run(&f, &mut cp, minute, &s));
    }
    assert_eq!(seen.len(), 1, "{seen:?}");
    let e = &seen[0];
    assert_eq!(
        (e.service.as_deref(), field(e, "gpu_index")),
        (None, Value::from(0))
    );
    assert_eq!(field(e, "metric"), "gpu_temperature");
    assert_eq!(field(e, "projected_at"), "2026-11-23T12:25:00Z");
    assert_eq!(field(e, "recommended"), "investigate");
    assert_eq!(cp.gpus["n/0"].series[GPU_TEMPERATURE].len(), 6);
}

#[test]
fn samples_from_before_a_restart_are_dropped() {
    let f = one_model();
    let mut cp = Checkpoint::default();
    for minute in 0..=5 {
        run(&f, &mut cp, minute, &leak(minute));
    }
    cp.services.get_mut("n/llm").unwrap().started_at = Some(t(5));
    run(&f, &mut cp, 6, &leak(6));
    assert_eq!(cp.services["n/llm"].trends.series[MEMORY].len(), 1);
}

#[test]
fn a_probe_already_at_its_timeout_predicts_nothing() {
    let f = one_model();
    let mut cp = Checkpoint::default();
    // Rising to 2100 ms (past the 2 s timeout) at the last sample, though
    // the fitted line is still below it: the health rules act, not this.
    for (minute, ms) in [900.0, 1200.0, 1500.0, 1800.0, 2100.0]
        .into_iter()
        .enumerate()
    {
        let s = Step {
            node_used: 500,
            services: vec![("llm", Some(100), Some(ms))],
            ..Step::default()
        };
        let e = run(&f, &mut cp, i64::try_from(minute).unwrap(), &s);
        assert!(e.is_empty() || minute == 3, "minute {minute}: {e:?}");
    }
    assert!(!cp.services["n/llm"]
        .trends
        .predicted
        .contains_key(PROBE_LATENCY));
}

#[test]
fn gpu_memory_is_projected_against_its_gpu() {
    let f = one_model();
    let mut cp = Checkpoint::default();
    let mut seen = vec![];
    // One 80 000 MiB GPU, 90 % = 72 000 MiB; the model adds 1000 MiB a
    // minute from 60 000 MiB: 72 000 MiB at minute 12.
    for minute in 0..=4 {
        let mut w = world_at(minute, &leak(0));
        let gpu_mib = 60_000 + 1000 * u64::try_from(minute).unwrap();
        if let Some(Obs::Valid(r)) = w.resources.get_mut("n") {
            r.gpus = vec![GpuUse {
                index: 0,
                name: None,
                memory_total_bytes: 80_000 * MIB,
                memory_used_bytes: gpu_mib * MIB,
                temperature_c: None,
                utilization: None,
            }];
        }
        if let Some(Obs::Valid(r)) = w.services.get_mut(&("n".into(), "llm".into())) {
            r.gpu_memory_bytes = Some((gpu_mib - 1000) * MIB);
        }
        seen.extend(run_world(&f, &mut cp, minute, &w));
    }
    assert_eq!(seen.len(), 1, "{seen:?}");
    let e = &seen[0];
    assert_eq!(field(e, "metric"), "gpu_memory");
    assert_eq!(field(e, "gpu_index"), 0);
    assert_eq!(field(e, "threshold"), 72_000 * MIB);
    assert_eq!(field(e, "projected_at"), "2026-11-23T12:12:00Z");
}
