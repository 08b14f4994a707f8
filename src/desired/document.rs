//! Turns the text of one `services.yaml` into raw types, reporting the
//! first problem of every section rather than only the file's first.
//!
//! The text is parsed once, into a `tree` whose nodes keep their
//! positions. A *section* is an entry of a mapping: a top-level entry, a
//! service, a field of a service or of `supervisor`. The mappings down to
//! those fields are walked here; each field's value is deserialized on its
//! own (through `de`), so a bad field is reported at its own line and
//! column and the next field is still read. A key that cannot be read at
//! all (a list used as a key) ends the mapping it is in.
//!
//! Duplicate keys (which libyaml-based readers silently resolve to the
//! last) are refused at the repeated key, at every level: here for the
//! mappings walked, by serde's derive inside the others (`process`,
//! `health`, windows, webhooks), whose error is moved to the repeated key.
use std::collections::BTreeSet;
use std::path::Path;

use serde::de::IgnoredAny;

use super::de::Doc;
use super::error::ConfigError;
use super::raw::{RawService, RawSupervisor};
use super::suggest;
use super::tree::{self, Tree};
use super::walk::Walk;

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

/// Reads `text` (the file `file` of node `folder`); returns what could be
/// read, every problem found on the way, and the tree (for placing the
/// problems found later), unless the text is not one YAML document.
pub(crate) fn read(
    text: &str,
    folder: &str,
    file: &Path,
) -> (RawFile, Vec<ConfigError>, Option<Tree>) {
    if text
        .lines()
        .all(|l| matches!(l.trim(), "" | "---") || l.trim_start().starts_with('#'))
    {
        return (RawFile::default(), Vec::new(), None);
    }
    if let Some((line, column)) = too_deep(text) {
        let message = format!("nesting deeper than {MAX_FLOW_DEPTH} levels");
        let hint = Some(
            "a services.yaml needs a few levels; this looks like a generated or hostile file"
                .to_string(),
        );
        let error = ConfigError::new(file, line, column, message).with_hint(hint);
        return (RawFile::default(), vec![error], None);
    }
    let Ok(tree) = tree::build(text) else {
        return (RawFile::default(), vec![syntax_error(text, file)], None);
    };
    let doc = Doc::new(&tree);
    let mut walk = Walk::new(&doc, folder, file);
    let raw = walk.file().unwrap_or_default();
    let errors = walk.errors;
    (raw, errors, Some(tree))
}

/// The file is not one YAML document: `yaml_serde`, which uses the same
/// parser, words the problem (only on this path, so a good file is parsed
/// once).
fn syntax_error(text: &str, file: &Path) -> ConfigError {
    let Err(e) = serde_yaml::from_str::<IgnoredAny>(text) else {
        return ConfigError::whole(file, "the file is not one YAML document");
    };
    let (line, column) = e.location().map_or((0, 0), |l| (l.line(), l.column()));
    let text = strip_positions(&e.to_string());
    let (message, hint) = split_hint(strip_key_path(&text));
    ConfigError::new(file, line, column, message).with_hint(hint)
}

pub(crate) fn split_hint(text: &str) -> (String, Option<String>) {
    match text.split_once("\nhint: ") {
        Some((m, h)) => (m.to_string(), Some(h.to_string())),
        None => (text.to_string(), suggest::hint_for_serde_message(text)),
    }
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
