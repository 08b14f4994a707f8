//! `policies`: the effective settings of each node (preset plus explicit
//! overrides) and the policy order, so an operator can see what a run will
//! actually use.
use crate::exit::Exit;
use std::fmt::Write;
use std::time::Duration;

use anyhow::Result;
use serde_json::json;

use crate::checkpoint::Checkpoint;
use crate::core::Policy;
use crate::desired::{Fleet, NodeSpec, Settings};

fn d(x: Duration) -> String {
    let s = x.as_secs();
    match (x.subsec_millis(), s) {
        (ms, 0) if ms > 0 => format!("{ms}ms"),
        (_, s) if s > 0 && s % 86400 == 0 => format!("{}d", s / 86400),
        (_, s) if s > 0 && s % 3600 == 0 => format!("{}h", s / 3600),
        (_, s) if s > 0 && s % 60 == 0 => format!("{}m", s / 60),
        (_, s) => format!("{s}s"),
    }
}

const PROPOSES: [&str; 5] = [
    "under memory or GPU pressure: evict unpinned models (lowest priority, then least recently active); defer starts that would cross the threshold",
    "restart dead or missing services (backoff, circuit breaker); activate and deactivate fallbacks",
    "keep pinned services; restart a dead pinned service",
    "evict idle models",
    "preload evicted models whose demand is rising",
];

/// `cp`: the checkpoint, for tuned values (None: no run yet).
pub fn run(fleet: &Fleet, cp: Option<&Checkpoint>, json_out: bool) -> Result<Exit> {
    let mut out = String::new();
    for node in fleet.nodes.values() {
        let windows = maintenance_windows(&node.settings);
        if json_out {
            let _ = writeln!(out, "{}", node_json(node, cp, &windows));
            continue;
        }
        node_human(&mut out, node, cp, &windows);
    }
    super::stdout::write(&out)?;
    Ok(Exit::Ok)
}

/// Each maintenance window as `mon,tue 02:00-04:00 UTC` (`daily` when it
/// names no days).
fn maintenance_windows(s: &Settings) -> Vec<String> {
    s.maintenance
        .iter()
        .map(|w| {
            let days = if w.days.is_empty() {
                "daily".to_string()
            } else {
                w.days
                    .iter()
                    .map(|d| d.to_string().to_lowercase())
                    .collect::<Vec<_>>()
                    .join(",")
            };
            format!(
                "{days} {:02}:{:02}-{:02}:{:02} UTC",
                w.from_minute / 60,
                w.from_minute % 60,
                w.to_minute / 60,
                w.to_minute % 60
            )
        })
        .collect()
}

/// Whether the node's settings let policy `p` propose anything.
fn enabled(s: &Settings, p: Policy) -> bool {
    match p {
        Policy::IdleEviction => s.idle_eviction,
        Policy::ResourceOptimization => s.resource_optimization,
        _ => true,
    }
}

/// One node's settings as one JSON object (one line of `--output json`).
fn node_json(node: &NodeSpec, cp: Option<&Checkpoint>, windows: &[String]) -> serde_json::Value {
    let s = &node.settings;
    let policies: Vec<_> = Policy::ALL
        .iter()
        .map(|p| json!({"priority": p.priority(), "policy": p.as_str(), "enabled": enabled(s, *p)}))
        .collect();
    json!({"node": node.name, "preset": s.preset, "fast_tick": d(s.fast_tick),
        "memory_pressure": s.memory_pressure, "gpu_pressure": s.gpu_pressure,
        "idle_timeout": d(s.idle_timeout), "max_restart_attempts": s.max_restart_attempts,
        "idle_eviction": s.idle_eviction, "resource_optimization": s.resource_optimization,
        "max_actions_per_run": s.max_actions_per_run, "node_offline_after": d(s.node_offline_after),
        "evict_orphans": s.evict_orphans, "start_grace": d(s.start_grace),
        "breaker_retry": s.breaker_retry.map_or("never".to_string(), d), "load_timeout": d(s.load_timeout),
        "predictive": s.predictive, "predict_horizon": d(s.predict_horizon),
        "probe_period": d(s.probe_period), "idle_without_activity": s.idle_without_activity,
        "activity": activity_json(node, cp),
        "thrash": super::thrash_view::json(node, cp),
        "restart_backoff": {"base": d(s.backoff_base), "max": d(s.backoff_max)},
        "maintenance": windows, "webhooks": s.webhooks.len(), "policies": policies,
        "adaptive": s.adaptive, "services": super::tunables::json(node, cp)})
}

/// One node's settings for people: the header, then each section.
fn node_human(out: &mut String, node: &NodeSpec, cp: Option<&Checkpoint>, windows: &[String]) {
    let s = &node.settings;
    let preset = serde_json::to_value(s.preset)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    let _ = writeln!(out, "{} (preset {preset})", node.name);
    human_observation(out, s);
    let lines = activity_human(node, cp)
        .into_iter()
        .chain(super::thrash_view::human(node, cp));
    for line in lines {
        let _ = writeln!(out, "{line}");
    }
    human_recovery(out, s);
    human_limits(out, s, windows);
    for line in super::tunables::human(node, cp) {
        let _ = writeln!(out, "{line}");
    }
    human_policies(out, s);
}

