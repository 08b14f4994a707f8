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
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use super::RunOptions;
use crate::checkpoint::key;
use crate::core::orphans::Eviction;
use crate::core::settle::{Execution, Report};
use crate::core::{Action, Decision, Disposition, LiveNode, Mode, PlannedAction};
use crate::desired::{Fleet, ServiceSpec, Start};
use crate::exec::{self, StopOutcome};
use crate::intent::{Intent, Step};
use crate::procfs::{self, ProcessIdentity};
use crate::store;

/// How long a removed service gets between SIGTERM and SIGKILL (the
/// contract's default `stop_timeout`).
pub(super) const STOP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// The longest a run waits to see whether a spawned process dies at once.
const EARLY_EXIT: std::time::Duration = std::time::Duration::from_secs(2);

pub fn execute(
    fleet: &Fleet,
    decision: &Decision,
    live: &BTreeMap<String, LiveNode>,
    now: chrono::DateTime<chrono::Utc>,
    opts: &RunOptions,
    state_dir: Option<&Path>,
    run_seq: u64,
) -> Result<Execution> {
    let live_run = opts.mode == Mode::Reconcile { dry_run: false };
    let mut done = Execution::default();
    let Some(dir) = state_dir.filter(|_| live_run) else {
        done.outcomes = vec![None; planned(decision).count()];
        done.removals = vec![None; decision.removals.len()];
        done.orphans = vec![None; orphan_evictions(decision).count()];
        return Ok(done);
    };
    let run = Executor {
        fleet,
        decision,
        live,
        now,
        dir,
        run_seq,
    };
    run.removals(&mut done)?;
    // Orphans next: safety chose them first, before any declared model.
    run.orphans(&mut done)?;
    let mut published: Option<Result<(), String>> = None;
    for a in planned(decision) {
        let outcome = run.action(a, &mut published, &mut done)?;
        done.outcomes.push(outcome);
    }
    Ok(done)
}

/// What a live run carries out its plan with.
struct Executor<'a> {
    fleet: &'a Fleet,
    decision: &'a Decision,
    live: &'a BTreeMap<String, LiveNode>,
    now: chrono::DateTime<chrono::Utc>,
    dir: &'a Path,
    run_seq: u64,
}

/// A SIGTERM or SIGINT lets the action in progress finish; nothing after
/// it starts.
fn stop_now(done: &mut Execution) -> bool {
    done.interrupted = done.interrupted.or_else(super::signals::received);
    done.interrupted.is_some()
}

