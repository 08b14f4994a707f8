//! `replay SCENARIO` (docs/decision-quality.md): the decision core of `reconcile` run over
//! a recorded or authored sequence of worlds, the clock at each step's
//! time and the checkpoint carried from step to step, executing nothing.
//! The scenario node's actions that a real run would execute are recorded
//! as executed (`outcome: started`) and verified against the next step's
//! world by the same rules as real ones; then the run is scored against
//! the scenario's faults.
//!
//! Guarantees: no second implementation — each step is `core::decide` and
//! `core::settle`, exactly as `reconcile` calls them; nothing is executed,
//! probed or written; the same scenario prints the same bytes (only
//! `run_finished.duration_ms` measures this machine).
pub mod scenario;
pub mod score;
mod summary;
mod timeline;

use crate::exit::Exit;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Result};

use crate::checkpoint::Checkpoint;
use crate::core::settle::{settle, Execution, Report};
use crate::core::{decide, Decision, Disposition, Input, Mode, Overrides};
use crate::desired::Fleet;
use crate::events::{Event, RunFinished, RunStarted};
use crate::run::{Output, RunIdentity};
use scenario::Scenario;
pub use summary::StepSummary;

/// `replay DIR`: prints every step's events then the score (JSON), or a
/// timeline and the score as a table, step by step as they are decided;
/// 0 when the score is clean, 2 when not, 1 on an error.
pub fn run(dir: &Path, output: Output, insecure_config: bool) -> Result<Exit> {
    let Some((fleet, scenario)) = open(dir, insecure_config)? else {
        return Ok(Exit::Error);
    };
    let mut out = Stdout::default();
    if output == Output::Human {
        out.write(&timeline::header(&scenario));
    }
    let (steps, _) = replay(&fleet, &scenario, |lines, summary| match output {
        Output::Json => lines.iter().for_each(|l| out.write(l)),
        Output::Human => out.write(&timeline::line(summary)),
    });
    let score = score::score(&fleet, &scenario, &steps);
    match (output, steps.last()) {
        (Output::Json, Some(last)) => out.write(&score.event(&scenario.node).to_line(
            &crate::fmt::ts(last.at),
            &last.run_id,
            last.next_seq,
        )),
        _ => out.write(&timeline::table(&scenario, &score)),
    }
    out.finish()?;
    Ok(exit_code(&score))
}

fn exit_code(score: &score::Score) -> Exit {
    if score.clean() {
        Exit::Ok
    } else {
        Exit::ScoreNotClean
    }
}

/// `replay DIR --output html`: the replay's timelines, the states it
/// ends in, its memory series and incidents, and the score, as one
/// self-contained page on stdout (`crate::report`, as `report` draws a
/// state directory). The page is made at the last step's time, so the same
/// scenario gives the same bytes.
pub fn run_html(dir: &Path, insecure_config: bool) -> Result<Exit> {
    let Some((fleet, scenario)) = open(dir, insecure_config)? else {
        return Ok(Exit::Error);
    };
    let first = scenario.steps.first().map(|s| scenario.time_of(s));
    let last = scenario.steps.last().map(|s| scenario.time_of(s));
    let (since, until) = (
        first.unwrap_or(scenario.start),
        last.unwrap_or(scenario.start),
    );
    let mut events = crate::report::Events::default();
    let (steps, checkpoint) = replay(&fleet, &scenario, |lines, _| {
        for l in lines {
            if let Ok(v) = serde_json::from_str(l) {
                events.add(v, since, until);
            }
        }
    });
    let score = score::score(&fleet, &scenario, &steps);
    let inputs = crate::report::Inputs {
        title: format!("Replay of {}", scenario.dir.display()),
        source: format!(
            "scenario {} · node {} · {} steps{}",
            scenario.dir.display(),
            scenario.node,
            scenario.steps.len(),
            scenario
                .description
                .as_deref()
                .map(|d| format!(" · {d}"))
                .unwrap_or_default()
        ),
        made_at: until,
        since,
        nodes: crate::report::NodeInfo::from_fleet(&fleet),
        checkpoint,
        overrides: crate::store::overrides::Overrides::default(),
        events,
        problems: vec![],
        score: Some(timeline::table(&scenario, &score)),
    };
    let mut out = Stdout::default();
    out.write(&crate::report::render(&inputs));
    out.finish()?;
    Ok(exit_code(&score))
}

/// The scenario's fleet and scenario; `None` (the problem on stderr) when
/// either is refused.
fn open(dir: &Path, insecure_config: bool) -> Result<Option<(Fleet, Scenario)>> {
    let hosts = dir.join("hosts");
    let file = dir.join(scenario::FILE);
    let hint = "hint: a scenario is a folder with scenario.yaml, hosts/<node>/services.yaml and one world folder per step (see docs/decision-quality.md)";
    if std::fs::symlink_metadata(&file).is_err() {
        bail!(
            "`{}` has no {}: it is not a scenario folder\n\n{hint}",
            dir.display(),
            scenario::FILE
        );
    }
    if !std::fs::symlink_metadata(&hosts).is_ok_and(|m| m.is_dir()) {
        bail!(
            "scenario `{}` has no hosts/ folder (its nodes' services.yaml)\n\n{hint}",
            dir.display()
        );
    }
    let Some((fleet, _)) = crate::run::load_trusted_fleet(&hosts, insecure_config) else {
        return Ok(None);
    };
    match scenario::load(dir, &fleet) {
        Ok(s) => Ok(Some((fleet, s))),
        Err((e, source)) => {
            eprintln!("{}", e.render(source.as_deref()));
            eprintln!("\nerror: the scenario has a problem; fix it and replay again");
            Ok(None)
        }
    }
}

