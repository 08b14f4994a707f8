//! One run, end to end: load desired and actual state, decide (pure), execute
//! (reconcile only), then record events and the checkpoint. This module is
//! the edge that does the I/O the decision core must not.
mod execute;
mod finish;
mod fleet;
mod identity;
mod inputs;
pub mod launch;
mod orphans;
mod probes;
pub mod signals;
mod wait;

use crate::exit::Exit;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Result;

use crate::core::settle::settle;
use crate::core::{decide, Input, Mode};
use crate::events::{ConfigInsecure, Event, RunStarted};
pub use fleet::{load_fleet_or_report, load_trusted_fleet, load_trusted_fleet_quietly, local_node};
pub use identity::RunIdentity;
pub use inputs::Inputs;
pub use wait::until_up;

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
    /// Resolved once at the command line's edge (`crate::resolved`);
    /// nothing downstream defaults it again.
    pub state_dir: crate::store::StateDir,
    pub checkpoint_file: Option<PathBuf>,
    pub overrides_file: Option<PathBuf>,
    /// `--node`, else the host name.
    pub node: crate::resolved::LocalNode,
    pub clock: crate::clock::Clock,
    pub output: Output,
    pub events: EventsTarget,
    pub mode: Mode,
    pub probe: bool,
    pub wait: Option<Duration>,
    pub metrics_file: Option<PathBuf>,
    pub insecure_config: bool,
    /// A one-off operator action (`restart`/`stop`/`start`) for this pass.
    pub operator: Option<crate::core::OperatorRequest>,
    /// `check --shard K/N`: only this stable slice of the nodes.
    pub shard: Option<(u32, u32)>,
    /// Settings from the environment (timings, the log's rotation).
    pub settings: crate::resolved::Settings,
}

impl EventsTarget {
    /// `--events` as given: none, `-` (stdout) or a file.
    pub fn from_flag(flag: Option<&str>) -> EventsTarget {
        match flag {
            None => EventsTarget::Default,
            Some("-") => EventsTarget::Stdout,
            Some(p) => EventsTarget::File(PathBuf::from(p)),
        }
    }

    /// The event log that a reconcile appends to and `events`/`audit`
    /// read: `--events FILE`, else `<state-dir>/events.jsonl`.
    pub fn log(&self, state_dir: &std::path::Path) -> PathBuf {
        match self {
            EventsTarget::File(p) => p.clone(),
            _ => crate::store::Layout::of(state_dir).events_log(),
        }
    }
}

impl RunOptions {
    /// The event log a reconcile appends to ([`EventsTarget::log`]).
    pub fn events_log(&self) -> PathBuf {
        self.events.log(&self.state_dir)
    }
}

pub use crate::fmt::ts as format_ts;

/// What a pass ended with: its exit and, for an operator's pass, what
/// came of the request.
#[derive(Debug)]
pub struct Pass {
    pub exit: Exit,
    pub operator: Option<crate::core::operator::Verdict>,
}

impl Pass {
    fn error() -> Pass {
        Pass {
            exit: Exit::Error,
            operator: None,
        }
    }
}

/// Runs one pass (`check`, `reconcile`, or an operator's); returns its
/// exit and the operator's verdict.
pub fn run_pass(opts: &RunOptions) -> Result<Pass> {
    let started = Instant::now();
    let mut phases = Phases::new(started, opts.settings.timings);
    let Some((mut fleet, insecure)) = trust_or_refuse(opts) else {
        return Ok(Pass::error());
    };
    if let Some(shard) = opts.shard {
        crate::commands::shard::retain(&mut fleet, shard);
    }
    phases.mark("hosts");
    if opts.mode == (Mode::Reconcile { dry_run: false }) {
        signals::install();
    }
    let now = opts.clock.now();
    let mut inputs = Inputs::load(opts, &fleet, now)?;
    phases.mark("world, checkpoint, probes");
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
        operator: opts.operator.as_ref(),
    };
    let decision = decide(&input);
    phases.mark("decide");
    let executed = inputs.execute(&fleet, &decision, now, opts)?;
    phases.mark("execute");
    let operator = opts.operator.as_ref().map(|req| {
        let d = &decision;
        crate::core::operator::verdict(&d.nodes, &d.checkpoint, &fleet, &executed, req, now)
    });
    let ts = format_ts(now);
    let run_id = inputs.run_id(opts, &fleet, &ts);
    // Decided: the world and the checkpoint as read are not needed again,
    // so a large fleet's run does not hold them to its end.
    inputs.world = crate::world::World::default();
    inputs.checkpoint = crate::checkpoint::Checkpoint::default();
    let started_body = RunStarted {
        command: command_name(opts).into(),
        dry_run: matches!(opts.mode, Mode::Reconcile { dry_run: true }),
        local_node: local.clone(),
        replay_step: None,
        version: env!("CARGO_PKG_VERSION").into(),
    };
    let mut preamble = vec![Event::new(local.as_deref(), None, started_body)];
    for p in &insecure {
        preamble.push(Event::new(
            None,
            None,
            ConfigInsecure {
                path: p.path.display().to_string(),
                problem: p.problem.clone(),
            },
        ));
    }
    preamble.append(&mut inputs.preamble);
    let settled = settle(&fleet, decision, opts.mode, now, preamble, &executed);
    phases.mark("settle");
    let exit = finish::finish(opts, &fleet, &mut inputs, settled, &ts, &run_id, started);
    phases.mark("record");
    phases.report();
    if let Some(sig) = executed.interrupted {
        eprintln!("error: interrupted by {sig}: the action in progress finished, the rest were not started; all of it is recorded");
        exit?;
        return Ok(Pass::error());
    }
    Ok(Pass {
        exit: exit?,
        operator,
    })
}

/// Loads hosts/ and, as root, refuses it when others could have written
/// it (the one loading step of every command: [`load_trusted_fleet`]),
/// unless `--insecure-config` says to go on; then each problem is reported
/// as an event. None means refused (the reasons are on stderr).
fn trust_or_refuse(
    opts: &RunOptions,
) -> Option<(
    crate::desired::Fleet,
    Vec<crate::desired::trust::TrustProblem>,
)> {
    load_trusted_fleet(&opts.hosts, opts.insecure_config)
}

/// `SUPERVISORCTL_TIMINGS=1` prints where a run's time went, to stderr.
struct Phases {
    on: bool,
    last: Instant,
    /// Each phase's name, duration and the peak memory up to its end.
    marks: Vec<(&'static str, Duration, Option<u64>)>,
}

impl Phases {
    fn new(start: Instant, on: bool) -> Phases {
        Phases {
            on,
            last: start,
            marks: vec![],
        }
    }

    fn mark(&mut self, name: &'static str) {
        if self.on {
            let now = Instant::now();
            let peak = crate::procfs::peak_rss_bytes();
            self.marks.push((name, now - self.last, peak));
            self.last = now;
        }
    }

    fn report(&self) {
        for (name, d, peak) in &self.marks {
            let peak = peak.map(crate::fmt::size).unwrap_or_default();
            eprintln!(
                "timing: {name:<28} {:>9.2} ms  peak {peak}",
                d.as_secs_f64() * 1e3
            );
        }
    }
}

/// `run_started`'s `command`: `check`, `reconcile`, or the operator's
/// `restart`, `stop` or `start` (docs/reference/behaviour.md, "Operator commands": the pass is recorded with it).
pub fn command_name(opts: &RunOptions) -> &'static str {
    match (&opts.operator, opts.mode) {
        (Some(req), _) => req.action.as_str(),
        (None, Mode::Check) => "check",
        (None, Mode::Reconcile { .. }) => "reconcile",
    }
}
