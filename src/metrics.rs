//! `--metrics-file`: Prometheus text exposition for node_exporter's textfile
//! collector, written atomically after each run. Built from the run's events
//! and the checkpoint it leaves, so it never disagrees with the event log.
use std::collections::BTreeMap;
use std::fmt::Write;

use serde_json::Value;

use crate::checkpoint::Checkpoint;
use crate::events::Event;

fn esc(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

pub fn render(events: &[Event], checkpoint: &Checkpoint, duration_ms: u64, state: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# HELP supervisor_service_health Service health: 0 dead (or evicted), 1 degraded, 2 healthy, 3 unknown.");
    let _ = writeln!(out, "# TYPE supervisor_service_health gauge");
    for (k, st) in &checkpoint.services {
        let (node, service) = k.split_once('/').unwrap_or((k, ""));
        let _ = writeln!(
            out,
            "supervisor_service_health{{node=\"{}\",service=\"{}\",state=\"{}\"}} {}",
            esc(node),
            esc(service),
            st.health.as_str(),
            st.health.gauge()
        );
    }
    let _ = writeln!(out, "# HELP supervisor_service_restart_attempts Restart attempts since the service was last healthy for 10 minutes.");
    let _ = writeln!(out, "# TYPE supervisor_service_restart_attempts gauge");
    for (k, st) in &checkpoint.services {
        let (node, service) = k.split_once('/').unwrap_or((k, ""));
        let _ = writeln!(
            out,
            "supervisor_service_restart_attempts{{node=\"{}\",service=\"{}\"}} {}",
            esc(node),
            esc(service),
            st.restart_attempts
        );
    }
    let _ = writeln!(
        out,
        "# HELP supervisor_service_cpu_cores CPU use between the last two probes, in cores."
    );
    let _ = writeln!(out, "# TYPE supervisor_service_cpu_cores gauge");
    for (k, st) in &checkpoint.services {
        let (node, service) = k.split_once('/').unwrap_or((k, ""));
        if let Some(cpu) = st.cpu_use {
            let _ = writeln!(
                out,
                "supervisor_service_cpu_cores{{node=\"{}\",service=\"{}\"}} {cpu}",
                esc(node),
                esc(service)
            );
        }
    }
    let mut executed: BTreeMap<(String, String), u64> = BTreeMap::new();
    let mut decided: BTreeMap<(String, String), u64> = BTreeMap::new();
    let mut ratios = vec![];
    for e in events {
        let f = |k: &str| {
            e.fields
                .get(k)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        match e.kind {
            "action_executed" => *executed.entry((f("action"), f("outcome"))).or_default() += 1,
            "reconcile_required" | "reconcile_recommended" | "reconcile_blocked" => {
                *decided
                    .entry((
                        f("action"),
                        e.kind.trim_start_matches("reconcile_").to_string(),
                    ))
                    .or_default() += 1
            }
            "decision" => {
                let node = e.node.clone().unwrap_or_default();
                let snap = &e.fields["snapshot"];
                if let Some(r) = snap.get("memory_used_ratio").and_then(Value::as_f64) {
                    ratios.push(format!(
                        "supervisor_memory_used_ratio{{node=\"{}\"}} {r}",
                        esc(&node)
                    ));
                }
                for g in snap
                    .get("gpus")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if let (Some(i), Some(r)) = (g["index"].as_u64(), g["used_ratio"].as_f64()) {
                        ratios.push(format!(
                            "supervisor_gpu_memory_used_ratio{{node=\"{}\",gpu=\"{i}\"}} {r}",
                            esc(&node)
                        ));
                    }
                }
            }
            _ => {}
        }
    }
    let _ = writeln!(out, "# HELP supervisor_actions Actions of the last run by action and outcome (restarts, evictions, …).");
    let _ = writeln!(out, "# TYPE supervisor_actions gauge");
    for ((a, o), n) in &executed {
        let _ = writeln!(
            out,
            "supervisor_actions{{action=\"{a}\",outcome=\"{o}\"}} {n}"
        );
    }
    let _ = writeln!(
        out,
        "# HELP supervisor_decisions Winning proposals of the last run by action and urgency."
    );
    let _ = writeln!(out, "# TYPE supervisor_decisions gauge");
    for ((a, u), n) in &decided {
        let _ = writeln!(
            out,
            "supervisor_decisions{{action=\"{a}\",urgency=\"{u}\"}} {n}"
        );
    }
    let _ = writeln!(out, "# HELP supervisor_memory_used_ratio Node memory used / total.\n# TYPE supervisor_memory_used_ratio gauge");
    for r in ratios.iter().filter(|r| r.starts_with("supervisor_memory")) {
        let _ = writeln!(out, "{r}");
    }
    let _ = writeln!(out, "# HELP supervisor_gpu_memory_used_ratio GPU memory used / total.\n# TYPE supervisor_gpu_memory_used_ratio gauge");
    for r in ratios.iter().filter(|r| r.starts_with("supervisor_gpu")) {
        let _ = writeln!(out, "{r}");
    }
    let _ = writeln!(out, "# HELP supervisor_run_duration_seconds Wall time of the last run.\n# TYPE supervisor_run_duration_seconds gauge");
    let _ = writeln!(
        out,
        "supervisor_run_duration_seconds {}",
        duration_ms as f64 / 1000.0
    );
    let _ = writeln!(out, "# HELP supervisor_run_state Summary state of the last run (1 for the current state).\n# TYPE supervisor_run_state gauge");
    for s in ["nominal", "degraded", "reconciling", "unstable"] {
        let _ = writeln!(
            out,
            "supervisor_run_state{{state=\"{s}\"}} {}",
            u8::from(s == state)
        );
    }
    out
}
