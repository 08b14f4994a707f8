//! Recording a run: stamp the events, append them to the log in one write,
//! save the checkpoint atomically, publish fallbacks, print the output.
//! Events go to the log before the checkpoint: after a crash between the
//! two, the next run continues `seq` from the log's last line.
use std::io::Write;
use std::time::Instant;

use anyhow::{Context, Result};
use serde_json::Value;

use super::inputs::{events_path, Inputs};
use super::{EventsTarget, Output, RunOptions};
use crate::core::settle::Settled;
use crate::core::Mode;
use crate::events::Event;
use crate::store;

pub fn finish(
    opts: &RunOptions,
    inputs: &mut Inputs,
    settled: Settled,
    ts: &str,
    run_id: &str,
    started: Instant,
) -> Result<i32> {
    let Settled {
        mut events,
        mut checkpoint,
        summary,
        counts,
    } = settled;
    let duration_ms = started.elapsed().as_millis() as u64;
    events.push(
        Event::new("run_finished", inputs.local_node.as_deref(), None)
            .with("state", summary.as_str())
            .with("counts", counts)
            .with("duration_ms", duration_ms),
    );
    let mut buf = String::with_capacity(events.len() * 256);
    let mut seq = inputs.first_seq;
    for e in &events {
        buf.push_str(&e.to_line(ts, run_id, seq));
        seq += 1;
    }
    checkpoint.next_seq = seq;

    if let Some((dir, _lock)) = &inputs.state {
        let log = events_path(opts, dir);
        store::eventlog::append(&log, buf.as_bytes())
            .with_context(|| format!("cannot append to event log `{}`", log.display()))?;
        let cp = dir.join("checkpoint.json");
        store::checkpoint::save(&cp, &checkpoint)
            .with_context(|| format!("cannot write checkpoint `{}`", cp.display()))?;
    } else if let EventsTarget::File(path) = &opts.events {
        store::eventlog::append(path, buf.as_bytes())
            .with_context(|| format!("cannot append events to `{}`", path.display()))?;
    }

    if let Some(path) = &opts.metrics_file {
        let text = crate::metrics::render(&events, &checkpoint, duration_ms, summary.as_str());
        store::atomic::write_atomic(path, text.as_bytes())
            .with_context(|| format!("cannot write metrics `{}`", path.display()))?;
    }

    let json = opts.output == Output::Json || opts.events == EventsTarget::Stdout;
    let mut out = std::io::stdout().lock();
    let written = if json {
        out.write_all(buf.as_bytes())
    } else {
        let parsed: Vec<Value> = buf
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        out.write_all(crate::render::plan(&parsed, opts.mode == Mode::Check).as_bytes())
    };
    match written.and_then(|_| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        other => other.context("cannot write to stdout")?,
    }
    Ok(summary.exit_code())
}
