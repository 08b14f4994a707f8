//! `logs`: the output of a spawned service, `<state-dir>/logs/<service>.log`
//! (`-n N`: its last N lines; `-f`: then every line appended, like
//! `tail -n N -F`: a truncated or replaced log is read again from its
//! start). The log is opened without following a symlink and must be a
//! regular file; control characters are escaped, one line at a time.
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Args;

use crate::desired::{Fleet, Start};

const POLL: Duration = Duration::from_millis(200);

/// The arguments of `logs`.
#[derive(Args, Debug, Clone)]
pub struct LogsArgs {
    /// NODE/SERVICE, or a SERVICE on --node or unique in the fleet
    pub service: String,
    /// Keep printing lines as they are appended
    #[arg(short = 'f', long)]
    pub follow: bool,
    /// The last N lines
    #[arg(short = 'n', long = "lines", value_name = "N", default_value_t = 50)]
    pub lines: usize,
}

pub fn run(fleet: &Fleet, state_dir: &Path, local: &str, args: &LogsArgs) -> Result<i32> {
    let (node, service) = super::operator::local_target(fleet, &args.service, local)?;
    let spec = &fleet.nodes[&node].services[&service];
    if !matches!(spec.start, Some(Start::Spawn(_))) {
        bail!(
            "`{node}/{service}` is not spawned by supervisorctl (no `spawn:`): its output is wherever its `restart` command sends it (its own log, journald, …)"
        );
    }
    let path = state_dir.join("logs").join(format!("{service}.log"));
    let mut file = match crate::store::open_regular(&path) {
        Ok(f) => Some(f),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && args.follow => None,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
            "no log yet at `{}`: `{node}/{service}` has not been spawned on this node",
            path.display()
        ),
        Err(e) => return Err(e).with_context(|| format!("cannot open `{}`", path.display())),
    };
    let mut pos = 0;
    if let Some(f) = file.as_mut() {
        let (text, end) = last_lines(f, args.lines)?;
        pos = end;
        if !print(&text)? {
            return Ok(0);
        }
    }
    if !args.follow {
        return Ok(0);
    }
    follow(&path, file, pos)
}

/// The last `n` complete lines and the offset where they end.
fn last_lines(f: &mut File, n: usize) -> Result<(String, u64)> {
    let len = f.metadata()?.len();
    let mut start = len;
    let mut buf: Vec<u8> = vec![];
    const CHUNK: u64 = 64 * 1024;
    // Read back until n+1 line breaks are seen (or the start of the file).
    while start > 0 && buf.iter().filter(|&&b| b == b'\n').count() <= n {
        let from = start.saturating_sub(CHUNK);
        let mut chunk = vec![0; (start - from) as usize];
        f.seek(SeekFrom::Start(from))?;
        f.read_exact(&mut chunk)?;
        chunk.extend_from_slice(&buf);
        buf = chunk;
        start = from;
    }
    // Only complete lines; a partial last line is left for --follow.
    let complete = buf.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let end = start + complete as u64;
    let lines: Vec<&[u8]> = buf[..complete].split(|&b| b == b'\n').collect();
    let lines = &lines[..lines.len().saturating_sub(1)]; // after the last \n
    let skip = lines.len().saturating_sub(n);
    let text = lines[skip..].iter().map(|l| line(l)).collect();
    Ok((text, end))
}

fn line(bytes: &[u8]) -> String {
    let s = String::from_utf8_lossy(bytes);
    format!("{}\n", crate::text::escape_control(&s))
}

/// `Ok(false)` when stdout is gone.
fn print(text: &str) -> Result<bool> {
    if text.is_empty() {
        return Ok(true);
    }
    super::stdout::write(text)
}

/// Prints each line appended from `pos` on, every [`POLL`]; a log that
/// shrank or was replaced is read again from its start. Ends when stdout
/// is closed.
fn follow(path: &PathBuf, mut file: Option<File>, mut pos: u64) -> Result<i32> {
    let mut partial: Vec<u8> = vec![];
    loop {
        let current = std::fs::symlink_metadata(path).ok();
        let replaced = match (&file, &current) {
            (Some(f), Some(m)) => f.metadata().is_ok_and(|o| o.ino() != m.ino()) || m.len() < pos,
            (None, Some(_)) => true,
            _ => false,
        };
        if replaced {
            file = crate::store::open_regular(path).ok();
            pos = 0;
            partial.clear();
        }
        if let Some(f) = file.as_mut() {
            f.seek(SeekFrom::Start(pos))?;
            let mut fresh = vec![];
            pos += f.read_to_end(&mut fresh)? as u64;
            partial.extend_from_slice(&fresh);
            if let Some(i) = partial.iter().rposition(|&b| b == b'\n') {
                let done: Vec<u8> = partial.drain(..=i).collect();
                let text: String = done[..i].split(|&b| b == b'\n').map(line).collect();
                if !print(&text)? {
                    return Ok(0);
                }
            }
        }
        std::thread::sleep(POLL);
    }
}
