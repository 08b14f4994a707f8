//! Gathering a run's inputs: the world, the checkpoint (setting a corrupt one
//! aside), operator overrides, the state lock and the live probes.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use chrono::{DateTime, Utc};

use super::fleet::local_node;
use super::{RunIdentity, RunOptions};
use crate::checkpoint::{Checkpoint, CHECKPOINT_VERSION};
use crate::core::{Decision, LiveNode, Mode, Overrides};
use crate::desired::Fleet;
use crate::events::{Event, ObservationInvalid};
use crate::store::{self, checkpoint::Loaded};
use crate::world::{load::load_world, World};

pub struct Inputs {
    pub world: World,
    pub checkpoint: Checkpoint,
    checkpoint_bytes: Vec<u8>,
    pub overrides: Overrides,
    overrides_bytes: Vec<u8>,
    pub live: BTreeMap<String, LiveNode>,
    pub local_node: Option<String>,
    /// `observation_invalid` events for the world and the checkpoint.
    pub preamble: Vec<Event>,
    /// Reconcile only: the state directory and its lock, held to the end.
    pub state: Option<(PathBuf, store::lock::StateLock)>,
    /// The `seq` of the run's first event.
    pub first_seq: u64,
}

/// `check` without `--live` compares hosts/ with an observer's world: it
/// must be there. (`check --live` probes this node itself, as `reconcile`
/// does: like it, it needs no observer's world.)
fn require_world(opts: &RunOptions, live_check: bool) -> Result<()> {
    let missing = |e: std::io::Error| e.kind() == std::io::ErrorKind::NotFound;
    if opts.mode == Mode::Check && !live_check && std::fs::metadata(&opts.world).is_err_and(missing)
    {
        bail!(
            "world directory `{}` does not exist\n\nhint: check `--world` (or $SUPERVISORCTL_WORLD); `check` compares hosts/ with an observer's records",
            opts.world.display()
        );
    }
    Ok(())
}

/// Where a run reads its state from: the checkpoint and overrides files,
/// the state directory and its lock (reconcile), or the folder a live
/// preview probes with (its spawned services' pid files).
struct Sources {
    checkpoint: Option<PathBuf>,
    overrides: Option<PathBuf>,
    state: Option<(PathBuf, store::lock::StateLock)>,
    probe_dir: Option<PathBuf>,
}

impl Sources {
    fn open(opts: &RunOptions, live_check: bool) -> Result<Sources> {
        Ok(match opts.mode {
            // A live preview reads the state directory without its lock
            // and writes nothing (a missing file is empty state).
            Mode::Check if live_check => {
                let dir = opts.state_dir.to_path_buf();
                let existing = |p: PathBuf| p.exists().then_some(p);
                Sources {
                    checkpoint: opts
                        .checkpoint_file
                        .clone()
                        .or_else(|| existing(store::Layout::of(&dir).checkpoint())),
                    overrides: opts
                        .overrides_file
                        .clone()
                        .or_else(|| existing(store::Layout::of(&dir).overrides())),
                    state: None,
                    probe_dir: Some(dir),
                }
            }
            Mode::Check => Sources {
                checkpoint: opts.checkpoint_file.clone(),
                overrides: opts.overrides_file.clone(),
                state: None,
                probe_dir: None,
            },
            Mode::Reconcile { .. } => {
                let dir = opts.state_dir.to_path_buf();
                // Its errors name the folder already.
                store::statedir::prepare(&dir)?;
                let lock = lock(&dir, opts.wait)?;
                let overrides = opts
                    .overrides_file
                    .clone()
                    .unwrap_or_else(|| store::Layout::of(&dir).overrides());
                store::atomic::sweep_leftovers(&dir);
                Sources {
                    checkpoint: Some(store::Layout::of(&dir).checkpoint()),
                    overrides: Some(overrides),
                    state: Some((dir, lock)),
                    probe_dir: None,
                }
            }
        })
    }
}

/// The state directory's lock, or why not, with what to do.
fn lock(dir: &Path, wait: Option<std::time::Duration>) -> Result<store::lock::StateLock> {
    store::lock::acquire(dir, wait).map_err(|e| match &e {
        store::lock::LockError::Held { .. } => {
            anyhow::anyhow!("{e}\n\nhint: wait for it to finish, or pass `--wait 30s`")
        }
        store::lock::LockError::Io { .. } => match e.hint() {
            Some(hint) => anyhow::anyhow!("{e}\n\n{hint}"),
            None => anyhow::anyhow!("{e}"),
        },
    })
}

