//! How times and durations are written, in one place: timestamps as RFC
//! 3339 in UTC (`2026-11-23T12:00:00Z`, fractions only when there are
//! some), durations in the shape the configuration uses (`2s`, `1500ms`,
//! `5m`, `1m30s`, `2h`), sizes for people in GiB (`29.3 GiB`; under 1 GiB
//! in MiB), an instant relative to another (`in 12s`, `3m ago`) and a count
//! with its noun (`1 node`, `3 nodes`). Pure: the decision core uses it too.
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};

use crate::num::as_f64;

pub fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// A timestamp for people: RFC 3339 in UTC, to the second.
pub fn ts_secs(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// `t` as seen from `from`, in its largest whole unit: `in 12s`, `3m ago`,
/// `2h ago`, `in 3d`; `just now` within a second.
pub fn relative(t: DateTime<Utc>, from: DateTime<Utc>) -> String {
    let secs = (t - from).num_seconds();
    let a = secs.unsigned_abs();
    let span = match a {
        0 => return "just now".to_string(),
        a if a < 60 => format!("{a}s"),
        a if a < 3600 => format!("{}m", a / 60),
        a if a < 86400 => format!("{}h", a / 3600),
        a => format!("{}d", a / 86400),
    };
    if secs > 0 {
        format!("in {span}")
    } else {
        format!("{span} ago")
    }
}

/// A count and its noun, singular for one: `1 node`, `0 nodes`, `3 nodes`.
pub fn count(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

pub fn duration(d: Duration) -> String {
    let s = d.as_secs();
    if d.subsec_millis() != 0 || s == 0 {
        return format!("{}ms", d.as_millis());
    }
    match s {
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s if s > 60 => format!("{}m{}s", s / 60, s % 60),
        s => format!("{s}s"),
    }
}

/// A span of time for people, in at most two units: `4s`, `350ms`,
/// `2m5s`, `3h10m`, `2d4h` (a setting is written with [`duration`], which
/// keeps every unit, as the configuration does).
pub fn span(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0 => format!("{}ms", d.as_millis()),
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => two(s / 60, "m", s % 60, "s"),
        s if s < 86400 => two(s / 3600, "h", s % 3600 / 60, "m"),
        s => two(s / 86400, "d", s % 86400 / 3600, "h"),
    }
}

fn two(a: u64, ua: &str, b: u64, ub: &str) -> String {
    if b == 0 {
        format!("{a}{ua}")
    } else {
        format!("{a}{ua}{b}{ub}")
    }
}

/// A size for people: GiB with one decimal, or whole MiB under 1 GiB
/// (events carry the exact bytes in their own fields).
pub fn size(bytes: u64) -> String {
    const MIB: f64 = 1_048_576.0;
    if bytes < 1 << 30 {
        return format!("{} MiB", (as_f64(bytes) / MIB).round());
    }
    format!("{:.1} GiB", as_f64(bytes) / (MIB * 1024.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_span_reads_in_at_most_two_units_not_in_milliseconds() {
        let d = |ms| span(Duration::from_millis(ms));
        // "seen up 16549ms after the start" was a run's elapsed time
        // written as a setting is.
        assert_eq!(d(16_549), "16s");
        assert_eq!(d(350), "350ms");
        assert_eq!(d(125_000), "2m5s");
        assert_eq!(d(3_660_000), "1h1m");
        assert_eq!(duration(Duration::from_millis(16_549)), "16549ms");
    }

    #[test]
    fn durations_read_like_the_config() {
        let d = |ms| duration(Duration::from_millis(ms));
        assert_eq!(d(2000), "2s");
        assert_eq!(d(1500), "1500ms");
        assert_eq!(d(0), "0ms");
        assert_eq!(d(300_000), "5m");
        assert_eq!(d(90_000), "1m30s");
        assert_eq!(d(7_200_000), "2h");
        assert_eq!(d(60_000), "1m");
    }

    #[test]
    fn sizes_are_gib_or_mib() {
        assert_eq!(size(31_457_280_000), "29.3 GiB");
        assert_eq!(size(2 << 30), "2.0 GiB");
        assert_eq!(size(512 << 20), "512 MiB");
        assert_eq!(size(0), "0 MiB");
    }

    #[test]
    fn relative_times_count_from_the_reference() {
        let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        let from = at("2026-11-23T12:00:00Z");
        let r = |s| relative(at(s), from);
        assert_eq!(r("2026-11-23T12:00:12Z"), "in 12s");
        assert_eq!(r("2026-11-23T11:57:00Z"), "3m ago");
        assert_eq!(r("2026-11-23T11:56:01Z"), "3m ago", "whole minutes");
        assert_eq!(r("2026-11-23T10:00:00Z"), "2h ago");
        assert_eq!(r("2026-11-26T12:00:00Z"), "in 3d");
        assert_eq!(r("2026-11-23T11:59:59Z"), "1s ago");
        assert_eq!(r("2026-11-23T12:00:00.4Z"), "just now");
    }

    #[test]
    fn counts_agree_with_their_noun() {
        assert_eq!(count(1, "node", "nodes"), "1 node");
        assert_eq!(count(0, "node", "nodes"), "0 nodes");
        assert_eq!(count(11, "service", "services"), "11 services");
    }

    #[test]
    fn timestamps_for_people_stop_at_the_second() {
        let t: DateTime<Utc> = "2026-11-27T16:42:52.266190346Z".parse().unwrap();
        assert_eq!(ts_secs(t), "2026-11-27T16:42:52Z");
    }

    #[test]
    fn timestamps_are_utc_rfc3339() {
        let t: DateTime<Utc> = "2026-11-23T12:00:00Z".parse().unwrap();
        assert_eq!(ts(t), "2026-11-23T12:00:00Z");
    }
}