impl Executor<'_> {
    fn record(
        &self,
        node: &str,
        service: &str,
        action: Step,
        attempt: u32,
        pid: Option<u32>,
    ) -> Result<()> {
        // Record before act: the attempt is durable before anything runs,
        // so a run killed from here on cannot leave it uncounted.
        let intent = Intent {
            run_seq: self.run_seq,
            at: self.now,
            node: node.to_string(),
            service: service.to_string(),
            action,
            attempt,
            pid,
        };
        store::intents::record(&store::Layout::of(self.dir).intents(), &intent).with_context(|| {
            format!(
                "cannot record the intent to {} `{node}/{service}` before executing it; nothing more was executed", action.as_str()
            )
        })
    }

    /// Stops the processes of services no longer declared.
    fn removals(&self, done: &mut Execution) -> Result<()> {
        for r in &self.decision.removals {
            let (Disposition::Execute, Some(id)) = (&r.disposition, r.process) else {
                done.removals.push(None);
                continue;
            };
            if stop_now(done) {
                done.removals.push(None);
                continue;
            }
            self.record(&r.node, &r.service, Step::StopRemoved, 0, None)?;
            let started = Instant::now();
            let mut outcome = stop_removed(self.dir, &r.service, id);
            outcome.duration_ms = crate::num::millis(started.elapsed());
            done.removals.push(Some(outcome));
        }
        Ok(())
    }

    /// Evicts the orphans the plan cleared.
    fn orphans(&self, done: &mut Execution) -> Result<()> {
        for (node, e) in orphan_evictions(self.decision) {
            if e.disposition != Disposition::Execute || stop_now(done) {
                done.orphans.push(None);
                continue;
            }
            let pid = e.orphan.identity.pid;
            self.record(node, "", Step::EvictOrphan, 0, Some(pid))?;
            let uid = self.live.get(node).and_then(|l| l.user_uid);
            let started = Instant::now();
            let mut outcome = super::orphans::evict(&e.orphan, uid);
            outcome.duration_ms = crate::num::millis(started.elapsed());
            done.orphans.push(Some(outcome));
        }
        Ok(())
    }

    /// Carries out one planned action, if cleared; `published`: the outcome
    /// of the fallbacks' write, once made.
    fn action(
        &self,
        a: &PlannedAction,
        published: &mut Option<Result<(), String>>,
        done: &mut Execution,
    ) -> Result<Option<Report>> {
        let spec = self
            .fleet
            .nodes
            .get(&a.node)
            .and_then(|n| n.services.get(&a.service));
        let (Disposition::Execute, Some(spec)) = (&a.disposition, spec) else {
            return Ok(None);
        };
        if stop_now(done) {
            return Ok(None);
        }
        let Some(step) = Step::of(a.action) else {
            return Ok(Some(failed("not an executable action".into())));
        };
        let k = key(&a.node, &a.service);
        let attempt = if a.action == Action::Restart {
            // The count `core::settle` gives it (0: a first start).
            self.decision
                .checkpoint
                .services
                .get(&k)
                .map_or(0, |st| st.next_restart_attempt())
        } else {
            0
        };
        self.record(&a.node, &a.service, step, attempt, None)?;
        // Only a process that this run's live probe found may be signalled:
        // an identity merely remembered in the checkpoint could be forged.
        let known = self
            .live
            .get(&a.node)
            .and_then(|n| n.services.get(&a.service))
            .and_then(|s| s.identity);
        let started = Instant::now();
        let mut outcome = match a.action {
            Action::Restart | Action::Preload => start(&a.node, spec, known, self.dir),
            Action::Evict => evict(spec, known),
            Action::ActivateFallback | Action::DeactivateFallback => self.fallbacks(published),
            _ => unreachable!("Step::of admits only executable actions"),
        };
        outcome.duration_ms = crate::num::millis(started.elapsed());
        Ok(Some(outcome))
    }

    /// The core computed the whole map: written once, at the first
    /// fallback action; the others share that write's outcome.
    fn fallbacks(&self, published: &mut Option<Result<(), String>>) -> Report {
        let written = published.get_or_insert_with(|| {
            store::fallbacks::write_fallbacks(
                &store::Layout::of(self.dir).fallbacks(),
                &self.decision.fallbacks,
            )
            .map_err(|e| e.to_string())
        });
        match written {
            Ok(()) => ok(format!(
                "wrote `{}`",
                store::Layout::of(self.dir).fallbacks().display()
            )),
            Err(e) => failed(e.clone()),
        }
    }
}

/// Every orphan eviction of the plan, node by node, with its node.
fn orphan_evictions(decision: &Decision) -> impl Iterator<Item = (&str, &Eviction)> {
    decision
        .nodes
        .iter()
        .flat_map(|n| n.orphan_evictions.iter().map(|e| (n.name.as_str(), e)))
}

/// Every planned action, in plan order.
fn planned(decision: &Decision) -> impl Iterator<Item = &PlannedAction> {
    decision
        .nodes
        .iter()
        .flat_map(|n| n.services.iter())
        .flat_map(|s| s.actions.iter())
}

/// Stops the process spawned for a service no longer declared (SIGTERM,
/// then SIGKILL after the default stop timeout: its `stop` is gone with
/// its declaration) and removes its pid file.
fn stop_removed(dir: &Path, service: &str, id: ProcessIdentity) -> Report {
    // The checkpoint's word alone is not enough: whoever could write it
    // would choose a process to stop. The pid file this tool wrote when it
    // spawned the service must name the same pid.
    let pidfile = store::Layout::of(dir).pid(service);
    let recorded = crate::store::read_limited(&pidfile, 64)
        .ok()
        .and_then(|b| String::from_utf8_lossy(&b).trim().parse::<u32>().ok());
    if recorded != Some(id.pid) {
        let what = recorded.map_or("is missing".to_string(), |p| format!("names pid {p}"));
        return failed(format!(
            "refused to signal pid {}: the spawn record `pids/{service}.pid` {what}, so it is no process this tool spawned",
            id.pid
        ));
    }
    let outcome = match exec::stop_process(Some(id), None, STOP_TIMEOUT) {
        StopOutcome::Stopped { signal, waited } => ok(format!(
            "stopped pid {} with {signal} after {} ms",
            id.pid,
            waited.as_millis()
        )),
        StopOutcome::AlreadyGone => ok(format!("pid {} had already exited", id.pid)),
        StopOutcome::Refused(why) => failed(format!("refused to signal: {why}")),
        StopOutcome::StopCommand(_) => ok("stopped".into()),
        StopOutcome::Failed(why) => failed(why),
    };
    if outcome.success {
        let _ = std::fs::remove_file(store::Layout::of(dir).pid(service));
    }
    outcome
}

