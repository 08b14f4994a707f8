//! `logs`: the output of a spawned service, `<state-dir>/logs/<service>.log`,
//! each line with the time its monitor read it (`-n N`: its last N lines,
//! from the newest rotated file too when the live one has fewer; `-f`: then
//! every line appended, like `tail -n N -F`, across rotations: the rest of
//! the rotated file is read before the new one, from its start, and a
//! truncated log is read again from its start). The log is opened without
//! following a symlink and must be a regular file; control characters are
//! escaped, one line at a time.
use crate::exit::Exit;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::cli::LogsArgs;
use crate::desired::{Fleet, Start};

const POLL: Duration = Duration::from_millis(200);

pub fn run(fleet: &Fleet, state_dir: &Path, local: &str, args: &LogsArgs) -> Result<Exit> {
    let (node, service) = super::operator::local_target(fleet, &args.service, local)?;
    let spec = &fleet.nodes[&node].services[&service];
    if !matches!(spec.start, Some(Start::Spawn(_))) {
        bail!(
            "`{node}/{service}` is not spawned by supervisorctl (no `spawn:`): its output is wherever its `restart` command sends it (its own log, journald, …)"
        );
    }
    let path = crate::store::Layout::of(state_dir).log(&service);
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
        let (mut text, end) = last_lines(f, args.lines)?;
        pos = end;
        let shown = text.lines().count();
        if shown < args.lines {
            text = earlier_lines(&path, args.lines - shown)? + &text;
        }
        if !print(&text)? {
            return Ok(Exit::Ok);
        }
    }
    if !args.follow {
        return Ok(Exit::Ok);
    }
    follow(&path, file, pos)
}

/// The last `n` lines of the newest rotated log (`<log>.1`), if any.
fn earlier_lines(path: &Path, n: usize) -> Result<String> {
    let rotated = crate::store::rotate::rotated(path, 1);
    match crate::store::open_regular(&rotated) {
        Ok(mut f) => Ok(last_lines(&mut f, n)?.0),
        Err(_) => Ok(String::new()),
    }
}

/// The longest line shown whole; the rest of a longer one is cut, with a
/// note of how much.
const LINE_CAP: usize = 64 * 1024;
/// How much is read at a time, backwards then forwards.
const CHUNK_LEN: usize = 64 * 1024;
const CHUNK: u64 = CHUNK_LEN as u64;

/// The last `n` complete lines and the offset where they end. Linear in
/// the bytes read (backwards once to find where the lines start, then
/// forwards once), whatever the lines' length; a line longer than
/// [`LINE_CAP`] is cut with a note, so memory stays bounded.
fn last_lines(f: &mut File, n: usize) -> Result<(String, u64)> {
    let len = f.metadata()?.len();
    let end = complete_end(f, len)?;
    let start = start_of_last(f, end, n)?;
    f.seek(SeekFrom::Start(start))?;
    let mut reader = std::io::BufReader::with_capacity(CHUNK_LEN, f.take(end - start));
    let mut text = String::new();
    let mut current: Vec<u8> = Vec::new();
    let mut cut = 0u64;
    loop {
        let buf = std::io::BufRead::fill_buf(&mut reader)?;
        if buf.is_empty() {
            break;
        }
        let used = buf.len();
        for &b in buf {
            if b == b'\n' {
                text.push_str(&capped(&current, cut));
                current.clear();
                cut = 0;
            } else if current.len() < LINE_CAP {
                current.push(b);
            } else {
                cut += 1;
            }
        }
        std::io::BufRead::consume(&mut reader, used);
    }
    Ok((text, end))
}

/// Reads `f` backwards from `end` in [`CHUNK`]s, handing each chunk and
/// its offset to `found`, which returns an offset to stop at; Ok(None)
/// once the start is reached.
fn scan_back(
    f: &mut File,
    end: u64,
    mut found: impl FnMut(u64, &[u8]) -> Option<u64>,
) -> Result<Option<u64>> {
    let mut at = end;
    let mut chunk = vec![0u8; CHUNK_LEN];
    while at > 0 {
        let from = at.saturating_sub(CHUNK);
        let part = &mut chunk[..usize::try_from(at - from).expect("at most a chunk")];
        f.seek(SeekFrom::Start(from))?;
        f.read_exact(part)?;
        if let Some(stop) = found(from, part) {
            return Ok(Some(stop));
        }
        at = from;
    }
    Ok(None)
}

/// The offset just after the last line break (a partial last line is left
/// for `--follow`).
fn complete_end(f: &mut File, len: u64) -> Result<u64> {
    let end = scan_back(f, len, |from, part| {
        part.iter()
            .rposition(|&b| b == b'\n')
            .map(|i| from + i as u64 + 1)
    })?;
    Ok(end.unwrap_or(0))
}