/// The replay's output as it goes, through the one writer
/// (`commands::stdout`, which also ends it quietly on a closed stdout):
/// the replay runs to its score whatever happens to its output, and the
/// first failure to write is its error.
#[derive(Default)]
struct Stdout {
    error: Option<anyhow::Error>,
}

impl Stdout {
    fn write(&mut self, text: &str) {
        if self.error.is_none() {
            self.error = crate::commands::stdout::write(text).err();
        }
    }

    fn finish(self) -> Result<()> {
        self.error.map_or(Ok(()), Err)
    }
}

/// Runs the core over every step, handing each step's stamped lines and
/// its summary to `emit` as soon as it is decided; pure but for reading
/// each step's world. Returns the summaries (what the score needs) and the
/// checkpoint the last step left.
pub fn replay(
    fleet: &Fleet,
    scenario: &Scenario,
    mut emit: impl FnMut(&[String], &StepSummary),
) -> (Vec<StepSummary>, Checkpoint) {
    let mut checkpoint = Checkpoint::default();
    let overrides = Overrides::default();
    let live = BTreeMap::new();
    let mode = Mode::Reconcile { dry_run: false };
    let mut steps = Vec::with_capacity(scenario.steps.len());
    for (i, step) in scenario.steps.iter().enumerate() {
        let started = Instant::now();
        let now = scenario.time_of(step);
        let world = crate::world::load::load_world(&step.world, fleet);
        let started_body = RunStarted {
            command: "reconcile".into(),
            dry_run: false,
            local_node: Some(scenario.node.clone()),
            replay_step: Some(i as u64),
            version: env!("CARGO_PKG_VERSION").into(),
        };
        let mut preamble = vec![Event::new(Some(&scenario.node), None, started_body)];
        preamble.extend(world.invalid_events());
        let checkpoint_bytes = serde_json::to_vec(&checkpoint).unwrap_or_default();
        let input = Input {
            fleet,
            world: &world,
            checkpoint: &checkpoint,
            overrides: &overrides,
            live: &live,
            now,
            mode,
            local_node: Some(&scenario.node),
            operator: None,
        };
        let decision = decide(&input);
        let execution = simulate(&decision);
        let settled = settle(fleet, decision, mode, now, preamble, &execution);
        let ts = crate::fmt::ts(now);
        let run_id = RunIdentity {
            command: "replay",
            dry_run: false,
            hosts: &fleet.fingerprint,
            world: &world.fingerprint,
            checkpoint: &checkpoint_bytes,
            overrides: b"",
            live: b"",
            now: &ts,
        }
        .run_id();
        let mut seq = checkpoint.next_seq.max(1);
        let mut counts = settled.counts;
        counts.webhook_failed = Some(0);
        let finished = RunFinished {
            counts,
            duration_ms: crate::num::millis(started.elapsed()),
            interrupted: None,
            state: settled.summary.as_str().into(),
        };
        let mut events = settled.events;
        events.push(Event::new(Some(&scenario.node), None, finished));
        let mut lines = Vec::with_capacity(events.len());
        for e in &events {
            lines.push(e.to_line(&ts, &run_id, seq));
            seq += 1;
        }
        checkpoint = settled.checkpoint;
        checkpoint.next_seq = seq;
        let stamp = (run_id.as_str(), seq - 1);
        let summary = summary::summarize(&scenario.node, (now, step.at), &events, stamp);
        emit(&lines, &summary);
        steps.push(summary);
    }
    (steps, checkpoint)
}

/// What a real run would have executed, as started: a replay executes
/// nothing, and the next step's world says whether it worked.
fn simulate(decision: &Decision) -> Execution {
    let started = || Report {
        success: true,
        reason: "simulated by replay".into(),
        exit_code: None,
        duration_ms: 0,
        spawned: None,
        started: true,
    };
    Execution {
        outcomes: decision
            .nodes
            .iter()
            .flat_map(|n| n.services.iter())
            .flat_map(|s| s.actions.iter())
            .map(|a| (a.disposition == Disposition::Execute).then(started))
            .collect(),
        removals: decision
            .removals
            .iter()
            .map(|r| (r.disposition == Disposition::Execute).then(started))
            .collect(),
        // A replay has no live probe, so no orphans; any would be simulated too.
        orphans: decision
            .nodes
            .iter()
            .flat_map(|n| n.orphan_evictions.iter())
            .map(|e| (e.disposition == Disposition::Execute).then(started))
            .collect(),
        interrupted: None,
    }
}
