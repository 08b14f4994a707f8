//! Per-service timelines over the window: health as bands (from the
//! `health_changed` events; the state before the first change is that
//! event's `from`, with none the service's state now), actions and their
//! outcomes as numbered markers, listed below with their reason text.
use std::collections::HashMap;
use std::fmt::Write;

use chrono::{DateTime, Duration, Utc};
use serde_json::Value;

use super::html::{describe, esc, state_cell};
use super::{fold, text, ts_of, Inputs, Model, Repeated, Service, State, MAX_MARKS, MAX_TIMELINES};
use crate::num::{as_f64, signed_as_f64};

/// Width of the drawing, in SVG units.
const W: f64 = 1000.0;
/// Width of the view: the drawing and room for a marker at either end.
const VW: f64 = W + 24.0;
/// Least distance between two markers' centres.
const MARK_GAP: f64 = 17.0;
/// Items listed under a timeline (the newest).
const LISTED: usize = 12;

#[derive(Debug, Clone, PartialEq)]
pub struct Band {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub state: State,
}

#[derive(Debug, Clone)]
pub struct Timeline {
    pub node: String,
    pub service: String,
    pub state: State,
    pub bands: Vec<Band>,
    /// Events drawn as markers, oldest first, repeats folded.
    pub marks: Vec<Repeated>,
    pub marks_left_out: usize,
}

/// Whether an event of a service is a marker (a health change is one when
/// it goes bad: its reason says why).
fn is_mark(e: &Value) -> bool {
    match text(e, "type") {
        "health_changed" => matches!(text(e, "to"), "dead" | "degraded"),
        "action_executed" | "action_verified" | "reconcile_blocked" | "failure_predicted"
        | "circuit_half_open" | "thrash_detected" | "service_removed" | "intent_recovered"
        | "webhook_failed" => true,
        _ => false,
    }
}

