//! The page around the parts: escaping, the head (Content-Security-Policy,
//! inline styles for light and dark), the summary, the incidents and what
//! could not be read.
use std::fmt::Write;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{Model, State};
use crate::fmt::ts_secs;

/// Text for HTML (element content and quoted attributes alike): control
/// characters shown as escapes (`crate::text::escape_control`), then `&`,
/// `<`, `>`, `"` and `'` as entities.
pub fn esc(s: &str) -> String {
    let s = crate::text::escape_control(s);
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// [`esc`] for text of several lines (line breaks kept).
pub fn esc_lines(s: &str) -> String {
    s.lines().map(esc).collect::<Vec<_>>().join("\n")
}

/// The string field `k` of an event, escaped ("" when absent).
pub fn field(e: &Value, k: &str) -> String {
    match e.get(k) {
        Some(Value::String(s)) => esc(s),
        Some(Value::Null) | None => String::new(),
        Some(v) => esc(&v.to_string()),
    }
}

/// The policy: nothing may load, no script may run; inline styles only.
pub const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'";

const STYLE: &str = r#"
:root{color-scheme:light dark;--bg:#ffffff;--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--card:#f6f8fa;
--healthy:#1a7f37;--healthy-bg:#d2f4dc;--degraded:#9a6700;--degraded-bg:#fff0c2;--dead:#cf222e;--dead-bg:#ffdcd7;
--loading:#0969da;--loading-bg:#d6ecff;--evicted:#57606a;--evicted-bg:#e6e9ed;--unknown:#8250df;--unknown-bg:#eee3ff}
@media (prefers-color-scheme: dark){:root{--bg:#0d1117;--fg:#e6edf3;--muted:#9198a1;--line:#3d444d;--card:#151b23;
--healthy:#3fb950;--healthy-bg:#12361f;--degraded:#d29922;--degraded-bg:#3a2d0c;--dead:#f85149;--dead-bg:#4a1614;
--loading:#4493f8;--loading-bg:#10294a;--evicted:#9198a1;--evicted-bg:#262c36;--unknown:#ab7df8;--unknown-bg:#2b1f45}}
*{box-sizing:border-box}
body{margin:0;padding:20px 28px;background:var(--bg);color:var(--fg);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;padding-bottom:4px;border-bottom:1px solid var(--line)}
h3{font-size:14px;margin:12px 0 4px}
.muted{color:var(--muted)}code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px}
.summary{display:flex;flex-wrap:wrap;gap:8px;margin:12px 0}
.stat{border:1px solid var(--line);border-radius:6px;padding:6px 10px;background:var(--card);min-width:92px}
.stat b{display:block;font-size:18px}
.problems{border:1px solid var(--dead);border-left-width:5px;border-radius:6px;padding:8px 12px;margin:12px 0;background:var(--card)}
.problems li{margin:2px 0}
table{border-collapse:collapse}
.grid{overflow-x:auto;max-width:100%}
.grid table{font-size:12.5px}
.grid th,.grid td{border:1px solid var(--line);padding:0;vertical-align:top}
.grid th{background:var(--card);padding:4px 6px;text-align:left;font-weight:600;white-space:nowrap}
.grid thead th{position:sticky;top:0}
.grid th.node{min-width:110px}
.grid td.empty{background:repeating-linear-gradient(135deg,transparent 0 3px,var(--line) 3px 4px);opacity:.35}
.cell{display:inline-block;padding:3px 6px 3px 5px;border-left:5px solid var(--c);background-color:var(--b);white-space:nowrap}
.grid td.cell{display:table-cell;min-width:84px}
.grid td.cell,.legend .cell{padding:3px 6px 3px 5px}
.grid td span.cell{margin:2px}
.cell .st{font-weight:600;color:var(--c)}
.cell .fl{display:block;font-size:11px;color:var(--fg)}
.s-healthy{--c:var(--healthy);--b:var(--healthy-bg)}
.s-degraded{--c:var(--degraded);--b:var(--degraded-bg);background-image:repeating-linear-gradient(45deg,transparent 0 5px,color-mix(in srgb,var(--degraded) 28%,transparent) 5px 7px)}
.s-dead{--c:var(--dead);--b:var(--dead-bg);background-image:repeating-linear-gradient(45deg,transparent 0 5px,color-mix(in srgb,var(--dead) 30%,transparent) 5px 7px),repeating-linear-gradient(-45deg,transparent 0 5px,color-mix(in srgb,var(--dead) 30%,transparent) 5px 7px)}
.s-loading{--c:var(--loading);--b:var(--loading-bg);background-image:repeating-linear-gradient(90deg,transparent 0 6px,color-mix(in srgb,var(--loading) 25%,transparent) 6px 8px)}
.s-evicted{--c:var(--evicted);--b:var(--evicted-bg);background-image:radial-gradient(color-mix(in srgb,var(--evicted) 45%,transparent) 1.2px,transparent 1.6px);background-size:7px 7px}
.s-unknown{--c:var(--unknown);--b:var(--unknown-bg);border-left-style:dashed}
.node-off{color:var(--dead);font-weight:600}
.legend{display:flex;flex-wrap:wrap;gap:6px;margin:8px 0;font-size:12.5px}
.legend .cell{min-width:0}
.tl{display:grid;grid-template-columns:230px 1fr;gap:2px 12px;align-items:start;margin:0}
.tl .who{padding-top:4px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.tl svg{width:100%;height:auto;display:block}
.tl ol{margin:2px 0 10px;padding-left:22px;font-size:12px;color:var(--muted)}
.tl ol li{margin:1px 0}
.tl ol .failed{color:var(--dead)}
svg text{fill:var(--fg);font:11px system-ui,sans-serif}
svg .axis{stroke:var(--line);stroke-width:1}
svg .tick{fill:var(--muted);font-size:10px}
.b-healthy{fill:var(--healthy-bg);stroke:var(--healthy)}.b-degraded{fill:url(#p-degraded);stroke:var(--degraded)}
.b-dead{fill:url(#p-dead);stroke:var(--dead)}.b-loading{fill:url(#p-loading);stroke:var(--loading)}
.b-evicted{fill:url(#p-evicted);stroke:var(--evicted)}.b-unknown{fill:var(--unknown-bg);stroke:var(--unknown);stroke-dasharray:4 3}
.pb-healthy{fill:var(--healthy-bg)}.pb-degraded{fill:var(--degraded-bg)}.pb-dead{fill:var(--dead-bg)}.pb-loading{fill:var(--loading-bg)}.pb-evicted{fill:var(--evicted-bg)}
.pl-degraded{stroke:var(--degraded)}.pl-dead{stroke:var(--dead)}.pl-loading{stroke:var(--loading)}.pl-evicted{fill:var(--evicted)}
.bandtext{font-size:10.5px;font-weight:600}
.m-ok{fill:var(--healthy)}.m-failed{fill:var(--dead)}.m-skipped{fill:var(--bg);stroke:var(--muted);stroke-width:1.5}
.m-started{fill:var(--loading)}.m-other{fill:var(--unknown)}
.marknum{font-size:9.5px;font-weight:700}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(420px,1fr));gap:14px}
.chart{margin:0;border:1px solid var(--line);border-radius:6px;padding:8px 10px;background:var(--card)}
.chart svg{width:100%;height:auto;display:block}
.chart p{margin:4px 0 0;font-size:12px}
.series{fill:none;stroke:var(--loading);stroke-width:2}
.point{fill:var(--loading)}
.proj{fill:none;stroke:var(--dead);stroke-width:1.5;stroke-dasharray:5 4}
.thr{stroke:var(--dead);stroke-width:1;stroke-dasharray:2 3}
.cross{fill:var(--dead)}
.incidents table{width:100%;font-size:12.5px}
.incidents th,.incidents td{border-bottom:1px solid var(--line);padding:4px 6px;text-align:left;vertical-align:top}
.incidents td.what{word-break:break-word}
.incidents td:not(.what){white-space:nowrap}
footer{margin-top:28px;font-size:12px;color:var(--muted)}
pre.score{background:var(--card);border:1px solid var(--line);border-radius:6px;padding:10px 12px;overflow-x:auto}
"#;

/// Pattern fills for the timeline bands (one hidden SVG; the bands refer
/// to them by id).
const PATTERNS: &str = r#"<svg width="0" height="0" style="position:absolute" aria-hidden="true"><defs>
<pattern id="p-degraded" width="8" height="8" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect class="pb-degraded" width="8" height="8"/><line class="pl-degraded" x1="0" y1="0" x2="0" y2="8" stroke-width="3"/></pattern>
<pattern id="p-dead" width="8" height="8" patternUnits="userSpaceOnUse"><rect class="pb-dead" width="8" height="8"/><path class="pl-dead" d="M0 0L8 8M8 0L0 8" stroke-width="1.4"/></pattern>
<pattern id="p-loading" width="8" height="8" patternUnits="userSpaceOnUse"><rect class="pb-loading" width="8" height="8"/><line class="pl-loading" x1="0" y1="0" x2="0" y2="8" stroke-width="2"/></pattern>
<pattern id="p-evicted" width="7" height="7" patternUnits="userSpaceOnUse"><rect class="pb-evicted" width="7" height="7"/><circle class="pl-evicted" cx="3.5" cy="3.5" r="1.2"/></pattern>
</defs></svg>"#;

/// One state as a cell: symbol and word (the colour and the pattern only
/// repeat what the text says).
pub fn state_cell(s: State, extra: &str) -> String {
    format!(
        r#"<span class="cell {}"><span class="st">{} {}</span>{extra}</span>"#,
        s.class(),
        s.symbol(),
        s.word()
    )
}

fn when(t: DateTime<Utc>) -> String {
    ts_secs(t)
}

/// The whole page.
pub fn page(m: &Model) -> String {
    let mut o = String::with_capacity(64 * 1024 + m.services() * 160);
    let (title, made, since, source) = (
        esc(&m.title),
        when(m.made_at),
        when(m.since),
        esc(&m.source),
    );
    let _ = write!(
        o,
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="referrer" content="no-referrer">
<title>supervisorctl — {title} — {made}</title>
<style>{STYLE}</style>
</head>
<body>
{PATTERNS}
<header>
<h1>{title}</h1>
<div class="muted">made at <time datetime="{made}">{made}</time> · window {since} → {made} · {source}</div>
</header>
"#
    );
    summary(&mut o, m);
    problems(&mut o, m);
    let _ = writeln!(o, "<h2 id=\"grid\">Fleet</h2>");
    super::grid::write(&mut o, m);
    let _ = writeln!(o, "<h2 id=\"timelines\">Timelines</h2>");
    super::timeline::write(&mut o, m);
    let _ = writeln!(o, "<h2 id=\"memory\">Memory</h2>");
    super::chart::write(&mut o, m);
    incidents(&mut o, m);
    if let Some(score) = &m.score {
        let _ = writeln!(
            o,
            r#"<h2 id="score">Score</h2><pre class="mono score">{}</pre>"#,
            esc_lines(score.trim_matches('\n'))
        );
    }
    let _ = writeln!(
        o,
        "<footer>Made by supervisorctl {} at {} from {} event lines ({} of them, in the window, of the kinds it shows). This page loads nothing and runs no script.</footer>\n</body>\n</html>",
        env!("CARGO_PKG_VERSION"),
        when(m.made_at),
        m.events_read,
        m.events_in_window
    );
    o
}

fn summary(o: &mut String, m: &Model) {
    let _ = writeln!(o, r#"<section class="summary" aria-label="summary">"#);
    let offline = m.nodes.iter().filter(|n| n.offline).count();
    let _ = writeln!(
        o,
        r#"<div class="stat"><b>{}</b>nodes{}</div><div class="stat"><b>{}</b>services</div>"#,
        m.nodes.len(),
        if offline > 0 {
            format!(r#" · <span class="node-off">{offline} offline</span>"#)
        } else {
            String::new()
        },
        m.services()
    );
    for s in State::ALL {
        let n = m.count(s);
        if n > 0 || matches!(s, State::Healthy | State::Dead) {
            let _ = writeln!(
                o,
                r#"<div class="stat"><b>{n}</b>{}</div>"#,
                state_cell(s, "")
            );
        }
    }
    match &m.last_run {
        Some(r) => {
            let _ = writeln!(
                o,
                r#"<div class="stat"><b>{}</b>last run {} · {} executed, {} failed</div>"#,
                field(r, "state"),
                field(r, "ts"),
                r["counts"]["executed"].as_u64().unwrap_or(0),
                r["counts"]["failed"].as_u64().unwrap_or(0),
            );
        }
        None => {
            let _ = writeln!(
                o,
                r#"<div class="stat"><b>no run</b>in the event log</div>"#
            );
        }
    }
    let _ = writeln!(o, "</section>");
}

fn problems(o: &mut String, m: &Model) {
    if m.problems.is_empty() {
        return;
    }
    let _ = writeln!(
        o,
        r#"<section class="problems" id="problems"><b>Not everything could be read</b> — this page shows what could:<ul>"#
    );
    for p in &m.problems {
        let _ = writeln!(o, "<li>{}</li>", esc(p));
    }
    let _ = writeln!(o, "</ul></section>");
}

/// One event in words: what happened, with its reason.
pub fn describe(e: &Value) -> String {
    let t = field(e, "type");
    let reason = || {
        let r = field(e, "reason");
        if r.is_empty() {
            String::new()
        } else {
            format!(": {r}")
        }
    };
    match t.as_str() {
        "action_executed" => format!("{} {}{}", field(e, "action"), field(e, "outcome"), reason()),
        "action_verified" => format!(
            "{} verified {}{}",
            field(e, "action"),
            field(e, "outcome"),
            reason()
        ),
        "health_changed" => format!(
            "health {} → {}{}",
            field(e, "from"),
            field(e, "to"),
            reason()
        ),
        "reconcile_blocked" => format!("{} blocked{}", field(e, "action"), reason()),
        "failure_predicted" => {
            let r = field(e, "reason");
            format!(
                "{} predicted to cross its threshold at {} ({}){}",
                field(e, "metric"),
                field(e, "projected_at"),
                field(e, "recommended"),
                if r.is_empty() {
                    String::new()
                } else {
                    format!(": {r}")
                }
            )
        }
        "webhook_failed" => format!(
            "webhook {} for {} failed {} times: {}",
            field(e, "url"),
            field(e, "event_type"),
            field(e, "attempts"),
            field(e, "error")
        ),
        "observation_invalid" => format!("ignored {}: {}", field(e, "path"), field(e, "error")),
        "config_insecure" => format!("{} is {}", field(e, "path"), field(e, "problem")),
        "service_removed" => format!("removed: {}{}", field(e, "outcome"), reason()),
        "circuit_half_open" => "restart circuit half-open: one trial start".to_string(),
        "thrash_detected" => format!("evict–reload thrash{}", reason()),
        "intent_recovered" => format!("interrupted {} recovered{}", field(e, "action"), reason()),
        other => format!("{other}{}", reason()),
    }
}

fn who(e: &Value) -> String {
    match (field(e, "node"), field(e, "service")) {
        (n, s) if s.is_empty() && n.is_empty() => "(run)".to_string(),
        (n, s) if s.is_empty() => format!("{n} (node)"),
        (n, s) => format!("{n}/{s}"),
    }
}

fn incidents(o: &mut String, m: &Model) {
    let _ = writeln!(
        o,
        r#"<h2 id="incidents">Incidents</h2><section class="incidents">"#
    );
    if m.incidents.is_empty() {
        let _ = writeln!(
            o,
            r#"<p class="muted">No failed action, dead service, blocked action, prediction or undelivered webhook in the window.</p></section>"#
        );
        return;
    }
    let _ = writeln!(
        o,
        r#"<p class="muted">The last {} of {} in the window, newest first (repeats folded): failed actions and verifications, services found dead, blocked actions, predictions, undelivered webhooks, unreadable observations.</p>
<table><thead><tr><th>time</th><th>where</th><th>what</th></tr></thead><tbody>"#,
        m.incidents.iter().map(|r| r.count).sum::<usize>(),
        m.incidents_total
    );
    for r in &m.incidents {
        let _ = writeln!(
            o,
            r#"<tr><td class="mono">{}</td><td>{}</td><td class="what">{}</td></tr>"#,
            r.when(),
            who(&r.event),
            describe(&r.event)
        );
    }
    let _ = writeln!(o, "</tbody></table></section>");
}
