//! `watch` (docs/operator-guide.md, "Commands"): run `reconcile` once, then again when the content of
//! hosts/ or the world changes (a file created, written, renamed or
//! removed; never a mere read, and never under the state directory),
//! debounced 300 ms so an editor's write-and-rename or an observer
//! rewriting a hundred files is one run; every `--interval`; and at once
//! when a process it knows for a service of this node exits (a pidfd, for
//! any process, not only our children). Each run is the ordinary one-pass
//! reconcile; `watch` keeps no state of its own. SIGINT or SIGTERM ends it
//! after the run in progress.
use crate::exit::Exit;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{channel, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use notify::event::{AccessKind, AccessMode, EventKind, ModifyKind};
use notify_debouncer_full::{new_debouncer, DebounceEventResult};

use crate::checkpoint::key;
use crate::desired::Fleet;
use crate::exec::pidfd;
use crate::run::RunOptions;

enum Wake {
    Files(DebounceEventResult),
    /// A process of a service exited.
    Exited,
}

/// The least time between two runs woken by file changes: whoever can
/// write the world cannot make this loop run (and probe, and run health
/// commands) faster than this.
const MIN_GAP: Duration = Duration::from_secs(1);

/// Without `--interval`, a run at least this often: a missed file
/// notification (a folder replaced by a rename, a full inotify table)
/// costs at most this.
pub const SAFETY_INTERVAL: Duration = Duration::from_mins(1);

/// When the checkpoint says a later run has something to do for a service
/// of this node: a restart backoff or a breaker's trial that ends, a start
/// to verify once its `start_grace` is over. Without this, a service killed
/// during a run would wait for the next change or interval.
fn next_due(fleet: Option<&Fleet>, local: &str, state: &Path) -> Option<Instant> {
    let node = fleet?.nodes.get(local)?;
    let cp = crate::checkpoint::read_for_command(state).ok()??;
    // Live, whatever `--now` says: this is when to wake (`crate::clock`).
    let now = crate::clock::wall();
    node.services
        .values()
        .filter_map(|svc| {
            let st = cp.services.get(&key(&node.name, &svc.name))?;
            let grace = st
                .pending
                .as_ref()
                .filter(|p| p.action != crate::core::Action::Evict)
                .and_then(|p| {
                    Some(
                        p.at + chrono::Duration::from_std(svc.start_grace).ok()?
                            + chrono::Duration::seconds(1),
                    )
                });
            [
                crate::core::guardrails::backoff_until(&node.settings, &svc.name, st),
                crate::core::guardrails::breaker_trial_at(&node.settings, st),
                grace,
            ]
            .into_iter()
            .flatten()
            .filter(|t| *t > now)
            .min()
        })
        .min()
        .map(|t| Instant::now() + (t - now).to_std().unwrap_or_default())
}

/// Runs until SIGINT or SIGTERM; `local` is the local node, resolved and
/// checked against hosts/ by the caller.
pub fn watch(opts: &RunOptions, local: &str, interval: Option<Duration>) -> Result<Exit> {
    crate::run::signals::install();
    let state = opts.state_dir.to_path_buf();
    // A state directory that can never be used (untrusted, a symlink) ends
    // `watch` at once, as it ends `reconcile`; retrying would wait forever.
    // Its errors name the folder already.
    crate::store::statedir::prepare(&state)?;
    let state = state.canonicalize().unwrap_or(state);
    let (tx, rx) = channel();
    let files = tx.clone();
    let mut debouncer = new_debouncer(Duration::from_millis(300), None, move |r| {
        let _ = files.send(Wake::Files(r));
    })
    .context("cannot start watching files")?;
    for dir in [&opts.hosts, &opts.world] {
        if !dir.exists() {
            eprintln!(
                "warning: `{}` does not exist; it is watched for once it appears",
                dir.display()
            );
        }
    }
    let mut armed: Vec<PathBuf> = vec![];
    let generation = Arc::new(AtomicU64::new(0));
    // After a wake by an exit, one more run a fast tick later: a probe
    // counts once per fast tick, so an exit right after a run is judged then.
    let mut follow_up: Option<Instant> = None;
    loop {
        // Armed anew before each run, on whatever the paths name now: a
        // hosts/ or world replaced by a rename is watched again, and a
        // change during the run wakes the next one.
        // Loaded as every command loads it (trusted, as root), quietly:
        // the run reports what is wrong with it.
        let fleet = crate::run::load_trusted_fleet_quietly(&opts.hosts, opts.insecure_config);
        let wanted = super::watch_paths::wanted(&opts.hosts, &opts.world, fleet.as_ref());
        armed = super::watch_paths::rearm(&mut debouncer, &armed, wanted);
        let ran_at = Instant::now();
        match crate::metrics::run(opts) {
            Ok(code) => eprintln!("watch: run finished with exit code {code}; waiting for changes"),
            // A failed run (bad config, lock held) is reported; the next change retries.
            Err(e) => eprintln!(
                "error: {}",
                crate::text::escape_control_lines(&format!("{e:#}"))
            ),
        }
        if let Some(sig) = crate::run::signals::received() {
            eprintln!("watch: {sig} received; stopping");
            return Ok(Exit::Ok);
        }
        watch_exits(local, &state, &generation, &tx);
        let every = interval.unwrap_or(SAFETY_INTERVAL);
        let deadline = [
            Some(Instant::now() + every),
            follow_up.take(),
            next_due(fleet.as_ref(), local, &state),
        ]
        .into_iter()
        .flatten()
        .min();
        loop {
            if let Some(sig) = crate::run::signals::received() {
                eprintln!("watch: {sig} received; stopping");
                return Ok(Exit::Ok);
            }
            let tick = Duration::from_millis(200);
            let wait = deadline.map_or(tick, |d| {
                d.saturating_duration_since(Instant::now()).min(tick)
            });
            match rx.recv_timeout(wait) {
                Ok(Wake::Files(Ok(events))) => {
                    if events
                        .iter()
                        .any(|e| is_content_change(e.event.kind, &e.event.paths, opts, &state))
                    {
                        // Rate-limited: a stream of writes is one run a second.
                        if let Some(wait) =
                            (ran_at + MIN_GAP).checked_duration_since(Instant::now())
                        {
                            std::thread::sleep(wait);
                        }
                        break;
                    }
                }
                Ok(Wake::Files(Err(errors))) => {
                    for e in errors {
                        eprintln!("warning: file watch: {e}");
                    }
                }
                Ok(Wake::Exited) => {
                    follow_up = Some(Instant::now() + fast_tick(fleet.as_ref(), local));
                    break;
                }
                Err(RecvTimeoutError::Timeout) => {
                    if deadline.is_some_and(|d| Instant::now() >= d) {
                        break;
                    }
                }
                Err(RecvTimeoutError::Disconnected) => return Ok(Exit::Error),
            }
        }
        // What arrived meanwhile is covered by the next run.
        while rx.try_recv().is_ok() {}
    }
}

/// A change of content: a file created, written, renamed or removed, not
/// under the state directory. Opening or reading a file (every run reads
/// them all) and attribute changes are not.
fn is_content_change(kind: EventKind, paths: &[PathBuf], opts: &RunOptions, state: &Path) -> bool {
    let content = matches!(
        kind,
        EventKind::Create(_)
            | EventKind::Remove(_)
            | EventKind::Modify(ModifyKind::Data(_) | ModifyKind::Name(_) | ModifyKind::Any)
            | EventKind::Access(AccessKind::Close(AccessMode::Write))
    );
    content
        && paths
            .iter()
            .any(|p| super::watch_paths::concerns(p, &opts.hosts, &opts.world, state))
}

/// The local node's fast tick (3s when the fleet cannot be read).
fn fast_tick(fleet: Option<&Fleet>, local: &str) -> Duration {
    fleet
        .and_then(|f| f.nodes.get(local).map(|n| n.settings.fast_tick))
        .unwrap_or(Duration::from_secs(3))
}

/// Watches, in a thread, every process the checkpoint knows for a service
/// of the local node; the first to exit sends `Wake::Exited`. A new call
/// retires the previous thread.
fn watch_exits(node: &str, state: &Path, generation: &Arc<AtomicU64>, tx: &Sender<Wake>) {
    let mine = generation.fetch_add(1, Ordering::SeqCst) + 1;
    let Ok(Some(cp)) = crate::checkpoint::read_for_command(state) else {
        return;
    };
    let prefix = key(node, "");
    // Each process with its monitor (for a `spawn:` service).
    let (fds, monitors): (Vec<_>, Vec<_>) = cp
        .services
        .iter()
        .filter(|(k, _)| k.starts_with(&prefix))
        .filter_map(|(_, st)| st.process)
        .filter_map(|id| Some((pidfd::open(id)?, monitor_of(id).and_then(pidfd::open))))
        .unzip();
    if fds.is_empty() {
        return;
    }
    let (generation, tx) = (Arc::clone(generation), tx.clone());
    let _ = std::thread::Builder::new()
        .name("watch-exits".into())
        .spawn(move || {
            while generation.load(Ordering::SeqCst) == mine {
                let ended = pidfd::wait_any(&fds, 200);
                if !ended.is_empty() {
                    let theirs: Vec<_> =
                        ended.iter().filter_map(|i| monitors[*i].as_ref()).collect();
                    await_monitors(&theirs);
                    let _ = tx.send(Wake::Exited);
                    return;
                }
            }
        });
}

/// The monitor of a spawned service: its parent, when that is this
/// binary's monitor mode. The monitor writes the exit record
/// (`exits/<service>.json`) after the service ends, then exits itself.
fn monitor_of(service: crate::procfs::ProcessIdentity) -> Option<crate::procfs::ProcessIdentity> {
    let parent = crate::procfs::read_stat(service.pid)?.ppid;
    let is_monitor = crate::procfs::argv(parent)?
        .get(1)
        .is_some_and(|arg| arg == crate::monitor::MODE);
    is_monitor
        .then(|| crate::procfs::identity(parent))
        .flatten()
}

/// After services ended: waits (at most 2 s) for their monitors to end
/// too, so the run it wakes reads their exit records (the signal or the
/// status, not "no process").
fn await_monitors(monitors: &[&std::os::fd::OwnedFd]) {
    let deadline = Instant::now() + Duration::from_secs(2);
    let mut open = monitors.to_vec();
    while !open.is_empty() && Instant::now() < deadline {
        let ended = pidfd::wait_refs(&open, 100);
        open = open
            .into_iter()
            .enumerate()
            .filter(|(i, _)| !ended.contains(i))
            .map(|(_, f)| f)
            .collect();
    }
}
