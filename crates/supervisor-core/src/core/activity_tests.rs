//! Activity from the world record and the live probes (docs/reference/behaviour.md, "Activity").
use super::*;
use crate::core::testutil::at;

fn known(requests: Option<u64>, in_flight: Option<u64>, conns: Option<u64>) -> LiveActivity {
    LiveActivity::Known {
        source: "metrics",
        requests_total: requests,
        in_flight,
        connections: conns,
        own_requests: 0,
        note: None,
    }
}

#[test]
fn a_rise_by_no_more_than_our_own_inference_check_is_not_use() {
    let mut st = ServiceState::default();
    let ours = |n| LiveActivity::Known {
        source: "metrics",
        requests_total: Some(n),
        in_flight: Some(0),
        connections: None,
        own_requests: 1,
        note: None,
    };
    let seen = runs(
        &mut st,
        &[
            ("2026-11-23T12:00:00Z", ours(10)),
            ("2026-11-23T12:00:10Z", ours(11)),
            ("2026-11-23T12:00:20Z", ours(12)),
            ("2026-11-23T12:00:30Z", ours(20)),
        ],
    );
    let times: Vec<_> = seen.iter().map(|a| a.since().unwrap()).collect();
    assert_eq!(
        times,
        vec![
            at("2026-11-23T12:00:00Z"),
            at("2026-11-23T12:00:00Z"),
            at("2026-11-23T12:00:00Z"),
            at("2026-11-23T12:00:30Z"),
        ]
    );
}

fn record(last_activity: Option<&str>) -> ServiceRecord {
    let mut v = serde_json::json!({"status": "ok", "observed_at": "2026-11-23T11:00:00Z"});
    if let Some(a) = last_activity {
        v["last_activity"] = a.into();
    }
    serde_json::from_value(v).unwrap()
}

/// Runs `track` at each (time, live reading) in turn, carrying the state.
fn runs(state: &mut ServiceState, seen: &[(&str, LiveActivity)]) -> Vec<Activity> {
    seen.iter()
        .map(|(t, live)| track(state, None, Some(live), (false, false), at(t)))
        .collect()
}

#[test]
fn unknown_activity_is_never_idle_unless_the_node_says_so() {
    let mut st = ServiceState {
        started_at: Some(at("2026-11-23T10:00:00Z")),
        ..Default::default()
    };
    let why = LiveActivity::Unknown("connections: the process listens on no TCP port".into());
    let a = track(
        &mut st,
        None,
        Some(&why),
        (false, false),
        at("2026-11-23T12:00:00Z"),
    );
    assert_eq!(
        a,
        Activity::Unknown("connections: the process listens on no TCP port".into())
    );
    // Remembered for `status` and `policies`, and a run without a probe
    // (a remote node, `check` without --live) says why too.
    let a = track(
        &mut st,
        None,
        None,
        (false, false),
        at("2026-11-23T12:00:10Z"),
    );
    assert!(matches!(a, Activity::Unknown(ref w) if w.contains("listens on no TCP port")));
    let mut fresh = ServiceState::default();
    let a = track(
        &mut fresh,
        None,
        None,
        (false, false),
        at("2026-11-23T12:00:00Z"),
    );
    assert!(matches!(a, Activity::Unknown(ref w) if w.contains("no `last_activity`")));
    // `idle_without_activity: true`: the last start counts.
    let a = track(
        &mut st,
        None,
        Some(&why),
        (true, false),
        at("2026-11-23T12:00:00Z"),
    );
    assert_eq!(a, Activity::Known(at("2026-11-23T10:00:00Z")));
}

#[test]
fn a_rising_counter_is_use_and_a_flat_one_is_idle_from_when_it_became_known() {
    let mut st = ServiceState::default();
    let seen = runs(
        &mut st,
        &[
            ("2026-11-23T12:00:00Z", known(Some(10), Some(0), None)),
            ("2026-11-23T12:00:30Z", known(Some(10), Some(0), None)),
            ("2026-11-23T12:01:00Z", known(Some(14), Some(0), None)),
            ("2026-11-23T12:05:00Z", known(Some(14), Some(0), None)),
        ],
    );
    assert_eq!(
        seen,
        vec![
            // Known from the first reading, never earlier.
            Activity::Known(at("2026-11-23T12:00:00Z")),
            Activity::Known(at("2026-11-23T12:00:00Z")),
            Activity::Known(at("2026-11-23T12:01:00Z")),
            Activity::Known(at("2026-11-23T12:01:00Z")),
        ]
    );
    assert_eq!(st.activity.counter, Some(14));
}