/// The `seq` of the run's first event: after the checkpoint's, and after
/// the last line of the log it appends to (the state directory's, or
/// `--events FILE`, a `check`'s too, which has no state).
fn first_seq(opts: &RunOptions, has_state: bool, checkpoint: &Checkpoint) -> u64 {
    let mut first = checkpoint.next_seq.max(1);
    if has_state || matches!(opts.events, super::EventsTarget::File(_)) {
        if let Ok(Some(last)) = store::eventlog::last_seq(&opts.events_log()) {
            first = first.max(last.saturating_add(1));
        }
    }
    first
}

impl Inputs {
    pub fn load(opts: &RunOptions, fleet: &Fleet, now: DateTime<Utc>) -> Result<Inputs> {
        let executes = matches!(opts.mode, Mode::Reconcile { .. });
        // `check --live` probes this node: its name must be right too.
        let live_check = opts.mode == Mode::Check && opts.probe;
        let local_node = local_node(fleet, &opts.hosts, &opts.node, executes || live_check)?;
        require_world(opts, live_check)?;
        let mut preamble = vec![];
        let Sources {
            checkpoint: checkpoint_path,
            overrides: overrides_path,
            state,
            probe_dir,
        } = Sources::open(opts, live_check)?;
        let (mut checkpoint, checkpoint_bytes) = match &checkpoint_path {
            None => (Checkpoint::default(), vec![]),
            Some(path) => load_checkpoint(path, opts.mode, now, &mut preamble)?,
        };
        fold_intents(
            opts,
            probe_dir.as_deref(),
            state.as_ref(),
            &mut checkpoint,
            &mut preamble,
            now,
        )?;
        let overrides_file = match &overrides_path {
            // The message names the file already.
            Some(p) => store::overrides::load_overrides(p).map_err(|e| {
                anyhow::anyhow!("{e}\n\nhint: {}", store::overrides::UNREADABLE_HINT)
            })?,
            None => store::overrides::Overrides::default(),
        };
        if checkpoint_bytes.is_empty() || checkpoint_bytes == b"corrupt" {
            restore_stops(&mut checkpoint, &overrides_file.stops);
        }
        let overrides = Overrides {
            pins: overrides_file.pins.clone(),
            holds: overrides_file.holds.keys().cloned().collect(),
        };
        let overrides_bytes = serde_json::to_vec(&overrides_file).unwrap_or_default();
        let world = load_world(&opts.world, fleet);
        preamble.extend(world.invalid_events());
        let first_seq = first_seq(opts, state.is_some(), &checkpoint);
        let live = super::probes::probe_local(
            opts,
            fleet,
            local_node.as_deref(),
            &checkpoint,
            state
                .as_ref()
                .map(|s| s.0.as_path())
                .or(probe_dir.as_deref()),
            &mut preamble,
            now,
        );
        Ok(Inputs {
            world,
            checkpoint,
            checkpoint_bytes,
            overrides,
            overrides_bytes,
            live,
            local_node,
            preamble,
            state,
            first_seq,
        })
    }

    pub fn run_id(&self, opts: &RunOptions, fleet: &Fleet, ts: &str) -> String {
        let live = live_fingerprint(&self.live);
        RunIdentity {
            command: super::command_name(opts),
            dry_run: matches!(opts.mode, Mode::Reconcile { dry_run: true }),
            hosts: &fleet.fingerprint,
            world: &self.world.fingerprint,
            checkpoint: &self.checkpoint_bytes,
            overrides: &self.overrides_bytes,
            live: live.as_bytes(),
            now: ts,
        }
        .run_id()
    }

    /// Executes what the plan cleared (reconcile without `--dry-run` only).
    pub fn execute(
        &self,
        fleet: &Fleet,
        decision: &Decision,
        now: DateTime<Utc>,
        opts: &RunOptions,
    ) -> Result<crate::core::settle::Execution> {
        let dir = self.state.as_ref().map(|s| s.0.as_path());
        super::execute::execute(fleet, decision, &self.live, now, opts, dir, self.first_seq)
    }
}

/// A checkpoint started afresh (missing, or set aside) keeps the stops
/// the operator asked for: the overrides hold a copy of them.
fn restore_stops(checkpoint: &mut Checkpoint, stops: &BTreeMap<String, DateTime<Utc>>) {
    for (key, since) in stops {
        let state = checkpoint.services.entry(key.clone()).or_default();
        state.stopped_by_operator_at.get_or_insert(*since);
    }
}

