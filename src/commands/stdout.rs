//! The one way commands print to stdout (docs/reference/behaviour.md, "Output"): a closed stdout
//! (`supervisorctl audit | head -1`) ends the command quietly with its
//! normal exit code, where `println!` would panic. Commands build their
//! text and hand it to [`fn@write`]; errors and warnings go to stderr.
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result};

/// Writes `text` to stdout and flushes it. `Ok(false)` when the reader has
/// gone (a broken pipe): the text is dropped, and the caller stops
/// producing and exits as it would have. Any other failure is an error.
pub fn write(text: &str) -> Result<bool> {
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
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(false),
        Err(e) => Err(e).context("cannot write to stdout"),
    }
}

static JSON: AtomicBool = AtomicBool::new(false);

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
