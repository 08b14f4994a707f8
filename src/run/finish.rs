//! Finishing a run: stamp the events, append them to the log in one write,
//! save the checkpoint atomically, publish fallbacks, print the output.
//! Events go to the log before the checkpoint: after a crash between the
//! two, the next run continues `seq` from the log's last line.
use crate::exit::Exit;
use std::time::Instant;

use anyhow::{Context, Result};

use super::inputs::Inputs;
use super::{EventsTarget, Output, RunOptions};
use crate::commands::stdout;
use crate::core::settle::Settled;
use crate::core::Mode;
use crate::desired::Fleet;
use crate::events::{Event, RunFinished};
use crate::store;

pub fn finish(
    opts: &RunOptions,
    fleet: &Fleet,
    inputs: &mut Inputs,
    settled: Settled,
    ts: &str,
    run_id: &str,
    started: Instant,
) -> Result<Exit> {
    let Settled {
        mut events,
        interrupted,
        mut checkpoint,
        summary,
        mut counts,
    } = settled;
    // An interrupted run exits 1 whatever its state.
    let exit = match interrupted {
        Some(_) => Exit::Error,
        None => Exit::from(summary),
    };
    // Webhooks are delivered by reconcile (dry runs included), never by
    // `check`, which writes nothing, and only after the record is durable.
    // What an earlier run could not deliver is reported here, then retried.
    // What earlier runs could not deliver is tried again first (those
    // events are durable already): only what still fails is reported, so
    // a receiver that came back is never told about as failing.
    let mut owed = match &inputs.state {
        Some((dir, _)) if matches!(opts.mode, Mode::Reconcile { .. }) => {
            crate::webhooks::deliver(fleet, store::outbox::load(dir))
        }
        _ => vec![],
    };
    // Each undelivered event is reported once; it is still retried every
    // run (and kept, up to the outbox's bound) until it is delivered.
    let mut reported = 0;
    for p in owed.iter_mut().filter(|p| !p.reported) {
        p.reported = true;
        reported += 1;
        events.push(crate::webhooks::failed_event(p));
    }
    counts.webhook_failed = Some(reported);
    let duration_ms = crate::num::millis(started.elapsed());
    let body = RunFinished {
        counts,
        duration_ms,
        interrupted: interrupted.map(str::to_string),
        state: summary.as_str().into(),
    };
    events.push(Event::new(inputs.local_node.as_deref(), None, body));
    let first_seq = inputs.first_seq;
    checkpoint.next_seq = first_seq.saturating_add(events.len() as u64);
    let stamp = Stamp {
        ts,
        run_id,
        first_seq,
    };
    // The lines of a run that is recorded (the state directory's log, or
    // `--events FILE`) are appended in one write: one buffer for them all,
    // its output too. A run that records nothing (`check`) builds none.
    let recorded = inputs.state.is_some() || matches!(opts.events, EventsTarget::File(_));
    let buf = if recorded {
        stamp.lines(&events)
    } else {
        String::new()
    };

    if let Some((dir, _lock)) = &inputs.state {
        let log = opts.events_log();
        rotate_log(&log, &opts.settings);
        store::eventlog::append(&log, buf.as_bytes())
            .with_context(|| format!("cannot append to event log `{}`", log.display()))?;
        let cp = store::Layout::of(dir).checkpoint();
        store::checkpoint::save(&cp, &checkpoint)
            .with_context(|| format!("cannot write checkpoint `{}`", cp.display()))?;
        // The checkpoint now counts every intent: the journal is done.
        store::intents::clear(&store::Layout::of(dir).intents())?;
        remember_stops(dir, &checkpoint);
    } else if let EventsTarget::File(path) = &opts.events {
        store::eventlog::append(path, buf.as_bytes())
            .with_context(|| format!("cannot append events to `{}`", path.display()))?;
    }

    if let Some(path) = &opts.metrics_file {
        let text = crate::metrics::render(&events, &checkpoint, duration_ms, summary.as_str());
        let at = opts.clock.now().timestamp_millis();
        crate::metrics::publish(path, &crate::metrics::with_last_run(&text, at, true));
    }

    let json = opts.output == Output::Json || opts.events == EventsTarget::Stdout;
    let printed = if json && recorded {
        stdout::write(&buf)
    } else if json {
        stamp.stream(&events)
    } else {
        // An operator's command exits with its verdict, not the pass's state.
        let said = opts.operator.is_none().then_some(exit);
        let mut text = crate::render::plan(&events, opts.mode == Mode::Check, said);
        // The hint is for a person at a terminal, not for every timer run.
        if !stdout::is_terminal() {
            text = text.replace(&format!("{}\n", crate::render::PLAN_HINT), "");
        }
        stdout::write(&text)
    };
    // The record is durable (an error above returned before this point).
    if let Some((dir, _)) = &inputs.state {
        if matches!(opts.mode, Mode::Reconcile { .. }) {
            let lines: Vec<String> = buf.split_inclusive('\n').map(str::to_string).collect();
            deliver_webhooks(fleet, dir, owed, &events, &lines);
        }
    }
    printed?;
    Ok(exit)
}