/// Where the last `n` lines before `end` start: just after the `n+1`th
/// line break from the end, or the start of the file.
fn start_of_last(f: &mut File, end: u64, n: usize) -> Result<u64> {
    let mut seen = 0usize;
    let start = scan_back(f, end, |from, part| {
        for (i, &b) in part.iter().enumerate().rev() {
            if b == b'\n' {
                seen += 1;
                if seen > n {
                    return Some(from + i as u64 + 1);
                }
            }
        }
        None
    })?;
    Ok(start.unwrap_or(0))
}

/// One line, escaped, with a note when it was cut.
fn capped(bytes: &[u8], cut: u64) -> String {
    match cut {
        0 => line(bytes),
        n => {
            let shown = line(bytes);
            format!(
                "{} … [{} more bytes of this line not shown]\n",
                shown.trim_end_matches('\n'),
                n
            )
        }
    }
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

/// Prints each line appended from `pos` on, every [`POLL`]. A log that was
/// replaced (rotated) is read to its end first, then the new one from its
/// start; a log that shrank is read again from its start. Ends when stdout
/// is closed.
fn follow(path: &PathBuf, mut file: Option<File>, mut pos: u64) -> Result<Exit> {
    let mut partial: Vec<u8> = vec![];
    loop {
        let current = std::fs::symlink_metadata(path).ok();
        let (replaced, shrank) = match (&file, &current) {
            (Some(f), Some(m)) => (
                f.metadata().is_ok_and(|o| o.ino() != m.ino()),
                m.len() < pos,
            ),
            (None, Some(_)) => (true, false),
            _ => (false, false),
        };
        if replaced {
            // What was written to the old file before it was renamed.
            if let Some(old) = file.as_mut() {
                if !print_new(old, &mut pos, &mut partial)? {
                    return Ok(Exit::Ok);
                }
                if !partial.is_empty() {
                    partial.push(b'\n');
                    if !print(&lines_of(&std::mem::take(&mut partial)))? {
                        return Ok(Exit::Ok);
                    }
                }
            }
            file = crate::store::open_regular(path).ok();
            pos = 0;
        } else if shrank {
            pos = 0;
            partial.clear();
        }
        if let Some(f) = file.as_mut() {
            if !print_new(f, &mut pos, &mut partial)? {
                return Ok(Exit::Ok);
            }
        }
        std::thread::sleep(POLL);
    }
}

/// Prints the complete lines of `f` after `pos` (with what `partial` held
/// before them); the rest of a line waits in `partial`. `Ok(false)` when
/// stdout is gone.
fn print_new(f: &mut File, pos: &mut u64, partial: &mut Vec<u8>) -> Result<bool> {
    f.seek(SeekFrom::Start(*pos))?;
    let mut fresh = vec![];
    *pos += f.read_to_end(&mut fresh)? as u64;
    partial.extend_from_slice(&fresh);
    match partial.iter().rposition(|&b| b == b'\n') {
        Some(i) => {
            let done: Vec<u8> = partial.drain(..=i).collect();
            print(&lines_of(&done))
        }
        None => Ok(true),
    }
}

/// Complete lines (ending in a line break), each escaped.
fn lines_of(done: &[u8]) -> String {
    done[..done.len() - 1]
        .split(|&b| b == b'\n')
        .map(line)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn file_with(bytes: &[u8]) -> (tempfile::TempDir, File) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("svc.log");
        std::fs::File::create(&path)
            .unwrap()
            .write_all(bytes)
            .unwrap();
        let f = File::open(&path).unwrap();
        (dir, f)
    }

    #[test]
    fn the_last_lines_and_where_they_end_a_partial_line_left_out() {
        let (_d, mut f) = file_with(b"one\ntwo\nthree\nfour\npart");
        assert_eq!(last_lines(&mut f, 2).unwrap(), ("three\nfour\n".into(), 19));
        assert_eq!(last_lines(&mut f, 10).unwrap().0, "one\ntwo\nthree\nfour\n");
        assert_eq!(last_lines(&mut f, 0).unwrap().0, "");
        let (_d, mut empty) = file_with(b"");
        assert_eq!(last_lines(&mut empty, 5).unwrap(), (String::new(), 0));
    }

    /// Issue: `logs -n N` was quadratic in line length (a 64 MB line took
    /// 39 s) and held it all. Lines across chunk borders, and a line far
    /// longer than the cap, shown cut with a note.
    #[test]
    fn a_line_longer_than_the_cap_is_cut_with_a_note() {
        let mut bytes = b"first\n".to_vec();
        bytes.extend(std::iter::repeat_n(b'x', 8 << 20));
        bytes.extend(b"\nlast\n");
        let (_d, mut f) = file_with(&bytes);
        let (text, end) = last_lines(&mut f, 3).unwrap();
        assert_eq!(end, bytes.len() as u64);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0], "first");
        assert_eq!(lines[2], "last");
        let long = lines[1];
        assert!(long.starts_with(&"x".repeat(LINE_CAP)), "cut at the cap");
        assert!(
            long.ends_with(&format!(
                " … [{} more bytes of this line not shown]",
                (8 << 20) - LINE_CAP
            )),
            "{}",
            &long[long.len() - 60..]
        );
    }
}
