//! `events [--follow]`: the event log, filtered by type, node and service.
//! Lines are printed as they are stored, so the output pipes into jq; only
//! DEL and C1 characters, which JSON lets stand raw in a string, are
//! printed as `\u` escapes (the same JSON value, safe on a terminal).
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use serde_json::Value;

pub struct Filter {
    pub types: Vec<String>,
    pub node: Option<String>,
    pub service: Option<String>,
}

impl Filter {
    fn matches(&self, v: &Value) -> bool {
        let field = |k: &str| v.get(k).and_then(Value::as_str);
        (self.types.is_empty() || self.types.iter().any(|t| field("type") == Some(t)))
            && self
                .node
                .as_deref()
                .is_none_or(|n| field("node") == Some(n))
            && self
                .service
                .as_deref()
                .is_none_or(|s| field("service") == Some(s))
    }
}

pub fn run(path: &Path, filter: &Filter, follow: bool) -> Result<i32> {
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !follow => return Ok(0),
        Err(e) => {
            return Err(e).with_context(|| format!("cannot open event log `{}`", path.display()))
        }
    };
    let mut reader = BufReader::new(file);
    let mut pos = 0u64;
    // Bytes, not a String: a torn last line (a run killed mid-append) may
    // end inside a UTF-8 character; it is skipped until it is whole or cut.
    let mut line: Vec<u8> = Vec::new();
    loop {
        line.clear();
        let n = reader.read_until(b'\n', &mut line)?;
        if n == 0 || line.last() != Some(&b'\n') {
            // End of the log (or a line still being written): wait for more.
            if !follow {
                return Ok(0);
            }
            std::thread::sleep(Duration::from_millis(300));
            reader.seek(SeekFrom::Start(pos))?;
            continue;
        }
        pos += n as u64;
        if let Ok(v) = serde_json::from_slice::<Value>(&line) {
            if filter.matches(&v) {
                // It parsed, so it is UTF-8; DEL and C1 become `\u` escapes.
                let text = String::from_utf8_lossy(&line);
                let text = crate::text::json_escape_c1(&text);
                if !super::stdout::write(&text)? {
                    return Ok(0); // the reader has gone (`| head`)
                }
            }
        }
    }
}
