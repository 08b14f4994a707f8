use proptest::prelude::*;

use super::*;
use crate::core::testutil::at;

fn configured() -> Configured {
    Configured {
        degraded_after: 2,
        dead_after: 5,
        backoff_base_ms: 5000,
        backoff_max_ms: 300_000,
    }
}

fn t0() -> DateTime<Utc> {
    at("2026-11-23T12:00:00Z")
}

fn mins(m: i64) -> DateTime<Utc> {
    t0() + chrono::Duration::minutes(m)
}

fn seen(observation: Observation) -> Seen<'static> {
    Seen {
        observation,
        evicted: false,
        acted_at: None,
        pending: false,
        verified: None,
        attempts: 0,
    }
}

/// One failing observation at `m` minutes, `up` a minute later.
fn blip(t: &mut Tuning, m: i64) -> Vec<Change> {
    let c = configured();
    let mut out = update(t, &c, &seen(Observation::Failing), mins(m));
    out.extend(update(t, &c, &seen(Observation::Up), mins(m + 1)));
    out
}

fn restart_verified(t: &mut Tuning, success: bool, attempts: u32, m: i64) -> Vec<Change> {
    let v = Verified {
        action: crate::core::Action::Restart,
        success,
        reason: String::new(),
        after_ms: 3000,
    };
    let s = Seen {
        verified: Some(&v),
        attempts,
        acted_at: Some(mins(m) - chrono::Duration::seconds(3)),
        pending: true,
        ..seen(Observation::Up)
    };
    update(t, &configured(), &s, mins(m))
}

#[test]
fn recovering_alone_three_times_raises_degraded_after_once() {
    let mut t = Tuning::default();
    assert!(blip(&mut t, 0).is_empty());
    assert!(blip(&mut t, 5).is_empty());
    let changes = blip(&mut t, 10);
    assert_eq!(changes.len(), 1, "{changes:?}");
    let c = &changes[0];
    assert_eq!((c.setting, c.from, c.to), (Setting::DegradedAfter, 2, 3));
    assert!(
        c.reason.contains("recovered on its own 3 times"),
        "{}",
        c.reason
    );
    let e = effective(&configured(), &t, true);
    assert_eq!((e.degraded_after, e.dead_after), (3, 5));
    // Blips of one observation are now two short of the threshold: it
    // has converged and moves no further, however long it goes on.
    for h in 1..10 {
        assert!(blip(&mut t, h * 60 + 20).is_empty());
    }
    assert_eq!(effective(&configured(), &t, true).degraded_after, 3);
}

#[test]
fn at_most_one_step_per_setting_per_hour() {
    // Two-observation blips keep asking for more patience.
    let c = configured();
    let mut t = Tuning::default();
    let mut steps = vec![];
    for i in 0..40 {
        let m = i * 10;
        update(&mut t, &c, &seen(Observation::Failing), mins(m));
        update(&mut t, &c, &seen(Observation::Failing), mins(m + 1));
        for ch in update(&mut t, &c, &seen(Observation::Up), mins(m + 2)) {
            steps.push((m + 2, ch));
        }
    }
    let raised: Vec<_> = steps
        .iter()
        .filter(|(_, c)| c.setting == Setting::DegradedAfter)
        .collect();
    assert_eq!(raised.len(), 2, "{steps:?}");
    assert!(raised[1].0 - raised[0].0 >= 60, "{raised:?}");
    // 2 → 3 → 4: the bound (twice the configured 2), then no further.
    assert_eq!((raised[0].1.to, raised[1].1.to), (3, 4));
    assert_eq!(effective(&c, &t, true).degraded_after, 4);
}

#[test]
fn an_episode_this_tool_acted_in_is_not_a_recovery_on_its_own() {
    let c = configured();
    let mut t = Tuning::default();
    for i in 0..5 {
        let m = i * 10;
        update(&mut t, &c, &seen(Observation::Failing), mins(m));
        let acted = Seen {
            acted_at: Some(mins(m)),
            ..seen(Observation::Up)
        };
        assert!(update(&mut t, &c, &acted, mins(m + 1)).is_empty());
    }
    assert_eq!(t.evidence.recovered_alone, 0);
    assert!(t.degraded_after.is_none());
}

