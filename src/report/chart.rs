//! Memory charts: a service's `memory` and `gpu_memory` sample series
//! (the checkpoint's `trends`), and when a crossing is predicted, the
//! projection to it. The threshold is the node's (`memory_pressure` or
//! `gpu_pressure` × the node's or GPU's total): the projection reaches it
//! when the service has grown by what the node has left, so the chart
//! draws it at that level of the service's own series.
use std::fmt::Write;

use chrono::{DateTime, Duration, Utc};

use super::html::esc;
use super::{Inputs, Model, Node, MAX_CHARTS};
use crate::checkpoint::trends::{Predicted, Sample};
use crate::fmt::{size, ts_secs};
use crate::num::{saturating_u64, signed_as_f64};

/// The series charted, in this order.
const METRICS: [&str; 2] = ["memory", "gpu_memory"];

#[derive(Debug, Clone)]
pub struct Chart {
    pub node: String,
    pub service: String,
    pub metric: String,
    pub samples: Vec<Sample>,
    pub predicted: Option<Predicted>,
    /// The node's pressure ratio for this metric, when hosts/ was read.
    pub pressure: Option<f64>,
}

impl Chart {
    /// How much the series grew, relative to where it started.
    fn growth(&self) -> f64 {
        match (self.samples.first(), self.samples.last()) {
            (Some(a), Some(b)) => (b.v - a.v) / a.v.abs().max(1.0),
            _ => 0.0,
        }
    }
}

/// The charts drawn (every predicted crossing first, then the series that
/// grew most) and how many more series there were.
pub fn build(inputs: &Inputs, nodes: &[Node]) -> (Vec<Chart>, usize) {
    let mut all = vec![];
    for n in nodes {
        for s in &n.services {
            let Some(st) = inputs.checkpoint.services.get(&s.key()) else {
                continue;
            };
            for metric in METRICS {
                let samples = st.trends.series.get(metric).cloned().unwrap_or_default();
                let predicted = st.trends.predicted.get(metric).cloned();
                if samples.len() < 2 && predicted.is_none() {
                    continue;
                }
                let samples: Vec<Sample> =
                    samples.into_iter().filter(|x| x.v.is_finite()).collect();
                if samples.is_empty() {
                    continue;
                }
                all.push(Chart {
                    node: n.name.clone(),
                    service: s.name.clone(),
                    metric: metric.to_string(),
                    samples,
                    predicted,
                    pressure: if metric == "memory" {
                        n.memory_pressure
                    } else {
                        n.gpu_pressure
                    },
                });
            }
        }
    }
    let total = all.len();
    all.sort_by(|a, b| {
        b.predicted
            .is_some()
            .cmp(&a.predicted.is_some())
            .then(b.growth().total_cmp(&a.growth()))
            .then((&a.node, &a.service, &a.metric).cmp(&(&b.node, &b.service, &b.metric)))
    });
    all.truncate(MAX_CHARTS);
    (all.clone(), total - all.len())
}

const X0: f64 = 58.0;
const X1: f64 = 468.0;
const Y0: f64 = 12.0;
const Y1: f64 = 150.0;

fn bytes(v: f64) -> String {
    size(saturating_u64(v))
}

/// The projection's end: when and at what level of this series.
fn projection(c: &Chart) -> Option<(Sample, Sample)> {
    let p = c.predicted.as_ref()?;
    let last = *c.samples.last()?;
    let secs = signed_as_f64((p.projected_at - last.at).num_milliseconds()) / 1000.0;
    let end = Sample {
        at: p.projected_at,
        v: last.v + p.slope * secs.max(0.0),
    };
    Some((last, end))
}

