//! Turns the text of one `services.yaml` into raw (serde) types, reporting
//! every section's first problem rather than only the file's first.
//!
//! serde stops at the first error and the YAML deserializer cannot resume
//! after one, but its errors carry exact positions. So the file is read in
//! passes. A *section* is a key path: a top-level entry, a service, a field
//! of a service or of `supervisor`. Keys are read by [`KeySeed`], which
//! notes the section it opens; when a pass fails, the section being read is
//! reported and skipped (read as `IgnoredAny`) in the next pass, until a
//! pass succeeds. A clean file takes one pass; a file with `n` broken fields
//! takes `n + 1`, up to a cap (on errors and on bytes re-read). Syntax errors are found first by a plain
//! parse and end the file's checks.
//!
//! Duplicate keys (which the YAML crate would silently resolve to the last)
//! are refused by [`KeySeed`] at the repeated key, for the top level, the
//! services map, each service and `supervisor`. Inside the structs read by
//! serde's derive (`process`, `health`, windows, webhooks) derive refuses
//! them itself but places the error at the start of the mapping; the
//! locator moves it to the repeated key.
use std::cell::RefCell;
use std::collections::BTreeSet;
use std::path::Path;

use serde::de::{DeserializeSeed, IgnoredAny};

use super::error::ConfigError;
use super::locator::{key, Locator, Seg};
use super::raw::{RawService, RawSupervisor};
use super::seeds::FileSeed;
use super::suggest;

/// More errors than this in one file and the rest is not checked.
const MAX_ERRORS: usize = 50;

/// Passes re-read the whole text; stop once this much has been read (a
/// 1 MiB file gets 8 passes, a typical few-kilobyte file the full
/// [`MAX_ERRORS`]).
const PASS_BUDGET_BYTES: usize = 8 * 1024 * 1024;

/// What deserialized cleanly.
#[derive(Debug, Default)]
pub(crate) struct RawFile {
    pub node: Option<String>,
    pub supervisor: Option<RawSupervisor>,
    /// Services in document order (first declarations only), without the
    /// fields that failed to load.
    pub services: Vec<(String, RawService)>,
    /// Every service key seen, broken or not: a reference to a broken
    /// service is not also reported as unknown.
    pub declared: BTreeSet<String>,
}

/// A key path; each key with the number of earlier equal keys in its map.
pub(crate) type Section = Vec<(String, usize)>;

pub(crate) fn locator_path(section: &Section) -> Vec<Seg> {
    section.iter().map(|(k, _)| key(k)).collect()
}

/// What the seeds of one pass share.
pub(crate) struct Ctx<'a> {
    pub folder: &'a str,
    pub locator: &'a Locator<'a>,
    pub skip: BTreeSet<Section>,
    /// The section being read; empty outside any.
    pub current: RefCell<Section>,
}

/// Reads `text` (the file `file` of node `folder`); returns what could be
/// read and every problem found on the way.
pub(crate) fn read(
    text: &str,
    folder: &str,
    file: &Path,
    locator: &Locator,
) -> (RawFile, Vec<ConfigError>) {
    if text
        .lines()
        .all(|l| matches!(l.trim(), "" | "---") || l.trim_start().starts_with('#'))
    {
        return (RawFile::default(), Vec::new());
    }
    if let Some((line, column)) = too_deep(text) {
        let message = format!("nesting deeper than {MAX_FLOW_DEPTH} levels");
        let hint = Some(
            "a services.yaml needs a few levels; this looks like a generated or hostile file"
                .to_string(),
        );
        return (
            RawFile::default(),
            vec![ConfigError::new(file, line, column, message).with_hint(hint)],
        );
    }
    let mut ctx = Ctx {
        folder,
        locator,
        skip: BTreeSet::new(),
        current: RefCell::new(Vec::new()),
    };
    let mut errors = Vec::new();
    loop {
        ctx.current.replace(Vec::new());
        match FileSeed(&ctx).deserialize(serde_yaml::Deserializer::from_str(text)) {
            Ok(raw) => return (raw, errors),
            Err(e) => {
                // A syntax error ends this file's checks. Checked only on
                // failure, so a clean file is parsed once.
                if let Err(syntax) = serde_yaml::from_str::<IgnoredAny>(text) {
                    return (
                        RawFile::default(),
                        vec![convert(syntax, &Vec::new(), file, locator)],
                    );
                }
                let section = ctx.current.take();
                errors.push(convert(e, &section, file, locator));
                let max_errors = MAX_ERRORS.min((PASS_BUDGET_BYTES / text.len().max(1)).max(2));
                if errors.len() >= max_errors {
                    let stop = format!("too many errors, stopped after {max_errors}");
                    let hint = Some("fix these and run again".to_string());
                    errors.push(ConfigError::whole(file, stop).with_hint(hint));
                    return (RawFile::default(), errors);
                }
                if section.is_empty() || !ctx.skip.insert(section) {
                    return (RawFile::default(), errors);
                }
            }
        }
    }
}