fn load_checkpoint(
    path: &Path,
    mode: Mode,
    now: DateTime<Utc>,
    preamble: &mut Vec<Event>,
) -> Result<(Checkpoint, Vec<u8>)> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let bad = |error: String, set_aside: Option<String>, preamble: &mut Vec<Event>| {
        preamble.push(Event::new(
            None,
            None,
            ObservationInvalid {
                error,
                path: name.clone(),
                set_aside: Some(set_aside),
            },
        ));
    };
    match store::checkpoint::load::<Checkpoint>(path) {
        Loaded::Missing if mode == Mode::Check => {
            bail!("checkpoint `{}` does not exist", path.display())
        }
        Loaded::Missing => Ok((Checkpoint::default(), vec![])),
        Loaded::Ready(cp) if cp.version == CHECKPOINT_VERSION => {
            let bytes = serde_json::to_vec(&cp).unwrap_or_default();
            Ok((cp, bytes))
        }
        other => {
            let error = match other {
                Loaded::Ready(cp) => format!(
                    "unsupported checkpoint version {} (this build reads {CHECKPOINT_VERSION})",
                    cp.version
                ),
                Loaded::Unreadable { error } => error,
                Loaded::Missing => String::new(),
            };
            let aside = if mode == Mode::Check {
                None // check writes nothing: report, and start from empty state
            } else {
                let stamp = now.format("%Y%m%dT%H%M%S%.3fZ").to_string();
                let moved = store::checkpoint::set_aside(path, &stamp).with_context(|| {
                    format!(
                        "cannot set aside unreadable checkpoint `{}`",
                        path.display()
                    )
                })?;
                Some(moved.display().to_string())
            };
            bad(error, aside, preamble);
            Ok((Checkpoint::default(), b"corrupt".to_vec()))
        }
    }
}

/// What the live probes saw, written out field by field in a fixed form
/// (not a type's `Debug` output, which may change with the code): part of
/// the run's identity.
fn live_fingerprint(live: &BTreeMap<String, LiveNode>) -> String {
    use crate::core::LiveObservation as L;
    use std::fmt::Write;
    fn opt(v: Option<impl std::fmt::Display>) -> String {
        v.map_or_else(|| "-".into(), |v| v.to_string())
    }
    let mut s = String::new();
    for (node, l) in live {
        let memory = l.memory.map(|(total, used)| format!("{total}/{used}"));
        let _ = write!(s, "node={node};memory={};", opt(memory));
        for g in &l.gpus {
            let (i, total, used) = (g.index, g.total_bytes, g.used_bytes);
            let _ = write!(s, "gpu={i},{total},{used};");
        }
        for (name, svc) in &l.services {
            let observation = match svc.observation {
                L::NoData => "no_data",
                L::Down => "down",
                L::Up => "up",
                L::Failing => "failing",
            };
            let id = svc.identity.map(|p| format!("{}@{}", p.pid, p.start_ticks));
            // The reason is free text: length-prefixed, so no text can
            // pass for another field.
            let reason = svc.reason.as_ref().map(|r| format!("{}:{r}", r.len()));
            let _ = write!(
                s,
                "service={name},{observation},{},{},{},{},{};",
                opt(id),
                opt(svc.memory_bytes),
                opt(svc.gpu_memory_bytes),
                opt(svc.cpu_seconds),
                opt(reason)
            );
        }
    }
    s
}

/// What interrupted runs did, counted into the checkpoint from the intent
/// journal. A live preview (`probe_dir`) of a journal it cannot read goes
/// on without it; a run that holds the state (`state`) first checks that
/// its log can take the record, and stops before anything acts when the
/// journal cannot be read.
fn fold_intents(
    opts: &RunOptions,
    probe_dir: Option<&Path>,
    state: Option<&(PathBuf, store::lock::StateLock)>,
    checkpoint: &mut Checkpoint,
    preamble: &mut Vec<Event>,
    now: DateTime<Utc>,
) -> Result<()> {
    if let Some(dir) = probe_dir {
        match store::intents::load(&store::Layout::of(dir).intents()) {
            Ok(intents) => {
                crate::core::recover::recover(checkpoint, &intents, now);
            }
            Err(e) => eprintln!("warning: {e}; attempts it records are not counted here"),
        }
    }
    if let Some((dir, _)) = state {
        store::eventlog::check_appendable(&opts.events_log())?;
        let intents = store::intents::load(&store::Layout::of(dir).intents())
            .map_err(|e| anyhow::anyhow!("{e}\n\nhint: {}", store::intents::UNREADABLE_HINT))?;
        preamble.extend(crate::core::recover::recover(checkpoint, &intents, now));
    }
    Ok(())
}
