//! The executor's driver: walks the plan and carries out, in order, each
//! action the guardrails cleared. It never decides; every outcome (success,
//! failure, what was seen) goes back to the core as data.
//!
//! Guarantees: only `reconcile` without `--dry-run` gets here with anything
//! to do; only actions with `Disposition::Execute` run (local node, outside
//! maintenance, not held, out of backoff, within the per-run budget); a
//! failing action is recorded and never stops the ones after it.
//! Caveats: a restart command may have side effects we cannot see; we only
//! report its exit status and the tail of its stderr.
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};

use super::RunOptions;
use crate::checkpoint::{key, Fallback};
use crate::core::settle::Outcome;
use crate::core::{Action, Decision, Disposition, LiveNode, Mode};
use crate::desired::{Fleet, ServiceSpec, Start};
use crate::exec::{self, StopOutcome};
use crate::intent::Intent;
use crate::procfs::{self, ProcessIdentity};
use crate::store::{self, fallbacks::FallbackEntry};

pub fn execute(
    fleet: &Fleet,
    decision: &Decision,
    live: &BTreeMap<String, LiveNode>,
    now: chrono::DateTime<chrono::Utc>,
    opts: &RunOptions,
    state_dir: Option<&Path>,
    run_seq: u64,
) -> Result<Executed> {
    let live_run = opts.mode == Mode::Reconcile { dry_run: false };
    let mut interrupted = None;
    let mut fallbacks = decision.checkpoint.fallbacks.clone();
    let mut out = vec![];
    for a in decision
        .nodes
        .iter()
        .flat_map(|n| n.services.iter())
        .flat_map(|s| s.actions.iter())
    {
        let (true, Disposition::Execute, Some(dir)) = (live_run, &a.disposition, state_dir) else {
            out.push(None);
            continue;
        };
        let Some(spec) = fleet
            .nodes
            .get(&a.node)
            .and_then(|n| n.services.get(&a.service))
        else {
            out.push(None);
            continue;
        };
        let k = key(&a.node, &a.service);
        // A SIGTERM or SIGINT lets the action in progress finish; nothing
        // after it starts.
        if let Some(sig) = interrupted.or_else(super::signals::received) {
            interrupted = Some(sig);
            out.push(None);
            continue;
        }
        // Record before act: the attempt is durable before anything runs,
        // so a run killed from here on cannot leave it uncounted.
        let attempt = if a.action == Action::Restart {
            decision
                .checkpoint
                .services
                .get(&k)
                .map_or(0, |s| s.restart_attempts)
                + 1
        } else {
            0
        };
        let intent = Intent {
            run_seq,
            at: now,
            node: a.node.clone(),
            service: a.service.clone(),
            action: a.action.as_str().to_string(),
            attempt,
        };
        let journal = dir.join(store::intents::FILE);
        store::intents::record(&journal, &intent).with_context(|| {
            format!(
                "cannot record the intent to {} `{}` before executing it; nothing more was executed",
                a.action.as_str(),
                k
            )
        })?;
        // Only a process that this run's live probe found may be signalled:
        // an identity merely remembered in the checkpoint could be forged.
        let known = live
            .get(&a.node)
            .and_then(|n| n.services.get(&a.service))
            .and_then(|s| s.identity);
        let started = Instant::now();
        let mut outcome = match a.action {
            Action::Restart | Action::Preload => start(spec, known, dir),
            Action::Evict => evict(spec, known),
            Action::ActivateFallback | Action::DeactivateFallback => {
                let mut next = fallbacks.clone();
                if a.action == Action::ActivateFallback {
                    if let Some(to) = &spec.fallback {
                        next.insert(
                            k.clone(),
                            Fallback {
                                to: to.clone(),
                                since: now,
                            },
                        );
                    }
                } else {
                    next.remove(&k);
                }
                match publish_fallbacks(dir, &next) {
                    Ok(()) => {
                        fallbacks = next;
                        ok(format!("wrote `{}`", dir.join("fallbacks.json").display()))
                    }
                    Err(e) => failed(format!("{e:#}")),
                }
            }
            _ => failed("not an executable action".into()),
        };
        outcome.duration_ms = started.elapsed().as_millis() as u64;
        out.push(Some(outcome));
    }
    Ok(Executed {
        outcomes: out,
        interrupted,
    })
}

/// What the executor did: one entry per planned action (None: not
/// executed), and the signal that stopped it early, if one did.
pub struct Executed {
    pub outcomes: Vec<Option<Outcome>>,
    pub interrupted: Option<&'static str>,
}

