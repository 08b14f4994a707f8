//! One run, end to end: load desired and actual state, decide (pure), execute
//! (reconcile only), then record events and the checkpoint. This module is
//! the edge that does the I/O the decision core must not.
mod execute;
mod identity;
mod inputs;
mod probes;
mod record;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Result;
use chrono::{DateTime, SecondsFormat, Utc};

use crate::core::settle::{settle, Outcome};
use crate::core::{decide, Input, Mode};
use crate::events::Event;
pub use identity::RunIdentity;
pub use inputs::{load_fleet_or_report, Inputs};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    Human,
    Json,
}

/// Where the run's events go besides stdout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventsTarget {
    /// `<state-dir>/events.jsonl` for reconcile, nowhere for check.
    Default,
    Stdout,
    File(PathBuf),
}

#[derive(Debug, Clone)]
pub struct RunOptions {
    pub hosts: PathBuf,
    pub world: PathBuf,
    pub state_dir: Option<PathBuf>,
    pub checkpoint_file: Option<PathBuf>,
    pub overrides_file: Option<PathBuf>,
    pub node: Option<String>,
    pub now: Option<DateTime<Utc>>,
    pub output: Output,
    pub events: EventsTarget,
    pub mode: Mode,
    pub probe: bool,
    pub wait: Option<Duration>,
    pub metrics_file: Option<PathBuf>,
}

pub fn format_ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// Runs `check` or `reconcile`; returns the exit code.
pub fn run(opts: &RunOptions) -> Result<i32> {
    let started = Instant::now();
    let Some(fleet) = load_fleet_or_report(&opts.hosts) else {
        return Ok(1);
    };
    let now = opts.now.unwrap_or_else(Utc::now);
    let mut inputs = Inputs::load(opts, &fleet, now)?;
    let local = inputs.local_node.clone();
    let input = Input {
        fleet: &fleet,
        world: &inputs.world,
        checkpoint: &inputs.checkpoint,
        overrides: &inputs.overrides,
        live: &inputs.live,
        now,
        mode: opts.mode,
        local_node: local.as_deref(),
    };
    let decision = decide(&input);
    let outcomes: Vec<Option<Outcome>> = inputs.execute(&fleet, &decision, opts)?;
    let ts = format_ts(now);
    let run_id = inputs.run_id(opts, &fleet, &ts);
    let mut preamble = vec![Event::new("run_started", local.as_deref(), None)
        .with("command", command_name(opts.mode))
        .with(
            "dry_run",
            matches!(opts.mode, Mode::Reconcile { dry_run: true }),
        )
        .with("version", env!("CARGO_PKG_VERSION"))
        .with("local_node", local.clone())];
    preamble.append(&mut inputs.preamble);
    let settled = settle(&fleet, decision, opts.mode, now, preamble, &outcomes);
    record::finish(opts, &mut inputs, settled, &ts, &run_id, started)
}

pub fn command_name(mode: Mode) -> &'static str {
    match mode {
        Mode::Check => "check",
        Mode::Reconcile { .. } => "reconcile",
    }
}