fn svg(c: &Chart) -> String {
    let proj = projection(c);
    let t0 = c.samples.first().map(|s| s.at).unwrap_or_default();
    let mut t1 = c.samples.last().map(|s| s.at).unwrap_or_default();
    if let Some((_, end)) = proj {
        t1 = t1.max(end.at);
    }
    let (t0, t1) = if t1 <= t0 {
        (t0 - Duration::minutes(1), t0 + Duration::minutes(1))
    } else {
        (t0, t1)
    };
    let mut vmax = c.samples.iter().map(|s| s.v).fold(0.0f64, f64::max);
    if let Some((_, end)) = proj {
        vmax = vmax.max(end.v);
    }
    let vmax = if vmax <= 0.0 { 1.0 } else { vmax * 1.08 };
    let span = signed_as_f64((t1 - t0).num_milliseconds().max(1));
    let x = |t: DateTime<Utc>| X0 + signed_as_f64((t - t0).num_milliseconds()) / span * (X1 - X0);
    let y = |v: f64| Y1 - (v / vmax).clamp(0.0, 1.2) * (Y1 - Y0);
    let mut out = format!(
        r#"<svg viewBox="0 0 480 184" role="img" aria-label="{} of {}/{}">"#,
        esc(&c.metric),
        esc(&c.node),
        esc(&c.service)
    );
    // Axes, four levels, the first and last times.
    let _ = write!(
        out,
        r#"<line class="axis" x1="{X0}" y1="{Y1}" x2="{X1}" y2="{Y1}"/><line class="axis" x1="{X0}" y1="{Y0}" x2="{X0}" y2="{Y1}"/>"#
    );
    for i in 0..=3 {
        let v = vmax / 1.08 * f64::from(i) / 3.0;
        let yy = y(v);
        let _ = write!(
            out,
            r#"<line class="axis" x1="{X0}" y1="{yy:.1}" x2="{:.1}" y2="{yy:.1}" opacity=".5"/><text class="tick" x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            X0 - 4.0,
            X0 - 6.0,
            yy + 3.5,
            bytes(v)
        );
    }
    let fmt_t = |t: DateTime<Utc>| t.format("%m-%d %H:%M").to_string();
    let _ = write!(
        out,
        r#"<text class="tick" x="{X0}" y="{:.1}">{}</text><text class="tick" x="{X1}" y="{:.1}" text-anchor="end">{}</text>"#,
        Y1 + 14.0,
        fmt_t(t0),
        Y1 + 14.0,
        fmt_t(t1)
    );
    let pts: Vec<String> = c
        .samples
        .iter()
        .map(|p| format!("{:.1},{:.1}", x(p.at), y(p.v)))
        .collect();
    let _ = write!(
        out,
        r#"<polyline class="series" points="{}"/>"#,
        pts.join(" ")
    );
    for p in &c.samples {
        let _ = write!(
            out,
            r#"<circle class="point" cx="{:.1}" cy="{:.1}" r="2.4"><title>{} {}</title></circle>"#,
            x(p.at),
            y(p.v),
            ts_secs(p.at),
            bytes(p.v)
        );
    }
    if let (Some((a, b)), Some(p)) = (proj, &c.predicted) {
        let (xa, ya, xb, yb) = (x(a.at), y(a.v), x(b.at), y(b.v));
        let _ = write!(
            out,
            r#"<line class="thr" x1="{X0}" y1="{yb:.1}" x2="{X1}" y2="{yb:.1}"/><text class="tick" x="{:.1}" y="{:.1}">node threshold{}</text><line class="proj" x1="{xa:.1}" y1="{ya:.1}" x2="{xb:.1}" y2="{yb:.1}"/><path class="cross" d="M{xb:.1} {:.1}l5 8h-10z"><title>predicted crossing at {}</title></path><text class="tick" x="{:.1}" y="{:.1}" text-anchor="end">✖ {}</text>"#,
            X0 + 4.0,
            yb - 4.0,
            c.pressure
                .map(|r| format!(" ({:.0}%)", r * 100.0))
                .unwrap_or_default(),
            yb - 1.0,
            ts_secs(p.projected_at),
            xb.min(X1 - 2.0),
            (yb + 20.0).min(Y1 - 4.0),
            p.projected_at.format("%H:%M")
        );
    }
    out.push_str("</svg>");
    out
}

fn caption(c: &Chart) -> String {
    let last = c.samples.last();
    let mut t = format!(
        "now {} · {} samples from {}",
        last.map(|l| bytes(l.v)).unwrap_or_default(),
        c.samples.len(),
        c.samples.first().map(|s| ts_secs(s.at)).unwrap_or_default()
    );
    let what = if c.metric == "memory" {
        "node memory"
    } else {
        "GPU memory"
    };
    match &c.predicted {
        Some(p) => {
            let _ = write!(
                t,
                " · <b>predicted</b>: {what} reaches its threshold{} ({} in use) at {}, growing {}/s — recommended: {}",
                c.pressure
                    .map(|r| format!(" of {:.0}%", r * 100.0))
                    .unwrap_or_default(),
                bytes(p.threshold),
                ts_secs(p.projected_at),
                bytes(p.slope.abs()),
                esc(&p.recommended)
            );
        }
        None => {
            let _ = write!(
                t,
                " · no crossing predicted{}",
                c.pressure
                    .map(|r| format!(" ({what} threshold {:.0}%)", r * 100.0))
                    .unwrap_or_default()
            );
        }
    }
    t
}

/// Writes the charts section.
pub fn write(o: &mut String, m: &Model) {
    if m.charts.is_empty() {
        let _ = writeln!(
            o,
            r#"<p class="muted">No memory series with two samples or more in the checkpoint.</p>"#
        );
        return;
    }
    let _ = writeln!(o, r#"<div class="charts">"#);
    for c in &m.charts {
        let _ = writeln!(
            o,
            r#"<figure class="chart" data-chart="{}"><h3>{}/{} · {}</h3>{}<p>{}</p></figure>"#,
            esc(&format!("{}/{}/{}", c.node, c.service, c.metric)),
            esc(&c.node),
            esc(&c.service),
            esc(&c.metric),
            svg(c),
            caption(c)
        );
    }
    let _ = writeln!(o, "</div>");
    if m.charts_left_out > 0 {
        let _ = writeln!(
            o,
            r#"<p class="muted">{} more series not drawn (predicted crossings first, then the fastest growing).</p>"#,
            m.charts_left_out
        );
    }
}
