//! Waiting for an operator's start to come up (docs/reference/behaviour.md, "Operator commands"): the command
//! probes that one service (its process and its health check, no GPU)
//! until it is up, until a spawned process is gone, or until its
//! `start_grace` is over, counted from the start (while the server answers
//! that it is loading, the grace counts from the end of loading, up to
//! `load_timeout`). The edge's work: it reads the clock and probes. The
//! next run settles the start by the core's rules (`action_verified`).
use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::core::LiveObservation;
use crate::desired::{NodeSpec, ServiceSpec, Start};
use crate::fmt::duration;
use crate::probe::{self, ProbeOptions};

/// How often the service is probed while the command waits.
const POLL: Duration = Duration::from_millis(250);

/// Waits for `service` of `node`, started `after` ago: `Ok` with how long
/// it took to be seen up, `Err` with why it failed.
pub fn until_up(
    node: &NodeSpec,
    service: &str,
    state_dir: &Path,
    after: Duration,
) -> Result<String, String> {
    let Some(spec) = node.services.get(service) else {
        return Err(format!("no service `{service}` on node `{}`", node.name));
    };
    if !observable(spec) {
        return Ok("started; nothing declared to see it up by (no `health` check or `process`), so it is not waited for".into());
    }
    let mut one = node.clone();
    one.services.retain(|name, _| name == service);
    let opts = ProbeOptions {
        state_dir: Some(state_dir.to_path_buf()),
        max_parallel: 1,
        gpus: false,
        ..ProbeOptions::default()
    };
    let began = Instant::now()
        .checked_sub(after)
        .unwrap_or_else(Instant::now);
    let grace = spec.start_grace;
    let load_end = began + node.settings.load_timeout;
    let mut deadline = began + grace;
    loop {
        let (observation, reason, loading) = probe_once(&one, service, &opts);
        let reason = reason.unwrap_or_else(|| "no answer".into());
        match observation {
            LiveObservation::Up => return Ok(format!("up after {}", took(began))),
            LiveObservation::Down if spawned(spec) => {
                return Err(format!(
                    "exited after the start ({}): {reason}",
                    took(began)
                ))
            }
            _ if loading => deadline = deadline.max((Instant::now() + grace).min(load_end)),
            _ => {}
        }
        if Instant::now() >= deadline {
            let what = if loading {
                format!(
                    "still loading after load_timeout ({})",
                    duration(node.settings.load_timeout)
                )
            } else {
                format!("not healthy within start_grace ({})", duration(grace))
            };
            return Err(format!("{what}: {reason}"));
        }
        std::thread::sleep(POLL);
    }
}

/// Whether anything tells that the service is up: a health check, a
/// process to find, or the process this tool spawned.
fn observable(spec: &ServiceSpec) -> bool {
    spec.health.probe.is_some() || spec.process.is_some() || spawned(spec)
}

fn spawned(spec: &ServiceSpec) -> bool {
    matches!(spec.start, Some(Start::Spawn(_)))
}

/// One probe of the service: what the core would see, why it is not up,
/// and whether it answered that it is loading.
fn probe_once(
    one: &NodeSpec,
    service: &str,
    opts: &ProbeOptions,
) -> (LiveObservation, Option<String>, bool) {
    let live = super::probes::reduce(probe::probe_node(one, &HashMap::new(), opts));
    match live.services.get(service) {
        Some(s) => (s.observation, s.reason.clone(), s.loading),
        None => (LiveObservation::NoData, None, false),
    }
}

/// The time since the start, for people (`1.2s`).
fn took(began: Instant) -> String {
    let d = began.elapsed();
    format!("{:.1}s", d.as_secs_f64())
}