#[test]
fn a_request_in_flight_or_a_connection_is_use() {
    let mut st = ServiceState::default();
    let seen = runs(
        &mut st,
        &[
            ("2026-11-23T12:00:00Z", known(None, Some(0), None)),
            ("2026-11-23T12:03:00Z", known(None, Some(1), None)),
            ("2026-11-23T12:06:00Z", known(None, None, Some(2))),
            ("2026-11-23T12:09:00Z", known(None, None, Some(0))),
        ],
    );
    let times: Vec<_> = seen.iter().map(|a| a.since().unwrap()).collect();
    assert_eq!(
        times,
        vec![
            at("2026-11-23T12:00:00Z"),
            at("2026-11-23T12:03:00Z"),
            at("2026-11-23T12:06:00Z"),
            at("2026-11-23T12:06:00Z"),
        ]
    );
    assert_eq!(in_flight(None, Some(&known(None, Some(3), None))), 3);
}

#[test]
fn a_gap_in_readings_restarts_the_idle_clock() {
    let mut st = ServiceState::default();
    let seen = runs(
        &mut st,
        &[
            ("2026-11-23T12:00:00Z", known(Some(1), None, None)),
            (
                "2026-11-23T12:10:00Z",
                LiveActivity::Unknown("metrics: HTTP 500".into()),
            ),
            ("2026-11-23T12:20:00Z", known(Some(1), None, None)),
        ],
    );
    assert_eq!(seen[1], Activity::Unknown("metrics: HTTP 500".into()));
    // Idle is counted only over time it could be seen: from 12:20.
    assert_eq!(seen[2], Activity::Known(at("2026-11-23T12:20:00Z")));
}

#[test]
fn the_world_record_comes_first_and_a_start_is_never_idle_time() {
    let mut st = ServiceState {
        started_at: Some(at("2026-11-23T11:30:00Z")),
        ..Default::default()
    };
    let rec = record(Some("2026-11-23T11:50:00Z"));
    let a = track(
        &mut st,
        Some(&rec),
        None,
        (false, false),
        at("2026-11-23T12:00:00Z"),
    );
    assert_eq!(a, Activity::Known(at("2026-11-23T11:50:00Z")));
    let old = record(Some("2026-11-23T11:00:00Z"));
    let a = track(
        &mut st,
        Some(&old),
        None,
        (false, false),
        at("2026-11-23T12:00:00Z"),
    );
    assert_eq!(a, Activity::Known(at("2026-11-23T11:30:00Z")));
    assert_eq!(last_use(&st, Some(&old)), Some(at("2026-11-23T11:00:00Z")));
}

#[test]
fn with_connections_only_a_process_that_worked_since_the_last_run_is_in_use() {
    let conns = |n| LiveActivity::Known {
        source: "connections",
        requests_total: None,
        in_flight: None,
        connections: Some(n),
        own_requests: 0,
        note: None,
    };
    let mut st = ServiceState::default();
    track(
        &mut st,
        None,
        Some(&conns(0)),
        (false, false),
        at("2026-11-23T12:00:00Z"),
    );
    // No connection at the moment of the run, but it worked meanwhile.
    let a = track(
        &mut st,
        None,
        Some(&conns(0)),
        (false, true),
        at("2026-11-23T12:00:30Z"),
    );
    assert_eq!(a, Activity::Known(at("2026-11-23T12:00:30Z")));
    // Metrics say what they say: CPU is not looked at.
    let metrics = known(Some(5), Some(0), None);
    let mut st = ServiceState::default();
    track(
        &mut st,
        None,
        Some(&metrics),
        (false, false),
        at("2026-11-23T12:00:00Z"),
    );
    let a = track(
        &mut st,
        None,
        Some(&metrics),
        (false, true),
        at("2026-11-23T12:00:30Z"),
    );
    assert_eq!(a, Activity::Known(at("2026-11-23T12:00:00Z")));
}
