//! The one writer to stdout, for every command (docs/reference/behaviour.md, "Output"): a run's
//! plan and events (`run/finish.rs`), a replay (`replay/mod.rs`) and every
//! other command build their text and hand it to [`fn@write`]; errors and
//! warnings go to stderr. Nothing else in the crate names `io::stdout`
//! (the monitor's handshake aside, which is not a command's output).
//!
//! A closed stdout (`supervisorctl audit | head -1`) is handled here and
//! only here: the first broken pipe closes the writer, what follows is
//! dropped, and the command ends quietly with the exit it would have had
//! (docs/reference/exit-codes.md; `tests/it/closed_stdout.rs`), where
//! `println!` would panic.
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result};

/// Writes `text` to stdout and flushes it. `Ok(false)` when the reader has
/// gone (a broken pipe, now or before): the text is dropped, and a caller
/// that follows a file stops; every caller exits as it would have. Any
/// other failure is an error.
pub fn write(text: &str) -> Result<bool> {
    if CLOSED.load(Ordering::Relaxed) {
        return Ok(false);
    }
    // `--output json`: no raw C1 or bidi control from world strings.
    let owned;
    let text = if JSON.load(Ordering::Relaxed) {
        owned = crate::text::json_escape_c1(text);
        owned.as_ref()
    } else {
        text
    };
    let mut out = io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
            CLOSED.store(true, Ordering::Relaxed);
            Ok(false)
        }
        Err(e) => Err(e).context("cannot write to stdout"),
    }
}

/// Whether stdout is a terminal (a person reads it).
pub fn is_terminal() -> bool {
    io::IsTerminal::is_terminal(&io::stdout())
}

static JSON: AtomicBool = AtomicBool::new(false);

/// The reader has gone: nothing more is written.
static CLOSED: AtomicBool = AtomicBool::new(false);

/// `--output json` for the commands that report with [`message`].
pub fn set_json(on: bool) {
    JSON.store(on, Ordering::Relaxed);
}

/// A command's one-line report: the text for people, or with `--output
/// json` one JSON object holding `message` and `fields`.
pub fn message(text: &str, fields: serde_json::Value) -> Result<bool> {
    if !JSON.load(Ordering::Relaxed) {
        return write(&format!("{text}\n"));
    }
    let mut obj = match fields {
        serde_json::Value::Object(m) => m,
        _ => serde_json::Map::new(),
    };
    obj.insert("message".into(), text.into());
    write(&format!("{}\n", serde_json::Value::Object(obj)))
}

/// Like `println!`, through [`fn@write`]: `outln!("{x}")?` is `Ok(bool)`.
#[macro_export]
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::commands::stdout::write(&format!("{}\n", format_args!($($arg)*)))
    };
}
