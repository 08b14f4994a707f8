//! Operator overrides set from the command line (`pin`, `unpin`, `hold`,
//! `release`), kept in `<state-dir>/overrides.json`:
//! `{"version": 1, "pins": {"<node>/<service>": true|false},
//!   "holds": {"<node>/<service>": {"since": T, "reason": "..."}}}`.
//!
//! **Guarantees.** A missing file means no overrides. A file that exists
//! but cannot be read, parsed, or has another `version` is an error, never
//! "no overrides": losing a hold could let a destructive action through, so
//! the caller refuses to execute. Saving is atomic (see [`super::atomic`]).
//!
//! **Assumptions.** Keys are `<node>/<service>`; this file does not check
//! them against hosts/ (an override of an undeclared service is harmless).
//! Writers hold the state lock.
//!
//! **Caveats.** Unknown fields are ignored, so a newer tool's additions
//! survive only if that tool also bumps `version`.
use std::collections::BTreeMap;
use std::io;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::atomic::write_atomic;
use super::checkpoint::to_pretty_json;
use super::file::{describe, read_limited};

/// The format this build reads and writes.
pub const OVERRIDES_VERSION: u32 = 1;

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Overrides {
    pub version: u32,
    /// `true`: pinned from the command line; `false`: unpinned, whatever
    /// hosts/ says.
    #[serde(default)]
    pub pins: BTreeMap<String, bool>,
    /// Held services: nothing is executed for them.
    #[serde(default)]
    pub holds: BTreeMap<String, Hold>,
    /// Services an operator stopped (`stop`), since when: a copy of the
    /// checkpoint's `stopped_by_operator_at`, kept here because an
    /// operator's word must outlive a checkpoint that is set aside. Each
    /// live run rewrites it from the checkpoint it saved.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub stops: BTreeMap<String, DateTime<Utc>>,
}

impl Default for Overrides {
    fn default() -> Self {
        Overrides {
            version: OVERRIDES_VERSION,
            pins: BTreeMap::new(),
            holds: BTreeMap::new(),
            stops: BTreeMap::new(),
        }
    }
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Hold {
    pub since: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// What to do about an overrides file that cannot be used.
pub const UNREADABLE_HINT: &str =
    "fix or remove the file; holds and pins in it must not be lost silently";

/// Loads `path`; a missing file gives the empty default. The error names
/// the file and says why it cannot be used.
pub fn load_overrides(path: &Path) -> Result<Overrides, String> {
    let shown = path.display();
    let bytes = match read_limited(path, 16 * 1024 * 1024) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Overrides::default()),
        Err(e) => return Err(format!("cannot read overrides `{shown}`: {}", describe(&e))),
    };
    let o: Overrides =
        serde_json::from_slice(&bytes).map_err(|e| format!("invalid overrides `{shown}`: {e}"))?;
    if o.version != OVERRIDES_VERSION {
        return Err(format!(
            "unsupported overrides version {} in `{shown}` (this build reads version {OVERRIDES_VERSION})",
            o.version
        ));
    }
    Ok(o)
}

/// Keeps the operator's stops of `path` equal to `stops` (the checkpoint
/// a run just saved); writes only when they differ. Writers hold the state
/// lock.
pub fn remember_stops(path: &Path, stops: BTreeMap<String, DateTime<Utc>>) -> Result<(), String> {
    let mut o = load_overrides(path)?;
    if o.stops == stops {
        return Ok(());
    }
    o.stops = stops;
    save_overrides(path, &o).map_err(|e| {
        format!(
            "cannot write overrides `{}`: {}",
            path.display(),
            describe(&e)
        )
    })
}

/// Writes `o` as pretty JSON, atomically.
pub fn save_overrides(path: &Path, o: &Overrides) -> io::Result<()> {
    write_atomic(path, &to_pretty_json(o)?)
}