pub(super) fn ok(reason: String) -> Report {
    Report {
        success: true,
        reason,
        exit_code: None,
        duration_ms: 0,
        spawned: None,
        started: false,
    }
}

pub(super) fn failed(reason: String) -> Report {
    Report {
        success: false,
        reason,
        exit_code: None,
        duration_ms: 0,
        spawned: None,
        started: false,
    }
}

fn start(node: &str, spec: &ServiceSpec, known: Option<ProcessIdentity>, dir: &Path) -> Report {
    match &spec.start {
        Some(Start::Restart(argv)) => {
            let r = exec::run_command(argv, spec.restart_timeout);
            let mut o = if r.success() {
                Report {
                    started: true,
                    ..ok(format!("`{}` exited 0", argv.join(" ")))
                }
            } else {
                failed(describe(&r, argv))
            };
            o.exit_code = r.exit_code;
            o
        }
        Some(Start::Spawn(argv)) => {
            // A spawned service that still lives (failing its probe) is
            // stopped first, so two copies never fight over a port.
            // What became of the old one is said with the start.
            let mut before = String::new();
            if let Some(id) = known.filter(|id| procfs::is_same_process(*id)) {
                match exec::stop_process(Some(id), spec.stop.as_deref(), spec.stop_timeout) {
                    StopOutcome::Refused(why) | StopOutcome::Failed(why) => {
                        return failed(format!("could not stop the old process {}: {why}", id.pid));
                    }
                    StopOutcome::Stopped { signal, waited } => {
                        before = format!(
                            "stopped the old pid {} with {signal} after {} ms; ",
                            id.pid,
                            waited.as_millis()
                        );
                    }
                    StopOutcome::StopCommand(_) => {
                        before = format!("stopped the old pid {} with its `stop`; ", id.pid);
                    }
                    StopOutcome::AlreadyGone => {}
                }
            }
            let launch = match super::launch::launch(node, spec, argv, dir) {
                Ok(l) => l,
                Err(why) => return failed(format!("cannot spawn `{}`: {why}", argv.join(" "))),
            };
            spawn(&launch, spec.start_grace, &before)
        }
        None => failed("no `restart` or `spawn` command declared".into()),
    }
}

/// Starts a `spawn:` service; a start that dies at once is a failed
/// attempt (docs/reference/behaviour.md, "A start succeeds only if it stays up"): wait up to `min(start_grace, 2s)` for an early exit.
fn spawn(launch: &exec::Launch, start_grace: Duration, before: &str) -> Report {
    // Only this start's output explains its failure.
    let log_start = std::fs::symlink_metadata(&launch.request.log).map_or(0, |m| m.len());
    match exec::spawn_watched(launch) {
        Ok((id, ended)) => match ended.recv_timeout(start_grace.min(EARLY_EXIT)) {
            Ok(ending) => {
                let tail = exec::log_tail(&launch.request.log, log_start, 5);
                let mut o = failed(format!(
                    "spawned pid {} {} at once{}",
                    id.pid,
                    ending.describe(),
                    if tail.is_empty() {
                        String::new()
                    } else {
                        format!("; log: {tail}")
                    }
                ));
                if let crate::monitor::Ending::Status(code) = ending {
                    o.exit_code = Some(code);
                }
                o
            }
            Err(_) => Report {
                spawned: Some(id),
                started: true,
                ..ok(format!(
                    "{before}spawned pid {}, output to `{}`",
                    id.pid,
                    launch.request.log.display()
                ))
            },
        },
        Err(e) => failed(format!(
            "cannot spawn `{}`: {e}",
            launch.request.argv.join(" ")
        )),
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

fn evict(spec: &ServiceSpec, known: Option<ProcessIdentity>) -> Report {
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
