//! Reading scenario.yaml and placing its problems: the file's text, the
//! YAML reader's errors with hints, and where a key or a value is written
//! (for problems found after reading, or placed by the reader at the start
//! of their mapping).
use std::path::Path;

use super::MAX_BYTES;
use crate::desired::ConfigError;

pub(super) fn read(file: &Path) -> Result<String, ConfigError> {
    let bytes = crate::store::read_limited(file, MAX_BYTES).map_err(|e| {
        let why = match e.raw_os_error() {
            Some(nix::libc::ELOOP) => "is a symbolic link; refusing to follow it".to_string(),
            _ => crate::text::io_error_text(&e),
        };
        ConfigError::whole(file, format!("cannot read the scenario: {why}"))
    })?;
    String::from_utf8(bytes).map_err(|_| ConfigError::whole(file, "not UTF-8 text"))
}

pub(super) fn yaml_error(file: &Path, e: &serde_yaml::Error) -> ConfigError {
    let mut message = e.to_string();
    for marker in [" at line ", " at position "] {
        if let Some(i) = message.find(marker) {
            message.truncate(i);
        }
    }
    let (line, col) = e.location().map_or((0, 0), |l| (l.line(), l.column()));
    let fields = "a scenario has `start`, `node`, `steps` (each `at`, `world`), `faults` (each `service`, `from`, `to`, `action`) and an optional `description`";
    let hint = if message.contains("unknown field") || message.contains("missing field") {
        Some(fields.into())
    } else if message.contains("duplicate field") {
        Some("each key may appear once in its mapping; remove one of them".into())
    } else if message.contains("unknown variant") {
        Some("`action` is one of restart, evict, preload, activate_fallback, none".into())
    } else {
        None
    };
    ConfigError::new(file, line, col, message).with_hint(hint)
}

/// The position of the `index`-th `key:` in the text (1-based line and
/// column), for problems found after reading.
pub(super) fn locate(text: &str, key: &str, index: usize) -> (usize, usize) {
    let needle = format!("{key}:");
    text.lines()
        .enumerate()
        .filter_map(|(n, l)| {
            let t = l.trim_start().trim_start_matches("- ");
            t.starts_with(&needle)
                .then(|| (n + 1, l.len() - t.len() + 1))
        })
        .nth(index)
        .unwrap_or((0, 0))
}

/// Where `key: value` is written (any key when `key` is empty): the line
/// and the column of the value.
pub(super) fn locate_value(text: &str, key: &str, value: &str) -> Option<(usize, usize)> {
    text.lines().enumerate().find_map(|(n, l)| {
        let t = l.trim_start().trim_start_matches("- ");
        let (k, v) = t.split_once(':')?;
        let v_trim = v.trim().trim_matches(|c| c == '"' || c == '\'');
        let v_trim = v_trim.split(" #").next().unwrap_or(v_trim).trim();
        let key_ok = key.is_empty() || k == key;
        (key_ok && v_trim == value).then(|| (n + 1, l.len() - v.trim_start().len() + 1))
    })
}
