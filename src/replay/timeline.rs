//! A replay for people: one line per step (offset, clock, summary state,
//! actions, predictions), then the score as a table. Built from the same
//! events as the JSON output.
use std::fmt::Write;

use super::scenario::Scenario;
use super::score::Score;
use super::StepSummary;
use crate::events::{Body, Event};
use crate::text::escape_control;
use chrono::{DateTime, Utc};

/// `+0s`, `+90s` as `+1m30s`, `+1h26m`: hours and minutes read better
/// than `+86m` on a long timeline.
fn offset(d: chrono::Duration) -> String {
    let d = d.to_std().unwrap_or_default();
    let s = d.as_secs();
    if d.is_zero() {
        "+0s".into()
    } else if s >= 3600 && d.subsec_millis() == 0 {
        let (h, m, s) = (s / 3600, s % 3600 / 60, s % 60);
        match (m, s) {
            (0, 0) => format!("+{h}h"),
            (m, 0) => format!("+{h}h{m}m"),
            (m, s) => format!("+{h}h{m}m{s}s"),
        }
    } else {
        format!("+{}", crate::fmt::duration(d))
    }
}

fn since(start: DateTime<Utc>, t: Option<DateTime<Utc>>) -> String {
    t.map_or_else(|| "-".into(), |t| offset(t - start))
}

/// Predictions (what is projected, when) and tuning changes.
pub fn notes(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match &e.body {
            Body::FailurePredicted(p) => {
                let at = p.projected_at.as_str();
                let clock = at.get(11..19).unwrap_or(at);
                let metric = p.metric.as_str();
                let threshold = p.threshold.as_f64().unwrap_or_default();
                let threshold = match metric {
                    "memory" | "gpu_memory" => {
                        format!("{:.1} GiB", threshold / f64::from(1u32 << 30))
                    }
                    "probe_latency" => format!("{threshold:.0} ms"),
                    "gpu_temperature" => format!("{threshold:.0} °C"),
                    _ => threshold.to_string(),
                };
                let who = match (&e.service, p.gpu_index) {
                    (Some(s), _) => s.clone(),
                    (None, Some(g)) => format!("gpu {g}"),
                    (None, None) => "gpu null".to_string(),
                };
                Some(format!("{who} {metric} past {threshold} at {clock}"))
            }
            Body::TuningChanged(t) => Some(format!(
                "{} {} {} -> {}",
                e.service.as_deref().unwrap_or(""),
                t.setting,
                t.from,
                t.to
            )),
            _ => None,
        })
        .collect()
}

pub fn header(scenario: &Scenario) -> String {
    let n = scenario.steps.len();
    let mut out = format!(
        "replay of node {} from {}: {n} step{}\n",
        scenario.node,
        crate::fmt::ts(scenario.start),
        if n == 1 { "" } else { "s" }
    );
    if let Some(d) = &scenario.description {
        let _ = writeln!(out, "{}", escape_control(d));
    }
    let _ = write!(
        out,
        "\n  {:<8} {:<9} {:<12} {:<40} predictions, tuning\n",
        "step", "time", "state", "actions"
    );
    out
}

/// One step: offset, clock, summary state, actions (or advice, or what
/// drifted), predictions and tuning.
pub fn line(s: &StepSummary) -> String {
    let text = format!(
        "  {:<8} {:<9} {:<12} {:<40} {}",
        offset(s.offset),
        s.at.format("%H:%M:%S"),
        s.state,
        escape_control(&s.actions),
        escape_control(if s.notes == "-" { "" } else { &s.notes }),
    );
    format!("{}\n", text.trim_end())
}

/// The score as a table, and the verdict.
pub fn table(scenario: &Scenario, score: &Score) -> String {
    let mut out = String::new();
    let start = scenario.start;
    let _ = writeln!(out, "\nscore");
    if !score.faults.is_empty() {
        let _ = writeln!(
            out,
            "  {:<20} {:<18} {:<8} {:<9} {:<8} handled",
            "fault", "expected", "from", "detected", "acted"
        );
        for f in &score.faults {
            let _ = writeln!(
                out,
                "  {:<20} {:<18} {:<8} {:<9} {:<8} {}",
                f.service,
                f.action.as_str(),
                offset(f.from - start),
                since(start, f.detected_at),
                since(start, f.acted_at),
                if f.ok { "yes" } else { "NO" }
            );
        }
    }
    let rows = [
        ("false actions", score.false_actions.len()),
        ("storms", score.storms.len()),
        ("pinned evicted", score.pinned_evicted),
        ("flaps", score.flaps),
    ];
    for (name, n) in rows {
        let _ = writeln!(out, "  {name:<20} {n}");
    }
    for e in &score.false_actions {
        let _ = writeln!(
            out,
            "    false action: {} {} at {}",
            e.action,
            e.service,
            offset(e.at - start)
        );
    }
    let verdict = if score.clean() {
        "passed: every fault handled in time; no false action, storm, pinned eviction or flap"
    } else {
        "not passed: see the rows above"
    };
    let _ = writeln!(out, "\n{verdict}");
    out
}
