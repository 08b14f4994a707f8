//! `<state-dir>/fallbacks.json`: which primaries currently route to their
//! fallback, for a router to read: `{"<node>/<primary>": {"to", "since"}}`.
//! Written atomically whenever a fallback is activated or deactivated.
use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct FallbackEntry {
    pub to: String,
    pub since: DateTime<Utc>,
}

pub fn write_fallbacks(path: &Path, map: &BTreeMap<String, FallbackEntry>) -> std::io::Result<()> {
    let mut bytes = serde_json::to_vec_pretty(map).map_err(std::io::Error::other)?;
    bytes.push(b'\n');
    super::atomic::write_atomic(path, &bytes)
}