/// Ticks, pressure thresholds, idleness and probing.
fn human_observation(out: &mut String, s: &Settings) {
    let _ = writeln!(
        out,
        "  fast tick           {} (a live probe counts at most once a tick)",
        d(s.fast_tick)
    );
    let _ = writeln!(
        out,
        "  pressure            memory {:.0}%, gpu {:.0}%",
        s.memory_pressure * 100.0,
        s.gpu_pressure * 100.0
    );
    let _ = writeln!(out, "  idle timeout        {}", d(s.idle_timeout));
    let _ = writeln!(
        out,
        "  probe period        {} (a failure counts at most once per period)",
        d(s.probe_period)
    );
    let _ = writeln!(
        out,
        "  unknown activity    {}",
        if s.idle_without_activity {
            "idle from the last start (idle_without_activity)"
        } else {
            "never idle"
        }
    );
}

/// Restarts, the circuit breaker, start and load timing, prediction.
fn human_recovery(out: &mut String, s: &Settings) {
    let _ = writeln!(
        out,
        "  restarts            at most {}, backoff {}…{}",
        crate::fmt::count(s.max_restart_attempts.into(), "attempt", "attempts"),
        d(s.backoff_base),
        d(s.backoff_max)
    );
    let _ = writeln!(
        out,
        "  circuit breaker     {}",
        match s.breaker_retry {
            Some(r) => format!(
                "half-open after {} (doubling per failed trial, 24h at most)",
                d(r)
            ),
            None => "never half-opens (only `reset` or 10 healthy minutes close it)".into(),
        }
    );
    let _ = writeln!(out, "  start grace         {}", d(s.start_grace));
    let _ = writeln!(out, "  load timeout        {}", d(s.load_timeout));
    let _ = writeln!(
        out,
        "  prediction          {}",
        if s.predictive {
            format!("on, {} ahead", d(s.predict_horizon))
        } else {
            "off".to_string()
        }
    );
}

/// Actions per run, offline detection, orphans, maintenance, tuning.
fn human_limits(out: &mut String, s: &Settings, windows: &[String]) {
    let _ = writeln!(out, "  actions per run     {}", s.max_actions_per_run);
    let _ = writeln!(out, "  offline after       {}", d(s.node_offline_after));
    let _ = writeln!(
        out,
        "  gpu orphans         reported{}",
        if s.evict_orphans {
            ", evicted first under gpu pressure (this user's only)"
        } else {
            ", not evicted"
        }
    );
    let _ = writeln!(
        out,
        "  maintenance         {}",
        if windows.is_empty() {
            "none".to_string()
        } else {
            windows.join("; ")
        }
    );
    let adaptive = if s.adaptive { "on" } else { "off" };
    let _ = writeln!(out, "  adaptive tuning     {adaptive}");
}

/// The policy order, each with what it proposes (and `(off)` when off).
fn human_policies(out: &mut String, s: &Settings) {
    for p in Policy::ALL {
        let off = if enabled(s, p) { "" } else { " (off)" };
        let _ = writeln!(
            out,
            "  {} {:<22}{off} {}",
            p.priority(),
            p.as_str(),
            PROPOSES[p.priority() as usize]
        );
    }
}

/// Each model's (or `activity:` service's) spec and checkpoint state.
fn activity_states<'a>(
    node: &'a crate::desired::NodeSpec,
    cp: Option<&'a Checkpoint>,
) -> impl Iterator<
    Item = (
        &'a crate::desired::ServiceSpec,
        &'a crate::checkpoint::ServiceState,
    ),
> {
    static EMPTY: std::sync::OnceLock<crate::checkpoint::ServiceState> = std::sync::OnceLock::new();
    let empty = EMPTY.get_or_init(Default::default);
    node.services
        .values()
        .filter(|svc| super::activity_view::shown(svc))
        .map(move |svc| {
            let st = cp
                .and_then(|cp| {
                    cp.services
                        .get(&crate::checkpoint::key(&node.name, &svc.name))
                        .map(|b| &**b)
                })
                .unwrap_or(empty);
            (svc, st)
        })
}

/// Each model's (or `activity:` service's) activity source and what the
/// last run saw of it.
fn activity_human(node: &crate::desired::NodeSpec, cp: Option<&Checkpoint>) -> Vec<String> {
    activity_states(node, cp)
        .map(|(svc, st)| {
            let idle_without = node.settings.idle_without_activity;
            let seen = super::activity_view::seen(st, idle_without, |t| {
                format!("at {}", crate::fmt::ts_secs(t))
            })
            .map(|s| format!("; {s}"))
            .unwrap_or_default();
            crate::text::escape_control(&format!(
                "    {:<18}activity from {}{seen}",
                svc.name,
                super::activity_view::source(svc)
            ))
            .into_owned()
        })
        .collect()
}

fn activity_json(node: &crate::desired::NodeSpec, cp: Option<&Checkpoint>) -> serde_json::Value {
    activity_states(node, cp)
        .map(|(svc, st)| (svc.name.clone(), super::activity_view::json(svc, st)))
        .collect::<serde_json::Map<_, _>>()
        .into()
}
