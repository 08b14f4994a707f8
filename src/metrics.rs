//! `--metrics-file`: Prometheus text exposition for node_exporter's textfile
//! collector, written atomically after each run. Built from the run's events
//! and the checkpoint it leaves, so it never disagrees with the event log.
//!
//! **Publishing** ([`run`]): the run renders its gauges into a hidden
//! staging file next to the metrics file (`.<name>.run`, which the textfile
//! collector ignores: it reads `*.prom` only); then the last-run gauges
//! (`supervisor_last_run_timestamp_seconds`, `supervisor_last_run_success`)
//! are added and the result replaces the metrics file atomically with mode
//! 0644 whatever the umask, since node_exporter runs as another user
//! (`prometheus` on Debian). A run that fails before rendering keeps the
//! previous gauges and sets `supervisor_last_run_success 0`.
use std::collections::BTreeMap;
use std::fmt::Write;
use std::fs::{self, OpenOptions, Permissions};
use std::io::{self, Read};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use chrono::Utc;
use nix::libc;
use serde_json::Value;

use crate::checkpoint::Checkpoint;
use crate::events::{Event, EventKind};
use crate::run::RunOptions;

/// The gauges [`publish`] owns; a run's rendering never has them.
const LAST_RUN: [&str; 2] = [
    "supervisor_last_run_timestamp_seconds",
    "supervisor_last_run_success",
];

/// A metrics file larger than this is not read back (it is not ours).
const MAX_BYTES: u64 = 16 << 20;

/// Runs `check` or `reconcile` ([`crate::run::run`]) and, with
/// `--metrics-file`, publishes its metrics (see the module documentation).
/// The run's result wins over a failure to publish.
pub fn run(opts: &RunOptions) -> Result<i32> {
    let Some(path) = opts.metrics_file.clone() else {
        return crate::run::run(opts);
    };
    let staged = staging_path(&path)?;
    // A leftover of a killed run must not pass for this run's gauges.
    let _ = fs::remove_file(&staged);
    let mut inner = opts.clone();
    inner.metrics_file = Some(staged.clone());
    let result = crate::run::run(&inner);
    let success = matches!(result, Ok(0 | 2 | 3));
    let now = opts.now.unwrap_or_else(Utc::now);
    let body = read_limited(&staged).or_else(|| read_limited(&path));
    let _ = fs::remove_file(&staged);
    let text = with_last_run(&body.unwrap_or_default(), now.timestamp_millis(), success);
    let published = write_public(&path, text.as_bytes())
        .with_context(|| format!("cannot write metrics `{}`", path.display()));
    match result {
        Ok(code) if success => published.map(|()| code),
        other => {
            if let Err(e) = published {
                eprintln!("error: {e:#}");
            }
            other
        }
    }
}

/// `.<name>.run` next to `path`.
fn staging_path(path: &Path) -> Result<PathBuf> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .with_context(|| format!("metrics file `{}` is not a file name", path.display()))?;
    Ok(path.with_file_name(format!(".{name}.run")))
}

/// A regular file's text (no symlink followed), if it can be read.
fn read_limited(path: &Path) -> Option<String> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_NONBLOCK)
        .open(path)
        .ok()?;
    if !file.metadata().ok()?.is_file() {
        return None;
    }
    let mut text = String::new();
    file.take(MAX_BYTES).read_to_string(&mut text).ok()?;
    Some(text)
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
    let _ = writeln!(out, "# HELP {} When the last run ended (Unix time; `--now` if given).\n# TYPE {0} gauge\n{0} {}", LAST_RUN[0], at_millis as f64 / 1000.0);
    let _ = writeln!(out, "# HELP {} 1 when the last run ended without error (exit 0, 2 or 3), else 0.\n# TYPE {0} gauge\n{0} {}", LAST_RUN[1], u8::from(success));
    out
}

/// Replaces `path` with `bytes` like `store::atomic::write_atomic` (a new
/// file created `O_EXCL|O_NOFOLLOW` next to it, fsynced, renamed, the
/// folder fsynced), but with mode 0644 set by `fchmod`, which the umask
/// does not narrow (the shipped unit runs with `UMask=0077`).
pub fn write_public(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("metrics");
    let pid = std::process::id();
    for n in 0..64 {
        let tmp = dir.join(format!(".{name}.{pid}.{n}.tmp"));
        let created = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&tmp);
        let mut file = match created {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        };
        let written = io::Write::write_all(&mut file, bytes)
            .and_then(|()| file.set_permissions(Permissions::from_mode(0o644)))
            .and_then(|()| file.sync_all())
            .and_then(|()| fs::rename(&tmp, path));
        if let Err(e) = written {
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
        return fs::File::open(dir).and_then(|d| d.sync_all());
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        "no free temporary name",
    ))
}

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
            EventKind::ActionExecuted => {
                *executed.entry((f("action"), f("outcome"))).or_default() += 1
            }
            EventKind::ReconcileRequired
            | EventKind::ReconcileRecommended
            | EventKind::ReconcileBlocked => {
                *decided
                    .entry((
                        f("action"),
                        e.kind.as_str().trim_start_matches("reconcile_").to_string(),
                    ))
                    .or_default() += 1
            }
            EventKind::Decision => {
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