/// A YAML error as a [`ConfigError`]: the crate's position, its message
/// without the position and key path, a hint split off or suggested.
fn convert(e: serde_yaml::Error, section: &Section, file: &Path, locator: &Locator) -> ConfigError {
    let (mut line, mut column) = e.location().map_or((0, 0), |l| (l.line(), l.column()));
    let text = strip_positions(&e.to_string());
    let text = strip_key_path(&text);
    let (message, mut hint) = match text.split_once("\nhint: ") {
        Some((m, h)) => (m.to_string(), Some(h.to_string())),
        None => (text.to_string(), suggest::hint_for_serde_message(text)),
    };
    let duplicate = message
        .strip_prefix("duplicate field `")
        .and_then(|r| r.strip_suffix('`'));
    if let Some(field) = duplicate.filter(|_| hint.is_none()) {
        if let Some(entry) = locator.duplicate_key(&locator_path(section), field) {
            (line, column) = (entry.line, entry.column);
            if let Some(first) = locator.find(&entry.path) {
                hint = Some(format!(
                    "`{field}` is first set on line {}; keep one",
                    first.line
                ));
            }
        }
    }
    ConfigError::new(file, line, column, message).with_hint(hint)
}

/// Removes every ` at line N column M` (and ` at position N`) that the YAML
/// crate appends.
fn strip_positions(message: &str) -> String {
    let mut out = message.to_string();
    for marker in [" at line ", " at position "] {
        while let Some(start) = out.find(marker) {
            let tail = &out[start + marker.len()..];
            let mut end = tail
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(tail.len());
            if let Some(rest) = tail[end..].strip_prefix(" column ") {
                end += " column ".len()
                    + rest
                        .find(|c: char| !c.is_ascii_digit())
                        .unwrap_or(rest.len());
            }
            out.replace_range(start..start + marker.len() + end, "");
        }
    }
    out
}

/// Removes the `services.web.health: ` prefix of a message: the snippet
/// already shows where it is.
fn strip_key_path(message: &str) -> &str {
    match message.split_once(": ") {
        Some((path, rest)) if !path.is_empty() && !path.contains([' ', '`']) => rest,
        _ => message,
    }
}

/// Flow collections (`[`, `{`) nested deeper than this are refused before
/// parsing: the YAML scanner's cost grows with the square of the depth, so
/// 100,000 `[` would take minutes. Block nesting is bounded by the file size.
pub(crate) const MAX_FLOW_DEPTH: usize = 64;

/// The 1-based line and column where flow nesting first exceeds the bound,
/// skipping quoted strings and comments.
fn too_deep(text: &str) -> Option<(usize, usize)> {
    let mut depth = 0usize;
    for (n, line) in text.lines().enumerate() {
        let mut quote: Option<char> = None;
        let mut prev = ' ';
        for (col, c) in line.chars().enumerate() {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => {}
                (None, '\'' | '"') => quote = Some(c),
                (None, '#') if prev.is_whitespace() => break,
                (None, '[' | '{') => {
                    depth += 1;
                    if depth > MAX_FLOW_DEPTH {
                        return Some((n + 1, col + 1));
                    }
                }
                (None, ']' | '}') => depth = depth.saturating_sub(1),
                _ => {}
            }
            prev = c;
        }
    }
    None
}