#[test]
fn restarts_up_at_the_first_attempt_lower_dead_after_and_the_backoff() {
    let mut t = Tuning::default();
    assert!(restart_verified(&mut t, true, 1, 0).is_empty());
    assert!(restart_verified(&mut t, true, 1, 10).is_empty());
    let changes = restart_verified(&mut t, true, 1, 20);
    let moved: Vec<_> = changes.iter().map(|c| (c.setting, c.from, c.to)).collect();
    assert_eq!(
        moved,
        vec![
            (Setting::DeadAfter, 5, 4),
            (Setting::BackoffBase, 5000, 2500)
        ]
    );
    assert_eq!(
        changes[1].event(Some("n"), Some("s")).fields()["to"],
        "2500ms"
    );
    // A failed verdict breaks the streak.
    restart_verified(&mut t, true, 1, 90);
    restart_verified(&mut t, false, 1, 100);
    assert!(restart_verified(&mut t, true, 1, 110).is_empty());
}

#[test]
fn restarts_up_only_after_retries_lengthen_the_backoff() {
    let mut t = Tuning::default();
    restart_verified(&mut t, true, 2, 0);
    restart_verified(&mut t, true, 3, 10);
    let changes = restart_verified(&mut t, true, 2, 20);
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(
        (changes[0].setting, changes[0].from, changes[0].to),
        (Setting::BackoffBase, 5000, 10_000)
    );
    let mut s = crate::core::testutil::settings();
    assert_eq!(backoff_base(&s, &t), Duration::from_secs(5), "adaptive off");
    s.adaptive = true;
    assert_eq!(backoff_base(&s, &t), Duration::from_secs(10));
}

#[test]
fn adaptive_off_changes_nothing_and_ignores_tuned_values() {
    let mut t = Tuning::default();
    for i in 0..3 {
        blip(&mut t, i * 10);
    }
    let tuned = t.clone();
    let spec = crate::core::testutil::service("api", crate::desired::Kind::Service);
    let settings = crate::core::testutil::settings();
    assert!(!settings.adaptive);
    assert_eq!(health_spec(&spec, &settings, &tuned).degraded_after, 2);
    let mut state = ServiceState {
        tuning: tuned.clone(),
        health: Health::Healthy,
        ..Default::default()
    };
    let prev = state.clone();
    for obs in [Observation::Failing, Observation::Up, Observation::Down] {
        let changes = on_run(&mut state, &prev, &spec, &settings, obs, None, mins(500));
        assert!(changes.is_empty());
    }
    assert_eq!(state.tuning, tuned, "kept, untouched");
}

#[test]
fn a_reset_is_reported_once_as_the_values_that_went_back() {
    let mut t = Tuning::default();
    for m in [0, 5, 10] {
        blip(&mut t, m);
    }
    assert_eq!(effective(&configured(), &t, true).degraded_after, 3);
    // What `reset --tuning` leaves: no values, no evidence, the note.
    let values = Tuning {
        evidence: crate::checkpoint::tuning::Evidence::default(),
        ..t
    };
    let mut t = Tuning {
        reset: Some(Box::new(values)),
        ..Tuning::default()
    };
    let changes = update(&mut t, &configured(), &seen(Observation::Up), mins(20));
    let got: Vec<_> = changes
        .iter()
        .map(|c| (c.setting, c.from, c.to, c.reason.as_str()))
        .collect();
    assert_eq!(got, [(Setting::DegradedAfter, 3, 2, RESET_REASON)]);
    assert!(t.reset.is_none() && t.is_empty(), "{t:?}");
    assert!(update(&mut t, &configured(), &seen(Observation::Up), mins(21)).is_empty());
}

#[test]
fn a_changed_configuration_discards_the_tuned_value() {
    let mut t = Tuning::default();
    for i in 0..3 {
        blip(&mut t, i * 10);
    }
    assert_eq!(effective(&configured(), &t, true).degraded_after, 3);
    let edited = Configured {
        degraded_after: 4,
        dead_after: 8,
        ..configured()
    };
    assert_eq!(effective(&edited, &t, true).degraded_after, 4);
    update(&mut t, &edited, &seen(Observation::Unknown), mins(30));
    assert!(t.degraded_after.is_none());
}

