//! Operator overrides set from the command line (`pin`, `unpin`, `hold`,
//! `release`): `<state-dir>/overrides.json`.
//!
//! Guarantees: a missing file means no overrides; an unreadable one is an
//! error, never silently empty — losing a hold could let a destructive
//! action through. Saved atomically.
use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Overrides {
    pub version: u32,
    /// `<node>/<service>` → pinned or explicitly unpinned.
    #[serde(default)]
    pub pins: BTreeMap<String, bool>,
    #[serde(default)]
    pub holds: BTreeMap<String, Hold>,
}

impl Default for Overrides {
    fn default() -> Self {
        Overrides { version: 1, pins: BTreeMap::new(), holds: BTreeMap::new() }
    }
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Hold {
    pub since: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

pub fn load_overrides(path: &Path) -> Result<Overrides, String> {
    match super::read_limited(path, 16 << 20) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Overrides::default()),
        Err(e) => Err(e.to_string()),
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| e.to_string()),
    }
}

pub fn save_overrides(path: &Path, o: &Overrides) -> std::io::Result<()> {
    let mut bytes = serde_json::to_vec_pretty(o).map_err(std::io::Error::other)?;
    bytes.push(b'\n');
    super::atomic::write_atomic(path, &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_corrupt_is_an_error() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("overrides.json");
        assert_eq!(load_overrides(&p).unwrap(), Overrides::default());
        let mut o = Overrides::default();
        o.pins.insert("n/a".into(), true);
        o.holds.insert("n/b".into(), Hold { since: "2026-11-23T12:00:00Z".parse().unwrap(), reason: Some("migration".into()) });
        save_overrides(&p, &o).unwrap();
        assert_eq!(load_overrides(&p).unwrap(), o);
        std::fs::write(&p, b"{\"version\": 1, \"holds\": 7}").unwrap();
        assert!(load_overrides(&p).is_err());
    }
}