fn ok(reason: String) -> Outcome {
    Outcome {
        success: true,
        reason,
        exit_code: None,
        duration_ms: 0,
        spawned: None,
    }
}

fn failed(reason: String) -> Outcome {
    Outcome {
        success: false,
        reason,
        exit_code: None,
        duration_ms: 0,
        spawned: None,
    }
}

fn start(spec: &ServiceSpec, known: Option<ProcessIdentity>, dir: &Path) -> Outcome {
    match &spec.start {
        Some(Start::Restart(argv)) => {
            let r = exec::run_command(argv, spec.restart_timeout);
            let mut o = if r.success() {
                ok(format!("`{}` exited 0", argv.join(" ")))
            } else {
                failed(describe(&r, argv))
            };
            o.exit_code = r.exit_code;
            o
        }
        Some(Start::Spawn(argv)) => {
            // A spawned service that still lives (failing its probe) is
            // stopped first, so two copies never fight over a port.
            if let Some(id) = known.filter(|id| procfs::is_same_process(*id)) {
                if let StopOutcome::Refused(why) | StopOutcome::Failed(why) =
                    exec::stop_process(Some(id), spec.stop.as_deref(), spec.stop_timeout)
                {
                    return failed(format!("could not stop the old process {}: {why}", id.pid));
                }
            }
            let log = dir.join("logs").join(format!("{}.log", spec.name));
            let pid = dir.join("pids").join(format!("{}.pid", spec.name));
            match exec::spawn_detached(argv, &log, &pid) {
                Ok(id) => Outcome {
                    spawned: Some(id),
                    ..ok(format!(
                        "spawned pid {}, output to `{}`",
                        id.pid,
                        log.display()
                    ))
                },
                Err(e) => failed(format!("cannot spawn `{}`: {e}", argv.join(" "))),
            }
        }
        None => failed("no `restart` or `spawn` command declared".into()),
    }
}

fn describe(r: &exec::CommandResult, argv: &[String]) -> String {
    let cmd = argv.join(" ");
    let what = if let Some(e) = &r.error {
        e.clone()
    } else if r.timed_out {
        format!(
            "`{cmd}` timed out after {} ms and was killed",
            r.duration.as_millis()
        )
    } else if let Some(code) = r.exit_code {
        format!("`{cmd}` exited {code}")
    } else {
        format!("`{cmd}` was killed by signal {}", r.signal.unwrap_or(0))
    };
    if r.stderr_tail.is_empty() {
        what
    } else {
        format!("{what}: {}", r.stderr_tail)
    }
}

fn evict(spec: &ServiceSpec, known: Option<ProcessIdentity>) -> Outcome {
    let target = known.filter(|id| procfs::is_same_process(*id));
    if target.is_none() && spec.stop.is_none() {
        return failed(
            "no process confirmed by this run's live probe, and no `stop` command".into(),
        );
    }
    let result = exec::stop_process(target, spec.stop.as_deref(), spec.stop_timeout);
    let still = target.is_some_and(procfs::is_running);
    let freed = if still {
        "; process still alive: its memory was NOT freed"
    } else {
        "; process gone, memory freed"
    };
    let mut o = match result {
        StopOutcome::Stopped { signal, waited } => ok(format!(
            "stopped with {signal} after {} ms{freed}",
            waited.as_millis()
        )),
        StopOutcome::AlreadyGone => ok("process already gone".into()),
        StopOutcome::StopCommand(r) => {
            let mut o = if r.success() && !still {
                ok(format!("stop command exited 0{freed}"))
            } else {
                failed(format!(
                    "{}{freed}",
                    describe(&r, spec.stop.as_deref().unwrap_or_default())
                ))
            };
            o.exit_code = r.exit_code;
            o
        }
        StopOutcome::Refused(why) => failed(format!("refused to signal: {why}")),
        StopOutcome::Failed(why) => failed(why),
    };
    if still {
        o.success = false;
    }
    o
}

/// Writes `<state-dir>/fallbacks.json` for routers, atomically.
pub fn publish_fallbacks(dir: &Path, map: &BTreeMap<String, Fallback>) -> Result<()> {
    let entries: BTreeMap<String, FallbackEntry> = map
        .iter()
        .map(|(k, f)| {
            (
                k.clone(),
                FallbackEntry {
                    to: f.to.clone(),
                    since: f.since,
                },
            )
        })
        .collect();
    store::fallbacks::write_fallbacks(&dir.join("fallbacks.json"), &entries)?;
    Ok(())
}