/// What stamps a run's events into lines: its `ts`, `run_id` and the
/// `seq` of its first event.
struct Stamp<'a> {
    ts: &'a str,
    run_id: &'a str,
    first_seq: u64,
}

impl Stamp<'_> {
    /// The lines of all `events`.
    fn lines(&self, events: &[Event]) -> String {
        self.lines_from(events, 0, usize::MAX).0
    }

    /// The lines of `events` from index `from` until `max` bytes are
    /// passed, and the index of the first event not stamped.
    fn lines_from(&self, events: &[Event], from: usize, max: usize) -> (String, usize) {
        let mut out = String::new();
        let mut next = from;
        for (i, e) in events.iter().enumerate().skip(from) {
            out.push_str(&e.to_line(
                self.ts,
                self.run_id,
                self.first_seq.saturating_add(i as u64),
            ));
            next = i + 1;
            if out.len() >= max {
                break;
            }
        }
        (out, next)
    }

    /// Writes the lines to stdout a chunk at a time: a run that records
    /// nothing does not hold them all (the output is the same bytes).
    fn stream(&self, events: &[Event]) -> Result<bool> {
        const CHUNK: usize = 256 << 10;
        let mut from = 0;
        while from < events.len() {
            let (chunk, next) = self.lines_from(events, from, CHUNK);
            if !stdout::write(&chunk)? {
                return Ok(false);
            }
            from = next;
        }
        Ok(true)
    }
}

/// Rotates the log before the run appends, under the state lock (see
/// `store::rotate`): best effort, the record is appended either way.
fn rotate_log(log: &std::path::Path, settings: &crate::resolved::Settings) {
    let mut warnings = settings.warnings.clone();
    if let Err(e) = store::rotate::rotate_if_needed(log, settings.rotation) {
        warnings.push(format!("{e}; appending to the log as it is"));
    }
    for w in warnings {
        eprintln!("warning: {w}");
    }
}

/// Delivers this run's events after the record is durable, and keeps for
/// the next run what failed, with what earlier runs still owe (`owed`:
/// tried once already this run, before the record). Never fails the run:
/// a problem keeping the outbox is a warning.
fn deliver_webhooks(
    fleet: &Fleet,
    dir: &std::path::Path,
    owed: Vec<store::outbox::Pending>,
    events: &[Event],
    lines: &[String],
) {
    let new = crate::webhooks::owed(fleet, events, lines);
    // Journal first: a run killed while delivering leaves everything it
    // still owed for the next run, never a silent loss (at least once:
    // a receiver deduplicates by `run_id` and `seq`).
    if !new.is_empty() {
        let mut all = owed.clone();
        all.extend(new.iter().cloned());
        if let Err(e) = store::outbox::save(dir, all) {
            eprintln!("warning: cannot keep webhook events before delivering them: {e}");
        }
    }
    let mut failed = owed;
    failed.extend(crate::webhooks::deliver(fleet, new));
    match store::outbox::save(dir, failed) {
        Ok(0) => {}
        Ok(dropped) => eprintln!(
            "warning: {} dropped: at most {} are kept",
            crate::fmt::count(
                dropped as u64,
                "undelivered webhook event",
                "undelivered webhook events"
            ),
            store::outbox::MAX_PENDING
        ),
        Err(e) => eprintln!("warning: cannot keep undelivered webhook events: {e}"),
    }
}

/// Copies the operator's stops of the saved checkpoint into the overrides,
/// so that a checkpoint set aside later does not forget them. A failure is
/// said, not fatal: the checkpoint, which the next run reads, has them.
fn remember_stops(dir: &std::path::Path, checkpoint: &crate::checkpoint::Checkpoint) {
    let stops = checkpoint
        .services
        .iter()
        .filter_map(|(key, st)| Some((key.clone(), st.stopped_by_operator_at?)))
        .collect();
    let path = store::Layout::of(dir).overrides();
    if let Err(e) = store::overrides::remember_stops(&path, stops) {
        eprintln!("warning: {e}");
    }
}
