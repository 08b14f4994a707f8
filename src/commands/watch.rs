//! `watch`: run `reconcile` once, then again whenever hosts/ or the world
//! directory change (debounced 300 ms, so an editor's write-and-rename or an
//! observer rewriting a hundred files is one run), and optionally every
//! `--interval`. Each run is the ordinary one-pass reconcile; `watch` adds
//! no state of its own.
use std::sync::mpsc::{channel, RecvTimeoutError};
use std::time::Duration;

use anyhow::{Context, Result};
use notify::RecursiveMode;
use notify_debouncer_full::new_debouncer;

use crate::run::{run, RunOptions};

pub fn watch(opts: &RunOptions, interval: Option<Duration>) -> Result<i32> {
    let (tx, rx) = channel();
    let mut debouncer = new_debouncer(Duration::from_millis(300), None, tx)
        .context("cannot start watching files")?;
    for dir in [&opts.hosts, &opts.world] {
        if dir.exists() {
            debouncer
                .watch(dir, RecursiveMode::Recursive)
                .with_context(|| format!("cannot watch `{}`", dir.display()))?;
        } else {
            eprintln!(
                "warning: `{}` does not exist; it is not watched",
                dir.display()
            );
        }
    }
    loop {
        match run(opts) {
            Ok(code) => eprintln!("watch: run finished with exit code {code}; waiting for changes"),
            // A failed run (bad config, lock held) is reported; the next change retries.
            Err(e) => eprintln!(
                "error: {}",
                crate::text::escape_control_lines(&format!("{e:#}"))
            ),
        }
        let changed = match interval {
            Some(every) => match rx.recv_timeout(every) {
                Ok(batch) => Some(batch),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => return Ok(1),
            },
            None => match rx.recv() {
                Ok(batch) => Some(batch),
                Err(_) => return Ok(1),
            },
        };
        if let Some(Err(errors)) = changed {
            for e in errors {
                eprintln!("warning: file watch: {e}");
            }
        }
        // Changes that arrived meanwhile are covered by the next run.
        while rx.try_recv().is_ok() {}
    }
}
