//! Memory leaks: when a prediction is made, and when not.
use chrono::{DateTime, Utc};

use super::*;

#[test]
fn a_linear_leak_is_predicted_once_within_the_horizon() {
    let f = one_model();
    let mut cp = Checkpoint::default();
    let mut seen = vec![];
    for minute in 0..=14 {
        for e in run(&f, &mut cp, minute, &leak(minute)) {
            seen.push((minute, e));
        }
    }
    // At minute m the node holds 500 + 10m MiB, 1/6 MiB/s towards 900 MiB:
    // 6 × (400 - 10m) s away; within 30 min first at minute 10 (at 12:40).
    assert_eq!(seen.len(), 1, "{seen:?}");
    let (minute, e) = &seen[0];
    assert_eq!(*minute, 10);
    assert_eq!(e.kind(), crate::events::EventKind::FailurePredicted);
    assert_eq!(
        (e.node.as_deref(), e.service.as_deref()),
        (Some("n"), Some("llm"))
    );
    assert_eq!(field(e, "metric"), "memory");
    assert_eq!(field(e, "projected_at"), "2026-11-23T12:40:00Z");
    assert_eq!(field(e, "threshold"), 943_718_400);
    assert_eq!(field(e, "current"), 600 * MIB);
    let slope = field(e, "slope").as_f64().unwrap();
    assert!((slope - 10.0 * as_f64(MIB) / 60.0).abs() < 1e-3, "{slope}");
    assert_eq!(field(e, "r2"), 1.0);
    assert_eq!(field(e, "samples"), 11);
    assert_eq!(field(e, "recommended"), "restart_when_quiet");
    let st = &cp.services["n/llm"];
    assert_eq!(
        st.trends.predicted["memory"].projected_at,
        at("2026-11-23T12:40:00Z")
    );
}

#[test]
fn a_steady_series_predicts_nothing() {
    let f = one_model();
    let mut cp = Checkpoint::default();
    let steady = Step {
        node_used: 880,
        services: vec![("llm", Some(400), Some(1500.0))],
        gpu_temperature: Some(80.0),
    };
    for minute in 0..20 {
        assert!(run(&f, &mut cp, minute, &steady).is_empty());
    }
    assert_eq!(cp.services["n/llm"].trends.series["memory"].len(), 20);
    assert!(cp.services["n/llm"].trends.predicted.is_empty());
}

#[test]
fn a_noisy_series_predicts_nothing() {
    let f = one_model();
    let mut cp = Checkpoint::default();
    // Rising on average (about 2 MiB/min) but jumping ±100 MiB: its line
    // would cross 900 MiB within the horizon, but explains too little.
    let jitter = [0, 180, 20, 200, 40, 150, 10, 210, 60, 190, 30, 220];
    for (minute, j) in jitter.iter().enumerate() {
        let m = minute as u64;
        let s = Step {
            node_used: 600 + 2 * m + j,
            services: vec![("llm", Some(200 + 2 * m + j), None)],
            ..Step::default()
        };
        assert!(
            run(&f, &mut cp, i64::try_from(minute).unwrap(), &s).is_empty(),
            "{minute}"
        );
    }
    let fitted = fit(&cp.services["n/llm"].trends.series["memory"]).unwrap();
    assert!(fitted.slope > 0.0 && fitted.r2 < MIN_R2, "{fitted:?}");
    // Were it a good fit, it would have crossed within the horizon.
    let good = Fit { r2: 1.0, ..fitted };
    let horizon = std::time::Duration::from_mins(30);
    let used = as_f64((600 + 22 + 220) * MIB);
    let from = From {
        value: used,
        at: t(11),
    };
    assert!(crossing(&good, from, 0.9 * as_f64(TOTAL), t(11), horizon).is_some());
}

#[test]
fn fewer_than_four_samples_predict_nothing() {
    let f = one_model();
    let mut cp = Checkpoint::default();
    // 100 MiB a minute from 500 MiB: 4 minutes from 900 MiB at once.
    let fast = |m: u64| Step {
        node_used: 500 + 100 * m,
        services: vec![("llm", Some(100 + 100 * m), None)],
        ..Step::default()
    };
    for minute in 0..3 {
        assert!(run(&f, &mut cp, minute, &fast(u64::try_from(minute).unwrap())).is_empty());
    }
    let e = run(&f, &mut cp, 3, &fast(3));
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(field(&e[0], "samples"), 4);
    // 800 MiB at minute 3, 100 MiB/min to 900 MiB: one minute later.
    assert_eq!(field(&e[0], "projected_at"), "2026-11-23T12:04:00Z");
}

#[test]
fn already_past_the_threshold_predicts_nothing() {
    let f = one_model();
    let mut cp = Checkpoint::default();
    for minute in 0..8 {
        let m = u64::try_from(minute).unwrap();
        let s = Step {
            node_used: 910 + 5 * m,
            services: vec![("llm", Some(300 + 5 * m), None)],
            ..Step::default()
        };
        assert!(run(&f, &mut cp, minute, &s).is_empty());
    }
}

