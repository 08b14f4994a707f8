//! Checks `events.jsonl` as it grows, one call after each run or kill,
//! reading only the bytes appended since the previous call.
//!
//! Strict (the default), across the whole log:
//! - the log never shrinks and always ends with a newline (no torn line);
//! - every line is a JSON object;
//! - `seq` starts at 1 and each line's is exactly one more than the line
//!   before: no repeat and no gap (a run killed before its append leaves
//!   nothing, and the next run continues from the log's last line);
//! - the lines come in whole runs: `run_started` first, `run_finished`
//!   last, one `run_id` in between, never two runs interleaved.
//!
//! Lenient ([`LogCheck::lenient`]) accepts what a SIGKILL in the middle of
//! the append leaves, and nothing else: Linux ends a buffered `write` early
//! when a fatal signal is pending, between pages, so the one write of a
//! run can stop part-way. Then the log may end in a torn line, which the
//! next append must close with a newline (that line, and only it, is not
//! JSON), and a run may lack its `run_finished` (it is abandoned: the next
//! line is a `run_started`). The `seq` rule holds for every other line.
use std::path::Path;

use serde_json::Value;

#[derive(Default)]
pub struct LogCheck {
    offset: usize,
    pub last_seq: Option<u64>,
    /// Runs with their `run_finished`.
    pub runs: usize,
    pub events: usize,
    lenient: bool,
    /// The unterminated tail seen at the last call (lenient only).
    torn: Option<Vec<u8>>,
    /// Torn tails later cut by the next append.
    pub torn_lines: usize,
    /// Runs abandoned without `run_finished`.
    pub partial_runs: usize,
    /// The `run_id` of a run not finished yet.
    open: Option<String>,
}

impl LogCheck {
    pub fn lenient() -> LogCheck {
        LogCheck {
            lenient: true,
            ..LogCheck::default()
        }
    }

    /// The log ends with a whole, finished run (after a run left to end).
    pub fn ends_whole(&self) -> Result<(), String> {
        match (&self.torn, &self.open) {
            (None, None) => Ok(()),
            (Some(t), _) => Err(format!(
                "a finished run left a torn tail: {}",
                String::from_utf8_lossy(t)
            )),
            (_, Some(id)) => Err(format!("run {id} has no run_finished")),
        }
    }

    pub fn advance(&mut self, path: &Path) -> Result<(), String> {
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && self.offset == 0 => return Ok(()),
            Err(e) => return Err(format!("cannot read `{}`: {e}", path.display())),
        };
        if bytes.len() < self.offset {
            return Err(format!(
                "the log shrank from {} to {} bytes",
                self.offset,
                bytes.len()
            ));
        }
        let new = &bytes[self.offset..];
        let start = self.offset;
        if let Some(torn) = self.torn.take() {
            if new == torn.as_slice() {
                self.torn = Some(torn);
                return Ok(());
            }
            // The next append cut the fragment (it never was an event) and
            // wrote after the last whole line, where `offset` stands.
            if new.starts_with(&torn) && new.get(torn.len()) == Some(&b'\n') {
                return Err("the torn line was kept and closed instead of cut".into());
            }
            self.torn_lines += 1;
        }
        let whole = match new.iter().rposition(|b| *b == b'\n') {
            Some(nl) => nl + 1,
            None => 0,
        };
        if whole < new.len() {
            let tail = &new[whole..];
            if !self.lenient {
                let shown = String::from_utf8_lossy(&tail[tail.len().saturating_sub(200)..]);
                return Err(format!("torn last line (no newline at the end): …{shown}"));
            }
            self.torn = Some(tail.to_vec());
        }
        for line in new[..whole].split_inclusive(|b| *b == b'\n') {
            self.line(&line[..line.len() - 1])?;
        }
        if !self.lenient {
            if let Some(id) = &self.open {
                return Err(format!("run {id} was appended without its run_finished"));
            }
        }
        self.offset = start + whole;
        Ok(())
    }

    fn line(&mut self, line: &[u8]) -> Result<(), String> {
        let text = String::from_utf8_lossy(line);
        let event: Value =
            serde_json::from_slice(line).map_err(|e| format!("line is not JSON ({e}): {text}"))?;
        let seq = event["seq"]
            .as_u64()
            .ok_or_else(|| format!("line without seq: {text}"))?;
        let expected = self.last_seq.map_or(1, |s| s + 1);
        if seq != expected {
            return Err(format!("seq {seq} where {expected} was due: {text}"));
        }
        self.last_seq = Some(seq);
        self.events += 1;
        let kind = event["type"].as_str().unwrap_or_default();
        let run_id = event["run_id"].as_str().unwrap_or_default().to_string();
        match (kind, self.open.as_deref()) {
            ("run_started", None) => self.open = Some(run_id),
            ("run_started", Some(_)) if self.lenient => {
                self.partial_runs += 1;
                self.open = Some(run_id);
            }
            ("run_started", Some(_)) => return Err(format!("a run inside a run: {text}")),
            (_, None) => return Err(format!("an event outside a run: {text}")),
            (_, Some(id)) if id != run_id => {
                return Err(format!("two runs interleaved (expected {id}): {text}"))
            }
            ("run_finished", Some(_)) => {
                self.open = None;
                self.runs += 1;
            }
            _ => {}
        }
        Ok(())
    }
}
