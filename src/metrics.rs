//! `--metrics-file`: Prometheus text exposition for `node_exporter`'s textfile
//! collector, written atomically after each run. Built from the run's events
//! and the checkpoint it leaves, so it never disagrees with the event log.
//!
//! **Publishing**: the run renders its gauges once its record is durable,
//! adds the last-run gauges (`supervisor_last_run_timestamp_seconds`,
//! `supervisor_last_run_success`) and replaces the metrics file atomically
//! with mode 0644 whatever the umask, since `node_exporter` runs as another
//! user (`prometheus` on Debian). A run that fails keeps the previous gauges
//! and sets `supervisor_last_run_success 0` ([`run`]). Failing to write the
//! file is a warning: the run's actions already happened and are recorded.
use crate::exit::Exit;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

use anyhow::Result;

use crate::checkpoint::{Checkpoint, Health};
use crate::core::Condition;
use crate::events::{Body, Event, EventKind};
use crate::num::{as_f64, signed_as_f64};
use crate::run::RunOptions;

/// The gauges [`publish`] owns; a run's rendering never has them.
const LAST_RUN: [&str; 2] = [
    "supervisor_last_run_timestamp_seconds",
    "supervisor_last_run_success",
];

/// A metrics file larger than this is not read back (it is not ours).
const MAX_BYTES: u64 = 16 << 20;

/// Runs `check` or `reconcile` ([`crate::run::run_pass`]). The run publishes
/// its own metrics (with `supervisor_last_run_success 1`) once its record
/// is durable; a run that fails keeps the previous gauges and sets
/// `supervisor_last_run_success 0`. A metrics file that cannot be written
/// is a warning, never the run's failure (its actions already happened).
pub fn run(opts: &RunOptions) -> Result<Exit> {
    run_pass(opts).map(|p| p.exit)
}

/// [`run`], with what came of an operator's request.
pub fn run_pass(opts: &RunOptions) -> Result<crate::run::Pass> {
    let result = crate::run::run_pass(opts);
    // An error, or a pass that ended in one (an interrupted run): exit 1.
    let failed = !result.as_ref().is_ok_and(|p| p.exit != Exit::Error);
    if let (true, Some(path)) = (failed, &opts.metrics_file) {
        let now = opts.clock.now();
        let previous = read_limited(path).unwrap_or_default();
        publish(
            path,
            &with_last_run(&previous, now.timestamp_millis(), false),
        );
    }
    result
}

/// Writes the metrics file (mode 0644, atomically); a failure is a warning.
pub fn publish(path: &Path, text: &str) {
    if let Err(e) = crate::store::atomic::write_atomic_mode(path, text.as_bytes(), 0o644) {
        eprintln!(
            "warning: cannot write metrics `{}`: {}",
            path.display(),
            crate::text::io_error_text(&e)
        );
    }
}

/// A regular file's text (no symlink followed), if it can be read.
fn read_limited(path: &Path) -> Option<String> {
    let bytes = crate::store::read_limited(path, MAX_BYTES).ok()?;
    String::from_utf8(bytes).ok()
}

/// `text` without the last-run gauges it may hold, then those gauges.
pub fn with_last_run(text: &str, at_millis: i64, success: bool) -> String {
    let ours = |line: &str| {
        let name = line
            .strip_prefix("# HELP ")
            .or_else(|| line.strip_prefix("# TYPE "))
            .unwrap_or(line);
        LAST_RUN.iter().any(|g| {
            name.strip_prefix(g)
                .is_some_and(|rest| rest.starts_with([' ', '{']))
        })
    };
    let mut out = String::new();
    for line in text.lines().filter(|l| !ours(l)) {
        let _ = writeln!(out, "{line}");
    }
    let _ = writeln!(out, "# HELP {} When the last run ended (Unix time; `--now` if given).\n# TYPE {0} gauge\n{0} {}", LAST_RUN[0], signed_as_f64(at_millis) / 1000.0);
    let _ = writeln!(out, "# HELP {} 1 when the last run ended without error (exit 0, 2 or 3), else 0.\n# TYPE {0} gauge\n{0} {}", LAST_RUN[1], u8::from(success));
    out
}