/// One step of a random history: an observation, whether this tool acted,
/// a restart verdict (none, success or failure, at attempt 1–4), and the
/// minutes since the previous step.
fn history() -> impl Strategy<Value = Vec<(u8, bool, u8, u32, i64)>> {
    prop::collection::vec((0u8..5, any::<bool>(), 0u8..3, 1u32..5, 0i64..90), 1..300)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Tuning never leaves its bounds, keeps dead_after above
    /// degraded_after once it moved them, and takes at most one step per
    /// setting per hour, whatever the history and configuration.
    #[test]
    fn tuning_never_leaves_its_bounds(
        steps in history(),
        degraded in 1u64..6,
        extra in 0u64..6,
        base_s in 1u64..30,
    ) {
        let c = Configured {
            degraded_after: degraded,
            dead_after: degraded + extra,
            backoff_base_ms: base_s * 1000,
            backoff_max_ms: 300_000,
        };
        let mut t = Tuning::default();
        let mut now = t0();
        let mut last = std::collections::BTreeMap::<&str, DateTime<Utc>>::new();
        for (obs, acted, verdict, attempts, wait) in steps {
            now += chrono::Duration::minutes(wait);
            let observation = [
                Observation::Up,
                Observation::Failing,
                Observation::Degraded,
                Observation::Down,
                Observation::Unknown,
            ][obs as usize];
            let v = Verified {
                action: crate::core::Action::Restart,
                success: verdict == 1,
                reason: String::new(),
                after_ms: 0,
            };
            let s = Seen {
                observation,
                evicted: false,
                acted_at: acted.then_some(now),
                pending: false,
                verified: (verdict > 0).then_some(&v),
                attempts,
            };
            for ch in update(&mut t, &c, &s, now) {
                let name = ch.setting.as_str();
                if let Some(before) = last.insert(name, now) {
                    prop_assert!(now - before >= STEP_EVERY, "{name} twice within an hour");
                }
                prop_assert!(ch.from != ch.to);
            }
            let e = effective(&c, &t, true);
            for setting in Setting::ALL {
                prop_assert!(c.range(setting).contains(e.get(setting)), "{setting:?} {e:?}");
            }
            prop_assert!(e.dead_after >= e.degraded_after);
            if t.degraded_after.is_some() || t.dead_after.is_some() {
                prop_assert!(e.dead_after > e.degraded_after, "{e:?}");
            }
            prop_assert!(e.backoff_base_ms <= c.backoff_max_ms.max(c.backoff_base_ms));
        }
    }
}

#[test]
fn a_step_time_in_the_future_counts_as_now() {
    let mut t = Tuning::default();
    for i in 0..3 {
        blip(&mut t, i * 10);
    }
    // The clock went back a day: the step seems to lie in the future.
    let now = mins(21) - chrono::Duration::days(1);
    let mut cp = crate::checkpoint::Checkpoint::default();
    cp.services.insert(
        "n/s".into(),
        Box::new(ServiceState {
            tuning: t,
            ..Default::default()
        }),
    );
    crate::core::clock::clamp_future(&mut cp, now);
    let t = &mut cp.services.get_mut("n/s").unwrap().tuning;
    assert_eq!(t.degraded_after.unwrap().changed_at, now);
    // More patience is due again, but only an hour after "now", not a day.
    let c = configured();
    let minute = |m: i64| now + chrono::Duration::minutes(m);
    let mut steps = vec![];
    for i in 0..12 {
        let episode = [Observation::Failing, Observation::Failing, Observation::Up];
        for (k, obs) in episode.into_iter().enumerate() {
            let m = i * 10 + i64::try_from(k).unwrap();
            for ch in update(t, &c, &seen(obs), minute(m)) {
                steps.push((m, ch.setting));
            }
        }
    }
    assert!(
        !steps.is_empty() && steps[0].0 >= 60 && steps[0].0 < 90,
        "{steps:?}"
    );
}