/// The health bands of one service over `[since, until]`.
pub fn bands(
    events: &[&Value],
    now_state: State,
    loading_since: Option<DateTime<Utc>>,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Vec<Band> {
    let changes: Vec<(DateTime<Utc>, Option<State>, Option<State>)> = events
        .iter()
        .filter(|e| text(e, "type") == "health_changed")
        .filter_map(|e| {
            Some((
                ts_of(e)?,
                State::of_word(text(e, "from")),
                State::of_word(text(e, "to")),
            ))
        })
        .collect();
    let mut cur = match changes.first() {
        Some((_, Some(from), _)) => *from,
        Some((_, None, _)) => State::Unknown,
        None if now_state == State::Loading => State::Unknown,
        None => now_state,
    };
    let mut out = vec![];
    let mut start = since;
    for (t, _, to) in changes {
        let t = t.clamp(since, until);
        if t > start {
            out.push(Band {
                from: start,
                to: t,
                state: cur,
            });
        }
        cur = to.unwrap_or(State::Unknown);
        start = start.max(t);
    }
    // Loading now (the checkpoint's `loading_since`): the last stretch.
    if let Some(l) = loading_since.filter(|_| now_state == State::Loading) {
        let l = l.clamp(start, until);
        if l > start {
            out.push(Band {
                from: start,
                to: l,
                state: cur,
            });
        }
        cur = State::Loading;
        start = l;
    }
    if until > start {
        out.push(Band {
            from: start,
            to: until,
            state: cur,
        });
    }
    out
}

/// The timelines drawn, how many services with events were left out, and
/// how many had no event in the window.
pub fn build(inputs: &Inputs, all: &[&Service]) -> (Vec<Timeline>, usize, usize) {
    let mut by_key: HashMap<String, Vec<&Value>> = HashMap::new();
    for e in &inputs.events.kept {
        let svc = text(e, "service");
        if !svc.is_empty() {
            by_key
                .entry(format!("{}/{svc}", text(e, "node")))
                .or_default()
                .push(e);
        }
    }
    let busy = |s: &&Service| by_key.contains_key(&s.key());
    let steady = all.iter().filter(|s| !busy(s)).count();
    let mut chosen: Vec<&Service> = if all.len() <= MAX_TIMELINES {
        all.to_vec()
    } else {
        all.iter().filter(|s| busy(s)).copied().collect()
    };
    let with_events = chosen.iter().filter(|s| busy(s)).count();
    if chosen.len() > MAX_TIMELINES {
        let weight = |s: &Service| {
            let evs = by_key.get(&s.key()).map_or(&[][..], |v| v.as_slice());
            let incidents = evs.iter().filter(|e| super::is_incident(e)).count();
            (std::cmp::Reverse(incidents), std::cmp::Reverse(evs.len()))
        };
        chosen.sort_by_key(|s| weight(s));
        chosen.truncate(MAX_TIMELINES);
        chosen.sort_by_key(|s| (s.node.clone(), s.name.clone()));
    }
    let drawn_with_events = chosen.iter().filter(|s| busy(s)).count();
    let timelines = chosen
        .into_iter()
        .map(|s| {
            let evs = by_key.get(&s.key()).cloned().unwrap_or_default();
            let loading = inputs
                .checkpoint
                .services
                .get(&s.key())
                .and_then(|st| st.loading_since);
            let mut marks = fold(evs.iter().copied().filter(|e| is_mark(e)));
            let left = marks.len().saturating_sub(MAX_MARKS);
            marks.drain(..left);
            Timeline {
                node: s.node.clone(),
                service: s.name.clone(),
                state: s.state,
                bands: bands(&evs, s.state, loading, inputs.since, inputs.made_at),
                marks,
                marks_left_out: left,
            }
        })
        .collect();
    (timelines, with_events - drawn_with_events, steady)
}

fn x_of(t: DateTime<Utc>, since: DateTime<Utc>, until: DateTime<Utc>) -> f64 {
    let span = signed_as_f64((until - since).num_milliseconds().max(1));
    (signed_as_f64((t - since).num_milliseconds()) / span * W).clamp(0.0, W)
}

/// Ticks: the smallest step that gives at most 8.
fn ticks(since: DateTime<Utc>, until: DateTime<Utc>) -> Vec<DateTime<Utc>> {
    let span = (until - since).num_seconds().max(1);
    let steps = [
        60, 300, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200, 86_400, 172_800, 604_800, 2_592_000,
    ];
    let step = steps
        .into_iter()
        .find(|s| span / s <= 8)
        .unwrap_or(span / 8 + 1);
    let first = (since.timestamp() / step + 1) * step;
    let stride = usize::try_from(step).expect("a positive step");
    (first..until.timestamp())
        .step_by(stride)
        .filter_map(|t| DateTime::from_timestamp(t, 0))
        .collect()
}

fn tick_label(t: DateTime<Utc>, since: DateTime<Utc>, until: DateTime<Utc>) -> String {
    if until - since <= Duration::days(1) {
        t.format("%H:%M").to_string()
    } else {
        t.format("%m-%d %H:%M").to_string()
    }
}

fn axis(since: DateTime<Utc>, until: DateTime<Utc>) -> String {
    let mut s = format!(
        r#"<svg viewBox="-12 0 {VW} 22" role="img" aria-label="time axis, UTC"><line class="axis" x1="0" y1="21" x2="{W}" y2="21"/>"#
    );
    for t in ticks(since, until) {
        let x = x_of(t, since, until);
        let _ = write!(
            s,
            r#"<line class="axis" x1="{x:.1}" y1="15" x2="{x:.1}" y2="21"/><text class="tick" x="{x:.1}" y="11" text-anchor="middle">{}</text>"#,
            tick_label(t, since, until)
        );
    }
    s.push_str("</svg>");
    s
}

/// The marker's class: its outcome.
fn mark_class(e: &Value) -> &'static str {
    match (text(e, "type"), text(e, "outcome")) {
        (_, "failed") => "m-failed",
        ("health_changed" | "reconcile_blocked" | "webhook_failed", _) => "m-failed",
        (_, "success" | "stopped") => "m-ok",
        (_, "started") => "m-started",
        (_, "skipped" | "left_alone" | "recommended" | "planned") => "m-skipped",
        _ => "m-other",
    }
}

fn svg(t: &Timeline, since: DateTime<Utc>, until: DateTime<Utc>) -> String {
    let mut out = format!(
        r#"<svg viewBox="-12 0 {VW} 44" role="img" aria-label="{} over the window">"#,
        esc(&format!("{}/{}", t.node, t.service))
    );
    for b in &t.bands {
        let x0 = x_of(b.from, since, until);
        let x1 = x_of(b.to, since, until);
        let w = (x1 - x0).max(0.5);
        let _ = write!(
            out,
            r#"<rect class="b-{}" x="{x0:.1}" y="18" width="{w:.1}" height="22"><title>{} from {} to {}</title></rect>"#,
            b.state.class().trim_start_matches("s-"),
            b.state.word(),
            crate::fmt::ts_secs(b.from),
            crate::fmt::ts_secs(b.to)
        );
        if w > 64.0 {
            let _ = write!(
                out,
                r#"<text class="bandtext" x="{:.1}" y="33">{} {}</text>"#,
                x0 + 5.0,
                b.state.symbol(),
                b.state.word()
            );
        }
    }
    let first = t.marks_left_out + 1;
    // Markers at their time; one that would cover the next is moved left
    // (newest first) and tied to its time by a line.
    let xs: Vec<Option<f64>> = t
        .marks
        .iter()
        .map(|r| ts_of(&r.event).map(|at| x_of(at, since, until)))
        .collect();
    let mut placed = vec![0.0; xs.len()];
    let gap = MARK_GAP.min(W / as_f64(xs.len().max(1) as u64));
    let mut next = f64::INFINITY;
    for (i, x) in xs.iter().enumerate().rev() {
        let at = x.unwrap_or(0.0);
        placed[i] = at.min(next - gap);
        next = placed[i];
    }
    // Those pushed past the start move right again, in order.
    let mut prev = f64::NEG_INFINITY;
    for p in &mut placed {
        *p = p.max(prev + gap).max(0.0);
        prev = *p;
    }
    for (i, r) in t.marks.iter().enumerate() {
        let Some(x) = xs[i] else { continue };
        let e = &r.event;
        let c = placed[i];
        let _ = write!(
            out,
            r#"<g><title>{}. {} {}</title><path class="axis" d="M{c:.1} 12L{x:.1} 18V40" fill="none"/><circle class="{}" cx="{c:.1}" cy="8" r="7.5"/><text class="marknum" x="{c:.1}" y="11" text-anchor="middle">{}</text></g>"#,
            first + i,
            r.when(),
            describe(e),
            mark_class(e),
            (first + i) % 1000
        );
    }
    out.push_str("</svg>");
    out
}