fn esc(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

pub fn render(events: &[Event], checkpoint: &Checkpoint, duration_ms: u64, state: &str) -> String {
    let mut out = String::new();
    service_gauges(&mut out, checkpoint);
    circuits_and_predictions(&mut out, events, checkpoint);
    run_gauges(&mut out, events, duration_ms, state);
    out
}

/// Per service, from the checkpoint: health (a value, and a 0/1 series a
/// state), restart attempts, CPU use.
fn service_gauges(out: &mut String, checkpoint: &Checkpoint) {
    let _ = writeln!(out, "# HELP supervisor_service_health Service health: 0 dead (or evicted), 1 degraded, 2 healthy, 3 unknown.");
    let _ = writeln!(out, "# TYPE supervisor_service_health gauge");
    for (k, st) in &checkpoint.services {
        let (node, service) = k.split_once('/').unwrap_or((k, ""));
        let _ = writeln!(
            out,
            "supervisor_service_health{{node=\"{}\",service=\"{}\"}} {}",
            esc(node),
            esc(service),
            st.health.gauge()
        );
    }
    health_states(out, checkpoint);
    let _ = writeln!(out, "# HELP supervisor_service_restart_attempts Restarts since the service was last healthy for 10 minutes, its half-open trial was verified up, or reset; a first start is not one.");
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
}

/// Open circuits (this run's `restart_exhausted`) and the predictions that
/// hold, per service and per GPU.
fn circuits_and_predictions(out: &mut String, events: &[Event], checkpoint: &Checkpoint) {
    // The circuit is open where this run found the restarts exhausted.
    let open: std::collections::BTreeSet<(&str, &str)> = events
        .iter()
        .filter(|e| {
            matches!(&e.body, Body::DriftDetected(d) if d.condition == Condition::RestartExhausted)
        })
        .filter_map(|e| Some((e.node.as_deref()?, e.service.as_deref()?)))
        .collect();
    let _ = writeln!(out, "# HELP supervisor_service_circuit_open 1 while the service's restart circuit is open (its restart attempts exhausted), else 0.");
    let _ = writeln!(out, "# TYPE supervisor_service_circuit_open gauge");
    for k in checkpoint.services.keys() {
        let (node, service) = k.split_once('/').unwrap_or((k, ""));
        let _ = writeln!(
            out,
            "supervisor_service_circuit_open{{node=\"{}\",service=\"{}\"}} {}",
            esc(node),
            esc(service),
            u8::from(open.contains(&(node, service)))
        );
    }
    let _ = writeln!(out, "# HELP supervisor_failure_predicted_timestamp_seconds When a metric is predicted to cross its threshold (Unix time), while the prediction holds (failure_predicted).");
    let _ = writeln!(
        out,
        "# TYPE supervisor_failure_predicted_timestamp_seconds gauge"
    );
    for (k, st) in &checkpoint.services {
        let (node, service) = k.split_once('/').unwrap_or((k, ""));
        for (metric, p) in &st.trends.predicted {
            let _ = writeln!(
                out,
                "supervisor_failure_predicted_timestamp_seconds{{node=\"{}\",service=\"{}\",metric=\"{}\",recommended=\"{}\"}} {}",
                esc(node),
                esc(service),
                esc(metric),
                esc(&p.recommended),
                p.projected_at.timestamp()
            );
        }
    }
    for (k, t) in &checkpoint.gpus {
        let (node, gpu) = k.split_once('/').unwrap_or((k, ""));
        for (metric, p) in &t.predicted {
            let _ = writeln!(
                out,
                "supervisor_failure_predicted_timestamp_seconds{{node=\"{}\",gpu=\"{}\",metric=\"{}\",recommended=\"{}\"}} {}",
                esc(node),
                esc(gpu),
                esc(metric),
                esc(&p.recommended),
                p.projected_at.timestamp()
            );
        }
    }
}

/// The last run: webhook failures, actions, decisions, pressure ratios,
/// duration and state.
fn run_gauges(out: &mut String, events: &[Event], duration_ms: u64, state: &str) {
    let webhook_failures = events
        .iter()
        .filter(|e| e.kind() == EventKind::WebhookFailed)
        .count();
    let _ = writeln!(out, "# HELP supervisor_webhook_failures Webhook deliveries still failing at the last run (webhook_failed events; each is retried by the next run).\n# TYPE supervisor_webhook_failures gauge\nsupervisor_webhook_failures {webhook_failures}");
    let mut executed: BTreeMap<(String, String), u64> = BTreeMap::new();
    let mut decided: BTreeMap<(String, String), u64> = BTreeMap::new();
    let mut ratios = vec![];
    for e in events {
        match &e.body {
            Body::ActionExecuted(x) => {
                let key = (x.action.to_string(), x.outcome.to_string());
                *executed.entry(key).or_default() += 1;
            }
            Body::ReconcileRequired(r)
            | Body::ReconcileRecommended(r)
            | Body::ReconcileBlocked(r) => {
                let urgency = e.kind().as_str().trim_start_matches("reconcile_");
                *decided
                    .entry((r.action.to_string(), urgency.to_string()))
                    .or_default() += 1;
            }
            Body::Decision(d) => {
                let node = esc(e.node.as_deref().unwrap_or(""));
                let Some(seen) = &d.snapshot.seen else {
                    continue;
                };
                if let Some(r) = seen.memory_used_ratio {
                    ratios.push(format!(
                        "supervisor_memory_used_ratio{{node=\"{node}\"}} {r}"
                    ));
                }
                for g in &seen.gpus {
                    let (i, r) = (g.index, g.used_ratio);
                    ratios.push(format!(
                        "supervisor_gpu_memory_used_ratio{{node=\"{node}\",gpu=\"{i}\"}} {r}"
                    ));
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
        as_f64(duration_ms) / 1000.0
    );
    let _ = writeln!(out, "# HELP supervisor_run_state Summary state of the last run (1 for the current state).\n# TYPE supervisor_run_state gauge");
    for s in ["nominal", "degraded", "reconciling", "unstable"] {
        let _ = writeln!(
            out,
            "supervisor_run_state{{state=\"{s}\"}} {}",
            u8::from(s == state)
        );
    }
}

/// kube-state-metrics' shape: one series a service and state, 1 for the
/// service's state and 0 for the others, so a change of health starts no
/// new series (and `evicted` is told apart from `dead`).
fn health_states(out: &mut String, checkpoint: &Checkpoint) {
    let _ = writeln!(out, "# HELP supervisor_service_health_state Service health, one series a state: 1 for the current state, else 0.");
    let _ = writeln!(out, "# TYPE supervisor_service_health_state gauge");
    for (k, st) in &checkpoint.services {
        let (node, service) = k.split_once('/').unwrap_or((k, ""));
        for state in Health::ALL {
            let _ = writeln!(
                out,
                "supervisor_service_health_state{{node=\"{}\",service=\"{}\",state=\"{}\"}} {}",
                esc(node),
                esc(service),
                state.as_str(),
                u8::from(st.health == state)
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::trends::Predicted;
    use crate::checkpoint::ServiceState;
    use crate::events::WebhookFailed;

    fn health_lines(health: Health) -> Vec<String> {
        let mut cp = Checkpoint::default();
        let st = ServiceState {
            health,
            ..ServiceState::default()
        };
        cp.services.insert("n/a".into(), Box::new(st));
        render(&[], &cp, 5, "nominal")
            .lines()
            .filter(|l| l.starts_with("supervisor_service_health"))
            .map(str::to_string)
            .collect()
    }

    /// Issue 19: the state was both a label and the value, so each change
    /// of health started a new series. One series a service (the value of
    /// docs/monitoring/README.md), and one a state with 0 or 1 (kube-state-metrics' shape):
    /// the same series whatever the health.
    #[test]
    fn a_health_change_starts_no_new_series() {
        let series = |lines: &[String]| -> Vec<String> {
            let names = lines
                .iter()
                .map(|l| l.rsplit_once(' ').unwrap().0.to_string());
            names.collect()
        };
        let healthy = health_lines(Health::Healthy);
        let dead = health_lines(Health::Dead);
        assert_eq!(series(&healthy), series(&dead));
        assert!(healthy.contains(&"supervisor_service_health{node=\"n\",service=\"a\"} 2".into()));
        assert!(dead.contains(&"supervisor_service_health{node=\"n\",service=\"a\"} 0".into()));
        for (lines, state) in [(&healthy, "healthy"), (&dead, "dead")] {
            let states: Vec<&String> = lines.iter().filter(|l| l.contains(",state=")).collect();
            assert_eq!(states.len(), 5, "{lines:?}");
            for line in states {
                let on = line.contains(&format!("state=\"{state}\""));
                assert!(line.ends_with(if on { "} 1" } else { "} 0" }), "{line}");
            }
        }
    }

    #[test]
    fn circuits_predictions_and_webhook_failures_are_gauges() {
        let mut cp = Checkpoint::default();
        let mut st = ServiceState::default();
        let at: chrono::DateTime<chrono::Utc> = "2026-11-23T12:30:00Z".parse().unwrap();
        st.trends.predicted.insert(
            "memory".into(),
            Predicted {
                projected_at: at,
                emitted_at: at,
                threshold: 1.0,
                slope: 1.0,
                recommended: "restart_when_quiet".into(),
            },
        );
        cp.services.insert("n/a".into(), Box::new(st));
        cp.services.insert("n/b".into(), Box::default());
        let events = [
            Event::new(
                Some("n"),
                Some("a"),
                crate::events::DriftDetected {
                    condition: Condition::RestartExhausted,
                    detail: String::new(),
                    reason: None,
                },
            ),
            Event::new(Some("n"), Some("b"), WebhookFailed::default()),
            Event::new(Some("n"), Some("a"), WebhookFailed::default()),
        ];
        let text = render(&events, &cp, 5, "unstable");
        for line in [
            "supervisor_service_circuit_open{node=\"n\",service=\"a\"} 1",
            "supervisor_service_circuit_open{node=\"n\",service=\"b\"} 0",
            "supervisor_failure_predicted_timestamp_seconds{node=\"n\",service=\"a\",metric=\"memory\",recommended=\"restart_when_quiet\"} 1795437000",
            "supervisor_webhook_failures 2",
        ] {
            assert!(text.lines().any(|l| l == line), "no `{line}` in\n{text}");
        }
    }
}
