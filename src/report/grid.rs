//! The fleet grid: a row per node, a column per service name (a list of
//! cells per node when the fleet has too many names for columns). Each
//! cell says its state in words, with a symbol, a colour and a pattern,
//! and its flags (pinned, held, circuit open) in words; its details (last
//! error, last action) are in its title.
use std::collections::BTreeSet;
use std::fmt::Write;

use super::html::{esc, state_cell};
use super::{Model, Node, Service, State};

/// More service names than this: one list of cells per node instead of
/// a column per name.
const MAX_COLUMNS: usize = 48;

fn pct(r: f64) -> String {
    format!("{:.0}%", r * 100.0)
}

/// A service's attributes (its key, state and details) and its content.
fn cell(s: &Service) -> (String, String) {
    let class = s.state.class();
    let mut flags = s.flags();
    if s.restart_attempts > 0 && !s.circuit_open {
        flags.push(crate::fmt::count(
            s.restart_attempts.into(),
            "restart",
            "restarts",
        ));
    }
    let extra = if flags.is_empty() {
        String::new()
    } else {
        format!(r#"<span class="fl">{}</span>"#, esc(&flags.join(" · ")))
    };
    let mut title = vec![format!("{}/{}: {}", s.node, s.name, s.state.word())];
    if !s.kind.is_empty() {
        title.push(format!("kind {}", s.kind));
    }
    if let Some(h) = &s.held {
        title.push(if h.is_empty() {
            "held".to_string()
        } else {
            format!("held: {h}")
        });
    }
    if let Some(e) = &s.last_error {
        title.push(format!("why: {e}"));
    }
    if let Some(a) = &s.last_action {
        title.push(format!("last action: {a}"));
    }
    let attrs = format!(
        r#"class="cell {class}" data-service="{}" data-state="{}" title="{}""#,
        esc(&s.key()),
        s.state.word(),
        esc(&title.join("\n")),
    );
    let inner = format!(
        r#"<span class="st">{} {}</span>{extra}"#,
        s.state.symbol(),
        s.state.word()
    );
    (attrs, inner)
}

/// A node's header; `detail`: its pressure thresholds shown, not only in
/// its title.
fn node_head(n: &Node, detail: bool) -> String {
    let title = match (n.memory_pressure, n.gpu_pressure) {
        (Some(m), Some(g)) => format!(
            r#" title="pressure thresholds: memory {}, gpu {}""#,
            pct(m),
            pct(g)
        ),
        _ => String::new(),
    };
    let mut t = format!(r#"<th class="node" scope="row"{title}>{}"#, esc(&n.name));
    if n.offline {
        t.push_str(r#"<br><span class="node-off">✖ offline</span>"#);
    }
    if let (true, Some(m), Some(g)) = (detail, n.memory_pressure, n.gpu_pressure) {
        let _ = write!(
            t,
            r#"<br><span class="muted">pressure: mem {} · gpu {}</span>"#,
            pct(m),
            pct(g)
        );
    }
    t.push_str("</th>");
    t
}

/// Writes the legend and the grid.
pub fn write(o: &mut String, m: &Model) {
    let _ = write!(o, r#"<div class="legend" aria-label="legend">"#);
    for s in State::ALL {
        let _ = write!(o, "{}", state_cell(s, ""));
    }
    let _ = writeln!(
        o,
        r#"<span class="muted">· flags in words: pinned, held, circuit open, restarts; hover a cell for its last error and action</span></div>"#
    );
    if m.nodes.is_empty() {
        let _ = writeln!(
            o,
            r#"<p class="muted">No service known: hosts/, the checkpoint and the event log name none.</p>"#
        );
        return;
    }
    let names: BTreeSet<&str> = m
        .nodes
        .iter()
        .flat_map(|n| n.services.iter().map(|s| s.name.as_str()))
        .collect();
    let _ = writeln!(o, r#"<div class="grid"><table>"#);
    let cell_of = |n: &Node, name: &str| match n.services.iter().find(|s| s.name == name) {
        Some(s) => {
            let (attrs, inner) = cell(s);
            format!("<td {attrs}>{inner}</td>")
        }
        None => r#"<td class="empty" title="not on this node"></td>"#.to_string(),
    };
    if names.len() > m.nodes.len() && m.nodes.len() <= MAX_COLUMNS {
        // More services than nodes: a row per service, a column per node.
        let _ = write!(o, r"<thead><tr><th>service</th>");
        for n in &m.nodes {
            let _ = write!(
                o,
                "{}",
                node_head(n, true).replace(r#"scope="row""#, r#"scope="col""#)
            );
        }
        let _ = writeln!(o, "</tr></thead><tbody>");
        for name in &names {
            let _ = write!(o, r#"<tr><th scope="row">{}</th>"#, esc(name));
            for n in &m.nodes {
                o.push_str(&cell_of(n, name));
            }
            let _ = writeln!(o, "</tr>");
        }
    } else if names.len() <= MAX_COLUMNS {
        let _ = write!(o, r"<thead><tr><th>node</th>");
        for name in &names {
            let _ = write!(o, r#"<th scope="col">{}</th>"#, esc(name));
        }
        let _ = writeln!(o, "</tr></thead><tbody>");
        for n in &m.nodes {
            let _ = write!(o, "<tr>{}", node_head(n, false));
            for name in &names {
                o.push_str(&cell_of(n, name));
            }
            let _ = writeln!(o, "</tr>");
        }
    } else {
        let _ = writeln!(
            o,
            r"<thead><tr><th>node</th><th>services</th></tr></thead><tbody>"
        );
        for n in &m.nodes {
            let _ = write!(o, "<tr>{}<td>", node_head(n, false));
            for s in &n.services {
                let (attrs, inner) = cell(s);
                let _ = write!(o, r"<span {attrs}><b>{}</b> {inner}</span>", esc(&s.name));
            }
            let _ = writeln!(o, "</td></tr>");
        }
    }
    let _ = writeln!(o, "</tbody></table></div>");
}