/// Writes the timelines section.
pub fn write(o: &mut String, m: &Model) {
    let _ = writeln!(
        o,
        r#"<p class="muted">Health over the window (UTC) from <code>health_changed</code> events; numbered markers are actions and their outcomes (● success, ◐ started, ○ skipped, red: failed), listed under each timeline with their reasons.{}</p>"#,
        if m.steady > 0 && m.services() > MAX_TIMELINES {
            format!(
                " {} with no event in the window are not drawn (steady: see the grid).",
                crate::fmt::count(m.steady as u64, "service", "services")
            )
        } else {
            String::new()
        }
    );
    if m.timelines.is_empty() {
        let _ = writeln!(
            o,
            r#"<p class="muted">No service had an event in the window.</p>"#
        );
        return;
    }
    let _ = writeln!(
        o,
        r#"<div class="tl"><div></div><div>{}</div>"#,
        axis(m.since, m.made_at)
    );
    for t in &m.timelines {
        let _ = write!(
            o,
            r#"<div class="who" data-timeline="{}"><b>{}</b>/{} {}</div><div>{}"#,
            esc(&format!("{}/{}", t.node, t.service)),
            esc(&t.node),
            esc(&t.service),
            state_cell(t.state, ""),
            svg(t, m.since, m.made_at)
        );
        let shown = t.marks.len().saturating_sub(LISTED);
        if !t.marks.is_empty() {
            let _ = write!(o, r#"<ol start="{}">"#, t.marks_left_out + shown + 1);
            for r in &t.marks[shown..] {
                let e = &r.event;
                let cls = if mark_class(e) == "m-failed" {
                    r#" class="failed""#
                } else {
                    ""
                };
                let _ = write!(
                    o,
                    r#"<li{cls}><span class="mono">{}</span> {}</li>"#,
                    r.when(),
                    describe(e)
                );
            }
            let _ = write!(o, "</ol>");
            if shown + t.marks_left_out > 0 {
                let _ = write!(
                    o,
                    r#"<p class="muted">{} earlier not listed (hover the markers).</p>"#,
                    shown + t.marks_left_out
                );
            }
        }
        let _ = writeln!(o, "</div>");
    }
    let _ = writeln!(o, "</div>");
    if m.timelines_left_out > 0 {
        let _ = writeln!(
            o,
            r#"<p class="muted">{} more with events in the window are not drawn (the {MAX_TIMELINES} with the most incidents are).</p>"#,
            crate::fmt::count(m.timelines_left_out as u64, "service", "services")
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        format!("2026-11-23T{s}Z").parse().unwrap()
    }

    #[test]
    fn bands_start_with_the_first_change_from_and_end_now() {
        let evs = [
            serde_json::json!({"ts": "2026-11-23T11:00:00Z", "type": "health_changed", "from": "healthy", "to": "dead"}),
            serde_json::json!({"ts": "2026-11-23T11:30:00Z", "type": "health_changed", "from": "dead", "to": "healthy"}),
        ];
        let refs: Vec<&Value> = evs.iter().collect();
        let b = bands(&refs, State::Healthy, None, t("10:00:00"), t("12:00:00"));
        let got: Vec<_> = b.iter().map(|b| (b.from, b.to, b.state)).collect();
        assert_eq!(
            got,
            [
                (t("10:00:00"), t("11:00:00"), State::Healthy),
                (t("11:00:00"), t("11:30:00"), State::Dead),
                (t("11:30:00"), t("12:00:00"), State::Healthy),
            ]
        );
        // No change: the state now, the whole window; loading since 11:50.
        let b = bands(
            &[],
            State::Loading,
            Some(t("11:50:00")),
            t("10:00:00"),
            t("12:00:00"),
        );
        let got: Vec<_> = b.iter().map(|b| b.state).collect();
        assert_eq!(got, [State::Unknown, State::Loading]);
    }

    #[test]
    fn ticks_are_few_and_inside() {
        let ts = ticks(t("00:00:00"), t("23:59:00"));
        assert!(ts.len() <= 8 && !ts.is_empty());
        assert!(ts.iter().all(|x| *x > t("00:00:00") && *x < t("23:59:00")));
    }
}
