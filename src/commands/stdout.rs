//! The one way commands print to stdout (SPEC §9 "Output"): a closed stdout
//! (`supervisorctl audit | head -1`) ends the command quietly with its
//! normal exit code, where `println!` would panic. Commands build their
//! text and hand it to [`fn@write`]; errors and warnings go to stderr.
use std::io::{self, Write};

use anyhow::{Context, Result};

/// Writes `text` to stdout and flushes it. `Ok(false)` when the reader has
/// gone (a broken pipe): the text is dropped, and the caller stops
/// producing and exits as it would have. Any other failure is an error.
pub fn write(text: &str) -> Result<bool> {
    let mut out = io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(false),
        Err(e) => Err(e).context("cannot write to stdout"),
    }
}

/// Like `println!`, through [`fn@write`]: `outln!("{x}")?` is `Ok(bool)`.
#[macro_export]
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::commands::stdout::write(&format!("{}\n", format_args!($($arg)*)))
    };
}