#[test]
fn a_repeat_needs_the_projection_to_move_materially() {
    let p = Predicted {
        projected_at: t(30),
        emitted_at: t(0),
        threshold: 1.0,
        slope: 1.0,
        recommended: "investigate".into(),
    };
    // 20 minutes left at minute 10: a tenth is 2 min, so 5 min counts.
    assert!(!material(Some(&p), t(34), t(10)));
    assert!(!material(Some(&p), t(25), t(10)));
    assert!(material(Some(&p), t(36), t(10)));
    assert!(material(None, t(36), t(10)));
    // 100 minutes left: a tenth (10 min) is the bar.
    let far = Predicted {
        projected_at: t(100),
        ..p
    };
    assert!(!material(Some(&far), t(109), t(0)));
    assert!(material(Some(&far), t(111), t(0)));

    // Through decide: the leak doubles its pace at minute 12; the new
    // projection (12:31 instead of 12:40) is reported once more.
    let f = one_model();
    let mut cp = Checkpoint::default();
    let mut seen = vec![];
    for minute in 0..=11 {
        seen.extend(run(&f, &mut cp, minute, &leak(minute)));
    }
    assert_eq!(seen.len(), 1);
    let mut faster = vec![];
    for minute in 12..=16 {
        let k = u64::try_from(minute - 11).unwrap();
        let s = Step {
            node_used: 610 + 30 * k,
            services: vec![("llm", Some(210 + 30 * k), None)],
            ..Step::default()
        };
        // The fit needs the old samples to stop dominating it first.
        faster.extend(
            run(&f, &mut cp, minute, &s)
                .into_iter()
                .map(|e| (minute, e)),
        );
    }
    assert!(!faster.is_empty(), "no repeat after the pace tripled");
    for (minute, e) in &faster {
        let projected: DateTime<Utc> = field(e, "projected_at").as_str().unwrap().parse().unwrap();
        assert!(projected < t(35), "minute {minute}: {e:?}");
    }
}

#[test]
fn predictive_false_predicts_nothing_and_keeps_no_series() {
    let mut f = one_model();
    f.nodes.get_mut("n").unwrap().settings.predictive = false;
    let mut cp = Checkpoint::default();
    for minute in 0..=14 {
        assert!(run(&f, &mut cp, minute, &leak(minute)).is_empty());
    }
    assert!(cp.services["n/llm"].trends.is_empty());
}

#[test]
fn a_prediction_beyond_the_horizon_waits() {
    let mut f = one_model();
    f.nodes.get_mut("n").unwrap().settings.predict_horizon = std::time::Duration::from_mins(10);
    let mut cp = Checkpoint::default();
    let mut seen = vec![];
    for minute in 0..=14 {
        seen.extend(
            run(&f, &mut cp, minute, &leak(minute))
                .into_iter()
                .map(|e| (minute, e)),
        );
    }
    // 10 minutes ahead: 6 × (400 - 10m) ≤ 600 first at minute 30: never here.
    assert!(seen.is_empty(), "{seen:?}");
}

#[test]
fn records_that_stop_changing_neither_repeat_nor_drift() {
    let f = one_model();
    let mut cp = Checkpoint::default();
    let mut seen = 0;
    for minute in 0..=10 {
        seen += run(&f, &mut cp, minute, &leak(minute)).len();
    }
    assert_eq!(seen, 1);
    // The projection starts from when the node's memory was measured
    // (minute 10), not from now: it stays at 12:40 and is not repeated.
    for minute in 11..=39 {
        assert!(run_stale(&f, &mut cp, minute, 10, &leak(10)).is_empty());
        let p = &cp.services["n/llm"].trends.predicted["memory"];
        assert_eq!(p.projected_at, t(40), "minute {minute}");
    }
    // Once the crossing time has passed without new samples, or the last
    // sample is older than the horizon, nothing is predicted.
    assert!(run_stale(&f, &mut cp, 40, 10, &leak(10)).is_empty());
    assert!(cp.services["n/llm"].trends.predicted.is_empty());
    let last = cp.services["n/llm"].trends.series[MEMORY]
        .last()
        .unwrap()
        .at;
    assert!(fresh(last, t(40), std::time::Duration::from_mins(30)));
    assert!(!fresh(last, t(41), std::time::Duration::from_mins(30)));
}

#[test]
fn a_horizon_of_centuries_does_not_overflow() {
    let fit = Fit {
        slope: 1e-12,
        intercept: 0.0,
        t0: t(0),
        r2: 1.0,
        samples: 10,
    };
    let from = From {
        value: 0.0,
        at: t(0),
    };
    let horizon = std::time::Duration::from_secs(u64::MAX / 4);
    assert_eq!(crossing(&fit, from, 1e12, t(0), horizon), None);
    assert!(fresh(t(0), t(1), horizon));
}

/// docs/reference/behaviour.md, "Probe period": a series samples at the rate observations arrive (a probe
/// period apart at most), so a fast leak observed every 30 s is predicted
/// by its 5th observation, not its 7th (v2 took a sample per 56 s).
#[test]
fn a_fast_leak_observed_every_30s_is_predicted_by_its_fifth_observation() {
    let f = one_model();
    let mut cp = Checkpoint::default();
    let mut first = None;
    for i in 0..8i64 {
        // 16 MiB per 30 s from 500 MiB: 900 MiB (90 %) in 12.5 minutes.
        let k = u64::try_from(i).unwrap();
        let step = Step {
            node_used: 500 + 16 * k,
            services: vec![("llm", Some(100 + 16 * k), None)],
            gpu_temperature: None,
        };
        let now = t(0) + Duration::seconds(30 * i);
        let events = run_world_at(&f, &mut cp, now, &world_at_time(now, &step));
        if first.is_none() && !events.is_empty() {
            first = Some(i + 1);
        }
    }
    let first = first.expect("the leak is predicted");
    assert!(first <= 5, "predicted at observation {first}");
    assert!(first >= 4, "four samples at least: observation {first}");
}
